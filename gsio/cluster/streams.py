"""The Redis Streams adapter: a cluster on one Redis, with connection state recovery across it.

Wire-compatible with Node's ``@socket.io/redis-streams-adapter`` 0.3 (see
:mod:`gsio.cluster.streams_wire`): gsio and Node servers share one stream, one set of channels
and one session store, so a client recovers on any server of the cluster. Broadcasts, joins,
leaves and disconnects go through the stream (XADD, read back by every server in order); a
broadcast with acks, ``fetch_sockets`` and server-side emits through pub/sub.

With ``connection_state_recovery`` on, a recoverable packet (a broadcast or direct emit without
ack, not volatile) is written to the stream before it is sent here, and its entry id is its
offset; a session is kept in Redis (``SET sio:session:<pid> PX``); a reconnecting client is
restored from the entries after its offset, on whichever server it reaches.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from typing import Any, Callable

import msgpack

from gsio.cluster import messages as wire
from gsio.cluster.enginebus import forward_sessions
from gsio.cluster.link import RedisLink
from gsio.cluster.messages import RequestType
from gsio.cluster.redis import redis_client
from gsio.cluster.requests import Answers, Pending, describe
from gsio.cluster.stream_reader import StreamReader
from gsio.cluster.stream_recovery import StreamRecovery
from gsio.cluster.streams_wire import (
    Message,
    MessageType,
    broadcast_data,
    decode_pubsub,
    encode_pubsub,
    opts_data,
)
from gsio.exceptions import ProtocolError
from gsio.protocol.socketio import Packet, PacketType
from gsio.server.adapter import Adapter
from gsio.server.interfaces import Socket
from gsio.server.namespace import Namespace
from gsio.server.recipients import Recipients

__all__ = ["RedisStreamsAdapter", "create_redis_streams_adapter"]

log = logging.getLogger("gsio.redis")


def _uid() -> str:
    return secrets.token_hex(8)


def create_redis_streams_adapter(
    url: str | Any = "redis://127.0.0.1:6379/0",
    *,
    stream_name: str = "socket.io",
    channel_prefix: str = "socket.io",
    max_len: int = 10_000,
    read_count: int = 100,
    session_key_prefix: str = "sio:session:",
    requests_timeout: float = 5.0,
    max_pending: int = 10_000,
    forward_requests: bool = True,
    forward_timeout: float = 1.0,
    **redis_options: Any,
) -> Callable[[Namespace], RedisStreamsAdapter]:
    """An adapter factory for ``gsio.Server(adapter=...)`` that joins the servers sharing one
    Redis into a cluster through a Redis stream, as Node's ``@socket.io/redis-streams-adapter``
    ``createAdapter(redisClient, opts)``, with connection state recovery across the cluster::

        sio = gsio.Server(
            adapter=gsio.create_redis_streams_adapter("redis://127.0.0.1:6379/0"),
            connection_state_recovery={"max_disconnection_duration": 120},
        )

    :param url: a Redis URL, or a ``redis.Redis`` client (with ``decode_responses=False``).
    :param stream_name: the stream's key (Node's ``streamName``).
    :param channel_prefix: the prefix of the pub/sub channels (Node's ``channelPrefix``).
    :param max_len: the stream is trimmed to about this many entries (``MAXLEN ~``): what a
        client may miss and still recover, across every namespace.
    :param read_count: entries per XREAD.
    :param session_key_prefix: the key prefix of the kept sessions (Node's ``sessionKeyPrefix``).
    :param requests_timeout: seconds to wait for the other servers' answers, and at most for
        Redis to take a recoverable packet (past it, the packet is sent without an offset).
    :param max_pending: commands held for Redis while it is unreachable.
    :param forward_requests: a request naming a session of another server (a load balancer
        without sticky sessions) is forwarded to it through Redis and answered from there
        (see "Several servers" in the README: it costs a Redis round trip or two per request).
    :param forward_timeout: seconds to wait for that server's first answer; past it, or when
        it is gone, the request gets 400 "Session ID unknown".
    :param redis_options: passed to ``redis.Redis.from_url``.
    """
    reader: list[StreamReader] = []

    def factory(namespace: Namespace) -> RedisStreamsAdapter:
        if not reader:
            client = redis_client(url, redis_options)
            link = RedisLink(client, namespace.server.concurrency, max_pending)
            reader.append(StreamReader(link, stream_name, max_len, read_count))
            forward_sessions(
                namespace.server,
                link,
                channel_prefix,
                forward_timeout if forward_requests else None,
            )
        return RedisStreamsAdapter(
            namespace,
            reader[0],
            channel_prefix=channel_prefix,
            session_key_prefix=session_key_prefix,
            requests_timeout=requests_timeout,
        )

    return factory


class RedisStreamsAdapter(StreamRecovery):
    """The adapter of one namespace in a cluster sharing one Redis stream. Make it with
    :func:`create_redis_streams_adapter`."""

    namespace: Namespace

    def __init__(
        self,
        namespace: Namespace,
        reader: StreamReader,
        *,
        channel_prefix: str = "socket.io",
        session_key_prefix: str = "sio:session:",
        requests_timeout: float = 5.0,
    ) -> None:
        super().__init__(namespace)
        self._init_recovery()
        self.reader = reader
        self.link = reader.link
        self.c = namespace.server.concurrency
        self.uid = _uid()
        self.requests_timeout = requests_timeout
        self.session_key_prefix = session_key_prefix
        self.pending = Pending(namespace)
        self.public = f"{channel_prefix}#{namespace.name}#"
        self._channels = [self.public, f"{self.public}{self.uid}#"]
        reader.handlers[namespace.name] = self._on_entry
        self.link.subscribe(self._channels, [], self._on_pubsub)
        self._keep_connected_sessions()

    def close(self) -> None:
        """Stop this namespace's traffic; the last adapter of the process to close sends what
        is queued (sessions included, within 2 s) and stops the reader."""
        if self._mirror is not None:
            self._mirror.close()
        self.reader.handlers.pop(self.namespace.name, None)
        self.link.unsubscribe(self._channels, [])
        if not self.reader.handlers:
            self.reader.close()

    def server_count(self) -> int:
        try:
            return max(self.link.numsub(self.public), 1)
        except self.link.errors as exc:
            if not self.link.down:
                log.warning("redis: cannot count the servers (%s); this one only", exc)
            return 1

    # -- publishing --------------------------------------------------------------------------

    def _publish(self, kind: MessageType, data: Any, channel: str | None = None) -> None:
        self.link.publish(channel or self.public, encode_pubsub(self._message(kind, data)))

    def _respond(self, to: str, kind: MessageType, data: dict[str, Any]) -> None:
        self._publish(kind, data, f"{self.public}{to}#")

    # -- this server's operations -------------------------------------------------------------

    def broadcast(self, packet: Packet, opts: Recipients) -> None:
        if opts.local:
            Adapter.broadcast(self, packet, opts)
            return
        message = self._message(MessageType.BROADCAST, broadcast_data(packet, opts))
        if self.recovery is None or packet.id is not None or opts.volatile:
            self.reader.xadd(message)
            Adapter.broadcast(self, packet, opts)
            return
        entry_id = self._write(message)
        if entry_id is not None:
            data = [*packet.data, entry_id]
            self._sent(entry_id, data, opts)
            packet = Packet(PacketType.EVENT, packet.namespace, data)
        Adapter.broadcast(self, packet, opts)

    def broadcast_with_ack(
        self,
        packet: Packet,
        opts: Recipients,
        client_count: Callable[[int], None],
        on_ack: Callable[[list[Any]], None],
    ) -> None:
        if not opts.local:
            request_id = _uid()
            timeout = opts.timeout or self.requests_timeout
            self.pending.expect_acks(request_id, client_count, on_ack, timeout)
            self._publish(MessageType.BROADCAST, broadcast_data(packet, opts, request_id))
        super().broadcast_with_ack(packet, opts, client_count, on_ack)

    def add_sockets(self, opts: Recipients, rooms: Iterable[str]) -> None:
        rooms = list(rooms)
        super().add_sockets(opts, rooms)
        if not opts.local:
            data = {"opts": opts_data(opts), "rooms": rooms}
            self.reader.xadd(self._message(MessageType.SOCKETS_JOIN, data))

    def del_sockets(self, opts: Recipients, rooms: Iterable[str]) -> None:
        rooms = list(rooms)
        super().del_sockets(opts, rooms)
        if not opts.local:
            data = {"opts": opts_data(opts), "rooms": rooms}
            self.reader.xadd(self._message(MessageType.SOCKETS_LEAVE, data))

    def disconnect_sockets(self, opts: Recipients, close: bool) -> None:
        if not opts.local:
            data = {"opts": opts_data(opts), "close": close}
            self.reader.xadd(self._message(MessageType.DISCONNECT_SOCKETS, data))
        super().disconnect_sockets(opts, close)

    def fetch_sockets(self, opts: Recipients) -> list[Socket]:
        """The selected sockets of every server (:class:`~gsio.cluster.remote.RemoteConn` for
        the others'); raises :class:`~gsio.ClusterTimeout` past ``requests_timeout``."""
        local = super().fetch_sockets(opts)
        servers = 1 if opts.local else self.server_count()
        if servers <= 1:
            return local
        request_id = _uid()
        data = {"opts": opts_data(opts), "requestId": request_id}
        remote = self.pending.fetch(
            request_id,
            servers - 1,
            opts.timeout or self.requests_timeout,
            lambda: self._publish(MessageType.FETCH_SOCKETS, data),
        )
        return local + list(remote)

    def server_side_emit(
        self,
        event: str,
        args: list[Any],
        callback: Answers | None = None,
        timeout: float | None = None,
    ) -> None:
        packet = [event, *args]
        if callback is None:
            self._publish(MessageType.SERVER_SIDE_EMIT, {"packet": packet})
            return
        others = self.server_count() - 1
        if others <= 0:
            callback(None, [])
            return
        request_id = _uid()
        self.pending.gather(request_id, others, timeout or self.requests_timeout, callback)
        self._publish(MessageType.SERVER_SIDE_EMIT, {"requestId": request_id, "packet": packet})

    # -- what arrives from the others ------------------------------------------------------------

    def _on_entry(self, message: Message, entry_id: str) -> None:
        if message.uid == self.uid:
            self._read_back(entry_id)
            return
        self._on_message(message, entry_id)

    def _on_pubsub(self, channel: str, data: bytes) -> None:
        try:
            message = decode_pubsub(data)
            if message.uid != self.uid and message.nsp == self.namespace.name:
                self._on_message(message, None)
        except ProtocolError as exc:
            log.warning("redis: dropped a malformed message on %s: %s", channel, exc.message)

    def _on_message(self, message: Message, offset: str | None) -> None:
        kind = message.kind
        if kind == MessageType.BROADCAST:
            request_id = message.get("requestId")
            if request_id is not None:
                self._on_broadcast_with_ack(message, wire.field(message.data, "requestId", str))
                return
            packet, opts = message.packet(), message.recipients()
            if offset is not None and self.recovery is not None and not opts.volatile:
                packet = Packet(PacketType.EVENT, packet.namespace, [*packet.data, offset])
            Adapter.broadcast(self, packet, opts)
        elif kind == MessageType.SOCKETS_JOIN:
            Adapter.add_sockets(self, message.recipients(), wire.rooms_field(message.data))
        elif kind == MessageType.SOCKETS_LEAVE:
            Adapter.del_sockets(self, message.recipients(), wire.rooms_field(message.data))
        elif kind == MessageType.DISCONNECT_SOCKETS:
            close = bool(message.get("close"))
            Adapter.disconnect_sockets(self, message.recipients(), close)
        elif kind == MessageType.FETCH_SOCKETS:
            sockets = [describe(conn) for conn in Adapter.fetch_sockets(self, message.recipients())]
            request_id = message.field("requestId", str)
            data = {"requestId": request_id, "sockets": sockets}
            self._respond(message.uid, MessageType.FETCH_SOCKETS_RESPONSE, data)
        elif kind == MessageType.SERVER_SIDE_EMIT:
            self._on_server_side(message)
        elif kind in _RESPONSES:
            self.pending.on_response(_response(message))

    def _on_broadcast_with_ack(self, message: Message, request_id: str) -> None:
        def client_count(count: int) -> None:
            data = {"requestId": request_id, "clientCount": count}
            self._respond(message.uid, MessageType.BROADCAST_CLIENT_COUNT, data)

        def on_ack(args: list) -> None:
            data = {"requestId": request_id, "packet": args[0] if args else None}
            self._respond(message.uid, MessageType.BROADCAST_ACK, data)

        packet, opts = message.packet(), message.recipients()
        Adapter.broadcast_with_ack(self, packet, opts, client_count, on_ack)

    def _on_server_side(self, message: Message) -> None:
        args = message.field("packet", list)
        if not args or not isinstance(args[0], str):
            raise ProtocolError("server-side emit data is not [event, ...args]")
        request_id = message.get("requestId")
        reply = None
        if request_id is not None:
            answered: list[bool] = []

            def reply(result: Any) -> None:
                if answered:
                    return
                answered.append(True)
                data = {"requestId": request_id, "packet": result}
                try:
                    self._respond(message.uid, MessageType.SERVER_SIDE_EMIT_RESPONSE, data)
                except (TypeError, ValueError, OverflowError, msgpack.PackException):
                    log.error("server-side answer to %r cannot be sent: %r", args[0], result)

        self.namespace.receive_server_side(args, reply)


_RESPONSES = {
    MessageType.FETCH_SOCKETS_RESPONSE: None,
    MessageType.SERVER_SIDE_EMIT_RESPONSE: None,
    MessageType.BROADCAST_CLIENT_COUNT: RequestType.BROADCAST_CLIENT_COUNT,
    MessageType.BROADCAST_ACK: RequestType.BROADCAST_ACK,
}


def _response(message: Message) -> dict[str, Any]:
    """An answer in the shape :class:`~gsio.cluster.requests.Pending` reads (the pub/sub
    adapter's)."""
    data = message.data if isinstance(message.data, dict) else {}
    response: dict[str, Any] = {"requestId": data.get("requestId")}
    kind = _RESPONSES[message.kind]
    if kind is not None:
        response["type"] = kind
        response.update(clientCount=data.get("clientCount"), packet=data.get("packet"))
    elif message.kind == MessageType.FETCH_SOCKETS_RESPONSE:
        response["sockets"] = data.get("sockets")
    else:
        response["data"] = data.get("packet")
    return response
