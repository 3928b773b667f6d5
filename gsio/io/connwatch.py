"""Watching the connection of a long-polling request served in a greenlet or a thread.

A request that waits on its client must not outlive it, nor wait for as long as the client
likes (the event loop's own connections, :mod:`gsio.io.pollnative`, do this by their nature):

- :class:`Hangup` tells a waiting GET that its client closed the connection, as Node's
  ``req.on("close")`` tells engine.io ("poll connection closed prematurely");
- :class:`BodyWatch` cuts short the read of a POST body that stalls: when its time is up, or
  when its session ends first (as engine.io destroys a pending data request on close).

Both need the connection's socket, which the WSGI server keeps to itself:
:func:`gsio.io.sockets.server_socket` finds it under gevent's pywsgi (gsio's handler,
gevent-websocket's, pywsgi's own), werkzeug, gunicorn and wsgiref. Under a server that hides
it neither can act: a waiting GET then ends at its poll timeout, and a stalled body read lasts
as long as the server lets it (its own timeouts, if any).
"""

from __future__ import annotations

import _socket
import socket as _stdsocket
from typing import Any, Callable

from gsio.io.concurrency import Concurrency
from gsio.io.sockets import server_socket

__all__ = ["BodyWatch", "Hangup", "peer_gone", "shut", "stop_reading"]

_TCP_INFO = getattr(_stdsocket, "TCP_INFO", None)  # Linux
_ESTABLISHED = 1  # tcpi_state, the first byte of struct tcp_info
_PEEK = _stdsocket.MSG_PEEK | getattr(_stdsocket, "MSG_DONTWAIT", 0)

#: How often a waiting GET looks at its connection when nothing tells it that the client left
#: (a thread cannot watch a socket while it waits; a greenlet can until the client sends more).
CHECK_INTERVAL = 1.0


def _probe(sock: Any) -> Any:
    """A plain socket object on ``sock``'s descriptor: gevent's, and TLS sockets, do not peek.
    Give it back with ``detach()``, never ``close()``."""
    return _socket.socket(fileno=sock.fileno())


def peer_gone(sock: Any) -> bool:
    """Whether the client closed (or reset) the connection; never blocks, reads nothing.

    On Linux a TCP connection's state says so even when unread bytes are in the way (a TLS
    close_notify, a pipelined request); elsewhere an end of stream at the front of what
    arrived does.
    """
    try:
        probe = _probe(sock)
    except OSError:
        return True  # closed already
    try:
        if _TCP_INFO is not None:
            try:
                return probe.getsockopt(_stdsocket.IPPROTO_TCP, _TCP_INFO, 1)[0] != _ESTABLISHED
            except OSError:
                pass  # not TCP (a Unix socket): peek
        try:
            return probe.recv(1, _PEEK) == b""
        except BlockingIOError:
            return False
        except OSError:
            return True  # reset
    finally:
        probe.detach()


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


class Hangup:
    """Notices the client of a waiting request closing the connection ``sock``.

    Under gevent, in the event loop's thread, a watcher on the socket calls ``wake()`` at once;
    the waiter then asks :meth:`gone`. Otherwise (a thread, or bytes the client sent behind the
    request, which a watcher would report without end) the waiter checks every
    :data:`CHECK_INTERVAL` seconds: :attr:`polled` says so.
    """

    __slots__ = ("_sock", "_watch", "_gone", "polled")

    def __init__(self, c: Concurrency, sock: Any, wake: Callable[[], None]) -> None:
        self._sock = sock
        self._gone = False
        self._watch: Any = None
        self.polled = True
        if c.name == "gevent" and c.in_home_thread():

            def on_readable() -> None:
                self._watch.cancel()
                self._watch = None
                if peer_gone(sock):
                    self._gone = True
                self.polled = not self._gone
                wake()

            try:
                self._watch = c.watch_read(sock.fileno(), on_readable)
                self.polled = False
            except (OSError, ValueError):
                self._gone = True

    @classmethod
    def of(cls, c: Concurrency, environ: dict, wake: Callable[[], None]) -> Hangup | None:
        """The watch of the request's connection; None if the server hides its socket."""
        sock = server_socket(environ)
        return None if sock is None else cls(c, sock, wake)

    def gone(self) -> bool:
        """Whether the client has left (checked now, when there is no watcher)."""
        if not self._gone and self.polled:
            self._gone = peer_gone(self._sock)
        return self._gone

    def hang_up(self) -> None:
        """The client is gone: end the connection, so that the answer written to it fails at
        once, as to any client that left (through TLS it would fail otherwise too, loudly)."""
        shut(self._sock, _stdsocket.SHUT_RDWR)

    def cancel(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None


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
        sock = server_socket(environ)
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
