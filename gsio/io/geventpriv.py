"""Every private name of gevent's that gsio relies on, in one place, and the pieces built on them.

gsio's pywsgi handler (:mod:`gsio.io.handler`, :mod:`gsio.io.checked`) is pywsgi's own
``WSGIHandler`` with a few of its methods overridden, and reads and writes gevent's sockets
below their public methods where a system call per request is to be saved. Those names are
not gevent's API: setup.cfg pins the gevent range they are known in (``gevent>=22.10,<27``),
and tests/io/test_gevent_private.py checks each name of :data:`PRIVATE_NAMES` (and a method's
parameters), so that a gevent upgrade that changes one fails loudly instead of misbehaving.
"""

from __future__ import annotations

import functools
import io
import time
from typing import Any

from gevent import pywsgi

__all__ = [
    "PRIVATE_NAMES",
    "NOOP_LOG",
    "SocketReader",
    "plain_gevent_socket",
    "raw_socket",
    "send_now",
]

#: (object, name, the leading parameters of a method after ``self``, or None for an
#: attribute): the private names gsio uses. The ``pywsgi.WSGIHandler`` methods are overridden
#: or called by gsio's handler; the socket's are gevent's Python 3 socket's attributes (of an
#: instance: ``gevent.socket.socket``; ``_sslobj`` of ``gevent.ssl.SSLSocket``'s).
PRIVATE_NAMES: list[tuple[str, str, tuple[str, ...] | None]] = [
    ("gevent.pywsgi.WSGIHandler", "_check_http_version", ()),  # overridden
    ("gevent.pywsgi.WSGIHandler", "_sendall", ("data",)),  # overridden
    ("gevent.pywsgi.WSGIHandler", "_write_with_headers", ("data",)),  # overridden
    ("gevent.pywsgi.WSGIHandler", "_write", ("data",)),  # called
    ("gevent.pywsgi.WSGIHandler", "_handle_client_error", ("ex",)),  # called
    ("gevent.pywsgi.WSGIHandler", "_orig_status", None),  # set (the access log's status)
    ("gevent.pywsgi", "_NoopLog", None),  # the server's log when there is none
    ("gevent.socket.socket", "_sock", None),  # the plain socket under gevent's
    ("gevent.socket.socket", "_wait", ("watcher", "timeout_exc")),
    ("gevent.socket.socket", "_read_event", None),
    ("gevent.ssl.SSLSocket", "_sslobj", None),  # what tells a TLS socket apart
]

NOOP_LOG: Any = getattr(pywsgi, "_NoopLog", ())  # pywsgi's log when there is none


def plain_gevent_socket(sock: Any) -> bool:
    """Whether ``sock`` is a gevent socket without TLS, whose plain socket gsio may use."""
    return (
        hasattr(sock, "_sock")
        and hasattr(sock, "_wait")
        and hasattr(sock, "_read_event")
        and not hasattr(sock, "_sslobj")
    )


def raw_socket(sock: Any) -> Any:
    """The plain (non-blocking) socket under a gevent socket without TLS; else None."""
    return None if hasattr(sock, "_sslobj") else getattr(sock, "_sock", None)


def send_now(sock: Any, data: bytes | bytearray) -> None:
    """``sock.sendall(data)``, trying one non-blocking ``send()`` first: what the client keeps
    up with leaves in one system call (gevent's ``sendall()`` asks the kernel for the socket's
    buffer size, a system call, every time)."""
    raw = raw_socket(sock)
    sent = 0
    if raw is not None:
        try:
            sent = raw.send(data)
        except BlockingIOError:
            pass
    if sent < len(data):
        sock.sendall(memoryview(data)[sent:])


def _nothing(buffer: Any) -> None:
    return None


class SocketReader(io.RawIOBase):
    """The raw stream under the handler's buffered reader: gevent's socket ``recv_into``, except
    that when the last read emptied the socket it waits until the socket is readable before
    reading. Between the requests of a keep-alive connection the next one is never there yet,
    and gevent's ``recv_into`` would first fail with EAGAIN: a wasted system call per request.
    With the socket's timeout at 0 it never waits (``None``: nothing to read)."""

    #: A time (``time.monotonic()``) past which waiting to read raises TimeoutError: the
    #: header timeout over a whole request head, not each wait.
    deadline: float | None = None

    def __init__(self, sock: Any) -> None:
        self._sock = sock
        self._raw = sock._sock
        self._wait_read = functools.partial(sock._wait, sock._read_event)
        self._drained = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int | None:
        raw = self._raw
        if self._drained and self._sock.timeout != 0.0:
            self._wait()
        while True:
            try:
                n: int = raw.recv_into(buffer)
            except BlockingIOError:
                if self._sock.timeout == 0.0:
                    return None
                self._wait()
                continue
            self._drained = n < len(buffer)
            return n

    def hold(self) -> None:
        """Read nothing more from the socket: from now on :meth:`readinto` answers None (as a
        non-blocking socket with nothing to read), so the buffered reader above hands out only
        what it holds already, without a system call. (An attribute of the instance, not a
        test in ``readinto``: the reads of every request stay as they are.)"""
        self.readinto = _nothing  # type: ignore[method-assign]

    def _wait(self) -> None:
        deadline = self.deadline
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0.0:
                raise TimeoutError("timed out")
            self._sock.settimeout(left)
        self._wait_read()
