"""Emitters: gsio.Emitter (from this process) and Node's @socket.io/redis-emitter
(tests/js/emitter.js), each reaching the clients of a gsio server (g1: gevent's pywsgi with
simple-websocket) and of a Node socket.io server (n1) on one redis-server.

Each test's operations end with a marker emitted to ``/`` and ``/chat``: an emitter publishes on
one connection, in order, so a socket that has the marker got whatever was meant for it before.
"""

from __future__ import annotations

import json
import subprocess

import msgpack
import pytest
import redis
from cluster_support import Cluster, _wire
from conftest import JS, ROOT

import gsio

SERVERS = ("g1", "n1")
EMITTERS = ["python", "node"]

PY_NAMES = {
    "emit": "emit",
    "socketsJoin": "sockets_join",
    "socketsLeave": "sockets_leave",
    "disconnectSockets": "disconnect_sockets",
}


def run_emitter(kind, url, ops):
    """Run ``ops`` (see tests/js/emitter.js) with gsio.Emitter or Node's emitter."""
    if kind == "node":
        done = subprocess.run(
            ["node", str(JS / "emitter.js"), url],
            cwd=ROOT,
            input=json.dumps(_wire(ops)).encode(),
            capture_output=True,
            timeout=30,
        )
        assert done.returncode == 0, done.stderr.decode()
        return
    emitter = gsio.Emitter(url)
    try:
        for op in ops:
            target = emitter.of(op["nsp"]) if op.get("nsp") else emitter
            if op["op"] == "serverSideEmit":
                target.server_side_emit(*op.get("args", ()))
                continue
            if op.get("to"):
                target = target.to(op["to"])
            if op.get("except"):
                target = target.except_(op["except"])
            if op.get("volatile"):
                target = target.volatile
            getattr(target, PY_NAMES[op["op"]])(*op.get("args", ()))
    finally:
        emitter.client.close()


@pytest.fixture(scope="module")
def cl():
    cluster = Cluster({"g1": ("pywsgi",)}, ["n1"])
    yield cluster
    cluster.stop()


@pytest.fixture(autouse=True)
def _fresh(cl):
    cl.begin()
    yield
    cl.end()


def emit(cl, kind, *ops, names=None):
    """Run ``ops`` then the markers; ``{name: events before the marker}`` of every socket of the
    test (or of ``names``)."""
    token = cl.token()
    marks = [
        {"op": "emit", "args": ["__mark", token]},
        {"op": "emit", "args": ["__mark", token], "nsp": "/chat"},
    ]
    run_emitter(kind, cl.redis.url, [*ops, *marks])
    return cl.until_mark(list(cl.clients_of_test if names is None else names), token)


@pytest.fixture
def sockets(cl, request):
    """``sockets(name, server, nsp="/", rooms=())``: a socket that joined ``rooms``."""
    cl.clients_of_test = []

    def connect(name, server, nsp="/", rooms=()):
        sid = cl.connect(name, server, nsp)
        if rooms:
            cl.call(name, "join", *rooms)
        cl.clients_of_test.append(name)
        return sid

    return connect


@pytest.mark.parametrize("kind", EMITTERS)
def test_emit_to_all(cl, sockets, kind):
    for server in SERVERS:
        sockets(server, server)
        sockets(f"chat{server}", server, "/chat")
    got = emit(cl, kind, {"op": "emit", "args": ["news", "hi", b"\x00\x01", {"n": [1, None]}]})
    assert got == {
        "g1": [["news", "hi", {"bin": "0001"}, {"n": [1, None]}]],
        "n1": [["news", "hi", {"bin": "0001"}, {"n": [1, None]}]],
        "chatg1": [],
        "chatn1": [],
    }


@pytest.mark.parametrize("kind", EMITTERS)
def test_rooms_and_except(cl, sockets, kind):
    for server in SERVERS:
        sockets(f"member{server}", server, rooms=["r"])
        sockets(f"other{server}", server, rooms=["o"])
    sockets("muted", "n1", rooms=["r", "x"])
    got = emit(
        cl,
        kind,
        {"op": "emit", "args": ["room"], "to": ["r"]},
        {"op": "emit", "args": ["room-except"], "to": ["r"], "except": ["x"]},
        {"op": "emit", "args": ["all-except"], "except": ["x"]},
        {"op": "emit", "args": ["two-rooms"], "to": ["r", "o"]},
    )
    assert got == {
        "memberg1": [["room"], ["room-except"], ["all-except"], ["two-rooms"]],
        "membern1": [["room"], ["room-except"], ["all-except"], ["two-rooms"]],
        "otherg1": [["all-except"], ["two-rooms"]],
        "othern1": [["all-except"], ["two-rooms"]],
        "muted": [["room"], ["two-rooms"]],
    }


@pytest.mark.parametrize("kind", EMITTERS)
def test_of_chat(cl, sockets, kind):
    for server in SERVERS:
        sockets(f"main{server}", server, rooms=["r"])
        sockets(f"chat{server}", server, "/chat", rooms=["r"])
        sockets(f"chatout{server}", server, "/chat")
    got = emit(
        cl,
        kind,
        {"op": "emit", "args": ["chat-all"], "nsp": "/chat"},
        {"op": "emit", "args": ["chat-room", 1], "nsp": "chat", "to": ["r"]},  # "chat": "/chat"
    )
    for server in SERVERS:
        assert got[f"main{server}"] == []
        assert got[f"chat{server}"] == [["chat-all"], ["chat-room", 1]]
        assert got[f"chatout{server}"] == [["chat-all"]]


@pytest.mark.parametrize("kind", EMITTERS)
def test_sockets_join_and_leave(cl, sockets, kind):
    for server in SERVERS:
        sockets(f"member{server}", server, rooms=["r"])
        sockets(f"other{server}", server)
    got = emit(
        cl,
        kind,
        {"op": "socketsJoin", "args": ["joined"], "to": ["r"]},
        {"op": "emit", "args": ["in-joined"], "to": ["joined"]},
        {"op": "socketsLeave", "args": ["joined"], "to": ["r"]},
        {"op": "emit", "args": ["left"], "to": ["joined"]},
        {"op": "socketsJoin", "args": ["everyone"]},
        {"op": "emit", "args": ["in-everyone"], "to": ["everyone"], "except": ["r"]},
    )
    for server in SERVERS:
        assert got[f"member{server}"] == [["in-joined"]]
        assert got[f"other{server}"] == [["in-everyone"]]
    fetched = cl.call("otherg1", "fetch", "everyone")
    assert len(fetched) == 4
    assert all("everyone" in s["rooms"] and "joined" not in s["rooms"] for s in fetched)


@pytest.mark.parametrize("close", [False, True])
@pytest.mark.parametrize("kind", EMITTERS)
def test_disconnect_sockets(cl, sockets, kind, close):
    for server in SERVERS:
        sockets(f"member{server}", server, rooms=["r"])
        sockets(f"other{server}", server)
    others = [f"other{server}" for server in SERVERS]
    got = emit(cl, kind, {"op": "disconnectSockets", "args": [close], "to": ["r"]}, names=others)
    for server in SERVERS:
        assert got[f"other{server}"] == []
        # close or not, the DISCONNECT packet comes first: the same reason (as with Node)
        assert cl.take(f"member{server}", 1) == [["__disconnect", "io server disconnect"]]


@pytest.mark.parametrize("kind", EMITTERS)
def test_server_side_emit(cl, sockets, wait_for, kind):
    token = f"{kind}-{cl.token()}"
    run_emitter(
        kind,
        cl.redis.url,
        [
            {"op": "serverSideEmit", "args": ["hello", token, {"n": 1}]},
            {"op": "serverSideEmit", "args": ["hello", token], "nsp": "/chat"},
        ],
    )
    for server in SERVERS:
        wait_for(
            lambda s=server: ["/chat", token] in cl.log(s)["server_side"], 10, f"{token} on {server}"
        )
        assert ["/", token, {"n": 1}] in cl.log(server)["server_side"]


def test_odd_values_from_node_reach_gsio_clients_as_node_clients(cl, sockets):
    for server in SERVERS:
        sockets(server, server)
    odd = [
        "odd",
        {"$date": 1_700_000_000_123},
        {"$number": "NaN"},
        [{"$undefined": 1}, {"$number": "-Infinity"}],
        {"a": {"$undefined": 1}, "b": 1},
    ]
    got = emit(cl, "node", {"op": "emit", "args": odd})
    assert got["n1"] == [["odd", "2023-11-14T22:13:20.123Z", None, [None, None], {"b": 1}]]
    assert got["g1"] == got["n1"]


def test_python_emitter_publishes_what_nodes_does(cl):
    """The same operations through each emitter: the same channels, the same messages (the
    keys of a map may come in another order)."""
    ops = [
        {"op": "emit", "args": ["news", b"\x01", {"a": [1, 2.5]}]},
        {"op": "emit", "args": ["room"], "to": ["r"]},
        {"op": "emit", "args": ["except"], "to": ["r"], "except": ["x"], "volatile": True},
        {"op": "emit", "args": ["chat"], "nsp": "/chat"},
        {"op": "socketsJoin", "args": ["j"], "to": ["r"]},
        {"op": "socketsLeave", "args": ["j"], "except": ["x"]},
        {"op": "disconnectSockets", "args": [True], "to": ["r"]},
        {"op": "serverSideEmit", "args": ["hello", 1]},
    ]
    published = {}
    for kind in EMITTERS:
        listener = redis.Redis(port=cl.redis.port).pubsub()
        listener.psubscribe("socket.io*")
        assert listener.get_message(timeout=5)["type"] == "psubscribe"
        run_emitter(kind, cl.redis.url, ops)
        messages = []
        while len(messages) < len(ops):
            message = listener.get_message(timeout=5)
            assert message is not None, (kind, messages)
            data = message["data"]
            value = json.loads(data) if data[:1] == b"{" else msgpack.unpackb(data)
            messages.append((message["channel"].decode(), value))
        listener.close()
        published[kind] = messages
    assert published["python"] == published["node"]
