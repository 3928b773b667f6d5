"""What the cluster tests share: redis-server, cluster servers (gsio and Node), and a driver of
real socket.io-client sockets.

- ``Clients``: ``tests/js/driver.js`` in one Node process; ``connect(name, port, ...)``,
  ``call(name, event, *args)`` (the ack's arguments), ``events(name)`` (what came since the last
  look), ``wait_events(name, n)``.
- ``NodeServer``: ``tests/js/cluster_server.js`` (npm socket.io + @socket.io/redis-adapter).
- ``wait_cluster(redis_port, n)``: until ``n`` servers subscribe to the namespace's request
  channel, i.e. the cluster is formed and a broadcast from any of them reaches all.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time

import pytest
from conftest import JS, ROOT, _wait_for
from process import CapturedProcess, request
from redis_server import RedisServer  # noqa: F401  (re-exported for the tests)


class Clients:
    """Real socket.io-client sockets in one Node process, driven command by command."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["node", str(JS / "driver.js")],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self._next = 0
        self._lock = threading.Lock()

    def _do(self, op: str, wait: float = 15.0, **fields):
        with self._lock:
            self._next += 1
            fields.update(id=self._next, op=op)
            self.proc.stdin.write(json.dumps(fields) + "\n")
            self.proc.stdin.flush()
            answer = self._read(wait)
        if "error" in answer:
            pytest.fail(f"client {fields.get('name')}: {op} failed: {answer['error']}")
        return answer["ok"]

    def _read(self, timeout: float) -> dict:
        result: list = []
        reader = threading.Thread(target=lambda: result.append(self.proc.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(timeout)
        if not result or not result[0]:
            pytest.fail(f"the client driver did not answer within {timeout} s")
        return json.loads(result[0])

    def connect(self, name, port, nsp="/", transport="websocket", auth=None, answer=None,
                reconnect=False, host="127.0.0.1", silent=(), **options):
        """Connect socket ``name``; its id. It acks every event with ``"<name>:<event>"``, or
        ``answer[event]``, except the events in ``silent``, which it never acks."""
        url = f"http://{host}:{port}{nsp if nsp != '/' else ''}"
        return self._do("connect", name=name, url=url, transport=transport, auth=auth or {},
                        answer=_wire(answer or {}), reconnect=reconnect, silent=list(silent),
                        **options)

    def call(self, name, event, *args, timeout=10.0):
        return self._do("call", timeout + 5, name=name, event=event, args=_wire(args),
                        timeout=int(timeout * 1000))

    def emit(self, name, event, *args):
        return self._do("emit", name=name, event=event, args=_wire(args))

    def events(self, name):
        return self._do("events", name=name)

    def wait_events(self, name, count, timeout=10.0, event=None):
        """Events of ``name`` (only ``event`` if given) until ``count`` came; fails after
        ``timeout`` with what came."""
        seen: list = []
        deadline = time.monotonic() + timeout
        while True:
            seen.extend(e for e in self.events(name) if event is None or e[0] == event)
            if len(seen) >= count:
                return seen
            if time.monotonic() > deadline:
                pytest.fail(f"{name} got {len(seen)} of {count} events: {seen}")
            time.sleep(0.02)

    def close(self, name):
        return self._do("close", name=name)

    def repeat(self, name, event, *args, interval=0.02):
        """Emit ``event`` every ``interval`` seconds, a counter appended to ``args``."""
        return self._do("repeat", name=name, event=event, args=_wire(args),
                        interval=int(interval * 1000))

    def stop_repeat(self, name):
        """Stop :meth:`repeat`; how many were emitted."""
        return self._do("stop_repeat", name=name)

    def move(self, name, port, host="127.0.0.1", **session):
        """Cut socket ``name``'s transport and let it reconnect to the server on ``port``
        (``pid=``, ``offset=``: the session it asks back instead of its own)."""
        return self._do("move", name=name, url=f"http://{host}:{port}", **session)

    def close_all(self):
        """Close and forget every socket."""
        return self._do("close_all")

    def stop(self):
        try:
            self.proc.stdin.close()
            self.proc.wait(5)
        except (OSError, subprocess.TimeoutExpired):
            self.proc.kill()


def _wire(value):
    """Arguments for the driver: bytes travel as ``{"$bin": hex}`` and become Buffers."""
    if isinstance(value, bytes):
        return {"$bin": value.hex()}
    if isinstance(value, (list, tuple)):
        return [_wire(v) for v in value]
    if isinstance(value, dict):
        return {k: _wire(v) for k, v in value.items()}
    return value


class NodeServer(CapturedProcess):
    """A Node server script of tests/js (``cluster_server.js`` by default) on a free port: it
    prints ``READY <port>`` once it listens."""

    def __init__(
        self, redis_url: str | None, name: str = "node", *args: str, script="cluster_server.js"
    ) -> None:
        self.port = None
        self.name = name
        self.url = None
        self._ready = threading.Event()
        redis = ["--redis", redis_url, "--name", name] if redis_url else []
        super().__init__(["node", str(JS / script), *redis, *args], ROOT)
        if not self._ready.wait(15):
            self.stop()
            pytest.fail(f"the Node server {script} did not start:\n{self.output()}")

    def on_line(self, line):
        if self.port is None and line.startswith("READY "):
            self.port = int(line.split()[1])
            self.url = f"http://127.0.0.1:{self.port}"
            self._ready.set()

    def get_json(self, path: str):
        status, _, body = request(self.port, "GET", path)
        assert status == 200, (path, status, body)
        return json.loads(body)


def numsub(redis_port: int, channel: str) -> int:
    import redis

    client = redis.Redis(port=redis_port, socket_connect_timeout=2)
    try:
        return int(client.pubsub_numsub(channel)[0][1])
    finally:
        client.close()


def wait_cluster(redis_port: int, servers: int, nsp: str = "/", timeout: float = 10.0) -> None:
    """Wait until ``servers`` servers listen on ``nsp``'s request channel."""
    channel = f"socket.io-request#{nsp}#"
    _wait_for(
        lambda: numsub(redis_port, channel) >= servers,
        timeout,
        f"{servers} servers subscribed to {channel}",
    )


class Cluster:
    """A redis-server of its own and the servers of one cluster on it, with a client driver:
    for a module's tests (``scope="module"``) or for one test that breaks things.

    ``gsio`` maps server names to ``(kind, *extra arguments)`` of tests/servers/cluster_app.py;
    ``node`` names tests/js/cluster_server.js servers (``node_args`` passed to each). Between
    tests, :meth:`begin` marks the servers' output and :meth:`check` fails on a dead server or
    a Traceback printed since (unless the server's name is in ``expect_traceback``).
    ``streams``: every server uses the Redis Streams adapter (gsio's and
    @socket.io/redis-streams-adapter); ``recovery``: connection state recovery on everywhere.
    ``host``: no Redis; the gsio servers share a directory of their own (:attr:`bus`) with the
    in-host adapter (:func:`gsio.create_host_adapter`); Node has no such adapter.
    """

    def __init__(
        self, gsio=None, node=(), node_args=(), streams=False, recovery=False, host=False
    ):
        import tempfile

        from conftest import ServerProcess

        self.redis = None
        self.bus = None
        if host:
            self.bus = os.path.join(tempfile.mkdtemp(prefix="gsio-hostbus-"), "bus")
        else:
            try:
                self.redis = RedisServer()
            except RuntimeError as exc:
                pytest.fail(str(exc))
        self.gsio: dict = {}
        self.node: dict = {}
        self.clients = None
        self._marks: dict = {}
        self._buffers: dict = {}
        self._tokens = iter(range(1, 1 << 30))
        self.expect_traceback: set = set()
        self.streams = streams
        flags = (("--streams",) if streams else ()) + (("--recovery",) if recovery else ())
        node_args = (*node_args, *flags)
        try:
            for name, (kind, *args) in (gsio or {}).items():
                args = [*args, *flags]
                where = ("--host-bus", self.bus) if host else ("--redis", self.redis.url)
                self.gsio[name] = ServerProcess(
                    "cluster_app", (*where, "--name", name, *args), kind
                )
            for name in node:
                self.node[name] = NodeServer(self.redis.url, name, *node_args)
            self.clients = Clients()
            self.wait()
        except BaseException:
            self.stop()
            raise
        self.begin()

    @property
    def servers(self) -> dict:
        return {**self.gsio, **self.node}

    def port(self, server: str) -> int:
        return self.servers[server].port

    def wait(self, servers=None, timeout=10.0):
        """Until ``servers`` (all by default) subscribe on ``/`` and ``/chat``."""
        count = len(self.servers) if servers is None else servers
        if self.bus is not None:  # each server counts the others it is connected to
            for name in self.gsio:
                _wait_for(
                    lambda name=name: set(self.log(name)["servers"].values()) == {count},
                    timeout,
                    f"{name} connected to {count - 1} other servers",
                )
            return
        if self.streams:  # each server subscribes to its namespaces' public channels
            for nsp in ("/", "/chat"):
                channel = f"socket.io#{nsp}#"
                _wait_for(
                    lambda channel=channel: numsub(self.redis.port, channel) >= count,
                    timeout,
                    f"{count} servers subscribed to {channel}",
                )
            return
        for nsp in ("/", "/chat"):
            wait_cluster(self.redis.port, count, nsp, timeout)
        # The broadcast patterns are subscribed after the request channels: wait for them too.
        _wait_for(
            lambda: pattern_subscriptions(self.redis.port) >= 2 * count,
            timeout,
            f"{count} servers' broadcast patterns",
        )

    # -- between tests ---------------------------------------------------------------------

    def begin(self):
        self._marks = {name: server.mark() for name, server in self.servers.items()}
        self._buffers = {}
        self.expect_traceback = set()

    def output(self, server: str) -> str:
        """What ``server`` printed since :meth:`begin`."""
        return self.servers[server].output(self._marks.get(server, 0))

    def check(self):
        problems = []
        for name, server in self.servers.items():
            output = self.output(name)
            if not server.alive():
                problems.append(f"server {name} exited; output:\n{output}")
            elif "Traceback" in output and name not in self.expect_traceback:
                problems.append(f"server {name} printed a Traceback:\n{output}")
        if problems:
            pytest.fail("\n\n".join(problems), pytrace=False)

    def end(self):
        """Close every socket, then :meth:`check`."""
        if self.clients is not None:
            self.clients.close_all()
        self.check()

    def stop(self):
        if self.clients is not None:
            self.clients.stop()
        for server in self.servers.values():
            server.stop()
        if getattr(self, "redis", None) is not None:
            self.redis.stop()
        if getattr(self, "bus", None) is not None:
            shutil.rmtree(os.path.dirname(self.bus), ignore_errors=True)

    # -- sockets and what they got -----------------------------------------------------------

    def connect(self, name: str, server: str, nsp: str = "/", **options) -> str:
        """Socket ``name`` on ``server`` (see :meth:`Clients.connect`); its id."""
        self._buffers[name] = []
        return self.clients.connect(name, self.port(server), nsp, **options)

    def move(self, name: str, server: str, **session) -> None:
        """Cut socket ``name``'s transport; it reconnects to ``server``."""
        self.clients.move(name, self.port(server), **session)

    def call(self, name: str, event: str, *args, timeout: float = 10.0):
        """The first argument of the ack of ``event`` emitted by socket ``name``."""
        answer = self.clients.call(name, event, *args, timeout=timeout)
        return answer[0] if answer else None

    def _pull(self, name: str) -> list:
        buffer = self._buffers.setdefault(name, [])
        buffer.extend(self.clients.events(name))
        return buffer

    def drain(self, name: str) -> list:
        """Every event of ``name`` so far, consumed."""
        events = list(self._pull(name))
        self._buffers[name] = []
        return events

    def take(self, name: str, count: int, event=None, timeout: float = 10.0, where=None) -> list:
        """The first ``count`` events of ``name`` (only those named ``event``, and for which
        ``where(event)`` is true, if given; the others stay), waiting up to ``timeout``; fails
        with what came."""
        deadline = time.monotonic() + timeout
        while True:
            buffer = self._pull(name)
            matching = [
                i
                for i, e in enumerate(buffer)
                if (event is None or e[0] == event) and (where is None or where(e))
            ]
            if len(matching) >= count:
                chosen = set(matching[:count])
                self._buffers[name] = [e for i, e in enumerate(buffer) if i not in chosen]
                return [buffer[i] for i in sorted(chosen)]
            if time.monotonic() > deadline:
                pytest.fail(f"{name} got {len(matching)} of {count} {event or ''} events: {buffer}")
            time.sleep(0.01)

    def settle(self, sender: str, names, timeout: float = 10.0) -> dict:
        """Socket ``sender`` broadcasts a marker to its whole namespace; once each of ``names``
        got it, everything its server sent before has arrived too (Redis keeps one publisher's
        messages in order). Returns ``{name: [events before the marker]}`` and consumes them."""
        token = self.token()
        assert self.call(sender, "to_all", "__mark", token) is True
        return self.until_mark(names, token, timeout)

    def token(self) -> int:
        """A marker's token, new each time."""
        return next(self._tokens)

    def until_mark(self, names, token, timeout: float = 10.0) -> dict:
        """``{name: [events before ["__mark", token]]}`` for each of ``names``, once each got
        that marker (it and what came before are consumed)."""
        seen = {}
        deadline = time.monotonic() + timeout
        for name in names:
            while True:
                buffer = self._pull(name)
                if ["__mark", token] in buffer:
                    at = buffer.index(["__mark", token])
                    seen[name] = [e for e in buffer[:at] if e[0] != "__mark"]
                    self._buffers[name] = buffer[at + 1 :]
                    break
                if time.monotonic() > deadline:
                    pytest.fail(f"{name} did not get marker {token}: {buffer}")
                time.sleep(0.01)
        return seen

    def log(self, server: str) -> dict:
        """``GET /log`` of ``server``."""
        status, _, body = request(self.port(server), "GET", "/log")
        assert status == 200, (server, status, body)
        return json.loads(body)


def pattern_subscriptions(redis_port: int) -> int:
    """How many pattern subscriptions all clients hold (PUBSUB NUMPAT counts unique patterns)."""
    import redis

    client = redis.Redis(port=redis_port, socket_connect_timeout=2)
    try:
        return sum(int(c.get("psub", 0)) for c in client.client_list())
    finally:
        client.close()
