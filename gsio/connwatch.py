"""Watching the connection of a long-polling request served in a greenlet or a thread.

A request that waits on its client must not wait for as long as the client likes (the event
loop's own connections, :mod:`gsio.pollnative`, do this by their nature):

- :class:`BodyWatch` cuts short the read of a POST body that stalls: when its time is up, or
  when its session ends first (as engine.io destroys a pending data request on close).

Both need the connection's socket, which the WSGI server keeps to itself:
:func:`gsio.websocket._server_socket` finds it under gevent's pywsgi (gsio's handler,
gevent-websocket's, pywsgi's own), werkzeug, gunicorn and wsgiref. Under a server that hides
it, a stalled body read lasts as long as the server lets it (its own timeouts, if any).
"""

from __future__ import annotations

import _socket
import logging
import socket as _stdsocket
from typing import Any

from gsio.concurrency import Concurrency
from gsio.websocket import _server_socket

__all__ = ["BodyWatch", "shut", "stop_reading"]

log = logging.getLogger("gsio.engine")


def _probe(sock: Any) -> Any:
    """A plain socket object on ``sock``'s descriptor: gevent's, and TLS sockets, do not peek.
    Give it back with ``detach()``, never ``close()``."""
    return _socket.socket(fileno=sock.fileno())


def _tls(sock: Any) -> bool:
    return hasattr(sock, "_sslobj")  # the standard library's and gevent's SSLSocket


def shut(sock: Any, how: int) -> None:
    """Shut the connection down (``SHUT_RD``, ``SHUT_RDWR``) under whoever holds it: a read
    blocked on it, in any greenlet or thread, returns the end of the stream; after
    ``SHUT_RDWR`` a write fails as to a client that left (EPIPE), which servers take quietly."""
    try:
        probe = _probe(sock)
    except OSError:
        return
    try:
        probe.shutdown(how)
    except OSError:
        pass  # gone already
    finally:
        probe.detach()


def stop_reading(sock: Any) -> None:
    """End the reading side of the connection: a read blocked on it returns the end of the
    stream. On plain TCP the response can still be written; not through TLS, whose layer fails
    once its read does: then the connection is shut down altogether."""
    shut(sock, _stdsocket.SHUT_RDWR if _tls(sock) else _stdsocket.SHUT_RD)


class BodyWatch:
    """Cuts short the read of a request body on ``sock`` after ``timeout`` seconds, or at
    :meth:`stop`: the blocked read returns the end of the stream, and :attr:`stopped` says
    why. :meth:`finish` once the read is over (whatever its outcome)."""

    __slots__ = ("_sock", "_lock", "_timer", "_done", "stopped")

    def __init__(self, c: Concurrency, sock: Any, timeout: float) -> None:
        self._sock = sock
        self._lock = c.state_lock()
        self._done = False
        self.stopped: str | None = None
        self._timer = c.call_later(timeout, lambda: self.stop("timed out"))

    @classmethod
    def of(cls, c: Concurrency, environ: dict, timeout: float) -> BodyWatch | None:
        """The watch of the request's body read; None if the server hides its socket."""
        sock = _server_socket(environ)
        return None if sock is None else cls(c, sock, timeout)

    def stop(self, why: str) -> None:
        """Cut the read short (from any greenlet or thread, or a timer: never blocks)."""
        with self._lock:
            if self._done or self.stopped is not None:
                return
            self.stopped = why
            # Under the lock: once finish() has returned, the socket is the server's again.
            stop_reading(self._sock)

    def finish(self) -> None:
        with self._lock:
            self._done = True
            self._timer.cancel()
