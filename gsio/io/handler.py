"""gsio's request handler for gevent's pywsgi (what :func:`gsio.serve` and ``gsio serve`` use).

It is pywsgi's own handler with five changes:

- A WebSocket request can be taken over by the application: the environ holds
  ``gsio.engine.websocket``, a callable returning ``(socket, rfile)``; the application answers the
  handshake itself, runs the session on the socket, and once it returns the handler writes no
  response and closes the connection. gsio's WebSocket transport (:mod:`gsio.io.wsnative`) runs
  on it.
- Request headers are read by a small parser instead of the standard library's e-mail parser,
  which costs more than the rest of a long-polling request.
- A response's headers and body leave in one ``send()``, so that no response waits for a
  delayed ACK (Nagle's algorithm), even without ``TCP_NODELAY``.
- When the server's application is a :class:`gsio.WSGIApp`, the long-polling requests of open
  sessions are served on a short path (:mod:`gsio.io.shortpath`): by the event loop
  (:mod:`gsio.io.pollnative`) or, when it cannot, without pywsgi's per-request work.
- A header timeout (the server's ``gsio_header_timeout``, set by :func:`gsio.engine.wsgi.make_server`;
  60 s otherwise, as Node's ``headersTimeout``): a connection has that long, from when it is
  accepted or its last response left, to send a whole request head. Past it, it is closed,
  after a ``408`` if part of a head arrived; the event loop's connections have the same.

Every other request gets the environ pywsgi builds; only the parsing under it is new. Requests
are parsed, their environ made and the short path's responses written by the pure
:mod:`gsio.protocol.request`.

This handler overrides methods of pywsgi's ``WSGIHandler``, private ones among them, and uses a
few private names of gevent's: :mod:`gsio.io.geventpriv` lists them all; setup.cfg pins the
gevent range they are known in, and a test checks each, so that an upgrade fails loudly.
"""

from __future__ import annotations

import io
import logging
import ssl
import time
from typing import Any

from gevent import pywsgi

from gsio.io.checked import CheckedRequests
from gsio.io.concurrency import select
from gsio.io.geventpriv import NOOP_LOG, SocketReader, plain_gevent_socket, send_now
from gsio.io.shortpath import PollingShortPath
from gsio.protocol.http import DEFAULT_HEADER_TIMEOUT, REQUEST_TIMEOUT_RESPONSE, http_date
from gsio.protocol.request import (
    BAD_REQUEST_RESPONSE,
    URI_TOO_LONG_RESPONSE,
    BadRequest,
    Headers,
    parse_content_length,
    read_headers,
    request_environ,
    valid_http_version,
)

__all__ = ["WSGIHandler", "CheckedRequests"]

log = logging.getLogger("gsio.http")


class _NoBody:
    """The body of a taken-over request (``wsgi.input``, and pywsgi's reader of it): there is
    none, and the connection's reader is the application's."""

    def read(self, size: int = -1) -> bytes:
        return b""

    def readline(self, size: int = -1) -> bytes:
        return b""

    def readlines(self, hint: int = -1) -> list[bytes]:
        return []

    def __iter__(self) -> Any:
        return iter(())

    def _discard(self) -> None:
        pass


_NO_BODY = _NoBody()
_MAX_REQUEST_LINE = pywsgi.MAX_REQUEST_LINE
_NO_HEADERS = Headers([])


class WSGIHandler(PollingShortPath, CheckedRequests, pywsgi.WSGIHandler):
    """pywsgi's handler with WebSocket take-over, a fast header parser and one-send responses."""

    _taken = False
    #: pywsgi's (a client that left), and the same through TLS: a write fails there with
    #: ``SSLEOFError`` (``ssl.SSL_ERROR_EOF``), not EPIPE.
    ignored_socket_errors = (*pywsgi.WSGIHandler.ignored_socket_errors, ssl.SSL_ERROR_EOF)

    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        self._reader: SocketReader | None = None
        if rfile is None and plain_gevent_socket(sock):
            self._reader = SocketReader(sock)
            rfile = io.BufferedReader(self._reader, 8192)
        super().__init__(sock, address, server, rfile)
        self._timeout = sock.gettimeout()
        self._header_timeout = getattr(server, "gsio_header_timeout", DEFAULT_HEADER_TIMEOUT)

    def _handle_one_request(self) -> Any:
        # pywsgi's, with a header timeout, and the long-polling requests of open sessions
        # served on a short path.
        if self.rfile.closed:
            return None
        self._start_head()
        try:
            line = self.rfile.readline(_MAX_REQUEST_LINE)
        except OSError:  # "connection reset by peer", the header timeout of an idle connection
            return None
        if not line:
            return None
        self.requestline = line.decode("latin-1")
        self.response_length = 0
        if len(line) >= _MAX_REQUEST_LINE:
            return ("414", URI_TOO_LONG_RESPONSE)
        app = getattr(self.server, "gsio_polling_app", None)
        if app is not None and self._to_event_loop(app, line):
            return None
        try:
            if not self.read_request(self.requestline):
                return ("400", BAD_REQUEST_RESPONSE)
        except TimeoutError:
            log.info(
                "%s: request head not complete in %s s", self.client_address, self._header_timeout
            )
            return ("408", REQUEST_TIMEOUT_RESPONSE)
        except OSError:
            return None
        except Exception as ex:
            return self._handle_client_error(ex)
        finally:
            self._end_head()
        if app is None or not self._serve_polling(app):
            self.environ = self.get_environ()
            self.application = self.server.application
            self.handle_one_response()
        if self.close_connection or self.rfile.closed:
            return None
        return True

    def _start_head(self) -> None:
        """The header timeout starts: the connection is ready for a request."""
        timeout = self._header_timeout
        if timeout is None or self.socket is None:
            return
        if self._reader is not None:
            self._reader.deadline = time.monotonic() + timeout
        self.socket.settimeout(timeout)

    def _end_head(self) -> None:
        """The request's head is in (or the connection is done with): no timeout for the
        body or the application, as before."""
        if self._header_timeout is None:
            return
        if self._reader is not None:
            self._reader.deadline = None
        if self.socket is not None:
            self.socket.settimeout(self._timeout)

    def get_environ(self) -> dict[str, Any]:
        # pywsgi's, with less done per request: what a long-polling server does most.
        env = self.server.get_environ()
        env["SCRIPT_NAME"] = ""
        address = self.client_address
        if isinstance(address, tuple):
            env["REMOTE_ADDR"] = str(address[0])
            env["REMOTE_PORT"] = str(address[1])
        headers = self.headers.items()
        request_environ(self.command, self.path, self.request_version, headers, env)
        sock = self.socket if env.get("HTTP_EXPECT") == "100-continue" else None
        chunked = env.get("HTTP_TRANSFER_ENCODING", "").lower() == "chunked"
        # An upgrade request's stream is unbounded: wsgi.input is the reader itself (as pywsgi).
        handling_reads = not (
            env.get("HTTP_CONNECTION", "").lower() == "upgrade"
            or env.get("HTTP_UPGRADE", "").lower() == "websocket"
        )
        self.wsgi_input = pywsgi.Input(
            self.rfile, self.content_length, socket=sock, chunked_input=chunked
        )
        env["wsgi.input"] = self.wsgi_input if handling_reads else self.rfile
        env["wsgi.input_terminated"] = handling_reads
        env["gsio.hand_over"] = self._hand_over
        return env

    def _hand_over(self, path: str) -> bool:
        """Move the connection, from this request on (its head and what is buffered after
        it), to the process listening on ``path`` (:mod:`gsio.io.handoff`). True if it went:
        no response is written here, and this handler lets go of the connection."""
        from gsio.io.handoff import pass_connection

        sock = self.socket
        if sock is None or self._taken or self.headers_sent or not plain_gevent_socket(sock):
            return False
        head = bytearray(f"{self.requestline}\r\n".encode("latin-1"))
        for name, value in self.headers.items():
            head += f"{name}: {value}\r\n".encode("latin-1")
        head += b"\r\n"
        sock.settimeout(0.0)  # what the buffered reader holds, without waiting for more
        try:
            head += self.rfile.read1(1 << 20) or b""
        except (OSError, ValueError):
            pass
        c = select("gevent")
        if not pass_connection(c, path, sock.fileno(), self.client_address, bytes(head)):
            sock.settimeout(self._timeout)
            return False
        self._take_over()
        sock.close()
        return True

    def read_request(self, raw_requestline: str) -> bool:
        words = raw_requestline.split()
        if len(words) == 2:  # as Node's parser: no HTTP/0.9
            raise ValueError(f"no HTTP version in {raw_requestline.rstrip()[:100]!r}")
        if len(words) != 3:
            return False
        self.requestline = raw_requestline.rstrip()
        self.command, self.path, self.request_version = words
        if not valid_http_version(self.request_version):
            raise ValueError(f"invalid HTTP version {self.request_version!r}")
        self.headers = headers = read_headers(self.rfile.readline)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            del headers["content-length"]
        length = headers.get("content-length")
        if length is not None:
            content_length: int | None = parse_content_length(length)
            if content_length and self.command == "HEAD":
                raise BadRequest("Content-Length in a HEAD request")
        else:
            content_length = None
        self.content_length = content_length
        connection = headers.get("connection", "").lower()
        if self.request_version == "HTTP/1.1":
            self.close_connection = connection == "close"
        else:
            self.close_connection = connection != "keep-alive"
        return True

    def run_application(self) -> None:
        if "HTTP_UPGRADE" in self.environ:
            self.environ["gsio.websocket"] = self._take_over
        try:
            super().run_application()
        finally:
            # The environ outlives the request in the app's sessions: no cycle through it
            # (a cycle would keep this handler, its reader and socket objects alive as long
            # as the session, and leave them for the cyclic collector after).
            self.environ.pop("gsio.websocket", None)
            self.environ.pop("gsio.hand_over", None)
            if self._taken:
                # The connection is the application's (it has shut it down, or lives on in
                # a socket of its own): pywsgi must not read from or close it.
                self.socket = None

    def _take_over(self) -> tuple[Any, Any]:
        """The application takes the connection: no response will be written, and the
        connection is closed once the application returns."""
        self._taken = True
        self.close_connection = True
        self.code = 101
        self.status = b"101 Switching Protocols"  # for the access log
        self._orig_status = "101 Switching Protocols"
        # What the request was made of is not needed any more; the session may be long, and
        # its environ lives as long.
        self.headers = _NO_HEADERS
        self.wsgi_input = _NO_BODY
        if self.environ is not None:  # (the short path has none)
            self.environ["wsgi.input"] = _NO_BODY
        return self.socket, self.rfile

    def process_result(self) -> None:
        if self._taken:
            return
        result = self.result
        if type(result) is list and self.status and not self.headers_sent and self.code != 304:
            # The common case (gsio's responses, most frameworks'): a list of bytes, written
            # with the headers in one send() instead of a write() per chunk.
            body = result[0] if len(result) == 1 else b"".join(result)
            if body and self.code == 204:
                raise self.ApplicationError("The 204 response must have no body")
            self._write_with_headers(body)
            return
        super().process_result()

    def log_request(self) -> None:
        if not isinstance(self.server.log, NOOP_LOG):
            super().log_request()

    def finalize_headers(self) -> None:
        # pywsgi's, with the Date formatted once a second.
        if self.provided_date is None:
            self.response_headers.append((b"Date", http_date(time.time())))
        self.connection_upgraded = self.code == 101
        if self.code not in (304, 204) and self.provided_content_length is None:
            if hasattr(self.result, "__len__"):
                total = sum(len(chunk) for chunk in self.result)
                self.response_headers.append((b"Content-Length", str(total).encode("latin-1")))
            else:
                self.response_use_chunked = (
                    not self.connection_upgraded and self.request_version != "HTTP/1.0"
                )
                if self.response_use_chunked:
                    self.response_headers.append((b"Transfer-Encoding", b"chunked"))

    def _sendall(self, data: bytes | bytearray) -> None:
        # pywsgi's, through send_now: gevent's sendall() asks the kernel for the socket's
        # buffer size (a system call) on every call.
        try:
            send_now(self.socket, data)
        except OSError as ex:
            self.status = f"socket error: {ex}"
            if self.code > 0:
                self.code = -self.code
            raise
        self.response_length += len(data)

    def _write_with_headers(self, data: bytes) -> None:
        self.headers_sent = True
        self.finalize_headers()
        towrite = bytearray(b"HTTP/1.1 ")
        towrite += self.status
        towrite += b"\r\n"
        for header, value in self.response_headers:
            towrite += header
            towrite += b": "
            towrite += value
            towrite += b"\r\n"
        towrite += b"\r\n"
        if data and not self.response_use_chunked:
            towrite += data
            self._sendall(towrite)
        else:
            self._sendall(towrite)
            self._write(data)
