"""One client's connection to one namespace: the blocking API.

Every :class:`Conn` runs in a greenlet (a thread in threading mode) of its own. A blocking
handler loops on :meth:`Conn.receive`; the event-handler API is that same loop with a dispatch
table, so there is one path from the wire to user code. Acknowledgements from the client are
routed by the connection's reader, not by ``receive()``, so ``receive()`` and ``call()`` never
wait on each other.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator, Sequence
from typing import Any, Callable, Protocol

from gsio.exceptions import AckTimeout, ConnectionClosed, ConnectionRefused
from gsio.protocol.deflate import Uncompressed
from gsio.protocol.socketio_packet import Packet, PacketType
from gsio.server.broadcast import BroadcastOperator, Scope
from gsio.server.compressing import Uncompressing
from gsio.server.files import event_data
from gsio.server.handshake import Handshake
from gsio.server.interfaces import Data, Link, SendParts
from gsio.server.listeners import Listening, drop_ack, settle_closed
from gsio.server.message import Message
from gsio.server.recipients import Recipients, RoomArg, rooms_of
from gsio.server.recovery import RECOVERABLE_REASONS, Restored, SessionState

__all__ = ["Conn", "ConnNamespace", "Handshake", "Link", "Message"]

log = logging.getLogger("gsio.socket")

_CLOSED = object()  # the inbox sentinel: the connection is over


class ConnNamespace(Scope, Protocol):
    """What a connection uses of its namespace (:class:`~gsio.server.namespace.Namespace`)."""

    def next_ack_id(self) -> int: ...

    def park(self, conn: Conn, reason: str) -> bool:
        """Keep ``conn`` while its client is away (connection state recovery): True if the
        namespace does (a blocking handler's connection), False if the connection ends."""
        ...

    def unpark(self, conn: Conn) -> None:
        """A kept connection ended for good: forget it and its session."""
        ...


class Conn(Listening):
    """A client connected to a namespace.

    ``id`` is the socket id; ``protocol`` the Socket.IO protocol of its client (5; 4: see
    :mod:`gsio.server.legacy`); ``handshake`` what it sent when it connected; ``environ`` the
    WSGI environ of its first request; ``data`` a dict for your own state. With recovery on,
    ``recovered`` is True on a restored connection (same ``id``, rooms, ``data``, and missed).

    :attr:`send_parts` (how the adapter delivers a broadcast) is the client's own, bound once.
    Catch-all listeners, emits with an ack timeout: :class:`~gsio.server.listeners.Listening`.
    """

    protocol = 5

    def __init__(self, namespace: ConnNamespace, client: Link[Conn], auth: dict) -> None:
        self.id = secrets.token_urlsafe(15)
        self.namespace = namespace
        self.server = namespace.server
        self.client = client
        self.send_parts: SendParts = client.send_parts
        self.environ = client.environ
        self.handshake = Handshake(client.environ, auth)
        self.data: dict[str, Any] = {}
        self.connected = False
        self.closed_reason: str | None = None
        self.recovered = False
        self._recovery = self.server.recovery if self.protocol > 4 else None  # not for 2.x
        #: The private session id a client recovers with (recovery on), as Node's ``pid``.
        self.pid: str | None = None if self._recovery is None else secrets.token_urlsafe(15)
        self._missed: list[list[Any]] | None = None  # what a recovered client gets after CONNECT
        # The packet log's position as the session starts (connect handlers' emits come after).
        self.since = None if self._recovery is None else namespace.adapter.log_position()
        self._parked = False  # a blocking handler's connection whose client is away
        self._away = False  # its client is away and its session kept (recovery on)
        self._own_room: Recipients | None = None  # who a direct emit reaches, for the log
        self._c = c = self.server.concurrency
        self._inbox = c.queue()
        # ack id -> (called with the ack's args, called if the connection closes first)
        self._acks: dict[int, tuple[Callable[[list], None], Callable[[], None] | None]] = {}
        self._pending: list[list[Data]] | None = []  # emits made before the CONNECT answer is sent
        #: Guards what other threads see of a held connection (under gevent nothing preempts).
        self.guard = c.state_lock()
        self._wire()

    def __repr__(self) -> str:
        return f"<Conn {self.id} {self.namespace.name} {'connected' if self.connected else self.closed_reason or 'connecting'}>"

    # -- receiving ------------------------------------------------------------------------

    def receive(self, timeout: float | None = None) -> Message[Conn]:
        """Wait for the next event from the client and return it. Raises
        :class:`ConnectionClosed` (with the reason) once the client is gone, and
        :class:`TimeoutError` if ``timeout`` seconds pass first."""
        try:
            item = self._inbox.get(timeout=timeout)
        except Exception:  # queue.Empty / gevent's Empty
            raise TimeoutError(f"no event within {timeout} s") from None
        if item is _CLOSED:
            self._inbox.put(_CLOSED)  # every later receive() raises too
            raise ConnectionClosed(self.closed_reason or "transport close")
        return item

    def __iter__(self) -> Iterator[Message[Conn]]:
        """Iterate over events until the client is gone."""
        while True:
            try:
                yield self.receive()
            except ConnectionClosed:
                return

    # -- sending --------------------------------------------------------------------------

    def emit(
        self,
        event: str,
        *args: Any,
        callback: Callable[..., Any] | None = None,
        compress: bool = True,
    ) -> bool:
        """Send an event; never blocks on the network. ``callback(*args)`` runs (in a greenlet of
        its own) when the client acknowledges. Returns False if the connection is closed.
        ``compress=False``: not compressed with per-message deflate.

        With connection state recovery on, an event without ``callback`` sent while the client
        is away (its session kept) is kept for it too, as in Node: True."""
        packet = Packet(PacketType.EVENT, self.namespace.name, event_data(event, args, self.server))
        if callback is not None:
            ack_id = self.namespace.next_ack_id()
            self._acks[ack_id] = (lambda ack_args: self._c.spawn(callback, *ack_args), None)
            packet = Packet(PacketType.EVENT, self.namespace.name, packet.data, ack_id)
        return self._send(packet, compress)

    def compress(self, compress: bool) -> Conn | Uncompressing:
        """As Node's ``socket.compress(false)``: False gives an emitter that never compresses."""
        return self if compress else Uncompressing(self)

    def send(self, *args: Any, callback: Callable[..., Any] | None = None) -> bool:
        """Emit a ``message`` event, as Node's ``socket.send()``."""
        return self.emit("message", *args, callback=callback)

    def call(self, event: str, *args: Any, timeout: float | None = 60.0) -> Any:
        """Emit an event and wait for the client's acknowledgement.

        Returns the ack's argument (a tuple if there are several, None if none). Raises
        :class:`AckTimeout` after ``timeout`` seconds and :class:`ConnectionClosed` if the
        client goes away first.
        """
        data = event_data(event, args, self.server)  # (may raise: before the ack is expected)
        done = self._c.event()
        result: list[Any] = []
        ack_id = self.namespace.next_ack_id()

        def on_ack(ack_args: Any) -> None:
            result.append(ack_args)
            done.set()

        self._acks[ack_id] = (on_ack, lambda: on_ack(_CLOSED))
        packet = Packet(PacketType.EVENT, self.namespace.name, data, ack_id)
        if not self._send(packet):
            drop_ack(self._acks, ack_id, "closed")
            raise ConnectionClosed(self.closed_reason or "transport close")
        if not done.wait(timeout):
            drop_ack(self._acks, ack_id, "timed out")
            raise AckTimeout(f"no ack for {event!r} within {timeout} s")
        ack_args = result[0]
        if ack_args is _CLOSED:
            raise ConnectionClosed(self.closed_reason or "transport close")
        if not ack_args:
            return None
        return ack_args[0] if len(ack_args) == 1 else tuple(ack_args)

    def _send(self, packet: Packet, compress: bool = True) -> bool:
        if self._recovery is not None and packet.id is None:
            own_room = self._own_room
            if own_room is None or self.id not in own_room.rooms:  # (made once: 0.6 us)
                own_room = self._own_room = Recipients(frozenset((self.id,)))
            if self._away:
                with self.guard:  # (its client coming back, in another thread: Parked.recover)
                    if self._away:
                        # As Node: to whoever holds the id now (a recovered connection, maybe
                        # elsewhere), and logged for a client that comes back later.
                        self.namespace.adapter.broadcast(packet, own_room)
                        return True
            if self.closed_reason is not None:
                return False
            # As Node: a direct emit is logged, with the socket's own room, and gets an offset.
            packet = self.namespace.adapter.record(packet, own_room)
        elif self.closed_reason is not None:
            return False
        if self._pending is not None:
            with self.guard:  # (a handler's thread and accept() in another)
                if self._pending is not None:
                    self._pending.append(self.client.encode(packet))
                    return True
        if not compress:
            return self.client.send_parts(Uncompressed(self.client.encode(packet)))
        return self.client.send_packet(packet)

    # -- rooms and broadcast ----------------------------------------------------------------

    def join(self, *rooms: RoomArg) -> None:
        """Join one or more rooms."""
        self.namespace.adapter.add_all(self.id, rooms_of(rooms))

    def leave(self, *rooms: RoomArg) -> None:
        """Leave one or more rooms."""
        for room in rooms_of(rooms):
            self.namespace.adapter.delete(self.id, room)

    @property
    def rooms(self) -> set[str]:
        """The rooms this connection is in (its own id among them)."""
        return self.namespace.adapter.socket_rooms(self.id)

    def to(self, *rooms: RoomArg) -> BroadcastOperator:
        """Broadcast to these rooms, this connection excepted."""
        return self.broadcast.to(*rooms)

    in_ = to

    def except_(self, *rooms: RoomArg) -> BroadcastOperator:
        """Broadcast to every connection of the namespace but this one and those in these rooms."""
        return self.broadcast.except_(*rooms)

    @property
    def broadcast(self) -> BroadcastOperator:
        """Broadcast to every connection of the namespace but this one."""
        return BroadcastOperator(self.namespace, Recipients(except_rooms=frozenset((self.id,))))

    # -- ending -----------------------------------------------------------------------------

    def disconnect(self, close: bool = False) -> None:
        """Disconnect from the namespace (reason "server namespace disconnect"); with
        ``close``, disconnect every namespace of the client and close its whole connection, as
        Node's ``socket.disconnect(true)`` does (the client then reconnects none of them)."""
        if close:
            for conn in list(self.client.conns.values()):
                if conn is not self:
                    conn.disconnect()
        if self._parked:  # its client is away: there is no one to tell
            self.close("server namespace disconnect")
        if self.closed_reason is None:
            if self._pending is not None:
                # From a connect handler: as Node's disconnect() in a "connection" handler, the
                # client is connected (and gets what was emitted) first; unanswered, it hangs.
                self.accept()
            self.client.send_packet(Packet(PacketType.DISCONNECT, self.namespace.name))
            self.close("server namespace disconnect")
        if close:
            self.client.close("forced server close")

    # -- internals: called by the client and the namespace ------------------------------------

    def deliver(self, message: Message[Conn]) -> None:
        self._inbox.put(message)

    def expect_ack(self, ack_id: int, on_ack: Callable[[list], None]) -> None:
        self._acks[ack_id] = (on_ack, None)

    def on_ack(self, ack_id: int, args: list) -> None:
        entry = self._acks.pop(ack_id, None)
        if entry is None:
            log.info("%s: ack %d answers nothing; ignored", self.id, ack_id)
            return
        entry[0](args)

    def accept(self) -> None:
        """Answer CONNECT, then send what a recovered client missed, then what was held."""
        with self.guard:  # whatever other threads send waits until all this is queued
            pending = self._pending or []
            missed, self._missed = self._missed, None
            if self.closed_reason is not None:
                self._pending = None
                return
            self.connected = True
            client = self.client
            name = self.namespace.name
            if missed is None:  # (a restored connection joined its rooms already)
                self.namespace.adapter.add_all(self.id, (self.id,))
            client.accepted()
            answer = {"sid": self.id} if self.pid is None else {"sid": self.id, "pid": self.pid}
            client.send_packet(
                Packet(PacketType.CONNECT, name, answer if self.protocol > 4 else None)
            )
            for data in missed or ():
                client.send_packet(Packet(PacketType.EVENT, name, data))
            for parts in pending:
                client.send_parts(parts, False)
            self._pending = None  # (only now may other threads send past the guard)
            self.send_parts = self._sender(client)
        if self.connected and self.hooks:
            self.hooks.connected(self)

    # -- connection state recovery ------------------------------------------------------------

    def lost(self, reason: str) -> None:
        """The transport under the connection is gone. With recovery on and a recoverable
        reason, its session is kept (and a blocking handler's connection waits for its client);
        otherwise the connection ends."""
        if self._recovery is not None and self.connected and reason in RECOVERABLE_REASONS:
            assert self.pid is not None
            session = SessionState(self.id, self.pid, sorted(self.rooms), self.data, self.since)
            self.namespace.adapter.persist_session(session)
            self._away = True
            if self.namespace.park(self, reason):
                self.connected = False
                self._parked = True
                self._pending = []
                if self.hooks:  # as in Node: the socket disconnects, a recovered one connects
                    self.hooks.disconnected(self, reason)
                return
        self.close(reason)

    def restore(self, restored: Restored) -> None:
        """Become the restored session (a new connection): its id, pid, rooms and data. Until
        :meth:`accept`, what reaches the rooms waits behind what was missed."""
        session = restored.session
        self.id = session.sid
        self.pid = session.pid
        self.since = session.since
        if isinstance(session.data, dict):
            self.data = session.data
        self._take_back(restored)

    def resume(self, client: Link[Conn], handshake: Handshake, restored: Restored) -> None:
        """A kept connection's client is back on ``client``: the blocking handler goes on."""
        self._hold_sends()  # before it is back: a handler's thread must not pass the missed
        self._parked = self._away = False
        self.client, self.environ, self.handshake = client, client.environ, handshake
        self._wire()
        self._take_back(restored)

    def hold(self) -> None:
        """Its client is back (call with :attr:`guard` held, as the missed packets are read):
        what the handler sends from now on waits behind them."""
        self._hold_sends()
        self._away = False

    def _hold_sends(self) -> None:
        self.send_parts = self._hold
        if self._pending is None:
            self._pending = []

    def _take_back(self, restored: Restored) -> None:
        self.recovered = True
        self._missed = restored.missed
        self.connected = True
        self._hold_sends()
        self.namespace.adapter.add_all(self.id, restored.session.rooms)

    def _hold(self, parts: Sequence[Data], volatile: bool = False) -> bool:
        """Deliver a broadcast to a connection being restored: after what it missed."""
        if volatile:
            return False
        with self.guard:
            if self._pending is not None:
                self._pending.append(list(parts))
                return True
        return self.connected and self.client.send_parts(parts, False)  # (accepted meanwhile)

    def refuse(self, error: ConnectionRefused) -> None:
        data: dict[str, Any] = {"message": error.message}
        if error.data is not None:
            data["data"] = error.data
        self._pending = None
        self.client.send_packet(Packet(PacketType.CONNECT_ERROR, self.namespace.name, data))
        self.close("server namespace disconnect", quiet=True)

    def close(self, reason: str, quiet: bool = False) -> None:
        """End the connection (once): receive() raises, waiting calls fail."""
        if self.closed_reason is not None:
            return
        self.closed_reason = reason
        was_connected = self.connected  # (a parked one was told as its client left)
        self.connected = False
        if self._parked:  # for good: its client will not find it again
            self._parked = self._away = False
            self.namespace.unpark(self)
        self._inbox.put(_CLOSED)
        acks, self._acks = self._acks, {}
        settle_closed(acks)  # (the observers are told, if they watch)
        for _, on_close in acks.values():
            if on_close is not None:
                on_close()  # a waiting call() raises ConnectionClosed
        self.client.forget(self)
        if was_connected and self.hooks:
            self.hooks.disconnected(self, reason)
        if not quiet:
            log.debug("%s: %s disconnected (%s)", self.id, self.namespace.name, reason)
