"""One process's connection to Redis: a publisher and one pub/sub reader, both reconnecting.

Every adapter made by one :func:`gsio.create_redis_adapter` factory shares a :class:`RedisLink`:

- **Publishing never blocks the caller.** :meth:`RedisLink.publish` queues the message; one
  publisher greenlet (or thread) sends what is queued in a pipeline, in order. While Redis is
  away the queue holds up to ``max_pending`` messages (the oldest are dropped past that, with
  one warning), and they go out once it is back, in order; they reach the servers that are
  subscribed again by then (Redis keeps nothing for a subscriber that is not there).
- **One pub/sub connection** carries the channels and patterns of every namespace, read by one
  greenlet that hands each message to the handler its adapter registered.
- **Faults**: if Redis goes away, the link logs one warning ("connection lost"), both retry
  with exponential backoff (0.1 s doubling to ``max_backoff``, with jitter), the reader
  subscribes again, and the link logs one line ("connected again") once either is back. Local
  clients are not disturbed meanwhile: a broadcast still reaches this process's sockets at once.
"""

from __future__ import annotations

import collections
import logging
import random
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from gsio.io.concurrency import Concurrency

__all__ = ["PubSub", "RedisLink"]

log = logging.getLogger("gsio.redis")

Handler = Callable[[str, bytes], None]
#: Told a queued command's reply (an exception object if Redis refused the command).
Reply = Callable[[Any], None]

_BATCH = 512  # messages per pipeline round trip


class PubSub(Protocol):
    """What the Redis adapter needs of its link to the other servers: a :class:`RedisLink`,
    or the in-host bus between the workers of one host (:class:`~gsio.cluster.hostlink.HostLink`).
    """

    #: What :meth:`numsub` raises when the other servers cannot be reached.
    errors: tuple[type[Exception], ...]

    def subscribe(self, channels: list[str], patterns: list[str], handler: Handler) -> None: ...

    def unsubscribe(self, channels: list[str], patterns: list[str]) -> None: ...

    def publish(self, channel: str, data: bytes) -> None: ...

    def numsub(self, channel: str) -> int: ...

    @property
    def down(self) -> bool: ...


class RedisLink:
    """A Redis client for publishing and a pub/sub subscription, shared by adapters.

    :param client: a ``redis.Redis`` (bytes responses, i.e. ``decode_responses=False``).
    :param max_pending: messages held while Redis is unreachable.
    :param max_backoff: the longest wait between reconnection attempts, in seconds.
    """

    def __init__(
        self,
        client: Any,
        concurrency: Concurrency,
        max_pending: int = 10_000,
        max_backoff: float = 5.0,
    ) -> None:
        import redis

        self.client = client
        self.c = concurrency
        self.max_pending = max_pending
        self.max_backoff = max_backoff
        #: What a call to Redis raises when Redis is unreachable (catch these around a request).
        self.errors: tuple[type[Exception], ...] = (redis.RedisError, OSError)
        self._refusal = redis.ResponseError
        self._channels: dict[str, Handler] = {}
        self._patterns: dict[str, Handler] = {}
        self._pubsub: Any = None
        # Commands to send in order: (arguments, who is told the reply or None).
        self._outbox: collections.deque[tuple[tuple[Any, ...], Reply | None]] = collections.deque()
        self._wake = concurrency.event()
        self._closed = False
        self._dropped = 0
        self._refused = False
        self._down = False  # between a "connection lost" and a "connected again"
        #: Publishing's failures, counted on their error paths only (read by gsio.metrics):
        #: "unreachable" (a batch that could not be sent: retried), "refused" (a command Redis
        #: answered with an error), "dropped" (a message dropped past ``max_pending``).
        self.publish_errors = {"unreachable": 0, "refused": 0, "dropped": 0}
        #: When (``concurrency.monotonic()``) the publisher began sending what it holds now;
        #: None when it is idle: how far publishing lags, once subtracted from now.
        self.sending_since: float | None = None
        self._state = concurrency.lock()
        self._workers = [concurrency.spawn(self._listen), concurrency.spawn(self._publish_loop)]

    # -- subscriptions ---------------------------------------------------------------------

    def subscribe(self, channels: list[str], patterns: list[str], handler: Handler) -> None:
        """Hand messages on ``channels`` and ``patterns`` to ``handler(channel, data)``."""
        for channel in channels:
            self._channels[channel] = handler
        for pattern in patterns:
            self._patterns[pattern] = handler
        pubsub = self._pubsub
        if pubsub is not None:  # else the listener subscribes once it is connected
            try:
                if channels:
                    pubsub.subscribe(*channels)
                if patterns:
                    pubsub.psubscribe(*patterns)
            except self.errors:
                pass  # the listener notices too, and subscribes everything again

    def unsubscribe(self, channels: list[str], patterns: list[str]) -> None:
        for channel in channels:
            self._channels.pop(channel, None)
        for pattern in patterns:
            self._patterns.pop(pattern, None)
        pubsub = self._pubsub
        if pubsub is not None:
            try:
                if channels:
                    pubsub.unsubscribe(*channels)
                if patterns:
                    pubsub.punsubscribe(*patterns)
            except self.errors:
                pass

    def _listen(self) -> None:
        delay = 0.0
        while not self._closed:
            pubsub = self.client.pubsub(ignore_subscribe_messages=True)
            try:
                # Until nothing is missing: an adapter made meanwhile (subscribing yields) only
                # added its channels to the dicts, as self._pubsub was still None.
                done_channels: set[str] = set()
                done_patterns: set[str] = set()
                while True:
                    channels = [c for c in list(self._channels) if c not in done_channels]
                    patterns = [p for p in list(self._patterns) if p not in done_patterns]
                    if not channels and not patterns:
                        break
                    if channels:
                        pubsub.subscribe(*channels)
                        done_channels.update(channels)
                    if patterns:
                        pubsub.psubscribe(*patterns)
                        done_patterns.update(patterns)
                self._pubsub = pubsub
                self._back()
                delay = 0.0
                while not self._closed:
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._dispatch(message)
            except self.errors as exc:
                self._pubsub = None
                self._lost(exc)
                delay = self._pause(delay)
            finally:
                self._pubsub = None
                try:
                    pubsub.close()
                except self.errors:
                    pass

    def _dispatch(self, message: dict) -> None:
        kind = message.get("type")
        channel = _text(message.get("channel"))
        if kind == "pmessage":
            handler = self._patterns.get(_text(message.get("pattern")))
        elif kind == "message":
            handler = self._channels.get(channel)
        else:
            return
        data = message.get("data")
        if handler is None or not isinstance(data, bytes):
            return
        try:
            handler(channel, data)
        except Exception:  # a bug in a handler must not stop the cluster traffic
            log.exception("handling a message on %s failed", channel)

    # -- publishing --------------------------------------------------------------------------

    def publish(self, channel: str, data: bytes) -> None:
        """Queue ``data`` for ``channel``; it is sent soon, in order, and never blocks."""
        self.command(("PUBLISH", channel, data))

    def command(self, args: tuple[Any, ...], reply: Reply | None = None) -> None:
        """Queue a Redis command (``("XADD", ...)``); it is sent soon, in order with the
        publications, and never blocks; ``reply(result)`` is then called in the publisher."""
        outbox = self._outbox
        outbox.append((args, reply))
        if len(outbox) > self.max_pending:
            outbox.popleft()
            self.publish_errors["dropped"] += 1
            if not self._dropped:
                log.warning(
                    "redis unreachable: %d messages queued, dropping the oldest", len(outbox)
                )
            self._dropped += 1
        if self.c.in_home_thread():
            self._wake.set()
        else:
            self.c.call_soon_threadsafe(self._wake.set)

    def _publish_loop(self) -> None:
        delay = 0.0
        outbox = self._outbox
        # A connection of the publisher's own, connected now rather than by the first
        # publication (which took a connect and its handshake, about a millisecond, on top of
        # its trip), and kept: no pool checkout per batch.
        conn = self.client.connection_pool.make_connection()
        try:
            while True:
                batch = [outbox.popleft() for _ in range(min(len(outbox), _BATCH))]
                if batch and self.sending_since is None:
                    self.sending_since = self.c.monotonic()
                try:
                    conn.connect()  # nothing to do while connected
                    results = self._send(conn, batch) if batch else ()
                except self.errors as exc:
                    conn.disconnect()
                    outbox.extendleft(reversed(batch))
                    self.publish_errors["unreachable"] += 1
                    if self._closed:
                        return
                    self._lost(exc)
                    delay = self._pause(delay)
                    continue
                self._back()
                delay = 0.0
                self.sending_since = None
                for (args, reply), result in zip(batch, results):
                    if isinstance(result, Exception):
                        self.publish_errors["refused"] += 1
                        if not self._refused:
                            self._refused = True  # a bug or a misconfigured Redis: say it once
                            log.error("redis refused %s: %s", args[0], result)
                    if reply is not None:
                        try:
                            reply(result)
                        except Exception:
                            log.exception("handling the reply to %s failed", args[0])
                if self._dropped and batch:
                    log.warning("redis publisher: %d messages were dropped", self._dropped)
                    self._dropped = 0
                if not outbox:
                    if self._closed:
                        return
                    self._wake.wait()
                    self._wake.clear()
        finally:
            conn.disconnect()

    def _send(self, conn: Any, batch: list[tuple[tuple[Any, ...], Reply | None]]) -> list[Any]:
        """Send ``batch`` in one write and read its replies (a refusal as its exception)."""
        conn.send_packed_command(conn.pack_commands([args for args, _ in batch]))
        results: list[Any] = []
        for args, _ in batch:
            try:
                results.append(self.client.parse_response(conn, args[0]))
            except self._refusal as exc:
                results.append(exc)
        return results

    # -- requests ----------------------------------------------------------------------------

    def numsub(self, channel: str) -> int:
        """How many connections subscribe to ``channel`` (raises ``redis.RedisError``)."""
        return int(self.client.pubsub_numsub(channel)[0][1])

    @property
    def queued(self) -> int:
        """Messages waiting to be published."""
        return len(self._outbox)

    @property
    def down(self) -> bool:
        """True from a "connection lost" to the "connected again"."""
        return self._down

    def _lost(self, exc: Exception) -> None:
        """Log that Redis went away, once for the reader and the publisher together."""
        with self._state:
            if self._down or self._closed:
                return
            self._down = True
        log.warning("redis: connection lost (%s); reconnecting", exc)

    def _back(self) -> None:
        with self._state:
            if not self._down:
                return
            self._down = False
        log.warning("redis: connected again")

    def _pause(self, delay: float) -> float:
        delay = min(max(delay * 2, 0.1), self.max_backoff)
        self.c.sleep(delay * random.uniform(0.5, 1.0))
        return delay

    def close(self, flush_timeout: float = 2.0) -> None:
        """Send what is queued (waiting up to ``flush_timeout``), then stop."""
        if self._closed:
            return
        deadline = self.c.monotonic() + flush_timeout
        while self._outbox and self.c.monotonic() < deadline:
            self.c.sleep(0.01)
        self._closed = True
        self._wake.set()
        for worker in self._workers:
            _join(worker, 2.0)
        try:
            self.client.close()
        except self.errors:
            pass


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else ""


def _join(worker: Any, timeout: float) -> None:
    join = getattr(worker, "join", None)
    if join is not None:
        join(timeout)
