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


# -- workers that die or are replaced ------------------------------------------------------------


class Churn:
    """``tests/js/sio_churn.js``: ``n`` socket.io-client sockets per transport setup (polling
    only, WebSocket only, the default upgrade), reconnection on, each echoing acked events in a
    loop until :meth:`stop`. Each socket has its own connections, as a browser would: in Node,
    engine.io-client makes every polling request with ``agent: false`` (a fresh connection,
    ``Connection: close``), so no pooled connection is shared between sockets."""

    def __init__(self, port, n):
        import subprocess

        from conftest import JS, ROOT

        self.proc = subprocess.Popen(
            ["node", str(JS / "sio_churn.js"), str(port), "default", str(n)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.ready = self._read("ready", 90)  # [[group, pid], ...]

    def _read(self, key, timeout=30):
        import threading

        line = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        if not line or not line[0]:
            self.proc.kill()
            pytest.fail(f"sio_churn.js: no {key!r} line within {timeout} s")
        answer = json.loads(line[0])
        if key not in answer:
            self.proc.kill()
            pytest.fail(f"sio_churn.js: {line[0][:5000]}")
        return answer[key]

    def _say(self, line, key, timeout=30):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self._read(key, timeout)

    def status(self):
        return self._say("status", "status")

    def pause(self, group):
        return self._say(f"pause {group}", "paused")

    def resume(self, group):
        return self._say(f"resume {group}", "resumed")

    def stop(self):
        """Every socket's record (see sio_churn.js), its sockets closed."""
        states = self._say("stop", "states", 60)
        self.proc.wait(15)
        return states

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def _acks_go_on(churn, wait_for, sockets=None):
    """Wait until each socket (all, or those indexes) answered acks since now, connected."""
    before = churn.status()
    targets = range(len(before)) if sockets is None else sockets

    def done():
        now = churn.status()
        return all(now[k]["connected"] and now[k]["acks"] > before[k]["acks"] + 2 for k in targets)

    wait_for(done, 60, "every socket's acks after the event")


def _unaffected(state):
    """What a socket that saw nothing saw: no disconnect, no reconnect, no failed ack."""
    return (
        len(state["pids"]) == 1
        and state["connects"] == 1
        and not state["disconnects"]
        and not state["connect_errors"]
        and state["attempts"] == 0
        and not state["failed"]
        and state["bad"] == 0
        and state["acks"] > 0
    )


def _moved(state, gone):
    """A socket of a worker in ``gone`` that reconnected, to a live worker, and went on."""
    return (
        state["pids"][0] in gone
        and len(state["disconnects"]) >= 1
        and state["pids"][-1] not in gone
        and state["bad"] == 0
    )


CHURN = 20  # sockets per transport setup (the 600-socket run is above)
GROUPS = {"polling", "websocket", "default"}


def _churning(wait_for, *options, env=None, pause=None):
    """gunicorn -w 4 (no ping during a test: the only requests are the sockets' own) and a
    :class:`Churn` on it (``pause``: that group paused at once), once every upgrade is done."""
    env = {"GSIO_TEST_PING": "300", **(env or {})}
    process = Process(gunicorn(WORKER, "workers_app:app", "-w", "4", *options), SERVERS, env)
    process.wait_ready()
    try:
        sockets = _group_dir(process)
        wait_for(lambda: len(list(sockets.glob("*.sock"))) == 4, 20, "the four workers")
        churn = Churn(process.port, CHURN)
        if pause:
            churn.pause(pause)
    except BaseException:
        process.stop()
        raise

    def upgraded():
        return all(
            s["transport"] == ("polling" if s["group"] == "polling" else "websocket")
            for s in churn.status()
        )

    wait_for(upgraded, 30, "the upgrades")
    return process, churn


def _group_dir(process):
    return Path(os.environ.get("TMPDIR") or "/tmp") / f"gsio-workers-{process.proc.pid}"


def test_a_killed_workers_clients_reconnect_the_others_see_nothing(wait_for):
    """SIGKILL one of four workers while the sockets echo: its sockets (polling only, WebSocket
    only, upgraded) reconnect to live workers and go on; every other socket sees nothing (no
    disconnect, no reconnect, no failed ack). gunicorn reaps the worker and its sockets in the
    group's directory are removed. Then TERM: gunicorn exits well within its graceful timeout,
    and the directory is removed.

    The polling-only sockets pause (no request of theirs in flight) while the worker is
    killed: a request the kernel gave to the killed worker and that it had not yet passed to
    its session's owner dies with it (the client sees ECONNRESET, "xhr poll error", and
    reconnects), whichever worker owns the session, as it would behind a balancer whose
    backend crashes. The WebSocket and upgraded sockets echo throughout: their connections
    live in their owner."""
    process, churn = _churning(wait_for)
    try:
        owners = {}
        for group, pid in churn.ready:
            owners.setdefault(pid, set()).add(group)
        # The worker serving the most kinds of sockets, then the most sockets.
        count = {pid: sum(1 for _, p in churn.ready if p == pid) for pid in owners}
        victim = max(owners, key=lambda pid: (len(owners[pid]), count[pid]))
        assert owners[victim] == GROUPS, owners
        churn.pause("polling")
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: _gone(victim), 10, "the killed worker's end")
        left = [_group_dir(process) / f"{worker_tag(victim)}.{kind}" for kind in ("sock", "bus")]
        wait_for(lambda: not any(p.exists() for p in left), 10, "its sockets removed")
        churn.resume("polling")
        _acks_go_on(churn, wait_for)
        states = churn.stop()
        started = time.monotonic()
        process.proc.send_signal(signal.SIGTERM)
        process.proc.wait(30)
        took = time.monotonic() - started
    finally:
        churn.kill()
        process.stop()
    output = process.output()
    assert "Traceback" not in output, output
    assert took < 15, (took, output)  # (gunicorn's graceful timeout: 30 s)
    assert not _group_dir(process).exists()
    mine = [s for s in states if s["pids"][0] == victim]
    others = [s for s in states if s["pids"][0] != victim]
    assert {s["group"] for s in mine} == GROUPS and others
    for state in others:
        assert _unaffected(state), state
    for state in mine:
        assert _moved(state, {victim}), state


def test_max_requests_restarts_a_worker_its_clients_reconnect(wait_for):
    """``--max-requests``: the worker that reaches it shuts down as on TERM (its sockets told
    to reconnect, which they do, to live workers) and exits well within its graceful timeout;
    gunicorn starts another; the other workers' sockets see nothing. (gunicorn's own gevent
    pywsgi worker counts no request: the option did nothing.) The requests that reach it are
    ``GET /pid``s on one keep-alive connection (all served by the worker that accepted it),
    the polling sockets paused meanwhile (their requests count too, wherever they land)."""
    import re

    limit = 5000
    process, churn = _churning(
        wait_for,
        "--max-requests", str(limit), "--max-requests-jitter", "0", "--graceful-timeout", "10",
        pause="polling",
    )  # fmt: skip
    try:
        served = {pid for _, pid in churn.ready}
        for _ in range(50):  # a keep-alive connection to a worker that serves sockets
            conn = http.client.HTTPConnection("127.0.0.1", process.port, timeout=10)
            conn.request("GET", "/pid")
            victim = int(conn.getresponse().read())
            if victim in served:
                break
            conn.close()
        assert victim in served
        try:
            for _ in range(limit):
                conn.request("GET", "/pid")
                assert int(conn.getresponse().read()) == victim
        except (OSError, http.client.HTTPException):
            pass  # (the worker closed it as it stopped)
        conn.close()
        assert f"[{victim}] [INFO] Autorestarting" in process.output()
        wait_for(lambda: _gone(victim), 10, "the restarted worker's end")
        gone = {int(p) for p in re.findall(r"\[(\d+)\] \[INFO\] Autorestarting", process.output())}
        assert gone == {victim}, process.output()
        churn.resume("polling")
        _acks_go_on(churn, wait_for)
        states = churn.stop()
    finally:
        churn.kill()
        process.stop()
    output = process.output()
    assert "Traceback" not in output and "graceful timeout" not in output, output
    mine = [s for s in states if s["pids"][0] in gone]
    others = [s for s in states if s["pids"][0] not in gone]
    assert mine and others, states
    for state in others:
        assert _unaffected(state), state
    for state in mine:
        assert _moved(state, gone), state


def test_a_reload_replaces_every_worker_every_client_reconnects(wait_for):
    """``kill -HUP`` the arbiter: gunicorn starts four new workers and stops the old ones
    gracefully; every socket reconnects to a new worker and goes on echoing. The old workers'
    sockets (hand-over and bus) are gone; the group's directory is the same one (the
    arbiter's pid names it)."""
    import re

    process, churn = _churning(wait_for)
    try:
        old = {pid for _, pid in churn.ready}
        directory = _group_dir(process)
        assert {p.name for p in directory.iterdir()} >= {f"{worker_tag(pid)}.sock" for pid in old}
        mark = process.mark()
        process.proc.send_signal(signal.SIGHUP)

        def new_workers():
            return {
                int(p) for p in re.findall(r"Booting worker with pid: (\d+)", process.output(mark))
            }

        wait_for(
            lambda: len(new_workers()) == 4 and all(_gone(pid) for pid in old), 30, "the reload"
        )
        new = new_workers()
        _acks_go_on(churn, wait_for)
        assert {s["pid"] for s in churn.status()} <= new
        states = churn.stop()
        names = {p.name for p in directory.iterdir()}
    finally:
        churn.kill()
        process.stop()
    output = process.output()
    assert "Traceback" not in output and "graceful timeout" not in output, output
    tags = {worker_tag(pid) for pid in old}
    assert not {name for name in names if name.split(".")[0] in tags}, names
    assert {f"{worker_tag(pid)}.sock" for pid in new} <= names, names
    for state in states:
        assert _moved(state, old) and state["pids"][-1] in new, state


def test_stale_socket_files_never_hang_a_request(wait_for):
    """What a crashed worker could leave in the group's directory, and sids naming it: a
    socket nobody listens on (for a pid that is gone, and for a live process that is not a
    worker), a file that is not a socket, and a live worker that does not know the session.
    Each request gets the protocol's 400 at once, on whichever worker it lands."""
    import socket

    process = start(None, workers=2)
    try:
        directory = _group_dir(process)
        wait_for(lambda: len(list(directory.glob("*.sock"))) == 2, 10, "the workers' sockets")
        live = int(next(directory.glob("*.sock")).stem, 36)
        dead = 2**22 + 1  # above the largest pid_max: no process has it
        tags = {"dead": worker_tag(dead), "alive": worker_tag(os.getpid()), "file": "zzzz"}
        for name in ("dead", "alive"):
            stale = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            stale.bind(str(directory / f"{tags[name]}.sock"))
            stale.close()  # the file stays; nothing listens
        (directory / "zzzz.sock").write_bytes(b"not a socket")
        tags["worker"] = worker_tag(live)
        for name, tag in tags.items():
            sid = f"AAAAAAAAAAAAAAAAAAAA.{tag}"
            for path in (
                f"/socket.io/?EIO=4&transport=polling&sid={sid}",
                f"/socket.io/?EIO=4&transport=websocket&sid={sid}",
            ):
                for _ in range(5):  # (each on a fresh connection, whichever worker gets it)
                    status, body = _request(process.port, "GET", path)
                    assert (status, json.loads(body)) == (
                        400,
                        {"code": 1, "message": "Session ID unknown"},
                    ), (name, body)
    finally:
        process.stop()
    assert "Traceback" not in process.output()


def test_a_killed_workers_client_recovers_with_the_redis_streams_adapter(redis, wait_for):
    """Connection state recovery with the Redis Streams adapter: each worker keeps its
    connected sockets' sessions in Redis too (gsio/cluster/stream_mirror.py), so a socket of
    a worker killed with SIGKILL (which keeps nothing as it dies) recovers on another worker:
    the same id, its room, and the events sent to it while it was away, once each, in order.
    (Without Redis, a session lives in its worker's memory and dies with it.)"""
    process = Process(
        gunicorn(WORKER, "workers_app:app", "-w", "4"),
        SERVERS,
        {"GSIO_TEST_STREAMS": redis.url, "GSIO_TEST_PING": "300"},
    )
    process.wait_ready()
    clients = Clients()
    try:
        # The one to recover (reconnecting after 1 to 3 s), and one on another worker.
        sid = clients.connect("away", process.port, reconnect=True, delay=2000)
        victim = _pid(clients, "away")
        sender, _ = _on_another_worker(clients, process.port, {victim}, "s")
        assert clients.call("away", "join", "room") == [True]
        assert clients.call(sender, "shout", "before") == [True]
        # (each event with its offset: the stream entry's id)
        assert [e[:2] for e in clients.wait_events("away", 1)] == [["news", "before"]]
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: _gone(victim), 10, "the killed worker's end")
        assert clients.call(sender, "shout", "to all") == [True]
        assert clients.call(sender, "tell", "room", "to the room") == [True]
        seen = clients.wait_events("away", 4, timeout=30)
        assert seen[0] == ["__disconnect", "transport close"], seen
        assert seen[1] == ["__connect", sid, True], seen  # recovered, the same id
        assert [e[:2] for e in seen[2:]] == [["news", "to all"], ["news", "to the room"]], seen
        assert _pid(clients, "away") not in (victim, None)
        assert clients.call(sender, "tell", "room", "after") == [True]
        assert [e[:2] for e in clients.wait_events("away", 1)] == [["news", "after"]]
    finally:
        clients.stop()
        process.stop()
    assert "Traceback" not in process.output()
