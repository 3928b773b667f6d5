"""The real Socket.IO Admin UI (the static build in @socket.io/admin-ui's npm package,
``ui/dist``) in headless Chromium against a gsio server: log in (a wrong password first),
see the sockets of three socket.io-client clients, a room one joined, and disconnect one from
the UI. ``tests/js/browser_admin.js`` drives the page (playwright-core, /usr/bin/chromium).
The screenshots land in the test's tmp_path (their paths are printed)."""

from __future__ import annotations

import functools
import http.server
import threading

import bcrypt
import pytest
from conftest import JS

UI = JS / "node_modules" / "@socket.io" / "admin-ui" / "ui" / "dist"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # (one line per file otherwise)
        pass


@pytest.fixture
def ui_url():
    """The UI's static files, served on a port of their own (another origin than gsio's)."""
    assert (UI / "index.html").is_file(), f"{UI} is missing: npm ci --prefix tests/js"
    handler = functools.partial(_Quiet, directory=str(UI))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_admin_ui(start_server, clients, run_node, ui_url, tmp_path):
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(4)).decode()
    server = start_server("admin_app", "--hash", hashed, "--cors")
    a = clients.connect("a", server.port, "/")
    b = clients.connect("b", server.port, "/", transport="polling")
    c = clients.connect("c", server.port, "/")
    clients.call("b", "join", "room-of-b")
    ids = {"sockets": [a, b, c], "room": "room-of-b", "victim": c}
    shots = tmp_path / "admin-ui"
    seen = run_node("browser_admin", ui_url, server.url, ids, str(shots), timeout=90)
    for name in ("sockets", "rooms", "after"):
        print(f"screenshot: {shots}-{name}.png")
        assert (tmp_path / f"admin-ui-{name}.png").stat().st_size > 0
    assert "error" not in seen, seen
    assert seen["refused"] and len(seen["sessionId"]) == 16
    assert all(i in seen["socketsPage"] for i in (a, b, c))
    assert "room-of-b" in seen["roomsPage"]
    assert c not in seen["after"] and a in seen["after"]
    # The UI's disconnect reached the client.
    assert clients.wait_events("c", 1, event="__disconnect") == [["__disconnect", "io server disconnect"]]
    assert server.get_json("/sockets") == sorted([a, b])
