"""The command line: `python -m gsio demo` (the README's first command) and `gsio serve`."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from gsio.testing import TestClient

ROOT = Path(__file__).resolve().parent.parent


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def run_cli():
    procs = []

    def run(*args):
        port = _free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            [sys.executable, "-m", "gsio", *args, "--port", str(port)],
            cwd=ROOT / "examples",
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(proc)
        line = proc.stdout.readline().decode()  # printed once the server is listening
        assert f"serving on http://127.0.0.1:{port}" in line, line
        return f"http://127.0.0.1:{port}"

    yield run
    for proc in procs:
        os.killpg(proc.pid, signal.SIGKILL)
        output = proc.communicate(timeout=10)[0].decode()
        assert "Traceback" not in output, output


def test_demo_serves_echo_and_chat(run_cli):
    url = run_cli("demo")
    with TestClient(url) as client:
        assert client.call("echo", "hello", 2) == ("hello", 2)
        client.emit("chat", "hi all")
        said = client.receive()
        assert (said.name, said.args) == ("chat", [{"from": client.sids["/"], "text": "hi all"}])


def test_serve_runs_a_module_server(run_cli):
    url = run_cli("serve", "echo:sio")  # examples/echo.py's blocking echo server
    with TestClient(url) as client:
        hello = client.receive()
        assert (hello.name, hello.args) == ("hello", [client.sids["/"]])
        assert client.call("ping", 7) == 7
