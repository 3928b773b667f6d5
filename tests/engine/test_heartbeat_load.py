"""Heartbeats under load, on real sockets: a client that is sent much more than it can read at
once still gets its pings within the ping timeout (gsio's own WebSocket layer puts a PING ahead
of what waits for the connection, behind at most a piece of it), so a slow reader is not taken
for a dead one. In the reference (and gsio before), the PING waited behind the whole backlog."""

import base64
import os
import socket
import time

from rawws import RawWebSocket

PATH = "/socket.io/?EIO=4&transport=websocket"
COUNT, SIZE = 30_000, 1000  # 30 MB sent at once


class SlowWebSocket(RawWebSocket):
    """A raw WebSocket client with a small receive buffer that reads 32 KiB at a time with a
    pause between reads (about 10 MB/s at most)."""

    def __init__(self, port):
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 32768)
        sock.settimeout(10)
        sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET {PATH} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            data += sock.recv(4096)
        head, _, self.buffer = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.sock = sock

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(32768)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk
            time.sleep(0.003)
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data


def test_pings_reach_a_slow_reader_behind_a_long_backlog(start_server, wait_for):
    server = start_server(
        "engine_app",
        "--ping-interval",
        "0.2",
        "--ping-timeout",
        "1.5",
        "--max-outbound-buffer",
        "200000000",
        kind="gsio",
    )
    ws = SlowWebSocket(server.port)
    opcode, packet = ws.recv_frame()
    assert packet.startswith("0{"), packet
    ws.send_text(f"4burst:{COUNT}:" + "x" * SIZE)
    received = pings = 0
    while received < COUNT:
        opcode, packet = ws.recv_frame()
        assert opcode == 0x1, (opcode, packet, received)  # not a close frame: still alive
        if packet == "2":
            pings += 1
            ws.send_text("3")
            continue
        assert packet == f"4{'x' * SIZE}{received}", (packet[:40], received)
        received += 1
    assert server.get_json("/reasons") == {}  # (before: {sid: "ping timeout"})
    assert pings >= 1, "no ping came through the backlog"
    ws.send_text("4done")
    while (packet := ws.recv()) != "4done":
        assert packet == "2", packet
        ws.send_text("3")
    sessions = server.get_json("/sessions")
    assert len(sessions) == 1 and server.get_json("/reasons") == {}, server.get_json("/reasons")
    ws.close()
