"""The command line: `python -m gsio demo` (the README's first command) and `gsio serve`."""

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from process import request as http_request

from gsio.protocol.bundle import CLIENT_VERSION
from gsio.testing import TestClient

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT / "tests" / "js" / "node_modules" / "socket.io-client" / "dist"
#: The demo's client bundle: tests/js's npm package (not the user's cache, nor a download).
DEMO_ENV = {"GSIO_CLIENT_DIST": str(DIST)}


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def run_cli():
    procs = []

    def run(*args, env=None, cwd=ROOT / "examples", before=None):
        """``before``: the lines printed before the one saying it is listening (a list to
        fill); without it there must be none."""
        port = _free_port()
        env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **(env or DEMO_ENV))
        proc = subprocess.Popen(
            [sys.executable, "-m", "gsio", *args, "--port", str(port)],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        procs.append(proc)
        line = proc.stdout.readline().decode()  # printed once the server is listening
        while before is not None and line and "serving on" not in line:
            before.append(line)
            line = proc.stdout.readline().decode()
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


def test_demo_is_a_live_page_with_the_bundle(run_cli):
    url = run_cli("demo")
    port = int(url.rsplit(":", 1)[1])
    status, headers, body = http_request(port, "GET", "/")
    assert status == 200 and headers["Content-Type"] == "text/html; charset=utf-8"
    assert b'<script src="/socket.io/socket.io.min.js"></script>' in body
    assert b"const socket = io();" in body
    status, _, body = http_request(port, "GET", "/socket.io/socket.io.min.js")
    assert status == 200 and body == (DIST / "socket.io.min.js").read_bytes()


def test_demo_fetches_the_bundle_on_its_first_run(run_cli, tmp_path):
    """No bundle anywhere: the first run fetches it into the user's cache, saying so in one
    line; the next run finds it there."""
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "GSIO_CLIENT_DIST": ""}
    cached = tmp_path / "cache" / "gsio" / f"socket.io-client-{CLIENT_VERSION}"
    before = []
    url = run_cli("demo", env=env, cwd=tmp_path, before=before)
    assert before == [
        f"fetching socket.io-client {CLIENT_VERSION} from the npm registry into {cached} (once)\n"
    ]
    status, _, body = http_request(int(url.rsplit(":", 1)[1]), "GET", "/socket.io/socket.io.js")
    assert status == 200 and body == (DIST / "socket.io.js").read_bytes()
    run_cli("demo", env=env, cwd=tmp_path)  # no line before "serving on"


def test_demo_without_a_network(run_cli, tmp_path):
    """The fetch fails: one line says why, the server starts, the page's script says how."""
    env = {
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
        "GSIO_CLIENT_DIST": "",
        "npm_config_registry": "http://127.0.0.1:1/",
    }
    before = []
    url = run_cli("demo", env=env, cwd=tmp_path, before=before)
    assert len(before) == 2 and before[1].startswith("could not fetch socket.io-client: "), before
    status, _, body = http_request(int(url.rsplit(":", 1)[1]), "GET", "/socket.io/socket.io.min.js")
    assert status == 404 and b"python -m gsio client fetch" in body


def test_two_tabs_of_the_demo_in_chromium(run_cli, run_node, request):
    """The README's demo in two pages of headless Chromium: each shows the transport and the
    upgrade to WebSocket; what one says, the other shows."""
    from test_browser import chromium_or_fail

    chromium_or_fail(request)
    url = run_cli("demo")
    out = run_node("browser_bundle", "demo", url + "/", timeout=90)
    assert out["errors"] == [], out
    assert out["transport"] == {"a": "websocket", "b": "websocket"}, out
    a, b = out["ids"]["a"], out["ids"]["b"]
    assert out["status"] == {"a": f"connected as {a}", "b": f"connected as {b}"}, out
    for tab in ("a", "b"):
        assert out["log"][tab][:2] == ["connected over polling", "upgraded to websocket"], out
    assert out["log"]["a"][-1] == "me: hello from a", out
    assert out["log"]["b"][-1] == f"{a}: hello from a", out
    assert ["/socket.io/socket.io.min.js", 200] in out["scripts"], out


def test_serve_runs_a_module_server(run_cli):
    url = run_cli("serve", "echo:sio")  # examples/echo.py's blocking echo server
    with TestClient(url) as client:
        hello = client.receive()
        assert (hello.name, hello.args) == ("hello", [client.sids["/"]])
        assert client.call("ping", 7) == 7


@pytest.mark.parametrize("timeout, closed", [("0.5", True), ("0", False)])
def test_serve_header_timeout(run_cli, timeout, closed):
    """``--header-timeout``: a connection that sends nothing is closed after it (0: never)."""
    url = run_cli("serve", "echo:sio", "--header-timeout", timeout)
    port = int(url.rsplit(":", 1)[1])
    with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
        try:
            eof = sock.recv(1) == b""
        except TimeoutError:
            eof = False
    assert eof is closed


APP_MODULE = """
import gsio

sio = gsio.Server()
x = 1


class Box:
    sio = sio


def not_wsgi(environ):
    pass


threaded = gsio.Server(async_mode="threading")
"""

BAD_TARGETS = [  # target, exit status, what the one line says
    ("app", 2, "expected module:attribute (e.g. app:sio), not 'app'"),
    ("app:", 2, "expected module:attribute"),
    ("nowhere:sio", 2, "no module named 'nowhere' (from 'nowhere:sio')"),
    ("app.sub:sio", 2, "no module named 'app.sub'"),
    ("app:nope", 2, "app has no attribute 'nope'"),
    ("app:Box.sio.nope", 2, "app:Box.sio has no attribute 'nope'"),
    ("app:x", 2, "app:x is int 1, not a gsio Server, Engine or WSGI app"),
    ("app:not_wsgi", 2, "app:not_wsgi takes (environ), not a WSGI app's"),
    ("app:threaded", 2, "app:threaded runs in threading mode; gsio serve runs on gevent"),
    ("needs_dep:app", 1, "importing 'needs_dep' failed: ModuleNotFoundError: No module"),
    ("raises:app", 1, "importing 'raises' failed: ZeroDivisionError: division by zero ("),
    ("syntax:app", 1, "importing 'syntax' failed: SyntaxError: "),
]


def _run_failing(cwd, *args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), **DEMO_ENV)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "gsio", *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"gsio {' '.join(args)} did not exit; it printed {exc.stdout!r}")
    return proc


@pytest.mark.parametrize("target, status, says", BAD_TARGETS, ids=[t[0] for t in BAD_TARGETS])
def test_a_bad_target_is_one_line_and_an_exit_status(tmp_path, target, status, says):
    (tmp_path / "app.py").write_text(APP_MODULE)
    (tmp_path / "needs_dep.py").write_text("import gsio_no_such_dependency\n")
    (tmp_path / "raises.py").write_text("import gsio\n\n1 / 0\n")
    (tmp_path / "syntax.py").write_text("def (\n")
    proc = _run_failing(tmp_path, "serve", target, "--port", str(_free_port()))
    assert (proc.returncode, proc.stdout) == (status, ""), proc.stderr
    assert proc.stderr.count("\n") == 1, proc.stderr
    assert proc.stderr.startswith(f"gsio serve: error: {says}"), proc.stderr


def test_a_port_in_use_is_one_line_and_status_1(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        for args in (["serve", "echo:sio"], ["demo"]):
            proc = _run_failing(ROOT / "examples", *args, "--port", str(port))
            assert (proc.returncode, proc.stdout) == (1, ""), proc.stderr
            assert proc.stderr == (
                f"gsio {args[0]}: error: cannot listen on 127.0.0.1:{port}: Address already in use\n"
            )


def test_a_bad_host_is_one_line_and_status_1():
    proc = _run_failing(ROOT / "examples", "serve", "echo:sio", "--host", "no-such-host.invalid")
    assert (proc.returncode, proc.stdout) == (1, ""), proc.stderr
    assert proc.stderr.startswith("gsio serve: error: cannot listen on no-such-host.invalid:5000: ")
    assert proc.stderr.count("\n") == 1, proc.stderr


@pytest.mark.parametrize("port", ["65536", "-1", "http"])
def test_a_bad_port_is_a_usage_error(port):
    proc = _run_failing(ROOT / "examples", "serve", "echo:sio", "--port", port)
    assert (proc.returncode, proc.stdout) == (2, ""), proc.stderr
    assert proc.stderr.endswith(f"error: argument --port: '{port}' is not a port (0 to 65535)\n")
    assert "Traceback" not in proc.stderr
