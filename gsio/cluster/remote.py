"""A connection held by another server of the cluster, as ``fetch_sockets()`` returns it."""

from __future__ import annotations

from typing import Any

from gsio.server.handshake import Handshake
from gsio.server.namespace import Namespace
from gsio.server.recipients import RoomArg

__all__ = ["RemoteConn"]


class RemoteConn:
    """A socket connected to another server: what Node calls a ``RemoteSocket``.

    It has the attributes of a :class:`~gsio.Conn` that travel (``id``, ``handshake``,
    ``rooms``, ``data``, as they were when fetched) and the operations that work from afar:
    :meth:`emit`, :meth:`join`, :meth:`leave` and :meth:`disconnect`, each sent through the
    cluster to the server that holds the socket.
    """

    __slots__ = ("namespace", "id", "handshake", "rooms", "data")

    def __init__(
        self,
        namespace: Namespace,
        id: str,
        handshake: Handshake,
        rooms: set[str],
        data: Any,
    ) -> None:
        self.namespace = namespace
        self.id = id
        self.handshake = handshake
        self.rooms = rooms
        self.data = data

    def __repr__(self) -> str:
        return f"RemoteConn({self.namespace.name!r}, {self.id!r})"

    def emit(self, event: str, *args: Any) -> None:
        """Emit to this socket (no ack: the answer could not come back)."""
        self.namespace.to(self.id).emit(event, *args)

    def join(self, *rooms: RoomArg) -> None:
        self.namespace.in_(self.id).sockets_join(*rooms)

    def leave(self, *rooms: RoomArg) -> None:
        self.namespace.in_(self.id).sockets_leave(*rooms)

    def disconnect(self, close: bool = False) -> None:
        self.namespace.in_(self.id).disconnect_sockets(close)
