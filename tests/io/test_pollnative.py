"""gsio/io/pollnative.py: long-polling connections served by the event loop.

The request parser is pure and tested here on bytes; the connections are tested over real
sockets against the Engine.IO echo server under gsio's handler. test_engine_http.py covers the
HTTP behaviour itself (on every server kind), including the requests given back to pywsgi's
handler on a shared keep-alive connection.
"""

import re
import socket
import struct
import time

import pytest
from rawhttp import read_response

from gsio.io.pollnative import HAND_BACK, parse_request

PATH = "/socket.io/"
SID = re.compile(rb'0\{"sid":"([A-Za-z0-9_-]+)"')


def request(head, body=b""):
    return head.replace("\n", "\r\n").encode("latin-1") + body


GET = "GET /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\nHost: x\n\n"


# -- the parser ------------------------------------------------------------------------------


def test_a_get_is_parsed_to_its_environ_and_query():
    data = request(
        "GET /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\n"
        "Host: x\nOrigin: http://a\nCookie: a=1\nCookie: b=2\nX_Y: dropped\n"
        "Accept-Encoding: gzip\n\n"
    )
    environ, query, body, size = parse_request(data + b"GET /next", PATH, 100)
    assert size == len(data) and body == b""
    assert query == {"EIO": "4", "transport": "polling", "sid": "abc"}
    assert environ == {
        "REQUEST_METHOD": "GET",
        "PATH_INFO": "/socket.io/",
        "QUERY_STRING": "EIO=4&transport=polling&sid=abc",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "x",
        "HTTP_ORIGIN": "http://a",
        "HTTP_COOKIE": "a=1; b=2",
        "HTTP_ACCEPT_ENCODING": "gzip",
    }


def test_a_post_takes_its_body_and_no_more():
    data = request(
        "POST /socket.io?EIO=4&transport=polling&sid=abc HTTP/1.1\n"
        "Content-Type: text/plain;charset=UTF-8\nContent-Length: 5\n\n",
        b"4helloGET",
    )
    environ, query, body, size = parse_request(data, PATH, 100)
    assert body == b"4hell" and data[size:] == b"oGET"
    assert environ["CONTENT_TYPE"] == "text/plain;charset=UTF-8"
    assert environ["CONTENT_LENGTH"] == "5"
    assert environ["PATH_INFO"] == "/socket.io"


def test_an_incomplete_head_waits():
    assert parse_request(request(GET)[:-2], PATH, 100) is None
    assert parse_request(b"", PATH, 100) is None


def test_a_post_over_the_limit_is_not_waited_for():
    data = request(
        "POST /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\nContent-Length: 101\n\n"
    )
    environ, _, body, size = parse_request(data, PATH, 100)
    assert body is None and size == len(data) and environ["CONTENT_LENGTH"] == "101"


@pytest.mark.parametrize(
    "data",
    [
        # not a long-polling request of an open session
        request(GET.replace("GET", "PUT")),
        request(GET.replace("/socket.io/", "/other/")),
        request(GET.replace("&sid=abc", "")),
        request(GET.replace("&sid=abc", "&xsid=abc")),
        request(GET.replace("transport=polling", "transport=websocket")),
        request(GET.replace("HTTP/1.1", "HTTP/1.0")),
        # bodies that pywsgi's handler reads: chunked, after 100-continue, still arriving, or
        # one without a length
        request(GET.replace("GET", "POST").replace("Host: x", "Transfer-Encoding: chunked")),
        request(GET.replace("GET", "POST").replace("Host: x", "Expect: 100-continue")),
        request(GET.replace("GET", "POST").replace("Host: x", "Content-Length: 5"), b"4he"),
        request(GET.replace("GET", "POST")),
        request(GET.replace("Host: x", "Content-Length: 2"), b"ab"),
        # malformed: pywsgi's handler gives the answer
        request(GET.replace("Host: x", "Content-Length: 2\nContent-Length: 2")),
        request(GET.replace("GET", "POST").replace("Host: x", "Content-Length: -1")),
        request(GET.replace("GET", "POST").replace("Host: x", "Content-Length: \xb2")),
        request(GET.replace("Host: x", "Host x")),
        request(GET.replace("Host: x", "Host : x")),
        request(GET.replace("Host: x", "Host: x\n folded")),
        request(GET.replace(" HTTP/1.1", "  HTTP/1.1")),
        b"GET /socket.io/?transport=polling&sid=a HTTP/1.1\n\n",  # bare line feeds
        b"GET /socket.io/?transport=polling&sid=a HTTP/1.1\r\nX: " + b"a" * 70000,
    ],
)
def test_anything_else_is_given_back(data):
    assert parse_request(data, PATH, 100) == HAND_BACK


# -- over real sockets -------------------------------------------------------------------------


# reader (conftest): the event loop serves the polling connections when the handler never
# blocks; with one that may (--blocking-handler), the connection's greenlet does.


@pytest.fixture
def server(start_server, reader):
    return start_server("engine_app", *reader, kind="gsio", shared=True)


def _open(server):
    status, _, body = server.request("GET", PATH + "?EIO=4&transport=polling")
    assert status == 200
    return SID.match(body).group(1).decode()


def _poll_path(sid):
    return f"{PATH}?EIO=4&transport=polling&sid={sid}"


def _read_response(sock):
    """(head, body) of the next response; None if the connection closed first."""
    data = read_response(sock)
    if not data:
        return None
    head, _, body = data.partition(b"\r\n\r\n")
    return head.decode("latin-1"), body


def _messages(body):
    """A GET's packets, without the pings the shared server may have sent meanwhile."""
    return [packet for packet in body.split(b"\x1e") if packet != b"2"]


def _send(sock, method, path, body=b"", extra=""):
    head = f"{method} {path} HTTP/1.1\r\nHost: x\r\n{extra}"
    if method == "POST":
        head += f"Content-Length: {len(body)}\r\n"
    sock.sendall(head.encode() + b"\r\n" + body)


def test_a_client_gone_from_a_waiting_get_ends_the_session(start_server, wait_for):
    """The GET's connection closes while it waits: as in the reference ("poll connection
    closed prematurely"), the session ends with "transport error" at once (the same in a
    greenlet or thread: test_polling_hardening.py)."""
    server = start_server("engine_app", kind="gsio", shared=True)
    sid, other = _open(server), _open(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as first:
        _send(first, "GET", _poll_path(sid))
        wait_for(
            lambda: server.get_json("/sessions")[sid]["get_active"],
            message="the GET to wait",
        )
    assert wait_for(lambda: server.get_json("/reasons").get(sid)) == "transport error"
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as second:
        _send(second, "POST", _poll_path(other), b"4still here")
        assert _read_response(second)[1] == b"ok"
        _send(second, "GET", _poll_path(other))
        assert _messages(_read_response(second)[1]) == [b"4still here"]


def test_a_waiting_get_is_answered_when_a_post_on_another_connection_queues(server):
    sid = _open(server)
    path = _poll_path(sid)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as getter:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as poster:
            for i in range(20):  # both connections stay with the event loop
                _send(getter, "GET", path)
                _send(poster, "POST", path, f"4m{i}".encode())
                assert _read_response(poster)[1] == b"ok"
                assert _messages(_read_response(getter)[1]) == [f"4m{i}".encode()]


def test_a_response_larger_than_the_socket_buffers_is_written_whole(start_server, reader):
    """A 7 MB message, echoed: its GET's response is more than the kernel takes at once (the
    loopback's buffers hold a few MB), so a writer finishes it; the connection goes on."""
    server = start_server("engine_app", "--max-payload", "8000000", *reader, kind="gsio")
    sid = _open(server)
    path = _poll_path(sid)
    message = b"4" + b"x" * 7_000_000
    with socket.create_connection(("127.0.0.1", server.port), timeout=20) as sock:
        _send(sock, "POST", path, message)  # a body in many reads: pywsgi's handler reads it
        assert _read_response(sock)[1] == b"ok"
        _send(sock, "GET", path, extra="Accept-Encoding: identity\r\n")
        assert _messages(_read_response(sock)[1]) == [message]
        _send(sock, "POST", path, b"4after")
        assert _read_response(sock)[1] == b"ok"
        _send(sock, "GET", path)
        assert _messages(_read_response(sock)[1]) == [b"4after"]


def test_a_client_gone_in_the_middle_of_a_long_response(start_server, wait_for):
    """The client resets the connection while a writer is still sending a 7 MB response: the
    writer stops, the socket is closed, and nothing of the connection is left."""
    server = start_server("engine_app", "--max-payload", "8000000", kind="gsio")
    sid = _open(server)
    path = _poll_path(sid)
    before = server.get_json("/census")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=20)
    _send(sock, "POST", path, b"4" + b"x" * 7_000_000)
    assert _read_response(sock)[1] == b"ok"
    _send(sock, "GET", path)
    assert sock.recv(65536).startswith(b"HTTP/1.1 200 OK\r\n")  # the writer is at work
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()  # unread data and linger 0: a reset
    wait_for(lambda: server.get_json("/census") == before, message="the connection to go")
    assert "ResourceWarning" not in server.output()  # closed, not left to the GC
    other = _open(server)  # the server goes on
    server.request("POST", _poll_path(other), b"4fine")
    assert _messages(server.request("GET", _poll_path(other))[2]) == [b"4fine"]


def test_too_much_pipelined_behind_a_waiting_get_closes_the_connection(start_server, wait_for):
    """Bytes piled behind a waiting GET past max_payload plus 64 KiB: no client of the
    protocol does that; the connection is closed and its session ends, others go on."""
    server = start_server("engine_app", "--max-payload", "100", kind="gsio")
    sid, other = _open(server), _open(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        _send(sock, "GET", _poll_path(sid))
        wait_for(lambda: server.get_json("/sessions")[sid]["get_active"], message="the GET")
        try:
            sock.sendall(b"x" * 70_000)
            assert sock.recv(65536) == b""
        except ConnectionResetError:
            pass  # the server closed with the junk unread
    assert wait_for(lambda: server.get_json("/reasons").get(sid)) == "transport error"
    assert server.output().count("too much pipelined") == 1
    server.request("POST", _poll_path(other), b"4fine")
    assert _messages(server.request("GET", _poll_path(other))[2]) == [b"4fine"]


def test_connection_close_is_honoured(server):
    sid = _open(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        _send(sock, "POST", _poll_path(sid), b"4x", extra="Connection: close\r\n")
        head, body = _read_response(sock)
        assert body == b"ok" and "Connection: close" in head
        assert sock.recv(1) == b""


def test_a_post_over_max_payload_gets_413_and_the_connection_closes(start_server, reader, wait_for):
    server = start_server("engine_app", "--max-payload", "100", *reader, kind="gsio")
    sid = _open(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        # The head alone: the body is never waited for.
        sock.sendall(
            f"POST {_poll_path(sid)} HTTP/1.1\r\nHost: x\r\nContent-Length: 101\r\n\r\n".encode()
        )
        head, body = _read_response(sock)
        assert head.startswith("HTTP/1.1 413 ")
        assert body == b'{"code":3,"message":"Bad request"}'
        if not reader:  # the event loop's
            assert sock.recv(1) == b""  # the body was not read: the connection cannot go on
    assert wait_for(lambda: server.get_json("/reasons").get(sid)) == "transport error"


def test_polling_connections_keep_no_greenlet_and_are_freed(start_server, wait_for):
    """Twenty sessions, each with a GET waiting on its own connection: the server's greenlet
    count does not grow with them, and once the connections close, nothing of them is left."""
    server = start_server("engine_app", kind="gsio")
    before = server.get_json("/census")
    sockets = []
    try:
        for _ in range(20):
            sid = _open(server)
            sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
            sockets.append((sock, sid))
            _send(sock, "GET", _poll_path(sid))
        wait_for(
            lambda: sum(info["get_active"] for info in server.get_json("/sessions").values()) == 20,
            message="20 GETs to wait",
        )
        during = server.get_json("/census")
        assert during["greenlets"] < before["greenlets"] + 5
        assert during["polling_connections"] == before["polling_connections"] + 20
        for sock, sid in sockets:  # each wait ends with what a POST queues
            server.request("POST", _poll_path(sid), f"4to {sid}".encode())
            assert _messages(_read_response(sock)[1]) == [f"4to {sid}".encode()]
    finally:
        for sock, _ in sockets:
            sock.close()
    wait_for(lambda: server.get_json("/census") == before, message="the connections to be freed")


@pytest.mark.parametrize("kind", ["gsio", "pywsgi-ws"])
def test_a_handler_bug_gets_a_500_and_the_connection_and_server_go_on(start_server, reader, kind):
    """The event loop's connections answer a bug as the WSGI path (pywsgi's handler) does:
    500, the traceback logged once; other sessions are not disturbed."""
    server = start_server("engine_app", *reader, kind=kind)
    server.expect_traceback = True
    sid, other = _open(server), _open(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        _send(sock, "POST", _poll_path(sid), b"4crash")
        head, body = _read_response(sock)
        assert head.startswith("HTTP/1.1 500 ")
        assert body == b'{"code":3,"message":"Internal server error"}'
        _send(sock, "POST", _poll_path(other), b"4fine")
        assert _read_response(sock)[1] == b"ok"
        _send(sock, "GET", _poll_path(other))
        assert _messages(_read_response(sock)[1]) == [b"4fine"]
    assert server.output().count("RuntimeError: a bug in the handler") == 1


# -- heads sent again (gsio.io.pollhead.HeadCache): what a client sends the same way ----------


def _read_responses(sock, count):
    """The bodies of the next ``count`` responses (pipelined: they may come in one read)."""
    data = b""
    bodies = []
    while len(bodies) < count:
        end = data.find(b"\r\n\r\n")
        if end >= 0:
            length = int(re.search(rb"(?i)content-length: *(\d+)", data[:end]).group(1))
            if len(data) >= end + 4 + length:
                bodies.append(data[end + 4 : end + 4 + length])
                data = data[end + 4 + length :]
                continue
        chunk = sock.recv(65536)
        assert chunk, "the connection closed"
        data += chunk
    assert not data
    return bodies


def test_pipelined_requests_with_the_same_heads_are_answered_in_order(server):
    sid = _open(server)
    path = _poll_path(sid)
    post = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(post + b"4m1" + post + b"4m2" + post + b"4m3")
        assert _read_responses(sock, 3) == [b"ok", b"ok", b"ok"]
        _send(sock, "GET", path)
        assert _messages(_read_response(sock)[1]) == [b"4m1", b"4m2", b"4m3"]


def test_a_known_head_split_across_reads_and_its_body_arriving_later(server):
    """The second POST has the first one's head: it comes in pieces, its body after a pause
    (the handler reads that body); the connection goes on with the event loop."""
    sid = _open(server)
    path = _poll_path(sid)
    post = f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n".encode()
    get = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(post + b"4m1")
        assert _read_response(sock)[1] == b"ok"
        for piece in (post[:10], post[10:-3], post[-3:], b"4m", b"2"):
            sock.sendall(piece)
            time.sleep(0.05)
        assert _read_response(sock)[1] == b"ok"
        for piece in (get[:20], get[20:]):
            sock.sendall(piece)
            time.sleep(0.05)
        assert _messages(_read_response(sock)[1]) == [b"4m1", b"4m2"]
        sock.sendall(post + b"4m3" + get)
        ok, polled = _read_responses(sock, 2)
        assert ok == b"ok" and _messages(polled) == [b"4m3"]


def test_after_keep_alive_polls_http_1_0_and_connection_close_are_honoured(server):
    sid = _open(server)
    path = _poll_path(sid)
    for last in ("HTTP/1.0\r\nHost: x\r\n", "HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            for i in range(3):
                _send(sock, "POST", path, f"4m{i}".encode())
                assert _read_response(sock)[1] == b"ok"
            sock.sendall(f"POST {path} {last}Content-Length: 3\r\n\r\n4mx".encode())
            head, body = _read_response(sock)
            assert body == b"ok"
            assert sock.recv(1) == b""  # closed after the response
        status, _, body = server.request("GET", path)
        assert _messages(body) == [b"4m0", b"4m1", b"4m2", b"4mx"]


def test_many_different_heads_on_one_connection(server):
    sid = _open(server)
    path = _poll_path(sid)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for i in range(30):  # more heads than a connection keeps
            message = b"4" + b"z" * i
            _send(sock, "POST", path, message, extra=f"X-Try: {i % 12}\r\n")
            assert _read_response(sock)[1] == b"ok"
            _send(sock, "GET", path)
            assert _messages(_read_response(sock)[1]) == [message]


def test_an_upgrade_on_a_loop_connection_with_long_frames_behind_it_loses_none(server):
    """A keep-alive connection the event loop serves gives an upgrade back to the handler with
    everything it read: more than the handler's reader takes at once (8 KiB) must all reach
    the WebSocket."""
    from rawws import RawWebSocket, client_frame

    sid = _open(server)
    path = _poll_path(sid)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        for i in range(2):  # the second one is the event loop's
            _send(sock, "POST", path, f"4m{i}".encode())
            assert _read_response(sock)[1] == b"ok"
        text = "4" + "y" * 20_000
        head = (
            f"GET {PATH}?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: x\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        frames = b"".join(client_frame(0x1, m) for m in ("2probe", "5", text, "4after"))
        sock.sendall(head.encode() + frames)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        answer, _, rest = data.partition(b"\r\n\r\n")
        assert answer.startswith(b"HTTP/1.1 101 ")
        ws = RawWebSocket.__new__(RawWebSocket)
        ws.sock, ws.buffer = sock, rest
        assert ws.recv() == "3probe"
        got = [ws.recv() for _ in range(4)]  # what the polls left, then the echoes
        assert got == ["4m0", "4m1", text, "4after"]
