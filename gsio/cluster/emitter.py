"""Emit to a cluster's clients from a process that is not a server: a worker, a script.

Compatible with Node's ``@socket.io/redis-emitter``: it publishes what a server of the cluster
would, so gsio and Node servers alike deliver it::

    emitter = gsio.Emitter("redis://127.0.0.1:6379/0")
    emitter.to("lobby").emit("news", {"title": "..."})
    emitter.of("/admin").in_("ops").sockets_join("alerts")
"""

from __future__ import annotations

from typing import Any

from gsio.cluster import messages as wire
from gsio.cluster.messages import Channels, RequestType
from gsio.protocol.socketio import RESERVED_EVENTS, Packet, PacketType
from gsio.server.recipients import Recipients, RoomArg, rooms_of

__all__ = ["Emitter"]

_UID = "emitter"  # what Node's emitter sends as its uid


class Emitter:
    """Publishes broadcasts and cluster operations to Redis, without being a server.

    :param url: a Redis URL, or a ``redis.Redis`` client.
    :param key: the prefix of the channel names, as the servers' adapters use (``"socket.io"``).
    :param namespace: the namespace to emit to (see also :meth:`of`).

    Each call publishes at once (a blocking call to Redis) and raises ``redis.RedisError`` if
    Redis cannot be reached.
    """

    def __init__(
        self,
        url: str | Any = "redis://127.0.0.1:6379/0",
        *,
        key: str = "socket.io",
        namespace: str = "/",
        rooms: frozenset[str] = frozenset(),
        except_rooms: frozenset[str] = frozenset(),
        flags: dict[str, Any] | None = None,
    ) -> None:
        if isinstance(url, str):
            import redis

            url = redis.Redis.from_url(url, socket_connect_timeout=2.0)
        if not namespace.startswith("/"):
            namespace = "/" + namespace
        self.client = url
        self.key = key
        self.namespace = namespace
        self._channels = Channels(key, namespace)
        #: Which sockets the emits reach (:class:`~gsio.server.recipients.Recipients`).
        self.recipients = Recipients(rooms, except_rooms, flags)

    def _with(self, recipients: Recipients, namespace: str | None = None) -> Emitter:
        emitter = Emitter(self.client, key=self.key, namespace=namespace or self.namespace)
        emitter.recipients = recipients
        return emitter

    def of(self, namespace: str) -> Emitter:
        """An emitter for another namespace."""
        return self._with(Recipients(), namespace)

    def to(self, *rooms: RoomArg) -> Emitter:
        """Only the sockets in these rooms (in any of them)."""
        return self._with(self.recipients.to(*rooms))

    in_ = to

    def except_(self, *rooms: RoomArg) -> Emitter:
        """Not the sockets in these rooms."""
        return self._with(self.recipients.except_(*rooms))

    @property
    def volatile(self) -> Emitter:
        return self._with(self.recipients.flagged(volatile=True))

    def emit(self, event: str, *args: Any) -> None:
        """Emit to the selected sockets of every server (no acks: nobody would get them)."""
        if not isinstance(event, str) or event in RESERVED_EVENTS:
            raise ValueError(f"{event!r} cannot be emitted")
        packet = Packet(PacketType.EVENT, self.namespace, [event, *args])
        r = self.recipients
        message = wire.encode_broadcast(_UID, packet, r.rooms, r.except_rooms, r.flags)
        self.client.publish(self._channels.for_rooms(r.rooms), message)

    def send(self, *args: Any) -> None:
        self.emit("message", *args)

    def _request(self, message: dict[str, Any]) -> None:
        r = self.recipients
        message["opts"] = {"rooms": list(r.rooms), "except": list(r.except_rooms)}
        self.client.publish(self._channels.request, wire.encode_request(message))

    def sockets_join(self, *rooms: RoomArg) -> None:
        """Make the selected sockets join these rooms."""
        self._request({"type": RequestType.REMOTE_JOIN, "rooms": list(rooms_of(rooms))})

    def sockets_leave(self, *rooms: RoomArg) -> None:
        """Make the selected sockets leave these rooms."""
        self._request({"type": RequestType.REMOTE_LEAVE, "rooms": list(rooms_of(rooms))})

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the selected sockets (with ``close``, their whole connection)."""
        self._request({"type": RequestType.REMOTE_DISCONNECT, "close": close})

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Emit to the servers' ``on_server_side`` handlers (no answers, as Node's emitter)."""
        if not isinstance(event, str) or event in RESERVED_EVENTS:
            raise ValueError(f"{event!r} cannot be emitted")
        message = {"uid": _UID, "type": RequestType.SERVER_SIDE_EMIT, "data": [event, *args]}
        self.client.publish(self._channels.request, wire.encode_request(message))
