"""gsio/protocol/request.py, in memory: the request head parser, the environ and the response
serializer that gsio's handler, its short path and the event loop's connections share."""

from __future__ import annotations

import io

import pytest

from gsio.protocol.request import (
    BAD_REQUEST_RESPONSE,
    BadRequest,
    parse_head,
    read_headers,
    request_environ,
    serialize_response,
    valid_http_version,
)

HEAD = b"GET /a%20b?x=1 HTTP/1.1\r\nHost: h\r\nCookie: a=1\r\nX-Cookie-Id: 1\r\nCookie: b=2\r\n"


def test_a_head_is_parsed_whole_and_line_by_line_alike():
    buf = HEAD + b"X-Cookie-Id: 2\r\n\r\nGET /next"
    method, target, version, headers, size = parse_head(buf, strict=True)
    assert (method, target, version, buf[size:]) == ("GET", "/a%20b?x=1", "HTTP/1.1", b"GET /next")
    after_line = buf[:size].split(b"\r\n", 1)[1]
    assert read_headers(io.BytesIO(after_line).readline).items() == headers
    assert parse_head(buf[: size - 1], strict=True) is None


def test_the_environ_joins_cookies_with_a_semicolon_and_the_rest_with_a_comma():
    head = parse_head(HEAD + b"X-Cookie-Id: 2\r\nContent-Type: a\r\nContent-Type: b\r\n\r\n")
    assert head is not None
    environ = request_environ(head[0], head[1], head[2], head[3], {})
    assert environ == {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/a b",
        "QUERY_STRING": "x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "h",
        "HTTP_COOKIE": "a=1; b=2",
        "HTTP_X_COOKIE_ID": "1,2",
        "CONTENT_TYPE": "a",
    }


@pytest.mark.parametrize(
    "buf, strict",
    [
        (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", True),
        (b"GET / HTTP/1.1\nHost: x\n\n", True),
        (b"GET /  HTTP/1.1\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\nNo colon\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\n: empty name\r\n\r\n", False),
        (b"GET / HTTP/1.1\r\n" + b"X: y\r\n" * 101 + b"\r\n", False),
    ],
)
def test_a_malformed_head_raises_bad_request(buf, strict):
    with pytest.raises(BadRequest) as info:
        parse_head(buf, strict)
    assert isinstance(info.value, ValueError) and info.value.status == 400


def test_the_lenient_parser_takes_bare_line_feeds_and_folded_lines():
    head = parse_head(b"GET / HTTP/1.1\nHost: x\n  more\r\nY: z\n\nrest")
    assert head == ("GET", "/", "HTTP/1.1", [("Host", "x more"), ("Y", "z")], 37)


def test_a_repeated_content_length_is_refused_by_the_line_reader():
    lines = io.BytesIO(b"Content-Length: 1\r\ncontent-length: 1\r\n\r\n")
    with pytest.raises(BadRequest, match="repeated Content-Length"):
        read_headers(lines.readline)


def test_a_response_is_one_bytes_object():
    out = serialize_response(
        "200 OK", [("Content-Type", "text/plain")], b"body", b"DATE", content_length=True
    )
    assert out == (
        b"HTTP/1.1 200 OK\r\nDate: DATE\r\nContent-Type: text/plain\r\n"
        b"Content-Length: 4\r\n\r\nbody"
    )
    assert BAD_REQUEST_RESPONSE == (
        b"HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n"
    )


@pytest.mark.parametrize(
    "version, valid",
    [
        ("HTTP/1.1", True),
        ("HTTP/0.9", True),
        ("HTTP/1.9", True),
        ("HTTP/2.0", False),
        ("HTTP/2", False),
        ("HTTP/0.8", False),
        ("HTTP/1.\u0661", False),
        ("http/1.1", False),
    ],
)
def test_http_versions(version, valid):
    assert valid_http_version(version) is valid
