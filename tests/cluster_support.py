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
import subprocess
import threading
import time

import pytest
from conftest import JS, ROOT, _wait_for
from process import CapturedProcess
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
                reconnect=False, host="127.0.0.1", **options):
        url = f"http://{host}:{port}{nsp if nsp != '/' else ''}"
        return self._do("connect", name=name, url=url, transport=transport, auth=auth or {},
                        answer=answer or {}, reconnect=reconnect, **options)

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
    """``tests/js/cluster_server.js`` on a free port."""

    def __init__(self, redis_url: str, name: str = "node") -> None:
        self.port = None
        self._ready = threading.Event()
        super().__init__(
            ["node", str(JS / "cluster_server.js"), "--redis", redis_url, "--name", name], ROOT
        )
        if not self._ready.wait(15):
            self.stop()
            pytest.fail(f"the Node cluster server did not start:\n{self.output()}")

    def on_line(self, line):
        if self.port is None and line.startswith("READY "):
            self.port = int(line.split()[1])
            self._ready.set()


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
