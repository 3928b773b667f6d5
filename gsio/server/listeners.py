"""What a connection tells those who watch it: its catch-all listeners (``conn.on_any``,
``conn.on_any_outgoing``, as Node's ``socket.onAny``/``onAnyOutgoing``) and the server's
observers (:mod:`gsio.server.observers`), and its emits with an ack timeout.

Nothing here costs a connection that no one watches: a watched connection gets other bound
methods for its per-message steps (:meth:`Listening._wire`), chosen when it starts and again
whenever a listener or an observer comes or goes, never by a test per message.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Callable, cast

from gsio.exceptions import AckTimeout, ConnectionClosed
from gsio.protocol.socketio_packet import Packet, PacketType
from gsio.server.files import event_data
from gsio.server.interfaces import Data, Hooks, Link, SendParts, ServerCore, Socket
from gsio.server.message import Message

__all__ = ["AnyListener", "Listening", "TimedEmitter", "size_of"]

log = logging.getLogger("gsio.socket")

#: ``fn(event, *args)``: a catch-all listener.
AnyListener = Callable[..., Any]

_EVENT = PacketType.EVENT


def size_of(parts: Sequence[Data]) -> int:
    """The bytes of an encoded packet: its text in UTF-8, then its attachments."""
    if len(parts) == 1:
        p = parts[0]
        if type(p) is str:
            return len(p) if p.isascii() else len(p.encode())
        return len(p)
    return sum(
        (len(p) if p.isascii() else len(p.encode())) if type(p) is str else len(p) for p in parts
    )


class _WatchedAcks(dict):
    """A watched connection's ack table: tells the observers of each ack expected and settled."""

    def __init__(self, conn: Socket, hooks: Hooks, acks: dict) -> None:
        super().__init__(acks)
        self.conn = conn
        self.hooks = hooks

    def __setitem__(self, ack_id: int, entry: Any) -> None:
        super().__setitem__(ack_id, entry)
        self.hooks.ack_pending(self.conn, ack_id)

    def pop(self, ack_id: int, default: Any = None, outcome: str = "answered") -> Any:
        entry = super().pop(ack_id, None)
        if entry is None:
            return default
        self.hooks.ack_done(self.conn, ack_id, outcome)
        return entry

    def closed(self) -> None:
        """The connection closed: every ack still expected is settled as "closed"."""
        for ack_id in list(self):
            self.hooks.ack_done(self.conn, ack_id, "closed")


def drop_ack(acks: dict, ack_id: int, outcome: str) -> Any:
    """Take an ack's entry out of ``acks`` for ``outcome`` ("timed out", "closed")."""
    if isinstance(acks, _WatchedAcks):
        return acks.pop(ack_id, None, outcome)
    return acks.pop(ack_id, None)


def settle_closed(acks: dict) -> None:
    """The connection closed with ``acks`` expected: tell the observers, if they watch."""
    if isinstance(acks, _WatchedAcks):
        acks.closed()


def _unbind(obj: object, name: str) -> None:
    """Drop a per-object binding of method ``name``, if ``obj`` has one."""
    if getattr(obj, name).__func__ is not getattr(type(obj), name):
        delattr(obj, name)


class Listening:
    """The listeners and observed paths of :class:`~gsio.server.conn.Conn` (a mixin)."""

    id: str
    client: Link[Any]
    server: ServerCore
    send_parts: SendParts
    _acks: dict
    _inbox: Any
    _any_in: list[AnyListener] | None = None
    _any_out: list[AnyListener] | None = None
    _failed: set[int] | None = None  # listeners that raised (logged once each)
    _watch: Hooks | None = None  # the observers, while there are any (bound in _wire)

    @property
    def hooks(self) -> Hooks:
        """The server's observers."""
        return self.server.observers

    # -- public API -----------------------------------------------------------------------

    def on_any(self, fn: AnyListener) -> AnyListener:
        """Call ``fn(event, *args)`` for every event from the client, before it is handled,
        whether or not it has a handler of its own, as Node's ``socket.onAny``; it runs in the
        connection's greenlet (thread), as ``receive()`` returns the event. Usable as a
        decorator."""
        self._any_in = [*(self._any_in or ()), fn]
        self._wire()
        return fn

    def off_any(self, fn: AnyListener | None = None) -> None:
        """Remove a listener added with :meth:`on_any` (every one, without ``fn``)."""
        self._any_in = [f for f in self._any_in or () if fn is not None and f != fn] or None
        self._wire()

    def on_any_outgoing(self, fn: AnyListener) -> AnyListener:
        """Call ``fn(event, *args)`` for every event sent to the client: its own emits and the
        broadcasts that reach it, as Node's ``socket.onAnyOutgoing``; it runs where the event
        is sent, before it leaves. Usable as a decorator."""
        self._any_out = [*(self._any_out or ()), fn]
        self._wire()
        return fn

    def off_any_outgoing(self, fn: AnyListener | None = None) -> None:
        """Remove a listener added with :meth:`on_any_outgoing` (every one, without ``fn``)."""
        self._any_out = [f for f in self._any_out or () if fn is not None and f != fn] or None
        self._wire()

    def timeout(self, seconds: float) -> TimedEmitter:
        """``conn.timeout(5).emit(event, *args, callback=fn)``: as Node's
        ``socket.timeout(ms).emit()``, ``fn(err, *args)`` gets ``err`` None and the ack's
        arguments, or an :class:`~gsio.AckTimeout` once ``seconds`` pass without an ack (the
        ack is forgotten then), or :class:`~gsio.ConnectionClosed` if the connection ends
        first; it is called once, in a greenlet of its own."""
        return TimedEmitter(self, seconds)

    # -- choosing the per-message paths ---------------------------------------------------------

    def _wire(self) -> None:
        """Bind the per-message steps for who watches now: the plain ones when no one does."""
        client = self.client
        observed = bool(self.hooks)
        self._watch = self.hooks if observed else None
        if getattr(self, "connected", False):
            self.send_parts = self._sender(client)
        # Per-object bindings that shadow the methods (never through self.__dict__: reading it
        # makes every attribute look-up of the object slower, on every message).
        if observed or self._any_out is not None:
            self._send = self._send_watched
        else:
            _unbind(self, "_send")
        if observed:
            self.deliver = self._deliver_watched
            if type(self._acks) is dict:
                self._acks = _WatchedAcks(self._conn, self.hooks, self._acks)
        else:
            # Straight into the inbox: a call less per message than Conn.deliver.
            self.deliver = self._inbox.put
            if type(self._acks) is not dict:
                self._acks = dict(self._acks)
        if self._any_in is not None:
            self.receive = self._receive_watched
        else:
            _unbind(self, "receive")

    def _sender(self, client: Link[Any]) -> SendParts:
        if self.hooks.each_delivery or self._any_out is not None:
            return self._send_parts_watched
        return client.send_parts

    @property
    def _conn(self) -> Socket:
        return cast(Socket, self)

    # -- the watched paths -------------------------------------------------------------------

    def _deliver_watched(self, message: Message[Any]) -> None:
        hooks = self._watch
        if hooks is not None:
            size = self.client.take_size_in()
            hooks.event_received(self, message.event, message.args, size)  # type: ignore[arg-type]
        self._inbox.put(message)  # (as Conn.deliver)

    def _receive_watched(self, timeout: float | None = None) -> Message[Any]:
        message: Message[Any] = cast(Any, type(self)).receive(self, timeout)
        for fn in self._any_in or ():
            self._tell(fn, message.event, message.args)
        return message

    def _send_watched(self, packet: Packet, compress: bool = True) -> bool:
        sent = cast(Any, type(self))._send(self, packet, compress)
        if sent and packet.type is _EVENT:
            watch = self._watch
            size = 0 if watch is None else watch.size_of_sent(packet, self.client)
            self._sent(packet.data, size)
        return sent

    def _send_parts_watched(self, parts: Sequence[Data], volatile: bool = False) -> bool:
        sent = self.client.send_parts(parts, volatile)
        if sent:
            data, size = self.server.observers.packet_of(parts)
            if data is not None:
                self._sent(data, size, True)
        return sent

    def _sent(self, data: list, size: int, broadcast: bool = False) -> None:
        hooks = self._watch
        if hooks is None:
            pass
        elif broadcast:  # (told in total by the adapter, each recipient here)
            hooks.delivered(self._conn, data, size)
        else:
            hooks.event_sent(self._conn, data[0], data[1:], size)
        if self._any_out is not None:
            for fn in self._any_out:
                self._tell(fn, data[0], data[1:])

    def _tell(self, fn: AnyListener, event: str, args: list) -> None:
        try:
            fn(event, *args)
        except Exception:
            failed = self._failed
            if failed is None:
                failed = self._failed = set()
            if id(fn) not in failed:
                failed.add(id(fn))
                log.exception("%s: listener %r failed (logged once)", self.id, fn)


class TimedEmitter:
    """``conn.timeout(seconds)``: emits whose acks are awaited ``seconds`` at most."""

    __slots__ = ("conn", "seconds")

    def __init__(self, conn: Any, seconds: float) -> None:
        self.conn = conn
        self.seconds = seconds

    def emit(self, event: str, *args: Any, callback: Callable[..., Any]) -> bool:
        """Emit with an ack: ``callback(err, *args)`` (see :meth:`Listening.timeout`)."""
        conn = self.conn
        data = event_data(event, args, conn.server)  # (may raise: before the ack is expected)
        c = conn.server.concurrency
        ack_id = conn.namespace.next_ack_id()
        done: list[bool] = []

        def finish(err: Exception | None, ack_args: Sequence[Any] = ()) -> None:
            if not done:
                done.append(True)
                timer.cancel()
                c.spawn(callback, err, *ack_args)

        def expired() -> None:
            if drop_ack(conn._acks, ack_id, "timed out") is not None:
                error = AckTimeout(f"operation has timed out ({event!r}, {self.seconds} s)")
                finish(error)

        def closed() -> None:
            finish(ConnectionClosed(conn.closed_reason or "transport close"))

        timer = c.call_later(self.seconds, lambda: c.spawn(expired))
        conn._acks[ack_id] = (lambda ack_args: finish(None, ack_args), closed)
        packet = Packet(_EVENT, conn.namespace.name, data, ack_id)
        if conn._send(packet):
            return True
        if drop_ack(conn._acks, ack_id, "closed") is not None:
            closed()
        return False
