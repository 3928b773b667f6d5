"""HTTP pieces of the Engine.IO endpoint: responses, JSON errors, CORS, compression, cookies."""

from __future__ import annotations

import gzip
import json
import re
import zlib
from collections.abc import Sequence
from typing import Any, Callable, Union
from urllib.parse import parse_qsl

__all__ = [
    "Response",
    "NotModified",
    "error_response",
    "parse_query",
    "Cors",
    "compress",
    "http_date",
    "valid_header_value",
    "ERROR_MESSAGES",
]

STATUS_LINES = {
    200: "200 OK",
    204: "204 No Content",
    304: "304 Not Modified",
    400: "400 Bad Request",
    403: "403 Forbidden",
    404: "404 Not Found",
    413: "413 Payload Too Large",
    500: "500 Internal Server Error",
    503: "503 Service Unavailable",
}

# The Engine.IO error codes of the JSON error body, as the reference server numbers them.
ERROR_MESSAGES = {
    0: "Transport unknown",
    1: "Session ID unknown",
    2: "Bad handshake method",
    3: "Bad request",
    4: "Forbidden",
    5: "Unsupported protocol version",
}

Headers = list[tuple[str, str]]

#: Seconds a connection has to send a whole request head, counted from when it is ready for
#: one (accepted, or its last response sent), under gsio's own handler and event-loop
#: connections: Node's ``headersTimeout`` is 60 s. A server's ``gsio_header_timeout``
#: attribute (``make_server(header_timeout=...)``) overrides it; None: no limit.
DEFAULT_HEADER_TIMEOUT = 60.0
#: The answer to a request whose head did not arrive in time, as Node's.
REQUEST_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
)

# What RFC 9110 allows in a header value (and Node's checkInvalidHeaderChar): HTAB, visible
# ASCII, space and obs-text; no other control character.
_INVALID_HEADER_CHAR = re.compile(r"[^\t\x20-\x7e\x80-\xff]")


def valid_header_value(value: str) -> bool:
    """Whether ``value`` (decoded as latin-1, as WSGI has it) may be a header's value."""
    return _INVALID_HEADER_CHAR.search(value) is None


_date = [0, b""]  # the last Date header's value, and its second
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def imf_fixdate(second: int) -> str:
    """RFC 9110's date format (``Sun, 06 Nov 1994 08:49:37 GMT``) of a POSIX time, as
    wsgiref writes it; by arithmetic (the civil calendar from days, H. Hinnant's algorithm),
    so that the pure core needs no time module."""
    days, rest = divmod(second, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, seconds = divmod(rest, 60)
    weekday = (days + 3) % 7  # 1970-01-01 was a Thursday
    era, day_of_era = divmod(days + 719468, 146097)
    year_of_era = (
        day_of_era - day_of_era // 1460 + day_of_era // 36524 - day_of_era // 146096
    ) // 365
    day_of_year = day_of_era - (365 * year_of_era + year_of_era // 4 - year_of_era // 100)
    shifted_month = (5 * day_of_year + 2) // 153  # March is 0
    day = day_of_year - (153 * shifted_month + 2) // 5 + 1
    month = shifted_month + 3 if shifted_month < 10 else shifted_month - 9
    year = year_of_era + era * 400 + (month <= 2)
    return (
        f"{_DAYS[weekday]}, {day:02d} {_MONTHS[month - 1]} {year:04d} "
        f"{hours:02d}:{minutes:02d}:{seconds:02d} GMT"
    )


def http_date(now: float) -> bytes:
    """The Date header's value for the time ``now``, made once a second."""
    second = int(now)
    if _date[0] != second:
        _date[0] = second
        _date[1] = imf_fixdate(second).encode("latin-1")
    return _date[1]  # type: ignore[return-value]


class Response:
    """A complete HTTP response: the body is always sent whole, with its Content-Length."""

    __slots__ = ("status", "headers", "body")

    def __init__(self, status: int, headers: Headers | None = None, body: bytes = b"") -> None:
        self.status = status
        self.headers = headers if headers is not None else []
        self.body = body

    def __call__(self, start_response: Callable[..., Any]) -> list[bytes]:
        headers = self.headers + [("Content-Length", str(len(self.body)))]
        start_response(STATUS_LINES.get(self.status, f"{self.status} Unknown"), headers)
        return [self.body]


class NotModified(Response):
    """A 304: no body, and no Content-Length (RFC 9110 allows only the 200's length there)."""

    __slots__ = ()

    def __init__(self, headers: Headers | None = None) -> None:
        super().__init__(304, headers)

    def __call__(self, start_response: Callable[..., Any]) -> list[bytes]:
        start_response(STATUS_LINES[304], self.headers)
        return []


def text_response(body: str | bytes, content_type: str = "text/plain; charset=UTF-8") -> Response:
    if isinstance(body, str):
        body = body.encode("utf-8")
    return Response(200, [("Content-Type", content_type)], body)


def error_response(code: int, status: int = 400, message: str | None = None) -> Response:
    """The reference's error answer: ``{"code":N,"message":"..."}`` as application/json."""
    body = json.dumps(
        {
            "code": code,
            "message": message if message is not None else ERROR_MESSAGES.get(code, "Bad request"),
        },
        separators=(",", ":"),
    ).encode()
    return Response(status, [("Content-Type", "application/json")], body)


def parse_query(environ: dict[str, Any]) -> dict[str, str]:
    """The query string as a dict (the first value of a repeated key wins)."""
    query: dict[str, str] = {}
    string = environ.get("QUERY_STRING", "")
    if "%" in string or "+" in string:
        for key, value in parse_qsl(string, keep_blank_values=True):
            query.setdefault(key, value)
        return query
    # Nothing to unquote (the Engine.IO query always): what parse_qsl does, made short.
    for item in string.split("&"):
        if item:
            key, _, value = item.partition("=")
            if key not in query:
                query[key] = value
    return query


OriginsOption = Union[None, str, Sequence[str], Callable[[str], bool]]


class Cors:
    """Cross-origin policy: which origins may talk to the endpoint, and the headers that say so.

    ``origins`` is None (no CORS headers, no Origin check), ``"*"`` (every origin), a list of
    origins, or a callable ``origin -> bool``. With ``credentials`` the allowed origin is echoed
    (never ``*``), and only an origin the policy names is ever echoed.
    """

    def __init__(self, origins: OriginsOption = None, credentials: bool = False) -> None:
        if isinstance(origins, str) and origins != "*":
            origins = [origins]
        self.origins = origins
        self.credentials = credentials

    @property
    def enabled(self) -> bool:
        return self.origins is not None

    def allows(self, origin: str | None) -> bool:
        """Whether a request from ``origin`` may proceed (no Origin header: same-origin or not a browser)."""
        if self.origins is None or origin is None or self.origins == "*":
            return True
        if callable(self.origins):
            return bool(self.origins(origin))
        return origin in self.origins

    def headers(self, environ: dict[str, Any]) -> Headers:
        origin = environ.get("HTTP_ORIGIN")
        if (
            self.origins is None
            or origin is None
            or not valid_header_value(origin)
            or not self.allows(origin)
        ):
            return []
        if self.origins == "*" and not self.credentials:
            headers = [("Access-Control-Allow-Origin", "*")]
        else:
            headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers

    def preflight(self, environ: dict[str, Any]) -> Response:
        """The whole answer to a preflight (OPTIONS) request, as Node's ``cors`` gives it: the
        origin's headers, the methods, and the request headers asked for, echoed (hence
        ``Vary: Access-Control-Request-Headers``, in the one Vary header). Nothing is to be
        added to it: a header sent twice makes browsers refuse the preflight."""
        headers = self.headers(environ)
        if headers:
            vary = "Access-Control-Request-Headers"
            for i, (name, value) in enumerate(headers):
                if name == "Vary":
                    headers[i] = (name, f"{value}, {vary}")
                    break
            else:
                headers.append(("Vary", vary))
            headers.append(("Access-Control-Allow-Methods", "OPTIONS, GET, POST"))
            requested = environ.get("HTTP_ACCESS_CONTROL_REQUEST_HEADERS")
            if requested and valid_header_value(requested):
                headers.append(("Access-Control-Allow-Headers", requested))
        return Response(204, headers)


def compress(body: bytes, environ: dict[str, Any], threshold: int) -> tuple[bytes, Headers]:
    """gzip or deflate ``body`` when the client accepts it and it is at least ``threshold`` bytes."""
    if len(body) < threshold:
        return body, []
    accepted = _accepted_encodings(environ.get("HTTP_ACCEPT_ENCODING", ""))
    if "gzip" in accepted:
        return gzip.compress(body, compresslevel=6), [("Content-Encoding", "gzip")]
    if "deflate" in accepted:
        return zlib.compress(body, 6), [("Content-Encoding", "deflate")]
    return body, []


def _accepted_encodings(header: str) -> set[str]:
    """The codings an Accept-Encoding header accepts (those with q=0 refused)."""
    accepted = set()
    for item in header.split(","):
        name, *params = (part.strip() for part in item.split(";"))
        refused = False
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    refused = float(value) == 0
                except ValueError:
                    refused = True
        if name and not refused:
            accepted.add(name.lower())
    if "*" in accepted:
        accepted.update(("gzip", "deflate"))
    return accepted
