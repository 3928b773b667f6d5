"""``server_stats``: what the Admin UI's dashboard graphs, every 2 seconds.

As Node's ``instrument()``: the server's id, host name, pid and uptime, its Engine.IO
clients (and how many still poll), each namespace's socket count, and the events counted
since the last report (``aggregatedEvents``: ``rawConnection``, ``rawDisconnection`` by
reason, ``packetsIn``/``packetsOut``, ``bytesIn``/``bytesOut``), each per second.
"""

from __future__ import annotations

import os
import socket
import time
from typing import Any

from gsio.io.concurrency import Concurrency
from gsio.server.server import Server

__all__ = ["EventBuffer", "ServerStats", "server_id"]

#: When gsio.admin was imported: the uptime counts from there (Node: the process's).
_STARTED = time.monotonic()


def server_id(given: str | None) -> str:
    """``given``, or ``<host name>#<pid>``: several processes of one host (gunicorn's
    workers) are several servers to the UI."""
    return given or f"{socket.gethostname()}#{os.getpid()}"


_TRAFFIC = ("packetsIn", "bytesIn", "packetsOut", "bytesOut")


class EventBuffer:
    """Counts of events per second, type and sub-type (Node's ``EventBuffer``).

    Packets and bytes (one count per message) go to plain integers, :attr:`traffic`, which
    :meth:`roll` (every second) files under the second it runs in: no clock, no lock, no key
    per message."""

    def __init__(self, concurrency: Concurrency) -> None:
        self._lock = concurrency.state_lock()
        self._counts: dict[tuple[int, str, str | None], int] = {}
        #: packets in, bytes in, packets out, bytes out since the last roll().
        self.traffic = [0, 0, 0, 0]

    def push(self, type: str, sub_type: str | None = None, count: int = 1) -> None:
        key = (int(time.time()) * 1000, type, sub_type)
        with self._lock:
            counts = self._counts
            counts[key] = counts.get(key, 0) + count

    def roll(self) -> None:
        """File the packets and bytes counted since the last roll under this second."""
        traffic, self.traffic = self.traffic, [0, 0, 0, 0]
        second = int(time.time()) * 1000
        with self._lock:
            counts = self._counts
            for name, count in zip(_TRAFFIC, traffic):
                if count:
                    key = (second, name, None)
                    counts[key] = counts.get(key, 0) + count

    def take(self) -> list[dict[str, Any]]:
        """The counts so far, as the UI reads them; the buffer starts anew."""
        self.roll()
        with self._lock:
            counts, self._counts = self._counts, {}
        values = []
        for (second, type, sub_type), count in counts.items():
            value: dict[str, Any] = {"timestamp": second, "type": type, "count": count}
            if sub_type is not None:  # (JSON.stringify leaves an undefined subType out)
                value["subType"] = sub_type
            values.append(value)
        return values


class ServerStats:
    """Makes the ``server_stats`` payload of one server."""

    def __init__(self, sio: Server, events: EventBuffer, given_id: str | None) -> None:
        self.sio = sio
        self.events = events
        self.base = {
            "serverId": server_id(given_id),
            "hostname": socket.gethostname(),
            "pid": os.getpid(),
        }

    def report(self) -> dict[str, Any]:
        sio = self.sio
        sockets = list(sio.engine.sockets.values())
        return {
            **self.base,
            "uptime": time.monotonic() - _STARTED,
            "clientsCount": len(sockets),
            "pollingClientsCount": sum(1 for s in sockets if s.transport == "polling"),
            "aggregatedEvents": self.events.take(),
            "namespaces": [
                {"name": name, "socketsCount": len(namespace.conns)}
                for name, namespace in list(sio.namespaces.items())
            ],
        }
