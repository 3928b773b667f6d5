"""Watching a running server: :class:`Observer` and ``sio.observe(observer)``.

An observer is any object with some of :class:`Observer`'s methods (subclass it, or not): the
server calls those it has, as things happen, for every namespace. It is what the Admin UI and
the metrics are built on, and what your own dashboards can use::

    class Counter(gsio.Observer):
        def __init__(self):
            self.bytes_in = 0

        def event_received(self, conn, event, args, size):
            self.bytes_in += size

    watching = sio.observe(Counter())
    ...
    watching.remove()

Observing costs nothing while no one observes: the server, its connections and adapters take
their plain per-message paths, and are switched to the observed ones when the first observer
comes (and back when the last goes). An observer's method is called from wherever the thing
happens, the event loop included (a message read by gsio's own WebSocket layer): it must not
block; hand long work to a greenlet. One that raises is logged once (per method) and ignored:
the connection goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Callable, Protocol

from gsio.engine import EngineSocket
from gsio.protocol.socketio import Packet, PacketType
from gsio.server.client import Client, ClientServer
from gsio.server.conn import Conn
from gsio.server.interfaces import Data, Link, Socket
from gsio.server.listeners import size_of
from gsio.server.namespace import Namespace

__all__ = ["Observation", "Observer", "Observers"]

log = logging.getLogger("gsio.observers")

_EVENTS = (PacketType.EVENT, PacketType.BINARY_EVENT)


class Observer:
    """What the server tells its observers; every method is optional (these do nothing).

    ``conn`` is a :class:`~gsio.Conn` (``conn.namespace.name``, ``conn.client.transport``:
    the Engine.IO session, whose ``transport`` is "polling" or "websocket"); ``socket`` an
    :class:`~gsio.EngineSocket`. Sizes are bytes of Socket.IO packets: their text in UTF-8
    and their binary attachments.
    """

    # -- Engine.IO sessions (Node: io.engine's "connection", "upgrade", "close") ------------

    def engine_opened(self, socket: EngineSocket) -> None:
        """A session opened (``socket.transport``: the transport it began on)."""

    def engine_upgraded(self, socket: EngineSocket) -> None:
        """A polling session upgraded to WebSocket."""

    def engine_closed(self, socket: EngineSocket, reason: str) -> None:
        """A session ended, with the reason its connections are disconnected with."""

    def connection_error(self, environ: dict[str, Any], code: int, message: str) -> None:
        """A request was refused (a handshake, or a request for a session), with the
        Engine.IO error code and message it was answered with (Node's ``connection_error``)."""

    # -- Socket.IO connections ----------------------------------------------------------

    def connected(self, conn: Conn) -> None:
        """A connection to a namespace was accepted (its client got CONNECT)."""

    def disconnected(self, conn: Conn, reason: str) -> None:
        """A connection to a namespace ended ("client namespace disconnect", "transport
        close", "ping timeout", ...)."""

    def joined(self, namespace: str, room: str, sid: str) -> None:
        """Socket ``sid`` joined ``room`` (its own room too, as it connects): Node's adapter
        "join-room"."""

    def left(self, namespace: str, room: str, sid: str) -> None:
        """Socket ``sid`` left ``room`` (every room, as it disconnects): "leave-room"."""

    # -- events and acks ----------------------------------------------------------------

    def event_received(self, conn: Conn, event: str, args: list[Any], size: int) -> None:
        """An event arrived from the client, before it is handled (``size``: its packet's,
        attachments included)."""

    def event_sent(self, conn: Conn, event: str, args: list[Any], size: int) -> None:
        """An event was sent to the client: an emit of its own, or a broadcast that reached
        it (told once per recipient: a broadcast to many costs a call each; for totals,
        :meth:`events_sent` is cheaper)."""

    def events_sent(
        self, namespace: str, event: str, args: list[Any], count: int, size: int
    ) -> None:
        """``count`` copies of an event went out, ``size`` bytes each: an emit of one
        connection's own (``count`` 1), or a broadcast (``count``: the connections of this
        server it reached; on a cluster, each server tells its own). Told once per emit, where
        :meth:`event_sent` is told per recipient: what counters and dashboards want."""

    def ack_pending(self, conn: Conn, ack_id: int) -> None:
        """An ack is expected from the client (an emit with a callback, a call, a broadcast
        with acks)."""

    def ack_done(self, conn: Conn, ack_id: int, outcome: str) -> None:
        """An expected ack is settled: ``outcome`` "answered", "timed out" or "closed"."""


#: The methods an observer may have.
HOOKS = tuple(name for name in vars(Observer) if not name.startswith("_"))


class Observation:
    """One observer watching a server: :meth:`remove` it (or use it as a context manager)."""

    __slots__ = ("observers", "observer")

    def __init__(self, observers: Observers, observer: object) -> None:
        self.observers = observers
        self.observer = observer

    def remove(self) -> None:
        """Stop telling the observer anything (idempotent)."""
        self.observers.remove(self.observer)

    def __enter__(self) -> Observation:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()


class _ObserverServer(ClientServer, Protocol):
    """What the observers use of the :class:`~gsio.server.Server` (beyond what clients do)."""

    @property
    def namespaces(self) -> dict[str, Namespace]: ...

    def on_open(self, socket: EngineSocket) -> None: ...

    def on_message(self, socket: EngineSocket, data: Any) -> None: ...

    def on_close(self, socket: EngineSocket, reason: str) -> None: ...

    def on_upgrade(self, socket: EngineSocket) -> None: ...

    def on_connection_error(self, environ: dict[str, Any], code: int, message: str) -> None: ...


class Observers:
    """The observers of one server (``sio.observers``): false when there are none. Each
    ``Observer`` method called on it tells every observer that has that method."""

    def __init__(self, server: _ObserverServer) -> None:
        self.server = server
        self.observers: list[object] = []
        self._fns: dict[str, list[Callable[..., Any]]] = {name: [] for name in HOOKS}
        self._failed: set[tuple[int, str]] = set()
        self._last: tuple[Any, list[Any] | None] = (None, None)  # the last EVENT encoded
        self._prev: tuple[Any, list[Any] | None] = (None, None)
        # What packet_of() told last: a broadcast asks once per recipient, with the same parts.
        self._told: tuple[Any, list[Any] | None, int] = (None, None, 0)
        self._received: list[Callable[..., Any]] = []
        self._sent: list[Callable[..., Any]] = []
        self._totals: list[Callable[..., Any]] = []

    def __bool__(self) -> bool:
        return bool(self.observers)

    def __len__(self) -> int:
        return len(self.observers)

    # -- adding and removing -------------------------------------------------------------------

    def add(self, observer: object) -> Observation:
        """Start telling ``observer`` (see :meth:`gsio.Server.observe`)."""
        if not any(callable(getattr(observer, name, None)) for name in HOOKS):
            raise TypeError(f"{observer!r} has none of the methods of gsio.Observer")
        was = bool(self.observers)
        self.observers = [*self.observers, observer]
        self._collect()
        self._switch(True, server=not was)
        return Observation(self, observer)

    def remove(self, observer: object) -> None:
        if not any(o is observer for o in self.observers):
            return
        self.observers = [o for o in self.observers if o is not observer]
        self._collect()
        self._switch(bool(self.observers), server=not self.observers)

    def _collect(self) -> None:
        fns: dict[str, list[Callable[..., Any]]] = {}
        for name in HOOKS:
            default = getattr(Observer, name)
            fns[name] = [
                getattr(o, name)
                for o in self.observers
                if callable(getattr(o, name, None)) and getattr(type(o), name, None) is not default
            ]
        self._fns = fns
        self._received = fns["event_received"]
        self._sent = fns["event_sent"]
        self._totals = fns["events_sent"]

    @property
    def each_delivery(self) -> bool:
        """Whether an observer wants each recipient of a broadcast told (has ``event_sent``):
        only then do connections take the watched path for broadcasts."""
        return bool(self._sent)

    def _switch(self, on: bool, server: bool = True) -> None:
        """Give every live connection the paths for who observes now, and (``server``) the
        server its observed paths (or the plain)."""
        for namespace in list(self.server.namespaces.values()):
            for conn in list(namespace.conns.values()):
                conn._wire()
        if server:
            self._switch_server(on)

    def _switch_server(self, on: bool) -> None:
        server = self.server
        steps = {
            "on_open": self._on_open,
            "on_message": self._on_message,
            "on_close": self._on_close,
            "on_upgrade": self._on_upgrade,
            "on_connection_error": self._on_connection_error,
            "encode": self._encode,
        }
        for name, step in steps.items():
            if on:
                setattr(server, name, step)
            else:  # (not through server.__dict__: reading it slows every attribute down)
                delattr(server, name)

    # -- telling ------------------------------------------------------------------------------

    def _tell(self, name: str, *args: Any) -> None:
        for fn in self._fns[name]:
            try:
                fn(*args)
            except Exception:
                self._failed_once(fn, name)

    def _failed_once(self, fn: Callable[..., Any], name: str) -> None:
        key = (id(getattr(fn, "__self__", fn)), name)
        if key not in self._failed:
            self._failed.add(key)
            log.exception("observer %r failed in %s (logged once)", fn, name)

    def joined(self, namespace: str, room: str, sid: str) -> None:
        self._tell("joined", namespace, room, sid)

    def left(self, namespace: str, room: str, sid: str) -> None:
        self._tell("left", namespace, room, sid)

    def connected(self, conn: Socket) -> None:
        self._tell("connected", conn)

    def disconnected(self, conn: Socket, reason: str) -> None:
        self._tell("disconnected", conn, reason)

    def event_received(self, conn: Socket, event: str, args: list[Any], size: int) -> None:
        for fn in self._received:  # (per message: _tell() inlined)
            try:
                fn(conn, event, args, size)
            except Exception:
                self._failed_once(fn, "event_received")

    def event_sent(self, conn: Socket, event: str, args: list[Any], size: int) -> None:
        if self._sent:  # (else no list to build, no call: a counter wants the totals only)
            self.delivered(conn, [event, *args], size)
        for fn in self._totals:
            try:
                fn(conn.namespace.name, event, args, 1, size)  # type: ignore[attr-defined]
            except Exception:
                self._failed_once(fn, "events_sent")

    def delivered(self, conn: Socket, data: list[Any], size: int) -> None:
        for fn in self._sent:
            try:
                fn(conn, data[0], data[1:], size)
            except Exception:
                self._failed_once(fn, "event_sent")

    def broadcast_sent(
        self, namespace: str, data: list[Any], parts: Sequence[Data], count: int
    ) -> None:
        if not self._totals:
            return
        size = size_of(parts)
        for fn in self._totals:
            try:
                fn(namespace, data[0], data[1:], count, size)
            except Exception:
                self._failed_once(fn, "events_sent")

    def ack_pending(self, conn: Socket, ack_id: int) -> None:
        self._tell("ack_pending", conn, ack_id)

    def ack_done(self, conn: Socket, ack_id: int, outcome: str) -> None:
        self._tell("ack_done", conn, ack_id, outcome)

    # -- the server's observed steps -------------------------------------------------------------

    def _on_open(self, socket: EngineSocket) -> None:
        type(self.server).on_open(self.server, socket)
        self._tell("engine_opened", socket)

    def _on_message(self, socket: EngineSocket, data: Any) -> None:
        client: Client = socket.data
        if type(data) is str and not data.isascii():
            client.size_in += len(data.encode())
        else:
            client.size_in += len(data)
        client.on_message(data)
        if not client.decoder.pending:
            client.size_in = 0  # (an event took it; an ack or a CONNECT is not counted)

    def _on_close(self, socket: EngineSocket, reason: str) -> None:
        type(self.server).on_close(self.server, socket, reason)
        self._tell("engine_closed", socket, reason)

    def _on_upgrade(self, socket: EngineSocket) -> None:
        self._tell("engine_upgraded", socket)

    def _on_connection_error(self, environ: dict[str, Any], code: int, message: str) -> None:
        self._tell("connection_error", environ, code, message)

    def _encode(self, packet: Packet) -> list[Data]:
        parts = type(self.server).encode(self.server, packet)
        if packet.type in _EVENTS:
            # Kept for packet_of(): a broadcast's recipients are handed these very parts.
            self._prev, self._last = self._last, (parts, packet.data)
        return parts

    def size_of_sent(self, packet: Packet, link: Link[Any]) -> int:
        """The size of ``packet``, which was just sent: encoded last, unless another thread
        encoded something since (or the packet log gave it an offset): then anew."""
        parts, data = self._last
        if data is not packet.data:
            parts = link.encode(packet)
        return size_of(parts)

    def packet_of(self, parts: Sequence[Data]) -> tuple[list[Any] | None, int]:
        """The EVENT data of ``parts`` (encoded by this server), and their size."""
        told = self._told
        if told[0] is parts:  # (it holds them: the same object, not a new one in its place)
            return told[1], told[2]
        last, prev = self._last, self._prev
        if last[0] is parts:
            data = last[1]
        elif prev[0] is parts:
            data = prev[1]
        else:
            data = self._decode(parts)
        size = size_of(parts)
        self._told = (parts, data, size)
        return data, size

    def _decode(self, parts: Sequence[Data]) -> list[Any] | None:
        server = self.server
        decoder = server.codec.decoder(
            max_attachments=server.max_attachments,
            max_namespace_length=server.max_namespace_length,
        )
        try:
            for part in parts:
                packet = decoder.feed(part)
                if packet is not None:
                    return packet.data if packet.type in _EVENTS else None
        except Exception:  # not an event of this server's codec: not told
            log.debug("an outgoing packet could not be read back", exc_info=True)
        return None
