"""Several gsio processes behind a real nginx: sticky sessions, and WebSocket-only clients.

- Sticky sessions: every request of an Engine.IO session reaches the process that holds it.
  nginx hashes the client's address to a backend. (Without them, the Redis adapter forwards a
  request to its session's process: tests/test_forwarding.py; with ``forward_requests=False``,
  polling needs them.)
- WebSocket-only clients need nothing: a session lives on one TCP connection.

Broadcasts cross the processes through Redis in both.
"""

from __future__ import annotations

import pytest
from cluster_support import wait_cluster

# Client addresses, as many as it takes for the hash to use both backends (see below).
ADDRESSES = [f"127.0.0.{n}" for n in range(2, 42)]


@pytest.fixture
def backends(redis_server, start_server):
    g1 = start_server("cluster_app", "--redis", redis_server.url, "--name", "g1")
    g2 = start_server("cluster_app", "--redis", redis_server.url, "--name", "g2")
    wait_cluster(redis_server.port, 2)
    return [g1.port, g2.port]


@pytest.fixture
def nginx():
    from nginx_server import Nginx

    started = []

    def start(ports, balance="hash $remote_addr consistent"):
        try:
            server = Nginx(ports, balance)
        except RuntimeError as exc:
            pytest.skip(str(exc))
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.mark.parametrize("transport", ["polling", "default"])
def test_sticky_sessions_carry_polling_clients(backends, nginx, clients, transport):
    proxy = nginx(backends)
    # At least 8 clients, and more until the hash has sent some to each process (else the test
    # proves nothing). The backends' ports change from run to run, and with them the hash's
    # split of the addresses: 8 fixed ones all landed on one backend now and then.
    names = []
    servers = {}
    for address in ADDRESSES:
        name = f"c{len(names)}"
        clients.connect(name, proxy.port, transport=transport, localAddress=address)
        names.append(name)
        servers[name] = clients.call(name, "whoami")[0]["server"]
        if len(names) >= 8 and set(servers.values()) == {"g1", "g2"}:
            break
    assert set(servers.values()) == {"g1", "g2"}, servers
    for name in names:
        assert clients.call(name, "join", "sticky") == [["sticky"]]
    assert clients.call(names[0], "to_room", "sticky", "news", "across") == [True]
    for name in names:
        assert clients.wait_events(name, 1, event="news") == [["news", "across"]]
    # Sessions stay where they are: several more round trips each, still connected.
    for _ in range(3):
        for name in names:
            assert clients.call(name, "whoami")[0]["server"] == servers[name]
    for name in names:
        assert not [e for e in clients.events(name) if e[0] == "__disconnect"]


def test_websocket_only_clients_need_no_sticky_sessions(backends, nginx, clients):
    proxy = nginx(backends, balance="")  # round robin
    names = [f"w{i}" for i in range(6)]
    for name in names:
        clients.connect(name, proxy.port, transport="websocket")
    servers = {clients.call(name, "whoami")[0]["server"] for name in names}
    assert servers == {"g1", "g2"}
    assert clients.call(names[0], "to_all", "news", "everyone") == [True]
    for name in names:
        assert clients.wait_events(name, 1, event="news") == [["news", "everyone"]]


def test_polling_without_sticky_sessions_or_forwarding_fails(
    redis_server, start_server, nginx, clients
):
    """The control: with the forwarding off, round robin sends a session's next request to the
    other process, which answers 400 "Session ID unknown", so the client cannot connect."""
    backends = []
    for name in ("g1", "g2"):
        args = ("--redis", redis_server.url, "--name", name, "--no-forwarding")
        backends.append(start_server("cluster_app", *args).port)
    wait_cluster(redis_server.port, 2)
    proxy = nginx(backends, balance="")
    with pytest.raises(pytest.fail.Exception, match="connect_error"):
        clients.connect("lost", proxy.port, transport="polling")
