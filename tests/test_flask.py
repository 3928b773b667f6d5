"""Flask: ``gsio.flask.init_app`` on real servers, seen by the real socket.io-client.

- ``tests/servers/flask_app.py`` (a Flask app with ``init_app``) on gevent's pywsgi through
  ``gsio.serve`` (with and without gevent-websocket's handler) and on werkzeug's threaded
  server: a Flask route and Socket.IO on one port, and the handlers see ``current_app``, the
  handshake's headers and cookies, and the Flask session a Flask route set.
- ``examples/flask_chat`` as its docstring runs it: ``flask --app app run``, ``gsio serve
  app:app`` and ``gunicorn -k gevent app:app``: the pages, the client bundle, two people
  chatting, and a client without the session refused.
"""

import json
import sys
import urllib.parse
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "servers"))

from deploy_support import (  # noqa: E402
    PYTHON,
    ROOT,
    RawRequest,
    gunicorn,
    running,
    websocket_session,
)

MODES = ["websocket", "polling", "default"]
FINAL_TRANSPORT = {"websocket": "websocket", "polling": "polling", "default": "websocket"}
EXAMPLE = ROOT / "examples" / "flask_chat"
BUNDLE = ROOT / "tests" / "js" / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


def cookie_of(headers):
    """``name=value`` of the response's Set-Cookie."""
    cookie = headers["Set-Cookie"]
    assert cookie, "no Set-Cookie"
    return cookie.split(";", 1)[0]


@pytest.mark.parametrize("kind", ["gsio", "pywsgi-ws", "pywsgi", "werkzeug"])
def test_flask_contexts_in_handlers(start_server, run_node, kind, mode):
    server = start_server("flask_app", kind=kind, shared=True)
    # A Flask route on the same port as Socket.IO.
    status, _, body = server.request("GET", "/hello")
    assert (status, body) == (200, b"hello from deploy_flask_test")
    # A normal Flask route puts a value in the session; the client sends its cookie.
    user = "user-" + uuid.uuid4().hex[:8]
    status, headers, _ = server.request("GET", "/login?user=" + user)
    assert status == 200
    session_cookie = cookie_of(headers)
    assert session_cookie.startswith("session=")
    tag = uuid.uuid4().hex[:8]
    r = run_node(
        "deploy_flask",
        server.port,
        mode,
        {"Cookie": f"{session_cookie}; plain=cookie-{tag}", "X-Deploy-Test": tag},
    )
    seen = {
        "app": "deploy_flask_test",
        "header": tag,
        "cookie": f"cookie-{tag}",
        "user": user,
        "path": "/socket.io/",
        "eio": "4",
        "url": "/hello",
        "own": "own context of /",
        "mode": "threading" if kind == "werkzeug" else "gevent",
    }
    # The connect handler and each event handler: one g for the whole connection.
    assert r["ctx"] == {**seen, "events": 1}
    rounds = 2 if mode == "default" else 1
    assert r["whoami"] == [{**seen, "events": 2 + i} for i in range(rounds)]
    assert r["transport"] == FINAL_TRANSPORT[mode]


@pytest.mark.parametrize("kind", ["gsio", "pywsgi-ws", "pywsgi", "werkzeug"])
@pytest.mark.parametrize("end", ["close-frame", "close-packet"])
def test_flask_server_writes_nothing_after_websocket(start_server, kind, end):
    """Once a WebSocket session is over, the server writes no HTTP response into the socket
    and closes it (and logs no error: the fixture fails on a Traceback)."""
    server = start_server("flask_app", kind=kind, shared=True)
    frames, after = websocket_session(server.port, end)
    assert frames[0][0] == 0x1 and frames[0][1].startswith(b'0{"sid":')
    assert frames[-1][0] == 0x8
    assert after == b""


def test_flask_session_without_cookie(start_server, run_node):
    """The session is the handshake's: a client without the cookie has none."""
    server = start_server("flask_app", kind="gsio", shared=True)
    r = run_node("deploy_flask", server.port, "websocket", {})
    assert r["ctx"]["user"] is None and r["ctx"]["cookie"] is None
    assert r["ctx"]["app"] == "deploy_flask_test"


EXAMPLE_SERVERS = {
    "flask-run": [PYTHON, "-m", "flask", "--app", "app", "run", "--port", "{port}"],
    "gsio-serve": [PYTHON, "-m", "gsio", "serve", "app:app", "--port", "{port}"],
    "gunicorn-gevent": gunicorn("gevent", "app:app"),
    "gunicorn-gsio-worker": gunicorn("gsio.gunicorn.GeventWebSocketWorker", "app:app"),
}


@pytest.fixture(scope="module", params=sorted(EXAMPLE_SERVERS))
def example_server(request):
    """The example on one server, shared by the module's tests (they leave nothing behind);
    checked for tracebacks when the module is done."""
    yield from running(EXAMPLE_SERVERS[request.param], EXAMPLE, kind=request.param)


def login(server, name):
    body = urllib.parse.urlencode({"name": name})
    status, headers, _ = server.request(
        "POST", "/login", body, {"Content-Type": "application/x-www-form-urlencoded"}
    )
    assert status == 302
    return cookie_of(headers)


def test_flask_example_pages(example_server):
    server = example_server
    status, _, body = server.request("GET", "/")
    assert status == 200 and b'<form method="post" action="/login">' in body
    cookie = login(server, "ann")
    status, _, body = server.request("GET", "/", headers={"Cookie": cookie})
    assert status == 200
    assert b"gsio Flask chat: ann" in body
    assert b'<script src="/client/socket.io.min.js"></script>' in body
    status, headers, body = server.request("GET", "/client/socket.io.min.js")
    assert status == 200 and body == BUNDLE.read_bytes()
    assert "javascript" in headers["Content-Type"]


def test_flask_example_chat(example_server, run_node, mode):
    server = example_server
    cookies = [login(server, "ann"), login(server, "bob")]
    r = run_node(
        "deploy_chat",
        server.port,
        mode,
        [{"extraHeaders": {"Cookie": cookie}} for cookie in cookies],
    )
    expected_mode = "threading" if server.kind == "flask-run" else "gevent"
    assert r["welcome"] == [{"name": n, "mode": expected_mode} for n in ("ann", "bob")]
    assert r["ack"] == "ok"
    assert r["echoIdentical"] is True
    said = [{"name": "ann", "text": "hello, é"}]
    if mode == "default":
        said.append({"name": "ann", "text": "upgraded"})
    assert r["said"] == [said, said]
    assert r["transports"] == [FINAL_TRANSPORT[mode]] * 2


def test_flask_example_refuses_without_session(example_server):
    """The connect handler reads the name from the Flask session: no cookie, no chat."""
    server = example_server
    status, _, body = server.request("GET", "/socket.io/?EIO=4&transport=polling")
    assert status == 200 and body.startswith(b"0")
    sid = json.loads(body[1:])["sid"]
    path = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
    status, _, body = server.request("POST", path, b"40")
    assert (status, body) == (200, b"ok")
    status, _, body = server.request("GET", path)
    assert status == 200
    assert body == b'44{"message":"log in first"}'


def test_flask_example_refused_websocket(example_server):
    """A WebSocket request for an unknown session gets the protocol's 400 on every server,
    gevent-websocket's handler included (``gsio serve`` and the gsio worker find the gsio app
    in the Flask app's ``wsgi_app``)."""
    ws = RawRequest(example_server.port, "/socket.io/?EIO=4&transport=websocket&sid=nope")
    assert ws.status == 400
    assert ws.body == b'{"code":1,"message":"Session ID unknown"}'
