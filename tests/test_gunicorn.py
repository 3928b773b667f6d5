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
import re
import socket
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


# -- gunicorn's access log ----------------------------------------------------------------------

ACCESS_FORMAT = "ACCESS %(m)s %(U)s %(q)s %(s)s"
ACCESS_LINE = re.compile(r"^ACCESS (\S+) (\S*) (\S*) (\S+)$", re.M)
GSIO_WORKERS = ["gsio.gunicorn.GeventWorker", "gsio.gunicorn.GeventWebSocketWorker"]


@pytest.fixture(scope="module", params=GSIO_WORKERS, ids=short)
def logged_worker(request):
    """gsio's worker classes with ``--access-logfile -`` (gunicorn's access log on stdout)."""
    options, mode, backend = WORKERS[request.param]
    access = ("--access-logfile", "-", "--access-logformat", ACCESS_FORMAT)
    command = gunicorn(request.param, "deploy_gunicorn_app:app", *options, *access)
    yield from running(command, SERVERS, worker=request.param, mode=mode, backend=backend)


def access_lines(process):
    """(method, path, query, status) of each access log line so far."""
    return ACCESS_LINE.findall(process.output())


def websocket_lines(lines):
    return [line for line in lines if "transport=websocket" in line[2]]


def test_access_log_has_every_request_websocket_included(logged_worker, run_node, wait_for):
    """One line per request in gunicorn's access log, a WebSocket session's (101) once it
    ends; no traceback (checked at teardown)."""
    before = access_lines(logged_worker)
    frames, after = websocket_session(logged_worker.port, "close-frame")
    assert after == b""
    lines = wait_for(
        lambda: websocket_lines(access_lines(logged_worker)[len(before) :]),
        message="the WebSocket session's access log line",
    )
    assert lines == [("GET", "/socket.io/", "EIO=4&transport=websocket", "101")]
    status, _, _ = logged_worker.request("GET", "/socket.io/?EIO=4&transport=polling&t=x1")
    assert status == 200
    wait_for(
        lambda: (
            ("GET", "/socket.io/", "EIO=4&transport=polling&t=x1", "200")
            in access_lines(logged_worker)
        ),
        message="the polling handshake's access log line",
    )
    # The real client, WebSocket only, then polling upgraded to WebSocket.
    for mode in ("websocket", "default"):
        client_in_access_log(logged_worker, run_node, wait_for, mode)
    assert "Traceback" not in logged_worker.output()


def client_in_access_log(process, run_node, wait_for, mode):
    """One real client's session (``deploy_info``: in the default mode it waits for the
    upgrade), then its lines: one WebSocket session (101), and the polling requests before."""
    seen = len(access_lines(process))
    r = run_node("deploy_info", process.port, mode)
    assert r["transport"] == "websocket"
    new = wait_for(
        lambda: websocket_lines(access_lines(process)[seen:]) and access_lines(process)[seen:],
        message="the client's WebSocket session in the access log",
    )
    ws = websocket_lines(new)
    assert len(ws) == 1 and ws[0][3] == "101", new
    polls = [line for line in new if "transport=polling" in line[2]]
    if mode == "default":
        assert {"GET", "POST"} <= {line[0] for line in polls}, new
        assert {line[3] for line in polls} == {"200"}, new
        assert "sid=" in ws[0][2]  # the upgrade of the polling session
    else:
        assert polls == [], new


def test_access_log_of_a_bad_request_line(logged_worker, wait_for):
    with socket.create_connection(("127.0.0.1", logged_worker.port), timeout=10) as sock:
        sock.sendall(b"POST ? HTTP/2\r\nHost: x\r\n\r\n")
        data = sock.recv(65536)
    assert data.startswith(b"HTTP/1.1 400 "), data
    wait_for(
        lambda: ("POST", "", "", "400") in access_lines(logged_worker),
        message="the 400's access log line",
    )
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


NO_HAND_OVER = "cannot move a request to the worker that owns it"


@pytest.mark.parametrize(
    "worker, workers, warns",
    [
        ("gevent", "2", True),
        ("gthread", "2", True),
        ("gevent", "1", False),
        ("gsio.gunicorn.GeventWorker", "2", False),
    ],
    ids=["gevent-w2", "gthread-w2", "gevent-w1", "gsio-w2"],
)
def test_several_workers_that_cannot_move_requests_say_so_once(worker, workers, warns):
    """Under ``-w 2`` with a worker class that cannot move a request to its session's owner,
    a request for an unknown session gets the protocol's 400 and the log says why, once per
    worker process, naming the fix; one worker, or gsio's worker (which moves them), say
    nothing."""
    options = ("-w", workers, *WORKERS[worker][0])
    for process in running(gunicorn(worker, "deploy_gunicorn_app:app", *options), SERVERS):
        for i in range(8):  # fresh connections: both workers get some
            status, _, body = process.request(
                "GET", f"/socket.io/?EIO=4&transport=polling&sid=nosuchsession{i}"
            )
            assert (status, body) == (400, b'{"code":1,"message":"Session ID unknown"}')
        said = process.output().count(NO_HAND_OVER)
        if warns:
            assert 1 <= said <= int(workers), process.output()
            assert "gsio.gunicorn.GeventWorker" in process.output()
        else:
            assert said == 0, process.output()
