"""Several servers behind a load balancer without affinity, sharing one Redis: a request for
a session that another server owns is forwarded to it through Redis, and the answer comes back
the same way (gsio/engine/forward.py, gsio/engine/relayws.py). Real gunicorn processes (one
worker each), a real nginx in round robin, a real redis-server, real socket.io-client sockets
(tests/js/sio_workers.js) and raw HTTP.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "servers"))

from deploy_support import Process, gunicorn  # noqa: E402
from rawhttp import read_response  # noqa: E402
from redis_server import RedisServer  # noqa: E402

SERVERS = Path(__file__).resolve().parent / "servers"
WORKER = "gsio.gunicorn.GeventWorker"
CLIENTS = 200  # per transport setup: polling only, WebSocket only, the default upgrade
ENGINE = "/socket.io/?EIO=4&transport=polling"


@pytest.fixture(scope="module")
def redis():
    server = RedisServer()
    yield server
    server.stop()


def start(redis, *options, streams=False):
    env = {"GSIO_TEST_REDIS": redis.url}
    if streams:
        env["GSIO_TEST_STREAMS"] = "1"
    process = Process(gunicorn(WORKER, "forward_app:app", *options), SERVERS, env)
    process.wait_ready()
    return process


def check_and_stop(*processes):
    problems = [(p, p.problems()) for p in processes]
    for process in processes:
        process.stop()
    for process, problem in problems:
        if problem:
            pytest.fail(f"gunicorn {problem}:\n{process.output()}", pytrace=False)


def wait_subscribed(redis, count):
    """Until ``count`` servers listen for forwarded requests (a channel each)."""
    import redis as redis_py

    client = redis_py.Redis(port=redis.port)
    deadline = time.monotonic() + 15
    while len(client.pubsub_channels("socket.io-engine#*")) < count:
        assert time.monotonic() < deadline, "the servers did not subscribe"
        time.sleep(0.05)
    client.close()


@pytest.fixture(params=["pubsub", "streams"])
def pair(request, redis):
    streams = request.param == "streams"
    servers = [start(redis, streams=streams) for _ in range(2)]
    wait_subscribed(redis, 2)
    yield servers
    check_and_stop(*servers)


@pytest.fixture
def nginx():
    from nginx_server import Nginx

    started = []

    def make(ports):
        started.append(
            Nginx(ports, balance="", connections=4096)
        )  # round robin: no affinity at all
        return started[-1]

    yield make
    for server in started:
        server.stop()


def test_round_robin_without_sticky_sessions(pair, nginx, run_node):
    """Every client connects, echoes, hears a broadcast from the other server's client and
    leaves cleanly: no 400, no reconnect, though most of its requests land on the server that
    does not own its session."""
    proxy = nginx([server.port for server in pair])
    seen = run_node("sio_workers", proxy.port, "default", CLIENTS, 20, timeout=150)
    total = 3 * CLIENTS
    assert "error" not in seen, seen
    assert seen["connects"] == total and seen["connect_errors"] == 0, seen
    assert seen["reconnects"] == 0 and seen["reasons"] == {}, seen
    assert seen["echoed"] == total * 20 and seen["news"] == total, seen
    assert seen["transports"] == {"polling": CLIENTS, "websocket": 2 * CLIENTS}, seen
    assert sorted(seen["pids"]) == sorted(str(s.proc.pid) for s in pair) or len(seen["pids"]) == 2
    for server in pair:
        assert "Session ID unknown" not in server.output()


# -- raw HTTP ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def trio(redis):
    """The owner, a relay reading polls in the event loop (no access log: gsio's short path),
    and one serving them in the request's greenlet (an access log: pywsgi's path)."""
    servers = [
        start(redis),
        start(redis),
        start(redis, "--access-logfile", "-"),
    ]
    wait_subscribed(redis, 3)
    yield servers
    check_and_stop(*servers)


def exchange(port, method, path, body=b"", headers=""):
    """One request on a fresh connection: the raw response."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: x\r\n{headers}Content-Length: {len(body)}\r\n\r\n"
        )
        sock.sendall(head.encode() + body)
        return read_response(sock)


def undated(response):
    return re.sub(rb"Date: [^\r]*\r\n", b"", response)


def handshake(port):
    response = exchange(port, "GET", ENGINE)
    sid = json.loads(response.split(b"\r\n\r\n", 1)[1][1:])["sid"]
    return f"{ENGINE}&sid={sid}"


def worker_pid(server):
    """The pid of the gunicorn worker serving ``server``."""
    return int(exchange(server.port, "GET", "/pid").split(b"\r\n\r\n", 1)[1])


UNKNOWN = b'{"code":1,"message":"Session ID unknown"}'


@pytest.mark.parametrize("relay", [1, 2], ids=["event-loop", "greenlet"])
def test_forwarded_requests_answer_byte_for_byte_as_local_ones(trio, relay):
    owner, relay = trio[0], trio[relay]
    local, forwarded = handshake(owner.port), handshake(owner.port)
    big = "y" * 3000  # over the compression threshold: deflated by the owner
    accept = "Accept-Encoding: deflate\r\n"
    steps = [
        ("POST", b"40", ""),
        ("GET", b"", ""),
        ("POST", b'421["echo","x"]', ""),
        ("GET", b"", ""),
        ("POST", f'422["echo","{big}"]'.encode(), ""),
        ("GET", b"", accept),
    ]
    for method, body, headers in steps:
        mine = exchange(owner.port, method, local, body, headers)
        theirs = exchange(relay.port, method, forwarded, body, headers)
        if method == "GET" and body == b"" and steps.index((method, body, headers)) == 1:
            # The CONNECT's answer names the socket: the rest of it is the same.
            mine, theirs = mine.split(b'"sid":')[0], theirs.split(b'"sid":')[0]
        assert undated(theirs) == undated(mine), (method, body[:20])
    assert b"Content-Encoding: deflate" in mine


def v3_payload(*texts):
    """A v3 text payload: each packet after its length in UTF-16 units."""
    return "".join(f"{len(t.encode('utf-16-le')) // 2}:{t}" for t in texts).encode()


@pytest.mark.parametrize("relay", [1, 2], ids=["event-loop", "greenlet"])
def test_forwarded_v3_requests_answer_byte_for_byte_as_local_ones(trio, relay):
    """socket.io-client 2.x's polling (Engine.IO v3) through the forwarding: text payloads
    with UTF-16 lengths, a binary payload both ways, a JSONP poll, as the owner answers."""
    owner, relay = trio[0], trio[relay]
    v3 = ENGINE.replace("EIO=4", "EIO=3")
    paths = []
    for _ in range(2):
        response = exchange(owner.port, "GET", v3)
        assert response.split(b"\r\n\r\n", 1)[1].startswith(b"1"), response  # "<length>:0{"
        sid = json.loads(response.split(b"\r\n\r\n", 1)[1].split(b":", 1)[1][1:])["sid"]
        paths.append(f"{v3}&sid={sid}")
    local, forwarded = paths
    binary = "Content-Type: application/octet-stream\r\n"
    attachment = bytes(range(256))
    event = b'451-2["echo",{"_placeholder":true,"num":0}]'
    binary_body = (
        b"\x00" + bytes(int(d) for d in str(len(event))) + b"\xff" + event
        + b"\x01\x02\x05\x07\xff\x04" + attachment
    )  # fmt: skip
    steps = [
        ("GET", b"", ""),  # "/" joined at once: 2:40
        ("POST", v3_payload('421["echo","€😀"]'), ""),
        ("GET", b"", ""),
        ("POST", binary_body, binary),
        ("GET", b"", ""),
        ("POST", v3_payload('423["echo","\u2028"]'), ""),
        ("GET&j=4", b"", ""),
    ]
    answers = []
    for method, body, headers in steps:
        method, _, extra = method.partition("&")
        suffix = f"&{extra}" if extra else ""
        mine = exchange(owner.port, method, local + suffix, body, headers)
        theirs = exchange(relay.port, method, forwarded + suffix, body, headers)
        assert undated(theirs) == undated(mine), (method, body[:20])
        answers.append(mine.split(b"\r\n\r\n", 1)[1])
    assert answers[0] == b"2:40"
    assert answers[2] == v3_payload('431["€😀"]')
    assert answers[4] == (
        b"\x00\x03\x06\xff" + b'461-2[{"_placeholder":true,"num":0}]'
        + b"\x01\x02\x05\x07\xff\x04" + attachment
    )  # fmt: skip
    assert answers[6] == b'___eio[4]("8:433[\\"\\u2028\\"]");'


@pytest.mark.parametrize("relay", [1, 2], ids=["event-loop", "greenlet"])
def test_a_client_leaving_a_forwarded_waiting_get_ends_the_session(trio, relay):
    owner, relay = trio[0], trio[relay]
    path = handshake(owner.port)
    assert exchange(owner.port, "POST", path, b"40").endswith(b"ok")
    assert b"40{" in exchange(relay.port, "GET", path)
    with socket.create_connection(("127.0.0.1", relay.port), timeout=10) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.5)  # (it waits at the owner: nothing to send)
    deadline = time.monotonic() + 10
    while not exchange(owner.port, "POST", path, b"3").endswith(UNKNOWN):
        assert time.monotonic() < deadline, "the session did not end at the owner"
        time.sleep(0.05)


def test_a_session_that_no_server_has_is_refused_at_once(trio):
    path = handshake(trio[0].port)
    unknown = re.sub(r"sid=[^.]{5}", "sid=00000", path)
    for server in trio:
        response = exchange(server.port, "GET", unknown)
        assert response.startswith(b"HTTP/1.1 400") and response.endswith(UNKNOWN), response


def test_forwarded_to_an_owner_that_is_gone_or_hangs(redis):
    """An owner killed: 400 "Session ID unknown" at once (no server gets the request). An
    owner that does not answer (stopped): the same 400, once ``forward_timeout`` (1 s) has
    passed. Nothing waits longer than that."""
    owner, hung, relay = start(redis), start(redis), start(redis)
    try:
        wait_subscribed(redis, 3)
        killed, stopped = handshake(owner.port), handshake(hung.port)
        victim, sleeper = worker_pid(owner), worker_pid(hung)
        os.kill(victim, signal.SIGKILL)
        os.kill(owner.proc.pid, signal.SIGKILL)  # (its arbiter would start another)
        owner.proc.wait(10)
        os.kill(sleeper, signal.SIGSTOP)
        try:
            for path in (killed, stopped):
                for method, body in (("GET", b""), ("POST", b"40")):
                    began = time.monotonic()
                    response = exchange(relay.port, method, path, body)
                    took = time.monotonic() - began
                    assert response.startswith(b"HTTP/1.1 400"), response
                    assert response.endswith(UNKNOWN), response
                    assert took < 10, took  # a generous bound on the 1 s wait
        finally:
            os.kill(sleeper, signal.SIGCONT)
        assert "no answer from a session's server in time" in relay.output()
    finally:
        check_and_stop(relay, hung)
        owner.stop()


@pytest.mark.parametrize(
    "worker, options",
    [("gevent", ()), ("gthread", ("--threads", "200"))],
    ids=["gevent", "gthread"],
)
def test_other_worker_classes_with_several_workers_forward_through_redis(
    redis, run_node, worker, options
):
    """gunicorn's own worker classes cannot move a connection to its owner worker; with a Redis
    adapter their requests for another worker's session are forwarded through Redis instead,
    so ``-w 2`` works without sticky sessions (gevent mode and threading mode)."""
    command = gunicorn(worker, "forward_app:app", "-w", "2", *options)
    server = Process(command, SERVERS, {"GSIO_TEST_REDIS": redis.url})
    server.wait_ready()
    try:
        wait_subscribed(redis, 2)
        clients = 20
        seen = run_node("sio_workers", server.port, "default", clients, 10, timeout=150)
        assert "error" not in seen, seen
        assert seen["connects"] == 3 * clients and seen["connect_errors"] == 0, seen
        assert seen["reconnects"] == 0 and seen["reasons"] == {}, seen
        assert seen["echoed"] == 3 * clients * 10 and seen["news"] == 3 * clients, seen
        assert len(seen["pids"]) == 2, seen  # both workers had sessions
    finally:
        check_and_stop(server)
