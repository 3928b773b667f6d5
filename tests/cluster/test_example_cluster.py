"""examples/cluster/ as the README runs it: two gsio chat servers and the Node twin on one
redis-server, real clients on each, and notify.py emitting from a plain script."""

from __future__ import annotations

import subprocess
import sys
import threading

import pytest
from cluster_support import wait_cluster
from conftest import JS, ROOT
from process import CapturedProcess
from redis_server import free_port

EXAMPLE = ROOT / "examples" / "cluster"


class Listening(CapturedProcess):
    def __init__(self, command, marker):
        self.marker = marker
        self.ready = threading.Event()
        super().__init__(command, ROOT, env={"NODE_PATH": str(JS / "node_modules")})
        if not self.ready.wait(15):
            self.stop()
            pytest.fail(f"{command} did not start:\n{self.output()}")

    def on_line(self, line):
        if self.marker in line:
            self.ready.set()


def test_chat_across_gsio_and_node_servers(redis_server, clients):
    ports = [free_port(), free_port(), free_port()]
    servers = [
        Listening([sys.executable, str(EXAMPLE / "server.py"), "--port", str(ports[0]),
                   "--redis", redis_server.url], "chat server on"),
        Listening([sys.executable, str(EXAMPLE / "server.py"), "--port", str(ports[1]),
                   "--redis", redis_server.url], "chat server on"),
        Listening(["node", str(EXAMPLE / "server.js"), str(ports[2]), redis_server.url],
                  "chat server (Node) on"),
    ]
    try:
        wait_cluster(redis_server.port, 3)
        people = ["ann", "bob", "cid"]
        for name, port in zip(people, ports):
            clients.connect(name, port, auth={"name": name})
            assert clients.call(name, "join", "lobby") == [["lobby"]]
        assert clients.call("ann", "who", "lobby") == [people]
        assert clients.call("cid", "who", "lobby") == [people]
        clients.emit("ann", "say", "lobby", "hi all")
        for name in people:
            said = clients.wait_events(name, 1, event="said")
            assert said == [["said", {"room": "lobby", "name": "ann", "text": "hi all"}]]
        subprocess.run(
            [sys.executable, str(EXAMPLE / "notify.py"), "lobby", "the", "build", "is", "green"],
            env={"REDIS_URL": redis_server.url, "PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
            check=True, timeout=30,
        )
        for name in people:
            said = clients.wait_events(name, 1, event="said")
            assert said[0][1]["text"] == "the build is green"
        for server in servers:
            assert "Traceback" not in server.output()
    finally:
        for server in servers:
            server.stop()
