"""Hostile WebSocket input, on every server kind (every backend): the same answer everywhere.

The opening handshake is checked in one place (gsio/protocol/frames.py) before a backend is chosen: a
request that is not a valid RFC 6455 handshake gets 400 with the Engine.IO JSON error, whatever
the backend would have done with it (gevent-websocket took versions 7 and 8 and answered a bad
key with a 500; simple-websocket took the key ``abc``). Frames that every backend must refuse
close the connection at once with their code: unmasked (1002), a length header over the limit
(1009, before any payload arrives), a message in more fragments than the limit (1008).
"""

import base64
import json
import socket
import struct

import pytest
from rawws import RawWebSocket, open_direct, wait_reason

from gsio.protocol.frames import MAX_FRAGMENTS

PATH = "/socket.io/?EIO=4&transport=websocket"
KEY = base64.b64encode(b"0123456789abcdef").decode()
HANDSHAKE = {
    "Upgrade": "websocket",
    "Connection": "Upgrade",
    "Sec-WebSocket-Key": KEY,
    "Sec-WebSocket-Version": "13",
}


@pytest.fixture
def server(start_server, kind):
    return start_server("engine_app", kind=kind, shared=True)


def assert_bad_request(response):
    assert response.status == 400, response.head
    lines = response.head.split("\r\n")
    assert "content-type: application/json" in (line.lower() for line in lines), response.head
    assert json.loads(response.body()) == {"code": 3, "message": "Bad request"}


BAD_HANDSHAKES = {
    "version-7": {"Sec-WebSocket-Version": "7"},
    "version-8": {"Sec-WebSocket-Version": "8"},
    "no-version": {"Sec-WebSocket-Version": None},
    "key-abc": {"Sec-WebSocket-Key": "abc"},
    "key-15-bytes": {"Sec-WebSocket-Key": base64.b64encode(b"x" * 15).decode()},
    "key-not-base64": {"Sec-WebSocket-Key": "not base64 at all!!!!!=="},
    "no-key": {"Sec-WebSocket-Key": None},
    "no-connection-upgrade": {"Connection": "keep-alive"},
    "upgrade-h2c": {"Upgrade": "h2c"},
    "no-upgrade-headers": {name: None for name in HANDSHAKE},
}


@pytest.mark.parametrize("changes", list(BAD_HANDSHAKES.values()), ids=list(BAD_HANDSHAKES))
def test_invalid_handshake_gets_400_with_the_json_error(server, changes):
    headers = {k: v for k, v in {**HANDSHAKE, **changes}.items() if v is not None}
    response = RawWebSocket(server.port, PATH, upgrade=False, headers=headers)
    assert_bad_request(response)
    # The server is fine: a valid handshake right after is served.
    ws, _ = open_direct(server)
    ws.send_text("4ok")
    assert ws.recv() == "4ok"
    ws.close()


def test_a_handshake_over_http_1_0_gets_400(server):
    """RFC 6455 asks for HTTP/1.1 (gevent-websocket answered "402 Bad Request" and printed a
    traceback; the others took it)."""
    head = f"GET {PATH} HTTP/1.0\r\nHost: x\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in HANDSHAKE.items())
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall((head + "\r\n").encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.split(b" ")[1] == b"400", head
    assert json.loads(body) == {"code": 3, "message": "Bad request"}


def test_invalid_upgrade_handshake_keeps_the_session_on_polling(server):
    status, _, body = server.request("GET", "/socket.io/?EIO=4&transport=polling")
    assert status == 200
    sid = json.loads(body[1:])["sid"]
    headers = {**HANDSHAKE, "Sec-WebSocket-Version": "7"}
    response = RawWebSocket(server.port, f"{PATH}&sid={sid}", upgrade=False, headers=headers)
    assert_bad_request(response)
    path = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
    assert server.request("POST", path, b"4echo")[::2] == (200, b"ok")
    assert server.request("GET", path)[::2] == (200, b"4echo")


def test_no_compression_is_negotiated(server):
    """permessage-deflate is accepted by no backend (simple-websocket's was: a message under
    the limit on the wire could inflate a thousandfold), as engine.io's default."""
    offer = "permessage-deflate; client_max_window_bits"
    headers = {**HANDSHAKE, "Sec-WebSocket-Extensions": offer}
    ws = RawWebSocket(server.port, PATH, upgrade=False, headers=headers)
    assert ws.status == 101, ws.head
    assert "sec-websocket-extensions" not in ws.head.lower(), ws.head
    assert ws.recv().startswith("0{")
    ws.send_text("4" + "x" * 300)
    assert ws.recv() == "4" + "x" * 300
    ws.close()


def test_unmasked_frame_closes_with_1002(server, wait_for):
    ws, sid = open_direct(server)
    ws.send_frame(0x1, "4x", masked=False)
    assert ws.until_close() == ([], 1002)
    assert ws.at_eof()
    assert wait_reason(server, wait_for, sid) == "transport error"


def test_a_length_header_over_the_limit_closes_with_1009_at_once(server, wait_for):
    """2^40 bytes announced, none sent: closed at once (within the client's 10 s socket
    timeout, well before the 45 s of a ping timeout), nothing waited for or buffered."""
    ws, sid = open_direct(server)
    ws.sock.sendall(bytes([0x82, 0x80 | 127]) + struct.pack("!Q", 2**40) + b"abcd")
    assert ws.until_close() == ([], 1009)
    assert ws.at_eof()
    assert wait_reason(server, wait_for, sid) == "transport error"


def test_a_fragment_flood_closes_with_1008(server, wait_for):
    """A message in more than MAX_FRAGMENTS frames (empty continuations here, which cost the
    client nothing) is refused with 1008, as the ``ws`` library does."""
    ws, sid = open_direct(server)
    first = ws.frame(0x1, "4", fin=False)
    empty = ws.frame(0x0, b"", fin=False, mask=b"\0\0\0\0")
    ws.sock.sendall(first + empty * MAX_FRAGMENTS)  # the last one is one too many
    assert ws.until_close() == ([], 1008)
    assert ws.at_eof()
    assert wait_reason(server, wait_for, sid) == "transport error"


def test_a_message_of_max_fragments_passes(server):
    ws, _ = open_direct(server)
    first = ws.frame(0x1, "4", fin=False)
    empty = ws.frame(0x0, b"", fin=False, mask=b"\0\0\0\0")
    ws.sock.sendall(first + empty * (MAX_FRAGMENTS - 2) + ws.frame(0x0, "x"))
    assert ws.recv() == "4x"
    ws.close()
