"""socket.io-client 2.x in a cluster (``allow_eio3=True``): a broadcast to a room whose members
are 2.x and 4.x clients on two servers reaches them all, each in its own protocol; with
connection state recovery on, the 4.x clients get the packet's offset, the 2.x ones do not."""

import uuid

import pytest
from cluster_support import Cluster


@pytest.fixture(scope="module", params=["pubsub", "recovery"])
def cl(request):
    recovery = request.param == "recovery"
    servers = {"g1": ("gsio", "--allow-eio3"), "g2": ("werkzeug", "--allow-eio3")}
    cluster = Cluster(servers, recovery=recovery)
    cluster.recovery = recovery
    yield cluster
    cluster.stop()


def test_a_room_of_2x_and_4x_clients_on_two_servers(cl, run_node):
    room = uuid.uuid4().hex[:12]
    cl.begin()
    got = run_node("sio_v2_cluster", cl.port("g1"), cl.port("g2"), room)
    sent = ["x", {"bin": "0102"}]
    assert got["v2a"] == sent and got["v2b"] == sent, got
    for name in ("v4a", "v4b"):
        if cl.recovery:  # the offset, appended for the clients that recover
            assert got[name][:2] == sent and isinstance(got[name][2], str), got
        else:
            assert got[name] == sent, got
    cl.check()
