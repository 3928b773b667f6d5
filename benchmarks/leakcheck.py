"""Leak check: after N connections open and close, the server's greenlets and objects come back
to their baseline, and its memory does not grow from round to round.

    python benchmarks/leakcheck.py [--n 5000] [--conc 100] [--rounds 3] [-- SERVER ARGS...]

Starts ``benchmarks/contract_server.py`` (with the arguments after ``--``, e.g.
``--gevent-websocket``), reads its ``GET /stats`` (RSS, greenlets, sessions, objects), opens
``--n`` Socket.IO clients (``--conc`` handshakes in flight; each joins the default namespace
and checks one echo), reads the stats again, closes them all (half in the protocol's way,
half by dropping the TCP connections), waits for the server to let go of every session, and
reads the stats again: as they are, and after glibc's ``malloc_trim`` gives the C heap's free
memory back to the system. It does this ``--rounds`` times.

``--transport websocket`` (the default): each client is one WebSocket; it closes with a close
frame. ``--transport polling``: each client is a long-polling session on two keep-alive
connections, one for its GETs and one for its POSTs, as the real clients keep them, with a GET
waiting while it idles; it closes with a CLOSE packet.

RSS after a round does not come back to the first baseline even without a leak: Python's
allocator keeps a 1 MiB arena while any object in it lives, so freed memory stays mapped (and
is reused by the next round). A leak shows as growth of the peak from round to round, and as
objects or greenlets that stay. Exits 1 if the greenlets do not come back to the baseline (+5),
the objects grow by more than 5% (+1000), or the RSS with every connection open grows from
the first round to the last by more than ``--rss-slack`` KiB per connection (0.5); prints a
table either way.
"""

from gevent import monkey

monkey.patch_all()

import argparse  # noqa: E402
import base64  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import socket  # noqa: E402
import struct  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402

import gevent  # noqa: E402
import gevent.pool  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get_stats(port, collect=False, trim=False):
    query = "&".join(q for q, on in (("gc=1", collect), ("trim=1", trim)) if on)
    url = f"http://127.0.0.1:{port}/stats?{query}"
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.loads(response.read())


def join_and_echo(send, receive):
    """What every client does once its Engine.IO session is open: join the default
    namespace, and check one echo (``send`` a packet's text, ``receive`` the next one)."""
    send("40")
    if not receive().startswith("40{"):
        raise RuntimeError("no Socket.IO CONNECT answer")
    send('421["echo","hi"]')
    if receive() != '431["hi"]':
        raise RuntimeError("bad echo")


class Client:
    """A minimal Socket.IO client over a raw WebSocket (masked frames, no extensions)."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, _, self.buffer = self.buffer.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise RuntimeError(f"handshake refused: {head[:100]!r}")
        if not self.recv().startswith("0{"):
            raise RuntimeError("no Engine.IO OPEN")
        join_and_echo(self.send, self.recv)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        self.buffer += chunk

    def send(self, text, opcode=0x1):
        payload = text.encode() if isinstance(text, str) else text
        n = len(payload)
        head = bytes([0x80 | opcode]) + (
            bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n)
        )
        self.sock.sendall(head + b"\0\0\0\0" + payload)  # an all-zero mask

    def recv(self):
        while True:
            while len(self.buffer) < 2:
                self._fill()
            opcode, n = self.buffer[0] & 0x0F, self.buffer[1] & 0x7F
            start = 2
            if n == 126:
                while len(self.buffer) < 4:
                    self._fill()
                n, start = struct.unpack("!H", self.buffer[2:4])[0], 4
            while len(self.buffer) < start + n:
                self._fill()
            payload, self.buffer = self.buffer[start : start + n], self.buffer[start + n :]
            if opcode == 0x1 and payload != b"2":
                return payload.decode()
            if payload == b"2":
                self.send("3")  # a ping from the server

    def close(self, with_frame):
        try:
            if with_frame:
                self.send(struct.pack("!H", 1000), opcode=0x8)
        except OSError:
            pass
        self.sock.close()


class PollingClient:
    """A minimal Socket.IO client over long-polling: GETs on one keep-alive connection, POSTs
    on another; a GET is left waiting once connected, as a real client's is."""

    def __init__(self, port):
        self.getter = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.poster = None
        self.buffers = {}
        opened = self._request(self.getter, "GET", "/socket.io/?EIO=4&transport=polling")
        if not opened.startswith(b"0{"):
            raise RuntimeError(f"no Engine.IO OPEN: {opened[:100]!r}")
        self.path = "/socket.io/?EIO=4&transport=polling&sid=" + json.loads(opened[1:])["sid"]
        self.poster = socket.create_connection(("127.0.0.1", port), timeout=30)
        join_and_echo(self.post, self.get)
        self._send(self.getter, "GET", self.path)  # left waiting

    def _send(self, sock, method, path, body=b""):
        length = f"Content-Length: {len(body)}\r\n" if method == "POST" else ""
        sock.sendall(f"{method} {path} HTTP/1.1\r\nHost: x\r\n{length}\r\n".encode() + body)

    def _response(self, sock):
        data = self.buffers.get(sock, b"")
        while b"\r\n\r\n" not in data:
            data += self._recv(sock)
        head, _, data = data.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(f"refused: {head[:100]!r}")
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        while len(data) < length:
            data += self._recv(sock)
        self.buffers[sock] = data[length:]
        return data[:length]

    @staticmethod
    def _recv(sock):
        chunk = sock.recv(65536)
        if not chunk:
            raise EOFError("connection closed")
        return chunk

    def _request(self, sock, method, path, body=b""):
        self._send(sock, method, path, body)
        return self._response(sock)

    def post(self, text):
        if self._request(self.poster, "POST", self.path, text.encode()) != b"ok":
            raise RuntimeError("POST not answered ok")

    def get(self):
        """The next packet that is not a ping (pings are answered)."""
        while True:
            for packet in self._request(self.getter, "GET", self.path).decode().split("\x1e"):
                if packet == "2":
                    self.post("3")
                elif packet != "6":  # a NOOP
                    return packet

    def close(self, with_frame):
        try:
            if with_frame:
                self.post("1")
                self._response(self.getter)  # the waiting GET's answer (a NOOP)
        except OSError:
            pass
        self.getter.close()
        self.poster.close()


CLIENTS = {"websocket": Client, "polling": PollingClient}


def wait_until(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.2)


def one_round(port, n, conc, client_class):
    clients = []
    pool = gevent.pool.Pool(conc)
    errors = []

    def connect():
        try:
            clients.append(client_class(port))
        except Exception as exc:  # counted and reported
            errors.append(repr(exc))

    started = time.monotonic()
    for _ in range(n):
        pool.spawn(connect)
    pool.join()
    elapsed = time.monotonic() - started
    wait_until(lambda: get_stats(port)["conns"] >= len(clients), 30, "every connection")
    time.sleep(1)
    connected = get_stats(port, collect=True)
    for i, client in enumerate(clients):
        client.close(with_frame=i % 2 == 0)
    clients.clear()
    wait_until(lambda: get_stats(port)["sessions"] == 0, 60, "every session to end")
    time.sleep(1)
    closed = get_stats(port, collect=True)
    trimmed = get_stats(port, collect=True, trim=True)
    return connected, closed, trimmed, elapsed, errors


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--conc", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--transport", choices=list(CLIENTS), default="websocket")
    parser.add_argument("--rss-slack", type=float, default=0.5, help="KiB per connection")
    parser.add_argument("server_args", nargs="*", help="after --: contract_server.py options")
    args = parser.parse_args()

    port = free_port()
    env = dict(os.environ, PYTHONPATH=ROOT + os.pathsep + os.environ.get("PYTHONPATH", ""))
    server = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "contract_server.py"), str(port), *args.server_args],
        env=env,
        start_new_session=True,
    )
    try:
        wait_until(lambda: _up(port), 15, "the server")
        time.sleep(0.5)
        base = get_stats(port, collect=True)
        rows = [("baseline", base, None)]
        peaks = []
        failures = []
        for r in range(1, args.rounds + 1):
            connected, closed, trimmed, elapsed, errors = one_round(
                port, args.n, args.conc, CLIENTS[args.transport]
            )
            if errors:
                failures.append(f"round {r}: {len(errors)} clients failed, e.g. {errors[0]}")
            per_conn = (connected["rss_kib"] - base["rss_kib"]) / args.n
            rows.append((f"round {r}: {args.n} connected", connected, per_conn))
            rows.append((f"round {r}: all closed", closed, None))
            rows.append((f"round {r}: closed, malloc_trim", trimmed, None))
            peaks.append(connected)
            print(f"round {r}: {args.n} connections in {elapsed:.1f} s", file=sys.stderr)
        last = rows[-1][1]
        print(
            f"{'':32} {'RSS KiB':>9} {'KiB/conn':>9} {'greenlets':>9} {'sessions':>8} {'objects':>9}"
        )
        for label, s, per_conn in rows:
            kib = f"{per_conn:.1f}" if per_conn is not None else ""
            print(
                f"{label:32} {s['rss_kib']:>9} {kib:>9} {s['greenlets']:>9} {s['sessions']:>8}"
                f" {s['objects']:>9}"
            )
        if last["greenlets"] > base["greenlets"] + 5:
            failures.append(f"greenlets: {base['greenlets']} -> {last['greenlets']}")
        if last["sessions"]:
            failures.append(f"{last['sessions']} sessions left")
        growth = (peaks[-1]["rss_kib"] - peaks[0]["rss_kib"]) / args.n
        print(f"peak RSS growth from round 1 to {args.rounds}: {growth:.2f} KiB per connection")
        if args.rounds > 1 and growth > args.rss_slack:
            failures.append(f"RSS grew {growth:.2f} KiB per connection from round 1 to the last")
        if last["objects"] > base["objects"] * 1.05 + 1000:
            failures.append(f"objects: {base['objects']} -> {last['objects']}")
        for failure in failures:
            print("LEAK?", failure)
        print("OK" if not failures else "FAILED")
        return 1 if failures else 0
    finally:
        os.killpg(server.pid, 9)
        server.wait()


def _up(port):
    try:
        get_stats(port)
        return True
    except OSError:
        return False


if __name__ == "__main__":
    sys.exit(main())
