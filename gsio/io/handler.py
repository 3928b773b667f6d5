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
- When the server's application is a :class:`gsio.WSGIApp` (``server.gsio_polling_app``, set
  by :func:`gsio.engine.wsgi.make_server` when there is no access log), a connection whose request is
  a long-polling one of an open session (a GET or a POST with ``sid``, HTTP/1.1) is handed to
  the event loop (:mod:`gsio.io.pollnative`), which serves its polling requests from then on
  without a greenlet and gives any other request back to this handler. When it cannot (TLS,
  or an engine handler that may block) those requests still skip pywsgi's per-request work: a
  small environ (nothing in these requests reaches user code), and the response written at
  once. They are what a polling client makes most.

- A header timeout (the server's ``gsio_header_timeout``, set by :func:`gsio.engine.wsgi.make_server`;
  60 s otherwise, as Node's ``headersTimeout``): a connection has that long, from when it is
  accepted or its last response left, to send a whole request head. Past it, it is closed,
  after a ``408`` if part of a head arrived; the event loop's connections have the same.

Every other request gets the environ pywsgi builds; only the parsing under it is new.
"""

from __future__ import annotations

import functools
import io
import logging
import re
import ssl
import time
from typing import Any, Callable
from urllib.parse import unquote

from gevent import pywsgi

from gsio.io.pollnative import PollingConnection
from gsio.protocol.http import DEFAULT_HEADER_TIMEOUT, REQUEST_TIMEOUT_RESPONSE, http_date

__all__ = ["WSGIHandler"]

log = logging.getLogger("gsio.http")

_MAX_LINE = 65536  # as http.client: the longest header line, and the most headers
_MAX_HEADERS = 100
_OMITTED = frozenset(("CONTENT_TYPE", "CONTENT_LENGTH"))  # environ keys without HTTP_


class Headers:
    """The request's headers, with the part of ``http.client.HTTPMessage``'s interface that
    pywsgi uses (``get``, ``getheader``, ``typeheader``, ``headers``, ``status``)."""

    __slots__ = ("_items", "_first")

    status = ""

    def __init__(self, items: list[tuple[str, str]]) -> None:
        self._items = items  # (name as sent, value stripped), in order
        first: dict[str, str] = {}
        for name, value in items:
            first.setdefault(name.lower(), value)
        self._first = first

    def get(self, name: str, default: Any = None) -> Any:
        return self._first.get(name.lower(), default)

    getheader = get

    def __contains__(self, name: str) -> bool:
        return name.lower() in self._first

    def __delitem__(self, name: str) -> None:
        lower = name.lower()
        self._items = [(k, v) for k, v in self._items if k.lower() != lower]
        self._first.pop(lower, None)

    @property
    def typeheader(self) -> str | None:
        return self._first.get("content-type")

    @property
    def headers(self) -> list[str]:
        return [f"{name}: {value}\r\n" for name, value in self._items]

    def items(self) -> list[tuple[str, str]]:
        """(name, value) pairs in the order received (gunicorn's access log reads them)."""
        return self._items


def read_headers(readline: Callable[[int], bytes]) -> Headers:
    """Read header lines up to the empty line; raises ValueError on a malformed header."""
    items: list[tuple[str, str]] = []
    while True:
        line = readline(_MAX_LINE + 1)
        if len(line) > _MAX_LINE:
            raise ValueError("header line too long")
        if line == b"\r\n" or line == b"\n" or not line:
            return Headers(items)
        if line[0] in b" \t":  # obsolete line folding: a continuation of the previous value
            if not items:
                raise ValueError("folded line without a header")
            name, value = items[-1]
            items[-1] = (name, (value + " " + line.decode("latin-1").strip()).strip())
            continue
        name, colon, value = line.decode("latin-1").partition(":")
        if not colon or not name or name != name.strip():
            raise ValueError(f"invalid header line {line[:100]!r}")
        items.append((name, value.strip()))
        if len(items) > _MAX_HEADERS:
            raise ValueError("too many headers")


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
_NOOP_LOG = getattr(pywsgi, "_NoopLog", ())  # pywsgi's log when there is none
_VERSIONS = frozenset(("HTTP/1.1", "HTTP/1.0"))
_VERSION = re.compile(r"HTTP/([0-9])\.([0-9])")
_unquote_latin1 = functools.partial(unquote, encoding="latin-1")


def valid_http_version(version: str) -> bool:
    """pywsgi's ``_check_http_version`` (0.9 <= version < 2.0) without its IndexError, a
    traceback for each request line like ``POST ? HTTP/2``: such a version is refused (400)."""
    if version in _VERSIONS:
        return True
    match = _VERSION.fullmatch(version)
    return match is not None and (0, 9) <= (int(match[1]), int(match[2])) < (2, 0)


_NOT_SET = object()


class CheckedRequests:
    """For any pywsgi handler class: a request line pywsgi cannot parse (an HTTP version like
    ``HTTP/2``, or none: HTTP/0.9, which Node does not serve either) gets 400 without a
    traceback, and an error answer to a client that is gone already is dropped quietly. The
    server's ``gsio_header_timeout`` (``make_server(header_timeout=...)``) bounds the wait for
    a request's head, as under gsio's own handler."""

    request_version: Any
    socket: Any
    status: Any
    close_connection: bool
    time_finish: float

    def _check_http_version(self) -> bool:
        return valid_http_version(self.request_version)

    def read_request(self, raw_requestline: str) -> bool:
        if len(raw_requestline.split()) == 2:
            raise ValueError(f"no HTTP version in {raw_requestline.rstrip()[:100]!r}")
        try:
            return super().read_request(raw_requestline)  # type: ignore[misc,no-any-return]
        except TimeoutError:
            raise ValueError("request head not complete in time") from None
        finally:
            if self._timeout_before is not _NOT_SET:  # the head is in: the app's own timeout
                self.socket.settimeout(self._timeout_before)
                self._timeout_before = _NOT_SET

    def handle_one_request(self) -> Any:
        result = self._handle_one_request()
        if not isinstance(result, tuple):
            return result
        # An error answer ("400", bytes): pywsgi's handle() writes it with a traceback for a
        # client that is gone already; here that client just gets nothing.
        self.status, body = result
        self.close_connection = True
        try:
            self.socket.sendall(body)
        except OSError:
            return None
        if self.time_finish == 0:
            self.time_finish = time.time()
        self.log_request()  # type: ignore[attr-defined]
        return None

    _timeout_before: Any = _NOT_SET

    def _handle_one_request(self) -> Any:
        # The header timeout (see DEFAULT_HEADER_TIMEOUT) on the socket, from the wait for the
        # request line to the end of the head; a timeout while waiting for the line closes the
        # connection quietly (pywsgi's handling of a failed read).
        timeout = getattr(self.server, "gsio_header_timeout", DEFAULT_HEADER_TIMEOUT)
        if timeout is not None and self.socket is not None:
            self._timeout_before = self.socket.gettimeout()
            self.socket.settimeout(timeout)
        return super().handle_one_request()  # type: ignore[misc]


def _plain_gevent_socket(sock: Any) -> bool:
    return (
        hasattr(sock, "_sock")
        and hasattr(sock, "_wait")
        and hasattr(sock, "_read_event")
        and not hasattr(sock, "_sslobj")
    )


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

    def _wait(self) -> None:
        deadline = self.deadline
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0.0:
                raise TimeoutError("timed out")
            self._sock.settimeout(left)
        self._wait_read()


class WSGIHandler(CheckedRequests, pywsgi.WSGIHandler):
    """pywsgi's handler with WebSocket take-over, a fast header parser and one-send responses."""

    _taken = False
    #: The connection's next request was given back by the event loop: serve it here.
    given_back = False
    #: pywsgi's (a client that left), and the same through TLS: a write fails there with
    #: ``SSLEOFError`` (``ssl.SSL_ERROR_EOF``), not EPIPE.
    ignored_socket_errors = (*pywsgi.WSGIHandler.ignored_socket_errors, ssl.SSL_ERROR_EOF)

    def __init__(self, sock: Any, address: Any, server: Any, rfile: Any = None) -> None:
        self._reader: SocketReader | None = None
        if rfile is None and _plain_gevent_socket(sock):
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
            return ("414", pywsgi._REQUEST_TOO_LONG_RESPONSE)
        app = getattr(self.server, "gsio_polling_app", None)
        if app is not None and self._to_event_loop(app, line):
            return None
        try:
            if not self.read_request(self.requestline):
                return ("400", pywsgi._BAD_REQUEST_RESPONSE)
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
            or not _plain_gevent_socket(sock)
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
        headers = self.headers
        length = self.content_length
        if method == "GET":
            if length:
                return False
        elif method != "POST" or length is None or "expect" in headers:
            return False  # chunked, or waiting for 100-continue: pywsgi's reader does that
        environ = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": query,
            "SERVER_PROTOCOL": "HTTP/1.1",
        }
        for key, value in self._headers():
            if key in environ:
                environ[key] += ("; " if "COOKIE" in key else ",") + value
            else:
                environ[key] = value
        content_type = headers.typeheader
        if content_type is not None:
            environ["CONTENT_TYPE"] = content_type
        if length is not None:  # as pywsgi's environ: "0" too
            environ["CONTENT_LENGTH"] = str(length)
        self.wsgi_input = body = pywsgi.Input(self.rfile, length)
        environ["wsgi.input"] = body
        response: list = []
        self.time_start = time.time()
        # The app answers every error itself (WSGIApp turns a bug into a 500).
        chunks = app(
            environ, lambda status, headers, exc_info=None: response.extend((status, headers))
        )
        status, response_headers = response
        out = bytearray(b"HTTP/1.1 ")
        out += status.encode("latin-1")
        out += b"\r\nDate: "
        out += http_date(self.time_start)
        out += b"\r\n"
        for name, value in response_headers:
            out += f"{name}: {value}\r\n".encode("latin-1")
            if name == "Connection" and value == "close":
                self.close_connection = True
        out += b"\r\n"
        for chunk in chunks:
            out += chunk
        try:
            self._send_now(out)
            body._discard()  # what the app left unread of the body (a refused one)
        except OSError:  # the client is gone, or its body was cut short
            self.close_connection = True
        return True

    def _send_now(self, data: bytes | bytearray) -> None:
        """``sendall()``, trying one non-blocking ``send()`` first: what the client keeps up
        with leaves in one system call."""
        sock = self.socket
        raw = None if hasattr(sock, "_sslobj") else getattr(sock, "_sock", None)
        sent = 0
        if raw is not None:
            try:
                sent = raw.send(data)
            except BlockingIOError:
                pass
        if sent < len(data):
            sock.sendall(memoryview(data)[sent:])

    def get_environ(self) -> dict:
        # pywsgi's, with less done per request: what a long-polling server does most.
        env = self.server.get_environ()
        env["REQUEST_METHOD"] = self.command
        env["SCRIPT_NAME"] = ""
        path, _, query = self.path.partition("?")
        env["PATH_INFO"] = _unquote_latin1(path) if "%" in path else path
        env["QUERY_STRING"] = query
        headers = self.headers
        content_type = headers.typeheader
        if content_type is not None:
            env["CONTENT_TYPE"] = content_type
        length = headers.get("content-length")
        if length:
            env["CONTENT_LENGTH"] = length
        env["SERVER_PROTOCOL"] = self.request_version
        address = self.client_address
        if isinstance(address, tuple):
            env["REMOTE_ADDR"] = str(address[0])
            env["REMOTE_PORT"] = str(address[1])
        for key, value in self._headers():
            if key in env:
                env[key] += ("; " if "COOKIE" in key else ",") + value
            else:
                env[key] = value
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
        return env

    def read_request(self, raw_requestline: str) -> bool:
        words = raw_requestline.split()
        if len(words) == 2:  # as Node's parser: no HTTP/0.9
            raise ValueError(f"no HTTP version in {raw_requestline.rstrip()[:100]!r}")
        if len(words) != 3:
            return False
        self.requestline = raw_requestline.rstrip()
        self.command, self.path, self.request_version = words
        if not self._check_http_version():
            raise ValueError(f"invalid HTTP version {self.request_version!r}")
        self.headers = headers = read_headers(self.rfile.readline)
        if headers.get("transfer-encoding", "").lower() == "chunked":
            del headers["content-length"]
        length = headers.get("content-length")
        if length is not None:
            if not length.isdigit():
                raise ValueError(f"invalid Content-Length {length!r}")
            content_length: int | None = int(length)
            if content_length and self.command == "HEAD":
                raise ValueError("Content-Length in a HEAD request")
        else:
            content_length = None
        self.content_length = content_length
        connection = headers.get("connection", "").lower()
        if self.request_version == "HTTP/1.1":
            self.close_connection = connection == "close"
        else:
            self.close_connection = connection != "keep-alive"
        return True

    def _headers(self) -> Any:
        # pywsgi's environ keys: HTTP_<NAME>, names with "_" left out (they could pass for a
        # header with "-"), Content-Type and Content-Length under their own keys only.
        for name, value in self.headers._items:
            if "_" in name:
                continue
            key = name.upper().replace("-", "_")
            if key not in _OMITTED:
                yield "HTTP_" + key, value

    def run_application(self) -> None:
        if "HTTP_UPGRADE" in self.environ:
            self.environ["gsio.websocket"] = self._take_over
        try:
            super().run_application()
        finally:
            # The environ outlives the request in the app's sessions: no cycle through it.
            self.environ.pop("gsio.websocket", None)
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
        if not isinstance(self.server.log, _NOOP_LOG):
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

    def _sendall(self, data: bytes) -> None:
        # pywsgi's, through _send_now: gevent's sendall() asks the kernel for the socket's
        # buffer size (a system call) on every call.
        try:
            self._send_now(data)
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
