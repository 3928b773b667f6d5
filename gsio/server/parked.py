"""A namespace's side of connection state recovery: the session a reconnecting client names,
and the blocking handlers' connections that wait for their client.

With recovery on, a CONNECT carrying a ``pid`` and an ``offset`` asks for a session back
(:meth:`Parked.recover`, through the namespace's adapter). An event-handler connection ends when
its transport is lost and the recovered client gets a new :class:`~gsio.server.conn.Conn`, as
in Node. A blocking handler's connection does not end: it is *parked* here while its client is
away, its handler still running, and the client that comes back is handed the same connection
(:meth:`Parked.resume`); past ``max_disconnection_duration`` it closes.
"""

from __future__ import annotations

import logging
from contextlib import nullcontext
from typing import Callable, Protocol

from gsio.exceptions import ConnectionRefused
from gsio.io.concurrency import Timer
from gsio.server.adapter import Adapter
from gsio.server.conn import Conn
from gsio.server.interfaces import ServerCore
from gsio.server.recovery import Restored

__all__ = ["Parked"]

log = logging.getLogger("gsio.socket")


class Lot(Protocol):
    """What :class:`Parked` uses of its namespace."""

    @property
    def name(self) -> str: ...

    @property
    def server(self) -> ServerCore: ...

    @property
    def adapter(self) -> Adapter: ...

    @property
    def blocking(self) -> Callable[..., object] | None:
        """The namespace's blocking handler, if it has one."""
        ...

    @property
    def middlewares(self) -> list[Callable[..., object]]: ...


class Parked:
    """The connections of one namespace's blocking handler whose client is away, by pid; and
    (recovery on) the namespace's connected connections by pid, so that a client back on a new
    transport while its old one still looks alive here is recognised."""

    def __init__(self, namespace: Lot) -> None:
        self.namespace = namespace
        self._conns: dict[str, tuple[Conn, Timer, str]] = {}
        self._live: dict[str, Conn] = {}

    def enter(self, conn: Conn) -> None:
        """``conn`` is connected (its CONNECT answered)."""
        if conn.pid is not None:
            self._live[conn.pid] = conn

    def leave(self, conn: Conn) -> None:
        """``conn`` is no longer connected (parked, or ended)."""
        if conn.pid is not None and self._live.get(conn.pid) is conn:
            del self._live[conn.pid]

    def __len__(self) -> int:
        return len(self._conns)

    def recover(self, conn: Conn) -> Restored | None:
        """The session a new connection's CONNECT (its ``pid`` and ``offset``) asks back, if it
        can be restored; None for a new connection. A connection parked for that pid whose
        client came back without a complete replay ends."""
        namespace = self.namespace
        if namespace.server.recovery is None or conn.pid is None:  # (a 2.x client's has none)
            return None
        auth = conn.handshake.auth
        pid, offset = auth.get("pid"), auth.get("offset")
        if not isinstance(pid, str) or not isinstance(offset, (str, type(None))):
            return None
        old = self._live.get(pid)
        if old is not None and old is not conn and old.connected:
            # Only its client knows the pid: the client is back on a new transport while the
            # old one still looks alive here (a network change that no ping has shown yet).
            # The old transport is lost (its sessions kept), then the session recovers.
            log.info("%s: its client is back on a new transport; closing the old one", old.id)
            old.client.close("transport close")
        entry = self._conns.get(pid)
        waiting = entry[0] if entry is not None else None
        # A waiting handler (its own thread, maybe) sends nothing between the missed packets
        # read and its connection held: nothing falls between the two, nothing passes them.
        with waiting.guard if waiting is not None else nullcontext():
            try:
                restored = namespace.adapter.restore_session(pid, offset)
            except Exception:
                log.exception("%s: restoring a session of %s failed", conn.id, namespace.name)
                restored = None
            if restored is not None and waiting is not None and restored.session.pid == pid:
                waiting.hold()
        if restored is None:
            log.debug("%s: no session to recover on %s", conn.id, namespace.name)
            entry = self._conns.pop(pid, None)
            if entry is not None:  # its client is back, but what it missed is not all held
                entry[1].cancel()
                entry[0].close(entry[2])
        return restored

    def take(self, pid: str) -> Conn | None:
        """The connection parked for ``pid``, no longer parked."""
        entry = self._conns.pop(pid, None)
        if entry is None:
            return None
        entry[1].cancel()
        self.enter(entry[0])
        return entry[0]

    def park(self, conn: Conn, reason: str) -> bool:
        """Keep a blocking handler's connection while its client is away, for
        ``max_disconnection_duration``: its handler goes on; what it emits is logged and sent
        when the client recovers; past the window, ``receive()`` raises ConnectionClosed with
        ``reason``. False (nothing kept) for an event-handler namespace."""
        namespace = self.namespace
        recovery = namespace.server.recovery
        if namespace.blocking is None or recovery is None or conn.pid is None:
            return False
        c = namespace.server.concurrency
        pid = conn.pid

        def expire() -> None:
            entry = self._conns.get(pid)
            if entry is not None and entry[0] is conn:
                del self._conns[pid]
                namespace.adapter.discard_session(pid)
                conn.close(reason)

        timer = c.call_later(recovery.max_disconnection_duration, lambda: c.spawn(expire))
        self._conns[pid] = (conn, timer, reason)
        self.leave(conn)
        return True

    def unpark(self, conn: Conn) -> None:
        """A parked connection ended for good (its handler returned): forget its session."""
        if conn.pid is None:
            return
        entry = self._conns.get(conn.pid)
        if entry is not None and entry[0] is conn:
            del self._conns[conn.pid]
            entry[1].cancel()
            self.namespace.adapter.discard_session(conn.pid)

    def close_all(self, reason: str) -> None:
        """End every parked connection (the server shuts down); their sessions stay kept where
        the adapter keeps them outside this process."""
        conns, self._conns = self._conns, {}
        for conn, timer, _ in conns.values():
            timer.cancel()
            conn.close(reason)

    def resume(self, conn: Conn, new: Conn, restored: Restored) -> None:
        """The client of a parked connection is back (``new`` is its CONNECT): the connection
        takes the new transport, and its handler goes on."""
        namespace = self.namespace
        client = new.client
        conn.resume(client, new.handshake, restored)
        client.adopt(conn)
        recovery = namespace.server.recovery
        if recovery is not None and not recovery.skip_middlewares:
            try:
                for middleware in namespace.middlewares:
                    middleware(conn)
            except ConnectionRefused as exc:
                log.debug("%s: %s refused (%s)", conn.id, namespace.name, exc.message)
                conn.refuse(exc)
                return
            except Exception:
                log.exception("%s: middleware of %s failed", conn.id, namespace.name)
                conn.refuse(ConnectionRefused("Internal server error"))
                return
        conn.accept()
