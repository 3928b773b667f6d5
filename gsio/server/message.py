"""An event from the client, as a connection's :meth:`~gsio.server.conn.Conn.receive` returns
it, and its reply (the acknowledgement the client asked for)."""

from __future__ import annotations

from typing import Any, Generic, Protocol, TypeVar

from gsio.exceptions import GsioError
from gsio.protocol.socketio_packet import PacketType
from gsio.server.broadcast import Scope
from gsio.server.files import files_read
from gsio.server.interfaces import Link

__all__ = ["Message"]

_ACK = PacketType.ACK


class Replier(Protocol):
    """What a message uses of its connection (:class:`~gsio.server.conn.Conn` fits)."""

    @property
    def client(self) -> Link[Any]: ...

    @property
    def namespace(self) -> Scope: ...


R = TypeVar("R", bound=Replier)


class Message(Generic[R]):
    """An event from the client: ``event`` (its name), ``args`` (a list), and :meth:`reply`."""

    __slots__ = ("conn", "event", "args", "id", "_replied")

    def __init__(self, conn: R, event: str, args: list, ack_id: int | None) -> None:
        self.conn: R = conn  # the connection it came on (a Conn)
        self.event = event
        self.args = args
        self.id = ack_id
        self._replied = False

    @property
    def wants_reply(self) -> bool:
        """Whether the client asked for an acknowledgement."""
        return self.id is not None

    @property
    def replied(self) -> bool:
        return self._replied

    def reply(self, *args: Any) -> bool:
        """Acknowledge the event with ``args``. Returns False if the client asked for no ack;
        raises :class:`GsioError` on a second reply (an ack is sent exactly once)."""
        if self.id is None:
            return False
        if self._replied:
            raise GsioError(f"event {self.event!r} was replied to already")
        conn = self.conn
        data = list(files_read(args, conn.namespace.server))  # (may raise: not replied then)
        self._replied = True
        conn.client.send(_ACK, conn.namespace.name, data, self.id)
        return True

    def __repr__(self) -> str:
        return f"Message({self.event!r}, {self.args!r}, id={self.id!r})"
