"""HTTP/1.1 on the wire, without I/O: the request head parser, the WSGI environ made from a
request head, and the response serializer. Every way gsio serves HTTP with its own handler
uses these (gsio's pywsgi handler and its polling short path, :mod:`gsio.io.handler`; the
event loop's polling connections, :mod:`gsio.io.pollnative`); the plain WSGI path is any WSGI
server's.

- :func:`parse_head` parses a whole request head in a buffer (None while it is incomplete:
  call it again with more); :func:`read_headers` reads the header lines one at a time from a
  ``readline`` (a stream's). Both use one grammar for a header line, and raise
  :class:`BadRequest` (a ``ValueError``, which pywsgi answers with 400) on a malformed one.
- :func:`request_environ` builds a request's WSGI environ keys (PEP 3333, as pywsgi's: ``HTTP_``
  keys, header names with ``_`` left out, repeated cookies joined with ``"; "`` (RFC 6265) and
  other repeated headers with ``","`` (RFC 9110)).
- :func:`serialize_response` makes a whole response (status line, Date, headers, body) into one
  bytes object, to leave in one ``send()``.
"""

from __future__ import annotations

from typing import Any, Callable
from urllib.parse import unquote

from gsio.exceptions import ProtocolError

__all__ = [
    "BadRequest",
    "Head",
    "Headers",
    "HeaderItems",
    "parse_head",
    "read_headers",
    "request_environ",
    "parse_content_length",
    "valid_http_version",
    "serialize_response",
    "MAX_LINE",
    "MAX_HEADERS",
    "BAD_REQUEST_RESPONSE",
    "URI_TOO_LONG_RESPONSE",
]

MAX_LINE = 65536  # as http.client: the longest header line, and the most headers
MAX_HEADERS = 100

#: (name as sent, value without the whitespace around it), in the order received.
HeaderItems = list[tuple[str, str]]


class BadRequest(ProtocolError, ValueError):
    """A request head HTTP/1.1 does not allow (answered with 400). A ``ValueError`` too, as
    pywsgi expects of its parser's errors (it answers them with 400 without a traceback)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=400)


#: A parsed request head: method, target, version, headers, and the bytes it takes in the
#: buffer (its empty line included).
Head = tuple[str, str, str, HeaderItems, int]


def _add_lines(items: HeaderItems, lines: list[str], strict: bool = False) -> None:
    """Add header lines (without their line ends) to ``items``: the one header grammar."""
    for line in lines:
        if line[:1] in (" ", "\t"):  # obsolete line folding: the previous value goes on
            if strict or not items:
                raise BadRequest("folded line")
            name, value = items[-1]
            items[-1] = (name, (value + " " + line.strip()).strip())
            continue
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise BadRequest(f"invalid header line {line[:100]!r}")
        items.append((name, value.strip()))


def parse_head(buf: bytes, strict: bool = False) -> Head | None:
    """Parse the request head at the start of ``buf``; None when it is not all there yet.

    Lines end with CRLF or, unless ``strict``, a bare LF; unless ``strict`` a folded header line
    continues the previous value. Raises :class:`BadRequest` on a malformed head (a request
    line without three words, a bad header line, a line longer than :data:`MAX_LINE`, more than
    :data:`MAX_HEADERS` headers); the method and HTTP version are the caller's to check.
    """
    if strict:
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            if len(buf) > MAX_LINE or b"\n\n" in buf:
                raise BadRequest("request head too long, or with bare line feeds")
            return None
        size = end + 4
        text = buf[:end].decode("latin-1")
        lines = text.split("\r\n")
        if end > MAX_LINE or text.count("\n") != len(lines) - 1:
            raise BadRequest("request head too long, or with bare line feeds")
    else:
        # The empty line ends with CRLF or LF, as the line before it.
        crlf, lf = buf.find(b"\n\r\n"), buf.find(b"\n\n")
        if lf >= 0 and (crlf < 0 or lf < crlf):
            end, size = lf, lf + 2
        elif crlf >= 0:
            end, size = crlf, crlf + 3
        else:
            if len(buf) > MAX_LINE * (MAX_HEADERS + 2):
                raise BadRequest("request head too long")
            return None
        lines = buf[:end].decode("latin-1").split("\n")
        for i, line in enumerate(lines):
            if len(line) > MAX_LINE:
                raise BadRequest("header line too long")
            if line[-1:] == "\r":
                lines[i] = line[:-1]
    words = lines[0].split(" ")
    if len(words) != 3 or "" in words:
        raise BadRequest(f"invalid request line {lines[0][:100]!r}")
    if len(lines) > MAX_HEADERS + 1:
        raise BadRequest("too many headers")
    items: HeaderItems = []
    _add_lines(items, lines[1:], strict)
    return words[0], words[1], words[2], items, size


class Headers:
    """A request's headers, with the part of ``http.client.HTTPMessage``'s interface that
    pywsgi uses (``get``, ``getheader``, ``typeheader``, ``headers``, ``status``)."""

    __slots__ = ("_items", "_first")

    status = ""

    def __init__(self, items: HeaderItems) -> None:
        self._items = items
        first: dict[str, str] = {}
        for name, value in items:
            lower = name.lower()
            if lower not in first:
                first[lower] = value
            elif lower == "content-length":  # as Node's parser: which one would be the body's?
                raise BadRequest("repeated Content-Length")
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

    def items(self) -> HeaderItems:
        """(name, value) pairs in the order received (gunicorn's access log reads them)."""
        return self._items


def read_headers(readline: Callable[[int], bytes]) -> Headers:
    """Read header lines from ``readline`` (a stream's, after the request line) up to the empty
    line; raises :class:`BadRequest` on a malformed header (:func:`parse_head`'s grammar)."""
    lines: list[str] = []
    while True:
        line = readline(MAX_LINE + 1)
        if len(line) > MAX_LINE:
            raise BadRequest("header line too long")
        if line == b"\r\n" or line == b"\n" or not line:
            break
        lines.append(line.rstrip(b"\r\n").decode("latin-1"))
        if len(lines) > MAX_HEADERS:
            raise BadRequest("too many headers")
    items: HeaderItems = []
    _add_lines(items, lines)
    return Headers(items)


def parse_content_length(value: str) -> int:
    """A Content-Length header's value: ASCII digits only (no sign, no space)."""
    if not (value.isascii() and value.isdigit()):
        raise BadRequest(f"invalid Content-Length {value[:100]!r}")
    return int(value)


_VERSIONS = frozenset(("HTTP/1.1", "HTTP/1.0"))


def valid_http_version(version: str) -> bool:
    """Whether ``version`` is ``HTTP/x.y`` with 0.9 <= x.y < 2.0 (what pywsgi serves)."""
    if version in _VERSIONS:
        return True
    if len(version) != 8 or not version.startswith("HTTP/") or version[6] != ".":
        return False
    major, minor = version[5], version[7]
    if not (major.isascii() and major.isdigit() and minor.isascii() and minor.isdigit()):
        return False
    return (0, 9) <= (int(major), int(minor)) < (2, 0)


# Header name as sent -> its environ key ("" for a name left out): a few names make most
# requests, and the key is the most costly part of an environ to make.
_KEYS: dict[str, str] = {}
_MAX_KEYS = 1000


def _environ_key(name: str) -> str:
    # As pywsgi: a name with "_" is left out (it could pass for one with "-").
    key = "" if "_" in name else name.upper().replace("-", "_")
    if key and key != "CONTENT_TYPE" and key != "CONTENT_LENGTH":
        key = "HTTP_" + key
    if len(_KEYS) < _MAX_KEYS:
        _KEYS[name] = key
    return key


def request_environ(
    method: str, target: str, version: str, headers: HeaderItems, environ: dict[str, Any]
) -> dict[str, Any]:
    """Add a request's keys to ``environ`` (and return it): REQUEST_METHOD, PATH_INFO (with
    %-escapes decoded as latin-1, as PEP 3333 has it), QUERY_STRING, SERVER_PROTOCOL,
    CONTENT_TYPE (the first one sent), CONTENT_LENGTH and an ``HTTP_`` key per other header.
    As pywsgi's: a name with ``_`` is left out, repeated cookies are joined with ``"; "``
    (RFC 6265) and other repeated headers with ``","`` (RFC 9110), Content-Length too (a list
    that :func:`parse_content_length` refuses)."""
    path, _, query = target.partition("?")
    environ["REQUEST_METHOD"] = method
    environ["PATH_INFO"] = unquote(path, encoding="latin-1") if "%" in path else path
    environ["QUERY_STRING"] = query
    environ["SERVER_PROTOCOL"] = version
    keys = _KEYS
    for name, value in headers:
        key = keys.get(name)
        if key is None:
            key = _environ_key(name)
        if not key:
            continue
        if key in environ:
            if key == "HTTP_COOKIE":
                environ[key] += "; " + value
            elif key != "CONTENT_TYPE":
                environ[key] += "," + value
        else:
            environ[key] = value
    return environ


def serialize_response(
    status: str,
    headers: list[tuple[str, str]],
    body: bytes = b"",
    date: bytes | None = None,
    content_length: bool = False,
) -> bytearray:
    """A whole HTTP/1.1 response as one bytearray: the status line (``status`` as
    ``"200 OK"``), ``Date: <date>`` when given (see :func:`gsio.protocol.http.http_date`), the
    headers, ``Content-Length`` when ``content_length`` (else it is among the headers, or
    there is none), and the body."""
    out = bytearray(b"HTTP/1.1 ")
    out += status.encode("latin-1")
    if date is not None:
        out += b"\r\nDate: "
        out += date
    out += b"\r\n"
    for name, value in headers:
        out += f"{name}: {value}\r\n".encode("latin-1")
    if content_length:
        out += b"Content-Length: %d\r\n" % len(body)
    out += b"\r\n"
    out += body
    return out  # a bytearray: copying it into bytes would cost the hot path a copy


#: The answers to a request that cannot be parsed, and to a too long request line.
BAD_REQUEST_RESPONSE = bytes(
    serialize_response("400 Bad Request", [("Connection", "close"), ("Content-Length", "0")])
)
URI_TOO_LONG_RESPONSE = bytes(
    serialize_response(
        "414 Request URI Too Long", [("Connection", "close"), ("Content-Length", "0")]
    )
)
