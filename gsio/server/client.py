"""One Socket.IO connection over its transport: packet decoding and routing to namespaces.

A :class:`Client` decodes what arrives (binary attachments included), checks that each packet
is legal in the connection's state, and routes it: CONNECT starts a
:class:`~gsio.server.conn.Conn`, events go to that connection's inbox, acks to whatever waits
for them. Anything illegal closes the whole connection, as Node's server does.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Protocol

from gsio.exceptions import ProtocolError
from gsio.io.concurrency import Timer
from gsio.protocol.socketio import Packet, PacketCodec, PacketType
from gsio.server.adapter import Adapter
from gsio.server.conn import Conn, Message
from gsio.server.interfaces import Data, ServerCore, Transport
from gsio.server.namespace import Namespace

__all__ = ["Client", "ClientServer"]

log = logging.getLogger("gsio.socket")

_EVENTS = (PacketType.EVENT, PacketType.BINARY_EVENT)
_ACKS = (PacketType.ACK, PacketType.BINARY_ACK)
_NO_TIMER = Timer(lambda: None)  # a connect timeout that is over


class ClientServer(ServerCore, Protocol):
    """What a client uses of its :class:`~gsio.server.Server`."""

    @property
    def codec(self) -> PacketCodec: ...

    @property
    def connect_timeout(self) -> float: ...

    @property
    def max_attachments(self) -> int: ...

    @property
    def max_namespace_length(self) -> int: ...

    def namespace_for(self, name: str, auth: dict) -> Namespace | None:
        """The namespace a CONNECT for ``name`` joins, or None if there is none."""
        ...


class Client:
    """One client's Socket.IO connection: the namespaces it joined (:attr:`conns`, one
    :class:`~gsio.server.conn.Conn` each) over the :attr:`transport` that carries them.

    The client reaches its transport only through :class:`~gsio.server.interfaces.Transport`
    (``sid``, ``environ``, ``closed``, ``send_parts``, ``close``), and its connections reach the
    transport only through the client (``send``, ``send_packet``, ``send_parts``, ``close``).
    A client lives as long as its Engine.IO session: the server makes it in ``on_open``, and
    :meth:`on_close` tells each connection its transport is lost. With connection state
    recovery, a connection keeps its session then, and a blocking handler's connection waits:
    the client that comes back (a new Client, on a new session) adopts it (:meth:`adopt`).
    """

    __slots__ = ("server", "transport", "environ", "decoder", "conns", "_connect_timer", "size_in")

    def __init__(self, server: ClientServer, transport: Transport) -> None:
        self.server = server
        self.transport = transport
        self.environ = transport.environ
        self.decoder = server.codec.decoder(
            max_attachments=server.max_attachments,
            max_namespace_length=server.max_namespace_length,
        )
        self.conns: dict[str, Conn] = {}
        #: Bytes received toward the next event (counted only while the server is observed).
        self.size_in = 0
        c = server.concurrency
        self._connect_timer = c.call_later(
            server.connect_timeout, lambda: c.spawn(self._connect_timed_out)
        )

    # -- outbound -------------------------------------------------------------------------

    def encode(self, packet: Packet) -> list[Data]:
        return self.server.encode(packet)

    def send_packet(self, packet: Packet) -> bool:
        return self.send_parts(self.server.encode(packet))

    def send(self, t: PacketType, namespace: str, data: Any = None, id: int | None = None) -> bool:
        """``send_packet(Packet(t, namespace, data, id))``, without making the packet."""
        return self.transport.send_parts(self.server.codec.encode_fields(t, namespace, data, id))

    def take_size_in(self) -> int:
        size, self.size_in = self.size_in, 0
        return size

    def send_parts(self, parts: Sequence[Data], volatile: bool = False) -> bool:
        """Send an encoded packet (text, then its attachments). A broadcast hands the same
        ``parts`` to every recipient, unchanged: on WebSocket it is framed once for all.
        ``volatile``: not sent to a client with a backlog or in the middle of an upgrade."""
        return self.transport.send_parts(parts, volatile)

    def close(self, reason: str = "forced server close") -> None:
        """Close the Engine.IO connection (every namespace of it)."""
        self.transport.close(reason)

    # -- inbound --------------------------------------------------------------------------

    def on_message(self, data: Data) -> None:
        if type(data) is str:  # an event on the main namespace, made short
            fields = self.decoder.feed_event(data)
            if fields is not None:
                conn = self.conns.get("/")
                if conn is not None:
                    args, ack_id = fields
                    conn.deliver(Message(conn, args[0], args[1:], ack_id))
                    return
        try:
            packet = self.decoder.feed(data)
        except ProtocolError as exc:
            log.info("%s: %s; closing the connection", self.transport.sid, exc.message)
            self.close("parse error")
            return
        if packet is None:
            return  # waiting for attachments
        ptype = packet.type
        conn = self.conns.get(packet.namespace)
        if conn is None:
            if ptype is PacketType.CONNECT:
                self._connect(packet)
                return
        elif ptype in _EVENTS:
            event = packet.data
            conn.deliver(Message(conn, event[0], event[1:], packet.id))
            return
        elif ptype in _ACKS and packet.id is not None:  # (the decoder checked it has one)
            conn.on_ack(packet.id, packet.data)
            return
        elif ptype is PacketType.DISCONNECT:
            conn.close("client namespace disconnect")
            return
        # A CONNECT for a namespace joined already, anything else for one not joined, a
        # CONNECT_ERROR from the client: the reference closes the connection.
        log.info(
            "%s: %s for namespace %r in the wrong state; closing the connection",
            self.transport.sid,
            ptype.name,
            packet.namespace,
        )
        self.close("forced server close")

    def _connect(self, packet: Packet) -> None:
        auth = packet.data if isinstance(packet.data, dict) else {}
        namespace = self.server.namespace_for(packet.namespace, auth)
        if namespace is None:
            error = {"message": "Invalid namespace"}
            log.debug("%s: %s refused (Invalid namespace)", self.transport.sid, packet.namespace)
            self.send_packet(Packet(PacketType.CONNECT_ERROR, packet.namespace, error))
            return
        conn = self._new_conn(namespace, auth)
        self.conns[namespace.name] = conn
        if _connects_at_once(namespace):
            namespace.run(conn)
        else:
            self.server.concurrency.spawn(namespace.run, conn)

    def _new_conn(self, namespace: Namespace, auth: dict[str, Any]) -> Conn:
        return Conn(namespace, self, auth)

    def adopt(self, conn: Conn) -> None:
        self.conns[conn.namespace.name] = conn

    def accepted(self) -> None:
        """A namespace connection was accepted: the connect timeout is over. (A refused one
        does not count: as in Node, a client that joins nothing is closed in time.)"""
        self._connect_timer.cancel()
        self._connect_timer = _NO_TIMER  # (its watcher need not live as long as the client)

    def _connect_timed_out(self) -> None:
        if not self.conns and not self.transport.closed:
            log.info("%s: joined no namespace in time; closing", self.transport.sid)
            self.close("forced close")

    def forget(self, conn: Conn) -> None:
        if self.conns.get(conn.namespace.name) is conn:
            del self.conns[conn.namespace.name]

    def on_close(self, reason: str) -> None:
        """The Engine.IO session ended: so does every namespace connection on it (or, with
        connection state recovery, its session is kept for the client to come back)."""
        self._connect_timer.cancel()
        for conn in list(self.conns.values()):
            conn.lost(reason)


def _connects_at_once(namespace: Namespace) -> bool:
    """True when nothing in connecting a client to ``namespace`` can block or yield: no
    middleware, no ``connect`` handler, no ``context``, event handlers run by the shared runners
    (gevent), no connection state recovery, the in-memory adapter's join. Then its
    :meth:`~Namespace.run` is called where the CONNECT arrived (the event loop, it may be),
    instead of in a greenlet spawned for it."""
    server = namespace.server
    return (
        not namespace.middlewares
        and "connect" not in namespace.handlers
        and namespace.blocking is None
        and server.context is None
        and server.recovery is None
        and server.concurrency.name == "gevent"
        and type(namespace.adapter).add_all is Adapter.add_all
    )
