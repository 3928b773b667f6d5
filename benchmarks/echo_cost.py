"""What one echo costs in gsio's own code: an in-process micro-benchmark of the per-message path.

    python benchmarks/echo_cost.py [--conns 100] [--rounds 2000] [--reps 5] [--profile]

``--conns`` connections on ``/`` of a real :class:`gsio.Server` (gevent), each over a transport
that only counts what it is handed (no network, no frames: gsio's own work from a message
to its ack). Every round, an event-loop callback (as the WebSocket reader in the loop is) hands
each connection ``2<id>["echo","x..."]``; the round ends once every ack was sent. Modes:

- ``event``: ``@sio.on("echo")`` returning its arguments (the bench's contract server);
- ``blocking``: ``@sio.handler`` looping ``for msg in conn: msg.reply(*msg.args)``.

Prints CPU ns per message (process time: the machine may be shared; the best of ``--reps``); ``--profile`` prints cProfile's top entries of
one more run of each mode. Run it on an older tree to compare: ``PYTHONPATH=<tree> python ...``.
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import time

import gevent
import gevent.event

import gsio

PAYLOAD = "x" * 32


class Transport:
    """An Engine.IO session that keeps nothing: the acks it is handed are counted."""

    protocol = 4
    transport = "websocket"
    closed = False

    def __init__(self, sid: str, counter: Counter) -> None:
        self.sid = sid
        self.environ: dict = {}
        self.data = None
        self.counter = counter

    def send_parts(self, parts, volatile=False) -> bool:
        counter = self.counter
        counter.sent += 1
        if counter.sent == counter.target:
            counter.done.set()
        return True

    def close(self, reason: str = "forced close") -> None:
        pass


class Counter:
    def __init__(self) -> None:
        self.sent = 0
        self.target = -1
        self.done = gevent.event.Event()


def setup(mode: str, conns: int):
    sio = gsio.Server(async_mode="gevent", serve_client=False)
    if mode == "event":

        @sio.on("echo")
        def echo(conn, *args):
            return args

    else:

        @sio.handler
        def serve(conn):
            for msg in conn:
                msg.reply(*msg.args)

    counter = Counter()
    sockets = []
    for i in range(conns):
        socket = Transport(f"s{i}", counter)
        sio.on_open(socket)
        sio.on_message(socket, "0")  # CONNECT to /
        sockets.append(socket)
    gevent.sleep(0.05)
    assert len(sio.of("/").conns) == conns
    return sio, sockets, counter


def run(sio, sockets, counter, rounds: int) -> float:
    on_message = sio.on_message
    loop = gevent.get_hub().loop
    messages = [f'2{i}["echo","{PAYLOAD}"]' for i in range(rounds)]
    started = time.process_time()
    for i in range(rounds):
        counter.sent = 0
        counter.target = len(sockets)
        counter.done.clear()
        message = messages[i]

        def feed(message=message) -> None:
            for socket in sockets:
                on_message(socket, message)

        loop.run_callback(feed)
        counter.done.wait()
    return (time.process_time() - started) / (rounds * len(sockets)) * 1e9


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--conns", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--modes", default="event,blocking")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    for mode in args.modes.split(","):
        sio, sockets, counter = setup(mode, args.conns)
        run(sio, sockets, counter, args.rounds // 10)  # warm-up
        best = min(run(sio, sockets, counter, args.rounds) for _ in range(args.reps))
        print(f"{mode:9} {best:7.0f} ns/msg")
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            run(sio, sockets, counter, args.rounds)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(14)


if __name__ == "__main__":
    main()
