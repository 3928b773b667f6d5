"""A cluster when things go wrong: a server that stops answering, garbage on the Redis channels,
and redis-server killed and restarted under traffic. Each test has a cluster of its own."""

from __future__ import annotations

import signal

import msgpack
import pytest
import redis
from cluster_support import Cluster
from conftest import _wait_for


@pytest.fixture
def make_cluster():
    made = []

    def make(*args, **kwargs):
        cluster = Cluster(*args, **kwargs)
        made.append(cluster)
        return cluster

    yield make
    for cluster in made:
        try:
            cluster.end()
        finally:
            cluster.stop()


# -- a server that stops answering --------------------------------------------------------------


def test_requests_time_out_when_a_server_stops_answering(make_cluster):
    cl = make_cluster(
        {"g1": ("pywsgi-ws", "--requests-timeout", "0.5"), "g2": ("pywsgi-ws",)},
        ["n1"],
        node_args=("--requests-timeout", "0.5"),
    )
    ids = {server: cl.connect(server, server) for server in ("g1", "g2", "n1")}
    for server in ids:
        cl.call(server, "join", "r")
    assert len(cl.call("g1", "fetch", "r")) == 3

    stopped = cl.gsio["g2"].proc
    stopped.send_signal(signal.SIGSTOP)
    try:
        assert cl.call("g1", "fetch", "r") == {
            "error": "timeout reached while waiting for fetch_sockets response"
        }
        assert cl.call("n1", "fetch", "r") == {
            "error": "timeout reached while waiting for fetchSockets response"
        }
        assert cl.call("g1", "server_call", "hello", "stopped") == {
            "error": "timeout reached: only 1 responses received out of 2",
            "responses": ["hello from n1"],
        }
        assert cl.call("n1", "server_call", "hello", "stopped") == {
            "error": "timeout reached: only 1 responses received out of 2",
            "responses": ["hello from g1"],
        }
        # A broadcast asking for acks: g2 counts as a server of the cluster (it still holds its
        # subscription) but never says how many clients it has, so the acks time out.
        assert cl.call("g1", "ask_all", "r", 1.0) == {
            "timeout": True,
            "responses": ["g1:poll", "n1:poll"],
        }
    finally:
        stopped.send_signal(signal.SIGCONT)
    # Back: g2 answers what queued up meanwhile (answers nobody waits for any more, ignored),
    # and the next requests get every server's answer.
    fetched = cl.call("g1", "fetch", "r")
    assert sorted(s["id"] for s in fetched) == sorted(ids.values())
    assert cl.call("n1", "server_call", "hello", "back") == ["hello from g1", "hello from g2"]
    assert cl.take("g2", 1, "poll") == [["poll", "r"]]


# -- malformed messages -------------------------------------------------------------------------


def _pack(value):
    return msgpack.packb(value, use_bin_type=True)


def _nested(depth, leaf=None):
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def _event(data, nsp="/", type_=2):
    return {"type": type_, "data": data, "nsp": nsp}


_OPTS = {"rooms": [], "except": [], "flags": {}}

#: Broadcasts as Node's adapter publishes them ([uid, packet, opts], msgpack), but wrong.
BAD_BROADCASTS = [
    b"\xc1",  # a byte msgpack never uses
    b"",
    b"not msgpack at all",
    _pack({"uid": "x"}),  # a map, not [uid, packet, opts]
    _pack(["x", _event(["ev"])]),  # too short
    _pack([7, _event(["ev"]), _OPTS]),  # uid not a string
    _pack(["x", _event(["ev"], type_=0), _OPTS]),  # CONNECT, not an event
    _pack(["x", _event(["ev"], type_=3), _OPTS]),  # ACK
    _pack(["x", _event([1, "two"]), _OPTS]),  # the event is not a string
    _pack(["x", _event([]), _OPTS]),  # no event at all
    _pack(["x", _event("ev"), _OPTS]),  # data not a list
    _pack(["x", "packet", _OPTS]),
    _pack(["x", _event(["ev"], nsp="/chat"), _OPTS]),  # another namespace's packet
    _pack(["x", _event(["ev"]), {"rooms": "r"}]),  # rooms not a list
    _pack(["x", _event(["ev"]), {"except": [None]}]),  # a room that is null
    _pack(["x", _event(["ev"]), {"flags": 5}]),
    _pack(["x", _event(["ev"]), "opts"]),
    _pack(["x", _event(["ev", {b"k": "binary key"}]), _OPTS]),
    _pack(["x", _event(["ev", {1.5: "float key"}]), _OPTS]),
    _pack(["x", _event(["ev", msgpack.ExtType(42, b"?")]), _OPTS]),  # an unknown ext type
    _pack(["x", _event(["ev", _nested(600)]), _OPTS]),  # deep nesting
    b"\x93\xa1x\x83\xa4type\x02\xa4data\x91\xa2\xff\xfe\xa3nsp\xa1/\x80",  # bad UTF-8
]

#: Requests and responses, JSON (or msgpack where Node uses it), but wrong.
BAD_REQUESTS = [
    b"{not json",
    b"{}" + b"\x00",
    b'{"type": 42}',  # unknown type
    b'{"type": "5", "requestId": "r"}',  # a string type
    b'{"type": true}',
    b'{"type": 5, "requestId": 7, "opts": {}}',  # requestId not a string
    b'{"type": 5, "requestId": "r", "opts": 7}',  # REMOTE_FETCH, opts not a map
    b'{"type": 5, "requestId": "r", "opts": {"rooms": "r"}}',
    b'{"type": 2, "opts": {"rooms": []}, "rooms": "joined"}',  # REMOTE_JOIN, rooms not a list
    b'{"type": 2, "opts": {"rooms": [NaN]}, "rooms": ["joined"]}',  # NaN in JSON
    b'{"type": 4, "opts": {"rooms": [], "except": [{}]}, "close": true}',  # a room that is {}
    b'{"type": 2, "sid": 5, "room": "x"}',  # the one-socket form, sid not a string
    b'{"type": 0, "requestId": "r", "rooms": 5}',
    b'{"type": 6}',  # SERVER_SIDE_EMIT without data
    b'{"type": 6, "data": [1, 2]}',  # the event is not a string
    b'{"type": 6, "data": ["hello", NaN]}',
    b'{"type": 6, "data": ["hello", Infinity]}',
    b'{"type": 6, "data": ["hello", ' + b"[" * 600 + b"]" * 600 + b"]}",  # deep nesting
    b'{"type": 6, "data": ["hello", ' + b"[" * 100_000 + b"]" * 100_000 + b"]}",
    b"[1, 2]",  # JSON of the wrong shape (and so not msgpack either)
    _pack([1, 2]),  # msgpack, not a map
    _pack({"type": 7, "requestId": "r", "packet": _event(["ev"], type_=1), "opts": _OPTS}),
    _pack({"type": 7, "requestId": "r", "packet": _event([5]), "opts": _OPTS}),
    _pack({"type": 7, "packet": _event(["ev"]), "opts": _OPTS}),  # no requestId
]

BAD_RESPONSES = [
    b"{oops",
    b'{"requestId": 5}',
    b'{"type": 99, "requestId": "r"}',
    b'{"requestId": "r", "sockets": [NaN]}',
    _pack("not a map"),
    b"\xc1",
]


def test_malformed_messages_are_logged_and_dropped(make_cluster, wait_for):
    # gsio servers only: Node's adapter throws on the first of these (notepack's "Could not
    # parse", uncaught in its message listener) and the process exits.
    cl = make_cluster({"g1": ("pywsgi-ws",), "g2": ("werkzeug",)})
    servers = ("g1", "g2")
    for server in servers:
        cl.connect(server, server)
        cl.call(server, "join", "room")
        cl.connect(f"chat{server}", server, "/chat")
    publisher = redis.Redis(port=cl.redis.port)
    specific = [
        c.decode()
        for c in publisher.pubsub_channels("socket.io-response#/#*#")
        if c != b"socket.io-response#/#"
    ]
    assert len(specific) == 2  # one per server
    sent = []  # (channel, message)
    for message in BAD_BROADCASTS:
        sent.append(("socket.io#/#", message))
    for message in BAD_BROADCASTS[::5]:
        sent.append(("socket.io#/#room#", message))  # the channel of a room with members
        sent.append(("socket.io#/chat#", message))
    for message in BAD_REQUESTS:
        sent.append(("socket.io-request#/#", message))
    for message in BAD_REQUESTS[::5]:
        sent.append(("socket.io-request#/chat#", message))
    for message in BAD_RESPONSES:
        sent.append(("socket.io-response#/#", message))
    for channel in specific:  # each server's own response channel: that server only
        sent.append((channel, BAD_RESPONSES[0]))

    def warnings(server):
        return [
            line
            for line in cl.output(server).splitlines()
            if "dropped a malformed message" in line
        ]

    # One at a time, each seen by every server it is for before the next: one warning each.
    counts = {server: 0 for server in servers}
    for channel, message in sent:
        assert publisher.publish(channel, message) >= 1, channel
        for server in servers:
            if channel in specific:
                continue
            counts[server] += 1
            wait_for(
                lambda s=server: len(warnings(s)) >= counts[s],
                5,
                f"{server}'s warning for {message[:60]!r} on {channel}:\n{cl.output(server)}",
            )
    publisher.close()
    for server in servers:
        counts[server] += 1  # what came on its own response channel
        wait_for(lambda s=server: len(warnings(s)) >= counts[s], 5, f"{server}'s own channel")

    # Everything still works: a broadcast from each server reaches every socket (and nothing
    # that the garbage asked for happened: no socket joined, left or was disconnected).
    for server in servers:
        assert cl.call(server, "to_room", "room", "still", server) is True
        got = cl.settle(server, servers)
        assert got == {name: [["still", server]] for name in got}, server
        assert cl.call(f"chat{server}", "to_all", "chat", server) is True
        for name in servers:
            assert cl.take(f"chat{name}", 1) == [["chat", server]]
    for server in servers:
        found = warnings(server)
        assert len(found) == counts[server], "\n".join(found)
        assert all(line.startswith("WARNING gsio.redis: ") for line in found), found
        assert len(cl.output(server).splitlines()) == counts[server], cl.output(server)
    assert cl.call("g1", "fetch", "joined") == []


# -- Redis faults -------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pywsgi-ws", "werkzeug"])
def test_redis_killed_and_restarted_under_traffic(make_cluster, kind):
    cl = make_cluster({"g1": (kind,), "g2": (kind,)}, ["n1"])
    servers = ("g1", "g2", "n1")
    for server in servers:
        cl.connect(server, server)
        cl.call(server, "join", "r")
    # Traffic: every socket broadcasts a tick to everyone every 50 ms.
    for server in servers:
        cl.clients.repeat(server, "to_all", "tick", server, interval=0.05)
    for server in servers:
        for sender in servers:
            cl.take(server, 1, "tick", where=lambda e, s=sender: e[1] == s)

    cl.redis.kill()
    for server in ("g1", "g2"):
        _wait_for(
            lambda s=server: "connection lost" in cl.output(s), 10, f"{server} to notice"
        )
    # Redis is away: each server's own sockets still get its broadcasts, the ticks included.
    for server in servers:
        cl.drain(server)
    for server in servers:
        assert cl.call(server, "to_all", "during", server) is True
        assert cl.take(server, 1, "during") == [["during", server]]
        cl.take(server, 10, "tick", where=lambda e, s=server: e[1] == s)
    # A broadcast asking for acks counts this server only (Redis cannot say how many there
    # are) and gets its own socket's answer at once; the request waits in the queue.
    assert cl.call("g1", "ask_all", "r", 0.5) == {"responses": ["g1:poll"]}
    assert cl.take("g1", 1, "poll") == [["poll", "r"]]

    cl.redis.start()
    cl.wait()
    # Cluster traffic resumes: a broadcast from each server crosses to the others again.
    for sender in servers:
        assert cl.call(sender, "to_all", "after", sender) is True
    for server in servers:
        got = cl.take(server, 3, "after", timeout=15)
        assert sorted(e[1] for e in got) == sorted(servers), server
    for server in servers:
        cl.clients.stop_repeat(server)
    # The queued request went out once Redis was back (reaching the servers subscribed again
    # by then: Redis keeps nothing for later), but not to g1's own socket a second time. (g1's
    # fetch request went out after it: g1 had read its own request when the fetch returns.)
    assert len(cl.call("g1", "fetch", "r")) == 3
    assert [e for e in cl.drain("g1") if e[0] == "poll"] == []
    for server in ("g1", "g2"):
        output = cl.output(server)
        lost = [line for line in output.splitlines() if "connection lost" in line]
        again = [line for line in output.splitlines() if "connected again" in line]
        assert len(lost) == 1 and len(again) == 1, output
        assert len(output.splitlines()) == 2, output  # and nothing else
