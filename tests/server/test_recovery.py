"""Connection state recovery in one process, with socket.io-client 4.x (and Node's socket.io,
in the same run, as the reference): the client's transport is cut while the server emits; it
reconnects with the same id and gets every message exactly once, in order.

tests/servers/recovery_app.py (gsio) and tests/js/recovery_server.js (Node) serve the same
events; tests/js/sio_recovery.js is the client.
"""

from __future__ import annotations

import json
import time

import pytest
from cluster_support import NodeServer
from rawws import call, event, next_packet, sio_connect, stream_offset, stream_to_room

MODES = ["websocket", "polling"]


@pytest.fixture(scope="module")
def node_reference():
    server = NodeServer(None, "node", script="recovery_server.js")
    yield server
    server.stop()


def _check_recovered(seen, n, cuts):
    assert seen["d"] == list(range(n)), seen
    assert seen["r"] == list(range(n)), seen
    connects = seen["connects"]
    assert len(connects) == 1 + len(cuts), connects
    assert connects[0]["recovered"] is False
    assert all(c["recovered"] is True for c in connects[1:]), connects
    assert len({c["id"] for c in connects}) == 1, connects
    assert seen["extraArgs"] == []  # each handler got (i, offset)
    assert seen["whoami"]["id"] == connects[0]["id"]


@pytest.mark.parametrize("mode", MODES)
def test_a_cut_transport_recovers_every_message_once(start_server, run_node, node_reference, mode):
    n, cuts = 20, [4]
    gsio_server = start_server("recovery_app")
    for server in (node_reference, gsio_server):
        seen = run_node("sio_recovery", server.port, mode, n, 10, ",".join(map(str, cuts)))
        _check_recovered(seen, n, cuts)
        assert seen["whoami"]["recovered"] is True
    log = gsio_server.get_json("/log")
    assert [c["recovered"] for c in log["connects"]] == [False, True]
    assert log["disconnects"][0]["reason"] == "transport close"
    assert log["middleware"] == 1  # skipped on recovery (skip_middlewares, as Node)


@pytest.mark.parametrize("mode", MODES)
def test_recovery_works_again_and_again(start_server, run_node, mode):
    n, cuts = 40, [3, 11, 19, 30]
    server = start_server("recovery_app")
    seen = run_node("sio_recovery", server.port, mode, n, 10, ",".join(map(str, cuts)))
    _check_recovered(seen, n, cuts)


def test_without_recovery_the_cut_loses_messages(start_server, run_node):
    """The baseline the feature fixes (what the issue measured): a new id, messages lost."""
    server = start_server("recovery_app", "--off")
    seen = run_node("sio_recovery", server.port, "websocket", 20, 10, "4")
    assert seen["connects"][1]["recovered"] is False
    assert seen["connects"][0]["id"] != seen["connects"][1]["id"]
    assert len(seen["d"]) < 20 or len(seen["r"]) < 20


# -- the blocking loop lives through the cuts -------------------------------------------------


@pytest.mark.parametrize("mode", MODES)
def test_a_blocking_handler_keeps_running_through_three_cuts(start_server, run_node, mode):
    server = start_server("recovery_app", "--ticks", 30)
    seen = run_node("sio_recovery_blocking", server.port, mode, 45, "10,20,30", 30, timeout=40)
    assert seen["count"] == list(range(1, 46)), seen
    assert seen["tick"] == list(range(30)), seen
    connects = seen["connects"]
    assert len(connects) == 4 and len({c["id"] for c in connects}) == 1, connects
    assert [c["recovered"] for c in connects] == [False, True, True, True]
    assert seen["total"] == {"count": 45, "ticks": 30, "id": connects[0]["id"], "recovered": True}
    log = server.get_json("/log")
    assert log["blocking_runs"] == 1  # one handler call for the whole life of the connection
    assert [c["namespace"] for c in log["connects"]] == ["/blocking"]  # connect ran once
    # Only the client's own close at the end of the script ended the connection.
    end = {"id": connects[0]["id"], "reason": "client namespace disconnect"}
    assert log["blocking_ended"] in ([], [end])  # (the close may still be on its way)
    assert log["disconnects"] in ([], [{**end, "namespace": "/blocking"}])


def test_a_blocking_handler_ends_when_the_window_passes(start_server, wait_for):
    server = start_server("recovery_app", "--max-duration", 0.5)
    ws, answer = sio_connect(server, "/blocking")
    ws.sock.close()
    ended = wait_for(lambda: server.get_json("/log")["blocking_ended"], timeout=5)
    assert ended == [{"id": answer["sid"], "reason": "transport close"}]
    assert server.get_json("/log")["disconnects"] == [
        {"id": answer["sid"], "namespace": "/blocking", "reason": "transport close"}
    ]


# -- raw packets: what recovers and what does not ------------------------------------------------


def cut(server, wait_for, ws, sid):
    ws.sock.close()
    wait_for(lambda: any(d["id"] == sid for d in server.get_json("/log")["disconnects"]))


def test_raw_recovery_restores_id_rooms_data_and_missed_packets(start_server, wait_for):
    server = start_server("recovery_app")
    ws, first = sio_connect(server)
    assert set(first) == {"sid", "pid"}
    assert call(ws, "set", "k", "v") == [True]
    call(ws, "join", "lobby")
    offset = stream_offset(ws)
    cut(server, wait_for, ws, first["sid"])
    # Meanwhile: a room broadcast from another client's stream, and one not for it.
    other, _ = sio_connect(server)
    stream_to_room(other, "lobby", 3)
    ws2, again = sio_connect(server, auth={"pid": first["pid"], "offset": offset, "x": 1})
    assert again == first
    missed = [event(next_packet(ws2, lambda p: p.startswith('42["r"'))) for _ in range(3)]
    assert [m[:2] for m in missed] == [["r", 0], ["r", 1], ["r", 2]]
    assert len({m[2] for m in missed}) == 3  # each with its own offset
    ws2.send_text('423["whoami"]')
    whoami = json.loads(next_packet(ws2, lambda p: p.startswith("433"))[3:])[0]
    assert whoami == {"id": first["sid"], "recovered": True, "data": {"k": "v"}}


@pytest.mark.parametrize(
    "auth",
    [
        {"pid": "unknown", "offset": "x"},
        {"pid": 5, "offset": "x"},
        {"pid": None},
        {"offset": "x"},
        {"pid": ["a"], "offset": {"a": 1}},
    ],
)
def test_unknown_or_malformed_pid_is_a_new_connection(start_server, auth):
    server = start_server("recovery_app", shared=True)
    ws, answer = sio_connect(server, auth=auth)
    assert set(answer) == {"sid", "pid"}
    ws.send_text('421["whoami"]')
    whoami = json.loads(next_packet(ws, lambda p: p.startswith("431"))[3:])[0]
    assert whoami["recovered"] is False and whoami["id"] == answer["sid"]


@pytest.mark.parametrize("offset", ["tampered", "", "0", "zzzz0"])
def test_a_tampered_offset_is_a_new_connection(start_server, wait_for, offset):
    server = start_server("recovery_app", shared=True)
    ws, first = sio_connect(server)
    stream_offset(ws)
    cut(server, wait_for, ws, first["sid"])
    _, again = sio_connect(server, auth={"pid": first["pid"], "offset": offset})
    assert again["sid"] != first["sid"] and again["pid"] != first["pid"]


def test_an_expired_session_is_a_new_connection(start_server, wait_for):
    server = start_server("recovery_app", "--max-duration", 0.3)
    ws, first = sio_connect(server)
    offset = stream_offset(ws)
    cut(server, wait_for, ws, first["sid"])
    time.sleep(0.5)
    _, again = sio_connect(server, auth={"pid": first["pid"], "offset": offset})
    assert again["sid"] != first["sid"]


def test_a_trimmed_offset_is_a_new_connection_not_a_partial_replay(start_server, wait_for):
    server = start_server("recovery_app", "--max-packets", 5)
    ws, first = sio_connect(server)
    offset = stream_offset(ws)
    cut(server, wait_for, ws, first["sid"])
    other, _ = sio_connect(server)
    stream_offset(other, 6)  # pushes the first client's offset out of the log
    _, again = sio_connect(server, auth={"pid": first["pid"], "offset": offset})
    assert again["sid"] != first["sid"]


@pytest.mark.parametrize("ending", ["client", "server"])
def test_a_namespace_disconnect_is_final(start_server, wait_for, ending):
    server = start_server("recovery_app", shared=True)
    ws, first = sio_connect(server)
    offset = stream_offset(ws)
    ws.send_text("41" if ending == "client" else '42["kick"]')
    reason = {"client": "client namespace disconnect", "server": "server namespace disconnect"}
    wait_for(
        lambda: (
            {"id": first["sid"], "namespace": "/", "reason": reason[ending]}
            in server.get_json("/log")["disconnects"]
        )
    )
    ws.send_text("40" + json.dumps({"pid": first["pid"], "offset": offset}))
    again = json.loads(next_packet(ws, lambda p: p.startswith("40"))[2:])
    assert again["sid"] != first["sid"]


def test_middlewares_run_on_recovery_unless_skipped(start_server, wait_for):
    server = start_server("recovery_app", "--run-middlewares")
    ws, first = sio_connect(server)
    offset = stream_offset(ws)
    cut(server, wait_for, ws, first["sid"])
    _, again = sio_connect(server, auth={"pid": first["pid"], "offset": offset})
    assert again["sid"] == first["sid"]
    assert server.get_json("/log")["middleware"] == 2


@pytest.mark.parametrize("kind", ["werkzeug", "pywsgi", "pywsgi-ws"])
def test_recovery_under_every_server_kind(start_server, run_node, kind):
    """Threads (werkzeug) as well as gevent, and each WebSocket layer."""
    server = start_server("recovery_app", "--ticks", 10, kind=kind)
    seen = run_node("sio_recovery_blocking", server.port, "websocket", 20, "5,12", 10, timeout=40)
    assert seen["count"] == list(range(1, 21)) and seen["tick"] == list(range(10)), seen
    seen = run_node("sio_recovery", server.port, "polling", 20, 10, "4,9")
    _check_recovered(seen, 20, [4, 9])


def test_a_client_that_received_nothing_yet_recovers_too(start_server, wait_for):
    """socket.io-client sends no offset before its first event (Node cannot recover it then):
    gsio replays everything since the connection started."""
    server = start_server("recovery_app")
    ws, first = sio_connect(server)
    call(ws, "join", "lobby")
    cut(server, wait_for, ws, first["sid"])
    other, _ = sio_connect(server)
    stream_to_room(other, "lobby", 2)
    ws2, again = sio_connect(server, auth={"pid": first["pid"]})
    assert again == first
    missed = [event(next_packet(ws2, lambda p: p.startswith('42["r"'))) for _ in range(2)]
    assert [m[:2] for m in missed] == [["r", 0], ["r", 1]]


def test_without_an_offset_a_trimmed_log_is_a_new_connection(start_server, wait_for):
    server = start_server("recovery_app", "--max-packets", 2)
    ws, first = sio_connect(server)
    cut(server, wait_for, ws, first["sid"])
    other, _ = sio_connect(server)
    stream_offset(other, 3)
    _, again = sio_connect(server, auth={"pid": first["pid"]})
    assert again["sid"] != first["sid"]


@pytest.mark.parametrize("nsp", ["/", "/blocking"])
def test_a_client_back_while_its_old_transport_looks_alive_recovers(start_server, nsp):
    """A network change the server has not noticed yet (no ping missed so far): the client
    reconnects with its pid, the old transport is closed as lost, and the session recovers."""
    server = start_server("recovery_app")
    old, first = sio_connect(server, nsp)
    prefix = "42" if nsp == "/" else f"42{nsp},"
    offset = None
    if nsp == "/":
        offset = stream_offset(old)
    auth = {"pid": first["pid"]} if offset is None else {"pid": first["pid"], "offset": offset}
    new, again = sio_connect(server, nsp, auth=auth)
    assert again == first
    frames, code = old.until_close()
    assert frames[-1:] == ["1"] and code == 1000, (frames, code)  # the old one: CLOSE, closed
    if nsp == "/blocking":  # the handler went on: it counts on
        new.send_text(prefix + '["ping"]')
        packet = next_packet(new, lambda p: p.startswith(prefix + '["count"'))
        assert json.loads(packet[len(prefix) :])[1] == 1
        assert server.get_json("/log")["blocking_runs"] == 1


@pytest.mark.parametrize("nsp", ["/", "/blocking"])
def test_observers_see_a_recovered_connection_leave_and_come_back(start_server, wait_for, nsp):
    """As Node: the socket disconnects as its transport drops, and connects again recovered
    (a blocking handler's connection, which lives through the cut, too)."""
    server = start_server("recovery_app", "--observe", "--ticks", 0)
    ws, first = sio_connect(server, nsp)
    sid = first["sid"]

    def observed():
        return [e for e in server.get_json("/log")["observed"] if e[1] == sid]

    wait_for(lambda: observed() == [["connected", sid, nsp]])
    ws.sock.close()
    wait_for(lambda: len(observed()) == 2)
    assert observed()[1][:3] == ["disconnected", sid, nsp]
    assert observed()[1][3] in ("transport close", "transport error")
    _, again = sio_connect(server, nsp, auth={"pid": first["pid"], "offset": None})
    assert again["sid"] == sid
    wait_for(lambda: len(observed()) == 3)
    assert observed()[2] == ["connected", sid, nsp]
