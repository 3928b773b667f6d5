"""gsio: a Socket.IO v4 server for Python, on gevent and WSGI."""

from gsio import debug
from gsio.adapter import Adapter, BroadcastOptions
from gsio.broadcast import BroadcastOperator
from gsio.conn import Conn, Handshake, Message
from gsio.engine import Engine, EngineHandler, EngineSocket
from gsio.exceptions import (
    AckTimeout,
    ConnectionClosed,
    ConnectionRefused,
    GsioError,
    PayloadTooLarge,
    ProtocolError,
)
from gsio.namespace import Namespace
from gsio.server import Server
from gsio.wsgi import WSGIApp, make_server, serve

__version__ = "0.1.0"

debug.enable_from_environment()

__all__ = [
    "Server",
    "Namespace",
    "Conn",
    "Message",
    "Handshake",
    "BroadcastOperator",
    "Adapter",
    "BroadcastOptions",
    "Engine",
    "EngineHandler",
    "EngineSocket",
    "WSGIApp",
    "serve",
    "make_server",
    "GsioError",
    "ProtocolError",
    "PayloadTooLarge",
    "ConnectionClosed",
    "ConnectionRefused",
    "AckTimeout",
    "__version__",
]
