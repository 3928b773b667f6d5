"""The Redis adapter: one namespace's rooms and broadcasts across a cluster of servers.

Wire-compatible with Node's ``@socket.io/redis-adapter`` v8 (see :mod:`gsio.cluster.messages`),
so gsio and Node servers can share one cluster, and ``@socket.io/redis-emitter`` (or
:class:`gsio.Emitter`) can reach all of them.

What this process does itself goes through the in-process :class:`~gsio.server.adapter.Adapter` at
once; what the other servers must do is published. What arrives from them is checked and handed
to the same local methods, so a broadcast from here and one from elsewhere take one path.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterable
from typing import Any, Callable

from gsio.cluster import messages as wire
from gsio.cluster.enginebus import forward_sessions
from gsio.cluster.link import PubSub, RedisLink
from gsio.cluster.messages import Channels, RequestType
from gsio.cluster.requests import Answers, Pending, describe
from gsio.exceptions import ProtocolError
from gsio.protocol.socketio import Packet
from gsio.server.adapter import Adapter
from gsio.server.interfaces import Socket
from gsio.server.namespace import Namespace
from gsio.server.recipients import Recipients

__all__ = ["RedisAdapter", "create_redis_adapter"]

log = logging.getLogger("gsio.redis")


def _uid() -> str:
    return secrets.token_urlsafe(6)


def create_redis_adapter(
    url: str | Any = "redis://127.0.0.1:6379/0",
    *,
    key: str = "socket.io",
    requests_timeout: float = 5.0,
    publish_on_specific_response_channel: bool = False,
    max_pending: int = 10_000,
    forward_requests: bool = True,
    forward_timeout: float = 1.0,
    **redis_options: Any,
) -> Callable[[Namespace], RedisAdapter]:
    """An adapter factory for ``gsio.Server(adapter=...)`` that joins the servers sharing one
    Redis into a cluster, as Node's ``createAdapter(pubClient, subClient)``::

        sio = gsio.Server(adapter=gsio.create_redis_adapter("redis://127.0.0.1:6379/0"))

    :param url: a Redis URL, or a ``redis.Redis`` client (with ``decode_responses=False``).
    :param key: the prefix of the channel names; the same on every server (Node's ``key``).
    :param requests_timeout: seconds to wait for the other servers' answers (``fetch_sockets``,
        ``server_side_call``), as Node's ``requestsTimeout``.
    :param publish_on_specific_response_channel: answer requests on the requester's own
        channel, as Node's option of that name.
    :param max_pending: messages held for Redis while it is unreachable.
    :param forward_requests: a request naming a session of another server (a load balancer
        without sticky sessions) is forwarded to it through Redis and answered from there
        (see "Several servers" in the README: it costs a Redis round trip or two per request).
    :param forward_timeout: seconds to wait for that server's first answer; past it, or when
        it is gone, the request gets 400 "Session ID unknown".
    :param redis_options: passed to ``redis.Redis.from_url``.
    """
    link: list[RedisLink] = []

    def factory(namespace: Namespace) -> RedisAdapter:
        if not link:
            client = redis_client(url, redis_options)
            link.append(RedisLink(client, namespace.server.concurrency, max_pending))
            forward_sessions(
                namespace.server, link[0], key, forward_timeout if forward_requests else None
            )
        return RedisAdapter(
            namespace,
            link[0],
            key=key,
            requests_timeout=requests_timeout,
            publish_on_specific_response_channel=publish_on_specific_response_channel,
        )

    return factory


def redis_client(url: str | Any, redis_options: dict[str, Any]) -> Any:
    """A ``redis.Redis`` for ``url`` (or ``url`` itself if it is a client already)."""
    if not isinstance(url, str):
        return url
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    # One quick retry: the link's own loops reconnect with backoff, and a request
    # (server_count) must fail fast while Redis is away.
    # A pool that makes a caller wait for a free connection (``timeout``) rather than fail:
    # redis-py's default pool raises "Too many connections" past 100, which 200 clients
    # recovering at once after a restart (each restore a pipeline) reached.
    options = {
        "socket_connect_timeout": 2.0,
        "socket_keepalive": True,
        "retry": Retry(NoBackoff(), 1),
        "health_check_interval": 30,  # notices a dead pub/sub connection
        "max_connections": 100,
        "timeout": 10.0,
    }
    options.update(redis_options)
    return redis.Redis(connection_pool=redis.BlockingConnectionPool.from_url(url, **options))


class RedisAdapter(Adapter):
    """The adapter of one namespace in a cluster sharing one Redis. Make it with
    :func:`create_redis_adapter`."""

    namespace: Namespace

    def __init__(
        self,
        namespace: Namespace,
        link: PubSub,
        *,
        key: str = "socket.io",
        requests_timeout: float = 5.0,
        publish_on_specific_response_channel: bool = False,
    ) -> None:
        super().__init__(namespace)
        self.link = link
        self.uid = _uid()
        self.channels = Channels(key, namespace.name, self.uid)
        self.requests_timeout = requests_timeout
        self.specific_responses = publish_on_specific_response_channel
        self.pending = Pending(namespace)
        ch = self.channels
        self._subscriptions = (
            [ch.request, ch.response, ch.specific_response],
            [ch.broadcast + "*"],
        )
        link.subscribe(*self._subscriptions, self._on_message)

    def close(self) -> None:
        self.link.unsubscribe(*self._subscriptions)

    def server_count(self) -> int:
        try:
            return max(self.link.numsub(self.channels.request), 1)
        except self.link.errors as exc:
            if not self.link.down:  # else the link said so already: no line per request
                log.warning("redis: cannot count the servers (%s); this one only", exc)
            return 1

    # -- this server's operations: done here, published for the others ----------------------

    def _publish(self, message: dict[str, Any], channel: str | None = None) -> None:
        self.link.publish(channel or self.channels.request, wire.encode_request(message))

    def _publish_on(self, type: RequestType, opts: Recipients, **fields: Any) -> None:
        """Publish a request acting on the sockets ``opts`` selects."""
        rooms = {"rooms": list(opts.rooms), "except": list(opts.except_rooms)}
        self._publish({"uid": self.uid, "type": type, "opts": rooms, **fields})

    def broadcast(self, packet: Packet, opts: Recipients) -> None:
        if not opts.local:
            self.link.publish(
                self.channels.for_rooms(opts.rooms),
                wire.encode_broadcast(self.uid, packet, opts.rooms, opts.except_rooms, opts.flags),
            )
        super().broadcast(packet, opts)

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
            request = wire.broadcast_request(
                self.uid, request_id, packet, opts.rooms, opts.except_rooms, opts.flags
            )
            self._publish(request)
        super().broadcast_with_ack(packet, opts, client_count, on_ack)

    def add_sockets(self, opts: Recipients, rooms: Iterable[str]) -> None:
        rooms = list(rooms)
        super().add_sockets(opts, rooms)
        if not opts.local:
            self._publish_on(RequestType.REMOTE_JOIN, opts, rooms=rooms)

    def del_sockets(self, opts: Recipients, rooms: Iterable[str]) -> None:
        rooms = list(rooms)
        super().del_sockets(opts, rooms)
        if not opts.local:
            self._publish_on(RequestType.REMOTE_LEAVE, opts, rooms=rooms)

    def disconnect_sockets(self, opts: Recipients, close: bool) -> None:
        if not opts.local:
            self._publish_on(RequestType.REMOTE_DISCONNECT, opts, close=close)
        super().disconnect_sockets(opts, close)

    def fetch_sockets(self, opts: Recipients) -> list[Socket]:
        """The selected sockets of every server: :class:`~gsio.Conn` for this server's,
        :class:`~gsio.cluster.remote.RemoteConn` for the others'. Raises
        :class:`~gsio.ClusterTimeout` if a server does not answer within ``requests_timeout``."""
        local = super().fetch_sockets(opts)
        if opts.local:
            return local
        servers = self.server_count()
        if servers <= 1:
            return local
        request_id = _uid()
        remote = self.pending.fetch(
            request_id,
            servers - 1,
            opts.timeout or self.requests_timeout,
            lambda: self._publish_on(RequestType.REMOTE_FETCH, opts, requestId=request_id),
        )
        return local + list(remote)

    def server_side_emit(
        self,
        event: str,
        args: list[Any],
        callback: Answers | None = None,
        timeout: float | None = None,
    ) -> None:
        data = [event, *args]
        if callback is None:
            self._publish({"uid": self.uid, "type": RequestType.SERVER_SIDE_EMIT, "data": data})
            return
        others = self.server_count() - 1
        if others <= 0:
            callback(None, [])
            return
        request_id = _uid()
        self.pending.gather(request_id, others, timeout or self.requests_timeout, callback)
        self._publish(
            {
                "uid": self.uid,
                "requestId": request_id,
                "type": RequestType.SERVER_SIDE_EMIT,
                "data": data,
            }
        )

    # -- what arrives from the others ---------------------------------------------------------

    def _on_message(self, channel: str, data: bytes) -> None:
        ch = self.channels
        try:
            if channel.startswith(ch.response):
                self.pending.on_response(wire.decode_request(data))
            elif channel == ch.request:
                self._on_request(wire.decode_request(data))
            else:
                room = ch.room_of(channel)
                if room is None or room and room not in self.rooms and self.packets is None:
                    # Not ours, or a room without a socket here: left unread, as Node (with
                    # recovery on, logged still: a socket of the room may come back).
                    return
                self._on_broadcast(data)
        except ProtocolError as exc:
            log.warning("redis: dropped a malformed message on %s: %s", channel, exc.message)

    def _on_broadcast(self, data: bytes) -> None:
        message = wire.decode_broadcast(data, self.namespace.name)
        if message.uid == self.uid:
            return
        volatile = bool(message.flags.get("volatile"))
        compress = message.flags.get("compress") is not False
        opts = Recipients(message.rooms, message.except_rooms, volatile=volatile, compress=compress)
        Adapter.broadcast(self, message.packet, opts)

    def _respond(self, request: dict[str, Any], response: dict[str, Any]) -> None:
        channel = self.channels.response
        if self.specific_responses and isinstance(request.get("uid"), str):
            channel = f"{channel}{request['uid']}#"
        self._publish(response, channel)

    def _on_request(self, request: dict[str, Any]) -> None:
        kind = request.get("type")
        request_id = request.get("requestId")
        if request.get("uid") == self.uid or (
            request_id is not None and request_id in self.pending
        ):
            # Our own request, back from Redis: this server did its part already. (By uid too,
            # not only by the requests still waiting: one that waited in the queue while Redis
            # was away comes back after its timeout, and its broadcast would reach our sockets
            # a second time.)
            return
        if kind in (
            RequestType.REMOTE_JOIN,
            RequestType.REMOTE_LEAVE,
            RequestType.REMOTE_DISCONNECT,
        ):
            self._on_membership(kind, request)
        elif kind == RequestType.REMOTE_FETCH:
            opts = Recipients(*wire.options(request))
            sockets = [describe(conn) for conn in Adapter.fetch_sockets(self, opts)]
            self._respond(request, {"requestId": request_id, "sockets": sockets})
        elif kind == RequestType.SOCKETS:
            rooms, _ = wire.options({"opts": {"rooms": request.get("rooms")}})
            ids = list(self.socket_ids(Recipients(rooms)))
            self._respond(request, {"requestId": request_id, "sockets": ids})
        elif kind == RequestType.ALL_ROOMS:
            self._respond(request, {"requestId": request_id, "rooms": list(self.rooms)})
        elif kind == RequestType.SERVER_SIDE_EMIT:
            self._on_server_side(request)
        elif kind == RequestType.BROADCAST:
            self._on_broadcast_request(request)

    def _on_membership(self, kind: RequestType, request: dict[str, Any]) -> None:
        if "opts" not in request:  # the one-socket form of older Node adapters
            conn = self.namespace.conns.get(wire.field(request, "sid", str))
            if conn is not None:
                if kind == RequestType.REMOTE_DISCONNECT:
                    conn.disconnect(bool(request.get("close")))
                elif kind == RequestType.REMOTE_JOIN:
                    conn.join(wire.field(request, "room", str))
                else:
                    conn.leave(wire.field(request, "room", str))
                self._respond(request, {"requestId": request.get("requestId")})
            return
        opts = Recipients(*wire.options(request))
        if kind == RequestType.REMOTE_DISCONNECT:
            Adapter.disconnect_sockets(self, opts, bool(request.get("close")))
        elif kind == RequestType.REMOTE_JOIN:
            Adapter.add_sockets(self, opts, wire.rooms_field(request))
        else:
            Adapter.del_sockets(self, opts, wire.rooms_field(request))

    def _on_server_side(self, request: dict[str, Any]) -> None:
        args = wire.data_field(request)
        if not isinstance(args, list) or not args or not isinstance(args[0], str):
            raise ProtocolError("server-side emit data is not [event, ...args]")
        request_id = request.get("requestId")
        reply = None
        if request_id is not None:
            answered: list[bool] = []

            def reply(result: Any) -> None:
                if answered:
                    return
                answered.append(True)
                response = {
                    "type": RequestType.SERVER_SIDE_EMIT,
                    "requestId": request_id,
                    "data": result,
                }
                try:
                    self._publish(response, self.channels.response)
                except (TypeError, ValueError):
                    log.error("server-side answer to %r is not JSON: %r", args[0], result)

        self.namespace.receive_server_side(args, reply)

    def _on_broadcast_request(self, request: dict[str, Any]) -> None:
        request_id = wire.field(request, "requestId", str)
        packet = wire.packet_field(request, self.namespace.name)
        rooms, except_rooms = wire.options(request)

        def client_count(count: int) -> None:
            self._respond(
                request,
                {
                    "type": RequestType.BROADCAST_CLIENT_COUNT,
                    "requestId": request_id,
                    "clientCount": count,
                },
            )

        def on_ack(args: list) -> None:
            self._respond(
                request,
                {
                    "type": RequestType.BROADCAST_ACK,
                    "requestId": request_id,
                    "packet": args[0] if args else None,
                },
            )

        Adapter.broadcast_with_ack(
            self, packet, Recipients(rooms, except_rooms), client_count, on_ack
        )
