"""The Socket.IO server: namespaces, connections, rooms and broadcast.

Its modules import one way, lowest first (what a lower one needs of a higher one is a
``typing.Protocol``, see :mod:`~gsio.server.interfaces`):

- :mod:`~gsio.server.recipients`: :class:`~gsio.server.recipients.Recipients`, who a broadcast
  reaches (rooms, excluded rooms, flags); :mod:`~gsio.server.handshake`: what a client sent;
- :mod:`~gsio.server.files`: file-like objects in an emit's arguments, read (within
  ``max_payload``) before the packet is encoded;
- :mod:`~gsio.server.interfaces`: the Protocols at the seams (the transport under a client, the
  server, a connection as the adapter and ``fetch_sockets()`` see it);
- :mod:`~gsio.server.adapter`: rooms and delivery; :mod:`~gsio.server.broadcast`: broadcast
  operators and the broadcasting surface that Server and Namespace share;
- :mod:`~gsio.server.conn`: :class:`~gsio.server.conn.Conn`, one client on one namespace;
- :mod:`~gsio.server.namespace`: namespaces (static, dynamic, class-based) and dispatch;
  :mod:`~gsio.server.runner`: the shared greenlets that run event handlers (gevent);
- :mod:`~gsio.server.client`: one client's Socket.IO connection over its transport;
- :mod:`~gsio.server.observers`: watching a running server; :mod:`~gsio.server.debugging`: the
  ``DEBUG=gsio*`` output, told by observers;
- :mod:`~gsio.server.server`: :class:`Server`.

This package imports :class:`Server` only when first asked for, so that importing one of its
low modules (``gsio.server.recipients``, as the Emitter does) need not load the server and the
engine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gsio.server.server import Server

__all__ = ["Server"]


def __getattr__(name: str) -> Any:
    if name == "Server":
        from gsio.server.server import Server

        return Server
    raise AttributeError(f"module 'gsio.server' has no attribute {name!r}")
