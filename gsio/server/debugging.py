"""The server's debug output: observers that log what happens, one line each.

A :class:`~gsio.Server` registers these itself as it is made, each only when its logger is
enabled for DEBUG then (``DEBUG=gsio*`` does it, see :mod:`gsio.debug`; so does
``logging.getLogger("gsio.packet").setLevel(logging.DEBUG)`` before the server is made). With
none enabled the server has no observer, and pays nothing.

- ``gsio.engine``: :class:`EngineDebug`, sessions opened (sid, Engine.IO protocol, transport,
  remote address) and upgraded; their closes and refused requests are logged where they happen.
- ``gsio.socket``: :class:`SocketDebug`, namespace connections accepted, acks expected and
  settled; refusals and disconnects are logged where they happen.
- ``gsio.adapter``: :class:`AdapterDebug`, rooms joined and left; broadcasts are logged by
  :mod:`gsio.server.broadcast`.
- ``gsio.packet``: :class:`PacketDebug`, every event in and out of each connection, its
  arguments as JSON-like text cut at :data:`PREVIEW_LIMIT` characters (binary as
  ``<binary N bytes>``), and its size.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from gsio.engine import EngineSocket
from gsio.server.conn import Conn
from gsio.server.observers import Observer, Observers

__all__ = [
    "PREVIEW_LIMIT",
    "AdapterDebug",
    "EngineDebug",
    "PacketDebug",
    "SocketDebug",
    "observe",
    "preview",
]

_DEBUG = logging.DEBUG

#: The most characters of a packet's arguments a ``gsio.packet`` line shows.
PREVIEW_LIMIT = 200

_MAX_DEPTH = 8  # nesting shown before "[…]" (and what stops a list that holds itself)


class _Full(Exception):
    """The preview is long enough: stop walking the value."""


class _Preview:
    """JSON-like text of a value, built piece by piece until ``room`` runs out."""

    __slots__ = ("parts", "room")

    def __init__(self, room: int) -> None:
        self.parts: list[str] = []
        self.room = room

    def put(self, text: str) -> None:
        self.parts.append(text)
        self.room -= len(text)
        if self.room < 0:
            raise _Full

    def value(self, v: Any, depth: int) -> None:
        t = type(v)
        if v is None:
            self.put("null")
        elif t is bool:
            self.put("true" if v else "false")
        elif isinstance(v, str):
            # Cut before quoting: a huge string costs no more than the preview.
            self.put(json.dumps(v[: self.room + 1], ensure_ascii=False))
        elif isinstance(v, (bytes, bytearray, memoryview)):
            self.put(f"<binary {v.nbytes if isinstance(v, memoryview) else len(v)} bytes>")
        elif isinstance(v, (int, float)):
            try:
                self.put(repr(v))
            except ValueError:  # an int past the digits Python converts to text
                self.put(f"<int of {int(v).bit_length()} bits>")
        elif isinstance(v, dict):
            if depth >= _MAX_DEPTH:
                self.put("{…}")
                return
            self.put("{")
            for i, (key, item) in enumerate(v.items()):
                if i:
                    self.put(", ")
                self.value(key if isinstance(key, str) else str(key), depth + 1)
                self.put(": ")
                self.value(item, depth + 1)
            self.put("}")
        elif isinstance(v, (list, tuple)):
            if depth >= _MAX_DEPTH:
                self.put("[…]")
                return
            self.put("[")
            for i, item in enumerate(v):
                if i:
                    self.put(", ")
                self.value(item, depth + 1)
            self.put("]")
        else:
            try:
                text = repr(v)
            except Exception:
                text = f"<{t.__name__}>"
            self.put(text[: self.room + 1])


def preview(value: Any, limit: int = PREVIEW_LIMIT) -> str:
    """``value`` as JSON-like text of at most ``limit`` characters, then "…" if it was cut.
    Binary shows as ``<binary N bytes>``, what JSON has no word for as its ``repr``. It never
    raises: a value that cannot be shown (a ``repr`` that fails, a dict changing meanwhile)
    ends with ``<unprintable>``."""
    writer = _Preview(limit)
    try:
        writer.value(value, 0)
    except _Full:
        pass
    except Exception:
        writer.parts.append("<unprintable>")
    text = "".join(writer.parts)
    if len(text) > limit:
        text = text[:limit] + "…"
    # Lone surrogates (from JSON's \ud800 escapes) would make a strict handler fail.
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _session(conn: Conn) -> str:
    """The Engine.IO session under a connection, and its transport (for the log)."""
    transport = getattr(conn.client, "transport", None)
    if transport is None:
        return "no session"
    return f"session {transport.sid}, {getattr(transport, 'transport', '?')}"


class EngineDebug(Observer):
    """``gsio.engine``: sessions opened and upgraded."""

    log = logging.getLogger("gsio.engine")

    def engine_opened(self, socket: EngineSocket) -> None:
        environ = socket.environ
        address = environ.get("REMOTE_ADDR", "?")
        if environ.get("REMOTE_PORT"):
            address = f"{address}:{environ['REMOTE_PORT']}"
        self.log.debug(
            "%s: handshake, EIO=%s, %s, from %s",
            socket.sid,
            socket.protocol,
            socket.transport,
            address,
        )

    def engine_upgraded(self, socket: EngineSocket) -> None:
        self.log.debug("%s: upgraded to %s", socket.sid, socket.transport)


class SocketDebug(Observer):
    """``gsio.socket``: namespace connections accepted, acks expected and settled."""

    log = logging.getLogger("gsio.socket")

    def connected(self, conn: Conn) -> None:
        self.log.debug("%s: %s connected (%s)", conn.id, conn.namespace.name, _session(conn))

    def ack_pending(self, conn: Conn, ack_id: int) -> None:
        self.log.debug("%s: %s ack %d expected", conn.id, conn.namespace.name, ack_id)

    def ack_done(self, conn: Conn, ack_id: int, outcome: str) -> None:
        self.log.debug("%s: %s ack %d %s", conn.id, conn.namespace.name, ack_id, outcome)


class AdapterDebug(Observer):
    """``gsio.adapter``: rooms joined and left."""

    log = logging.getLogger("gsio.adapter")

    def joined(self, namespace: str, room: str, sid: str) -> None:
        self.log.debug("%s: %s joined room %r", sid, namespace, room)

    def left(self, namespace: str, room: str, sid: str) -> None:
        self.log.debug("%s: %s left room %r", sid, namespace, room)


class PacketDebug(Observer):
    """``gsio.packet``: each event in and out, previewed (see :func:`preview`)."""

    log = logging.getLogger("gsio.packet")

    def event_received(self, conn: Conn, event: str, args: list[Any], size: int) -> None:
        if self.log.isEnabledFor(_DEBUG):
            self.log.debug(
                "%s: %s received %s (%d bytes)",
                conn.id,
                conn.namespace.name,
                preview([event, *args]),
                size,
            )

    def event_sent(self, conn: Conn, event: str, args: list[Any], size: int) -> None:
        if self.log.isEnabledFor(_DEBUG):
            self.log.debug(
                "%s: %s sent %s (%d bytes)",
                conn.id,
                conn.namespace.name,
                preview([event, *args]),
                size,
            )


_OBSERVERS = (EngineDebug, SocketDebug, AdapterDebug, PacketDebug)


def observe(observers: Observers) -> None:
    """Add the debug observers whose logger is enabled for DEBUG now (none, usually)."""
    for kind in _OBSERVERS:
        if kind.log.isEnabledFor(_DEBUG):
            observers.add(kind())
