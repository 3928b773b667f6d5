"""gsio's WebSocket writer (gsio/io/wsnative_writer.py) in a long burst, on real sockets: a
greenlet that queues frames to many connections without yielding (a broadcast loop) gets the
first frames out at once, and the rest in a few large writes per connection, all in order."""

import socket

import gevent
import gevent.socket

from gsio.io.concurrency import select
from gsio.io.websocket import message_frame
from gsio.io.wsnative_writer import NativeWriter


class CountingSocket(socket.socket):
    """A plain socket that counts its send() calls (NativeWriter writes through ``_sock``)."""

    sends = 0

    def send(self, data, *args):
        self.sends += 1
        return super().send(data, *args)


class Wrapper:
    """What NativeWriter takes: an object whose ``_sock`` is the non-blocking socket."""

    def __init__(self, raw):
        self._sock = raw


def test_a_long_burst_is_written_in_few_writes_and_in_order():
    concurrency = select("gevent")
    connections, frames = 50, 200  # 10,000 frames queued in one go
    pairs = []
    for _ in range(connections):
        a, b = socket.socketpair()
        a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
        raw = CountingSocket(fileno=a.detach())
        raw.setblocking(False)
        pairs.append((raw, NativeWriter(Wrapper(raw), concurrency, None), b))
    written_during_burst = []

    def burst():
        for i in range(frames):
            data = message_frame(f"4m{i}")
            for _, writer, _ in pairs:
                writer.send_frames(data)
        written_during_burst.extend(raw.sends for raw, _, _ in pairs)

    gevent.spawn(burst).join()
    gevent.sleep(0.01)
    # The first frames were written before the burst ended ...
    assert max(written_during_burst) >= 1
    # ... and the whole burst took a handful of writes each: the burst's first frames, then
    # the rest when the greenlet yields (and every 256 frames per connection in a longer
    # burst); the old scheme wrote every 8 frames per connection at most: 25 writes here.
    assert max(raw.sends for raw, _, _ in pairs) <= 4
    expected = b"".join(message_frame(f"4m{i}") for i in range(frames))
    for raw, _, peer in pairs:
        peer.settimeout(5)
        got = b""
        while len(got) < len(expected):
            got += peer.recv(1 << 20)
        assert got == expected
        raw.close()
        peer.close()
