"""socket.io-client 4.x configured with ``parser: require("socket.io-msgpack-parser")`` against
a gsio server made with ``Server(parser="msgpack")``: the scenarios of
tests/server/test_socketio_clients.py (connect, events and acks both ways, binary both ways,
namespaces and a middleware's refusal, rooms and broadcasts, the blocking API) in the three
transport setups, with ``GSIO_SIO_PARSER`` (read by tests/js/sio_common.js) picking the
client's parser; and what the server does with messages that are not this parser's.
"""

import msgpack
import pytest
from conftest import _run_node
from rawws import open_direct
from test_socketio_clients import (  # noqa: F401 (the fixtures the tests take)
    mode,
    test_binary_both_ways,
    test_blocking_chat_handler,
    test_connect_events_and_acks,
    test_namespaces,
    test_rooms_and_broadcasts_to_many_clients,
    test_server_side_operations_on_rooms,
)

PARSER = {"GSIO_SIO_PARSER": "socket.io-msgpack-parser"}


@pytest.fixture
def sio(start_server):
    return start_server("sio_app", "--parser", "msgpack", shared=True)


@pytest.fixture
def run_node():
    def run(script, *args, **options):
        return _run_node(script, *args, env=PARSER, **options)

    return run


def pack(value):
    return msgpack.packb(value, use_bin_type=True)


def connected(server):
    """A raw WebSocket joined to ``/`` with msgpack packets; and its socket id."""
    ws, _ = open_direct(server)
    ws.send_binary(pack({"type": 0, "nsp": "/", "data": {"name": "raw"}}))
    opcode, answer = ws.recv_frame()
    assert opcode == 0x2, (opcode, answer)
    packet = msgpack.unpackb(answer)
    assert packet["type"] == 0 and packet["nsp"] == "/", packet
    return ws, packet["data"]["sid"]


def next_of_type(ws, t):
    """The raw bytes of the next packet of type ``t`` (the connect handler's welcome comes
    first)."""
    for _ in range(10):
        opcode, data = ws.recv_frame()
        assert opcode == 0x2, (opcode, data)
        if msgpack.unpackb(data)["type"] == t:
            return data
    pytest.fail(f"no packet of type {t}")


def test_a_raw_msgpack_client_events_and_acks(sio):
    """The bytes on the wire: one binary message per packet, binary as bin, the ack's id."""
    ws, _ = connected(sio)
    ws.send_binary(pack({"type": 2, "nsp": "/", "data": ["echo", b"\x00\xff", {"a": 1}], "id": 7}))
    assert next_of_type(ws, 3) == pack(
        {"type": 3, "data": [b"\x00\xff", {"a": 1}], "id": 7, "nsp": "/"}
    )
    ws.close()


@pytest.mark.parametrize(
    "message, logged",
    [
        ('42["echo"]', "text message: the msgpack parser sends binary ones"),
        (pack([2, "/", ["echo"]]), "not a map"),
        (pack({"type": 2, "nsp": "/", "data": ["echo"]}) + b"\x00", "invalid msgpack (ExtraData)"),
        (pack({"type": 2, "nsp": "/", "data": "echo"}), "invalid payload for EVENT"),
        (pack({"type": 9, "nsp": "/", "data": ["echo"]}), "invalid packet type"),
        (b"\x91" * 5000, "invalid msgpack (StackError)"),
    ],
)
def test_malformed_messages_close_with_a_parse_error_logged_once(sio, wait_for, message, logged):
    ws, sid = connected(sio)
    if isinstance(message, str):
        ws.send_text("4" + message)
    else:
        ws.send_binary(message)
    frames, code = ws.until_close()
    assert frames[-1:] == ["1"], frames  # the Engine.IO CLOSE, then the WebSocket's
    assert code == 1000
    reason = wait_for(
        lambda: sio.get_json("/log")["disconnects"].get(sid), message="the disconnect"
    )
    assert reason == "parse error"
    line = f"{logged}; closing the connection"
    wait_for(lambda: line in sio.output(), message=line)
    assert sum(line in entry for entry in sio.output().splitlines()) == 1, sio.output()
    # Another client of the same server goes on.
    other, _ = connected(sio)
    other.send_binary(pack({"type": 2, "nsp": "/", "data": ["echo", 1], "id": 1}))
    assert msgpack.unpackb(next_of_type(other, 3))["data"] == [1]
    other.close()
