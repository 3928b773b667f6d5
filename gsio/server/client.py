"""One Engine.IO connection seen from Socket.IO: packet decoding and routing to namespaces.

A :class:`Client` lives as long as its Engine.IO session. It decodes what arrives (binary
attachments included), checks that each packet is legal in the connection's state, and routes
it: CONNECT starts a :class:`~gsio.server.conn.Conn`, events go to that connection's inbox, acks to
whatever waits for them. Anything illegal closes the whole connection, as Node's server does.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gsio.exceptions import ProtocolError
from gsio.protocol.socketio import Packet, PacketType
from gsio.server.conn import Conn, Message

if TYPE_CHECKING:
    from gsio.engine import EngineSocket
    from gsio.server import Server

__all__ = ["Client"]

log = logging.getLogger("gsio.socket")

_EVENTS = (PacketType.EVENT, PacketType.BINARY_EVENT)
_ACKS = (PacketType.ACK, PacketType.BINARY_ACK)


class Client:
    __slots__ = ("server", "esock", "environ", "decoder", "conns", "_connect_timer")

    def __init__(self, server: Server, esock: EngineSocket) -> None:
        self.server = server
        self.esock = esock
        self.environ = esock.environ
        self.decoder = server.codec.decoder(
            max_attachments=server.max_attachments,
            max_namespace_length=server.max_namespace_length,
        )
        self.conns: dict[str, Conn] = {}
        c = server.concurrency
        self._connect_timer = c.call_later(
            server.connect_timeout, lambda: c.spawn(self._connect_timed_out)
        )

    # -- outbound -------------------------------------------------------------------------

    def encode(self, packet: Packet) -> list:
        return self.server.encode(packet)

    def send_packet(self, packet: Packet) -> bool:
        return self.send_parts(self.server.encode(packet))

    def send(self, t: PacketType, namespace: str, data: Any = None, id: int | None = None) -> bool:
        """``send_packet(Packet(t, namespace, data, id))``, without making the packet."""
        return self.esock.send_parts(self.server.codec.encode_fields(t, namespace, data, id))

    def send_parts(self, parts: list, volatile: bool = False) -> bool:
        """Send an encoded packet (text, then its attachments). A broadcast hands the same
        ``parts`` to every recipient, unchanged: on WebSocket it is framed once for all.
        ``volatile``: not sent to a client with a backlog or in the middle of an upgrade."""
        return self.esock.send_parts(parts, volatile)

    def close(self, reason: str = "forced server close") -> None:
        """Close the Engine.IO connection (every namespace of it)."""
        self.esock.close(reason)

    # -- inbound --------------------------------------------------------------------------

    def on_message(self, data: Any) -> None:
        if type(data) is str:  # an event on the main namespace, made short
            fields = self.decoder.feed_event(data)
            conn = self.conns.get("/") if fields is not None else None
            if conn is not None:
                args = fields[0]  # type: ignore[index]
                conn.deliver(Message(conn, args[0], args[1:], fields[1]))  # type: ignore[index]
                return
        try:
            packet = self.decoder.feed(data)
        except ProtocolError as exc:
            log.info("%s: %s; closing the connection", self.esock.sid, exc.message)
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
            data = packet.data
            conn.deliver(Message(conn, data[0], data[1:], packet.id))
            return
        elif ptype in _ACKS:
            conn.on_ack(packet.id, packet.data)
            return
        elif ptype is PacketType.DISCONNECT:
            conn.close("client namespace disconnect")
            return
        # A CONNECT for a namespace joined already, anything else for one not joined, a
        # CONNECT_ERROR from the client: the reference closes the connection.
        log.info(
            "%s: %s for namespace %r in the wrong state; closing the connection",
            self.esock.sid,
            ptype.name,
            packet.namespace,
        )
        self.close("forced server close")

    def _connect(self, packet: Packet) -> None:
        auth = packet.data if isinstance(packet.data, dict) else {}
        namespace = self.server.namespace_for(packet.namespace, auth)
        if namespace is None:
            error = {"message": "Invalid namespace"}
            self.send_packet(Packet(PacketType.CONNECT_ERROR, packet.namespace, error))
            return
        conn = Conn(namespace, self, auth)
        self.conns[namespace.name] = conn
        namespace.conns[conn.id] = conn
        self.server.concurrency.spawn(namespace.run, conn)

    def accepted(self) -> None:
        """A namespace connection was accepted: the connect timeout is over. (A refused one
        does not count: as in Node, a client that joins nothing is closed in time.)"""
        self._connect_timer.cancel()

    def _connect_timed_out(self) -> None:
        if not self.conns and not self.esock.closed:
            log.info("%s: joined no namespace in time; closing", self.esock.sid)
            self.close("forced close")

    def forget(self, conn: Conn) -> None:
        if self.conns.get(conn.namespace.name) is conn:
            del self.conns[conn.namespace.name]

    def on_close(self, reason: str) -> None:
        """The Engine.IO session ended: so does every namespace connection on it."""
        self._connect_timer.cancel()
        for conn in list(self.conns.values()):
            conn.close(reason)
