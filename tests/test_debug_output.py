"""What ``DEBUG=gsio*`` prints of a running server (tests/servers/debug_app.py, driven by
socket.io-client 4.x with tests/js/sio_debug.js): handshakes, the upgrade, connections accepted,
refused and disconnected, events in and out (cut), acks, rooms, broadcasts, refused requests.
The lines come through a pipe: each is waited for."""

from __future__ import annotations

import re

import pytest

_BAD = "/socket.io/?EIO=4&transport=polling&sid=bogus"


def _scenario(start_server, run_node, kind, debug, mode="default"):
    env = {"DEBUG": debug}
    server = start_server("debug_app", kind=kind, env=env)
    result = run_node("sio_debug", server.port, mode)
    assert result["invalid"]["message"] == "Invalid namespace"
    assert result["private"]["message"] == "not for you"
    status, _, _ = server.request("GET", _BAD)
    assert status == 400
    return server, result["ids"]


def _wait_lines(server, wait_for, *patterns):
    """Wait until every regex in ``patterns`` matches a line of the server's output."""
    missing = list(patterns)

    def found():
        output = server.output()
        missing[:] = [p for p in patterns if not re.search(p, output, re.M)]
        return None if missing else output

    try:
        return wait_for(found, message="the debug lines")
    except pytest.fail.Exception:
        pytest.fail(f"no line matches {missing}; the output:\n{server.output()}")


@pytest.mark.parametrize("mode", ["default", "websocket"])
def test_debug_output_shows_sessions_connections_packets_acks_rooms(
    start_server, run_node, wait_for, kind, mode
):
    server, ids = _scenario(start_server, run_node, kind, "gsio*", mode)
    a, eio = re.escape(ids["a"]), re.escape(ids["eio"])
    first = "polling" if mode == "default" else "websocket"
    cut = "x" * (200 - len('["direct", "'))
    patterns = [
        # Engine.IO: the handshake (protocol, transport, address), the upgrade, the close.
        rf"gsio:engine {eio}: handshake, EIO=4, {first}, from 127\.0\.0\.1:\d+$",
        rf"gsio:engine {eio}: closed \(transport close\)$",
        # Refused requests: the error, its code, the request.
        r"gsio:engine bad request \(session ID unknown, code 1\): GET "
        r"/socket\.io/\?EIO=4&transport=polling&sid=bogus$",
        # Namespaces: accepted, refused (unknown, by a middleware), disconnected with a reason.
        rf"gsio:socket {a}: / connected \(session {eio}, {first}\)$",
        r"gsio:socket \S+: /nope refused \(Invalid namespace\)$",
        r"gsio:socket \S+: /private refused \(not for you\)$",
        rf"gsio:socket {a}: / disconnected \(client namespace disconnect\)$",
        # Events in and out, cut at 200 characters, with their size; binary as its length.
        rf'gsio:packet {a}: / received \["direct", "{cut}… \((\d+) bytes\)$',
        rf'gsio:packet {a}: / sent \["direct", "{cut}… \(1\d\d\d bytes\)$',
        rf'gsio:packet {a}: / received \["echo", <binary 5 bytes>, '
        r'\{"deep": \[\[\[1\]\]\]\}\] \(\d+ bytes\)$',
        rf'gsio:packet {a}: / sent \["shouted", "hi"\] \(17 bytes\)$',
        # An ack the server waits for, and how it ended.
        rf"gsio:socket {a}: / ack (\d+) expected$",
        rf"gsio:socket {a}: / ack \d+ answered$",
        # Rooms and broadcasts.
        rf"gsio:adapter {a}: / joined room 'r1'$",
        rf"gsio:adapter {a}: / left room 'r1'$",
        r"gsio:adapter / broadcast 'shouted' to rooms \['r1'\]$",
    ]
    if mode == "default":
        patterns.append(rf"gsio:engine {eio}: upgraded to websocket$")
    output = _wait_lines(server, wait_for, *patterns)
    expected = re.search(rf"gsio:socket {a}: / ack (\d+) expected$", output, re.M)
    assert re.search(rf"gsio:socket {a}: / ack {expected[1]} answered$", output, re.M)
    size = re.search(rf'gsio:packet {a}: / received \["direct", "x+… \((\d+) bytes\)', output)
    assert int(size[1]) > 1000
    assert "upgraded" not in output if mode == "websocket" else True
    assert server.get_json("/observers")["observers"] == [
        "EngineDebug",
        "SocketDebug",
        "AdapterDebug",
        "PacketDebug",
    ]


def test_debug_output_without_the_packet_scope(start_server, run_node, wait_for):
    server, ids = _scenario(start_server, run_node, "gsio", "gsio*,-gsio:packet")
    a = re.escape(ids["a"])
    output = _wait_lines(
        server,
        wait_for,
        rf"gsio:socket {a}: / disconnected \(client namespace disconnect\)$",
        rf"gsio:socket {a}: / ack \d+ answered$",
        r"gsio:adapter / broadcast 'shouted' to rooms \['r1'\]$",
        r"gsio:engine bad request",
    )
    assert "gsio:packet" not in output and "gsio.packet" not in output
    assert server.get_json("/observers")["observers"] == [
        "EngineDebug",
        "SocketDebug",
        "AdapterDebug",
    ]


def test_no_debug_no_debug_lines_and_no_observer(start_server, run_node, wait_for):
    server, ids = _scenario(start_server, run_node, "gsio", "")
    # The refused request's line (INFO, through the script's own logging) marks the end.
    output = _wait_lines(server, wait_for, r"INFO gsio\.engine: bad request")
    assert server.get_json("/observers")["observers"] == []
    assert "DEBUG" not in output and "gsio:" not in output


def test_debug_output_names_the_engine_io_protocol(start_server, wait_for):
    server = start_server("debug_app", env={"DEBUG": "gsio:engine"})
    status, _, body = server.request("GET", "/socket.io/?EIO=3&transport=polling")
    assert status == 200
    sid = re.escape(re.search(rb'"sid":"([^"]+)"', body)[1].decode())
    output = _wait_lines(
        server, wait_for, rf"gsio:engine {sid}: handshake, EIO=3, polling, from 127\.0\.0\.1:\d+$"
    )
    assert "gsio:socket" not in output and "gsio:packet" not in output
    assert server.get_json("/observers")["observers"] == ["EngineDebug"]
