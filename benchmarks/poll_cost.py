"""What one long-polling round trip costs in gsio's own code: an in-process micro-benchmark.

    python benchmarks/poll_cost.py [--clients 50] [--rounds 400] [--reps 5] [--profile]

``--clients`` Engine.IO v4 long-polling sessions connected to ``/`` of a real
:class:`gsio.Server` (gevent), each with two keep-alive connections served by the event loop
(:class:`gsio.io.pollnative.PollingConnection`) as the bench's load generator has them: one for
its long-poll GETs, one for its POSTs. The connections' sockets are fakes that hand over the
request bytes the bench's client sends (``recv``) and keep what is written (``send``): gsio's
work from a request's bytes to its response's, without the kernel's. A round: every client
POSTs ``42<id>["echo","x..."]`` (answered ``ok``), its pending GET is answered with the ack, and
the client sends its next GET, as loadgen.js's PollClient does.

Prints CPU µs per round trip (process time; the best of ``--reps``: the machine may be shared);
``--profile`` prints cProfile's top entries of one more run. ``--browser``: the requests
as Chromium's socket.io-client sends them (a browser's headers, a new ``t`` query parameter
in every request), where the bench's load generator sends the same bytes each time. Run it on an older tree to compare:
``PYTHONPATH=<tree> python <tree>/benchmarks/poll_cost.py`` (or this file with that path).
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import socket as stdsocket
import time
from types import SimpleNamespace

import gevent
import gevent.event

import gsio
from gsio.io.pollnative import PollingConnection

PAYLOAD = "x" * 32
HOST = b"Host: 127.0.0.1:8000\r\n"
# What Chromium sends with socket.io-client's polls (same origin: no Origin header on GETs).
BROWSER = HOST + (
    b"Connection: keep-alive\r\n"
    b'sec-ch-ua: "Chromium";v="120", "Not?A_Brand";v="8"\r\n'
    b"sec-ch-ua-mobile: ?0\r\n"
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    b"Chrome/120.0.0.0 Safari/537.36\r\n"
    b'sec-ch-ua-platform: "Linux"\r\n'
    b"Accept: */*\r\n"
    b"Sec-Fetch-Site: same-origin\r\n"
    b"Sec-Fetch-Mode: cors\r\n"
    b"Sec-Fetch-Dest: empty\r\n"
    b"Referer: http://127.0.0.1:8000/\r\n"
    b"Accept-Encoding: gzip, deflate, br\r\n"
    b"Accept-Language: en-US,en;q=0.9\r\n"
    b"Cookie: session=3f9a1c; theme=dark\r\n"
)


class FakeSocket:
    """A connection's socket: ``recv`` returns what :meth:`feed` gave, ``send`` keeps all."""

    def __init__(self, fileno: int, on_send) -> None:
        self._fileno = fileno
        self.inbox = b""
        self.on_send = on_send

    def fileno(self) -> int:
        return self._fileno

    def recv(self, size: int) -> bytes:
        data = self.inbox
        if not data:
            raise BlockingIOError()
        self.inbox = b""
        return data

    def send(self, data) -> int:
        self.on_send(bytes(data))
        return len(data)

    def close(self) -> None:
        pass


class Client:
    """One polling client: a GET connection and a POST connection, closed-loop echo."""

    def __init__(self, bench: Bench, sid: str) -> None:
        self.bench = bench
        self.path = f"/socket.io/?EIO=4&transport=polling&sid={sid}".encode()
        self.headers = BROWSER if bench.browser else HOST
        self.requests = 0
        self.ack_id = 0
        self.connected = False
        self.get = self._connection(self._on_get_response)
        self.post = self._connection(self._on_post_response)

    def _connection(self, on_send):
        raw = FakeSocket(self.bench.fd, on_send)
        return raw, PollingConnection(raw, ("127.0.0.1", 1), self.bench.server, self.bench.app, b"")

    def request(self, conn, data: bytes) -> None:
        raw, polling = conn
        raw.inbox = data
        polling._on_readable()  # (as its read watcher would, in the event loop)

    def target(self) -> bytes:
        """The request's path and query; as socket.io-client's, a new ``t`` each time with
        ``--browser``."""
        if not self.bench.browser:
            return self.path
        self.requests += 1
        return self.path + b"&t=P%07x" % self.requests

    @property
    def get_request(self) -> bytes:
        return b"GET " + self.target() + b" HTTP/1.1\r\n" + self.headers + b"\r\n"

    def send_post(self, body: bytes) -> None:
        head = b"POST " + self.target() + b" HTTP/1.1\r\n" + self.headers
        head += b"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: %d\r\n\r\n"
        self.request(self.post, head % len(body) + body)

    def echo(self) -> None:
        self.ack_id += 1
        self.send_post(b'42%d["echo","%s"]' % (self.ack_id, PAYLOAD.encode()))

    def _on_post_response(self, data: bytes) -> None:
        assert data.startswith(b"HTTP/1.1 200 ") and data.endswith(b"ok"), data

    def _on_get_response(self, data: bytes) -> None:
        assert data.startswith(b"HTTP/1.1 200 "), data
        body = data.partition(b"\r\n\r\n")[2]
        # The next GET goes out once the client has the response (a later loop iteration).
        self.bench.loop.run_callback(self.request, self.get, self.get_request)
        if body.startswith(b"40"):
            self.connected = True
            self.bench.progress()
        elif body.startswith(b"43"):
            self.bench.progress()
            if self.bench.running:
                self.bench.loop.run_callback(self.echo)


class Bench:
    def __init__(self, clients: int, browser: bool = False) -> None:
        self.browser = browser
        sio = gsio.Server(async_mode="gevent", serve_client=False)

        @sio.on("echo")
        def echo(conn, *args):
            return args

        self.sio = sio
        self.app = gsio.WSGIApp(sio)
        self.server = SimpleNamespace()  # (the header timeout as gsio.serve's by default)
        self.loop = gevent.get_hub().loop
        self._pair = stdsocket.socketpair()  # an fd that never gets readable, for the watchers
        self.fd = self._pair[0].fileno()
        self.done = gevent.event.Event()
        self.count = 0
        self.target = clients
        self.running = False
        self.clients = [Client(self, self._handshake()) for _ in range(clients)]
        for client in self.clients:
            client.request(client.get, client.get_request)
            client.send_post(b"40")
        self.done.wait(10)
        assert all(client.connected for client in self.clients)

    def _handshake(self) -> str:
        environ = {
            "REQUEST_METHOD": "GET",
            "PATH_INFO": "/socket.io/",
            "QUERY_STRING": "EIO=4&transport=polling",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "HTTP_HOST": "127.0.0.1:8000",
        }
        body = b"".join(self.app(environ, lambda status, headers, exc_info=None: None))
        return json.loads(body.decode()[1:])["sid"]

    def progress(self) -> None:
        self.count += 1
        if self.count == self.target:
            self.done.set()

    def run(self, rounds: int) -> float:
        """Run ``rounds`` round trips per client; CPU µs per round trip."""
        self.count = 0
        self.target = rounds * len(self.clients)
        self.done.clear()
        self.running = True
        started = time.process_time()
        for client in self.clients:
            self.loop.run_callback(client.echo)
        self.done.wait()
        elapsed = time.process_time() - started
        self.running = False
        gevent.sleep(0.01)  # (the last acks' next GETs)
        return elapsed / self.target * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=400)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument(
        "--browser",
        action="store_true",
        help="requests as a browser's socket.io-client sends them: its headers, a new t= each",
    )
    args = parser.parse_args()
    bench = Bench(args.clients, args.browser)
    bench.run(max(1, args.rounds // 10))  # warm-up
    best = min(bench.run(args.rounds) for _ in range(args.reps))
    print(f"polling round trip {best:6.2f} us CPU (gsio's code, no syscalls)")
    if args.profile:
        profile = cProfile.Profile()
        profile.enable()
        bench.run(args.rounds)
        profile.disable()
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)


if __name__ == "__main__":
    main()
