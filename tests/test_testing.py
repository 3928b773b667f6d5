"""gsio.testing.TestClient: against a Server it serves itself (threading mode here: pytest's
process is not monkey-patched) and against a gsio server in another process."""

import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import gsio
from gsio.testing import TestClient

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def sio():
    sio = gsio.Server()

    @sio.on("connect")
    def connect(conn, auth):
        if auth.get("token") != "ok":
            raise gsio.ConnectionRefused("Not authorized", {"need": "token"})
        conn.emit("welcome", conn.id)

    @sio.on("echo")
    def echo(conn, *args):
        return args

    @sio.on("ask")
    def ask(conn, n):
        return conn.call("question", n, timeout=5)

    @sio.on("join")
    def join(conn, room):
        conn.join(room)
        sio.to(room).emit("joined", room)

    admin = sio.of("/admin")

    @admin.on("whoami")
    def whoami(conn):
        return conn.namespace.name

    yield sio
    sio.shutdown()


def test_connect_receive_and_call(sio):
    with TestClient(sio, auth={"token": "ok"}) as client:
        welcome = client.receive()
        assert (welcome.name, welcome.args) == ("welcome", [client.sids["/"]])
        assert client.call("echo", 1, "é", {"a": [None]}) == (1, "é", {"a": [None]})
        assert client.call("echo", b"\x00\x01") == b"\x00\x01"
        assert client.call("echo") is None
        client.emit("join", "r1")
        joined = client.receive()
        assert (joined.name, joined.args) == ("joined", ["r1"])


def test_files_both_ways(sio, tmp_path):
    """A file emitted by the test client, and one in the server's answer, are read as the
    server reads them (gsio.server.files): sent as binary, left open; past max_payload, the
    emit raises FileTooLarge before anything is sent."""
    import io

    path = tmp_path / "f.bin"
    path.write_bytes(os.urandom(100_000))

    @sio.on("fetch")
    def fetch(conn):
        return path.open("rb")

    with TestClient(sio, auth={"token": "ok"}) as client, path.open("rb") as f:
        client.receive()  # welcome
        assert client.call("echo", {"f": [f]}) == {"f": [path.read_bytes()]}
        assert not f.closed
        assert client.call("fetch") == path.read_bytes()
        with pytest.raises(gsio.FileTooLarge):
            client.emit("echo", io.BytesIO(bytes(client.max_payload + 1)))
        assert client.call("echo", "next") == "next"


def test_reply_to_the_servers_call(sio):
    with TestClient(sio, auth={"token": "ok"}) as client:
        client.receive()  # welcome
        answer = []
        asking = threading.Thread(target=lambda: answer.append(client.call("ask", 41)))
        asking.start()
        question = client.receive()
        assert (question.name, question.args) == ("question", [41])
        question.reply(42)
        asking.join(5)
        assert answer == [42]  # the server's conn.call() got the reply and returned it


def test_refused_connection_raises_with_message_and_data(sio):
    with pytest.raises(gsio.ConnectionRefused) as refused:
        TestClient(sio, auth={"token": "bad"})
    assert refused.value.message == "Not authorized"
    assert refused.value.data == {"need": "token"}


def test_namespaces_and_disconnect(sio):
    with TestClient(sio, auth={"token": "ok"}) as client:
        client.connect("/admin")
        assert client.call("whoami", namespace="/admin") == "/admin"
        client.disconnect("/admin")
        assert not client.is_connected("/admin")
        assert client.is_connected("/")
        with pytest.raises(gsio.ConnectionRefused, match="Invalid namespace"):
            client.connect("/nowhere")


def test_against_a_server_in_another_process(start_server):
    server = start_server("blocking_app")
    with TestClient(server.url) as client:
        assert client.call("wait", 0.2) == "timeout"
        assert client.call("bye") == "bye"


def test_a_closed_websocket_client_leaves_no_reader_behind(start_server):
    """close() returns once the client's reading thread has ended: a thread still reading a
    closed socket could, under load, read the descriptor number that the next connection
    got (tests/server/test_socketio_bad_input.py's witness lost its OPEN that way, once in a full
    run). The server answers the close frame at its own pace; that must not matter."""
    from gsio.testing import websocket_client

    server = start_server("engine_app", shared=True)
    url = server.url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
    for _ in range(20):
        ws = websocket_client(url)
        assert ws.receive(timeout=5).startswith("0{")
        ws.close()
        assert not ws.thread.is_alive()
        assert ws.sock.fileno() == -1


EXITING = """
import sys, time
MODE, CASE = sys.argv[1], sys.argv[2]
if MODE == "gevent":
    from gevent import monkey

    monkey.patch_all()
import gsio
from gsio.testing import TestClient

sio = gsio.Server()

@sio.on("connect")
def connect(conn, auth):
    if auth.get("token") != "ok":
        raise gsio.ConnectionRefused("Not authorized")

@sio.on("echo")
def echo(conn, *args):
    return args

@sio.on("bye")
def bye(conn):
    conn.disconnect()

if CASE == "middleware":
    @sio.use
    def refuse(conn):
        raise gsio.ConnectionRefused("go away")

if CASE in ("refused", "middleware"):
    try:
        TestClient(sio, auth={"token": "bad"})
    except gsio.ConnectionRefused as exc:
        print("refused:", exc.message)
elif CASE == "server closes":
    client = TestClient(sio, auth={"token": "ok"})
    client.emit("bye")
    deadline = time.monotonic() + 5
    while client.is_connected() and time.monotonic() < deadline:
        time.sleep(0.02)
    print("connected:", client.is_connected())
elif CASE == "never closed":
    client = TestClient(sio, auth={"token": "ok"})
    print("echo:", client.call("echo", 1))
elif CASE == "exception":
    with TestClient(sio, auth={"token": "ok"}):
        raise RuntimeError("the test failed")
print("done")
"""


EXITS = {  # case: (exit status, stdout)
    "refused": (0, "refused: Not authorized\ndone\n"),
    "middleware": (0, "refused: go away\ndone\n"),
    "server closes": (0, "connected: False\ndone\n"),
    "never closed": (0, "echo: 1\ndone\n"),
    "exception": (1, ""),
}


@pytest.mark.parametrize("mode", ["threading", "gevent"])
@pytest.mark.parametrize("case", list(EXITS))
def test_the_process_exits_at_once(tmp_path, mode, case):
    """No thread of the client keeps the process alive: simple-websocket's reader is not a
    daemon, and a refused client's connection stays open on the server (for a retry) until its
    connect_timeout, 45 s."""
    script = tmp_path / "uses_test_client.py"
    script.write_text(EXITING)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    try:
        proc = subprocess.run(
            [sys.executable, str(script), mode, case],
            capture_output=True,
            text=True,
            env=env,
            timeout=15,  # generous: it takes well under a second
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the process was still running after 15 s; stdout: {exc.stdout!r}")
    assert (proc.returncode, proc.stdout) == EXITS[case], proc.stderr
    if case == "exception":
        assert proc.stderr.rstrip().endswith("RuntimeError: the test failed"), proc.stderr


def test_a_servers_json_option_encodes_and_decodes_every_packet():
    # Server(json=...) reaches the packet codec: the events the client sends are parsed by its
    # loads, and what goes back (the ack, an emit, the CONNECT answer) is written by its dumps.
    import json

    class Recording:
        dumped: list = []
        loaded: list = []

        @staticmethod
        def dumps(obj):
            Recording.dumped.append(obj)
            return json.dumps(obj, separators=(",", ":"))

        @staticmethod
        def loads(text):
            Recording.loaded.append(text)
            return json.loads(text)

    sio = gsio.Server(json=Recording)

    @sio.on("echo")
    def echo(conn, *args):
        conn.emit("seen", len(args))
        return args

    try:
        with TestClient(sio) as client:
            assert client.call("echo", "hi", 2) == ("hi", 2)
            assert client.receive().args == [2]
    finally:
        sio.shutdown()
    assert '["echo","hi",2]' in Recording.loaded
    assert ["hi", 2] in Recording.dumped
    assert ["seen", 2] in Recording.dumped
