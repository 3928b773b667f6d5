"""New connections read by the event loop until their first request head is in, for gsio's own
pywsgi server (:func:`gsio.engine.wsgi.make_server`). Under gevent only.

gevent's server spawns a greenlet per accepted connection, which builds pywsgi's handler, its
reader, the request's environ, and runs the application. A new connection here first gets a
read watcher instead; once its request head has arrived, a plain Engine.IO WebSocket handshake
(``GET`` on the app's path, ``transport=websocket`` and no ``sid``, HTTP/1.1, no body) is offered
to the server's ``gsio_accept_websocket(environ, take_over)``
(:func:`gsio.engine.wsaccept.accept_in_loop`), which answers it right there when nothing in
it can block, and the event loop reads the session from then on: the connection never had a
greenlet. Every other request (a polling handshake, another path, anything malformed or
refused), and a handshake the engine does not take, goes, with what was read of it, to a
greenlet running the server's own handler: it is served (or refused) exactly as before.

The header timeout is the handler's: a connection that has not sent a whole request head
within the server's ``gsio_header_timeout`` of being accepted is closed, after a ``408`` if its
request line had arrived.
"""

from __future__ import annotations

import _socket
import io
import logging
from typing import Any, Callable

from gevent import pywsgi
from gevent import socket as gsocket

from gsio.io.concurrency import select
from gsio.io.handler import _NO_BODY
from gsio.io.pollnative import _Prefixed
from gsio.protocol.http import DEFAULT_HEADER_TIMEOUT, REQUEST_TIMEOUT_RESPONSE
from gsio.protocol.request import BadRequest, parse_head, request_environ

__all__ = ["AcceptingServer", "TakeOver"]

log = logging.getLogger("gsio.http")

#: ``take_over() -> (socket, rfile)``: the connection's gevent socket and a reader of what
#: arrived behind the request's head (None: nothing did), as gsio's handler hands them over.
TakeOver = Callable[[], "tuple[Any, Any]"]

_RECV_SIZE = 65536
_MAX_HEAD = 65536  # past that, the handler answers
_MAX_REQUEST_LINE = pywsgi.MAX_REQUEST_LINE
_WAIT = 0
_HAND_BACK = 1


class AcceptingServer(pywsgi.WSGIServer):
    """pywsgi's server, whose new connections are read by the event loop until their first
    request head is in (see the module's doc), when ``gsio_accept_websocket`` is set (and
    neither TLS nor a pool of greenlets is used); otherwise exactly pywsgi's."""

    #: ``(environ, take_over) -> bool``: answer a WebSocket handshake in the event loop;
    #: False when it cannot (the request then goes to the handler).
    gsio_accept_websocket: Callable[[dict[str, Any], TakeOver], bool] | None = None
    #: The path of the server's :class:`gsio.WSGIApp` (with its trailing ``/``).
    gsio_accept_path = ""
    _gsio_kind: tuple[int, int, int] | None = None

    def do_read(self) -> Any:
        if self.gsio_accept_websocket is None or self.ssl_enabled or self.pool is not None:
            return super().do_read()
        sock = self.socket
        try:
            fd, address = sock._accept()
        except BlockingIOError:
            if not sock.timeout:
                return None
            raise
        return fd, address  # an int: do_handle knows it from a socket

    def do_handle(self, *args: Any) -> None:
        fd = args[0]
        if type(fd) is not int:
            super().do_handle(*args)
            return
        kind = self._gsio_kind
        if kind is None:
            listener: Any = getattr(self.socket, "_sock", self.socket)
            kind = self._gsio_kind = (int(listener.family), int(listener.type), listener.proto)
        try:
            raw = _socket.socket(kind[0], kind[1], kind[2], fd)
        except OSError:
            _socket.close(fd)
            raise
        try:
            raw.setblocking(False)
            FirstRequest(raw, args[1], self)
        except BaseException:
            raw.close()
            raise


class FirstRequest:
    """A new connection, read by the event loop until its first request head is in."""

    __slots__ = ("_raw", "_address", "_server", "_buf", "_watch", "_timer", "_c")

    def __init__(self, raw: Any, address: Any, server: AcceptingServer) -> None:
        self._raw = raw
        self._address = address
        self._server = server
        self._buf = b""
        self._c = c = select("gevent")
        timeout = getattr(server, "gsio_header_timeout", DEFAULT_HEADER_TIMEOUT)
        self._timer = None if timeout is None else c.call_later(timeout, self._timed_out)
        self._watch = c.watch_read(raw.fileno(), self._on_readable)

    def _stop(self) -> None:
        self._watch.cancel()
        if self._timer is not None:
            self._timer.cancel()

    def _timed_out(self) -> None:
        # As the handler: a request line that came without the rest of its head gets a 408;
        # a connection that sent none of it is closed quietly.
        self._timer = None
        if b"\n" in self._buf:
            log.info(
                "%s: request head not complete in %s s",
                self._address,
                getattr(self._server, "gsio_header_timeout", DEFAULT_HEADER_TIMEOUT),
            )
            try:
                self._raw.send(REQUEST_TIMEOUT_RESPONSE)
            except OSError:
                pass
        self._stop()
        self._raw.close()

    def _on_readable(self) -> None:
        # In the event loop: must not block.
        try:
            data = self._raw.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:  # reset: as the handler's failed read, closed quietly
            self._stop()
            self._raw.close()
            return
        if not data:
            self._stop()
            if self._buf:
                self._hand_back()  # what the handler makes of a head cut short
            else:
                self._raw.close()
            return
        buf = self._buf = self._buf + data if self._buf else data
        try:
            request = self._websocket_request(buf)
        except Exception:  # a bug: the handler serves the request as before
            log.exception("%s: request not parsed in the event loop", self._address)
            request = _HAND_BACK
        if request is _WAIT:
            return
        self._stop()
        if request is _HAND_BACK or not self._accept(request[0], buf[request[1] :]):
            self._hand_back()

    def _websocket_request(self, buf: bytes) -> Any:
        """The environ of the WebSocket handshake at the start of ``buf``, as gsio's handler
        makes it, and the bytes its head takes; :data:`_WAIT` while its head is not all there, :data:`_HAND_BACK` when it is
        not one of those this module offers to the engine."""
        nl = buf.find(b"\n")
        if nl < 0:
            return _WAIT if len(buf) < _MAX_REQUEST_LINE else _HAND_BACK
        line = buf[: nl + 1]
        if (
            not line.startswith(b"GET ")
            or not line.endswith(b" HTTP/1.1\r\n")
            or b"transport=websocket" not in line
            or b"sid=" in line
        ):
            return _HAND_BACK
        if buf.find(b"\r\n\r\n") < 0:
            return _WAIT if len(buf) <= _MAX_HEAD and b"\n\n" not in buf else _HAND_BACK
        try:
            head = parse_head(buf, strict=True)
        except BadRequest:
            return _HAND_BACK
        if head is None:
            return _HAND_BACK
        method, target, version, items, size = head
        for name, _ in items:
            lower = name.lower()
            if lower == "content-length" or lower == "transfer-encoding":
                return _HAND_BACK  # a body: the handler's
        server = self._server
        # gsio's handler's environ (WSGIHandler.get_environ), as it is once taken over.
        environ = server.get_environ()
        environ["SCRIPT_NAME"] = ""
        address = self._address
        if isinstance(address, tuple):
            environ["REMOTE_ADDR"] = str(address[0])
            environ["REMOTE_PORT"] = str(address[1])
        request_environ(method, target, version, items, environ)
        path = environ["PATH_INFO"]
        if path != server.gsio_accept_path and path + "/" != server.gsio_accept_path:
            return _HAND_BACK
        environ["wsgi.input"] = _NO_BODY
        environ["wsgi.input_terminated"] = False
        return environ, size

    def _accept(self, environ: dict[str, Any], rest: bytes) -> bool:
        """Offer the handshake to the engine (``rest``: what came behind its head, frames
        maybe); False (the connection untouched) if it is not taken."""
        raw = self._raw

        def take_over() -> tuple[Any, Any]:
            sock = gsocket.socket(raw.family, raw.type, raw.proto, raw.detach())
            return sock, (io.BytesIO(rest) if rest else None)

        accept = self._server.gsio_accept_websocket
        try:
            if accept is not None and accept(environ, take_over):
                return True
        except Exception:  # a bug: before the take-over, the handler serves it as before
            log.exception("%s: websocket handshake failed in the event loop", self._address)
        return raw.fileno() < 0

    def _hand_back(self) -> None:
        """Give the connection, with what was read of it, to the server's own handler."""
        self._c.spawn(_serve, self._raw, self._buf, self._address, self._server)
        self._buf = b""


def _serve(raw: Any, early: bytes, address: Any, server: Any) -> None:
    """Serve the connection with the server's handler, ``early`` first (as
    :func:`gsio.io.pollnative.serve_connection`, with a reader that takes all of ``early`` at
    its first read: what a take-over passes on, to the event loop or a WebSocket, is what the
    handler's reader holds, and nothing may be left behind it)."""
    sock = gsocket.socket(raw.family, raw.type, raw.proto, raw.detach())
    rfile = io.BufferedReader(_Prefixed(early, sock), max(8192, len(early)))
    handler = server.handler_class(sock, address, server, rfile)
    try:
        handler.handle()
    finally:
        sock.close()
