"""Rooms and broadcast delivery: the adapter interface and its in-process implementation.

An adapter belongs to one namespace. It knows which socket ids are in which rooms and delivers
an encoded packet to every socket a :class:`~gsio.server.recipients.Recipients` selects, through
each connection's public interface (:class:`~gsio.server.interfaces.Member`). The in-memory
:class:`Adapter` is the whole story in one process; a cluster adapter (Redis) subclasses it,
publishes each operation to the other processes, and hands what arrives from them to the same
local methods, so a broadcast from here and one from elsewhere go through one delivery path.
The operations mirror Node's socket.io adapter (``broadcast``, ``broadcastWithAck``,
``addSockets``, ``delSockets``, ``disconnectSockets``, ``fetchSockets``).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Callable

from gsio.protocol.deflate import Uncompressed
from gsio.protocol.socketio import Packet, PacketType
from gsio.server.interfaces import Data, Hooks, Host, Member, Socket
from gsio.server.recipients import Recipients
from gsio.server.recovery import PacketLog, Restored, SessionState, SessionStore

__all__ = ["Adapter", "BroadcastOptions"]

log = logging.getLogger("gsio.adapter")


#: The former name of :class:`~gsio.server.recipients.Recipients` (same fields and constructor).
BroadcastOptions = Recipients


class Adapter:
    """The in-process adapter of one namespace.

    With connection state recovery on (``namespace.server.recovery``), it also keeps what a
    client needs to recover in this process, as Node's ``SessionAwareAdapter``: the sessions
    of disconnected sockets (:attr:`sessions`) and the recent recoverable packets
    (:attr:`packets`), each packet given an offset as it is logged.
    """

    def __init__(self, namespace: Host) -> None:
        self.namespace = namespace
        self.rooms: dict[str, set[str]] = {}
        self.sids: dict[str, set[str]] = {}
        server = namespace.server
        self._lock = server.concurrency.lock()
        self.recovery = recovery = server.recovery
        self.packets: PacketLog | None = None
        self.sessions: SessionStore | None = None
        if recovery is not None:
            clock = server.concurrency.monotonic
            duration = recovery.max_disconnection_duration
            self.packets = PacketLog(duration, recovery.max_packets, clock)
            self.sessions = SessionStore(duration, clock)

    def close(self) -> None:
        """Release what the adapter holds (connections to a broker, ...)."""

    def server_count(self) -> int:
        """How many servers share this namespace (1 without a cluster)."""
        return 1

    # -- membership --------------------------------------------------------------------

    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        new: list[str] = []
        with self._lock:
            joined = self.sids.setdefault(sid, set())
            for room in rooms:
                if room not in joined:
                    new.append(room)
                joined.add(room)
                self.rooms.setdefault(room, set()).add(sid)
        self._tell(True, sid, new)

    def delete(self, sid: str, room: str) -> None:
        with self._lock:
            joined = self.sids.get(sid, set())
            was_in = room in joined
            joined.discard(room)
            members = self.rooms.get(room)
            if members is not None:
                members.discard(sid)
                if not members:
                    del self.rooms[room]
        if was_in:
            self._tell(False, sid, (room,))

    def delete_all(self, sid: str) -> None:
        with self._lock:
            left = self.sids.pop(sid, ())
            for room in left:
                members = self.rooms.get(room)
                if members is not None:
                    members.discard(sid)
                    if not members:
                        del self.rooms[room]
        self._tell(False, sid, left)

    def _tell(self, joined: bool, sid: str, rooms: Iterable[str]) -> None:
        """Tell the server's observers of joins or leaves (after the lock: they may look)."""
        hooks: Hooks = self.namespace.server.observers
        if hooks:
            hook = hooks.joined if joined else hooks.left
            name = self.namespace.name
            for room in rooms:
                hook(name, room, sid)

    def socket_rooms(self, sid: str) -> set[str]:
        with self._lock:
            return set(self.sids.get(sid, ()))

    def socket_ids(self, opts: Recipients) -> set[str]:
        """The ids of the local sockets ``opts`` selects."""
        with self._lock:
            if opts.rooms:
                ids: set[str] = set()
                for room in opts.rooms:
                    ids.update(self.rooms.get(room, ()))
            else:
                ids = set(self.sids)
            for room in opts.except_rooms:
                ids.difference_update(self.rooms.get(room, ()))
        return ids

    def _conns(self, opts: Recipients) -> list[Member]:
        """The connected sockets ``opts`` selects; all of them in the order they joined (as
        Node's adapter, whose maps keep it): the first clients are written to first."""
        conns = self.namespace.conns
        if opts.rooms or opts.except_rooms:
            ids: Iterable[str] = self.socket_ids(opts)
        else:
            with self._lock:
                ids = list(self.sids)
        return [conn for sid in ids if (conn := conns.get(sid)) is not None and conn.connected]

    # -- delivery ------------------------------------------------------------------------

    def broadcast(self, packet: Packet, opts: Recipients) -> None:
        """Deliver ``packet`` (an EVENT) to the sockets ``opts`` selects. It is encoded once
        and the same parts go to every recipient; one failing recipient does not stop the
        rest. With recovery on, a packet without ack that is not volatile is logged first and
        sent with its offset (not to socket.io-client 2.x, which has no recovery)."""
        if self.packets is not None and packet.id is None and not opts.volatile:
            self._broadcast_recorded(packet, opts)
            return
        parts = self.namespace.server.encode(packet)
        if not opts.compress:
            parts = Uncompressed(parts)
        volatile = opts.volatile
        recipients = self._conns(opts)
        for conn in recipients:
            try:
                conn.send_parts(parts, volatile)
            except Exception:
                log.exception("broadcast to %s failed", conn.id)
        hooks: Hooks = self.namespace.server.observers
        if hooks:
            hooks.broadcast_sent(self.namespace.name, packet.data, parts, len(recipients))

    def _broadcast_recorded(self, packet: Packet, opts: Recipients) -> None:
        encode = self.namespace.server.encode
        parts = encode(self.record(packet, opts))
        if not opts.compress:
            parts = Uncompressed(parts)
        plain: list[Data] | None = None  # without the offset, made once if a 2.x client is in
        recipients = self._conns(opts)
        for conn in recipients:
            try:
                if conn.protocol > 4:
                    conn.send_parts(parts, False)
                else:
                    if plain is None:
                        plain = encode(packet)
                        if not opts.compress:
                            plain = Uncompressed(plain)
                    conn.send_parts(plain, False)
            except Exception:
                log.exception("broadcast to %s failed", conn.id)
        hooks: Hooks = self.namespace.server.observers
        if hooks:
            hooks.broadcast_sent(self.namespace.name, packet.data, parts, len(recipients))

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: Recipients,
        client_count: Callable[[int], None],
        on_ack: Callable[[list[Any]], None],
    ) -> None:
        """Deliver ``packet`` asking each socket for an ack (one ack id for the whole
        broadcast); ``client_count(n)`` is told how many sockets got it (once per server of
        the cluster), and ``on_ack(args)`` is called with each socket's answer."""
        namespace = self.namespace
        ack_id = namespace.next_ack_id()
        parts = namespace.server.encode(
            Packet(PacketType.EVENT, namespace.name, packet.data, ack_id)
        )
        if not opts.compress:
            parts = Uncompressed(parts)
        recipients = self._conns(opts)
        for conn in recipients:
            conn.expect_ack(ack_id, on_ack)
            conn.send_parts(parts, False)
        hooks: Hooks = namespace.server.observers
        if hooks:
            hooks.broadcast_sent(namespace.name, packet.data, parts, len(recipients))
        client_count(len(recipients))

    # -- connection state recovery -------------------------------------------------------------

    def record(self, packet: Packet, opts: Recipients) -> Packet:
        """Log a recoverable EVENT sent to ``opts`` (recovery on); returns the packet to send,
        its offset appended to its arguments. A direct emit is logged this way too, with the
        socket's id as its room."""
        assert self.packets is not None, "recovery is off"
        return Packet(packet.type, packet.namespace, self.packets.append(packet.data, opts))

    def persist_session(self, session: SessionState) -> None:
        """Keep a disconnected socket's session for ``max_disconnection_duration``."""
        if self.sessions is not None:
            self.sessions.put(session)

    def log_position(self) -> str | None:
        """Where the packet log stands (a new connection's session keeps it as ``since``);
        None without recovery."""
        return None if self.packets is None else self.packets.position()

    def restore_session(self, pid: str, offset: str | None) -> Restored | None:
        """The session ``pid`` (taken: it recovers once) and the packets sent to its rooms after
        ``offset``; None if the session is unknown or expired, or the offset is not held. A
        client that never received a logged packet sends no offset (None): it gets every
        packet since its connection started, if the log still holds them all (beyond Node,
        where such a client cannot recover).

        It returns without yielding after it read the last missed packet: the caller joins
        the session's rooms at once, so that every later packet reaches it live."""
        if self.sessions is None or self.packets is None:
            return None
        session = self.sessions.take(pid)
        if session is None:
            return None
        if offset is not None:
            missed = self.packets.after(offset, session.rooms)
        elif session.since is not None:
            missed = self.packets.since(session.since, session.rooms)
        else:
            missed = None
        if missed is None:
            return None
        return Restored(session, missed)

    def discard_session(self, pid: str) -> None:
        """Forget a kept session (its connection ended for good meanwhile)."""
        if self.sessions is not None:
            self.sessions.discard(pid)

    # -- operations on the selected sockets ---------------------------------------------------

    def fetch_sockets(self, opts: Recipients) -> list[Socket]:
        return list(self._conns(opts))

    def add_sockets(self, opts: Recipients, rooms: Iterable[str]) -> None:
        rooms = list(rooms)
        for conn in self._conns(opts):
            self.add_all(conn.id, rooms)

    def del_sockets(self, opts: Recipients, rooms: Iterable[str]) -> None:
        rooms = list(rooms)
        for conn in self._conns(opts):
            for room in rooms:
                self.delete(conn.id, room)

    def disconnect_sockets(self, opts: Recipients, close: bool) -> None:
        for conn in self._conns(opts):
            conn.disconnect(close=close)

    # -- between the servers of a cluster ------------------------------------------------------

    def server_side_emit(
        self,
        event: str,
        args: list,
        callback: Callable[[Exception | None, list], None] | None = None,
        timeout: float | None = None,
    ) -> None:
        """Emit ``event`` to the other servers of the cluster (their ``on_server_side``
        handlers); with ``callback``, ``callback(err, responses)`` gets one answer per server.
        Alone, there is no other server: the callback gets ``(None, [])`` at once."""
        if callback is not None:
            callback(None, [])
