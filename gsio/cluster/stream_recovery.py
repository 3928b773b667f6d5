"""Connection state recovery for the Redis Streams adapter, across the servers of a cluster.

A recoverable packet (an EVENT without ack, not volatile: a broadcast or a direct emit) is
written to the stream before it is sent here; its entry id is its offset. A disconnected
socket's session is kept in Redis (``SET sio:session:<pid> <base64 msgpack> PX <window>``), as
Node's ``@socket.io/redis-streams-adapter`` does, so that a client recovers on any gsio or Node
server of the cluster.

Unlike Node, a restore is exact: Node reads the stream to its end and then joins the rooms, and
what the server sends in between is lost for the client. Here the restore reads the stream up to
the entry this process's reader handed over last (every later entry reaches the socket live once
it joined), adds this process's own entries sent since, and returns without yielding after its
last check; each replayed packet has its own offset, so the client's offset stays right.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Iterable
from typing import Any

from gsio.cluster.link import RedisLink
from gsio.cluster.stream_mirror import SessionMirror
from gsio.cluster.stream_reader import StreamReader
from gsio.cluster.streams_wire import (
    Message,
    MessageType,
    broadcast_data,
    decode_entry,
    decode_session,
    encode_session,
    id_key,
    is_offset,
    next_id,
)
from gsio.exceptions import ProtocolError
from gsio.io.concurrency import Concurrency
from gsio.protocol.socketio import Packet
from gsio.server.adapter import Adapter
from gsio.server.recipients import Recipients
from gsio.server.recovery import Restored, SessionState, reaches

__all__ = ["StreamRecovery"]

log = logging.getLogger("gsio.redis")

#: How many XRANGE reads a restore makes at most to catch up with the reader (as Node's limit).
_MAX_READS = 100
_RANGE_COUNT = 1000

_Own = tuple[str, list[Any], Recipients]  # (entry id, data with its offset, recipients)


class StreamRecovery(Adapter):
    """The recovery half of :class:`~gsio.cluster.streams.RedisStreamsAdapter`."""

    reader: StreamReader
    link: RedisLink
    c: Concurrency
    requests_timeout: float
    session_key_prefix: str
    uid: str

    def _init_recovery(self) -> None:
        self.packets = self.sessions = None  # kept in Redis instead
        # Recoverable entries of ours sent here, not yet read back (newer than reader.last),
        # and those written but not yet sent here (see restore_session).
        self._own: collections.deque[_Own] = collections.deque()
        self._unsent: set[str] = set()
        self._mirror: SessionMirror | None = None

    def _keep_connected_sessions(self) -> None:
        """Keep the connected sockets' sessions in Redis too (see :mod:`.stream_mirror`)."""
        if self.recovery is not None:
            self._mirror = SessionMirror(self, self.recovery.max_disconnection_duration)

    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        super().add_all(sid, rooms)
        if self._mirror is not None:
            self._mirror.touch(sid)

    def delete(self, sid: str, room: str) -> None:
        super().delete(sid, room)
        if self._mirror is not None:
            self._mirror.touch(sid)

    def delete_all(self, sid: str) -> None:
        super().delete_all(sid)
        if self._mirror is not None:
            self._mirror.ended(sid, self.namespace.conns.get(sid))

    def _message(self, kind: MessageType, data: Any = None) -> Message:
        return Message(self.uid, self.namespace.name, kind, data)

    def _read_back(self, entry_id: str) -> None:
        """The reader read our own entry ``entry_id``: what is older is live for everyone."""
        own = self._own
        while own and id_key(own[0][0]) <= id_key(entry_id):
            own.popleft()

    def _write(self, message: Message) -> str | None:
        """XADD ``message`` and wait for its entry id; None if Redis is away or too slow."""
        if self.link.down or not self.c.in_home_thread():
            self.reader.xadd(message)
            return None
        done = self.c.event()
        box: list[str] = []

        def reply(result: Any) -> None:
            if isinstance(result, bytes) and not box:
                entry_id = result.decode()
                box.append(entry_id)
                if not done.is_set():
                    self._unsent.add(entry_id)
            done.set()

        self.reader.xadd(message, reply)
        if not done.wait(self.requests_timeout) or not box:
            done.set()  # a late reply leaves no trace
            return None
        return box[0]

    def _sent(self, entry_id: str, data: list[Any], opts: Recipients) -> None:
        """Our recoverable entry is being sent here now (no yield until it is)."""
        self._unsent.discard(entry_id)
        own = self._own
        last = self.reader.last
        while own and last is not None and id_key(own[0][0]) <= id_key(last):
            own.popleft()
        own.append((entry_id, data, opts))

    def record(self, packet: Packet, opts: Recipients) -> Packet:
        """A direct emit: written to the stream (to the socket's own room, as Node) and
        returned with its entry id as its offset."""
        entry_id = self._write(self._message(MessageType.BROADCAST, broadcast_data(packet, opts)))
        if entry_id is None:
            return packet
        data = [*packet.data, entry_id]
        self._sent(entry_id, data, opts)
        return Packet(packet.type, packet.namespace, data)

    # -- connection state recovery ---------------------------------------------------------------

    def _session_key(self, pid: str) -> str:
        return self.session_key_prefix + pid

    def persist_session(self, session: SessionState) -> None:
        """Queue ``SET sio:session:<pid> <base64 msgpack> PX <window>``: never blocks."""
        if self.recovery is None:
            return
        if self._mirror is not None:
            self._mirror.lost(session.sid)
        self.keep_session(session, max(int(self.recovery.max_disconnection_duration * 1000), 1))

    def keep_session(self, session: SessionState, px: int) -> None:
        """Queue ``SET sio:session:<pid> <base64 msgpack> PX <px>``."""
        try:
            value = encode_session(session)
        except (TypeError, ValueError, OverflowError):
            log.warning("%s: conn.data cannot be kept in Redis; it recovers as None", session.sid)
            value = encode_session(SessionState(session.sid, session.pid, session.rooms, None))
        self.link.command(("SET", self._session_key(session.pid), value, "PX", px))

    def discard_session(self, pid: str) -> None:
        if self.recovery is not None:
            self.link.command(("DEL", self._session_key(pid)))

    def log_position(self) -> str | None:
        """The id of the last stream entry this process handed over: a new connection's
        session keeps it (``since``), for a client cut before its first packet."""
        return None if self.recovery is None else self.reader.last

    def restore_session(self, pid: str, offset: str | None) -> Restored | None:
        """The session ``pid`` (taken from Redis) with the packets sent to its rooms after
        ``offset``, each with its own offset; None if either is unknown. Without an offset (a
        client cut before its first packet: Node cannot recover it), after the session's
        ``since``, if the stream still holds every entry since then.

        Every entry up to the reader's :attr:`~StreamReader.last` is read, then our own
        entries sent here since; it returns without yielding after the last check, so that
        what the reader and this server send next reaches the socket live once it joins."""
        if self.recovery is None or offset is not None and not is_offset(offset):
            return None
        client, stream = self.link.client, self.reader.stream
        try:
            pipe = client.pipeline(transaction=True)
            pipe.get(self._session_key(pid)).delete(self._session_key(pid))
            if offset is not None:
                pipe.xrange(stream, offset, offset, count=1)
            results = pipe.execute()
            if not results[0]:
                return None
            session = decode_session(results[0])
            if offset is None:
                offset = session.since
                if offset is None or not is_offset(offset) or self._trimmed_since(offset):
                    return None
            elif not results[2]:
                return None
            if not self.reader.reached(offset, self.requests_timeout):
                return None
            missed: list[list[Any]] = []
            cursor = offset
            for _ in range(_MAX_READS):
                last = self.reader.last
                assert last is not None
                if id_key(cursor) >= id_key(last):
                    return self._restored(session, missed, cursor)
                entries = client.xrange(stream, next_id(cursor), last, count=_RANGE_COUNT)
                cursor = last if not entries else cursor
                for raw_id, fields in entries:
                    cursor = raw_id.decode()
                    data = self._missed(cursor, fields, session.rooms)
                    if data is not None:
                        missed.append(data)
        except self.link.errors as exc:
            log.warning("redis: cannot restore a session (%s)", exc)
        except ProtocolError as exc:
            log.warning("redis: cannot restore a session: %s", exc.message)
        return None

    def _trimmed_since(self, entry_id: str) -> bool:
        """Whether the stream may have lost entries after ``entry_id`` (trimmed)."""
        import redis

        try:
            info = self.link.client.xinfo_stream(self.reader.stream)
        except redis.ResponseError:  # no stream: nothing was written since
            return False
        if info.get("entries-added") == info.get("length"):  # (Redis 7) never trimmed
            return False
        first = info.get("first-entry")
        return first is not None and id_key(_text(first[0])) > id_key(entry_id)

    def _missed(self, entry_id: str, fields: dict, rooms: list[str]) -> list[Any] | None:
        try:
            message = decode_entry(fields)
            if (
                message is None
                or message.nsp != self.namespace.name
                or message.kind != MessageType.BROADCAST
                or message.get("requestId") is not None
                or entry_id in self._unsent  # sent here live after the join
            ):
                return None
            opts = message.recipients()
            if opts.volatile or not reaches(rooms, opts):
                return None
            return [*message.packet().data, entry_id]
        except ProtocolError as exc:
            log.warning("redis: skipped a malformed stream entry %s: %s", entry_id, exc.message)
            return None

    def _restored(self, session: SessionState, missed: list, cursor: str) -> Restored:
        after = id_key(cursor)
        for entry_id, data, opts in self._own:
            if id_key(entry_id) > after and reaches(session.rooms, opts):
                missed.append(data)
        return Restored(session, missed)


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
