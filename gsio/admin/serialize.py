"""Sockets as the Admin UI reads them (``SerializedSocket``), and a ``conn.data`` that tells
its changes.

As Node's ``instrument()``, development mode keeps the socket's client id and transport in
``conn.data["_admin"]`` (so that they travel with the socket across a cluster, in
``fetch_sockets()``) and leaves that key out of the ``data`` it shows.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable, Protocol

from gsio.server.handshake import Handshake

__all__ = [
    "NotifyingDict",
    "admin_info",
    "engine_session",
    "serialize",
    "serialize_data",
    "timestamp",
]

ADMIN_KEY = "_admin"


class Serializable(Protocol):
    """A local :class:`~gsio.Conn` or a :class:`~gsio.RemoteConn`."""

    id: str
    handshake: Handshake
    data: Any


def timestamp() -> str:
    """Now, as ``JSON.stringify(new Date())`` writes it: ``2024-05-01T12:00:00.123Z``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def serialize_data(data: Any) -> Any:
    """``conn.data`` without the Admin UI's own key."""
    if isinstance(data, dict):
        return {key: value for key, value in data.items() if key != ADMIN_KEY}
    return data


def admin_info(data: Any) -> dict[str, Any]:
    """The ``_admin`` entry of ``conn.data`` (client id and transport), or {}."""
    if isinstance(data, dict):
        info = data.get(ADMIN_KEY)
        if isinstance(info, dict):
            return info
    return {}


def engine_session(conn: object) -> tuple[str, str] | None:
    """A local connection's client id (its Engine.IO session's, cut to 12 characters, as
    Node's) and transport ("polling", "websocket"); None for a remote one."""
    session: Any = getattr(getattr(conn, "client", None), "transport", None)
    if session is None:
        return None
    return session.sid[:12], session.transport


def serialize(conn: Serializable, nsp: str, rooms: set[str] | list[str]) -> dict[str, Any]:
    """The socket as Node's admin server sends it (``socket_connected``, ``all_sockets``)."""
    handshake = conn.handshake
    headers = handshake.headers if isinstance(handshake.headers, dict) else {}
    info = admin_info(conn.data)
    client_id, transport = info.get("clientId"), info.get("transport")
    here = engine_session(conn)  # (a local Conn's: as it is now)
    if here is not None:
        client_id, transport = here
    return {
        "id": conn.id,
        "clientId": client_id,
        "transport": transport,
        "nsp": nsp,
        "data": serialize_data(conn.data),
        "handshake": {
            "address": headers.get("cf-connecting-ip")
            or headers.get("x-forwarded-for")
            or handshake.address,
            "headers": headers,
            "query": handshake.query,
            "issued": handshake.issued,
            "secure": handshake.secure,
            "time": handshake.time,
            "url": handshake.url,
            "xdomain": handshake.xdomain,
            # (not auth: it may hold secrets, as Node leaves it out)
        },
        # Its own room first, as Node's Set keeps the order rooms were joined in.
        "rooms": sorted(rooms, key=lambda room: (room != conn.id, room)),
    }


class NotifyingDict(dict):
    """A dict that calls ``on_change(self)`` after each change made through it (of its own
    keys: a change inside a value is not seen). ``conn.data`` in development mode."""

    __slots__ = ("on_change",)

    def __init__(self, values: dict, on_change: Callable[[NotifyingDict], None]) -> None:
        super().__init__(values)
        self.on_change = on_change

    def __reduce__(self) -> Any:  # (copied or pickled as a plain dict)
        return (dict, (dict(self),))

    def __setitem__(self, key: Any, value: Any) -> None:
        super().__setitem__(key, value)
        self.on_change(self)

    def __delitem__(self, key: Any) -> None:
        super().__delitem__(key)
        self.on_change(self)

    def __ior__(self, other: Any) -> NotifyingDict:  # type: ignore[misc]
        super().update(other)
        self.on_change(self)
        return self

    def update(self, *args: Any, **kwargs: Any) -> None:
        super().update(*args, **kwargs)
        self.on_change(self)

    def setdefault(self, key: Any, default: Any = None) -> Any:
        if key in self:
            return self[key]
        self[key] = default
        return default

    def pop(self, key: Any, *default: Any) -> Any:
        had = key in self
        value = super().pop(key, *default)
        if had:
            self.on_change(self)
        return value

    def popitem(self) -> tuple[Any, Any]:
        item = super().popitem()
        self.on_change(self)
        return item

    def clear(self) -> None:
        super().clear()
        self.on_change(self)

    def set_quietly(self, key: Any, value: Any) -> None:
        """Set ``key`` without telling (the Admin UI's own entry)."""
        super().__setitem__(key, value)
