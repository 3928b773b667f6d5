"""Shared fixtures: real gsio servers in subprocesses, and the official Node clients.

- ``start_server(script, *args, kind="gsio", shared=False)`` runs
  ``tests/servers/<script>.py --kind <kind> --port 0 <args>`` and waits for ``READY <port>``. The
  test fails at teardown when the server printed a Traceback, unless it set
  ``server.expect_traceback = True``. ``shared=True`` reuses one server per (script, args, kind)
  for the whole session (a fresh one costs ~0.5 s): only for tests that leave no state behind
  that another test could see; the Traceback check then covers what was printed during the test.
- ``kind``: parametrizes a test over :data:`KINDS`.
- ``reader``: parametrizes a test over :data:`READERS` (who reads gsio's own connections).
- ``run_node(script, *args, timeout=20)``: runs ``tests/js/<script>.js`` and returns the JSON of
  its last stdout line (dict and list arguments are passed as JSON).
- ``wait_for(predicate, timeout=10, message=...)``: polls until ``predicate()`` is truthy.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"
JS = TESTS / "js"

sys.path.insert(0, str(TESTS / "servers"))
sys.path.insert(0, str(TESTS))
from process import CapturedProcess, request  # noqa: E402

KINDS = ["gsio", "pywsgi-ws", "pywsgi", "werkzeug"]

READY_TIMEOUT = 15.0


class ServerProcess(CapturedProcess):
    """One ``tests/servers/<script>.py`` subprocess, ready once it printed ``READY <port>``."""

    def __init__(
        self, script: str, args: tuple[str, ...], kind: str, env: dict[str, str] | None = None
    ) -> None:
        self.script = script
        self.args = args
        self.kind = kind
        self.port: int | None = None
        self._ready = threading.Event()
        path = TESTS / "servers" / f"{script}.py"
        if not path.exists():
            pytest.fail(f"no test server script {path}")
        command = [sys.executable, str(path), "--kind", kind, "--port", "0", *args]
        super().__init__(command, ROOT, env)
        if not self._ready.wait(READY_TIMEOUT) or self.port is None:
            self.stop()
            pytest.fail(
                f"server {' '.join(self.command)} did not print READY within {READY_TIMEOUT} s;"
                f" output:\n{self.output()}"
            )

    def on_line(self, line: str) -> None:
        if self.port is None and line.startswith("READY "):
            self.port = int(line.split()[1])
            self._ready.set()

    def on_exit(self) -> None:
        self._ready.set()


class Server:
    """What a test gets from ``start_server``."""

    def __init__(self, process: ServerProcess) -> None:
        self.process = process
        self.proc = process.proc
        self.port = process.port
        self.kind = process.kind
        self.url = f"http://127.0.0.1:{self.port}"
        self.expect_traceback = False
        self._mark = process.mark()

    def output(self) -> str:
        """What the server printed (stderr and stdout) since this test took it."""
        return self.process.output(self._mark)

    def request(self, method: str, path: str, body: bytes | None = None, headers=None):
        """One HTTP request on a fresh connection: ``(status, headers, body)``."""
        return request(self.port, method, path, body, headers)

    def get_json(self, path: str):
        status, _, body = self.request("GET", path)
        assert status == 200, (path, status, body)
        return json.loads(body)

    def check(self) -> None:
        """Fail if the server died, or printed a Traceback the test did not expect."""
        output = self.output()
        if not self.process.alive():
            pytest.fail(
                f"the {self.kind} server {self.process.script} exited with"
                f" {self.proc.returncode}; output:\n{output}"
            )
        if "Traceback" in output and not self.expect_traceback:
            pytest.fail(f"the {self.kind} server printed a Traceback:\n{output}")


@pytest.fixture(scope="session")
def _shared_servers():
    servers: dict[tuple, ServerProcess] = {}
    yield servers
    for process in servers.values():
        process.stop()


@pytest.fixture
def start_server(_shared_servers):
    """Factory: ``start_server(script, *args, kind="gsio", shared=False, env=None) -> Server``
    (``env``: variables added to the server's environment)."""
    started: list[tuple[Server, bool]] = []

    def start(
        script: str,
        *args: str,
        kind: str = "gsio",
        shared: bool = False,
        env: dict[str, str] | None = None,
    ) -> Server:
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
        args = tuple(str(a) for a in args)
        if shared:
            assert env is None, "a shared server has the tests' environment"
            key = (script, args, kind)
            process = _shared_servers.get(key)
            if process is None or not process.alive():
                if process is not None:
                    pytest.fail(f"shared server {key} died earlier; output:\n{process.output()}")
                process = _shared_servers[key] = ServerProcess(script, args, kind)
        else:
            process = ServerProcess(script, args, kind, env)
        server = Server(process)
        started.append((server, shared))
        return server

    yield start
    failures = []
    for server, shared in started:
        try:
            server.check()
        except pytest.fail.Exception as exc:
            failures.append(str(exc))
        if not shared:
            server.process.stop()
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)


@pytest.fixture(params=KINDS)
def kind(request) -> str:
    """The server kind: the test runs once per kind."""
    return request.param


# The engine_app arguments for who reads gsio's own connections (WebSocket, and polling under
# gsio's handler): the event loop, when the handler never blocks, or a greenlet per connection.
READERS = {"loop": (), "greenlet": ("--blocking-handler",)}


@pytest.fixture(params=list(READERS))
def reader(request) -> tuple[str, ...]:
    """engine_app's arguments for each reader: the test runs once per reader (see READERS)."""
    return READERS[request.param]


def _run_node(script: str, *args, timeout: float = 20, env: dict | None = None) -> dict:
    if not (JS / "node_modules").is_dir():
        pytest.fail(
            f"{JS / 'node_modules'} is missing: install the Node clients with"
            "  npm ci --prefix tests/js",
            pytrace=False,
        )
    argv = [a if isinstance(a, str) else json.dumps(a) for a in args]
    command = ["node", str(JS / f"{script}.js"), *argv]
    try:
        done = subprocess.run(
            command,
            cwd=ROOT,
            capture_output=True,
            timeout=timeout,
            env=None if env is None else {**os.environ, **env},
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(
            f"{' '.join(command)} ran over {timeout} s\nstdout:\n{_text(exc.stdout)}\n"
            f"stderr:\n{_text(exc.stderr)}"
        )
    stdout, stderr = _text(done.stdout), _text(done.stderr)
    if done.returncode != 0:
        pytest.fail(
            f"{' '.join(command)} exited with {done.returncode}\nstdout:\n{stdout}\n"
            f"stderr:\n{stderr}"
        )
    lines = stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        pytest.fail(f"{' '.join(command)} printed no JSON\nstdout:\n{stdout}\nstderr:\n{stderr}")


def _text(data) -> str:
    if data is None:
        return ""
    return data.decode("utf-8", "replace") if isinstance(data, bytes) else data


@pytest.fixture
def run_node():
    """``run_node(script, *args, timeout=20) -> dict``: the JSON of the script's last line."""
    return _run_node


def _wait_for(predicate, timeout: float = 10.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {message}")
        time.sleep(0.01)


@pytest.fixture
def wait_for():
    """``wait_for(predicate, timeout=10, message=...)``: poll until truthy; returns the value."""
    return _wait_for


def pytest_sessionfinish(session, exitstatus):
    """Under CI=true every test must run: a skip fails the run."""
    if os.environ.get("CI") != "true":
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = len(reporter.stats.get("skipped", [])) if reporter else 0
    if skipped:
        print(f"\nCI=true: {skipped} test(s) skipped; every test must run in CI", file=sys.stderr)
        session.exitstatus = 1


@pytest.fixture
def redis_server():
    """A fresh redis-server on a free loopback port (``.port``, ``.url``, ``.kill()``,
    ``.start()``), stopped after the test."""
    from redis_server import RedisServer

    try:
        server = RedisServer()
    except RuntimeError as exc:
        pytest.skip(str(exc))
    yield server
    server.stop()


@pytest.fixture
def clients():
    """Real socket.io-client sockets driven from the test (see ``cluster_support.Clients``)."""
    from cluster_support import Clients

    driver = Clients()
    yield driver
    driver.stop()


@pytest.fixture
def node_server():
    """Factory: ``node_server(redis_url, name) -> NodeServer`` (socket.io + redis adapter)."""
    from cluster_support import NodeServer

    started = []

    def start(redis_url: str, name: str = "node"):
        server = NodeServer(redis_url, name)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()
