"""The Engine.IO server: sessions over long-polling and WebSocket, heartbeats, upgrades.

- :mod:`~gsio.engine.server`: :class:`Engine`: the session table, the request entry points;
- :mod:`~gsio.engine.socket`: :class:`EngineSocket` (one session: sending, the heartbeat,
  closing) and :class:`EngineHandler`;
- :mod:`~gsio.engine.base`: :class:`~gsio.engine.base.EngineView`, what the transports see of
  the engine;
- :mod:`~gsio.engine.polling`: the long-polling transport;
- :mod:`~gsio.engine.websocket`: the WebSocket transport (the backends are in :mod:`gsio.io`);
- :mod:`~gsio.engine.wsgi`: :class:`~gsio.engine.wsgi.WSGIApp` and the gevent server helpers.
"""

from gsio.engine.server import Engine
from gsio.engine.socket import EngineHandler, EngineSocket

__all__ = ["Engine", "EngineHandler", "EngineSocket"]
