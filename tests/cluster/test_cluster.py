"""A cluster on one real redis-server: two gsio processes and one Node socket.io process
(npm socket.io + @socket.io/redis-adapter), with real socket.io-client sockets on each.

The cluster is shared by the module's tests: g1 (gevent, gevent-websocket), g2 (werkzeug's
threaded server: no gevent at all) and n1 (Node). Each test closes its sockets and uses rooms
of its own, so what one leaves behind cannot reach another. "Nobody else got it" is checked
without sleeping: the sender's server broadcasts a marker afterwards, and Redis delivers one
publisher's messages in order, so a socket that has the marker would have had the rest too.
"""

from __future__ import annotations

import json
import time

import msgpack
import pytest
import redis
from cluster_support import Cluster

from gsio.cluster.hostlink import HostLink
from gsio.io.concurrency import select

SERVERS = ("g1", "g2", "n1")


@pytest.fixture(scope="module", params=["pubsub", "streams", "host"])
def cl(request):
    """The cluster on @socket.io/redis-adapter's pub/sub format, then on the Redis Streams
    adapter's (gsio's and @socket.io/redis-streams-adapter), then without Redis, on the
    in-host adapter (the workers of one host, :func:`gsio.create_host_adapter`): there, Node
    having no such adapter, "n1" is a third gsio server (gsio's own, ``gsio.serve``)."""
    if request.param == "host":
        servers = {"g1": ("pywsgi-ws",), "g2": ("werkzeug",), "n1": ("gsio",)}
        cluster = Cluster(servers, host=True)
    else:
        streams = request.param == "streams"
        cluster = Cluster({"g1": ("pywsgi-ws",), "g2": ("werkzeug",)}, ["n1"], streams=streams)
    yield cluster
    cluster.stop()


@pytest.fixture(autouse=True)
def _fresh(cl, request):
    cl.begin()
    yield
    cl.end()


@pytest.fixture
def room(request):
    """``room("x")``: a room name of this test's own."""
    return lambda name: f"{request.node.name}:{name}"


def canon(values):
    """``values`` in an order of their own (for lists that come in any order)."""
    return sorted(values, key=lambda v: json.dumps(v, sort_keys=True))


def one_each(cl, prefix, nsp="/", **options):
    """A socket on each server, named ``prefix + server``: ``{name: id}``."""
    return {
        f"{prefix}{server}": cl.connect(f"{prefix}{server}", server, nsp, **options)
        for server in SERVERS
    }


# -- broadcasts and rooms -----------------------------------------------------------------------


@pytest.mark.parametrize("sender", SERVERS)
def test_broadcast_reaches_every_server(cl, sender):
    one_each(cl, "s")
    assert cl.call(f"s{sender}", "to_all", "news", "hello", {"n": 1}, b"\x00\x01") is True
    for server in SERVERS:
        assert cl.take(f"s{server}", 1) == [["news", "hello", {"n": 1}, {"bin": "0001"}]]


@pytest.mark.parametrize("sender", ["g2", "n1"])
def test_a_large_binary_broadcast(cl, sender):
    blob = bytes(range(256)) * 1024  # 256 KiB: msgpack's bin 32
    one_each(cl, "s")
    assert cl.call(f"s{sender}", "to_all", "blob", {"data": blob, "size": len(blob)}) is True
    for server in SERVERS:
        assert cl.take(f"s{server}", 1) == [["blob", {"data": {"bin": blob.hex()}, "size": 262144}]]


@pytest.mark.parametrize("sender", SERVERS)
def test_room_reaches_its_members_on_every_server_and_nobody_else(cl, room, sender):
    members, others = one_each(cl, "m"), one_each(cl, "o")
    for name in members:
        assert cl.call(name, "join", room("r")) == [room("r")]
    # The sender (not a member) broadcasts twice: to the room, then to everyone (the marker).
    assert cl.call(f"o{sender}", "to_room", room("r"), "news", [1, b"\xff"]) is True
    got = cl.settle(f"o{sender}", [*members, *others])
    for name in members:
        assert got[name] == [["news", [1, {"bin": "ff"}]]], name
    for name in others:
        assert got[name] == [], name


@pytest.mark.parametrize("sender", ["g1", "n1"])
def test_several_rooms_reach_each_member_once(cl, room, sender):
    a, b, both = room("a"), room("b"), room("both")
    cl.connect("in_a", "g1")
    cl.connect("in_b", "g2")
    cl.connect("in_both", "n1")
    cl.connect("in_other", "g2")
    cl.connect("sender", sender)
    assert cl.call("in_a", "join", a) == [a]
    assert cl.call("in_b", "join", b) == [b]
    assert cl.call("in_both", "join", a, b) == sorted([a, b])
    assert cl.call("in_other", "join", both) == [both]
    assert cl.call("sender", "to_rooms", [a, b], "news", "ab") is True
    got = cl.settle("sender", ["in_a", "in_b", "in_both", "in_other"])
    assert got == {
        "in_a": [["news", "ab"]],
        "in_b": [["news", "ab"]],
        "in_both": [["news", "ab"]],
        "in_other": [],
    }


@pytest.mark.parametrize("sender", ["g2", "n1"])
def test_except_leaves_out_a_room_on_every_server(cl, room, sender):
    r, muted = room("r"), room("muted")
    members, others = one_each(cl, "m"), one_each(cl, "o")
    for name in members:
        cl.call(name, "join", r)
    # One member on each of two servers, and one non-member, are muted.
    for name in ("mg1", "mn1", "og2"):
        cl.call(name, "join", muted)
    everyone = [*members, *others]
    assert cl.call(f"o{sender}", "except_room", r, muted, "to_room") is True
    assert cl.call(f"o{sender}", "except_room", None, muted, "to_all") is True
    got = cl.settle(f"o{sender}", everyone)
    expected = {
        "mg1": [],
        "mg2": [["to_room"], ["to_all"]],
        "mn1": [],
        "og1": [["to_all"]],
        "og2": [],
        "on1": [["to_all"]],
    }
    assert got == expected


@pytest.mark.parametrize("sender", SERVERS)
def test_local_stays_on_the_senders_server(cl, sender):
    names = one_each(cl, "s")
    cl.connect("neighbour", sender)
    assert cl.call(f"s{sender}", "to_local", "local", sender) is True
    got = cl.settle(f"s{sender}", [*names, "neighbour"])
    for name in names:
        assert got[name] == ([["local", sender]] if name == f"s{sender}" else []), name
    assert got["neighbour"] == [["local", sender]]


def test_chat_namespace_is_separate_from_the_main_one(cl, room):
    r = room("r")
    main, chat = one_each(cl, "m"), one_each(cl, "c", "/chat")
    for name in [*main, *chat]:
        assert cl.call(name, "join", r) == [r]
    # To all of /chat from Node, to the room in /chat from gsio: only /chat's sockets.
    assert cl.call("cn1", "to_all", "chat-all") is True
    got = {**cl.settle("cn1", chat), **cl.settle("mn1", main)}
    assert got == {**{n: [["chat-all"]] for n in chat}, **{n: [] for n in main}}
    assert cl.call("cg1", "to_room", r, "chat-room") is True
    got = {**cl.settle("cg1", chat), **cl.settle("mg1", main)}
    assert got == {**{n: [["chat-room"]] for n in chat}, **{n: [] for n in main}}
    # The same room's name in / reaches /'s sockets only.
    assert cl.call("mg2", "to_room", r, "main-room") is True
    got = {**cl.settle("cg2", chat), **cl.settle("mg2", main)}
    assert got == {**{n: [] for n in chat}, **{n: [["main-room"]] for n in main}}


# -- fetch_sockets and remote sockets -----------------------------------------------------------


def fetch_when(cl, name, room, check, timeout=5.0):
    """``fetch(room)`` through socket ``name`` until ``check(result)`` (bounded): Node's adapter
    applies its own sockets_join/leave to its own sockets only when the request comes back
    from Redis, a moment after (gsio does it at once), and fetches its own sockets at once."""
    deadline = time.monotonic() + timeout
    while True:
        result = cl.call(name, "fetch", room)
        if check(result):
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"fetch({room!r}) through {name} still gives {result}")
        time.sleep(0.02)


def _fetched(ids, names, servers, r, auth=True):
    return sorted(
        (
            {
                "id": ids[name],
                "rooms": sorted([ids[name], r]),
                "data": {"server": server},
                "auth": {"user": name} if auth else {},
            }
            for name, server in zip(names, servers)
        ),
        key=lambda s: s["id"],
    )


@pytest.mark.parametrize("asker", ["g1", "n1"])
def test_fetch_sockets_across_the_cluster(cl, room, asker):
    r = room("r")
    ids = {}
    for server in SERVERS:
        ids[f"in{server}"] = cl.connect(f"in{server}", server, auth={"user": f"in{server}"})
        ids[f"out{server}"] = cl.connect(f"out{server}", server, auth={"user": f"out{server}"})
        cl.call(f"in{server}", "join", r)
    expected = _fetched(ids, [f"in{s}" for s in SERVERS], SERVERS, r)
    assert cl.call(f"out{asker}", "fetch", r) == expected
    assert cl.call(f"in{asker}", "fetch", room("empty")) == []


def test_fetch_sockets_in_the_chat_namespace(cl, room):
    r = room("r")
    ids = {}
    for server in SERVERS:
        ids[server] = cl.connect(server, server, "/chat", auth={"user": server})
        cl.call(server, "join", r)
        cl.connect(f"main{server}", server)
        cl.call(f"main{server}", "join", r)
    expected = _fetched(ids, SERVERS, SERVERS, r)
    for server in SERVERS:
        assert cl.call(server, "fetch", r) == expected


@pytest.mark.parametrize("actor", ["g1", "n1"])
def test_remote_sockets_emit_join_leave_disconnect(cl, room, actor):
    r, extra = room("r"), room("extra")
    ids = {}
    for server in SERVERS:
        ids[server] = cl.connect(server, server)
        cl.call(server, "join", r)
    cl.connect("actor", actor)
    # emit through each fetched socket: a RemoteConn for the other servers' sockets
    assert cl.call("actor", "remote", r, "emit", "direct", {"from": actor}) is True
    for server in SERVERS:
        assert cl.take(server, 1) == [["direct", {"from": actor}]]
    # join, then leave, seen by fetch_sockets from the same server (after, in Redis' order)
    assert cl.call("actor", "remote", r, "join", extra) is True
    fetched = fetch_when(cl, "actor", extra, lambda f: len(f) == 3)
    assert sorted(s["id"] for s in fetched) == sorted(ids.values())
    assert all(s["rooms"] == sorted([s["id"], r, extra]) for s in fetched)
    assert cl.call("actor", "remote", r, "leave", extra) is True
    assert fetch_when(cl, "actor", extra, lambda f: f == []) == []
    assert [s["rooms"] for s in cl.call("actor", "fetch", r)] == [
        sorted([i, r]) for i in sorted(ids.values())
    ]
    # disconnect: each socket is told "io server disconnect"; the actor stays
    assert cl.call("actor", "remote", r, "disconnect") is True
    for server in SERVERS:
        assert cl.take(server, 1) == [["__disconnect", "io server disconnect"]]
    assert cl.settle("actor", ["actor"]) == {"actor": []}


# -- operations on the sockets of a room --------------------------------------------------------


@pytest.mark.parametrize("sender", SERVERS)
def test_sockets_join_leave_and_disconnect_reach_every_server(cl, room, sender):
    r, joined = room("r"), room("joined")
    members, others = one_each(cl, "m"), one_each(cl, "o")
    for name in members:
        cl.call(name, "join", r)
    actor = f"o{sender}"
    assert cl.call(actor, "sockets_join", r, joined) is True
    fetched = fetch_when(cl, actor, joined, lambda f: len(f) == 3)
    assert sorted(s["id"] for s in fetched) == sorted(members.values())
    assert cl.call(actor, "to_room", joined, "in-joined") is True
    got = cl.settle(actor, [*members, *others])
    assert got == {name: [["in-joined"]] if name in members else [] for name in got}

    assert cl.call(actor, "sockets_leave", r, joined) is True
    assert fetch_when(cl, actor, joined, lambda f: f == []) == []
    assert len(cl.call(actor, "fetch", r)) == 3

    assert cl.call(actor, "disconnect_sockets", r) is True
    for name in members:
        assert cl.take(name, 1) == [["__disconnect", "io server disconnect"]]
    got = cl.settle(actor, others)
    assert got == {name: [] for name in others}
    assert cl.call(actor, "fetch", r) == []


# -- server-side emits --------------------------------------------------------------------------


@pytest.mark.parametrize("nsp", ["/", "/chat"])
@pytest.mark.parametrize("sender", ["g1", "n1"])
def test_server_side_emit_reaches_the_other_servers(cl, wait_for, room, sender, nsp):
    token = room("token")
    cl.connect("s", sender, nsp)
    assert cl.call("s", "server_emit", "hello", token, {"n": 1}) is True
    entry = [nsp, token, {"n": 1}]
    for server in SERVERS:
        if server != sender:
            wait_for(lambda s=server: entry in cl.log(s)["server_side"], 10, f"{token} on {server}")
    # The sender's own emit came back to it from Redis before the answers to this call: by the
    # time the call returns, its server would have logged the emit if it took its own.
    assert len(cl.call("s", "server_call", "hello", "after")) == 2
    assert entry not in cl.log(sender)["server_side"]


@pytest.mark.parametrize("nsp", ["/", "/chat"])
@pytest.mark.parametrize("sender", SERVERS)
def test_server_side_call_answers_from_every_other_server(cl, room, sender, nsp):
    token = room("token")
    cl.connect("s", sender, nsp)
    answers = cl.call("s", "server_call", "hello", token)
    assert answers == [f"hello from {s}" for s in SERVERS if s != sender]
    for server in SERVERS:
        logged = [nsp, token] in cl.log(server)["server_side"]
        assert logged == (server != sender), server


# -- broadcasts with acks -----------------------------------------------------------------------


@pytest.mark.parametrize("asker", SERVERS)
def test_broadcast_acks_come_from_every_server(cl, room, asker):
    r = room("r")
    members = one_each(cl, "m")
    cl.connect("binary", "g2", answer={"poll": {"bin": b"\x01\x02", "n": 2}})
    cl.connect("outside", asker)
    for name in [*members, "binary"]:
        cl.call(name, "join", r)
    answer = cl.call("outside", "ask_all", r, 5)
    assert list(answer) == ["responses"]
    assert canon(answer["responses"]) == canon(
        [f"{name}:poll" for name in members] + [{"bin": {"bin": "0102"}, "n": 2}]
    )
    for name in [*members, "binary"]:
        assert cl.take(name, 1) == [["poll", r]]
    assert cl.settle("outside", ["outside"]) == {"outside": []}


@pytest.mark.parametrize("asker", ["g2", "n1"])
def test_broadcast_acks_when_some_servers_have_no_member(cl, room, asker):
    """Every server says how many sockets it asked, none included: the acks of the members
    complete the call, and a room without members anywhere completes at once."""
    r = room("r")
    cl.connect("only", "g1")
    cl.call("only", "join", r)
    cl.connect("asker", asker)
    assert cl.call("asker", "ask_all", r, 5) == {"responses": ["only:poll"]}
    assert cl.call("asker", "ask_all", room("nobody"), 5) == {"responses": []}


@pytest.mark.parametrize("silent", SERVERS)
@pytest.mark.parametrize("asker", ["g1", "n1"])
def test_broadcast_ack_timeout_keeps_the_answers_that_came(cl, room, asker, silent):
    r = room("r")
    members = one_each(cl, "m")
    cl.connect("mute", silent, silent=["poll"])
    for name in [*members, "mute"]:
        cl.call(name, "join", r)
    answer = cl.call(f"m{asker}", "ask_all", r, 1.0)
    assert answer == {"timeout": True, "responses": sorted(f"{name}:poll" for name in members)}
    assert cl.take("mute", 1) == [["poll", r]]


# -- other transports ---------------------------------------------------------------------------


@pytest.mark.parametrize("transport", ["polling", "default"])
def test_polling_clients_in_the_cluster(cl, room, transport):
    r = room("r")
    polling = one_each(cl, "p", transport=transport)
    ws = one_each(cl, "w")
    for name in [*polling, "wg1"]:
        cl.call(name, "join", r)
    for sender in SERVERS:
        assert cl.call(f"p{sender}", "to_all", "all", sender, b"\x07") is True
        assert cl.call(f"p{sender}", "to_room", r, "room", sender) is True
        got = cl.settle(f"p{sender}", [*polling, *ws])
        for name in got:
            expected = [["all", sender, {"bin": "07"}]]
            if name in polling or name == "wg1":
                expected.append(["room", sender])
            assert got[name] == expected, (sender, name)
    assert cl.call("pg2", "ask_all", r, 5) == {
        "responses": sorted(f"{name}:poll" for name in [*polling, "wg1"])
    }


def test_a_servers_own_requests_are_ignored_when_they_come_back(cl, room, wait_for):
    """A request with g1's uid that g1 no longer waits for (it waited in g1's queue while Redis
    was away, say) is not done a second time by g1; the other servers do it. (On the in-host
    bus a server never gets its own: a peer of the test's own publishes it.)"""
    r = room("r")
    members = one_each(cl, "m")
    for name in members:
        cl.call(name, "join", r)
    uid = cl.log("g1")["uid"]
    token = cl.token()
    request = {
        "uid": uid,
        "requestId": "late",
        "type": 7,  # BROADCAST, asking for acks
        "packet": {"type": 2, "data": ["poll", r], "nsp": "/"},
        "opts": {"rooms": [r], "except": [], "flags": {"timeout": 1000}},
    }
    marker = {"type": 2, "data": ["__mark", token], "nsp": "/"}
    opts = {"rooms": [], "except": [], "flags": {}}
    if cl.bus is not None:  # a process of its own on the bus, publishing as g1 would
        link = HostLink(cl.bus, select(None), tag="tester")
        try:
            wait_for(lambda: link.numsub("socket.io-request#/#") == 3, 10, "the tester joined")
            link.publish("socket.io-request#/#", msgpack.packb(request))
            link.publish("socket.io#/#", msgpack.packb(["emitter", marker, opts]))
            got = cl.until_mark(members, token)
        finally:
            link.close()
        assert got == {"mg1": [], "mg2": [["poll", r]], "mn1": [["poll", r]]}
        return
    publisher = redis.Redis(port=cl.redis.port)
    if cl.streams:  # a stream entry with g1's uid, then a marker from the emitter
        poll = {"packet": {"type": 2, "data": ["poll", r]}, "opts": {"rooms": [r], "except": []}}
        marker = {"packet": {"type": 2, "data": ["__mark", token]}, "opts": {"rooms": []}}
        for sender, data in ((uid, poll), ("emitter", marker)):
            entry = {"uid": sender, "nsp": "/", "type": "3", "data": json.dumps(data)}
            publisher.xadd("socket.io", entry)
        publisher.close()
        got = cl.until_mark(members, token)
        assert got == {"mg1": [], "mg2": [["poll", r]], "mn1": [["poll", r]]}
        return
    try:
        publisher.publish("socket.io-request#/#", msgpack.packb(request))
        publisher.publish("socket.io#/#", msgpack.packb(["emitter", marker, opts]))
    finally:
        publisher.close()
    got = cl.until_mark(members, token)
    assert got == {"mg1": [], "mg2": [["poll", r]], "mn1": [["poll", r]]}


def test_answers_on_each_servers_own_channel():
    """publish_on_specific_response_channel (Node's publishOnSpecificResponseChannel) on every
    server: the answers to a request go to the requester's own channel, in a mixed cluster."""
    cluster = Cluster(
        {"g1": ("pywsgi-ws", "--specific-responses"), "g2": ("werkzeug", "--specific-responses")},
        ["n1"],
        node_args=("--specific-responses",),
    )
    listener = redis.Redis(port=cluster.redis.port).pubsub()
    try:
        listener.psubscribe("socket.io-response#/#*")
        ids = {}
        for server in SERVERS:
            ids[server] = cluster.connect(server, server, auth={"user": server})
            cluster.call(server, "join", "r")
        own = {server: cluster.log(server)["uid"] for server in ("g1", "g2")}
        for asker in SERVERS:
            expected = _fetched(ids, SERVERS, SERVERS, "r")
            assert cluster.call(asker, "fetch", "r") == expected
            channels = []  # of the two other servers' answers
            while len(channels) < 2:
                message = listener.get_message(timeout=5)
                assert message is not None, channels
                if message["type"] == "pmessage":
                    channels.append(message["channel"].decode())
            assert len(set(channels)) == 1, channels  # both on the asker's own channel
            channel = channels[0]
            assert channel != "socket.io-response#/#"
            if asker in own:
                assert channel == f"socket.io-response#/#{own[asker]}#"
            else:
                assert channel not in {f"socket.io-response#/#{uid}#" for uid in own.values()}
        assert cluster.call("g1", "server_call", "hello", 1) == ["hello from g2", "hello from n1"]
        assert cluster.call("n1", "ask_all", "r", 5) == {
            "responses": ["g1:poll", "g2:poll", "n1:poll"]
        }
        cluster.end()
    finally:
        listener.close()
        cluster.stop()
