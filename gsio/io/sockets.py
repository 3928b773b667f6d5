"""Finding and tuning the socket under a WSGI request: the helpers that the WebSocket backends
and the connection watches (:mod:`gsio.io.connwatch`) share."""

from __future__ import annotations

import socket as socketlib
from typing import Any

__all__ = ["server_socket", "dup_socket", "nodelay"]


def server_socket(environ: dict[str, Any]) -> Any:
    """The connection's socket as the WSGI server holds it (None if it cannot be found).

    werkzeug and gunicorn put it in the environ; gevent's pywsgi and wsgiref (which Django's
    runserver is built on) have it behind ``wsgi.input``, a file on the socket that pywsgi
    wraps in an ``Input`` and Django in a ``LimitedStream``.
    """
    for key in ("werkzeug.socket", "gunicorn.socket"):
        if environ.get(key) is not None:
            return environ[key]
    stream = environ.get("wsgi.input")
    stream = getattr(stream, "rfile", stream)  # gevent's pywsgi
    stream = getattr(getattr(stream, "_read", None), "__self__", stream)  # Django's LimitedStream
    return getattr(getattr(stream, "raw", None), "_sock", None)


def dup_socket(sock: Any) -> Any:
    """A duplicate of ``sock`` (``sock`` itself when it cannot be duplicated: TLS)."""
    try:
        return sock.dup()
    except (NotImplementedError, OSError):  # an SSL socket cannot be duplicated
        return sock


def nodelay(sock: Any) -> None:
    """Set ``TCP_NODELAY`` where the socket allows it: each write leaves at once."""
    try:
        sock.setsockopt(socketlib.IPPROTO_TCP, socketlib.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass
