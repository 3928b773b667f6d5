"""The seams of gsio/server and gsio/cluster: imports one way, one broadcasting surface, one
recipients value, delivery through a connection's public interface, a client on any transport.
"""

import ast
import inspect
import threading
from pathlib import Path

import pytest

import gsio
from gsio.cluster.emitter import Emitter
from gsio.io.concurrency import select
from gsio.protocol.socketio import Packet, PacketType
from gsio.server.adapter import Adapter, BroadcastOptions
from gsio.server.broadcast import Broadcasting
from gsio.server.client import Client
from gsio.server.namespace import Namespace
from gsio.server.recipients import EVERYONE, Recipients
from gsio.server.server import Server
from gsio.testing import TestClient

GSIO = Path(__file__).resolve().parents[2] / "gsio"

#: gsio/server's modules, lowest first: each imports only modules before it.
SERVER_ORDER = [
    "recipients",
    "recovery",
    "handshake",
    "files",
    "interfaces",
    "adapter",
    "broadcast",
    "message",
    "compressing",
    "listeners",
    "conn",
    "parked",
    "runner",
    "namespace",
    "client",
    "legacy",
    "observers",
    "debugging",
    "server",
]

BROADCASTING = [
    "emit",
    "compress",
    "send",
    "to",
    "in_",
    "except_",
    "volatile",
    "local",
    "timeout",
    "fetch_sockets",
    "sockets_join",
    "sockets_leave",
    "disconnect_sockets",
]


def _imports(path: Path) -> set[str]:
    """Every gsio module ``path`` imports, type-only imports included."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in found if name.split(".")[0] == "gsio"}


def test_the_server_modules_import_one_way():
    assert sorted(p.stem for p in (GSIO / "server").glob("*.py")) == sorted(
        ["__init__", *SERVER_ORDER]
    )
    for i, name in enumerate(SERVER_ORDER):
        higher = {f"gsio.server.{m}" for m in SERVER_ORDER[i + 1 :]} | {"gsio.server"}
        above = {"gsio.cluster", "gsio.flask", "gsio.testing", "gsio.gunicorn", "gsio"}
        wrong = {
            imp
            for imp in _imports(GSIO / "server" / f"{name}.py")
            if imp in higher
            or imp in above
            or imp.startswith(("gsio.server.server", "gsio.cluster"))
        }
        assert not wrong, f"gsio.server.{name} imports {sorted(wrong)}"


def test_the_cluster_imports_only_downward():
    allowed = ("gsio.cluster", "gsio.server.", "gsio.protocol", "gsio.io", "gsio.exceptions")
    for path in (GSIO / "cluster").glob("*.py"):
        wrong = {imp for imp in _imports(path) if not imp.startswith(allowed)}
        assert not wrong, f"gsio/cluster/{path.name} imports {sorted(wrong)}"


# -- one broadcasting surface ------------------------------------------------------------------


def test_server_and_namespace_share_one_broadcasting_surface():
    for name in BROADCASTING:
        shared = Broadcasting.__dict__[name]
        assert inspect.getattr_static(Namespace, name) is shared, name
        if name not in ("emit", "send"):  # the server's also take namespace=
            assert inspect.getattr_static(Server, name) is shared, name


def test_the_documented_signatures_hold():
    assert list(inspect.signature(Server.emit).parameters) == [
        "self",
        "event",
        "args",
        "to",
        "namespace",
        "callback",
    ]
    assert list(inspect.signature(Server.send).parameters) == ["self", "args", "to", "namespace"]
    assert "callback" in inspect.signature(Namespace.emit).parameters
    assert list(inspect.signature(Namespace.disconnect_sockets).parameters) == ["self", "close"]
    assert list(inspect.signature(Server.timeout).parameters) == ["self", "seconds"]


# -- one recipients value ------------------------------------------------------------------------


def test_recipients_is_one_immutable_value():
    r = Recipients(frozenset({"a"}), frozenset({"b"}), volatile=True, timeout=2.0)
    with pytest.raises(AttributeError):
        r.rooms = frozenset()  # type: ignore[misc]
    assert not hasattr(r, "__dict__")
    assert hash(r) == hash(
        Recipients(frozenset({"a"}), frozenset({"b"}), volatile=True, timeout=2.0)
    )
    assert r.to("c", ["d"]) == Recipients(
        frozenset("acd"), frozenset({"b"}), volatile=True, timeout=2.0
    )
    assert r.except_("x").except_rooms == frozenset({"b", "x"})
    assert r.flagged(local=True).flags == {"volatile": True, "local": True, "timeout": 2.0}
    assert EVERYONE.flags == {}
    # The former name builds the same value from a flags map.
    assert (
        BroadcastOptions(frozenset({"a"}), frozenset({"b"}), {"volatile": True, "timeout": 2.0})
        == r
    )


def test_broadcasts_conns_and_the_emitter_build_the_same_recipients():
    sio = gsio.Server(async_mode="threading")
    expected = Recipients(frozenset({"r1", "r2"}), frozenset({"x"}), volatile=True)
    op = sio.to("r1").in_(["r2"]).except_("x").volatile
    assert op.recipients == expected
    assert sio.of("/chat").volatile.to("r1", "r2").except_("x").recipients == expected
    assert sio.local.timeout(3).recipients == Recipients(local=True, timeout=3)
    emitter = Emitter(object(), namespace="/chat").to("r1").to("r2").except_("x").volatile
    assert emitter.recipients == expected
    assert emitter.of("/other").recipients == EVERYONE


# -- the adapter delivers through a connection's public interface -------------------------------


class FakeServer:
    def __init__(self):
        self.concurrency = select("threading")
        self.recovery = None
        self.observers = ()  # (interfaces.Hooks: false, no one observes)

    def encode(self, packet):
        return [f"2{packet.data}"]


class Member:
    """Only what the adapter may use of a connection (interfaces.Member): no client."""

    def __init__(self, sid, fail=False):
        self.id = sid
        self.connected = True
        self.sent = []
        self.acks = {}
        self.disconnected = None
        self.fail = fail
        self.send_parts = self._send_parts

    def _send_parts(self, parts, volatile=False):
        if self.fail:
            raise RuntimeError("this one fails")
        self.sent.append((parts, volatile))
        return True

    def expect_ack(self, ack_id, on_ack):
        self.acks[ack_id] = on_ack

    def disconnect(self, close=False):
        self.disconnected = close


class Host:
    name = "/"

    def __init__(self, members):
        self.server = FakeServer()
        self.conns = {m.id: m for m in members}
        self._ids = iter(range(100))

    def next_ack_id(self):
        return next(self._ids)


def test_the_adapter_delivers_through_the_members_public_interface():
    members = [Member("a"), Member("b", fail=True), Member("c"), Member("d")]
    members[3].connected = False
    host = Host(members)
    adapter = Adapter(host)
    for m in members:
        adapter.add_all(m.id, [m.id, "room"])
    adapter.broadcast(
        Packet(PacketType.EVENT, "/", ["ev"]), Recipients().to("room").flagged(volatile=True)
    )
    a, _, c, d = members
    assert a.sent == c.sent == [(["2['ev']"], True)]
    assert a.sent[0][0] is c.sent[0][0]  # encoded once, the same parts for every recipient
    assert d.sent == []  # not connected

    counts = []
    adapter.broadcast_with_ack(
        Packet(PacketType.EVENT, "/", ["q"]), Recipients().except_("b"), counts.append, print
    )
    assert counts == [2] and list(a.acks) == list(c.acks) == [0]
    adapter.disconnect_sockets(Recipients(frozenset({"c"})), True)
    assert (a.disconnected, c.disconnected) == (None, True)
    assert {m.id for m in adapter.fetch_sockets(Recipients())} == {"a", "b", "c"}


# -- a client on any transport (the seam of connection state recovery) --------------------------


class FakeTransport:
    """Only what a Client may use of its Engine.IO session (interfaces.Transport)."""

    def __init__(self, sid):
        self.sid = sid
        self.environ = {"REMOTE_ADDR": "127.0.0.1", "QUERY_STRING": "EIO=4"}
        self.closed = False
        self.sent = []
        self.got = threading.Event()

    def send_parts(self, parts, volatile=False):
        self.sent.append(list(parts))
        self.got.set()
        return True

    def close(self, reason="forced close"):
        self.closed = True


def test_a_client_talks_to_its_transport_only_through_the_transport_interface():
    sio = gsio.Server(async_mode="threading")
    conns = []
    joined = threading.Event()

    @sio.on("connect")
    def connect(conn):
        conns.append(conn)
        joined.set()

    first = FakeTransport("s1")
    client = Client(sio, first)
    try:
        client.on_message("0")
        assert joined.wait(5) and first.got.wait(5)
        conn = conns[0]
        assert first.sent == [[f'0{{"sid":"{conn.id}"}}']]
        # Recovery will point the client at the session of a reconnect: the connections go on.
        second = FakeTransport("s2")
        client.transport = second
        conn.emit("after", 1)
        sio.emit("everyone", 2)
        assert second.sent == [['2["after",1]'], ['2["everyone",2]']]
        assert len(first.sent) == 1
        client.close("forced server close")
        assert second.closed and not first.closed
    finally:
        client.on_close("transport close")
        sio.shutdown(1)


def test_a_connect_that_cannot_block_is_answered_by_the_caller():
    """No middleware, no ``connect`` handler (gevent, event handlers): the CONNECT is answered
    before ``on_message`` returns, by the caller (the event loop, for gsio's WebSocket layer),
    with no greenlet spawned for it. A ``connect`` handler may block: it runs in a greenlet of
    its own, and the caller goes on at once."""
    import gevent

    sio = gsio.Server(async_mode="gevent")
    assert sio.concurrency.name == "gevent"
    slow = sio.of("/slow")

    @slow.on("connect")
    def connect(conn):
        gevent.sleep(0.05)

    transport = FakeTransport("s1")
    client = Client(sio, transport)
    try:
        client.on_message("0")
        conn = client.conns["/"]
        assert conn.connected and conn.id in sio.of("/").conns
        assert transport.sent == [[f'0{{"sid":"{conn.id}"}}']]
        client.on_message("0/slow,")
        assert len(transport.sent) == 1  # the handler's greenlet has not run yet
        for _ in range(100):  # (a generous bound: the handler sleeps 0.05 s)
            gevent.sleep(0.05)
            if len(transport.sent) == 2:
                break
        assert transport.sent[1] == [f'0/slow,{{"sid":"{client.conns["/slow"].id}"}}']
    finally:
        client.on_close("transport close")
        sio.shutdown(1)


# -- over real sockets ----------------------------------------------------------------------------


def test_namespace_and_server_broadcasts_over_real_sockets():
    sio = gsio.Server()
    admin = sio.of("/admin")

    @admin.on("join")
    def join(conn, room):
        conn.join(room)
        return True

    try:
        with TestClient(sio, "/admin") as inside, TestClient(sio, "/admin") as outside:
            assert inside.call("join", "ops", namespace="/admin") is True
            admin.emit("a", 1, to="ops")
            sio.emit("b", 2, namespace="/admin", to=["ops"])
            sio.send("c", namespace="/admin")
            admin.send("d", to="ops")
            got = [inside.receive("/admin") for _ in range(4)]
            assert [(e.name, e.args) for e in got] == [
                ("a", [1]),
                ("b", [2]),
                ("message", ["c"]),
                ("message", ["d"]),
            ]
            got = outside.receive("/admin")
            assert (got.name, got.args) == ("message", ["c"])
            assert {c.id for c in admin.fetch_sockets()} == {
                inside.sids["/admin"],
                outside.sids["/admin"],
            }
            assert [c.id for c in admin.in_("ops").fetch_sockets()] == [inside.sids["/admin"]]
            assert outside.get_received("/admin") == []
    finally:
        sio.shutdown(1)
