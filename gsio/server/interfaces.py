"""The seams of the Socket.IO server: what each part needs of the others, as typing.Protocols.

The modules of :mod:`gsio.server` import each other in one direction only, lowest first:
``recipients``, ``recovery``, ``handshake``, ``interfaces`` → ``adapter`` → ``broadcast`` →
``message`` → ``listeners`` → ``conn`` → ``parked`` → ``namespace`` → ``client`` →
``observers`` → ``server``. Where a lower module needs
something of a higher one (the adapter delivers to connections, a connection sends through its
client), it names what it needs here or in its own module as a Protocol, and the higher class
fits it by its shape:

- :class:`Transport`: what a :class:`~gsio.server.client.Client` uses of the Engine.IO
  session under it (:class:`gsio.engine.EngineSocket` fits);
- :class:`Link`: what a connection uses of its client;
- :class:`ServerCore`: what every part uses of the :class:`~gsio.server.Server`;
- :class:`Socket`: a connection as ``fetch_sockets()`` returns it, here or on another server
  (:class:`~gsio.server.conn.Conn`, :class:`~gsio.cluster.remote.RemoteConn`);
- :class:`Member` and :class:`Host`: what the adapter uses of a connection and of its namespace;
- :class:`Hooks`: what connections and adapters tell the server's observers
  (:class:`gsio.server.observers.Observers`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Callable, Protocol, TypeVar, Union

from gsio.io.concurrency import Concurrency
from gsio.protocol.socketio import Packet, PacketType
from gsio.server.handshake import Handshake
from gsio.server.recipients import RoomArg
from gsio.server.recovery import RecoveryOptions

__all__ = [
    "Data",
    "Hooks",
    "Host",
    "Link",
    "Member",
    "SendParts",
    "ServerCore",
    "Socket",
    "Transport",
]

#: An Engine.IO message: text or binary.
Data = Union[str, bytes]

C = TypeVar("C")


class SendParts(Protocol):
    """``send_parts(parts, volatile=False) -> bool``: send an encoded Socket.IO packet (its
    text, then its attachments); False if the connection is closed (or, ``volatile``, if the
    client could not take it at once). A broadcast hands the same ``parts`` to every recipient."""

    def __call__(self, parts: Sequence[Data], volatile: bool = False) -> bool: ...


class Transport(Protocol):
    """What a Socket.IO client uses of the Engine.IO session that carries it.

    :class:`gsio.engine.EngineSocket` is one. Nothing else of the session is used above it,
    so that a Socket.IO client can be moved to another transport (connection state recovery).
    """

    @property
    def sid(self) -> str:
        """The Engine.IO session id (for the logs)."""
        ...

    @property
    def environ(self) -> dict[str, Any]:
        """The WSGI environ of the request that opened the session."""
        ...

    @property
    def closed(self) -> bool: ...

    def send_parts(self, parts: Sequence[Data], volatile: bool = False) -> bool: ...

    def close(self, reason: str = "forced close") -> None:
        """Close the session from the server side (the client gets a CLOSE packet)."""
        ...


class ServerCore(Protocol):
    """What connections, broadcasts and adapters use of their server."""

    @property
    def concurrency(self) -> Concurrency: ...

    @property
    def observers(self) -> Hooks:
        """Those watching the server (false when no one does)."""
        ...

    @property
    def recovery(self) -> RecoveryOptions | None:
        """Connection state recovery's options; None when it is off."""
        ...

    def encode(self, packet: Packet) -> list[Data]:
        """The packet encoded with the server's codec: text first, then attachments."""
        ...


class Hooks(Protocol):
    """What the parts of the server tell its observers (see :mod:`gsio.server.observers`).
    False when no one observes: the parts then take their plain paths."""

    def __bool__(self) -> bool: ...

    def joined(self, namespace: str, room: str, sid: str) -> None: ...

    def left(self, namespace: str, room: str, sid: str) -> None: ...

    def connected(self, conn: Socket) -> None: ...

    def disconnected(self, conn: Socket, reason: str) -> None: ...

    def event_received(self, conn: Socket, event: str, args: list[Any], size: int) -> None: ...

    def event_sent(self, conn: Socket, event: str, args: list[Any], size: int) -> None:
        """An emit of the connection's own was sent."""
        ...

    def delivered(self, conn: Socket, data: list[Any], size: int) -> None:
        """A broadcast reached ``conn`` (``data``: ``[event, *args]``)."""
        ...

    def broadcast_sent(
        self, namespace: str, data: list[Any], parts: Sequence[Data], count: int
    ) -> None:
        """A broadcast (``data``: ``[event, *args]``, encoded as ``parts``) reached ``count``
        local connections."""
        ...

    @property
    def each_delivery(self) -> bool:
        """Whether an observer wants each recipient of a broadcast told (``event_sent``)."""
        ...

    def ack_pending(self, conn: Socket, ack_id: int) -> None: ...

    def ack_done(self, conn: Socket, ack_id: int, outcome: str) -> None: ...

    def size_of_sent(self, packet: Packet, link: Link[Any]) -> int:
        """The size of ``packet`` as it was just sent through ``link``."""
        ...

    def packet_of(self, parts: Sequence[Data]) -> tuple[list[Any] | None, int]:
        """The EVENT data (``[event, *args]``) of encoded ``parts``, and their size in bytes."""
        ...


class Socket(Protocol):
    """A connection as ``fetch_sockets()`` returns it: on this server or on another one."""

    @property
    def id(self) -> str: ...

    @property
    def handshake(self) -> Handshake: ...

    @property
    def rooms(self) -> set[str]: ...

    @property
    def data(self) -> Any:
        """Your own per-connection state."""
        ...

    def emit(self, event: str, *args: Any) -> object: ...

    def join(self, *rooms: RoomArg) -> None: ...

    def leave(self, *rooms: RoomArg) -> None: ...

    def disconnect(self, close: bool = False) -> None: ...


class Member(Socket, Protocol):
    """What the adapter uses of a connection of this process."""

    @property
    def connected(self) -> bool: ...

    @property
    def protocol(self) -> int:
        """The Socket.IO protocol version of its client: 5, or 4 (socket.io-client 2.x)."""
        ...

    @property
    def send_parts(self) -> SendParts:
        """Delivers a broadcast: called once per recipient, so it is a plain attribute."""
        ...

    def expect_ack(self, ack_id: int, on_ack: Callable[[list[Any]], None]) -> None:
        """Route the ack with ``ack_id`` to ``on_ack(args)`` (a broadcast with acks)."""
        ...


class Host(Protocol):
    """What the adapter uses of its namespace."""

    @property
    def name(self) -> str: ...

    @property
    def conns(self) -> Mapping[str, Member]:
        """This process's connections to the namespace, by socket id."""
        ...

    @property
    def server(self) -> ServerCore: ...

    def next_ack_id(self) -> int: ...


class Link(Protocol[C]):
    """What a connection (``C``: :class:`~gsio.server.conn.Conn`) uses of the client it belongs
    to (:class:`~gsio.server.client.Client`): the one Socket.IO connection, over one transport,
    that carries every namespace it joined."""

    @property
    def environ(self) -> dict[str, Any]: ...

    @property
    def conns(self) -> Mapping[str, C]:
        """The client's connections, by namespace name."""
        ...

    def send(self, t: PacketType, namespace: str, data: Any = None, id: int | None = None) -> bool:
        """Send a packet made of these fields (the fast path of an ack)."""
        ...

    def send_packet(self, packet: Packet) -> bool: ...

    def take_size_in(self) -> int:
        """The bytes received since this was last asked (observers count them per event)."""
        ...

    def send_parts(self, parts: Sequence[Data], volatile: bool = False) -> bool: ...

    def encode(self, packet: Packet) -> list[Data]: ...

    def accepted(self) -> None:
        """A namespace connection was accepted (the client's connect timeout is over)."""
        ...

    def adopt(self, conn: C) -> None:
        """Route the namespace's packets to ``conn``, a connection that outlived its former
        client (a recovered connection of a blocking handler)."""
        ...

    def forget(self, conn: C) -> None:
        """The connection ended: the client no longer routes packets to it."""
        ...

    def close(self, reason: str = "forced server close") -> None:
        """Close the whole connection, every namespace of it."""
        ...
