"""A minimal WebSocket client on a plain socket, for byte-level tests: it sends what no real
client would (invalid UTF-8, oversized, fragmented, unmasked frames) and shows exactly what
comes back."""

import base64
import json
import os
import re
import socket
import struct


def client_frame(opcode, payload, fin=True, rsv=0, masked=True, mask=None):
    """The bytes of one client frame, masked with ``mask`` (a random key unless given) unless
    ``masked`` is False."""
    if isinstance(payload, str):
        payload = payload.encode()
    header = bytes([(0x80 if fin else 0) | rsv | opcode])
    n = len(payload)
    bit = 0x80 if masked else 0
    if n < 126:
        header += bytes([bit | n])
    elif n < 65536:
        header += bytes([bit | 126]) + struct.pack("!H", n)
    else:
        header += bytes([bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return header + payload
    mask = os.urandom(4) if mask is None else mask
    key = int.from_bytes((mask * (n // 4 + 1))[:n], "little")
    masked_payload = (int.from_bytes(payload, "little") ^ key).to_bytes(n, "little")
    return header + mask + masked_payload


class RawWebSocket:
    """A minimal WebSocket client: frames in and out, nothing hidden."""

    def __init__(self, port, path, upgrade=True, headers=None, early=b""):
        """Open the connection and read the handshake's answer; ``early`` is sent right behind
        the request, before the answer (as no well-behaved client does)."""
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        key = base64.b64encode(os.urandom(16)).decode()
        head = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        if upgrade:
            head += (
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
            )
        self.sock.sendall((head + "\r\n").encode() + early)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, self.buffer = data.partition(b"\r\n\r\n")
        self.head = head.decode("latin-1")
        self.status = int(self.head.split()[1])

    def body(self):
        """The rest of a non-101 answer (the server closes or sends Content-Length bytes)."""
        match = re.search(r"(?i)content-length: *(\d+)", self.head)
        length = int(match.group(1)) if match else None
        while length is None or len(self.buffer) < length:
            chunk = self.sock.recv(65536)
            if not chunk:
                break
            self.buffer += chunk
        return self.buffer[:length]

    frame = staticmethod(client_frame)

    def send_frame(self, opcode, payload, fin=True, rsv=0, masked=True):
        self.sock.sendall(self.frame(opcode, payload, fin, rsv, masked))

    def send_text(self, text):
        self.send_frame(0x1, text)

    def send_binary(self, data):
        self.send_frame(0x2, data)

    def _read(self, n):
        while len(self.buffer) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"connection closed with {self.buffer!r} buffered")
            self.buffer += chunk
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def recv_frame(self):
        """The next frame: ``(opcode, payload)``; a text payload is decoded."""
        b1, b2 = self._read(2)
        n = b2 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        assert not b2 & 0x80, "the server must not mask its frames"
        assert b1 & 0x80, "the server sent a fragment"
        opcode, payload = b1 & 0x0F, self._read(n)
        return opcode, payload.decode() if opcode == 0x1 else payload

    def recv(self):
        """The next data frame's payload (str or bytes); fails on a close frame."""
        opcode, payload = self.recv_frame()
        assert opcode in (0x1, 0x2), f"expected a data frame, got opcode {opcode}: {payload!r}"
        return payload

    def until_close(self):
        """Data frames up to the close frame, and the close code (None: closed without a frame,
        1005: a close frame without a code)."""
        frames = []
        try:
            while True:
                opcode, payload = self.recv_frame()
                if opcode == 0x8:
                    return frames, struct.unpack("!H", payload[:2])[0] if payload else 1005
                frames.append(payload)
        except (EOFError, ConnectionResetError):
            return frames, None

    def at_eof(self):
        """True once the server closed the TCP connection (after its close frame)."""
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buffer += chunk
        except ConnectionResetError:
            return True

    def close(self):
        try:
            self.send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


def open_direct(server, path="/socket.io/?EIO=4&transport=websocket", **kwargs):
    """A WebSocket session opened directly (no polling first) on a test server: the
    connection past its OPEN packet, and the session id."""
    ws = RawWebSocket(server.port, path, **kwargs)
    assert ws.status == 101, ws.head
    opcode, packet = ws.recv_frame()
    assert opcode == 0x1 and packet.startswith("0{"), packet
    return ws, json.loads(packet[1:])["sid"]


def wait_reason(server, wait_for, sid):
    """The reason the server gives for the session's close (engine_app's ``/reasons``)."""
    return wait_for(lambda: server.get_json("/reasons").get(sid), message=f"{sid} to close")


# -- Socket.IO over a raw WebSocket ----------------------------------------------------------


def sio_connect(server, nsp="/", auth=None):
    """A raw WebSocket session joined to ``nsp``: the connection and the CONNECT answer."""
    ws, _ = open_direct(server)
    prefix = "40" if nsp == "/" else f"40{nsp},"
    ws.send_text(prefix + (json.dumps(auth) if auth is not None else ""))
    packet = next_packet(ws, lambda p: p.startswith(prefix) or p.startswith("44"))
    assert packet.startswith(prefix), packet
    return ws, json.loads(packet[len(prefix) :])


def next_packet(ws, wanted):
    """The next Socket.IO packet the server sends that ``wanted`` accepts (pings answered)."""
    while True:
        packet = ws.recv()
        if packet == "2":
            ws.send_text("3")
        elif wanted(packet):
            return packet


def event(packet):
    assert packet.startswith("42"), packet
    return json.loads(packet[2:])


def stream_offset(ws, n=1):
    """Ask tests/servers/recovery_app.py for ``n`` direct events (``stream``); returns the
    last one's offset (connection state recovery)."""
    ws.send_text(f'421["stream",{n},"nobody",0]')
    offset = None
    for _ in range(n):
        offset = event(next_packet(ws, lambda p: p.startswith('42["d"')))[-1]
    return offset


def call(ws, event, *args, ack_id=9):
    """Emit ``event`` asking for an ack, and return the ack's arguments (pings answered)."""
    head = f"43{ack_id}["
    ws.send_text(f"42{ack_id}" + json.dumps([event, *args]))
    return json.loads(next_packet(ws, lambda p: p.startswith(head))[len(head) - 1 :])


def stream_to_room(sender, room, n):
    """Have tests/servers/recovery_app.py stream ``r(0..n-1)`` to ``room`` from ``sender``'s
    server; ``sender`` joins the room first, and this returns once it got them all."""
    call(sender, "join", room)
    call(sender, "stream", n, room, 0)
    for _ in range(n):
        next_packet(sender, lambda p: p.startswith('42["r"'))
