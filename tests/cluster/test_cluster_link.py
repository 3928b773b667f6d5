"""The link to Redis is ready before it is needed: each server's publisher connects when its
adapter starts, so the first broadcast that crosses to another server does not wait for a
connection (and its handshake) to be made, with either adapter and either concurrency."""

from __future__ import annotations

import pytest
import redis
from cluster_support import Cluster
from conftest import _wait_for


def _connections(admin: redis.Redis) -> list[dict]:
    """Every connection to the redis-server but ``admin``'s own."""
    me = admin.client_id()
    return [c for c in admin.client_list() if int(c["id"]) != me]


def _publishers(admin: redis.Redis) -> list[dict]:
    """The connections that neither subscribe nor read the stream."""
    return [
        c
        for c in _connections(admin)
        if int(c.get("sub", 0)) == 0
        and int(c.get("psub", 0)) == 0
        and c.get("cmd") not in ("xread", "xrevrange")
    ]


@pytest.mark.parametrize("streams", [False, True], ids=["pubsub", "streams"])
@pytest.mark.parametrize("kind", ["pywsgi-ws", "werkzeug"])
def test_publisher_connected_before_the_first_broadcast(kind, streams):
    cl = Cluster({"g1": (kind,), "g2": (kind,)}, streams=streams)
    admin = redis.Redis(port=cl.redis.port, socket_connect_timeout=2)
    try:
        # Nothing was published yet, and each server's publisher is connected.
        _wait_for(lambda: len(_publishers(admin)) == 2, 10, "both publishers to connect")
        before = {c["id"] for c in _connections(admin)}
        cl.connect("a", "g1")
        cl.connect("b", "g2")
        assert cl.call("b", "join", "r") == ["r"]
        assert cl.call("a", "to_room", "r", "first", 1) is True
        assert cl.take("b", 1, "first") == [["first", 1]]
        # The first broadcast to cross went out on that connection: none was made for it.
        assert {c["id"] for c in _connections(admin)} == before
        cl.end()
    finally:
        admin.close()
        cl.stop()
