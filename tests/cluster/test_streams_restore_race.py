"""The Redis Streams adapter's restore is exact when the stream runs ahead of this server's
reader (a real redis-server, the adapter in this process on threads, its reader held back).

Node's adapter reads the stream to its end, then the socket joins its rooms: an entry that the
reader delivers after that read (it was behind) reaches the socket twice, once replayed and once
live. gsio reads only up to what its reader handed over, and adds what this server sent itself
since (delivered here at once, before the reader reads it back).
"""

from __future__ import annotations

import threading
import time

import redis

import gsio
from gsio.cluster.streams_wire import Message, MessageType, broadcast_data, encode_entry
from gsio.protocol.socketio import Packet, PacketType
from gsio.server.recipients import Recipients
from gsio.server.recovery import SessionState

ROOM = Recipients(frozenset({"r"}))


def _wait(predicate, what, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"waited too long for {what}"
        time.sleep(0.005)


def test_a_restore_replays_what_was_delivered_and_nothing_the_reader_has_not(redis_server):
    sio = gsio.Server(
        async_mode="threading",
        adapter=gsio.create_redis_streams_adapter(redis_server.url),
        connection_state_recovery=True,
    )
    adapter = sio.of("/").adapter
    reader = adapter.reader
    raw = redis.Redis(port=redis_server.port)
    gate = threading.Event()
    gate.set()
    hand_over = reader._hand_over

    def held_back(entry_id, fields):
        gate.wait(10)
        hand_over(entry_id, fields)

    reader._hand_over = held_back

    def foreign(n):
        """An entry of another server: a broadcast of ``["e", n]`` to room "r"."""
        packet = Packet(PacketType.EVENT, "/", ["e", n])
        message = Message(
            "another-server", "/", MessageType.BROADCAST, broadcast_data(packet, ROOM)
        )
        return raw.xadd("socket.io", encode_entry(message)).decode()

    try:
        _wait(lambda: reader.last is not None, "the reader")
        first = foreign(1)
        second = foreign(2)
        _wait(lambda: reader.last == second, "the reader to hand over two entries")
        gate.clear()  # from here the reader falls behind
        third = foreign(3)
        adapter.broadcast(Packet(PacketType.EVENT, "/", ["own", 4]), ROOM)  # sent here at once
        _wait(lambda: raw.xlen("socket.io") == 4, "our own entry in the stream")
        assert reader.last == second

        adapter.persist_session(SessionState("sid", "pid", ["sid", "r"], {"k": 1}))
        _wait(lambda: raw.exists("sio:session:pid"), "the session in Redis")
        restored = adapter.restore_session("pid", first)

        assert restored is not None and restored.session.data == {"k": 1}
        missed = restored.missed
        # The second (delivered here) and our own (sent here); not the third, which the reader
        # will deliver live once the socket has joined.
        assert [m[:2] for m in missed] == [["e", 2], ["own", 4]], missed
        assert missed[0][2] == second
        assert third not in [m[-1] for m in missed]
        assert raw.exists("sio:session:pid") == 0  # taken: a session recovers once
    finally:
        gate.set()
        sio.shutdown(1)
        raw.close()
