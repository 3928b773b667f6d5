"""The Redis adapter and gsio.Emitter with either parser: the adapter's wire format is Node's
(msgpack of packet objects, gsio/cluster/messages.py) whatever the clients' parser, so a
broadcast from a server with ``parser="msgpack"`` reaches the clients of a JSON server and back,
binary included, through a real redis-server; and gsio.Emitter reaches msgpack clients."""

from __future__ import annotations

import pytest
from cluster_support import Cluster

import gsio

MSGPACK = "socket.io-msgpack-parser"


@pytest.fixture(scope="module")
def cl():
    cluster = Cluster({"gj": ("pywsgi",), "gm": ("pywsgi", "--parser", "msgpack")})
    yield cluster
    cluster.stop()


@pytest.fixture(autouse=True)
def _fresh(cl):
    cl.begin()
    yield
    cl.end()


def marked(cl, names, emit):
    """Emit the marker after ``emit`` (a callable taking the token); what came before it."""
    token = cl.token()
    emit(token)
    return cl.until_mark(names, token)


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_broadcasts_cross_between_a_msgpack_and_a_json_server(cl, transport):
    cl.connect("j", "gj", transport=transport)
    cl.connect("m", "gm", transport=transport, parser=MSGPACK)
    cl.call("j", "join", "room")
    cl.call("m", "join", "room")
    payload = ["hi", b"\x00\xff", {"n": [1, None, 2.5, "é"]}]

    def from_msgpack(token):
        assert cl.call("m", "to_room", "room", "news", *payload) is True
        assert cl.call("m", "to_all", "__mark", token) is True

    expected = [["news", "hi", {"bin": "00ff"}, {"n": [1, None, 2.5, "é"]}]]
    assert marked(cl, ["j", "m"], from_msgpack) == {"j": expected, "m": expected}

    def from_json(token):
        assert cl.call("j", "to_room", "room", "news", *payload) is True
        assert cl.call("j", "to_all", "__mark", token) is True

    assert marked(cl, ["j", "m"], from_json) == {"j": expected, "m": expected}


def test_the_emitter_reaches_msgpack_clients(cl):
    cl.connect("m", "gm", parser=MSGPACK)
    cl.connect("mchat", "gm", "/chat", parser=MSGPACK)
    cl.call("m", "join", "r")

    def emit(token):
        emitter = gsio.Emitter(cl.redis.url)
        try:
            emitter.to("r").emit("news", "hi", b"\x00\x01", {"n": [1, None]})
            emitter.of("/chat").emit("chat", b"\x02")
            emitter.emit("__mark", token)
            emitter.of("/chat").emit("__mark", token)
        finally:
            emitter.client.close()

    assert marked(cl, ["m", "mchat"], emit) == {
        "m": [["news", "hi", {"bin": "0001"}, {"n": [1, None]}]],
        "mchat": [["chat", {"bin": "02"}]],
    }
