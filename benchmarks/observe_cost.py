"""What observing costs per message: an in-process micro-benchmark of the per-message paths.

    python benchmarks/observe_cost.py [--n 200000] [--reps 5] [--recipients 100]

One connection on ``/`` of a real :class:`gsio.Server` (gevent), over a transport that only
counts what it is handed (no network: what is measured is gsio's own work):

- ``in``: an event arrives (``Server.on_message`` with ``2["echo",1,"x"]``) and
  ``conn.receive()`` returns it: the decoder, the routing, the inbox;
- ``out``: ``conn.emit("echo", 1, "x")``: the packet, its encoding, the hand-over;
- ``broadcast``: ``sio.emit("news", 1)`` to ``--recipients`` connections, per recipient.

Each in five setups: no one watching; an observer counting events and bytes (``Counter``);
``conn.on_any``/``on_any_outgoing`` listeners; both; ``gsio.metrics.instrument(sio)``. Run it on an older tree with
``--plain-only`` (the setups it has) to compare: ``PYTHONPATH=<old tree> python ...``.
Prints ns per message (the best of ``--reps``).
"""

from __future__ import annotations

import argparse
import time

import gevent

import gsio


class Transport:
    """An Engine.IO session that keeps nothing: what gsio hands it is counted."""

    protocol = 4
    transport = "websocket"
    closed = False

    def __init__(self, sid: str) -> None:
        self.sid = sid
        self.environ: dict = {}
        self.data = None
        self.sent = 0

    def send_parts(self, parts, volatile=False) -> bool:
        self.sent += 1
        return True

    def close(self, reason: str = "forced close") -> None:
        pass


class Counter:
    def __init__(self) -> None:
        self.events = self.bytes = 0

    def event_received(self, conn, event, args, size):
        self.events += 1
        self.bytes += size

    def event_sent(self, conn, event, args, size):
        self.events += 1
        self.bytes += size


def setup(recipients: int):
    sio = gsio.Server(async_mode="gevent", serve_client=False)
    forever = gevent.event.Event()

    @sio.handler
    def hold(conn):  # the benchmark reads conn.receive() itself
        forever.wait()

    sockets = []
    for i in range(recipients):
        socket = Transport(f"s{i}")
        sio.on_open(socket)
        sio.on_message(socket, "0")  # CONNECT to /
        sockets.append(socket)
    gevent.sleep(0.05)
    conns = list(sio.of("/").conns.values())
    assert len(conns) == recipients, len(conns)
    return sio, sockets, conns


def best(fn, n: int, reps: int) -> float:
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        fn(n)
        times.append((time.perf_counter() - started) / n * 1e9)
    return min(times)


def measure(n: int, reps: int, recipients: int, setups: list[str]) -> None:
    sio, sockets, conns = setup(recipients)
    socket, conn = sockets[0], sio.of("/").conns[sockets[0].data.conns["/"].id]
    on_message = sio.on_message

    def incoming(count: int) -> None:
        for _ in range(count):
            sio.on_message(socket, '2["echo",1,"x"]')
            conn.receive()

    def outgoing(count: int) -> None:
        emit = conn.emit
        for _ in range(count):
            emit("echo", 1, "x")

    def broadcast(count: int) -> None:
        for _ in range(count // recipients):
            sio.emit("news", 1)

    del on_message
    for name in setups:
        handles = []
        if name in ("observer", "both"):
            handles.append(sio.observe(Counter()))
        if name == "metrics":
            import prometheus_client

            import gsio.metrics

            registry = prometheus_client.CollectorRegistry()
            handles.append(gsio.metrics.instrument(sio, registry, multiprocess=False))
        if name in ("listeners", "both"):
            for c in conns:
                c.on_any(lambda event, *args: None)
                c.on_any_outgoing(lambda event, *args: None)
        row = [best(incoming, n, reps), best(outgoing, n, reps), best(broadcast, n, reps)]
        print(f"{name:10} in {row[0]:7.0f}  out {row[1]:7.0f}  broadcast {row[2]:7.0f}  ns/msg")
        for handle in handles:
            handle.remove()
        if name in ("listeners", "both"):
            for c in conns:
                c.off_any()
                c.off_any_outgoing()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--recipients", type=int, default=100)
    parser.add_argument("--plain-only", action="store_true", help="for a tree without observers")
    parser.add_argument("--metrics", action="store_true", help="plain and gsio.metrics only")
    args = parser.parse_args()
    setups = ["plain"] if args.plain_only else ["plain", "observer", "listeners", "both", "plain"]
    if args.metrics:
        setups = ["plain", "metrics", "plain", "metrics"]
    measure(args.n, args.reps, args.recipients, setups)


if __name__ == "__main__":
    main()
