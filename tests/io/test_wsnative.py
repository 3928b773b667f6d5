"""gsio's own WebSocket frame layer (gsio/io/wsnative.py, gsio/io/handler.py) at the byte level.

What every backend must do is in test_engine_websocket_raw.py, run on each server kind; here,
against the ``gsio`` kind, what gsio's frame layer does on top: refuse what RFC 6455 says a
server must refuse (unmasked frames, reserved bits and opcodes, bad control frames) with 1002,
answer pings and close frames, take frames in any chunking, and drop a client that never
answers the close frame. Each runs with the event loop reading the connections (the default)
and with a greenlet per connection (a handler with ``nonblocking = False``).
"""

import socket
import struct
import time

import pytest
from rawws import RawWebSocket, open_direct, wait_reason

PATH = "/socket.io/?EIO=4&transport=websocket"


# reader (conftest): the event loop reads each connection (the handler never blocks), or a
# greenlet does.


@pytest.fixture
def server(start_server, reader):
    return start_server("engine_app", *reader, kind="gsio", shared=True)


def test_handshake_answer(server):
    ws = RawWebSocket(server.port, PATH)
    assert ws.status == 101
    lines = ws.head.split("\r\n")
    assert lines[0] == "HTTP/1.1 101 Switching Protocols"
    headers = {k.lower(): v for k, v in (line.split(": ", 1) for line in lines[1:])}
    assert headers["upgrade"] == "websocket" and headers["connection"] == "Upgrade"
    assert len(headers["sec-websocket-accept"]) == 28
    ws.close()


@pytest.mark.parametrize(
    "headers",
    [
        {"Sec-WebSocket-Version": "8"},
        {"Sec-WebSocket-Key": "short"},
    ],
    ids=["version-8", "bad-key"],
)
def test_invalid_handshake_gets_400(server, headers):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    request = {
        "Host": "x",
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version": "13",
        **headers,
    }
    head = f"GET {PATH} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in request.items())
    sock.sendall((head + "\r\n").encode())
    answer = sock.recv(65536)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    sock.close()


@pytest.mark.parametrize(
    "frame",
    [
        RawWebSocket.frame(0x1, "4x", masked=False),
        RawWebSocket.frame(0x1, "4x", rsv=0x40),
        RawWebSocket.frame(0x3, b"x"),
        RawWebSocket.frame(0xB, b"x"),
        RawWebSocket.frame(0x9, b"x", fin=False),
        RawWebSocket.frame(0x9, b"x" * 126),
        RawWebSocket.frame(0x0, "4x"),
        RawWebSocket.frame(0x8, b"\x03"),
        RawWebSocket.frame(0x8, struct.pack("!H", 1005)),
    ],
    ids=[
        "unmasked",
        "reserved-bit",
        "opcode-3",
        "opcode-11",
        "fragmented-ping",
        "ping-over-125",
        "lone-continuation",
        "close-1-byte",
        "close-1005",
    ],
)
def test_protocol_errors_close_with_1002(server, wait_for, frame):
    ws, sid = open_direct(server)
    ws.sock.sendall(frame)
    frames, code = ws.until_close()
    assert (frames, code) == ([], 1002)
    assert ws.at_eof()
    assert wait_reason(server, wait_for, sid) == "transport error"


def test_a_header_over_the_limit_is_refused_before_its_payload(start_server, reader, wait_for):
    small = start_server("engine_app", "--max-payload", "1000", *reader, kind="gsio", shared=True)
    ws, sid = open_direct(small)
    # Announce 100 MB and send none of it: the server must not wait for (or buffer) it.
    ws.sock.sendall(bytes([0x81, 0x80 | 127]) + struct.pack("!Q", 100_000_000) + b"abcd")
    assert ws.until_close() == ([], 1009)
    assert ws.at_eof()
    assert wait_reason(small, wait_for, sid) == "transport error"


@pytest.mark.parametrize("split", [False, True], ids=["whole", "split"])
def test_a_fragment_flood_closes_with_1008(server, wait_for, split):
    """Empty continuations without end: the frame after MAX_FRAGMENTS closes with 1008."""
    from gsio.protocol.frames import MAX_FRAGMENTS

    ws, sid = open_direct(server)
    data = ws.frame(0x1, "4", fin=False) + ws.frame(0x0, b"", fin=False) * MAX_FRAGMENTS
    if split:  # in odd pieces, each frame cut somewhere
        for i in range(0, len(data), 4099):
            ws.sock.sendall(data[i : i + 4099])
            time.sleep(0.001)
    else:
        ws.sock.sendall(data)
    assert ws.until_close() == ([], 1008)
    assert ws.at_eof()
    assert wait_reason(server, wait_for, sid) == "transport error"


def test_ping_is_answered_with_its_payload_and_pong_is_ignored(server):
    ws, _ = open_direct(server)
    ws.send_frame(0x9, b"hello")
    assert ws.recv_frame() == (0xA, b"hello")
    ws.send_frame(0xA, b"unasked")
    ws.send_text("4after")
    assert ws.recv() == "4after"
    # A ping between the fragments of a message is answered at once.
    ws.send_frame(0x1, "4frag", fin=False)
    ws.send_frame(0x9, b"")
    assert ws.recv_frame() == (0xA, b"")
    ws.send_frame(0x0, "mented")
    assert ws.recv() == "4fragmented"
    ws.close()


def test_frames_in_any_chunking(server):
    ws, _ = open_direct(server)
    # Three frames in one segment: three messages, in order.
    data = b"".join(RawWebSocket.frame(0x1, f"4m{i}") for i in range(3))
    ws.sock.sendall(data)
    assert [ws.recv() for _ in range(3)] == ["4m0", "4m1", "4m2"]
    # One frame a byte at a time (the 16-bit length form, to split the header too).
    data = RawWebSocket.frame(0x1, "4" + "x" * 300)
    for i in range(len(data)):
        ws.sock.sendall(data[i : i + 1])
        if i % 50 == 0:
            time.sleep(0.001)
    assert ws.recv() == "4" + "x" * 300
    ws.close()


def test_long_messages_both_ways(server):
    ws, _ = open_direct(server)
    text = "4" + "é" * 100_000  # 200,001 bytes: the 64-bit length form
    ws.send_text(text)
    assert ws.recv() == text
    blob = bytes(range(256)) * 1000
    ws.send_binary(blob)
    assert ws.recv() == blob
    ws.close()


def test_frames_sent_behind_the_handshake_are_read(server):
    """A frame that arrives with the request (before the 101) is not lost in the request
    reader's buffer."""
    early = RawWebSocket.frame(0x1, "4early")
    ws = RawWebSocket(server.port, PATH, early=early)
    assert ws.status == 101
    assert ws.recv().startswith("0{")
    assert ws.recv() == "4early"
    ws.close()


def test_a_long_frame_behind_the_handshake_is_read_whole(server):
    """A frame sent with the request that the request's reader (8 KiB) holds only the start of:
    the rest is still in the socket when the event loop takes the connection over, and is read
    from there (the hand-over reads no more than what the reader holds)."""
    text = "4" + "y" * 20_000
    early = RawWebSocket.frame(0x1, text) + RawWebSocket.frame(0x1, "4after")
    ws = RawWebSocket(server.port, PATH, early=early)
    assert ws.status == 101
    assert ws.recv().startswith("0{")
    assert ws.recv() == text
    assert ws.recv() == "4after"
    ws.close()


def test_client_close_is_answered_with_its_code(server, wait_for):
    ws, sid = open_direct(server)
    ws.send_frame(0x8, struct.pack("!H", 4001) + b"bye")
    assert ws.until_close() == ([], 4001)
    assert ws.at_eof()
    assert wait_reason(server, wait_for, sid) == "transport close"


def test_client_close_without_code_is_answered_with_1000(server, wait_for):
    ws, sid = open_direct(server)
    ws.send_frame(0x8, b"")
    assert ws.until_close() == ([], 1000)
    assert ws.at_eof()
    assert wait_reason(server, wait_for, sid) == "transport close"


def test_a_client_that_never_answers_the_close_frame_is_dropped(server, wait_for):
    ws, sid = open_direct(server)
    ws.send_text("4close")  # the server closes the session
    assert ws.until_close() == (["1"], 1000)
    # No close frame back, and the socket stays open: the server drops it after its close
    # timeout (3 s) all the same.
    ws.sock.settimeout(30)
    assert ws.at_eof()
    assert wait_reason(server, wait_for, sid) == "forced close"


def test_a_burst_arrives_whole_and_in_order(server):
    ws, _ = open_direct(server)
    ws.send_text("4burst:5000")
    assert [ws.recv() for _ in range(5000)] == [f"4m{i}" for i in range(5000)]
    ws.send_text("4done")
    assert ws.recv() == "4done"
    ws.close()


def test_plain_http_requests_share_the_server(server):
    """The handler's own request parsing: repeated headers, a keep-alive connection."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    request = (
        "GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"
        "X-Twice: a\r\nX-Twice: b\r\nX_Under: dropped\r\n\r\n"
    )
    sock.sendall(request.encode() * 2)
    data = b""
    while data.count(b"HTTP/1.1 200 OK") < 2 or not data.endswith(b"}"):
        chunk = sock.recv(65536)
        assert chunk, data
        data += chunk
    assert data.count(b'0{"sid":') == 2
    sock.close()
