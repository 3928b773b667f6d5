"""Long-polling requests whose client stalls or leaves, on every serving path.

- A POST whose body stalls is abandoned when its session ends (ping timeout) or when its own
  ``body_timeout`` is up, and whatever served it (a greenlet, a thread) is freed.
- A GET waiting on a connection that the client closes ends its session ("transport error"),
  as Node's engine.io ("poll connection closed prematurely"), however the request is served.

The server kinds: gsio's handler, which hands the connection to its event loop (a body still
arriving, and the requests of a handler that may block, go to a greenlet); gevent's pywsgi
with gevent-websocket's handler and with its own; werkzeug's threads.
"""

import json
import re
import socket
import ssl
import subprocess

import pytest
from rawhttp import read_response

PATH = "/socket.io/"
SID = re.compile(rb'0\{"sid":"([A-Za-z0-9_-]+)"')

# gsio's handler, with the event loop (and a greenlet for a body still arriving), and with a
# greenlet for every request (a handler that may block); then the other servers.
SERVERS = {
    "gsio": ("gsio", ()),
    "gsio-greenlet": ("gsio", ("--blocking-handler",)),
    "pywsgi": ("pywsgi", ()),
    "pywsgi-ws": ("pywsgi-ws", ()),
    "werkzeug": ("werkzeug", ()),
}


@pytest.fixture(params=list(SERVERS))
def serve(request, start_server):
    """``serve(*args)``: a fresh engine_app server of this kind (its census is its own)."""
    kind, extra = SERVERS[request.param]
    return lambda *args: start_server("engine_app", *extra, *args, kind=kind)


def _open(server):
    status, _, body = server.request("GET", f"{PATH}?EIO=4&transport=polling")
    assert status == 200, body
    return SID.match(body).group(1).decode()


def _path(sid):
    return f"{PATH}?EIO=4&transport=polling&sid={sid}"


def _reason(server, wait_for, sid, timeout=10.0):
    return wait_for(
        lambda: server.get_json("/reasons").get(sid), timeout, message=f"session {sid} to end"
    )


def _census_back(server, wait_for, before):
    """What serving the requests took is freed: greenlets, polling connections, descriptors.
    (At most as many as before: a connection of the handshake may have been closing then.)"""

    def back():
        now = server.get_json("/census")
        return all(now[key] <= before[key] for key in before)

    wait_for(back, timeout=10, message=f"the census to return to {before}")


def _stall_a_post(server, sid):
    """A POST whose head and the start of its body arrive, then nothing."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    sock.sendall(
        f"POST {_path(sid)} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n4abc".encode()
    )
    return sock


def _still_serves(server):
    sid = _open(server)
    assert server.request("POST", _path(sid), b"4fine")[::2] == (200, b"ok")
    assert server.request("GET", _path(sid))[::2] == (200, b"4fine")


# -- a session the server closes ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["gsio", "werkzeug"])
def test_a_socketio_disconnect_by_the_server_reaches_the_next_polls(start_server, kind, wait_for):
    """The server disconnects a polling client while no GET waits (``conn.disconnect(close=
    True)``): as from the reference, the session stays for the polls that take what is left,
    the Socket.IO DISCONNECT, then the Engine.IO CLOSE; then it is gone. (A session closed by
    the client's error or a ping timeout is gone at once: test_engine_http.py.)"""
    server = start_server("sio_app", kind=kind)
    sid = _open(server)
    assert server.request("POST", _path(sid), b"40")[::2] == (200, b"ok")
    status, _, body = server.request("GET", _path(sid))
    assert status == 200 and body.startswith(b'40{"sid":'), body
    assert server.request("POST", _path(sid), b'42["kick_close"]')[::2] == (200, b"ok")
    wait_for(lambda: server.get_json("/log")["disconnects"], message="the disconnect")
    assert server.request("GET", _path(sid))[::2] == (200, b"41")
    assert server.request("GET", _path(sid))[::2] == (200, b"1")
    status, _, body = server.request("GET", _path(sid))
    assert (status, body) == (400, b'{"code":1,"message":"Session ID unknown"}')


# -- a POST whose body stalls ------------------------------------------------------------------


def test_a_stalled_post_body_is_abandoned_when_its_session_ends(serve, wait_for):
    """The client stops in the middle of a POST's body and never answers a ping: at the ping
    timeout the session ends, and the POST with it (as engine.io destroys a pending data
    request): it gets its answer at once, not when the client decides, and nothing of it is
    left on the server."""
    server = serve("--ping-interval", "0.5", "--ping-timeout", "0.5")
    before = server.get_json("/census")  # a session alone takes none of what it counts
    sid = _open(server)
    with _stall_a_post(server, sid) as sock:  # well within the second the session has
        assert _reason(server, wait_for, sid) == "ping timeout"
        answer = read_response(sock)  # within the socket's timeout, not the body timeout
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert answer.endswith(b'\r\n\r\n{"code":3,"message":"Bad request"}'), answer
        assert sock.recv(1) == b""  # the rest of the body is not waited for
    # The log line comes through the server's output pipe, read by a thread: wait for it.
    wait_for(
        lambda: "request body abandoned: the session closed" in server.output(),
        message="the log line",
    )
    assert server.output().count("request body abandoned: the session closed") == 1
    _census_back(server, wait_for, before)
    _still_serves(server)


def test_a_stalled_post_body_times_out(serve, wait_for):
    """The same with a session that lives on (long heartbeats): the read has a timeout of its
    own, ``body_timeout``; past it the POST gets 400 and the session ends, as when a body is cut
    short ("transport error")."""
    server = serve("--body-timeout", "0.5")
    sid = _open(server)
    before = server.get_json("/census")
    with _stall_a_post(server, sid) as sock:
        answer = read_response(sock)
        assert answer.startswith(b"HTTP/1.1 400 "), answer
        assert answer.endswith(b'\r\n\r\n{"code":3,"message":"Bad request"}'), answer
        assert sock.recv(1) == b""
    assert _reason(server, wait_for, sid) == "transport error"
    # The log line comes through the server's output pipe, read by a thread: wait for it.
    wait_for(lambda: "request body timed out" in server.output(), message="the log line")
    assert server.output().count("request body timed out") == 1
    _census_back(server, wait_for, before)
    _still_serves(server)


def test_a_slow_body_within_the_timeout_arrives(serve, wait_for):
    """What arrives in pieces within ``body_timeout`` is read whole, on the same connection."""
    server = serve("--body-timeout", "20")
    sid = _open(server)
    with socket.create_connection(("127.0.0.1", server.port), timeout=15) as sock:
        sock.sendall(
            f"POST {_path(sid)} HTTP/1.1\r\nHost: x\r\nContent-Length: 8\r\n\r\n4ab".encode()
        )
        wait_for(
            lambda: server.get_json("/sessions")[sid]["post_active"],
            message="the POST to wait for its body",
        )
        sock.sendall(b"cdefg")
        answer = read_response(sock)
        assert answer.startswith(b"HTTP/1.1 200 ") and answer.endswith(b"ok"), answer
    assert server.request("GET", _path(sid))[::2] == (200, b"4abcdefg")


# -- a waiting GET whose client leaves -----------------------------------------------------------


def _wait_on_a_get(server, wait_for, sid):
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=15)
    sock.sendall(f"GET {_path(sid)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    wait_for(lambda: server.get_json("/sessions")[sid]["get_active"], message="the GET to wait")
    return sock


@pytest.mark.parametrize("how", ["close", "half-close", "close-after-bytes"])
def test_a_client_gone_from_a_waiting_get_ends_the_session(serve, wait_for, how):
    """The client closes the connection of its waiting GET (after sending more bytes behind
    it, which a watch on the socket must not mistake for a close, nor spin on): the session
    ends with "transport error" well before the poll or the ping would time out (25 s)."""
    server = serve()
    sid = _open(server)
    before = server.get_json("/census")
    sock = _wait_on_a_get(server, wait_for, sid)
    if how == "half-close":
        sock.shutdown(socket.SHUT_WR)
    elif how == "close-after-bytes":
        sock.sendall(b"GET /reasons HTTP/1.1\r\nHost: x\r\n\r\n")  # pipelined
    sock.close()
    assert _reason(server, wait_for, sid, timeout=5) == "transport error"
    assert "Traceback" not in server.output()
    _census_back(server, wait_for, before)
    _still_serves(server)


def test_a_waiting_get_whose_client_stays_goes_on(serve, wait_for):
    """A client that stays (even one that sent bytes behind its GET): its GET waits on, is
    answered when there is something to send, and the session goes on."""
    server = serve()
    sid = _open(server)
    with _wait_on_a_get(server, wait_for, sid) as sock:
        sock.sendall(b"G")  # the start of the next request: not a close
        # Long enough for a server that checks the connection now and then to have looked.
        with pytest.raises(socket.timeout):
            sock.settimeout(1.5)
            sock.recv(1)
        sock.settimeout(15)
        assert server.request("POST", _path(sid), b"4hello")[::2] == (200, b"ok")
        answer = read_response(sock)
        assert answer.endswith(b"\r\n\r\n4hello"), answer
    # The session outlives the connection: only a close while a GET waits ends it.
    assert server.request("POST", _path(sid), b"4again")[::2] == (200, b"ok")
    assert server.request("GET", _path(sid))[::2] == (200, b"4again")
    assert sid not in server.get_json("/reasons")


# -- the same through TLS ----------------------------------------------------------------------


@pytest.fixture
def tls(start_server, tmp_path):
    """``tls(*args)``: ``(server, https)``: the echo server over HTTPS (pywsgi with gsio's
    handler and a self-signed certificate, as a user serves TLS), and ``https(method, path,
    body=b"")`` doing one request on a fresh TLS connection: ``(head, body)``."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"]
        + ["-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(cafile=str(cert))
    context.check_hostname = False

    def connect(server):
        raw = socket.create_connection(("127.0.0.1", server.port), timeout=15)
        return context.wrap_socket(raw)

    def start(*args):
        server = start_server("engine_app", "--tls", f"{cert},{key}", *args, kind="gsio")
        server.connect = lambda: connect(server)
        return server

    return start


def _https(server, method, path, body=b""):
    with server.connect() as sock:
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
        sock.sendall(head.encode() + body)
        head, _, body = read_response(sock).partition(b"\r\n\r\n")
        return head, body


def _https_json(server, path):
    head, body = _https(server, "GET", path)
    assert head.startswith(b"HTTP/1.1 200 "), head
    return json.loads(body)


def test_through_tls_a_client_gone_from_a_waiting_get_ends_the_session(tls, wait_for):
    """A TLS client closes (close_notify, then FIN) while its GET waits: the session ends as
    on plain TCP, and the answer that can no longer be written costs no traceback."""
    server = tls()
    sid = SID.match(_https(server, "GET", f"{PATH}?EIO=4&transport=polling")[1]).group(1)
    sid = sid.decode()
    sock = server.connect()
    sock.sendall(f"GET {_path(sid)} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    wait_for(lambda: _https_json(server, "/sessions")[sid]["get_active"], message="the GET")
    sock.close()
    reason = wait_for(lambda: _https_json(server, "/reasons").get(sid), timeout=5)
    assert reason == "transport error"


def test_through_tls_a_stalled_post_body_times_out(tls, wait_for):
    """A TLS connection cannot be answered once its reading side is cut (the TLS layer fails):
    the connection is closed, as the reference destroys the request; the session ends."""
    server = tls("--body-timeout", "0.5")
    sid = SID.match(_https(server, "GET", f"{PATH}?EIO=4&transport=polling")[1]).group(1)
    sid = sid.decode()
    with server.connect() as sock:
        sock.sendall(
            f"POST {_path(sid)} HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n4ab".encode()
        )
        assert sock.recv(1) == b""
    assert wait_for(lambda: _https_json(server, "/reasons").get(sid)) == "transport error"
    # The log line comes through the server's output pipe, read by a thread: wait for it.
    wait_for(lambda: "request body timed out" in server.output(), message="the log line")
    assert server.output().count("request body timed out") == 1
