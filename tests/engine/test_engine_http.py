"""Raw HTTP against the Engine.IO endpoint: handshakes, long-polling, and every bad input.

Each bad request is checked for its exact answer, then the same server must still serve a session
opened before it (a bystander) and a fresh one; the server fixture fails the test if the server
printed a Traceback.
"""

import gzip
import json
import re
import socket
import threading
import zlib

import pytest
import simple_websocket
from rawhttp import read_response

# The HTTP behaviour is gsio's own on every server; the WSGI servers differ in how they read
# requests and bodies, run requests concurrently and close connections: pywsgi (gevent) with
# gsio's handler and with its own, and werkzeug (threads).
HTTP_KINDS = ["gsio", "pywsgi-ws", "werkzeug"]

PATH = "/socket.io/"
SID = re.compile(r'^0\{"sid":"([A-Za-z0-9_-]{20,})"')


@pytest.fixture(params=HTTP_KINDS)
def http_kind(request):
    return request.param


@pytest.fixture
def server(start_server, http_kind):
    """The default echo server of this kind, shared by the tests of this module."""
    return start_server("engine_app", kind=http_kind, shared=True)


def q(**params):
    return PATH + "?" + "&".join(f"{k}={v}" for k, v in params.items())


class Polling:
    """A long-polling session driven by hand."""

    def __init__(self, server, headers=None):
        self.server = server
        status, self.headers, body = server.request(
            "GET", q(EIO=4, transport="polling"), None, headers
        )
        assert status == 200, (status, body)
        assert self.headers["Content-Type"] == "text/plain; charset=UTF-8"
        match = SID.match(body.decode())
        assert match, body
        self.sid = match.group(1)
        self.open = json.loads(body[1:])

    @property
    def path(self):
        return q(EIO=4, transport="polling", sid=self.sid)

    def get(self, headers=None):
        return self.server.request("GET", self.path, None, headers)

    def post(self, body, headers=None):
        if isinstance(body, str):
            body = body.encode()
        return self.server.request("POST", self.path, body, headers)

    def get_in_thread(self):
        """Start a GET that waits on the server; returns a function giving its result."""
        result = {}

        def run():
            result["response"] = self.get()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()

        def join():
            thread.join(15)
            assert not thread.is_alive(), "the pending GET was never answered"
            return result["response"]

        return join

    def echo(self, text="ping-pong"):
        """One message there and back: the session works."""
        status, headers, body = self.post("4" + text)
        assert (status, body) == (200, b"ok")
        status, headers, body = self.get()
        assert (status, body) == (200, ("4" + text).encode())


def json_error(response, status, code, message):
    got_status, headers, body = response
    assert got_status == status, (got_status, body)
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {"code": code, "message": message}
    assert body == json.dumps({"code": code, "message": message}, separators=(",", ":")).encode()


def wait_reason(server, wait_for, sid):
    return wait_for(lambda: server.get_json("/reasons").get(sid), message=f"{sid} to close")


def wait_get_active(server, wait_for, sid):
    wait_for(
        lambda: server.get_json("/sessions").get(sid, {}).get("get_active"),
        message=f"a GET of {sid} to wait on the server",
    )


@pytest.fixture
def bystander(server):
    """A session opened before the bad request; it must be untouched by it."""
    session = Polling(server)
    yield session
    session.echo("still here")
    Polling(server).echo("fresh")


# -- handshake and query errors ----------------------------------------------------------------


def test_handshake(server):
    session = Polling(server)
    assert session.open["upgrades"] == ["websocket"]
    assert session.open["pingInterval"] == 25000
    assert session.open["pingTimeout"] == 20000
    assert session.open["maxPayload"] == 1_000_000
    assert "Set-Cookie" not in session.headers
    session.echo()


@pytest.mark.parametrize(
    "path, code, message",
    [
        (q(transport="polling"), 5, "Unsupported protocol version"),
        (q(EIO=3, transport="polling"), 5, "Unsupported protocol version"),
        (q(EIO="abc", transport="polling"), 5, "Unsupported protocol version"),
        (q(EIO=4, transport="flashsocket"), 0, "Transport unknown"),
        (q(EIO=4), 0, "Transport unknown"),
        (q(EIO=4, transport="polling", sid="nosuchsession1234567"), 1, "Session ID unknown"),
    ],
    ids=["no-EIO", "EIO=3", "EIO=abc", "unknown-transport", "no-transport", "unknown-sid"],
)
def test_bad_query(server, bystander, path, code, message):
    json_error(server.request("GET", path), 400, code, message)


@pytest.mark.parametrize("method", ["POST", "PUT"])
def test_handshake_must_be_a_get(server, bystander, method):
    json_error(
        server.request(method, q(EIO=4, transport="polling"), b"40"), 400, 2, "Bad handshake method"
    )


def test_post_to_unknown_sid(server, bystander):
    path = q(EIO=4, transport="polling", sid="nosuchsession1234567")
    json_error(server.request("POST", path, b"4hi"), 400, 1, "Session ID unknown")


def test_put_on_a_session(server, bystander):
    session = Polling(server)
    json_error(server.request("PUT", session.path, b"4hi"), 400, 3, "Bad request")
    session.echo()  # a bad method is refused, the session goes on


# -- polling: concurrency, closing -------------------------------------------------------------


def test_post_answer_is_ok_as_text_html(server):
    session = Polling(server)
    status, headers, body = session.post("4hello\x1e4world\x1ebAQID")
    assert (status, body) == (200, b"ok")
    assert headers["Content-Type"] == "text/html"
    status, headers, body = session.get()
    assert (status, body) == (200, b"4hello\x1e4world\x1ebAQID")
    assert headers["Content-Type"] == "text/plain; charset=UTF-8"


def test_concurrent_gets(server, bystander, wait_for):
    """A second GET while one waits: 400, the session closed, the first GET answered "1"."""
    session = Polling(server)
    first = session.get_in_thread()
    wait_get_active(server, wait_for, session.sid)
    json_error(session.get(), 400, 3, "Bad request")
    assert first()[::2] == (200, b"1")
    assert wait_reason(server, wait_for, session.sid) == "transport error"
    json_error(session.get(), 400, 1, "Session ID unknown")


def test_concurrent_posts(server, bystander, wait_for):
    """A second POST while the first one's body is still arriving: 400 and the session closed."""
    session = Polling(server)
    slow = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    with slow:
        slow.sendall(
            f"POST {session.path} HTTP/1.1\r\nHost: x\r\nContent-Length: 7\r\n\r\n4ab".encode()
        )
        wait_for(
            lambda: server.get_json("/sessions").get(session.sid, {}).get("post_active"),
            message="the first POST to be read",
        )
        json_error(session.post("4second"), 400, 3, "Bad request")
        assert wait_reason(server, wait_for, session.sid) == "transport error"
        # The first POST is abandoned with its session (the reference destroys it): what
        # comes of its body is not read, nor delivered.
        answer = read_response(slow)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert answer.endswith(b'\r\n\r\n{"code":3,"message":"Bad request"}'), answer
    # As the reference: a session closed for a client's error is gone at once.
    json_error(session.get(), 400, 1, "Session ID unknown")


def _read_responses(sock, count):
    """``count`` responses read off one connection (Content-Length bodies): (status, body)."""
    reader = sock.makefile("rb")
    out = []
    for _ in range(count):
        status_line = reader.readline()
        if not status_line:
            break
        length = 0
        while True:
            line = reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        out.append((int(status_line.split()[1]), reader.read(length)))
    return out


@pytest.mark.parametrize("kind", ["gsio", "pywsgi-ws"])
def test_one_connection_for_polling_and_other_requests(start_server, kind):
    """Long-polling requests and any other share a keep-alive connection in every form: with a
    Content-Length, chunked, after 100-continue, to the app beside the engine, in HTTP/1.0.
    (gsio's handler serves the common ones on a short path of its own, the rest as pywsgi.
    Werkzeug's server answers one request per connection here.)"""
    server = start_server("engine_app", kind=kind, shared=True)
    session = Polling(server)
    path = session.path
    host = "Host: x\r\n"
    requests = [
        f"POST {path} HTTP/1.1\r\n{host}Content-Length: 3\r\n\r\n4ab",
        f"GET {path} HTTP/1.1\r\n{host}\r\n",
        f"GET /sessions HTTP/1.1\r\n{host}\r\n",
        f"POST {path} HTTP/1.1\r\n{host}Transfer-Encoding: chunked\r\n\r\n3\r\n4cd\r\n0\r\n\r\n",
        f"GET {path} HTTP/1.1\r\n{host}\r\n",
        f"GET {path.replace('transport=polling', 'transport=nope')} HTTP/1.1\r\n{host}\r\n",
        f"POST {path} HTTP/1.1\r\n{host}Content-Length: 3\r\n\r\n4ef",
        f"GET {path} HTTP/1.0\r\n{host}\r\n",
    ]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall("".join(requests).encode())
        answers = _read_responses(sock, len(requests))
        assert sock.recv(1) == b""  # the HTTP/1.0 request asked for no keep-alive
    assert answers[:2] == [(200, b"ok"), (200, b"4ab")]
    assert answers[2][0] == 200 and session.sid in json.loads(answers[2][1])
    assert answers[3:5] == [(200, b"ok"), (200, b"4cd")]
    assert answers[5] == (400, b'{"code":0,"message":"Transport unknown"}')
    assert answers[6:] == [(200, b"ok"), (200, b"4ef")]
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\n{host}Expect: 100-continue\r\nContent-Length: 3\r\n\r\n".encode()
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n")
        sock.sendall(b"4gh" + f"GET {path} HTTP/1.1\r\n{host}\r\n".encode())
        assert _read_responses(sock, 2) == [(200, b"ok"), (200, b"4gh")]
    session.echo()


def test_client_close_over_post(server, bystander, wait_for):
    """A client "1": the session ends and the pending GET is answered with a NOOP."""
    session = Polling(server)
    pending = session.get_in_thread()
    wait_get_active(server, wait_for, session.sid)
    assert session.post("1")[::2] == (200, b"ok")
    assert pending()[::2] == (200, b"6")
    assert wait_reason(server, wait_for, session.sid) == "transport close"
    json_error(session.get(), 400, 1, "Session ID unknown")
    json_error(session.post("4late"), 400, 1, "Session ID unknown")


def test_ping_timeout_answers_the_pending_poll_with_close(start_server, http_kind, wait_for):
    """A client that does not answer the ping: its pending poll gets a CLOSE, as from the
    reference (the client then sees a clean close rather than a failed request)."""
    server = start_server(
        "engine_app", "--ping-interval", "0.05", "--ping-timeout", "2", kind=http_kind, shared=True
    )
    session = Polling(server)
    assert session.get()[::2] == (200, b"2")  # the ping, not answered
    assert session.get()[::2] == (200, b"1")  # this poll waits until the ping timeout
    assert wait_reason(server, wait_for, session.sid) == "ping timeout"
    json_error(session.get(), 400, 1, "Session ID unknown")


def test_ping_timeout_without_a_poll_forgets_the_session(start_server, http_kind, wait_for):
    """No poll pending at the ping timeout: the session is gone at once, as in the reference;
    the next GET gets 400 "Session ID unknown", not the ping still queued."""
    server = start_server(
        "engine_app",
        "--ping-interval",
        "0.05",
        "--ping-timeout",
        "0.1",
        kind=http_kind,
        shared=True,
    )
    session = Polling(server)
    assert wait_reason(server, wait_for, session.sid) == "ping timeout"
    json_error(session.get(), 400, 1, "Session ID unknown")
    json_error(session.post("3"), 400, 1, "Session ID unknown")


def test_pong_keeps_the_session(start_server, http_kind):
    server = start_server(
        "engine_app", "--ping-interval", "0.05", "--ping-timeout", "2", kind=http_kind, shared=True
    )
    session = Polling(server)
    for _ in range(3):
        assert session.get()[::2] == (200, b"2")
        assert session.post("3")[::2] == (200, b"ok")
    assert session.post("4alive")[::2] == (200, b"ok")
    seen = []
    while "4alive" not in seen:  # pings keep coming every 50 ms: answered, they change nothing
        status, _, body = session.get()
        assert status == 200
        packets = body.decode().split("\x1e")
        if "2" in packets:
            assert session.post("3")[::2] == (200, b"ok")
        seen += packets
    assert set(seen) <= {"2", "4alive"}, seen


def test_server_close_reaches_the_next_get(server, bystander, wait_for):
    """The server closes while no GET waits: the next GET still gets the CLOSE."""
    session = Polling(server)
    assert session.post("4close")[::2] == (200, b"ok")
    assert wait_reason(server, wait_for, session.sid) == "forced close"
    assert session.get()[::2] == (200, b"1")
    json_error(session.get(), 400, 1, "Session ID unknown")


def test_server_close_after_messages(server, bystander, wait_for):
    """Messages queued before the server closed come first, the CLOSE in the next poll, as from
    the reference (socket.io-client handles a payload's messages only after its CLOSE)."""
    session = Polling(server)
    assert session.post("4burst:2\x1e4close")[::2] == (200, b"ok")
    assert wait_reason(server, wait_for, session.sid) == "forced close"
    assert session.get()[::2] == (200, b"4m0\x1e4m1")
    assert session.get()[::2] == (200, b"1")
    json_error(session.get(), 400, 1, "Session ID unknown")


# -- polling: malformed bodies -----------------------------------------------------------------


@pytest.mark.parametrize(
    "body, reason",
    [
        (b"bAAA!", "parse error"),
        (b"4ok\x1ebAAA!", "parse error"),
        (b"4\xff\xfe", "parse error"),
        (b"abc", "parse error"),
        (b"9", "parse error"),
        (b"", "parse error"),
        (b"2", "transport error"),  # the client must not ping in v4
    ],
    ids=[
        "bad-base64",
        "bad-base64-second",
        "invalid-utf8",
        "abc",
        "type-9",
        "empty",
        "ping",
    ],
)
def test_malformed_post_closes_the_session(server, bystander, wait_for, body, reason):
    session = Polling(server)
    pending = session.get_in_thread()
    wait_get_active(server, wait_for, session.sid)
    json_error(session.post(body), 400, 3, "Bad request")
    assert wait_reason(server, wait_for, session.sid) == reason
    # The body is decoded whole before any packet is delivered: the "4ok" never arrives.
    assert pending()[::2] == (200, b"1")
    json_error(session.get(), 400, 1, "Session ID unknown")


@pytest.mark.parametrize(
    "body, reason",
    [(b"bAAA!", "parse error"), (b"4\xff\xfe", "parse error"), (b"2", "transport error")],
    ids=["bad-base64", "invalid-utf8", "ping"],
)
def test_malformed_post_without_a_poll_forgets_the_session(
    server, bystander, wait_for, body, reason
):
    """No GET waits: nothing is kept for one, as in the reference (the next GET gets 400, not
    the CLOSE or a ping still queued)."""
    session = Polling(server)
    json_error(session.post(body), 400, 3, "Bad request")
    assert wait_reason(server, wait_for, session.sid) == reason
    json_error(session.get(), 400, 1, "Session ID unknown")


@pytest.mark.parametrize(
    "packet", ["0", '0{"sid":"x"}', "5", "6"], ids=["open", "open-data", "upgrade", "noop"]
)
def test_open_upgrade_and_noop_from_the_client_are_ignored(server, bystander, packet):
    """As the reference: packets that mean nothing from a client on an open polling session are
    dropped, alone or among messages, and the session goes on."""
    session = Polling(server)
    assert session.post(packet)[::2] == (200, b"ok")
    assert session.post(f"4a\x1e{packet}\x1e4b")[::2] == (200, b"ok")
    assert session.get()[::2] == (200, b"4a\x1e4b")
    session.echo()
    assert session.sid not in server.get_json("/reasons")


@pytest.mark.parametrize("how", ["cut-short", "bad-chunk"])
def test_broken_post_body_closes_the_session(server, bystander, wait_for, how):
    """A body that ends before its Content-Length, or a bad chunk: nothing of it is delivered."""
    session = Polling(server)
    head = f"POST {session.path} HTTP/1.1\r\nHost: x\r\n"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        if how == "cut-short":
            sock.sendall((head + "Content-Length: 10\r\n\r\n4ab").encode())
            sock.shutdown(socket.SHUT_WR)
        else:
            sock.sendall(
                (head + "Transfer-Encoding: chunked\r\n\r\nzz\r\n4ab\r\n0\r\n\r\n").encode()
            )
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 400 "), answer
    assert answer.endswith(b'\r\n\r\n{"code":3,"message":"Bad request"}'), answer
    assert wait_reason(server, wait_for, session.sid) == "transport error"
    json_error(session.get(), 400, 1, "Session ID unknown")  # and no "4ab" was delivered


def test_octet_stream_body_closes_the_session(server, bystander, wait_for):
    session = Polling(server)
    response = session.post(b"\x04hello", {"Content-Type": "application/octet-stream"})
    json_error(response, 400, 3, "Bad request")
    assert wait_reason(server, wait_for, session.sid) == "transport error"
    json_error(session.get(), 400, 1, "Session ID unknown")


# -- limits ------------------------------------------------------------------------------------


@pytest.fixture
def small(start_server, http_kind):
    return start_server("engine_app", "--max-payload", "1000", kind=http_kind, shared=True)


def test_body_at_the_limit_passes(small):
    session = Polling(small)
    assert session.open["maxPayload"] == 1000
    # The whole body counts: type characters and separators too.
    for body in ["4" + "x" * 999, "4" + "x" * 497 + "\x1e4" + "y" * 500]:
        assert len(body) == 1000
        assert session.post(body)[::2] == (200, b"ok")
        assert session.get()[::2] == (200, body.encode())


def test_body_over_the_limit(small, wait_for):
    session = Polling(small)
    pending = session.get_in_thread()
    wait_get_active(small, wait_for, session.sid)
    json_error(session.post("4" + "x" * 1000), 413, 3, "Bad request")
    assert pending()[::2] == (200, b"1")
    assert wait_reason(small, wait_for, session.sid) == "transport error"
    json_error(session.get(), 400, 1, "Session ID unknown")
    Polling(small).echo()


def test_chunked_body_over_the_limit(small, wait_for):
    """Without a Content-Length the limit holds as the body arrives."""
    session = Polling(small)
    with socket.create_connection(("127.0.0.1", small.port), timeout=10) as sock:
        chunk = b"4" + b"x" * 1200
        sock.sendall(
            f"POST {session.path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
            + f"{len(chunk):x}\r\n".encode()
            + chunk
            + b"\r\n0\r\n\r\n"
        )
        answer = read_response(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer
    assert answer.endswith(b'\r\n\r\n{"code":3,"message":"Bad request"}'), answer
    assert wait_reason(small, wait_for, session.sid) == "transport error"
    Polling(small).echo()


def test_allow_request_refuses(start_server, http_kind):
    server = start_server("engine_app", "--deny-header", "X-Deny", kind=http_kind, shared=True)
    path = q(EIO=4, transport="polling")
    json_error(server.request("GET", path, None, {"X-Deny": "1"}), 403, 4, "Forbidden")
    Polling(server).echo()  # without the header


def test_max_connections(start_server, http_kind, wait_for):
    server = start_server("engine_app", "--max-connections", "2", kind=http_kind)
    first, second = Polling(server), Polling(server)
    path = q(EIO=4, transport="polling")
    json_error(server.request("GET", path), 503, 3, "Bad request")
    second.echo()  # the open ones are not disturbed
    assert first.post("1")[::2] == (200, b"ok")
    wait_reason(server, wait_for, first.sid)
    Polling(server).echo()  # room again


# -- CORS, cookie, compression, Connection: close ---------------------------------------------

ORIGIN = "http://allowed.example"


def test_no_cors_headers_by_default(server):
    status, headers, _ = server.request(
        "GET", q(EIO=4, transport="polling"), None, {"Origin": ORIGIN}
    )
    assert status == 200
    assert not [h for h in headers if h.lower().startswith("access-control-")]


@pytest.fixture
def cors(start_server, http_kind):
    return start_server(
        "engine_app", "--cors", f"{ORIGIN},http://other.example", kind=http_kind, shared=True
    )


def test_cors_allowed_origin_is_echoed(cors):
    session = Polling(cors, {"Origin": ORIGIN})
    assert session.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in session.headers.get_all("Vary")
    assert "Access-Control-Allow-Credentials" not in session.headers
    status, headers, _ = session.post("4x", {"Origin": ORIGIN})
    assert status == 200 and headers["Access-Control-Allow-Origin"] == ORIGIN


def test_cors_disallowed_origin_is_refused(cors):
    response = cors.request(
        "GET", q(EIO=4, transport="polling"), None, {"Origin": "http://evil.example"}
    )
    json_error(response, 403, 4, "Forbidden")
    assert "Access-Control-Allow-Origin" not in response[1]
    session = Polling(cors)  # no Origin: not a cross-origin browser request
    assert "Access-Control-Allow-Origin" not in session.headers
    response = session.post("4x", {"Origin": "http://evil.example"})
    json_error(response, 403, 4, "Forbidden")
    session.echo()  # refusing a request does not close the session


def test_cors_preflight(cors):
    status, headers, body = cors.request(
        "OPTIONS",
        q(EIO=4, transport="polling"),
        None,
        {
            "Origin": ORIGIN,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type",
        },
    )
    assert (status, body) == (204, b"")
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    methods = {m.strip() for m in headers["Access-Control-Allow-Methods"].split(",")}
    assert {"GET", "POST", "OPTIONS"} <= methods
    assert headers["Access-Control-Allow-Headers"].lower() == "content-type"


def test_cors_wildcard(start_server, http_kind):
    server = start_server("engine_app", "--cors", "*", kind=http_kind, shared=True)
    session = Polling(server, {"Origin": "http://anyone.example"})
    assert session.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in session.headers


def test_cors_wildcard_with_credentials_echoes_the_origin(start_server, http_kind):
    server = start_server(
        "engine_app", "--cors", "*", "--cors-credentials", kind=http_kind, shared=True
    )
    session = Polling(server, {"Origin": "http://anyone.example"})
    assert session.headers["Access-Control-Allow-Origin"] == "http://anyone.example"
    assert session.headers["Access-Control-Allow-Credentials"] == "true"
    assert "Origin" in session.headers.get_all("Vary")


def test_cookie_when_configured(start_server, http_kind):
    server = start_server("engine_app", "--cookie", "io", kind=http_kind, shared=True)
    session = Polling(server)
    cookie = session.headers["Set-Cookie"]
    assert cookie.startswith(f"io={session.sid}; ")
    assert "Path=/" in cookie and "HttpOnly" in cookie


@pytest.mark.parametrize("encoding", ["gzip", "deflate"])
def test_large_poll_is_compressed(server, encoding):
    session = Polling(server)
    text = "compress me " * 200
    assert session.post("4" + text)[::2] == (200, b"ok")
    status, headers, body = session.get({"Accept-Encoding": encoding})
    assert status == 200 and headers["Content-Encoding"] == encoding
    assert int(headers["Content-Length"]) == len(body) < len(text)
    plain = gzip.decompress(body) if encoding == "gzip" else zlib.decompress(body)
    assert plain == ("4" + text).encode()


def test_poll_not_compressed_when_small_or_not_accepted(server):
    session = Polling(server)
    session.post("4" + "x" * 100)
    status, headers, body = session.get({"Accept-Encoding": "gzip"})
    assert (status, body) == (200, b"4" + b"x" * 100) and "Content-Encoding" not in headers
    session.post("4" + "x" * 5000)
    status, headers, body = session.get({"Accept-Encoding": "identity"})
    assert body == b"4" + b"x" * 5000 and "Content-Encoding" not in headers
    session.post("4" + "x" * 5000)
    status, headers, body = session.get({"Accept-Encoding": "gzip;q=0"})
    assert body == b"4" + b"x" * 5000 and "Content-Encoding" not in headers


def test_connection_close_is_echoed(server):
    closing = {"Connection": "close"}
    session = Polling(server, closing)
    assert session.headers["Connection"].lower() == "close"
    status, headers, _ = session.post("4x", closing)
    assert status == 200 and headers["Connection"].lower() == "close"
    status, headers, _ = server.request("GET", q(EIO=3, transport="polling"), None, closing)
    assert status == 400 and headers["Connection"].lower() == "close"


# -- transports --------------------------------------------------------------------------------


def test_polling_request_on_an_upgraded_session(start_server, kind, wait_for):
    """After the upgrade to WebSocket, polling with that sid is a bad request; the session
    goes on over WebSocket."""
    server = start_server("engine_app", kind=kind, shared=True)
    session = Polling(server)
    ws = simple_websocket.Client.connect(
        f"ws://127.0.0.1:{server.port}{q(EIO=4, transport='websocket', sid=session.sid)}"
    )
    try:
        ws.send("2probe")
        assert ws.receive(10) == "3probe"
        ws.send("5")
        wait_for(
            lambda: server.get_json("/sessions")[session.sid]["transport"] == "websocket",
            message="the upgrade",
        )
        json_error(session.get(), 400, 3, "Bad request")
        json_error(session.post("4x"), 400, 3, "Bad request")
        ws.send("4still")
        assert ws.receive(10) == "4still"
    finally:
        ws.close()
    assert wait_reason(server, wait_for, session.sid) == "transport close"


def test_polling_not_allowed(start_server, http_kind):
    server = start_server("engine_app", "--transports", "websocket", kind=http_kind, shared=True)
    json_error(server.request("GET", q(EIO=4, transport="polling")), 400, 0, "Transport unknown")
