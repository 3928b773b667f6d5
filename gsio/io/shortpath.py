"""The long-polling short path of gsio's pywsgi handler (:mod:`gsio.io.handler`).

When the server's application is a :class:`gsio.WSGIApp` (``server.gsio_polling_app``, set by
:func:`gsio.engine.wsgi.make_server` when there is no access log), a connection whose request is
a long-polling one of an open session (a GET or a POST with ``sid``, HTTP/1.1) is handed to the
event loop (:mod:`gsio.io.pollnative`), which serves its polling requests from then on without a
greenlet and gives any other request back to the handler. When it cannot (TLS, or an engine
handler that may block) those requests still skip pywsgi's per-request work: a small environ
(nothing in these requests reaches user code), and the response written at once. They are what
a polling client makes most. Both parse and answer with :mod:`gsio.protocol.request`.
"""

from __future__ import annotations

import time
from typing import Any, Callable

from gevent import pywsgi

from gsio.io.geventpriv import plain_gevent_socket, send_now
from gsio.io.pollnative import PollingConnection
from gsio.protocol.http import http_date
from gsio.protocol.request import request_environ, serialize_response

__all__ = ["PollingShortPath"]


class PollingShortPath:
    """A mixin of gsio's handler: the event loop hand-over and the short path."""

    given_back = False  #: the event loop gave the connection's next request back: serve it here
    socket: Any
    rfile: Any
    server: Any
    client_address: Any
    path: str
    command: str
    request_version: str
    headers: Any
    content_length: int | None
    close_connection: bool
    wsgi_input: Any
    time_start: float
    _hand_over: Callable[[str], bool]
    _taken: bool

    def _to_event_loop(self, app: Any, line: bytes) -> bool:
        """Hand the connection to the event loop (:mod:`gsio.io.pollnative`) if its request looks
        like a long-polling one of an open session: from this one on, it serves the
        connection's requests, and gives back the others. True if it took the connection."""
        if self.given_back:
            self.given_back = False
            return False
        sock = self.socket
        if (
            not line.endswith(b" HTTP/1.1\r\n")
            or b"transport=polling" not in line
            or b"sid=" not in line
            or not getattr(app.engine.handler, "nonblocking", False)
            or app.engine.middlewares  # (they may block: never on the event loop)
            or not plain_gevent_socket(sock)
        ):
            return False
        # What the buffered reader holds past the request line, without waiting for more.
        sock.settimeout(0.0)
        try:
            early = self.rfile.read1(65536) or b""
        except (OSError, ValueError):
            early = b""
        raw = sock._sock
        own = type(raw)(raw.family, raw.type, raw.proto, sock.detach())
        own.setblocking(False)
        self.socket = None  # the connection is the event loop's: pywsgi must not close it
        self.rfile.close()
        PollingConnection(own, self.client_address, self.server, app, line + early)
        return True

    def _serve_polling(self, app: Any) -> bool:
        """Serve a long-polling GET or POST of an open session without pywsgi's environ and
        response machinery; False (nothing done) for every other request."""
        path, _, query = self.path.partition("?")
        if (
            (path != app.path and path + "/" != app.path)
            or "sid=" not in query
            or "transport=polling" not in query
            or self.request_version != "HTTP/1.1"
        ):
            return False
        method = self.command
        length = self.content_length
        if method == "GET":
            if length:
                return False
        elif method != "POST" or length is None or "expect" in self.headers:
            return False  # chunked, or waiting for 100-continue: pywsgi's reader does that
        environ = request_environ(method, self.path, "HTTP/1.1", self.headers.items(), {})
        environ["gsio.hand_over"] = self._hand_over
        self.wsgi_input = body = pywsgi.Input(self.rfile, length)
        environ["wsgi.input"] = body
        response: list[Any] = []
        self.time_start = time.time()
        # The app answers every error itself (WSGIApp turns a bug into a 500).
        chunks = app(
            environ, lambda status, headers, exc_info=None: response.extend((status, headers))
        )
        if self._taken:  # moved to another process (gsio.io.handoff): nothing to write here
            self.socket = None
            return True
        status, response_headers = response
        if ("Connection", "close") in response_headers:
            self.close_connection = True
        out = serialize_response(
            status, response_headers, b"".join(chunks), http_date(self.time_start)
        )
        try:
            send_now(self.socket, out)
            while body.read(16384):  # what the app left unread of the body (a refused one)
                pass
        except OSError:  # the client is gone, or its body was cut short
            self.close_connection = True
        return True
