"""The observer behind :func:`gsio.metrics.instrument`: plain integers, bumped as things happen.

Nothing here knows Prometheus: :mod:`gsio.metrics.reading` turns these integers (and what the
server holds at that moment) into samples when someone asks. Per message the observer does a
dict look-up and two additions; a broadcast is told once with its recipient count
(:meth:`~gsio.Observer.events_sent`), never once per recipient.
"""

from __future__ import annotations

from typing import Any

from gsio.server.conn import Conn
from gsio.server.observers import Observer

__all__ = ["Counting"]


class Counting(Observer):
    """Counts, by namespace name: events and their bytes in and out, connections,
    disconnections by reason, acks expected and settled by outcome; and refused requests by
    Engine.IO error code. Read them, never write them (the server's thread(s) do)."""

    def __init__(self) -> None:
        #: namespace -> [events, bytes] received / sent (a broadcast: one per recipient).
        self.received: dict[str, list[int]] = {}
        self.sent: dict[str, list[int]] = {}
        self.connections: dict[str, int] = {}
        #: (namespace, reason) -> disconnections.
        self.disconnections: dict[tuple[str, str], int] = {}
        self.acks_expected: dict[str, int] = {}
        #: (namespace, outcome) -> acks settled ("answered", "timed out", "closed").
        self.acks_settled: dict[tuple[str, str], int] = {}
        #: Engine.IO error code -> requests refused.
        self.refused: dict[int, int] = {}

    # -- per message (kept short: each line costs every event) ------------------------------

    def event_received(self, conn: Conn, event: str, args: list[Any], size: int) -> None:
        name = conn.namespace.name
        try:
            counts = self.received[name]
        except KeyError:
            counts = self.received[name] = [0, 0]
        counts[0] += 1
        counts[1] += size

    def events_sent(
        self, namespace: str, event: str, args: list[Any], count: int, size: int
    ) -> None:
        try:
            counts = self.sent[namespace]
        except KeyError:
            counts = self.sent[namespace] = [0, 0]
        counts[0] += count
        counts[1] += count * size

    # -- per connection ----------------------------------------------------------------------

    def connected(self, conn: Conn) -> None:
        name = conn.namespace.name
        self.connections[name] = self.connections.get(name, 0) + 1

    def disconnected(self, conn: Conn, reason: str) -> None:
        key = (conn.namespace.name, reason)
        self.disconnections[key] = self.disconnections.get(key, 0) + 1

    def ack_pending(self, conn: Conn, ack_id: int) -> None:
        name = conn.namespace.name
        self.acks_expected[name] = self.acks_expected.get(name, 0) + 1

    def ack_done(self, conn: Conn, ack_id: int, outcome: str) -> None:
        key = (conn.namespace.name, outcome)
        self.acks_settled[key] = self.acks_settled.get(key, 0) + 1

    def connection_error(self, environ: dict[str, Any], code: int, message: str) -> None:
        self.refused[code] = self.refused.get(code, 0) + 1
