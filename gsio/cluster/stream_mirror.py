"""The sessions of connected sockets, kept in Redis while they are connected.

A socket's session is kept in Redis when its connection is lost (:mod:`gsio.cluster.
stream_recovery`), by the process that served it. A process that dies without a word
(SIGKILL, a crash, the machine gone) keeps nothing, and its clients could not recover. With
the Redis Streams adapter and connection state recovery on, each process also writes the
session of every connected socket of its own (``SET sio:session:<pid> ... PX``): when it
connects, joins or leaves a room, and again every ``max_disconnection_duration / 4`` (the
key lives ``max_disconnection_duration`` past that): a client of a dead process recovers on
another, with the rooms it was in and the ``conn.data`` of the last write.

A connection that ends for good (its client left, the server closed it) has its key deleted;
one lost for a recoverable reason has it overwritten by the usual session, as before.
"""

from __future__ import annotations

import logging
from typing import Any, Protocol

from gsio.io.concurrency import Concurrency
from gsio.server.interfaces import Host
from gsio.server.recovery import RECOVERABLE_REASONS, SessionState

__all__ = ["SessionMirror"]

log = logging.getLogger("gsio.redis")

#: How often a connection not yet accepted (a recovered one joins first) is looked at again.
_RETRY = 0.05


class _Keeper(Protocol):
    c: Concurrency
    namespace: Host

    def keep_session(self, session: SessionState, px: int) -> None: ...

    def discard_session(self, pid: str) -> None: ...


class SessionMirror:
    """Writes the sessions of ``adapter``'s connected sockets to Redis, from a greenlet of its
    own: :meth:`touch` when a socket's rooms change, :meth:`ended` when it leaves."""

    def __init__(self, adapter: _Keeper, duration: float) -> None:
        self.adapter = adapter
        self.c = adapter.c
        self.period = duration / 4
        self.px = max(int((duration + self.period) * 1000), 1)
        self.dirty: set[str] = set()
        self.kept: dict[str, str] = {}  # sid -> pid: the sessions written
        self.away: set[str] = set()  # lost: their session was kept as they were lost
        self.wake = self.c.event()
        self.closed = False
        self.worker = self.c.spawn(self._run)

    def touch(self, sid: str) -> None:
        self.away.discard(sid)  # (a recovered connection joins its rooms)
        self.dirty.add(sid)
        if self.c.in_home_thread():
            self.wake.set()
        else:
            self.c.call_soon_threadsafe(self.wake.set)

    def lost(self, sid: str) -> None:
        """``sid``'s transport is lost and its session kept for its client."""
        self.away.add(sid)
        self.dirty.discard(sid)

    def ended(self, sid: str, conn: Any) -> None:
        """``conn`` (``sid``'s) left the namespace: its key goes unless its session was kept
        for its client (a recoverable loss: the usual session replaced it)."""
        self.dirty.discard(sid)
        self.away.discard(sid)
        pid = self.kept.pop(sid, None)
        if pid is not None and (conn is None or conn.closed_reason not in RECOVERABLE_REASONS):
            self.adapter.discard_session(pid)

    def close(self) -> None:
        self.closed = True
        self.wake.set()

    def _run(self) -> None:
        c = self.c
        refresh = c.monotonic() + self.period
        while not self.closed:
            wait = refresh - c.monotonic()
            if self.dirty:
                wait = min(wait, _RETRY)
            self.wake.wait(max(wait, 0))
            self.wake.clear()
            if self.closed:
                return
            if c.monotonic() >= refresh:
                refresh = c.monotonic() + self.period
                self.dirty.update(self.kept)  # (its keys)
            try:
                self._write()
            except Exception:  # (never ends the greenlet: the next touch tries again)
                log.exception("redis: keeping the connected sessions failed")

    def _write(self) -> None:
        conns = self.adapter.namespace.conns
        batch, self.dirty = self.dirty, set()
        for sid in list(batch):  # (a copy: a thread may add to it)
            conn: Any = conns.get(sid)  # (a Conn: its pid, data and since)
            if conn is None or conn.closed_reason is not None or conn.pid is None:
                continue
            if sid in self.away:
                continue  # (its session was kept as it was lost)
            if not conn.connected:
                self.dirty.add(sid)  # not accepted yet: a recovered one joins first
                continue
            self.kept[sid] = conn.pid
            session = SessionState(sid, conn.pid, sorted(conn.rooms), conn.data, conn.since)
            self.adapter.keep_session(session, self.px)
