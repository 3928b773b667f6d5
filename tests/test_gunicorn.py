"""gunicorn: five worker classes, each serving polling and WebSocket to the real client.

``python -m gunicorn -k <worker> -w 1 deploy_gunicorn_app:app`` from ``tests/servers`` (the
README's commands), with the worker classes the README names:

- ``gevent``: gunicorn's own HTTP parser on gevent; no ``wsgi.websocket``, so gsio serves
  WebSocket with simple-websocket on ``gunicorn.socket`` (gsio in gevent mode);
- ``geventwebsocket.gunicorn.workers.GeventWebSocketWorker``: gevent's pywsgi with
  gevent-websocket's handler (``wsgi.websocket``);
- ``gsio.gunicorn.GeventWebSocketWorker``: the same, answering a WebSocket request gsio
  refuses with the protocol's HTTP error rather than a 101;
- ``gsio.gunicorn.GeventWorker``: gunicorn's gevent pywsgi worker with gsio's handler: gsio's
  own WebSocket layer (``NativeWebSocket``);
- ``gthread``: threads, no gevent: gsio in threading mode, simple-websocket on
  ``gunicorn.socket``.

The test fails if gunicorn printed a Traceback or an ``[ERROR]`` line (see ``deploy_support``).
"""

import base64
import sys
from pathlib import Path

import pytest
from rawws import RawWebSocket

sys.path.insert(0, str(Path(__file__).resolve().parent / "servers"))

from deploy_support import RawRequest, gunicorn, running, websocket_session  # noqa: E402

SERVERS = Path(__file__).resolve().parent / "servers"
MODES = ["websocket", "polling", "default"]
FINAL_TRANSPORT = {"websocket": "websocket", "polling": "polling", "default": "websocket"}

GWS_WORKER = "geventwebsocket.gunicorn.workers.GeventWebSocketWorker"
# worker class -> (extra options, gsio's async mode, the WebSocket backend gsio picks)
WORKERS = {
    "gevent": ((), "gevent", "SimpleWebSocket"),
    GWS_WORKER: ((), "gevent", "GeventWebSocket"),
    "gsio.gunicorn.GeventWebSocketWorker": ((), "gevent", "GeventWebSocket"),
    "gsio.gunicorn.GeventWorker": ((), "gevent", "NativeWebSocket"),
    "gthread": (("--threads", "20"), "threading", "SimpleWebSocket"),
}


def short(worker):
    if worker.startswith("gsio."):
        return "gsio-gws" if worker.endswith("WebSocketWorker") else "gsio"
    return worker.rsplit(".", 1)[-1]


@pytest.fixture(scope="module", params=list(WORKERS), ids=short)
def worker(request):
    """A gunicorn of this worker class, shared by the module's tests (they leave no state that
    another could see); its output is checked when the module is done."""
    options, mode, backend = WORKERS[request.param]
    command = gunicorn(request.param, "deploy_gunicorn_app:app", *options)
    yield from running(command, SERVERS, worker=request.param, mode=mode, backend=backend)


@pytest.fixture(params=MODES)
def mode(request):
    return request.param


def test_gunicorn_page(worker):
    status, _, body = worker.request("GET", "/ping")
    assert (status, body) == (200, f"pong {worker.mode}".encode())


def test_gunicorn_smoke(worker, run_node, mode):
    r = run_node("sio_smoke", worker.port, mode, f"{short(worker.worker)}-{mode}")
    assert r["refused"] == {"message": "Not authorized", "data": {"code": 42}}
    assert r["welcome"] is True
    assert r["echoIdentical"] is True
    assert r["got"] == [["one", "two"], ["one", "two"]]
    assert r["senderGotNews"] is False


def test_gunicorn_backend(worker, run_node, mode):
    """gsio's async mode and WebSocket backend on this worker class."""
    r = run_node("deploy_info", worker.port, mode)
    assert r["transport"] == FINAL_TRANSPORT[mode]
    info = r["info"]
    assert info["mode"] == worker.mode
    assert info["transport"] == FINAL_TRANSPORT[mode]
    assert info["backend"] == (None if mode == "polling" else worker.backend)
    assert "gunicorn" in info["server"]  # SERVER_SOFTWARE


@pytest.mark.parametrize("end", ["close-frame", "close-packet"])
def test_gunicorn_writes_nothing_after_websocket(worker, end):
    """Once a WebSocket session is over, gunicorn writes no HTTP response into the socket and
    closes it (and logs no error: checked at teardown)."""
    frames, after = websocket_session(worker.port, end)
    assert frames[0][0] == 0x1 and frames[0][1].startswith(b'0{"sid":')
    assert frames[-1][0] == 0x8  # the server's close frame
    assert after == b""


def test_gunicorn_refused_websocket(worker):
    """A WebSocket request for an unknown session gets the protocol's 400, except from
    gevent-websocket's own worker, which answers 101 before gsio sees the request (the reason
    for gsio.gunicorn.GeventWebSocketWorker)."""
    ws = RawRequest(worker.port, "/socket.io/?EIO=4&transport=websocket&sid=nope")
    if worker.worker == GWS_WORKER:
        assert ws.status == 101
    else:
        assert ws.status == 400
        assert ws.body == b'{"code":1,"message":"Session ID unknown"}'


def test_gunicorn_invalid_handshake(worker):
    """A handshake that is not RFC 6455's gets the JSON 400 on every worker: gsio checks it
    before any backend sees it. gevent-websocket's own worker answers 101 before gsio runs
    (and a 500 for a bad key, not sent here): gsio closes that connection with 1002."""
    good = {
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Key": base64.b64encode(b"0123456789abcdef").decode(),
        "Sec-WebSocket-Version": "13",
    }
    cases = [{"Sec-WebSocket-Version": "7"}]
    if worker.worker != GWS_WORKER:
        cases += [{"Sec-WebSocket-Key": "abc"}, {"Sec-WebSocket-Key": None}, {"Upgrade": None}]
    for changes in cases:
        headers = {k: v for k, v in {**good, **changes}.items() if v is not None}
        ws = RawWebSocket(worker.port, "/socket.io/?EIO=4&transport=websocket", False, headers)
        if worker.worker == GWS_WORKER:
            assert ws.status == 101, ws.head
            assert ws.until_close() == ([], 1002)
        else:
            assert ws.status == 400, (changes, ws.head)
            assert ws.body() == b'{"code":3,"message":"Bad request"}', changes
        ws.sock.close()
