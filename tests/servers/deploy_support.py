"""Real server commands for the deployment tests (gunicorn, Django's runserver, ``flask run``,
``gsio serve``), started as the README says to start them, and a raw WebSocket check.

``Process(command, cwd)`` picks a free port, substitutes it for ``{port}`` in the command, and
starts the command in a process group of its own; ``wait_ready()`` waits until the port answers
HTTP. ``running()`` does both for a fixture, and at teardown kills the group and fails the test
if the server died, printed a Traceback, or logged an error (``[ERROR]``, gunicorn's level).
"""

import base64
import os
import random
import socket
import struct
import sys
import time

import pytest
from process import ROOT, CapturedProcess, request  # noqa: F401 (ROOT: re-exported for the tests)

READY_TIMEOUT = 20.0


def free_port():
    """A port free now, below the kernel's ephemeral range: the servers here bind it a moment
    later, and a port from that range could meanwhile go to any bind(0) or outgoing connection
    on the machine (other test servers, the clients' connections)."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        low = 32768
    while True:
        port = random.randrange(10000, max(low, 10001))
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port


class Process(CapturedProcess):
    def __init__(self, command, cwd, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        super().__init__([part.replace("{port}", str(self.port)) for part in command], cwd, env)

    def wait_ready(self):
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline:
            if not self.alive():
                break
            try:
                self.request("GET", "/")
                return
            except OSError:
                time.sleep(0.05)
        self.stop()
        pytest.fail(
            f"{' '.join(self.command)} did not answer on port {self.port}; output:\n"
            + self.output()
        )

    def request(self, method, path, body=None, headers=None):
        """One HTTP request on a fresh connection: ``(status, headers, body)``."""
        return request(self.port, method, path, body, headers)

    def problems(self):
        output = self.output()
        if not self.alive():
            return f"exited with {self.proc.returncode}"
        for bad in ("Traceback", "[ERROR]"):
            if bad in output:
                return f"printed {bad}"
        return None


def running(command, cwd, **attributes):
    """For a fixture: ``yield from running(command, cwd, name=value...)`` yields the ready
    :class:`Process` (with those attributes set); afterwards it kills the process group, and
    fails the test if the server died, printed a Traceback, or logged an ``[ERROR]``."""
    process = Process(command, cwd)
    process.wait_ready()
    for name, value in attributes.items():
        setattr(process, name, value)
    yield process
    problem = process.problems()
    process.stop()
    if problem:
        pytest.fail(f"{' '.join(process.command)} {problem}:\n{process.output()}", pytrace=False)


PYTHON = sys.executable


def gunicorn(worker, target, *options):
    """The gunicorn command line for ``target`` (``module:app``) with one worker of class
    ``worker``, on the port :class:`Process` picks."""
    command = [PYTHON, "-m", "gunicorn", "-k", worker, "-w", "1", "--bind", "127.0.0.1:{port}"]
    if _gunicorn_has_control_socket():
        command.append("--no-control-socket")  # gunicorn 25+: one per user, shared otherwise
    return [*command, *options, target]


def _gunicorn_has_control_socket():
    from gunicorn.config import KNOWN_SETTINGS

    return any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS)


def websocket_session(port, end):
    """A WebSocket session at the byte level, ended by the client: ``end`` is "close-frame"
    (a close frame) or "close-packet" (Engine.IO's CLOSE packet, ``1``). Returns the server's
    frames, ``[(opcode, payload)]``, and whatever bytes came after its close frame until it
    closed the connection: nothing, if the WSGI server wrote no response into the socket."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                f"Host: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"closed during the handshake: {data!r}"
            data += chunk
        head, _, data = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        frames, data = _read_frames(sock, data, until=lambda op: op == 0x1)  # the OPEN packet
        if end == "close-frame":
            _send_frame(sock, 0x8, struct.pack("!H", 1000))
        else:
            _send_frame(sock, 0x1, b"1")
        more, data = _read_frames(sock, data, until=lambda op: op == 0x8)
        while True:  # until the server closes the connection
            chunk = sock.recv(65536)
            if not chunk:
                return frames + more, data
            data += chunk
    finally:
        sock.close()


class RawRequest:
    """A WebSocket handshake request on a plain socket, read to the end: ``status``, ``head``,
    ``body`` (what followed the head, until the server closed or Content-Length was reached)."""

    def __init__(self, port, path):
        key = base64.b64encode(os.urandom(16)).decode()
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                (
                    f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                    f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n"
                ).encode()
            )
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = sock.recv(65536)
                assert chunk, f"closed during the answer's head: {data!r}"
                data += chunk
            head, _, body = data.partition(b"\r\n\r\n")
            self.head = head.decode("latin-1")
            self.status = int(self.head.split()[1])
            length = None
            for line in self.head.split("\r\n")[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            while self.status != 101 and (length is None or len(body) < length):
                chunk = sock.recv(65536)
                if not chunk:
                    break
                body += chunk
            self.body = body


def _send_frame(sock, opcode, payload):
    mask = os.urandom(4)
    masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    sock.sendall(bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked)


def _read_frames(sock, data, until):
    """Unmasked server frames up to and including the first whose opcode satisfies ``until``."""
    frames = []
    while True:
        while len(data) < 2 or len(data) < 2 + _length_size(data[1]):
            data += _recv(sock)
        n = data[1] & 0x7F
        offset = 2
        if n == 126:
            n, offset = struct.unpack("!H", data[2:4])[0], 4
        elif n == 127:
            n, offset = struct.unpack("!Q", data[2:10])[0], 10
        while len(data) < offset + n:
            data += _recv(sock)
        opcode = data[0] & 0x0F
        frames.append((opcode, data[offset : offset + n]))
        data = data[offset + n :]
        if until(opcode):
            return frames, data


def _length_size(b2):
    n = b2 & 0x7F
    return 2 if n == 126 else 8 if n == 127 else 0


def _recv(sock):
    chunk = sock.recv(65536)
    if not chunk:
        raise EOFError("the server closed the connection in the middle of a frame")
    return chunk
