"""Several workers without sticky sessions: ``gunicorn -k gsio.gunicorn.GeventWorker -w 4``.

The kernel gives each connection to any worker; a request for a session another worker owns
is moved there with its connection (gsio/engine/workers.py, gsio/io/handoff.py). Real gunicorn,
real socket.io-client sockets (tests/js/sio_workers.js) and raw HTTP. The broadcasts between
the workers go through the in-host adapter the worker sets up by itself (no Redis: the plain
WSGIApp variant, and a killed worker), or the Redis adapter on a real redis-server (Flask).
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "servers"))

from cluster_support import Clients  # noqa: E402
from deploy_support import Process, gunicorn  # noqa: E402
from redis_server import RedisServer  # noqa: E402

from gsio.io.handoff import worker_tag  # noqa: E402

SERVERS = Path(__file__).resolve().parent / "servers"
WORKER = "gsio.gunicorn.GeventWorker"
CLIENTS = 200  # per transport setup: polling only, WebSocket only, the default upgrade


@pytest.fixture(scope="module")
def redis():
    server = RedisServer()
    yield server
    server.stop()


def start(redis, flask=False, workers=4):
    """gunicorn with ``workers`` workers; ``redis`` None: no Redis, the in-host adapter."""
    env = {"GSIO_TEST_REDIS": redis.url} if redis is not None else {}
    if flask:
        env["GSIO_TEST_FLASK"] = "1"
    process = Process(gunicorn(WORKER, "workers_app:app", "-w", str(workers)), SERVERS, env)
    process.wait_ready()
    return process


@pytest.fixture(scope="module", params=["wsgiapp", "flask"])
def workers(request, redis):
    """A WSGIApp without Redis (the in-host adapter), and Flask with the Redis adapter."""
    flask = request.param == "flask"
    process = start(redis if flask else None, flask=flask)
    yield process
    problem = process.problems()
    process.stop()
    if problem:
        pytest.fail(f"gunicorn {problem}:\n{process.output()}", pytrace=False)


def test_every_client_connects_echoes_and_hears_another_workers_broadcast(workers, run_node):
    seen = run_node("sio_workers", workers.port, "default", CLIENTS, 20, timeout=150)
    total = 3 * CLIENTS
    assert "error" not in seen, seen
    assert seen["connects"] == total and seen["connect_errors"] == 0, seen
    assert seen["reconnects"] == 0 and seen["reasons"] == {}, seen
    assert seen["echoed"] == total * 20 and seen["news"] == total, seen
    assert seen["transports"] == {"polling": CLIENTS, "websocket": 2 * CLIENTS}, seen
    assert sum(seen["pids"].values()) == total and len(seen["pids"]) > 1, seen  # spread


def _request(port, method, path, body=None):
    """One request on a fresh connection (it may reach any worker)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body)
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def test_each_request_of_a_session_on_a_fresh_connection(workers):
    """Every poll and post of one session, each on a new TCP connection: all served."""
    status, body = _request(workers.port, "GET", "/socket.io/?EIO=4&transport=polling")
    assert status == 200, body
    sid = json.loads(body[1:])["sid"]
    path = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
    assert _request(workers.port, "POST", path, b"40") == (200, b"ok")
    status, body = _request(workers.port, "GET", path)
    assert status == 200 and body.startswith(b"40{"), body
    for i in range(20):
        assert _request(
            workers.port, "POST", path, f'42{i}["echo",{i},"{"x" * 5000}"]'.encode()
        ) == (
            200,
            b"ok",
        )
        status, body = _request(workers.port, "GET", path)
        assert status == 200 and body == f'43{i}[{i},"{"x" * 5000}"]'.encode(), body[:200]


def _gone(pid):
    """The process has ended (a zombie waiting for gunicorn, or reaped)."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return any(line.startswith("State:") and "Z" in line for line in f)
    except FileNotFoundError:
        return True


def test_a_request_for_a_dead_workers_session_gets_400(redis, wait_for):
    """The owner killed (SIGKILL): a request naming its session is answered with the
    protocol's 400, whichever worker gets it (the owner's socket refuses: no wait); gunicorn
    starts another worker."""
    process = start(redis, workers=2)
    try:
        status, body = _request(process.port, "GET", "/socket.io/?EIO=4&transport=polling")
        sid = json.loads(body[1:])["sid"]
        owner = int(sid.rpartition(".")[2], 36)
        os.kill(owner, signal.SIGKILL)
        # Gone, not dying: a connection passed to a dying worker's socket is lost with it (the
        # client sees the connection closed, and tries again), which is not what is tested here.
        wait_for(lambda: _gone(owner), message="the owner's end")
        path = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
        for _ in range(10):  # (each on a fresh connection, whichever worker gets it)
            status, body = _request(process.port, "GET", path)
            assert status == 400 and json.loads(body) == {
                "code": 1,
                "message": "Session ID unknown",
            }, body
    finally:
        process.stop()


# -- gsio serve --workers N ----------------------------------------------------------------------


class GsioServe:
    """``python -m gsio serve <args>`` from tests/servers: the master; ``port`` once it listens."""

    def __init__(self, *args, env=None):
        import re
        import subprocess

        self.proc = subprocess.Popen(
            [sys.executable, "-m", "gsio", "serve", *args],
            cwd=SERVERS,
            env=dict(os.environ, PYTHONPATH=str(SERVERS.parent.parent), **(env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self.first = self.proc.stdout.readline()
        match = re.search(r":(\d+) with", self.first)
        self.port = int(match.group(1)) if match else None

    def children(self):
        with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
            return {int(pid) for pid in f.read().split()}

    def stop(self):
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)


def test_gsio_serve_workers(redis, run_node, wait_for):
    """No Redis: the workers share broadcasts through the in-host adapter."""
    serve = GsioServe("workers_app:app", "--workers", "3", "--port", "0")
    try:
        assert serve.port is not None, serve.first + serve.proc.stdout.read()
        seen = run_node("sio_workers", serve.port, "default", 50, 10, timeout=120)
        assert seen["connects"] == 150 and seen["connect_errors"] == seen["reconnects"] == 0, seen
        assert seen["echoed"] == 1500 and seen["news"] == 150, seen
        workers = wait_for(lambda: len(serve.children()) == 3 and serve.children())
        # A worker that dies is replaced; the others go on.
        victim = sorted(workers)[0]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: len(serve.children()) == 3 and victim not in serve.children())
        seen = run_node("sio_workers", serve.port, "default", 20, 5, timeout=120)
        assert seen["connects"] == 60 and seen["connect_errors"] == seen["reconnects"] == 0, seen
        directory = Path(os.environ.get("TMPDIR", "/tmp")) / f"gsio-workers-{serve.proc.pid}"
        assert directory.is_dir()
        # SIGTERM: every worker shuts down gracefully, then the master exits.
        serve.proc.send_signal(signal.SIGTERM)
        assert serve.proc.wait(20) == 0
        output = serve.proc.stdout.read()
        assert output.count("shutting down") >= 3 and "Traceback" not in output, output
        assert not directory.exists()
    finally:
        serve.stop()


def test_gsio_serve_workers_that_cannot_start(redis):
    serve = GsioServe("no_such_module:app", "--workers", "2", "--port", "0")
    try:
        assert serve.proc.wait(20) == 2
        output = serve.proc.stdout.read()
        assert "no module named 'no_such_module'" in output and "Traceback" not in output, output
    finally:
        serve.stop()


def _pid(clients, name):
    return clients.call(name, "pid")[0]


def _on_another_worker(clients, port, known, prefix):
    """Connect sockets ``prefix<i>`` until one is served by a worker not in ``known``: its
    name and pid. A worker in ``known`` that serves one is held a moment (the kernel gives the
    next connection to a worker waiting to accept, and one that just served tends to be it)."""
    for i in range(20):
        name = f"{prefix}{i}"
        clients.connect(name, port)
        pid = _pid(clients, name)
        if pid not in known:
            return name, pid
        assert clients.call(name, "hold", 1.5) == [True]
        time.sleep(0.3)  # the hold has begun
    pytest.fail(f"20 sockets, none on a worker other than {sorted(known)}")


def test_a_killed_worker_leaves_the_others_broadcasting(wait_for):
    """No Redis, three workers; one is killed (SIGKILL): the other two drop their connection
    to it (and say so once), their clients still hear each other's broadcasts at once, and the
    worker gunicorn starts instead joins them."""
    process = start(None, workers=3)
    clients = Clients()
    try:
        said = "workers share broadcasts, rooms and acks through the in-host adapter"
        wait_for(lambda: said in process.output(), 10, "the log line")
        on = {}  # pid -> the names of the sockets it serves
        for n in range(3):
            name, pid = _on_another_worker(clients, process.port, on, f"c{n}-")
            on[pid] = [name]
        for name in ("c0-x", "c1-x"):  # a second socket (on any worker)
            clients.connect(name, process.port)
            on[_pid(clients, name)].append(name)
        first = {pid: names[0] for pid, names in on.items()}
        for name in first.values():
            wait_for(lambda name=name: clients.call(name, "servers")[0] == 3, 10, "3 workers")
        victim, *alive = sorted(on)
        os.kill(victim, signal.SIGKILL)
        tag = worker_tag(victim)
        wait_for(
            lambda: process.output().count(f"host bus: worker {tag} is gone") == 2,
            10,
            "both survivors dropped the killed worker",
        )
        listeners = [name for pid in alive for name in on[pid]]
        assert clients.call(first[alive[0]], "shout", "after the kill") == [True]
        for name in listeners:
            news = clients.wait_events(name, 1, event="news")
            assert news == [["news", "after the kill"]], (name, news)
        # gunicorn's new worker: a socket on it hears a survivor's client, and is heard.
        newcomer, _ = _on_another_worker(clients, process.port, on, "n")
        wait_for(lambda: clients.call(newcomer, "servers")[0] == 3, 10, "the new worker joined")
        assert clients.call(first[alive[1]], "shout", "to the newcomer") == [True]
        assert clients.wait_events(newcomer, 1, event="news") == [["news", "to the newcomer"]]
        assert clients.call(newcomer, "shout", "from the newcomer") == [True]
        for name in listeners:
            # Two senders on two workers: each arrives once; their order is not promised.
            news = clients.wait_events(name, 2, event="news")
            assert sorted(news) == [["news", "from the newcomer"], ["news", "to the newcomer"]], (
                name
            )
        output = process.output()
        assert output.count(said) == 1 and "Traceback" not in output, output
    finally:
        clients.stop()
        process.stop()
