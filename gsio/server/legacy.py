"""Socket.IO protocol v4, what socket.io-client 2.x speaks over Engine.IO v3 (a server made
with ``allow_eio3=True``): :class:`LegacyClient` and :class:`LegacyConn`.

As Node's socket.io 4 serves such a client, and with the same handlers, events and acks as a
v5 client (:attr:`~gsio.server.conn.Conn.protocol` tells them apart):

- the default namespace ``/`` is connected at once, without a CONNECT from the client, with
  auth ``{}`` (its middleware and connect handler run as for any other connection);
- a CONNECT to another namespace carries its query string (``40/admin?token=x,``), which is
  the connection's ``handshake.auth`` (:func:`gsio.protocol.socketio_v4.legacy_decoder`);
- the server's CONNECT has no data, and a refusal is an ERROR packet whose data is the
  refusal's ``data``, or its message (:func:`gsio.protocol.socketio_v4.refusal_data`);
- the socket id is the Engine.IO session id on ``/`` and ``<namespace>#<sid>`` elsewhere, as
  Node does for these clients;
- connection state recovery does not apply: no ``pid``, no offsets.
"""

from __future__ import annotations

from typing import Any

from gsio.exceptions import ConnectionRefused
from gsio.protocol.socketio import Packet, PacketType
from gsio.protocol.socketio_v4 import legacy_decoder, refusal_data
from gsio.server.client import Client, ClientServer
from gsio.server.conn import Conn, ConnNamespace
from gsio.server.interfaces import Link, Transport
from gsio.server.namespace import Namespace

__all__ = ["LegacyClient", "LegacyConn"]

_CONNECT = PacketType.CONNECT


class LegacyConn(Conn):
    """A socket.io-client 2.x connection to a namespace (see the module's docstring)."""

    protocol = 4

    def __init__(self, namespace: ConnNamespace, client: Link[Conn], auth: dict, sid: str) -> None:
        super().__init__(namespace, client, auth)
        name = namespace.name
        self.id = sid if name == "/" else f"{name}#{sid}"

    def refuse(self, error: ConnectionRefused) -> None:
        self._pending = None
        data = refusal_data(error.message, error.data)
        self.client.send_packet(Packet(PacketType.CONNECT_ERROR, self.namespace.name, data))
        self.close("server namespace disconnect", quiet=True)


class LegacyClient(Client):
    """A socket.io-client 2.x client: its decoder reads a CONNECT's query, and it joins ``/``
    as soon as its session opens."""

    __slots__ = ()

    def __init__(self, server: ClientServer, transport: Transport) -> None:
        super().__init__(server, transport)
        self.decoder = legacy_decoder(
            server.codec,
            max_attachments=server.max_attachments,
            max_namespace_length=server.max_namespace_length,
        )
        self._connect(Packet(_CONNECT, "/", None))

    def _new_conn(self, namespace: Namespace, auth: dict[str, Any]) -> Conn:
        return LegacyConn(namespace, self, auth, self.transport.sid)
