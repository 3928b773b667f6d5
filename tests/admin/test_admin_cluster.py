"""gsio.instrument() on a cluster: two gsio servers on one redis-server (the Redis adapter),
an admin connected to one of them sees the other's sockets and stats, and its commands reach
the other's sockets (they go through the adapter's broadcast operators)."""

from __future__ import annotations

from cluster_support import wait_cluster
from test_admin_protocol import admin, one, take


def test_an_admin_on_one_server_sees_and_commands_the_other(start_server, clients, redis_server):
    a_server = start_server("admin_app", "--redis", redis_server.url, "--server-id", "A")
    b_server = start_server("admin_app", "--redis", redis_server.url, "--server-id", "B")
    wait_cluster(redis_server.port, 2)
    wait_cluster(redis_server.port, 2, "/admin")
    far = clients.connect("far", b_server.port, "/")
    clients.call("far", "join", "r1")
    admin(clients, a_server.port)
    sockets = one(clients, "adm", "all_sockets")[1]
    mine = {s["id"]: s for s in sockets}[far]
    assert mine["nsp"] == "/" and mine["rooms"] == [far, "r1"]
    assert mine["transport"] == "websocket" and len(mine["clientId"]) == 12
    stats = take(clients, "adm", "server_stats", 4, timeout=10)
    assert {s[1]["serverId"] for s in stats} == {"A", "B"}
    # emit to a room: the socket of server B gets it
    clients.emit("adm", "emit", "/", "r1", "hello", 1)
    assert clients.wait_events("far", 1, event="hello") == [["hello", 1]]
    # join it to a room, then emit there
    clients.emit("adm", "join", "/", "r2", far)
    assert one(clients, "adm", "room_joined", lambda e: e[2] == "r2")[3] == far
    clients.emit("adm", "emit", "/", "r2", "in-r2")
    assert clients.wait_events("far", 1, event="in-r2") == [["in-r2"]]
    # disconnect it
    clients.emit("adm", "_disconnect", "/", False, far)
    assert clients.wait_events("far", 1, event="__disconnect") == [
        ["__disconnect", "io server disconnect"]
    ]
    gone = one(clients, "adm", "socket_disconnected", lambda e: e[2] == far)
    assert gone[3] == "server namespace disconnect"
