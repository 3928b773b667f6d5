"""What README.rst and the examples tell a new user to run, run as written: the TestClient
example, ``gsio.flask`` after ``import gsio``, ``gsio[gunicorn]``'s message, and
``node examples/chat_client.js NAME ROOM``."""

from __future__ import annotations

import configparser
import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest
from conftest import JS, ROOT
from process import CapturedProcess

README = (ROOT / "README.rst").read_text()


def literal_block(text: str, marker: str) -> str:
    """The reST literal block that follows the paragraph ending in ``marker`` (with its
    ``::``), dedented."""
    start = text.index(marker + "::\n\n") + len(marker) + 4
    lines = []
    for line in text[start:].splitlines():
        if line and not line.startswith(" "):
            break
        lines.append(line)
    return textwrap.dedent("\n".join(lines)).strip() + "\n"


def python(*args: str, cwd=ROOT, timeout: float = 60) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_readme_test_client_example_passes(tmp_path):
    (tmp_path / "app.py").write_text(literal_block(README, "A Flask app (``app.py``)"))
    (tmp_path / "test_app.py").write_text(
        literal_block(README, "(``test_app.py``, run with ``python -m pytest``)")
    )
    proc = python("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "2 passed" in proc.stdout, proc.stdout


def test_gsio_flask_after_import_gsio_without_importing_flask():
    proc = python(
        "-c",
        "import sys, gsio\n"
        "assert not {'flask', 'gunicorn', 'gsio.flask', 'gsio.testing'} & set(sys.modules)\n"
        "print(gsio.flask.init_app.__module__, gsio.testing.TestClient.__name__)\n"
        "try:\n"
        "    gsio.nothing\n"
        "except AttributeError as exc:\n"
        "    print(exc)\n",
    )
    assert proc.stdout == "gsio.flask TestClient\nmodule 'gsio' has no attribute 'nothing'\n", (
        proc.stderr
    )


BLOCK_PACKAGING = """
import sys
sys.modules["packaging"] = None  # as after `pip install gunicorn`, without its gevent extra
from gunicorn.app.wsgiapp import run
sys.argv = ["gunicorn", "-k", "gsio.gunicorn.GeventWorker", "-b", "127.0.0.1:0", "echo:sio"]
run()
"""


def test_gunicorn_without_its_gevent_extra_names_gsio_gunicorn():
    proc = python("-c", BLOCK_PACKAGING, cwd=ROOT / "examples")
    assert proc.returncode != 0
    assert (
        "ImportError: gsio.gunicorn needs gunicorn with its gevent extra:"
        " pip install gsio[gunicorn] (No module named 'packaging" in proc.stderr
    ), proc.stderr


def test_the_gunicorn_extra_brings_gunicorns_gevent_extra():
    setup = configparser.ConfigParser()
    setup.read(ROOT / "setup.cfg")
    extra = setup["options.extras_require"]["gunicorn"]
    assert [line.strip() for line in extra.strip().splitlines()] == ["gunicorn[gevent]>=21"]


class Listening(CapturedProcess):
    def __init__(self, command, cwd, marker):
        self.marker = marker
        self.ready = threading.Event()
        super().__init__(command, cwd)
        if not self.ready.wait(15):
            self.stop()
            pytest.fail(f"{command} did not start:\n{self.output()}")

    def on_line(self, line):
        if self.marker in line:
            self.ready.set()


class ChatClient:
    """``node examples/chat_client.js NAME ROOM URL`` run from ``cwd``, without NODE_PATH; what
    it prints, line by line, and :meth:`say` to type a line into it."""

    def __init__(self, cwd, *args):
        env = {k: v for k, v in os.environ.items() if k != "NODE_PATH"}
        self.proc = subprocess.Popen(
            ["node", "examples/chat_client.js", *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: list[str] = []
        self.changed = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            with self.changed:
                self.lines.append(line)
                self.changed.notify_all()

    def wait_line(self, text, timeout=15.0):
        with self.changed:
            if not self.changed.wait_for(lambda: any(text in x for x in self.lines), timeout):
                pytest.fail(f"no line with {text!r} from the chat client: {self.lines}")

    def say(self, text):
        self.proc.stdin.write(text + "\n")
        self.proc.stdin.flush()

    def stop(self):
        self.proc.kill()
        self.proc.wait(10)


def installed_version(package):
    return json.loads((JS / "node_modules" / package / "package.json").read_text())["version"]


def test_the_examples_package_json_has_what_the_node_examples_need():
    """The test below runs the client with tests/js's node_modules standing in for what
    ``npm ci --prefix examples`` installs: the same packages, at the same versions."""
    lock = json.loads((ROOT / "examples" / "package-lock.json").read_text())
    wanted = json.loads((ROOT / "examples" / "package.json").read_text())["dependencies"]
    assert set(wanted) == {"socket.io-client", "socket.io", "@socket.io/redis-adapter", "redis"}
    assert lock["packages"][""]["dependencies"] == wanted
    for package in wanted:
        assert lock["packages"][f"node_modules/{package}"]["version"] == installed_version(package)


def test_the_chat_client_as_the_readme_runs_it(tmp_path):
    from redis_server import free_port

    port = free_port()
    server = Listening(
        [sys.executable, "-m", "gsio", "serve", "chat:sio", "--port", str(port)],
        ROOT / "examples",
        "serving on",
    )
    # A fresh clone after `npm ci --prefix examples`: the script beside its node_modules.
    (tmp_path / "examples").mkdir()
    (tmp_path / "examples" / "chat_client.js").write_text(
        (ROOT / "examples" / "chat_client.js").read_text()
    )
    (tmp_path / "examples" / "node_modules").symlink_to(JS / "node_modules")
    url = f"http://127.0.0.1:{port}"
    clients = []
    try:
        clients.append(ChatClient(tmp_path, "bob", "lobby", url))
        clients[0].wait_line("in rooms [ 'lobby' ]")
        clients.append(ChatClient(tmp_path, "ann", "lobby", url))
        clients[0].wait_line("* ann joined lobby")
        clients[1].wait_line("in rooms [ 'lobby' ]")
        clients[1].say("hello from ann")
        clients[0].wait_line("ann@lobby: hello from ann")
        assert "Cannot find module" not in "".join(clients[0].lines + clients[1].lines)
        assert "Traceback" not in server.output()
    finally:
        for client in clients:
            client.stop()
        server.stop()
