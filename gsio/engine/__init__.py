"""The Engine.IO server: sessions over long-polling and WebSocket, heartbeats, upgrades.

- :mod:`~gsio.engine.server`: :class:`Engine`, :class:`EngineSocket`, :class:`EngineHandler`;
- :mod:`~gsio.engine.polling`: the long-polling transport;
- :mod:`~gsio.engine.websocket`: the WebSocket transport and its backends;
- :mod:`~gsio.engine.wsgi`: :class:`~gsio.engine.wsgi.WSGIApp` and the gevent server helpers.
"""

from gsio.engine.server import Engine, EngineHandler, EngineSocket

__all__ = ["Engine", "EngineHandler", "EngineSocket"]
