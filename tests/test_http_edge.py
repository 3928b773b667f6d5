"""HTTP at its edges, on the wire: the CORS preflight's raw header lines, an Origin no browser
sends, request lines gevent's parser cannot take, and connections that never finish a request.

Every answer is read as raw bytes (a header sent twice is two lines: a dict would hide it). The
server fixture fails a test whose server printed a Traceback.
"""

import base64
import os
import re
import socket

import pytest
from rawhttp import read_response

KINDS = ["gsio", "pywsgi-ws", "pywsgi", "werkzeug"]
PATH = "/socket.io/"
HANDSHAKE = PATH + "?EIO=4&transport=polling"
ORIGIN = "http://app.example"
SID = re.compile(rb'0\{"sid":"([A-Za-z0-9_-]+)"')
BAD_REQUEST = b'{"code":3,"message":"Bad request"}'


@pytest.fixture(params=KINDS)
def any_kind(request):
    return request.param


def connect(server):
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def exchange(server, raw, sock=None):
    """Send ``raw``, read one response: ``(status, [(name, value)] as sent, body)``."""
    own = sock is None
    sock = sock or connect(server)
    try:
        sock.sendall(raw)
        return parse(read_response(sock))
    finally:
        if own:
            sock.close()


def parse(data):
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = []
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers.append((name, value.strip()))
    return int(lines[0].split()[1]), headers, body


def values(headers, name):
    """Every value sent for header ``name``, one per header line."""
    return [v for k, v in headers if k.lower() == name.lower()]


def request(method, target, headers=(), body=b""):
    lines = [f"{method} {target} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{name}: {value}" for name, value in headers]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def handshake(server, sock=None, headers=()):
    status, _, body = exchange(server, request("GET", HANDSHAKE, headers), sock)
    assert status == 200, body
    return SID.match(body).group(1).decode()


def assert_each_header_once(headers):
    names = [name.lower() for name, _ in headers if name.lower() != "set-cookie"]
    assert len(names) == len(set(names)), headers


# -- CORS preflight ---------------------------------------------------------------------------

PREFLIGHT_HEADERS = (
    ("Origin", ORIGIN),
    ("Access-Control-Request-Method", "POST"),
    ("Access-Control-Request-Headers", "x-token, content-type"),
)


@pytest.mark.parametrize(
    "cors, credentials", [(ORIGIN, False), (ORIGIN, True), ("*", True)], ids=str
)
def test_preflight_sends_each_header_once(start_server, any_kind, cors, credentials):
    args = ("--cors", cors) + (("--cors-credentials",) if credentials else ())
    server = start_server("engine_app", *args, kind=any_kind, shared=True)
    status, headers, body = exchange(server, request("OPTIONS", HANDSHAKE, PREFLIGHT_HEADERS))
    assert (status, body) == (204, b"")
    assert_each_header_once(headers)
    assert values(headers, "Access-Control-Allow-Origin") == [ORIGIN]
    assert values(headers, "Vary") == ["Origin, Access-Control-Request-Headers"]
    assert values(headers, "Access-Control-Allow-Credentials") == (["true"] if credentials else [])
    methods = {m.strip() for m in values(headers, "Access-Control-Allow-Methods")[0].split(",")}
    assert {"GET", "POST", "OPTIONS"} <= methods
    assert values(headers, "Access-Control-Allow-Headers") == ["x-token, content-type"]
    # The answers after it are whole and carry their CORS headers once too.
    sid = handshake(server, headers=[("Origin", ORIGIN)])
    status, headers, body = exchange(
        server, request("POST", f"{HANDSHAKE}&sid={sid}", [("Origin", ORIGIN)], b"4hello")
    )
    assert (status, body) == (200, b"ok")
    assert_each_header_once(headers)
    assert values(headers, "Access-Control-Allow-Origin") == [ORIGIN]


def test_preflight_on_an_event_loop_connection(start_server):
    """A preflight on a keep-alive connection whose polling requests the event loop serves
    (gsio.pollnative) is given back to the handler and answered the same way."""
    server = start_server("engine_app", "--cors", ORIGIN, "--cors-credentials", shared=True)
    sock = connect(server)
    try:
        sid = handshake(server, sock, [("Origin", ORIGIN)])
        poll = f"{HANDSHAKE}&sid={sid}"
        assert exchange(server, request("POST", poll, [("Origin", ORIGIN)], b"4a"), sock)[0] == 200
        status, headers, body = exchange(server, request("GET", poll, [("Origin", ORIGIN)]), sock)
        assert (status, body) == (200, b"4a")
        assert_each_header_once(headers)
        status, headers, _ = exchange(server, request("OPTIONS", poll, PREFLIGHT_HEADERS), sock)
        assert status == 204
        assert_each_header_once(headers)
        assert values(headers, "Access-Control-Allow-Origin") == [ORIGIN]
        assert values(headers, "Access-Control-Allow-Headers") == ["x-token, content-type"]
    finally:
        sock.close()


# -- an Origin with control characters ----------------------------------------------------------

BAD_ORIGINS = [
    pytest.param(b"http://a\x01b.example", id="ctl-01"),
    pytest.param(b"http://a\x7f.example", id="del"),
    pytest.param(b"http://a.example\x1b[31m", id="escape"),
    pytest.param(b"http://a\x00.example", id="nul"),
]


def sessions(server):
    return server.get_json("/sessions")


@pytest.mark.parametrize("origin", BAD_ORIGINS)
@pytest.mark.parametrize("cors", ["none", "*"])
def test_origin_with_control_characters_is_refused(start_server, any_kind, origin, cors):
    args = () if cors == "none" else ("--cors", "*", "--cors-credentials")
    server = start_server("engine_app", *args, kind=any_kind, shared=True)
    bystander = handshake(server)
    before = set(sessions(server))

    def refused(raw):
        status, headers, body = exchange(server, raw)
        assert (status, body) == (400, BAD_REQUEST), (raw, status, headers, body)
        assert not values(headers, "Access-Control-Allow-Origin")  # never echoed

    def with_origin(method, target, extra=b"", body=b""):
        head = request(method, target, body=body)[: -len(body) - 2]  # up to the last CRLF
        return head + b"Origin: " + origin + b"\r\n" + extra + b"\r\n" + body

    key = base64.b64encode(os.urandom(16))
    upgrade = (
        b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        b"Sec-WebSocket-Key: " + key + b"\r\n"
    )
    refused(with_origin("GET", HANDSHAKE))  # the polling handshake
    refused(with_origin("GET", PATH + "?EIO=4&transport=websocket", upgrade))
    refused(with_origin("GET", f"{HANDSHAKE}&sid={bystander}"))
    refused(with_origin("POST", f"{HANDSHAKE}&sid={bystander}", body=b"4x"))
    refused(with_origin("GET", PATH + f"?EIO=4&transport=websocket&sid={bystander}", upgrade))
    if cors != "none":
        refused(with_origin("OPTIONS", HANDSHAKE, b"Access-Control-Request-Method: GET\r\n"))
    assert set(sessions(server)) == before  # no session was made
    # The bystander's session goes on untouched.
    poll = f"{HANDSHAKE}&sid={bystander}"
    assert exchange(server, request("POST", poll, body=b"4still"))[::2] == (200, b"ok")
    assert exchange(server, request("GET", poll))[::2] == (200, b"4still")
