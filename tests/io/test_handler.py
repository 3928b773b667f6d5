"""gsio's pywsgi handler (gsio/io/handler.py) with a plain WSGI app, at the byte level: its request
parser (folded, repeated and malformed headers, pipelining, chunked bodies) and its response
paths (a list in one send, generators, write(), 204), against pywsgi's own handler."""

import json
import socket

import pytest

HANDLER_KINDS = ["gsio", "pywsgi"]  # gsio's handler, and pywsgi's for the same answers


@pytest.fixture(params=HANDLER_KINDS)
def server(request, start_server):
    return start_server("wsgi_app", kind=request.param, shared=True)


def exchange(server, raw, responses=1):
    """Send ``raw`` bytes, read ``responses`` responses: a list of (status, headers, body)."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(raw)
    reader = sock.makefile("rb")
    out = []
    for _ in range(responses):
        status_line = reader.readline().decode("latin-1")
        if not status_line:
            break
        status = int(status_line.split()[1])
        headers = {}
        while True:
            line = reader.readline().decode("latin-1")
            if line in ("\r\n", ""):
                break
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if headers.get("transfer-encoding") == "chunked":
            body = b""
            while True:
                size = int(reader.readline(), 16)
                chunk = reader.read(size + 2)[:size]
                if not size:
                    break
                body += chunk
        elif status in (204, 304):
            body = b""
        else:
            body = reader.read(int(headers.get("content-length", "0")))
        out.append((status, headers, body))
    sock.close()
    return out


def get(path, extra=""):
    return f"GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n".encode()


@pytest.mark.parametrize(
    "path, body",
    [
        ("/list", b"abcd"),
        ("/gen", b"abcd"),
        ("/write", b"written,twice"),
        ("/empty", b""),
        ("/length", b"abcd"),
    ],
)
def test_response_paths(server, path, body):
    ((status, headers, got),) = exchange(server, get(path))
    assert (status, got) == (200, body)
    if path in ("/list", "/empty", "/length"):
        assert headers["content-length"] == str(len(body))
    assert "date" in headers


def test_204_and_a_204_with_a_body(server):
    server.expect_traceback = True  # pywsgi logs the application error
    ((status, _, body),) = exchange(server, get("/204"))
    assert (status, body) == (204, b"")
    ((status, _, _),) = exchange(server, get("/204-body"))
    assert status == 500


def test_pipelined_requests_on_one_connection(server):
    answers = exchange(server, get("/list") + get("/gen") + get("/empty"), responses=3)
    assert [(s, b) for s, _, b in answers] == [(200, b"abcd"), (200, b"abcd"), (200, b"")]


def test_headers_reach_the_environ_as_pywsgi_puts_them(server):
    extra = (
        "X-Twice: a\r\nX-Twice: b\r\nCookie: c=1\r\nCookie: d=2\r\n"
        "X-Folded: first\r\n  second\r\nX_Under: dropped\r\nContent-Type: text/x\r\n"
    )
    ((status, _, body),) = exchange(server, get("/environ?a=%20b&c", extra))
    assert status == 200
    env = json.loads(body)
    assert env["PATH_INFO"] == "/environ" and env["QUERY_STRING"] == "a=%20b&c"
    assert env["HTTP_X_TWICE"] == "a,b"
    assert env["HTTP_COOKIE"] == "c=1; d=2"
    # An obsolete folded line: gsio joins it with a space, as RFC 9112 asks; pywsgi keeps the
    # CRLF and the indent in the value.
    folded = env["HTTP_X_FOLDED"]
    assert (
        folded == "first second" if server.kind == "gsio" else folded.split() == ["first", "second"]
    )
    assert env["CONTENT_TYPE"] == "text/x" and "HTTP_CONTENT_TYPE" not in env
    assert "HTTP_X_UNDER" not in env and "HTTP_X-UNDER" not in env


def test_only_cookies_are_joined_with_a_semicolon(start_server):
    """RFC 6265: the Cookie header's pairs are joined with "; "; any other repeated header,
    one named like a cookie too, with "," (RFC 9110), as the event loop's connections do."""
    server = start_server("wsgi_app", kind="gsio", shared=True)
    extra = "X-Cookie-Id: a\r\nX-Cookie-Id: b\r\nCookie: c=1\r\nCookie: d=2\r\n"
    ((status, _, body),) = exchange(server, get("/environ", extra))
    env = json.loads(body)
    assert (status, env["HTTP_X_COOKIE_ID"], env["HTTP_COOKIE"]) == (200, "a,b", "c=1; d=2")


def test_bodies_with_a_length_and_chunked(server):
    fixed = b"POST /body HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello"
    chunked = (
        b"POST /body HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"
    )
    answers = exchange(server, fixed + chunked, responses=2)
    assert [b for _, _, b in answers] == [b"hello", b"abcde"]


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"GET /list HTTP/1.1\r\nNo colon here\r\n\r\n",
        b"GET /list HTTP/1.1\r\nBad : space\r\n\r\n",
        b"GET /list HTTP/1.1\r\n" + b"".join(b"X-%d: y\r\n" % i for i in range(101)) + b"\r\n",
        b"GET /list HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"GET /list HTTP/7.7\r\n\r\n",
        b"GET /list HTTP/1.1\r\n" + b"X: " + b"y" * 70000 + b"\r\n\r\n",
        b"POST /body HTTP/1.1\r\nContent-Length: 1\r\ncontent-length: 1\r\n\r\nab",
        "POST /body HTTP/1.1\r\nContent-Length: \u0663\r\n\r\nabc".encode("utf-8"),
    ],
    ids=[
        "no-colon",
        "space-before-colon",
        "101-headers",
        "negative-length",
        "version",
        "long",
        "repeated-length",
        "non-ascii-length",
    ],
)
def test_malformed_requests_get_400(start_server, request_bytes):
    server = start_server("wsgi_app", kind="gsio", shared=True)
    ((status, _, _),) = exchange(server, request_bytes)
    assert status == 400
