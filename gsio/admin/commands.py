"""What an admin may do from the UI (unless ``readonly``): ``emit``, ``join``, ``leave`` and
``_disconnect``, on a namespace, to every socket of it or those of one room (a socket id is
a room too), as Node's ``instrument()`` handles them. They go through the namespace's
broadcast operators, so they reach the sockets of every server of a cluster."""

from __future__ import annotations

import logging
from typing import Any

from gsio.server.broadcast import Broadcasting, BroadcastOperator
from gsio.server.conn import Conn
from gsio.server.namespace import Namespace
from gsio.server.server import Server

__all__ = ["FEATURES", "register_commands"]

log = logging.getLogger("gsio.admin")

#: What the UI may ask of this server (``config``'s ``supportedFeatures``), commands first.
FEATURES = ("EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT")


def _target(
    sio: Server, conn: Conn, command: str, nsp: Any, filter: Any
) -> Broadcasting | BroadcastOperator | None:
    """The sockets a command is for: namespace ``nsp``, room ``filter`` if one is given."""
    if (
        not isinstance(nsp, str)
        or not nsp.startswith("/")
        or not isinstance(filter, (str, type(None)))
    ):
        log.info("%s: admin command %r with a bad namespace or filter: ignored", conn.id, command)
        return None
    namespace = sio.namespace_for(nsp, {}) or sio.of(nsp)  # (as Node: io.of(nsp))
    return namespace.to(filter) if filter else namespace


def _room(conn: Conn, command: str, room: Any) -> bool:
    if isinstance(room, str) and room:
        return True
    log.info("%s: admin command %r without a room name: ignored", conn.id, command)
    return False


def register_commands(sio: Server, admin: Namespace) -> None:
    """Handle the UI's commands on the admin namespace."""

    @admin.on("emit")
    def emit(
        conn: Conn, nsp: Any = None, filter: Any = None, event: Any = None, *args: Any
    ) -> None:
        target = _target(sio, conn, "emit", nsp, filter)
        if target is None:
            return
        if not isinstance(event, str) or not event:
            log.info("%s: admin command 'emit' without an event name: ignored", conn.id)
            return
        try:
            target.emit(event, *args)
        except ValueError as exc:  # a reserved event name
            log.info("%s: admin command 'emit' refused: %s", conn.id, exc)

    @admin.on("join")
    def join(conn: Conn, nsp: Any = None, room: Any = None, filter: Any = None) -> None:
        target = _target(sio, conn, "join", nsp, filter)
        if target is not None and _room(conn, "join", room):
            target.sockets_join(room)

    @admin.on("leave")
    def leave(conn: Conn, nsp: Any = None, room: Any = None, filter: Any = None) -> None:
        target = _target(sio, conn, "leave", nsp, filter)
        if target is not None and _room(conn, "leave", room):
            target.sockets_leave(room)

    @admin.on("_disconnect")
    def disconnect(conn: Conn, nsp: Any = None, close: Any = False, filter: Any = None) -> None:
        target = _target(sio, conn, "_disconnect", nsp, filter)
        if target is not None:
            target.disconnect_sockets(bool(close))
