"""One process's reader of the Redis stream that the Redis Streams adapters share.

As Node's ``createAdapter`` of ``@socket.io/redis-streams-adapter``: one ``XREAD BLOCK`` loop per
process reads the stream (``socket.io``) in order and hands each entry to the adapter of its
namespace. Writes go through the :class:`~gsio.cluster.link.RedisLink`'s queue (one publisher,
in order, never blocking the caller), which also carries the pub/sub traffic.

:attr:`StreamReader.last` is the id of the last entry handed over: every entry up to it has
reached this process's sockets, every later one will. Recovery reads the stream up to it (see
:meth:`gsio.cluster.streams.RedisStreamsAdapter.restore_session`).
"""

from __future__ import annotations

import logging
import time
from typing import Any, Callable

from gsio.cluster.link import RedisLink, Reply
from gsio.cluster.streams_wire import Message, decode_entry, encode_entry, id_key
from gsio.exceptions import ProtocolError

__all__ = ["StreamReader"]

log = logging.getLogger("gsio.redis")

#: ``handler(message, entry_id)``, called in stream order.
EntryHandler = Callable[[Message, str], None]

#: How long one XREAD waits for entries (ms): bounds how long close() waits for the reader.
_BLOCK_MS = 500


class StreamReader:
    """Reads ``stream`` for the adapters of one process; writes through ``link``."""

    def __init__(self, link: RedisLink, stream: str, max_len: int, read_count: int) -> None:
        self.link = link
        self.stream = stream
        self.max_len = max_len
        self.read_count = read_count
        self.handlers: dict[str, EntryHandler] = {}
        #: The id of the last entry handed over (None until the reader has started).
        self.last: str | None = None
        #: Seconds between the last entries read and their writing (an entry id is its
        #: writer's Redis time in ms), 0.0 once a read found nothing new: how far behind the
        #: stream this process is (read by gsio.metrics; clocks of one Redis).
        self.lag = 0.0
        self._closed = False
        self._worker = link.c.spawn(self._read)

    def xadd(self, message: Message, reply: Reply | None = None) -> None:
        """Queue ``message`` as a stream entry; ``reply(entry_id)`` (bytes) once it is written."""
        args: list[Any] = ["XADD", self.stream, "MAXLEN", "~", self.max_len, "*"]
        for name, value in encode_entry(message).items():
            args += (name, value)
        self.link.command(tuple(args), reply)

    def reached(self, entry_id: str, timeout: float) -> bool:
        """Wait (up to ``timeout``) until the reader has handed over ``entry_id``."""
        c = self.link.c
        deadline = c.monotonic() + timeout
        target = id_key(entry_id)
        while self.last is None or id_key(self.last) < target:
            if self._closed or c.monotonic() > deadline:
                return False
            c.sleep(0.005)
        return True

    def _read(self) -> None:
        link = self.link
        client = link.client
        delay = 0.0
        while not self._closed:
            try:
                if self.last is None:  # as Node's "$", but an id that restore can compare
                    newest = client.xrevrange(self.stream, "+", "-", count=1)
                    self.last = newest[0][0].decode() if newest else "0-0"
                result = client.xread(
                    {self.stream: self.last}, count=self.read_count, block=_BLOCK_MS
                )
            except link.errors as exc:
                link._lost(exc)
                delay = link._pause(delay)
                continue
            if delay:
                link._back()
                delay = 0.0
            if not result:
                self.lag = 0.0
            for _, entries in result or ():
                if entries:
                    self.lag = _age(entries[-1][0], time.time())
                for entry_id, fields in entries:
                    self._hand_over(entry_id.decode(), fields)

    def _hand_over(self, entry_id: str, fields: dict[bytes, bytes]) -> None:
        # ``last`` moves first: a restore that runs while this entry is delivered replays it
        # (the socket it restores is not in the recipients computed before its join).
        self.last = entry_id
        try:
            message = decode_entry(fields)
        except ProtocolError as exc:
            log.warning("redis: dropped a malformed stream entry %s: %s", entry_id, exc.message)
            return
        if message is None:
            return
        handler = self.handlers.get(message.nsp)
        if handler is None:
            return
        try:
            handler(message, entry_id)
        except ProtocolError as exc:
            log.warning("redis: dropped a malformed stream entry %s: %s", entry_id, exc.message)
        except Exception:  # a bug in a handler must not stop the cluster traffic
            log.exception("handling the stream entry %s failed", entry_id)

    def close(self, flush_timeout: float = 2.0) -> None:
        """Send what is queued (up to ``flush_timeout``), then stop reading."""
        self._closed = True
        self.link.close(flush_timeout)
        join = getattr(self._worker, "join", None)
        if join is not None:
            join(_BLOCK_MS / 1000 + 1.0)


def _age(entry_id: bytes, now: float) -> float:
    """Seconds since the stream entry ``entry_id`` (``b"<ms>-<seq>"``) was written, at ``now``."""
    ms = entry_id.partition(b"-")[0]
    return max(now - int(ms) / 1000, 0.0) if ms.isdigit() else 0.0
