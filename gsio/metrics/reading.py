"""The metrics as data (:class:`Family`), read when someone asks (a scrape, a flush).

Counters come from the :class:`~gsio.metrics.counting.Counting` observer's integers; gauges are
read from what the server holds at that moment (its namespaces' connections, its Engine.IO
sessions, its adapters' Redis link), so they cost nothing between reads. No Prometheus here:
:mod:`gsio.metrics.exporting` turns families into its types.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from gsio.metrics.counting import Counting
from gsio.server.server import Server

__all__ = ["Family", "read", "FAMILIES"]

TRANSPORTS = ("polling", "websocket")


@dataclass
class Family:
    """One metric: ``name`` (a counter's without ``_total``), ``kind`` ("counter" or "gauge"),
    its help text, label names, and ``samples``: label values -> value. ``mode``: how a gauge
    of several processes combines (prometheus_client's ``multiprocess_mode``)."""

    name: str
    kind: str
    help: str
    labels: tuple[str, ...]
    mode: str = "livesum"
    samples: dict[tuple[str, ...], float] = field(default_factory=dict)

    def add(self, labels: tuple[str, ...], value: float) -> None:
        self.samples[labels] = self.samples.get(labels, 0) + value


#: name -> (kind, labels, multiprocess mode, help): every family :func:`read` returns.
FAMILIES: dict[str, tuple[str, tuple[str, ...], str, str]] = {
    "gsio_connected_clients": (
        "gauge",
        ("namespace", "transport"),
        "livesum",
        "Socket.IO connections open now, by namespace and transport",
    ),
    "gsio_engine_sessions": (
        "gauge",
        ("transport",),
        "livesum",
        "Engine.IO sessions open now, by transport",
    ),
    "gsio_connections": ("counter", ("namespace",), "", "Socket.IO connections accepted"),
    "gsio_disconnections": (
        "counter",
        ("namespace", "reason"),
        "",
        "Socket.IO connections ended, by reason",
    ),
    "gsio_connection_errors": (
        "counter",
        ("code",),
        "",
        "Engine.IO requests refused (handshakes, unknown sessions), by error code",
    ),
    "gsio_packets_received": ("counter", ("namespace",), "", "Event packets received"),
    "gsio_packets_sent": (
        "counter",
        ("namespace",),
        "",
        "Event packets sent (a broadcast counts once per recipient)",
    ),
    "gsio_received_bytes": (
        "counter",
        ("namespace",),
        "",
        "Bytes of the event packets received (text in UTF-8 and attachments)",
    ),
    "gsio_sent_bytes": ("counter", ("namespace",), "", "Bytes of the event packets sent"),
    "gsio_acks_pending": (
        "gauge",
        ("namespace",),
        "livesum",
        "Acks the server waits for from its clients now",
    ),
    "gsio_acks": (
        "counter",
        ("namespace", "outcome"),
        "",
        "Acks settled: answered, timed out, closed (the connection ended first)",
    ),
    "gsio_heartbeat_lateness_seconds": (
        "gauge",
        (),
        "livemax",
        "The most any open session's last ping was sent after it was due (event loop lag)",
    ),
    "gsio_heartbeat_pong_seconds": (
        "gauge",
        (),
        "livemax",
        "The longest any open session's client took to answer its last ping",
    ),
    "gsio_outbound_buffered_bytes": (
        "gauge",
        ("transport",),
        "livesum",
        "Bytes sent to clients not yet written to their connections (max_outbound_buffer)",
    ),
    "gsio_outbound_buffered_bytes_max": (
        "gauge",
        (),
        "livemax",
        "The most bytes waiting for one client",
    ),
    "gsio_adapter_publish_errors": (
        "counter",
        ("adapter", "kind"),
        "",
        "Adapter publications that failed: unreachable (retried), refused, dropped",
    ),
    "gsio_adapter_publish_queue": (
        "gauge",
        ("adapter",),
        "livesum",
        "Messages waiting to be published to Redis",
    ),
    "gsio_adapter_publish_lag_seconds": (
        "gauge",
        ("adapter",),
        "livemax",
        "How long the adapter's publisher has been sending what it holds (0 when idle)",
    ),
    "gsio_adapter_stream_lag_seconds": (
        "gauge",
        ("adapter",),
        "livemax",
        "How old the stream entries were when this server last read them (Redis Streams)",
    ),
}


def _families() -> dict[str, Family]:
    return {
        name: Family(name, kind, text, labels, mode or "livesum")
        for name, (kind, labels, mode, text) in FAMILIES.items()
    }


def read(sio: Server, counts: Counting, now: float) -> list[Family]:
    """Every family, as of now (``now``: ``sio.concurrency.monotonic()``)."""
    f = _families()
    _read_counts(f, counts)
    _read_sessions(f, sio)
    _read_adapters(f, sio, now)
    return list(f.values())


def _read_counts(f: dict[str, Family], counts: Counting) -> None:
    for name, (events, size) in list(counts.received.items()):
        f["gsio_packets_received"].add((name,), events)
        f["gsio_received_bytes"].add((name,), size)
    for name, (events, size) in list(counts.sent.items()):
        f["gsio_packets_sent"].add((name,), events)
        f["gsio_sent_bytes"].add((name,), size)
    for name, value in list(counts.connections.items()):
        f["gsio_connections"].add((name,), value)
    for labels, value in list(counts.disconnections.items()):
        f["gsio_disconnections"].add(labels, value)
    for code, value in list(counts.refused.items()):
        f["gsio_connection_errors"].add((str(code),), value)
    pending = dict(counts.acks_expected)
    for (name, outcome), value in list(counts.acks_settled.items()):
        f["gsio_acks"].add((name, outcome), value)
        pending[name] = pending.get(name, 0) - value
    for name, value in pending.items():
        # (an ack expected before the metrics came may be settled after: never below 0)
        f["gsio_acks_pending"].add((name,), max(value, 0))


def _read_sessions(f: dict[str, Family], sio: Server) -> None:
    clients = f["gsio_connected_clients"]
    for namespace in list(sio.namespaces.values()):
        for transport in TRANSPORTS:  # (a namespace without clients shows 0, not nothing)
            clients.add((namespace.name, transport), 0)
    sessions, buffered = f["gsio_engine_sessions"], f["gsio_outbound_buffered_bytes"]
    for transport in TRANSPORTS:
        sessions.add((transport,), 0)
        buffered.add((transport,), 0)
    most = late = pong = 0.0
    for socket in list(sio.engine.sockets.values()):
        if socket.closed:
            continue
        transport = socket.transport
        for name, conn in list(getattr(socket.data, "conns", {}).items()):
            if conn.connected:  # (not one in its middleware yet, nor one that left)
                clients.add((name, transport), 1)
        size = socket.buffered_bytes
        sessions.add((transport,), 1)
        buffered.add((transport,), size)
        most = max(most, size)
        late = max(late, socket.session.ping_lateness)
        pong = max(pong, socket.session.pong_wait)
    f["gsio_outbound_buffered_bytes_max"].add((), most)
    f["gsio_heartbeat_lateness_seconds"].add((), late)
    f["gsio_heartbeat_pong_seconds"].add((), pong)


def _links(sio: Server) -> Iterator[tuple[str, Any, Any]]:
    """(adapter kind, its link, its stream reader or None) for each link the namespaces'
    adapters share (once each)."""
    seen: set[int] = set()
    for namespace in list(sio.namespaces.values()):
        adapter = namespace.adapter
        link = getattr(adapter, "link", None)
        if link is None or id(link) in seen or not hasattr(link, "publish_errors"):
            continue
        seen.add(id(link))
        yield type(adapter).__name__, link, getattr(adapter, "reader", None)


def _read_adapters(f: dict[str, Family], sio: Server, now: float) -> None:
    for kind, link, reader in _links(sio):
        for error, value in list(link.publish_errors.items()):
            f["gsio_adapter_publish_errors"].add((kind, error), value)
        f["gsio_adapter_publish_queue"].add((kind,), link.queued)
        since = link.sending_since
        f["gsio_adapter_publish_lag_seconds"].add((kind,), 0.0 if since is None else now - since)
        if reader is not None:
            f["gsio_adapter_stream_lag_seconds"].add((kind,), reader.lag)
