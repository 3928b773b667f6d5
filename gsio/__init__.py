"""gsio: a Socket.IO v4 server for Python, on gevent and WSGI."""

from gsio.engine import Engine, EngineHandler, EngineSocket
from gsio.exceptions import (
    AckTimeout,
    ConnectionClosed,
    ConnectionRefused,
    GsioError,
    PayloadTooLarge,
    ProtocolError,
)
from gsio.wsgi import WSGIApp, serve

__version__ = "0.1.0"

__all__ = [
    "Engine",
    "EngineHandler",
    "EngineSocket",
    "WSGIApp",
    "serve",
    "GsioError",
    "ProtocolError",
    "PayloadTooLarge",
    "ConnectionClosed",
    "ConnectionRefused",
    "AckTimeout",
    "__version__",
]
