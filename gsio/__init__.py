"""gsio: a Socket.IO v4 server for Python, on gevent and WSGI.

The public names resolve on first use (PEP 562): ``import gsio`` loads only this module and
:mod:`gsio.exceptions`, so the pure protocol core (:mod:`gsio.protocol`) imports alone, without
the server, the engine or gevent; ``gsio.Server`` (or ``from gsio import Server``) imports the
server then.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from gsio.exceptions import (
    AckTimeout,
    ClusterTimeout,
    ConnectionClosed,
    ConnectionRefused,
    FileTooLarge,
    GsioError,
    PayloadTooLarge,
    ProtocolError,
    RequestRefused,
)

if TYPE_CHECKING:
    from gsio.admin import Instrumentation, instrument
    from gsio.cluster.emitter import Emitter
    from gsio.cluster.host import create_host_adapter
    from gsio.cluster.redis import RedisAdapter, create_redis_adapter
    from gsio.cluster.remote import RemoteConn
    from gsio.cluster.streams import RedisStreamsAdapter, create_redis_streams_adapter
    from gsio.engine import Engine, EngineHandler, EngineSocket
    from gsio.engine.wsgi import WSGIApp, make_server, serve, serve_until_stopped
    from gsio.server import Server
    from gsio.server.adapter import Adapter, BroadcastOptions
    from gsio.server.broadcast import BroadcastOperator
    from gsio.server.conn import Conn, Handshake, Message
    from gsio.server.namespace import Namespace
    from gsio.server.observers import Observation, Observer

__version__ = "0.1.0"

# DEBUG=gsio* turns on debug output whatever part of gsio is used (gsio.debug is loaded only then).
if "gsio" in os.environ.get("DEBUG", ""):
    from gsio import debug

    debug.enable_from_environment()

# Public name -> the module that defines it.
_LAZY = {
    "Engine": "gsio.engine",
    "EngineHandler": "gsio.engine",
    "EngineSocket": "gsio.engine",
    "WSGIApp": "gsio.engine.wsgi",
    "make_server": "gsio.engine.wsgi",
    "serve": "gsio.engine.wsgi",
    "serve_until_stopped": "gsio.engine.wsgi",
    "Server": "gsio.server",
    "Adapter": "gsio.server.adapter",
    "BroadcastOptions": "gsio.server.adapter",
    "BroadcastOperator": "gsio.server.broadcast",
    "Conn": "gsio.server.conn",
    "Handshake": "gsio.server.conn",
    "Message": "gsio.server.conn",
    "Namespace": "gsio.server.namespace",
    "Observer": "gsio.server.observers",
    "Observation": "gsio.server.observers",
    "instrument": "gsio.admin",
    "Instrumentation": "gsio.admin",
}

# The cluster needs redis and msgpack (gsio[redis]).
_CLUSTER = {
    "create_redis_adapter": "gsio.cluster.redis",
    "RedisAdapter": "gsio.cluster.redis",
    "create_redis_streams_adapter": "gsio.cluster.streams",
    "RedisStreamsAdapter": "gsio.cluster.streams",
    "Emitter": "gsio.cluster.emitter",
    "create_host_adapter": "gsio.cluster.host",
    "RemoteConn": "gsio.cluster.remote",
}

# Submodules for a framework or a tool (Flask, gunicorn, tests): ``gsio.flask.init_app`` works
# after ``import gsio``, which imports none of them (nor Flask or gunicorn) until first used.
_SUBMODULES = ("flask", "gunicorn", "testing")


def __getattr__(name: str) -> object:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"gsio.{name}")
    module = _LAZY.get(name)
    if module is not None:
        value = getattr(importlib.import_module(module), name)
        globals()[name] = value  # resolved once: the next look-up is a plain global
        return value
    module = _CLUSTER.get(name)
    if module is None:
        raise AttributeError(f"module 'gsio' has no attribute {name!r}")
    try:
        return getattr(importlib.import_module(module), name)
    except ImportError as exc:
        raise ImportError(
            f"gsio.{name} needs redis and msgpack: pip install gsio[redis] ({exc})"
        ) from exc


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__, *_SUBMODULES})


__all__ = [
    "Server",
    "Namespace",
    "Conn",
    "Message",
    "Handshake",
    "Observer",
    "Observation",
    "BroadcastOperator",
    "instrument",
    "Instrumentation",
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
    "RequestRefused",
    "FileTooLarge",
    "ConnectionClosed",
    "ConnectionRefused",
    "AckTimeout",
    "ClusterTimeout",
    "create_redis_adapter",
    "RedisAdapter",
    "create_redis_streams_adapter",
    "RedisStreamsAdapter",
    "Emitter",
    "RemoteConn",
    "create_host_adapter",
    "__version__",
]
