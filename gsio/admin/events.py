"""What the server's observers tell, turned into the Admin UI's events.

:class:`Counting` (both modes) counts for ``server_stats``: raw connections and
disconnections, packets and bytes in and out. :class:`Verbose` (development mode) also tells
the UI of each socket that connects, changes or disconnects, each room joined or left and
each event in or out, as Node's ``instrument()`` does.

The observers are called from wherever things happen (the event loop included): they only
count, or queue what the UI is told; a greenlet of their own emits it (see
:class:`~gsio.admin.instrument.Instrumentation`).
"""

from __future__ import annotations

from typing import Any, Callable

from gsio.admin.serialize import (
    ADMIN_KEY,
    NotifyingDict,
    engine_session,
    serialize,
    serialize_data,
    timestamp,
)
from gsio.admin.stats import EventBuffer
from gsio.engine import EngineSocket
from gsio.server.conn import Conn
from gsio.server.observers import Observer

__all__ = ["Counting", "Verbose"]

#: ``tell(event, *args)``: queue an event for the admin namespace.
Tell = Callable[..., None]


class Counting(Observer):
    """Counts what ``server_stats`` reports (``aggregatedEvents``). Outgoing events are counted
    per emit or broadcast (``events_sent``): a broadcast pays no more for being watched."""

    def __init__(self, events: EventBuffer) -> None:
        self.events = events

    def engine_opened(self, socket: EngineSocket) -> None:
        self.events.push("rawConnection")

    def engine_closed(self, socket: EngineSocket, reason: str) -> None:
        self.events.push("rawDisconnection", reason)

    def event_received(self, conn: Conn, event: str, args: list[Any], size: int) -> None:
        traffic = self.events.traffic
        traffic[0] += 1
        traffic[1] += size

    def events_sent(
        self, namespace: str, event: str, args: list[Any], count: int, size: int
    ) -> None:
        traffic = self.events.traffic
        traffic[2] += count
        traffic[3] += count * size


class Verbose(Counting):
    """Counts, and tells the admin namespace ``admin`` of everything (development mode). The
    admin namespace's own events in and out are not told (Node leaves them out too)."""

    def __init__(self, events: EventBuffer, admin: str, tell: Tell) -> None:
        super().__init__(events)
        self.admin = admin
        self.tell = tell

    def connected(self, conn: Conn) -> None:
        nsp = conn.namespace.name
        client_id, transport = engine_session(conn) or ("", "")
        info = {"clientId": client_id, "transport": transport}
        data = conn.data if isinstance(conn.data, dict) else {}
        conn.data = NotifyingDict({**data, ADMIN_KEY: info}, self._data_changed(conn))
        self.tell("socket_connected", serialize(conn, nsp, conn.rooms), timestamp())

    def _data_changed(self, conn: Conn) -> Callable[[NotifyingDict], None]:
        def changed(data: NotifyingDict) -> None:
            nsp = conn.namespace.name
            self.tell("socket_updated", {"id": conn.id, "nsp": nsp, "data": serialize_data(data)})

        return changed

    def engine_upgraded(self, socket: EngineSocket) -> None:
        conns: dict[str, Conn] = getattr(socket.data, "conns", {})
        for conn in list(conns.values()):
            data = conn.data
            if isinstance(data, NotifyingDict):
                info = data.get(ADMIN_KEY)
                if isinstance(info, dict):  # (as Node keeps data._admin.transport)
                    data.set_quietly(ADMIN_KEY, {**info, "transport": socket.transport})
            nsp = conn.namespace.name
            self.tell("socket_updated", {"id": conn.id, "nsp": nsp, "transport": socket.transport})

    def disconnected(self, conn: Conn, reason: str) -> None:
        self.tell("socket_disconnected", conn.namespace.name, conn.id, reason, timestamp())

    def joined(self, namespace: str, room: str, sid: str) -> None:
        self.tell("room_joined", namespace, room, sid, timestamp())

    def left(self, namespace: str, room: str, sid: str) -> None:
        self.tell("room_left", namespace, room, sid, timestamp())

    def event_received(self, conn: Conn, event: str, args: list[Any], size: int) -> None:
        traffic = self.events.traffic
        traffic[0] += 1
        traffic[1] += size
        nsp = conn.namespace.name
        if nsp != self.admin:
            self.tell("event_received", nsp, conn.id, [event, *args], timestamp())

    def event_sent(self, conn: Conn, event: str, args: list[Any], size: int) -> None:
        nsp = conn.namespace.name
        if nsp != self.admin:
            self.tell("event_sent", nsp, conn.id, [event, *args], timestamp())
