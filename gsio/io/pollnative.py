"""gsio's own long-polling connections: the keep-alive HTTP connections that carry an open
session's polls, read and answered by the event loop. Under gevent only.

gsio's pywsgi handler (:mod:`gsio.io.handler`) hands a connection over when its next request is a
long-polling GET or POST of an open session. From then on a watcher on the socket parses each
request from what ``recv()`` brings and hands it to :meth:`gsio.Engine.handle_polling`; a GET
with nothing to send waits on its session (:class:`gsio.engine.polling.WaitingGet`), not in a
greenlet, and its answer is written by the event loop as soon as there is one. A connection
costs a buffer and a watcher; a round trip, no greenlet switch of its own.

Any other request on such a connection (another path, a handshake, a WebSocket upgrade, a
chunked body, HTTP/1.0, anything malformed) goes back, with what was read of it, to a greenlet
running the server's own handler: it is served (or refused) exactly as it would have been.
"""

from __future__ import annotations

import io
import logging
import time
from typing import Any

from gsio.io.pollhead import HAND_BACK, MAX_HEAD, HeadCache, parse_request, serialize
from gsio.protocol.http import (
    DEFAULT_HEADER_TIMEOUT,
    REQUEST_TIMEOUT_RESPONSE,
    Response,
    error_response,
    http_date,
)

__all__ = ["PollingConnection", "parse_request", "HAND_BACK"]

log = logging.getLogger("gsio.engine")

_RECV_SIZE = 65536


class PollingConnection:
    """A keep-alive HTTP connection served by the event loop (see the module's doc)."""

    __slots__ = (
        "_raw",
        "_address",
        "_server",
        "_path",
        "_engine",
        "_c",
        "_watch",
        "_buf",
        "_busy",
        "_closing",
        "_out",
        "_pending",
        "_processing",
        "_gone",
        "_ready_since",
        "_timer",
        "_request",
        "_heads",
    )

    def __init__(self, raw: Any, address: Any, server: Any, app: Any, early: bytes) -> None:
        """``raw`` is the connection's plain non-blocking socket, ``early`` what was read from
        it already; ``app`` the server's :class:`gsio.WSGIApp`."""
        self._raw = raw
        self._address = address
        self._server = server
        self._path = app.path
        self._engine = app.engine
        self._c = self._engine.concurrency
        self._buf = early
        self._request = b""
        self._heads = HeadCache(self._path, {"gsio.hand_over": self._hand_over})
        self._busy = False  # a request is being answered (a GET waits, a response is written)
        self._closing = False  # close once the response being written has left
        self._out: Any = None  # what a response left unwritten
        self._pending: Any = None  # the WaitingGet of the request being answered
        self._processing = False
        self._gone = False
        # The header timeout, as gsio's handler has it: checked by one timer that goes off
        # at most once a timeout, not armed per request.
        self._ready_since = self._c.monotonic()  # when the connection was last ready for a request
        timeout = getattr(server, "gsio_header_timeout", DEFAULT_HEADER_TIMEOUT)
        self._timer = None if timeout is None else self._c.call_later(timeout, self._check_head)
        self._watch = self._c.watch_read(raw.fileno(), self._on_readable)
        self._process()

    def _check_head(self) -> None:
        """The header timer went off (in the event loop): close the connection if it has been
        waiting for a whole request head that long (after a 408 if part of one arrived)."""
        if self._gone:
            return
        timeout = getattr(self._server, "gsio_header_timeout", DEFAULT_HEADER_TIMEOUT)
        left = timeout
        if not self._busy:
            left = self._ready_since + timeout - self._c.monotonic()
            if left <= 0.0:
                if self._buf:
                    log.info("%s: request head not complete in %s s", self._address, timeout)
                    try:
                        self._raw.send(REQUEST_TIMEOUT_RESPONSE)
                    except OSError:
                        pass
                self._lose()
                return
        self._timer = self._c.call_later(left, self._check_head)

    def _on_readable(self) -> None:
        # In the event loop: must not block.
        try:
            data = self._raw.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._lose()
            return
        self._buf = self._buf + data if self._buf else data
        if self._busy:
            if len(self._buf) > self._engine.max_payload + MAX_HEAD:
                # Requests piled behind a waiting GET: no client of the protocol does that.
                log.info("%s: too much pipelined behind a long poll; closing", self._address)
                self._lose()
            return
        self._process()

    def _process(self) -> None:
        """Serve the complete requests in the buffer, in order, one at a time."""
        if self._processing:
            return  # a response written while serving: the loop below goes on
        self._processing = True
        try:
            while not self._busy and self._buf and not self._gone:
                request = self._heads.parse(self._buf, self._engine.max_payload)
                if request is None:
                    return
                if request is HAND_BACK:
                    self._hand_back()
                    return
                environ, query, body, size = request
                self._request = self._buf  # (what a hand-over passes on)
                self._buf = self._buf[size:]
                if body is None:
                    self._closing = True  # the body is not read: the connection cannot go on
                elif environ.get("HTTP_CONNECTION", "").lower() == "close":
                    self._closing = True
                self._busy = True
                try:
                    self._pending = self._engine.handle_polling(environ, query, body, self._respond)
                except Exception:
                    # A bug, not bad input (that is answered inside the engine): as WSGIApp.
                    log.exception(
                        "internal error on %s %s", environ["REQUEST_METHOD"], environ["PATH_INFO"]
                    )
                    if self._busy and self._out is None:
                        self._respond(error_response(3, 500, "Internal server error"))
        finally:
            self._processing = False

    def _respond(self, response: Response) -> None:
        """Write a response (from :meth:`_process`, or later from the event loop)."""
        self._pending = None
        if self._gone:
            return
        out = serialize(response, http_date(time.time()))
        try:
            sent = self._raw.send(out)
        except BlockingIOError:
            sent = 0
        except OSError as exc:
            log.debug("%s: polling response not written: %r", self._address, exc)
            self._lose()
            return
        if sent < len(out):
            self._out = memoryview(out)[sent:]
            self._c.spawn(self._drain)
            return
        self._done()

    def _drain(self) -> None:
        """A writer for the rare response that does not fit in the socket's buffer."""
        raw = self._raw
        try:
            while self._out:
                try:
                    self._out = self._out[raw.send(self._out) :]
                except BlockingIOError:
                    self._c.wait_write(raw.fileno())
        except OSError as exc:
            log.debug("%s: polling response not written: %r", self._address, exc)
            self._out = None
            if self._gone:  # lost while writing: the socket was left to the writer to close
                raw.close()
            else:
                self._lose()
            return
        self._out = None
        self._done()

    def _done(self) -> None:
        """A response has left: close, or serve what the client sent meanwhile."""
        self._busy = False
        self._ready_since = self._c.monotonic()
        if self._gone:  # lost while the writer was busy
            self._raw.close()
        elif self._closing:
            self._lose()
        elif self._buf and not self._processing:
            self._process()

    def _lose(self) -> None:
        """The connection ends (the client left, or is refused). A session whose GET waited
        on it ends too (see :meth:`gsio.engine.polling.WaitingGet.abandon`); others go on."""
        if self._gone:
            return
        self._gone = True
        self._watch.cancel()
        if self._timer is not None:
            self._timer.cancel()
        if self._pending is not None:
            self._pending.abandon()
            self._pending = None
        if self._out is None:  # else the writer fails and closes it
            self._raw.close()

    def _hand_over(self, path: str) -> bool:
        """Move the connection, from the request being served on, to the process listening on
        ``path`` (:mod:`gsio.io.handoff`); True if it went (nothing more is written here)."""
        from gsio.io.handoff import pass_connection

        if self._out is not None or self._gone:
            return False
        if not pass_connection(self._c, path, self._raw.fileno(), self._address, self._request):
            return False
        self._gone = True
        self._pending = None
        self._watch.cancel()
        if self._timer is not None:
            self._timer.cancel()
        self._raw.close()
        self._buf = self._request = b""
        return True

    def _hand_back(self) -> None:
        """Give the connection, with what was read of it, to the server's own handler."""
        self._gone = True
        self._watch.cancel()
        if self._timer is not None:
            self._timer.cancel()
        self._c.spawn(_serve_back, self._raw, self._buf, self._address, self._server)
        self._buf = b""


class _Prefixed(io.RawIOBase):
    """A raw stream that reads ``data`` first, then the socket."""

    def __init__(self, data: bytes, sock: Any) -> None:
        self._data = data
        self._sock = sock

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._data
        if data:
            n = min(len(buffer), len(data))
            buffer[:n] = data[:n]
            self._data = data[n:]
            return n
        return self._sock.recv_into(buffer)


def _serve_back(raw: Any, early: bytes, address: Any, server: Any) -> None:
    from gevent import socket as gsocket

    sock = gsocket.socket(raw.family, raw.type, raw.proto, raw.detach())
    serve_connection(sock, early, address, server, given_back=True)


def serve_connection(
    sock: Any, early: bytes, address: Any, server: Any, given_back: bool = False
) -> None:
    """Serve a connection with ``server``'s handler as if it had accepted it, ``early`` (what
    was read of it elsewhere) first. ``given_back``: its first request is one the event loop
    gave back (not to be handed to it again)."""
    # A reader that takes all of ``early`` at its first read: what a take-over passes on (to
    # the event loop, a WebSocket) is what the reader holds, and nothing may stay behind it.
    rfile = io.BufferedReader(_Prefixed(early, sock), max(8192, len(early)))
    handler = server.handler_class(sock, address, server, rfile)
    handler.given_back = given_back
    try:
        handler.handle()
    finally:
        sock.close()
