"""The browser chat of examples/chat/, end to end: two pages in headless Chromium chat through
a real ``python examples/chat/server.py`` process, with the official ``socket.io-client``
bundle the server reads from ``tests/js/node_modules``.

``tests/js/browser_chat.js`` drives the pages with playwright-core and the system's Chromium
(``/usr/bin/chromium``: ``apt-get install -y chromium``; ``.ci/run`` installs it). Without it
these tests fail; they do not skip. ``GSIO_SCREENSHOTS=/tmp/shots`` saves a screenshot of each
page (``/tmp/shots-<test>-alice.png`` ...) to look at.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
JS = ROOT / "tests" / "js"
CHROMIUM = Path("/usr/bin/chromium")
EXAMPLE = ROOT / "examples" / "chat" / "server.py"
BUNDLE = JS / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
READY = re.compile(r"^chat on http://127\.0\.0\.1:(\d+)/")
READY_TIMEOUT = 15.0
BROWSER_TIMEOUT = 90  # browser_chat.js gives up (and closes Chromium) after 45 s


class ChatServer:
    """``python examples/chat/server.py --port 0``, ready once it printed its URL."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port: int | None = None
        self._lines: list[str] = []
        self._ready = threading.Event()
        self.command = [sys.executable, str(EXAMPLE), "--port", "0"]
        self.proc = subprocess.Popen(
            self.command,
            cwd=ROOT,
            env=dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        threading.Thread(target=self._read, daemon=True).start()
        if not self._ready.wait(READY_TIMEOUT) or self.port is None:
            self.stop()
            pytest.fail(f"{' '.join(self.command)} did not start; output:\n{self.output()}")
        self.url = f"http://127.0.0.1:{self.port}"

    def _read(self) -> None:
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            self._lines.append(line)
            match = READY.match(line)
            if match and self.port is None:
                self.port = int(match.group(1))
                self._ready.set()
        self._ready.set()  # EOF: it exited

    def output(self) -> str:
        return "".join(self._lines)

    def get(self, path: str) -> tuple[int, str, bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", path)
            response = conn.getresponse()
            return response.status, response.getheader("Content-Type", ""), response.read()
        finally:
            conn.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)


@pytest.fixture
def chat_server():
    """Factory: ``chat_server(**env) -> ChatServer``; fails the test if the server died or
    printed a Traceback."""
    servers: list[ChatServer] = []

    def start(**env: str) -> ChatServer:
        server = ChatServer(env)
        servers.append(server)
        return server

    yield start
    problems = []
    for server in servers:
        died = server.proc.poll() is not None
        server.stop()
        if died or "Traceback" in server.output():
            problems.append(f"{' '.join(server.command)}:\n{server.output()}")
    if problems:
        pytest.fail("the chat server failed:\n" + "\n".join(problems), pytrace=False)


def chromium_or_fail(request) -> str:
    """Fail (not skip) without Chromium; the screenshot prefix for browser_chat.js ("" for
    none)."""
    if not CHROMIUM.exists():
        pytest.fail(
            f"{CHROMIUM} is missing: the browser tests need Chromium."
            " Install it with:  apt-get install -y chromium  (.ci/run does this)",
            pytrace=False,
        )
    shots = os.environ.get("GSIO_SCREENSHOTS", "")
    return f"{shots}-{re.sub(r'[^A-Za-z0-9]+', '-', request.node.name).strip('-')}" if shots else ""


@pytest.mark.parametrize("mode", ["websocket", "polling", "default"])
def test_two_browsers_chat(mode, request, chat_server, run_node):
    shots = chromium_or_fail(request)
    server = chat_server()
    out = run_node("browser_chat", server.url, mode, shots, timeout=BROWSER_TIMEOUT)
    # "default" is the client's own choice: polling, then the upgrade to WebSocket.
    expected = "polling" if mode == "polling" else "websocket"
    assert out["transports"] == {"alice": expected, "bob": expected}, out
    assert out["status"] == {n: f"connected over {expected}" for n in ("alice", "bob")}, out
    # Bob saw Alice's message, Alice saw Bob's answer; each in order, after Bob joined.
    assert out["messages"]["alice"] == [
        "alice joined",
        "bob joined",
        "alice: hello from alice",
        "bob: hi alice, bob here",
    ], out
    assert out["messages"]["bob"] == [
        "bob joined",
        "alice: hello from alice",
        "bob: hi alice, bob here",
    ], out
    assert out["errors"] == [], out
    assert "alice joined" in server.output() and "bob joined" in server.output()


def test_serves_the_npm_bundle(chat_server):
    if not BUNDLE.exists():
        pytest.fail(f"{BUNDLE} is missing: npm ci --prefix tests/js", pytrace=False)
    server = chat_server()
    status, content_type, body = server.get("/socket.io.min.js")
    assert (status, content_type) == (200, "text/javascript; charset=utf-8")
    assert body == BUNDLE.read_bytes()
    status, content_type, body = server.get("/")
    assert status == 200 and content_type.startswith("text/html")
    assert b'<script src="/socket.io.min.js">' in body
    assert server.get("/nothing")[0] == 404


def test_page_without_the_client_bundle(request, chat_server, run_node, tmp_path):
    shots = chromium_or_fail(request)
    server = chat_server(GSIO_CLIENT_DIST=str(tmp_path))
    status, _, body = server.get("/socket.io.min.js")
    assert status == 404 and b"npm ci --prefix tests/js" in body, body
    assert "warning: The Socket.IO client bundle is missing" in server.output()
    out = run_node("browser_chat", server.url, "missing", shots, timeout=BROWSER_TIMEOUT)
    assert "npm ci --prefix tests/js" in out["missing"], out
    assert str(tmp_path) in out["missing"], out
    assert out["status"] == "the Socket.IO client is missing", out
    assert out["disabled"] is True, out


@pytest.mark.parametrize("mode", ["polling", "default"])
@pytest.mark.parametrize("server_kind", ["gsio", "werkzeug"])
def test_cross_origin_page_with_credentials_and_extra_headers(
    mode, server_kind, request, start_server, run_node
):
    """A page of another origin connects with ``withCredentials`` and ``extraHeaders``: Chromium
    sends a CORS preflight first, and goes on only if each Access-Control-* header of its answer
    is there once."""
    chromium_or_fail(request)
    server = start_server("sio_app", "--cors", "*", "--cors-credentials", kind=server_kind)
    out = run_node("browser_cors", server.url, mode, timeout=BROWSER_TIMEOUT)
    expected = "polling" if mode == "polling" else "websocket"
    assert out == {
        "connected": True,
        "transport": expected,
        "echo": ["hello"],
        "errors": [],
    }, out
