"""gsio.instrument(): the Admin UI's protocol, as @socket.io/admin-ui's Node server speaks it,
seen by real socket.io-client sockets (tests/js/driver.js) on a real server
(tests/servers/admin_app.py): config, all_sockets, server_stats, every development-mode event
and every command."""

from __future__ import annotations

import re
import time

import pytest

ALL = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT"]
ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$"


def take(clients, name, event, count=1, timeout=10.0, where=None):
    """The next ``count`` ``event`` events of ``name`` (matching ``where``); others are kept
    in ``clients.kept[name]``."""
    kept = clients.__dict__.setdefault("kept", {}).setdefault(name, [])
    found = []
    deadline = time.monotonic() + timeout
    while True:
        pool = kept + clients.events(name)
        kept.clear()
        for e in pool:
            if len(found) < count and e[0] == event and (where is None or where(e)):
                found.append(e)
            else:
                kept.append(e)
        if len(found) >= count:
            return found
        if time.monotonic() > deadline:
            pytest.fail(f"{name}: {len(found)} of {count} {event!r} in {timeout} s; had {kept}")
        time.sleep(0.02)


def one(clients, name, event, where=None, timeout=10.0):
    return take(clients, name, event, 1, timeout, where)[0]


def admin(clients, port, name="adm", **options):
    clients.connect(name, port, "/admin", **options)
    return one(clients, name, "config")[1]["supportedFeatures"]


def test_development_config_and_all_sockets(start_server, clients):
    server = start_server("admin_app")
    a = clients.connect("a", server.port, "/", transport="polling")
    clients.call("a", "join", "r1")
    clients.call("a", "set", "user", "ann")
    assert admin(clients, server.port) == [*ALL, "AGGREGATED_EVENTS", "ALL_EVENTS"]
    sockets = one(clients, "adm", "all_sockets")[1]
    by_id = {s["id"]: s for s in sockets}
    assert {s["nsp"] for s in sockets} == {"/", "/admin"}
    mine = by_id[a]
    assert mine["nsp"] == "/" and mine["transport"] == "polling"
    assert len(mine["clientId"]) == 12
    assert mine["rooms"] == [a, "r1"]
    assert mine["data"] == {"user": "ann"}  # (not the UI's own "_admin" entry)
    handshake = mine["handshake"]
    assert handshake["address"] == "127.0.0.1"
    assert handshake["query"]["EIO"] == "4" and handshake["url"].startswith("/socket.io/")
    assert handshake["secure"] is False and isinstance(handshake["issued"], int)
    assert "auth" not in handshake and "host" in handshake["headers"]


def test_server_stats(start_server, clients):
    server = start_server("admin_app", "--server-id", "s1")
    clients.connect("a", server.port, "/", transport="polling")
    clients.connect("b", server.port, "/other")
    admin(clients, server.port)
    first, second = take(clients, "adm", "server_stats", 2, timeout=10)
    stats = second[1]
    assert stats["serverId"] == "s1" and isinstance(stats["pid"], int)
    assert stats["hostname"] and stats["uptime"] > 0
    assert stats["clientsCount"] == 3 and stats["pollingClientsCount"] == 1
    counts = {n["name"]: n["socketsCount"] for n in stats["namespaces"]}
    assert counts == {"/": 1, "/other": 1, "/admin": 1}
    events = first[1]["aggregatedEvents"] + stats["aggregatedEvents"]
    assert all(set(e) >= {"timestamp", "type", "count"} for e in events)
    assert all(e["timestamp"] % 1000 == 0 for e in events)


def totals(clients, name, want, timeout=15.0, sums=None):
    """Sum the aggregated events of ``server_stats`` (into ``sums``) until ``want(sums)``."""
    sums = {} if sums is None else sums
    deadline = time.monotonic() + timeout
    while not want(sums):
        if time.monotonic() > deadline:
            pytest.fail(f"aggregated events: {sums}")
        for e in take(clients, name, "server_stats", timeout=5)[0][1]["aggregatedEvents"]:
            key = (e["type"], e.get("subType"))
            sums[key] = sums.get(key, 0) + e["count"]
    return sums


@pytest.mark.parametrize("mode", ["development", "production"])
def test_aggregated_events(start_server, clients, mode):
    server = start_server("admin_app", "--mode", mode)
    features = admin(clients, server.port)
    if mode == "production":
        assert features == [*ALL, "AGGREGATED_EVENTS"]
    clients.connect("a", server.port, "/")
    clients.connect("b", server.port, "/")
    clients.call("a", "join", "r")
    clients.call("b", "join", "r")
    sums = totals(clients, "adm", lambda s: s.get(("packetsIn", None), 0) >= 2)
    for _ in range(3):
        clients.emit("a", "ping", "xyz")  # 2["ping","xyz"]: 15 bytes each (as Node, the Engine.IO packet's data)
    clients.emit("a", "shout", "r", "hey")  # 2["shout","r","hey"], no ack: 20 bytes
    clients.wait_events("b", 1, event="shouted")  # 2["shouted","hey"] to 2 sockets: 17 bytes each
    clients.close("a")
    sums = totals(
        clients,
        "adm",
        lambda s: s.get(("packetsIn", None), 0) >= 6
        and ("rawDisconnection", "transport close") in s,
        sums=sums,
    )
    # The joins (2[0]["join","r"]: 14 bytes each), then:
    assert sums[("packetsIn", None)] == 6 and sums[("bytesIn", None)] == 2 * 14 + 45 + 20
    # Out: the two "shouted", and the admin's server_stats (each told as it goes: counted
    # with what the next one reports), whose sizes vary.
    assert sums[("packetsOut", None)] >= 2 and sums[("bytesOut", None)] >= 2 * 17
    assert sums[("rawConnection", None)] == 3  # the admin's, a's and b's
    if mode == "production":
        assert "all_sockets" not in [e[0] for e in clients.kept["adm"]]


def test_development_events(start_server, clients):
    server = start_server("admin_app")
    a = clients.connect("a", server.port, "/")
    clients.call("a", "join", "r1")
    admin(clients, server.port)
    one(clients, "adm", "all_sockets")
    b = clients.connect("b", server.port, "/", transport="default")  # polling, then upgrade
    connected = one(clients, "adm", "socket_connected", lambda e: e[1]["id"] == b)
    assert connected[1]["transport"] == "polling" and connected[1]["rooms"] == [b]
    assert re.match(ISO, connected[2])
    assert one(clients, "adm", "room_joined", lambda e: e[3] == b)[1:4] == ["/", b, b]
    upgraded = one(clients, "adm", "socket_updated", lambda e: "transport" in e[1])
    assert upgraded[1] == {"id": b, "nsp": "/", "transport": "websocket"}
    clients.call("b", "set", "user", "bob")
    updated = one(clients, "adm", "socket_updated", lambda e: "data" in e[1])
    assert updated[1] == {"id": b, "nsp": "/", "data": {"user": "bob"}}
    clients.call("b", "join", "r1")
    assert one(clients, "adm", "room_joined", lambda e: e[2] == "r1")[1:4] == ["/", "r1", b]
    clients.call("b", "echo", 1, "x")
    received = one(clients, "adm", "event_received", lambda e: e[3][0] == "echo")
    assert received[1:4] == ["/", b, ["echo", 1, "x"]]
    clients.call("b", "shout", "r1", "hi")
    sent = take(clients, "adm", "event_sent", 2, where=lambda e: e[3][0] == "shouted")
    assert sorted(e[2] for e in sent) == sorted([a, b])
    assert sent[0][3] == ["shouted", "hi"]
    clients.call("b", "leave", "r1")
    assert one(clients, "adm", "room_left", lambda e: e[2] == "r1")[1:4] == ["/", "r1", b]
    clients.close("b")
    gone = one(clients, "adm", "socket_disconnected", lambda e: e[2] == b)
    assert gone[1:4] == ["/", b, "client namespace disconnect"]
    assert one(clients, "adm", "room_left", lambda e: e[3] == b)[1:4] == ["/", b, b]
    # The admin namespace's own events are not told (nor the admin's stats, every 2 s).
    kept = clients.kept["adm"] + clients.events("adm")
    assert not [e for e in kept if e[0] in ("event_sent", "event_received") and e[1] == "/admin"]


def test_commands(start_server, clients):
    server = start_server("admin_app")
    a = clients.connect("a", server.port, "/")
    b = clients.connect("b", server.port, "/")
    clients.call("a", "join", "r1")
    admin(clients, server.port)
    one(clients, "adm", "all_sockets")
    # emit: to a room, then to the whole namespace
    clients.emit("adm", "emit", "/", "r1", "hello", 1, {"x": 2})
    assert clients.wait_events("a", 1, event="hello") == [["hello", 1, {"x": 2}]]
    clients.emit("adm", "emit", "/", None, "all", "z")
    assert clients.wait_events("b", 1, event="all") == [["all", "z"]]
    assert clients.wait_events("a", 1, event="all") == [["all", "z"]]
    # join / leave: one socket (its id is a room), then every socket (MJOIN, MLEAVE)
    clients.emit("adm", "join", "/", "r2", b)
    assert one(clients, "adm", "room_joined", lambda e: e[2] == "r2")[3] == b
    clients.emit("adm", "join", "/", "r3")
    assert {e[3] for e in take(clients, "adm", "room_joined", 2, where=lambda e: e[2] == "r3")} == {a, b}
    clients.emit("adm", "leave", "/", "r3", a)
    assert one(clients, "adm", "room_left", lambda e: e[2] == "r3")[3] == a
    clients.emit("adm", "leave", "/", "r3")
    assert one(clients, "adm", "room_left", lambda e: e[2] == "r3")[3] == b
    # bad input is ignored (logged), the admin stays connected
    clients.emit("adm", "join", 5, "r4")
    clients.emit("adm", "emit", "/", None, "connect")
    # _disconnect: one socket, then a whole client (close)
    c = clients.connect("c", server.port, "/other")
    clients.emit("adm", "_disconnect", "/", False, a)
    assert clients.wait_events("a", 1, event="__disconnect") == [["__disconnect", "io server disconnect"]]
    gone = one(clients, "adm", "socket_disconnected", lambda e: e[2] == a)
    assert gone[3] == "server namespace disconnect"
    clients.emit("adm", "_disconnect", "/other", True, c)
    assert clients.wait_events("c", 1, event="__disconnect")[0][0] == "__disconnect"
    one(clients, "adm", "socket_disconnected", lambda e: e[2] == c)
    assert server.get_json("/sockets") == [b]
    told = clients.kept["adm"] + clients.events("adm")
    assert not [e for e in told if e[0] == "room_joined" and e[2] == "r4"]  # (the bad join)
    assert "ignored" in server.output() or "refused" in server.output()


def test_readonly(start_server, clients):
    server = start_server("admin_app", "--readonly")
    clients.connect("a", server.port, "/")
    assert admin(clients, server.port) == ["AGGREGATED_EVENTS", "ALL_EVENTS"]
    clients.emit("adm", "emit", "/", None, "hello")
    clients.emit("adm", "_disconnect", "/", False)
    clients.call("a", "echo", 1)  # (a is still there, and got nothing)
    one(clients, "adm", "server_stats")
    assert clients.events("a") == []


def test_basic_auth(start_server, run_node):
    import bcrypt
    # Cost 13: a check takes ~0.5 s here, time for five echoes on another client many times.
    hashed = bcrypt.hashpw(b"s3cret", bcrypt.gensalt(13)).decode()
    server = start_server("admin_app", "--hash", hashed)
    seen = run_node("sio_admin_auth", str(server.port), "websocket", timeout=60)
    refusal = {"message": "invalid credentials", "data": None}
    for case in ("noAuth", "wrongPassword", "wrongUser", "badSession", "notStrings"):
        assert seen[case] == refusal, case
    assert seen["order"] == ["echoes", "login"]  # the event loop went on during the check
    assert re.fullmatch(r"[0-9a-f]{16}", seen["sessionId"])
    assert seen["firstEvents"][:3] == ["session", "config", "all_sockets"]
    assert "session" not in seen["againEvents"] and seen["againEvents"][0] == "config"
    assert server.output().count("invalid credentials") == 5  # one line each


def test_auth_is_required():
    import gsio

    sio = gsio.Server()
    with pytest.raises(TypeError, match="auth"):
        gsio.instrument(sio)
    with pytest.raises(ValueError, match="bcrypt hash"):
        gsio.instrument(sio, auth={"type": "basic", "username": "a", "password": "plain"})
    with pytest.raises(ValueError):
        gsio.instrument(sio, auth=True)
    with pytest.raises(ValueError, match="mode"):
        gsio.instrument(sio, auth=False, mode="dev")
