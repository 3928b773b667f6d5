"""The Socket.IO server: namespaces, connections, rooms and broadcast.

- :mod:`~gsio.server.server`: :class:`Server`;
- :mod:`~gsio.server.namespace`: namespaces (static, dynamic, class-based) and dispatch;
- :mod:`~gsio.server.conn`: :class:`~gsio.server.conn.Conn`, one client on one namespace;
- :mod:`~gsio.server.client`: one Engine.IO connection seen from Socket.IO;
- :mod:`~gsio.server.broadcast`: broadcast operators; :mod:`~gsio.server.adapter`: rooms.
"""

from gsio.server.server import Server

__all__ = ["Server"]
