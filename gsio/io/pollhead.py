"""The request parser and response writer of the event loop's long-polling connections
(:mod:`gsio.io.pollnative`): every poll comes through here, so both do as little per request
as the bytes allow.

- :func:`parse_request` classifies and parses the request at the start of a buffer.
- :class:`HeadCache` remembers what a connection's request heads parsed to: a polling client
  sends the same head again and again (its GETs are byte for byte the same; its POSTs differ
  in their Content-Length), and the same bytes parse to the same request.
- :func:`serialize` writes a response; the part of its head made from its status and headers
  is kept for the next response with the same ones.
"""

from __future__ import annotations

from typing import Any

from gsio.protocol.http import STATUS_LINES, Response, parse_query

__all__ = ["parse_request", "HeadCache", "serialize", "HAND_BACK", "MAX_HEAD"]

MAX_HEAD = 65536  # request line and headers; past that, pywsgi's handler answers
HAND_BACK = "hand back"  # parse_request: not a request this module serves
_GET = -1  # HeadCache: the length of a GET's body (none)


def parse_request(buf: bytes, path: str, limit: int) -> Any:
    """Parse the request at the start of ``buf``: the core's strict grammar
    (:func:`gsio.protocol.request.parse_head` and ``request_environ``, which the handler uses)
    in one pass over the head, for speed: every poll comes through here. The fuzz tests
    (``tests/protocol/test_fuzz_http.py``) check that both give the same environ, and that what
    the core refuses is handed back.

    Returns None when its head is not all there yet, :data:`HAND_BACK` when it is not an
    HTTP/1.1 long-polling GET or POST with ``sid`` on ``path`` with a plain body that has
    arrived whole (or has anything unusual), else ``(environ, query, body, size)``: the WSGI
    environ's request keys, the parsed query, the body (None when the Content-Length is over ``limit``: not waited for)
    and the bytes the request takes in ``buf`` (its head only, when the body is not read).
    """
    end = buf.find(b"\r\n\r\n")
    if end < 0:
        return HAND_BACK if len(buf) > MAX_HEAD or b"\n\n" in buf else None
    head = _parse_head(buf, end, path)
    if head is HAND_BACK:
        return HAND_BACK
    environ, query, length = head
    return _with_body(buf, environ, query, length, end + 4, limit)


def _with_body(
    buf: bytes, environ: dict[str, Any], query: dict[str, str], length: int, head: int, limit: int
) -> Any:
    """:func:`parse_request`'s answer for a head (``head`` bytes, parsed) and what follows it."""
    if length == _GET:
        return environ, query, b"", head
    if length > limit:
        return environ, query, None, head
    if len(buf) < head + length:
        # The rest of the body is on its way: pywsgi's handler reads it, with the POST active
        # on its session from now on, as the protocol has it (a second POST meanwhile is an
        # error), and for as long as the session and the engine's body_timeout allow (see
        # gsio.io.connwatch.BodyWatch). Bodies that small clients send arrive with their head.
        return HAND_BACK
    return environ, query, buf[head : head + length], head + length


def _parse_head(buf: bytes, end: int, path: str) -> Any:
    """The head that ends at ``end`` (its blank line) parsed: ``(environ, query, length)``
    (``length`` the POST's Content-Length, :data:`_GET` for a GET), or :data:`HAND_BACK`."""
    lines = buf[:end].decode("latin-1").split("\r\n")
    words = lines[0].split(" ")
    if len(words) != 3 or words[2] != "HTTP/1.1" or words[0] not in ("GET", "POST"):
        return HAND_BACK
    method, target = words[0], words[1]
    route, _, query_string = target.partition("?")
    if route != path and route + "/" != path:
        return HAND_BACK
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": route,
        "QUERY_STRING": query_string,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    query = parse_query(environ)
    if query.get("transport") != "polling" or "sid" not in query:
        return HAND_BACK
    length = None
    for line in lines[1:]:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip() or "\n" in line:
            return HAND_BACK  # malformed, or folded: pywsgi's handler answers
        if "_" in name:
            continue  # as pywsgi: it could pass for a header with "-"
        key = name.upper().replace("-", "_")
        value = value.strip()
        if key == "CONTENT_LENGTH":
            if length is not None or not (value.isascii() and value.isdigit()):
                return HAND_BACK
            length = int(value)
            environ[key] = value
        elif key == "CONTENT_TYPE":
            environ.setdefault(key, value)
        elif key == "TRANSFER_ENCODING" or key == "EXPECT":
            return HAND_BACK
        else:
            key = "HTTP_" + key
            if key in environ:
                environ[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
            else:
                environ[key] = value
    if method == "GET":
        return HAND_BACK if length else (environ, query, _GET)
    if length is None:
        return HAND_BACK
    return environ, query, length


class HeadCache:
    """One connection's request heads and what they parsed to, so that the header lines sent
    again are not parsed again: :meth:`parse` answers as :func:`parse_request`, with a new
    environ and query each time (the engine adds to them). ``extra`` goes into every environ.

    A client's polls differ in their request line (socket.io-client puts a new ``t`` in each
    query) and a POST's Content-Length; their header lines are otherwise the same. So the
    request line and its query are read for every request, the header lines once for each
    distinct set (keyed by their bytes, with the method and path they came with)."""

    __slots__ = ("_path", "_extra", "_heads")

    _SIZE = 4  # header sets kept (a client's GET and its POSTs' few lengths)

    def __init__(self, path: str, extra: dict[str, Any]) -> None:
        self._path = path
        self._extra = extra
        # header lines -> (environ, query, length, request line, query string)
        self._heads: dict[bytes, tuple[dict[str, Any], dict[str, str], int, bytes, str]] = {}

    def parse(self, buf: bytes, limit: int) -> Any:
        """As :func:`parse_request` (``buf``, this connection's path, ``limit``)."""
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return HAND_BACK if len(buf) > MAX_HEAD or b"\n\n" in buf else None
        size = end + 4
        line_end = buf.find(b"\r\n")  # (found: at ``end`` at the latest)
        query_at = buf.find(b"?", 0, line_end)
        space = buf.rfind(b" ", 0, line_end)
        key = buf[line_end:size]
        known = self._heads.get(key)
        if (
            known is None
            or query_at < 0
            or space < query_at
            or known[3] != buf[:query_at]
            or buf[space:line_end] != b" HTTP/1.1"
        ):
            parsed = _parse_head(buf, end, self._path)
            if parsed is HAND_BACK:
                return HAND_BACK
            environ, query, length = parsed
            environ.update(self._extra)
            if query_at >= 0:  # (else the head has no query, which _parse_head refuses)
                if len(self._heads) >= self._SIZE:
                    self._heads.clear()
                self._heads[key] = (
                    environ,
                    query,
                    length,
                    buf[:query_at],
                    environ["QUERY_STRING"],
                )
            return _with_body(buf, environ.copy(), query.copy(), length, size, limit)
        environ, query, length, _, query_string = known
        environ = environ.copy()
        text = buf[query_at + 1 : space].decode("latin-1")
        if text == query_string:
            query = query.copy()
        else:
            # Another query on the same method, path and header lines (a poll's new ``t``).
            if " " in text:
                return HAND_BACK
            environ["QUERY_STRING"] = text
            query = parse_query(environ)
            if query.get("transport") != "polling" or "sid" not in query:
                return HAND_BACK
        return _with_body(buf, environ, query, length, size, limit)


_heads: dict[tuple[int, tuple[tuple[str, str], ...]], tuple[bytes, bytes]] = {}
_HEADS_KEPT = 256  # (responses' status and headers: a few per CORS origin)


def serialize(response: Response, date: bytes) -> bytes:
    """A response's bytes, its ``Date`` header ``date`` (as the writer of
    :func:`gsio.protocol.request.serialize_response`, which they match byte for byte)."""
    key = (response.status, tuple(response.headers))
    keep = True
    try:
        parts = _heads.get(key)
    except TypeError:  # a headers hook's pair that is a list: not kept
        keep = False
        parts = None
    if parts is None:
        status = b"HTTP/1.1 " + STATUS_LINES[response.status].encode("latin-1") + b"\r\nDate: "
        lines = b"".join(f"{n}: {v}\r\n".encode("latin-1") for n, v in response.headers)
        parts = (status, b"\r\n" + lines + b"Content-Length: ")
        if keep:
            if len(_heads) >= _HEADS_KEPT:
                _heads.clear()
            _heads[key] = parts
    body = response.body
    return b"%s%s%s%d\r\n\r\n%s" % (parts[0], date, parts[1], len(body), body)
