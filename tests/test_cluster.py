"""A cluster on one real redis-server: two gsio processes and one Node socket.io process
(npm socket.io + @socket.io/redis-adapter), with real socket.io-client sockets on each."""

from __future__ import annotations

import pytest
from cluster_support import wait_cluster


@pytest.fixture
def cluster(redis_server, start_server, node_server, clients):
    """Servers g1, g2 (gsio) and n1 (Node) and one client on each: a (g1), b (g2), c (n1)."""
    g1 = start_server("cluster_app", "--redis", redis_server.url, "--name", "g1")
    g2 = start_server("cluster_app", "--redis", redis_server.url, "--name", "g2")
    n1 = node_server(redis_server.url, "n1")
    wait_cluster(redis_server.port, 3)
    wait_cluster(redis_server.port, 3, "/chat")
    ports = {"g1": g1.port, "g2": g2.port, "n1": n1.port}
    ids = {}
    for name, server in (("a", "g1"), ("b", "g2"), ("c", "n1")):
        ids[name] = clients.connect(name, ports[server])
    return ports, ids


@pytest.mark.parametrize("sender", ["a", "b", "c"])
def test_broadcast_reaches_every_server(cluster, clients, sender):
    assert clients.call(sender, "to_all", "news", "hello", {"n": 1}, b"\x00\x01") == [True]
    for name in "abc":
        assert clients.wait_events(name, 1, event="news") == [
            ["news", "hello", {"n": 1}, {"bin": "0001"}]
        ]
