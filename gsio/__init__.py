"""gsio: a Socket.IO v4 server for Python, on gevent and WSGI."""

from gsio import debug
from gsio.engine import Engine, EngineHandler, EngineSocket
from gsio.engine.wsgi import WSGIApp, make_server, serve, serve_until_stopped
from gsio.exceptions import (
    AckTimeout,
    ClusterTimeout,
    ConnectionClosed,
    ConnectionRefused,
    GsioError,
    PayloadTooLarge,
    ProtocolError,
)
from gsio.server import Server
from gsio.server.adapter import Adapter, BroadcastOptions
from gsio.server.broadcast import BroadcastOperator
from gsio.server.conn import Conn, Handshake, Message
from gsio.server.namespace import Namespace

__version__ = "0.1.0"

debug.enable_from_environment()

_CLUSTER = {
    "create_redis_adapter": "gsio.cluster.redis",
    "RedisAdapter": "gsio.cluster.redis",
    "Emitter": "gsio.cluster.emitter",
    "RemoteConn": "gsio.cluster.remote",
}


# Submodules for a framework or a tool (Flask, gunicorn, tests): ``gsio.flask.init_app`` works
# after ``import gsio``, which imports none of them (nor Flask or gunicorn) until first used.
_SUBMODULES = ("flask", "gunicorn", "testing")


def __getattr__(name: str) -> object:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"gsio.{name}")
    # The cluster needs redis and msgpack (gsio[redis]); import it only when asked for.
    module = _CLUSTER.get(name)
    if module is None:
        raise AttributeError(f"module 'gsio' has no attribute {name!r}")
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ImportError(
            f"gsio.{name} needs redis and msgpack: pip install gsio[redis] ({exc})"
        ) from exc


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
    "serve_until_stopped",
    "GsioError",
    "ProtocolError",
    "PayloadTooLarge",
    "ConnectionClosed",
    "ConnectionRefused",
    "AckTimeout",
    "ClusterTimeout",
    "create_redis_adapter",
    "RedisAdapter",
    "Emitter",
    "RemoteConn",
    "__version__",
]
