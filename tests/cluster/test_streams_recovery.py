"""Connection state recovery across a cluster on the Redis Streams adapter: two gsio processes
and one Node socket.io (@socket.io/redis-streams-adapter) on one redis-server, real
socket.io-client sockets.

A client is cut from its server (its transport closed, as the network would) and reconnects to
another server, gsio or Node, while the servers emit to it directly (``to(id)``) and to its
room: it recovers (same id, ``socket.recovered``) and gets every message exactly once, in order.
"""

from __future__ import annotations

import pytest
from cluster_support import Cluster

SERVERS = ("g1", "g2", "n1")


@pytest.fixture(scope="module")
def cl():
    cluster = Cluster(
        {"g1": ("pywsgi-ws",), "g2": ("pywsgi-ws",)}, ["n1"], streams=True, recovery=True
    )
    yield cluster
    cluster.stop()


@pytest.fixture(autouse=True)
def _fresh(cl):
    cl.begin()
    yield
    cl.end()


def _emit(cl, senders, target, room, start, count):
    """``d(i)`` to ``target`` and ``r(i)`` to ``room``, i in start..start+count-1, each from the
    next of ``senders`` in turn (each ack means its server took it)."""
    for i in range(start, start + count):
        sender = senders[i % len(senders)]
        assert cl.call(sender, "to_room", target, "d", i) is True
        assert cl.call(sender, "to_room", room, "r", i) is True


def _received(cl, name, count):
    """What ``name`` got of ``d`` and ``r`` once it has ``count`` of each (and the reconnects)."""
    events = cl.take(name, 2 * count, where=lambda e: e[0] in ("d", "r"), timeout=15)
    return [e[1] for e in events if e[0] == "d"], [e[1] for e in events if e[0] == "r"]


@pytest.mark.parametrize(
    "path",
    [("g1", "g2", "n1", "g1"), ("n1", "g1", "g2"), ("g2", "n1", "g2")],
    ids=lambda p: "-".join(p),
)
def test_a_client_recovers_on_every_other_server(cl, request, path):
    room = f"{request.node.name}:r"
    x = cl.connect("x", path[0], reconnect=True, delay=600)
    assert cl.call("x", "join", room) == [room]
    senders = [cl.connect(f"s{server}", server) and f"s{server}" for server in SERVERS]
    n = 0
    _emit(cl, senders, x, room, n, 4)  # live
    n += 4
    for server in path[1:]:
        cl.move("x", server)
        _emit(cl, senders, x, room, n, 6)  # while it is away: replayed, or live if it is back
        n += 6
        connect = cl.take("x", 1, event="__connect", timeout=15)[0]
        assert connect == ["__connect", x, True], connect
        assert cl.call("x", "whoami") == {"server": server, "id": x}
        _emit(cl, senders, x, room, n, 3)  # live on the new server
        n += 3
    direct, rooms = _received(cl, "x", n)
    # Every message once; each server's in the order it sent them (the servers' messages
    # interleave as their XADDs did: Node acks "to_room" before its XADD is done).
    for got in (direct, rooms):
        assert sorted(got) == list(range(n)), (direct, rooms)
        for k in range(len(senders)):
            assert [i for i in got if i % len(senders) == k] == list(range(k, n, len(senders)))
    # Nothing came twice: a marker from every server (each server's broadcasts are read in
    # stream order), and nothing but the markers came meanwhile.
    for sender in senders:
        token = cl.token()
        assert cl.call(sender, "to_all", "__mark", token) is True
        cl.take("x", 1, where=lambda e, token=token: e[:2] == ["__mark", token])
    assert [e for e in cl.drain("x") if e[0] in ("d", "r")] == []


@pytest.mark.parametrize("session", [{"pid": "unknown"}, {"offset": "abc"}, {"offset": "1-0"}])
def test_a_bad_session_is_a_new_connection(cl, request, session):
    room = f"{request.node.name}:r"
    x = cl.connect("x", "g1", reconnect=True, delay=300)
    assert cl.call("x", "join", room) == [room]
    cl.connect("s", "n1")
    assert cl.call("s", "to_room", room, "r", 0) is True
    cl.take("x", 1, event="r")
    cl.move("x", "g2", **session)
    connect = cl.take("x", 1, event="__connect", timeout=15)[0]
    assert connect[0] == "__connect" and connect[1] != x and connect[2] is False, connect
    assert cl.call("x", "whoami")["server"] == "g2"
