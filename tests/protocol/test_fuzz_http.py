"""Property-based fuzzing of the HTTP parsers and helpers: the request head parser of the core
(gsio.protocol.request: parse_head on a whole buffer, read_headers line by line), the event
loop's request classifier on it (gsio.io.pollnative.parse_request), query strings
(gsio.protocol.http.parse_query) and the CORS policy (gsio.protocol.http.Cors).

The properties: no parser raises anything but its documented error (parse_request: none, it
hands what it cannot take back; parse_head and read_headers: BadRequest, a ValueError, which
pywsgi's handler answers with 400); a request parsed from a prefix of the bytes is the request
parsed from all of them; the whole-buffer parser and the line reader agree (one grammar); the
short path of parse_query agrees with the standard library's. See tests/fuzzing.py.
"""

from __future__ import annotations

import io
from typing import Any
from urllib.parse import parse_qsl

import fuzzing
from fuzzing import chunks, split_points
from hypothesis import given
from hypothesis import strategies as st

from gsio.io.pollnative import HAND_BACK, parse_request
from gsio.protocol.http import Cors, parse_query
from gsio.protocol.request import (
    BadRequest,
    parse_head,
    read_headers,
    request_environ,
)

assert fuzzing.EXAMPLES >= 0  # the import loads the hypothesis profile

PATH = "/socket.io/"
LIMIT = 100

QUERY_ITEMS = st.one_of(
    st.sampled_from(
        ["EIO=4", "transport=polling", "transport=websocket", "sid=abc", "sid=", "t=N8", "sid"]
    ),
    st.text(alphabet="abc=&%+2F0é \x00;", max_size=8),
)
QUERY = st.lists(QUERY_ITEMS, max_size=5).map("&".join)
HEADER_NAMES = st.one_of(
    st.sampled_from(
        [
            "Host",
            "Content-Length",
            "content-length",
            "Content-Type",
            "Transfer-Encoding",
            "Expect",
            "Cookie",
            "Origin",
            "X_Forwarded",
            " Host",
            "Host ",
            "",
        ]
    ),
    st.text(alphabet="abcXY-_: \t\x00é", max_size=8),
)
HEADER_VALUES = st.one_of(
    st.sampled_from(["0", "3", "12", "200", "-1", "1x", "٣", " 3 ", "chunked", "100-continue"]),
    st.text(alphabet="abc 0123456789;=,\t\x00\x7fé\r", max_size=10),
)


@st.composite
def requests(draw: st.DrawFn) -> bytes:
    """The bytes of an HTTP request, mostly a long-polling GET or POST, sometimes followed by
    the start of another."""
    method = draw(st.sampled_from(["GET", "POST", "POST", "PUT", "get", "GET "]))
    target = draw(st.sampled_from([PATH, "/socket.io", "/other/", PATH + "x", ""]))
    target += draw(st.sampled_from(["?transport=polling&sid=abc&", "?", ""])) + draw(QUERY)
    version = draw(st.sampled_from(["HTTP/1.1", "HTTP/1.1", "HTTP/1.0", "HTTP/2", "HTTP/1.1 x"]))
    eol = draw(st.sampled_from(["\r\n", "\r\n", "\r\n", "\n"]))
    lines = [f"{method} {target} {version}"]
    body = draw(st.binary(max_size=20))
    if method == "POST" and draw(st.booleans()):
        lines.append(f"Content-Length: {len(body) + draw(st.sampled_from([0, 0, 0, 1, -1, 200]))}")
    for _ in range(draw(st.integers(0, 4))):
        lines.append(
            draw(HEADER_NAMES) + draw(st.sampled_from([": ", ":", " ", ""])) + draw(HEADER_VALUES)
        )
    head = eol.join(lines) + eol + eol
    tail = draw(st.sampled_from([b"", b"", b"GET / HTTP/1.1\r\n", b"\r\n"]))
    return head.encode("utf-8", "surrogatepass") + body + tail


@given(requests() | st.binary(max_size=80))
def test_parse_request_returns_or_hands_back(buf: bytes) -> None:
    result = parse_request(buf, PATH, LIMIT)
    if result is None or result == HAND_BACK:
        return
    environ, query, body, size = result
    assert environ["REQUEST_METHOD"] in ("GET", "POST")
    assert query.get("transport") == "polling" and "sid" in query
    assert 0 < size <= len(buf)
    if environ["REQUEST_METHOD"] == "GET":
        assert body == b""
    elif body is None:
        assert int(environ["CONTENT_LENGTH"]) > LIMIT
    else:
        assert len(body) == int(environ["CONTENT_LENGTH"]) <= LIMIT
        assert buf[size - len(body) : size] == body


@given(st.data())
def test_a_request_parsed_from_a_prefix_is_the_whole_ones(data: st.DataObject) -> None:
    buf = data.draw(requests())
    whole = parse_request(buf, PATH, LIMIT)
    for cut in data.draw(split_points(len(buf))):
        part = parse_request(buf[:cut], PATH, LIMIT)
        if part is not None and part != HAND_BACK:
            assert part == whole  # what follows a complete request does not change it


class _Trickle(io.RawIOBase):
    """A raw stream giving ``data`` in the chunks given: as a socket's recv() does."""

    def __init__(self, pieces: list[bytes]) -> None:
        self._pieces = [piece for piece in pieces if piece]

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if not self._pieces:
            return 0
        piece = self._pieces.pop(0)
        n = min(len(buffer), len(piece))
        buffer[:n] = piece[:n]
        if n < len(piece):
            self._pieces.insert(0, piece[n:])
        return n


def _headers(readline: Any) -> Any:
    try:
        return read_headers(readline).items()
    except BadRequest as exc:  # the documented error, answered with 400
        return ("BadRequest", str(exc))


@given(st.data())
def test_read_headers_raises_only_value_error_and_agrees_in_chunks(data: st.DataObject) -> None:
    buf = data.draw(requests() | st.binary(max_size=80))
    head = buf.split(b"\n", 1)[-1]  # what follows the request line
    whole = _headers(io.BytesIO(head).readline)
    cuts = data.draw(split_points(len(head)))
    trickled = _headers(io.BufferedReader(_Trickle(chunks(head, cuts)), 16).readline)
    assert trickled == whole
    if not isinstance(whole, tuple):
        for name, value in whole:
            assert name and name == name.strip() and value == value.strip()


@given(st.data())
def test_parse_head_raises_only_bad_request_and_agrees_with_read_headers(
    data: st.DataObject,
) -> None:
    buf = data.draw(requests() | st.binary(max_size=80))
    for strict in (False, True):
        try:
            head = parse_head(buf, strict)
        except BadRequest:
            continue
        if head is None:
            continue
        method, target, version, headers, size = head
        assert 0 < size <= len(buf) and buf[:size].endswith(b"\n")
        assert [method, target, version] == buf[:size].split(b"\n", 1)[0].decode(
            "latin-1"
        ).rstrip("\r").split(" ")
        # the line reader reads the same headers from the same bytes: one grammar
        after_line = buf[:size].split(b"\n", 1)[1]
        read = _headers(io.BytesIO(after_line).readline)
        if read == ("BadRequest", "repeated Content-Length"):  # Headers refuses that
            assert [name.lower() for name, _ in headers].count("content-length") > 1
        else:
            assert read == headers
        for cut in data.draw(split_points(len(buf))):
            try:
                part = parse_head(buf[:cut], strict)
            except BadRequest:
                continue  # the limits or bare line feeds of a prefix
            assert part is None or part == head


@given(QUERY | st.text(max_size=30))
def test_parse_query_agrees_with_the_standard_library(string: str) -> None:
    expected: dict[str, str] = {}
    for key, value in parse_qsl(string, keep_blank_values=True):
        expected.setdefault(key, value)
    assert parse_query({"QUERY_STRING": string}) == expected


ORIGINS = st.one_of(
    st.none(),
    st.just("*"),
    st.text(max_size=10),
    st.lists(st.text(max_size=10), max_size=3),
    st.sampled_from([lambda origin: origin.startswith("http"), lambda origin: False]),
)


@given(ORIGINS, st.booleans(), st.none() | st.text(max_size=12), st.none() | st.text(max_size=12))
def test_cors_never_raises_and_echoes_only_allowed_origins(
    origins: Any, credentials: bool, origin: str | None, requested: str | None
) -> None:
    cors = Cors(origins, credentials)
    environ: dict[str, str] = {}
    if origin is not None:
        environ["HTTP_ORIGIN"] = origin
    if requested is not None:
        environ["HTTP_ACCESS_CONTROL_REQUEST_HEADERS"] = requested
    allowed = cors.allows(origin)
    assert isinstance(allowed, bool)
    for headers in (cors.headers(environ), cors.preflight(environ).headers):
        names = [name.lower() for name, _ in headers]
        assert len(names) == len(set(names))  # no header twice
        values = dict((name.lower(), value) for name, value in headers)
        echoed = values.get("access-control-allow-origin")
        if echoed is not None:
            assert origin is not None and allowed
            assert echoed == origin or (echoed == "*" and not credentials)
        if credentials and echoed is not None:
            assert echoed != "*" and values.get("access-control-allow-credentials") == "true"


@given(requests() | st.binary(max_size=80))
def test_the_event_loops_parser_is_the_cores_grammar(buf: bytes) -> None:
    """The event loop's one-pass parser (pollnative.parse_request) and the core's two steps
    (parse_head, strict, then request_environ): what the core refuses is handed back, and a
    request the event loop takes has the environ the core makes of it."""
    result = parse_request(buf, PATH, LIMIT)
    try:
        head = parse_head(buf, strict=True)
    except BadRequest:
        assert result is HAND_BACK
        return
    if head is None:
        assert result is None or result is HAND_BACK
        return
    if isinstance(result, tuple):
        method, target, version, headers, size = head
        assert result[0] == request_environ(method, target, version, headers, {})
        assert result[3] >= size
