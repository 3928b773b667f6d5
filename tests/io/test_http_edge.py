"""HTTP at its edges, on the wire: the CORS preflight's raw header lines, an Origin no browser
sends, request lines gevent's parser cannot take, and connections that never finish a request.

Every answer is read as raw bytes (a header sent twice is two lines: a dict would hide it). The
server fixture fails a test whose server printed a Traceback.
"""

import base64
import os
import re
import select
import socket
import struct
import time

import pytest
from rawhttp import read_response
from rawws import RawWebSocket

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
    (gsio.io.pollnative) is given back to the handler and answered the same way."""
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


# -- request lines gevent's parser cannot take ---------------------------------------------------

BAD_REQUEST_LINES = [
    b"POST ? HTTP/2",
    b"GET / HTTP/2",
    b"GET /socket.io/?EIO=4&transport=polling HTTP/1",
    b"GET / HTTP/9",
    b"GET / HTTP/",
    b"GET / HTTP/1.",
    b"GET / HTTP/2.0",
    b"GET / HTTP/1.1.1",
    b"GET / HTTP/1.x",
    b"GET / HTTP/\xb9.\xb2",
    b"GET / FTP/1.1",
    b"GET / HTTP/1.1 extra",
    b"GET",
    b"GET /",  # HTTP/0.9, which Node does not serve either
    b"GET /socket.io/?EIO=4&transport=polling",
    b"",
    b"\x00\xff\x01 \x02 HTTP/1",
]


@pytest.mark.parametrize("app", ["engine_app", "sio_app"])
@pytest.mark.parametrize("kind", ["gsio", "pywsgi-ws", "pywsgi"])
def test_bad_request_lines_get_400_without_a_traceback(start_server, app, kind):
    """On gsio's handler, and on the pywsgi handlers gsio.serve picks for the other backends."""
    server = start_server(app, kind=kind, shared=True)
    for line in BAD_REQUEST_LINES:
        with connect(server) as sock:
            sock.sendall(line + b"\r\nHost: x\r\n\r\n")
            data = read_all(sock)
        assert data.startswith(b"HTTP/1.1 400 "), (line, data)
    if kind != "gsio":
        return
    # The same on a connection whose polling requests the event loop serves (given back).
    sid = handshake(server)
    for line in BAD_REQUEST_LINES:
        with connect(server) as sock:
            get = request("POST", f"{HANDSHAKE}&sid={sid}", body=b"6")
            assert exchange(server, get, sock)[0] == 200
            sock.sendall(line + b"\r\nHost: x\r\n\r\n")
            data = read_all(sock)
        assert data.startswith(b"HTTP/1.1 400 "), (line, data)
    assert handshake(server)


@pytest.mark.parametrize("kind", ["gsio", "pywsgi-ws", "pywsgi"])
def test_bad_requests_from_clients_gone_at_once_cost_no_traceback(start_server, kind):
    """The 400 is written to a connection the client has reset: nothing to answer, no
    traceback (the fixture fails the test on one)."""
    server = start_server("engine_app", kind=kind, shared=True)
    for line in [*BAD_REQUEST_LINES, b"GET / HTTP/1.1\r\nBad header"] * 3:
        sock = connect(server)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.sendall(line + b"\r\nHost: x\r\n\r\n")
        sock.close()  # a reset
    assert handshake(server)


def read_all(sock, limit=65536):
    """What the server sends until it closes the connection."""
    data = b""
    while len(data) < limit:
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data


# -- the header timeout -------------------------------------------------------------------------

IDLE = 200


def census(server):
    return server.get_json("/census")


def test_header_timeout_closes_idle_and_stalled_connections(start_server, wait_for, reader):
    """With a header timeout of 1 s: 200 connections that never send a byte, partial request
    lines and heads, and idle keep-alive connections (the handler's and the event loop's) are
    closed, those that sent part of a head after a 408; a client is served throughout, and the
    server's file descriptors and greenlets come back to what they were."""
    server = start_server("engine_app", "--header-timeout", "1", *reader)
    sid = handshake(server)
    poll = f"{HANDSHAKE}&sid={sid}"
    baseline = census(server)
    idle = [connect(server) for _ in range(IDLE)]
    partial_line = connect(server)
    partial_line.sendall(b"GET /socket.io/?EIO=4&tra")
    partial_head = connect(server)
    partial_head.sendall(request("GET", HANDSHAKE)[:-2])
    partial_poll = connect(server)  # a polling request line: the event loop reads the rest
    partial_poll.sendall(request("GET", poll)[:-2])
    keepalive = connect(server)  # an idle keep-alive connection of the handler
    assert exchange(server, request("GET", "/census"), keepalive)[0] == 200
    loop_keepalive = connect(server)  # and one of the event loop
    assert exchange(server, request("POST", poll, body=b"6"), loop_keepalive)[0] == 200
    silent = [*idle, partial_line, keepalive, loop_keepalive]
    timed_out = [partial_head, partial_poll]
    everyone = silent + timed_out
    answers = {}
    deadline = time.monotonic() + 30
    n = 0
    while len(answers) < len(everyone):
        assert time.monotonic() < deadline, f"{len(everyone) - len(answers)} still open"
        # A client is served meanwhile, on fresh connections.
        n += 1
        assert exchange(server, request("POST", poll, body=b"4m%d" % n))[::2] == (200, b"ok")
        assert exchange(server, request("GET", poll))[::2] == (200, b"4m%d" % n)
        ready, _, _ = select.select([s for s in everyone if s not in answers], [], [], 0.2)
        for sock in ready:
            answers[sock] = read_all(sock)
    assert [answers[s] for s in silent] == [b""] * len(silent)
    for sock in timed_out:
        assert answers[sock].startswith(b"HTTP/1.1 408 Request Timeout\r\n"), answers[sock]
    for sock in everyone:
        sock.close()
    wait_for(
        lambda: (
            census(server)["fds"] <= baseline["fds"]
            and census(server)["greenlets"] <= baseline["greenlets"]
        ),
        timeout=15,
        message=f"the census back to {baseline}",
    )
    assert census(server)["polling_connections"] <= baseline["polling_connections"]


@pytest.mark.parametrize("kind", ["pywsgi", "pywsgi-ws"])
def test_header_timeout_under_the_other_handlers(start_server, kind):
    """pywsgi's and gevent-websocket's handlers, as gsio.serve picks them for the other
    WebSocket backends: idle connections, a partial head and an idle keep-alive connection are
    closed; a WebSocket session outlives the timeout; a client is served throughout."""
    server = start_server("engine_app", "--header-timeout", "1", kind=kind)
    ws = RawWebSocket(server.port, HANDSHAKE.replace("polling", "websocket"))
    assert ws.status == 101 and ws.recv().startswith("0{")
    idle = [connect(server) for _ in range(50)]
    partial_head = connect(server)
    partial_head.sendall(request("GET", HANDSHAKE)[:-2])
    keepalive = connect(server)
    assert exchange(server, request("GET", "/census"), keepalive)[0] == 200
    everyone = [*idle, partial_head, keepalive]
    answers = {}
    deadline = time.monotonic() + 30
    while len(answers) < len(everyone):
        assert time.monotonic() < deadline, f"{len(everyone) - len(answers)} still open"
        assert handshake(server)
        ready, _, _ = select.select([s for s in everyone if s not in answers], [], [], 0.2)
        for sock in ready:
            answers[sock] = read_all(sock)
    assert [answers[s] for s in [*idle, keepalive]] == [b""] * (len(idle) + 1)
    assert answers[partial_head] == b"" or answers[partial_head].startswith(b"HTTP/1.1 400 ")
    ws.send_text("4still here")
    assert ws.recv() == "4still here"  # engine_app echoes
    ws.close()
    for sock in everyone:
        sock.close()


def test_header_timeout_spares_a_waiting_long_poll(start_server, reader):
    """A GET waiting for packets is not a request head being read: the timeout leaves it be."""
    args = ("--header-timeout", "0.5", "--ping-interval", "3", *reader)
    server = start_server("engine_app", *args)
    sid = handshake(server)
    with connect(server) as sock:
        started = time.monotonic()
        status, _, body = exchange(server, request("GET", f"{HANDSHAKE}&sid={sid}"), sock)
        assert (status, body) == (200, b"2")  # the ping, after the ping interval
        assert time.monotonic() - started > 2
