"""Django: ``examples/django_chat`` as its README section runs it, seen by the real client.

- ``python manage.py runserver --noreload``: Django's threaded development server (wsgiref
  underneath): gsio in threading mode, WebSocket through simple-websocket on the socket gsio
  finds behind ``wsgi.input``;
- ``gunicorn -k gevent chat_site.wsgi:application``, and with
  ``-k gsio.gunicorn.GeventWebSocketWorker``.

On each: the Django view, the client bundle, two people chatting over WebSocket, polling and
the upgrade, refused connections, and nothing written into the socket after a WebSocket
session.
"""

import json
import sys
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

EXAMPLE = ROOT / "examples" / "django_chat"
BUNDLE = ROOT / "tests" / "js" / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
MODES = ["websocket", "polling", "default"]
FINAL_TRANSPORT = {"websocket": "websocket", "polling": "polling", "default": "websocket"}

SERVERS = {
    "runserver": (
        [PYTHON, "manage.py", "runserver", "--noreload", "127.0.0.1:{port}"],
        "threading",
    ),
    "gunicorn-gevent": (gunicorn("gevent", "chat_site.wsgi:application"), "gevent"),
    "gunicorn-gsio-worker": (
        gunicorn("gsio.gunicorn.GeventWebSocketWorker", "chat_site.wsgi:application"),
        "gevent",
    ),
}


@pytest.fixture(scope="module", params=list(SERVERS))
def django_server(request):
    """The example on one server, shared by the module's tests (they leave nothing behind);
    its output is checked when the module is done."""
    command, mode = SERVERS[request.param]
    yield from running(command, EXAMPLE, kind=request.param, mode=mode)


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


def test_django_view(django_server):
    status, _, body = django_server.request("GET", "/")
    assert status == 200 and b"<title>gsio Django chat</title>" in body
    assert b'<script src="/client/socket.io.min.js"></script>' in body
    status, _, body = django_server.request("GET", "/client/socket.io.min.js")
    assert status == 200 and body == BUNDLE.read_bytes()
    status, _, _ = django_server.request("GET", "/nowhere")
    assert status == 404


def test_django_chat(django_server, run_node, mode):
    r = run_node(
        "deploy_chat",
        django_server.port,
        mode,
        [{"auth": {"name": "ann"}}, {"auth": {"name": "bob"}}],
    )
    assert r["welcome"] == [
        {"name": "ann", "mode": django_server.mode},
        {"name": "bob", "mode": django_server.mode},
    ]
    assert r["ack"] == "ok"
    assert r["echoIdentical"] is True
    said = [{"name": "ann", "text": "hello, é"}]
    if mode == "default":
        said.append({"name": "ann", "text": "upgraded"})
    assert r["said"] == [said, said]
    assert r["transports"] == [FINAL_TRANSPORT[mode]] * 2


def test_django_refuses_without_name(django_server):
    status, _, body = django_server.request("GET", "/socket.io/?EIO=4&transport=polling")
    assert status == 200 and body.startswith(b"0")
    path = f"/socket.io/?EIO=4&transport=polling&sid={json.loads(body[1:])['sid']}"
    assert django_server.request("POST", path, b"40")[:3:2] == (200, b"ok")
    status, _, body = django_server.request("GET", path)
    assert (status, body) == (200, b'44{"message":"a name is needed"}')


@pytest.mark.parametrize("end", ["close-frame", "close-packet"])
def test_django_writes_nothing_after_websocket(django_server, end):
    frames, after = websocket_session(django_server.port, end)
    assert frames[0][0] == 0x1 and frames[0][1].startswith(b'0{"sid":')
    assert frames[-1][0] == 0x8
    assert after == b""


def test_django_refused_websocket(django_server):
    ws = RawRequest(django_server.port, "/socket.io/?EIO=4&transport=websocket&sid=nope")
    assert ws.status == 400
    assert ws.body == b'{"code":1,"message":"Session ID unknown"}'
