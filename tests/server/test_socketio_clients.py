"""The official socket.io-client (Node) against a running gsio Socket.IO server.

Every scenario runs with the three transport setups of the client: WebSocket only, polling
only, and the default (polling, then the upgrade to WebSocket), against the default server kind
(pywsgi with gevent-websocket); a shorter smoke runs against the other kinds. The scenarios are
``tests/js/sio_*.js``; the server is ``tests/servers/sio_app.py``, whose ``GET /log`` tells what
the server saw (connects, disconnect reasons, ...).
"""

import uuid

import pytest

MODES = ["websocket", "polling", "default"]
FINAL_TRANSPORT = {"websocket": "websocket", "polling": "polling", "default": "websocket"}
HEARTBEAT = ("--ping-interval", "0.3", "--ping-timeout", "5")


@pytest.fixture(params=MODES)
def mode(request):
    """The client's transports: ['websocket'], ['polling'], or the default (with upgrade)."""
    return request.param


@pytest.fixture
def sio(start_server):
    return start_server("sio_app", shared=True)


def tag():
    """A name no other test uses (the server is shared: rooms and namespaces outlive a test)."""
    return uuid.uuid4().hex[:12]


def digits():
    return str(uuid.uuid4().int)[:9]


def logged(server, wait_for, key, sid):
    """``/log``'s ``key`` entry for socket ``sid``, once there."""
    return wait_for(
        lambda: server.get_json("/log")[key].get(sid), message=f"{key} of {sid} in the log"
    )


def connect_entry(server, sid):
    entries = [e for e in server.get_json("/log")["connects"] if e["id"] == sid]
    assert len(entries) == 1, entries
    return entries[0]


def binary(hex_string):
    return {"bin": hex_string}


# -- connecting, events and acks ---------------------------------------------------------


def test_connect_events_and_acks(sio, run_node, mode, wait_for):
    r = run_node("sio_basic", sio.port, mode)
    sid = r["id"]
    # Refusals: the connect handler's ConnectionRefused (message and data), and False.
    assert r["refusedBad"] == {"message": "Not authorized", "data": {"code": 42}}
    assert r["refusedFalse"] == {"message": "Connection refused", "data": None}
    assert r["kickedInConnect"] == ["connect", "welcome", "io server disconnect"]
    # Auth reached the connect handler, whose emit came after the CONNECT answer.
    assert connect_entry(sio, sid) == {
        "id": sid,
        "namespace": "/",
        "auth": {"token": "good", "name": "basic"},
    }
    assert r["welcome"] == {"arg": sid, "connected": True, "sameId": True}
    # Client -> server with acks: every argument comes back, compact JSON, UTF-8 intact.
    assert r["echo"] == [1, "é ✓ \u2028", {"a": [True, None, 2.5]}, None]
    assert r["echoNone"] == []
    assert r["star"] == ["star", "no_such_handler", 2, "x"]
    assert r["error"] == ["error handled", "boom"]
    assert r["later"] == ["later", 5, {"k": "v"}]
    # The catch-all saw both events without a handler (later events were handled after them).
    assert sio.get_json("/log")["star"][sid] == [["no_such_handler", 2, "x"], ["no_ack_star", 3]]
    # Server -> client with acks: conn.call() returned the client's answer; emit(callback=).
    assert r["ask"] == [["answer", 41, "q"]]
    assert r["askCb"] == ["asked"]
    assert r["questions"] == [[41, "q"], [7]]
    assert logged(sio, wait_for, "answers", sid) == [["answer", 7]]
    # Volatile: dropped while the client cannot take them, never reordered, never duplicated.
    received = r["volatileReceived"]
    assert received == sorted(set(received)), received
    assert set(received) <= set(range(50))
    assert len(received) < 50, "a burst of volatile emits was never thinned out"
    assert r["afterVolatile"] == "still here"
    # What came, in order (the volatile ones left out).
    assert r["events"] == [["welcome", sid], ["question", 41, "q"], ["question", 7], ["v_done", 50]]
    assert r["lastTransport"] == FINAL_TRANSPORT[mode]
    if mode != "default":
        assert r["firstTransport"] == mode
    # The client left: the server's reason, and the rooms it was in just before.
    assert r["clientReason"] == "io client disconnect"
    assert logged(sio, wait_for, "disconnects", sid) == "client namespace disconnect"
    assert sio.get_json("/log")["disconnecting_rooms"][sid] == [sid]


def test_binary_both_ways(sio, run_node, mode):
    r = run_node("sio_binary", sio.port, mode)
    big = bytes((i * 7) % 256 for i in range(5000))
    # Client -> server -> client, byte-identical (the client compared its Buffers).
    assert r["echoIdentical"] is True
    assert r["tenIdentical"] is True
    # What the server received: bytes, wherever they were nested.
    assert r["described"] == [
        {"bytes": "000102ff"},
        {"a": {"b": [{"bytes": ""}, {"bytes": "c3a9"}]}, "t": "text"},
        "plain",
        [[{"bytes": big.hex()}]],
        {"typed": {"bytes": "010203"}, "arrayBuffer": {"bytes": "0405"}},
    ]
    # Server -> client: bytes, bytearray, memoryview, BytesIO, nested, in an event and an ack.
    expected = {
        "bytes": binary("0001ff"),
        "bytearray": binary(b"ba".hex()),
        "memoryview": binary(b"memview".hex()),
        "bytesio": binary("deadbeef"),
        "nested": [{"deep": [binary(""), binary((b"x" * 1000).hex())]}, "text", 7],
    }
    assert r["binTypesEvent"] == expected
    assert r["binTypesAck"] == expected
    # conn.call() with binary to the client, whose ack carried binary back.
    assert r["ask"] == [{"bytes": b"reply".hex()}, {"bytes": "090807"}, {"n": [{"bytes": "7a"}]}]


# -- rooms and broadcasts ------------------------------------------------------------------


def test_rooms_and_broadcasts_to_many_clients(sio, run_node, mode):
    count = 20
    t = tag()
    r = run_node("sio_rooms", sio.port, mode, str(count), t, timeout=30)
    for i, rooms in enumerate(r["rooms"]):
        assert rooms == sorted([f"all-{t}", f"{'odd' if i % 2 else 'even'}-{t}"])
    assert r["leave"] == [f"all-{t}"]
    assert len(set(r["ids"])) == count
    for i, got in enumerate(r["got"]):
        if i % 2 == 0:
            expected = ["even", "all", "union", "even2", "end"]
            if i == 2:  # left the even room before "even2"
                expected.remove("even2")
        else:
            expected = ["odd", "from1", "all", "union", "end"]
            if i == 1:  # conn.to(room) leaves the sender out
                expected.remove("from1")
        assert got == expected, (i, got)


def test_server_side_operations_on_rooms(sio, run_node, mode, wait_for):
    t = tag()
    r = run_node("sio_server_ops", sio.port, mode, t)
    ids = r["ids"]
    assert r["fetchA"] == sorted(ids[:2])
    assert r["fetchB"] == sorted(ids[2:])
    assert r["fetchX"] == sorted(ids[:2])  # sockets_join
    assert r["rooms0"] == [f"a-{t}", f"x-{t}"]
    assert r["fetchXAfterLeave"] == []  # sockets_leave
    assert r["got"] == [["to-x", "end"], ["to-x", "end"], [], []]
    # disconnect_sockets: the clients see a server disconnect; the server, its own reason.
    assert r["reasons23"] == ["io server disconnect", "io server disconnect"]
    assert r["fetchBAfter"] == []
    assert r["connected"] == [True, True, False, False]
    for sid in ids[2:]:
        assert logged(sio, wait_for, "disconnects", sid) == "server namespace disconnect"
        # "disconnecting" ran while the socket was still in its rooms.
        assert sio.get_json("/log")["disconnecting_rooms"][sid] == sorted([sid, f"b-{t}"])


def test_broadcast_acks_with_timeout(sio, run_node, mode):
    t = tag()
    r = run_node("sio_ask_all", sio.port, mode, t)
    room = f"poll-{t}"
    answers = [{"i": i, "room": room} for i in range(3)]
    assert "timeout" not in r["all"]
    assert sorted(r["all"]["responses"], key=lambda a: a["i"]) == answers
    assert r["empty"] == {"responses": []}
    # A fourth client never answers: the call times out with the three answers that came.
    assert r["partial"]["timeout"] is True
    assert sorted(r["partial"]["responses"], key=lambda a: a["i"]) == answers
    assert r["stillConnected"] is True


# -- namespaces ------------------------------------------------------------------------------


def test_namespaces(sio, run_node, mode, wait_for):
    n = digits()
    r = run_node("sio_namespaces", sio.port, mode, n)
    invalid = {"message": "Invalid namespace", "data": None}
    assert r["invalid"] == invalid
    assert r["invalidDyn"] == invalid
    # Middleware refusing with a message and data.
    refused = {"message": "Admins only", "data": {"need": "admin"}}
    assert r["adminRefused"] == refused
    assert r["adminNoAuth"] == refused
    assert r["whoami"] == "admin"
    # Dynamic namespaces: each child is its own namespace, the parent reaches them all, and
    # sio.of(name) is the child itself.
    dyn1, dyn2 = f"/dyn-{n}1", f"/dyn-{n}2"
    assert r["where"] == [dyn1, dyn2]
    assert r["got"]["d1"] == [["nsp_msg", "to dyn1"], ["dyn_msg", "to every dyn"]]
    assert r["got"]["d1b"] == [["nsp_msg", "to dyn1"], ["dyn_msg", "to every dyn"]]
    assert r["got"]["d2"] == [["dyn_msg", "to every dyn"], ["of_msg", "sio.of(dyn2)"]]
    assert r["whereAfterOf"] == dyn2
    for sid, namespace in zip(r["dynIds"], [dyn1, dyn1, dyn2]):
        assert connect_entry(sio, sid)["namespace"] == namespace
    # Two namespaces on one Manager: disconnecting one leaves the other connected.
    assert r["sameEngine"] is True
    assert r["adminReason"] == "io client disconnect"
    assert r["rootEcho"] == "still here"
    assert r["rootConnected"] is True
    assert r["engineOpen"] == "open"
    assert r["fetchRoot"] == [r["rootId"]]
    assert logged(sio, wait_for, "disconnects", r["adminId"]) == "client namespace disconnect"


def test_blocking_chat_handler(sio, run_node, mode, wait_for):
    r = run_node("sio_chat", sio.port, mode, tag())
    a, b = r["ids"]
    room = r["joinA"][0]
    assert r["hello"] == [True, True]  # conn.emit from the handler, after the CONNECT answer
    assert r["joinB"] == [room]
    assert r["sayA"] == ["ok"] and r["sayB"] == ["ok"]
    # conn.to(room) reaches the others in the room, not the sender.
    assert r["saidTo"] == {"a": ["from b"], "b": ["from a"]}
    assert r["echo"] == ["x", binary("0102"), {"n": [binary("79")]}]
    assert r["other"] == ["unknown", "other"]
    # The handler returned on "bye": the client was disconnected by the server.
    assert r["bye"] == ["bye"]
    assert r["aReason"] == "io server disconnect"
    assert logged(sio, wait_for, "disconnects", a) == "server namespace disconnect"
    assert r["bReason"] == "io client disconnect"
    assert logged(sio, wait_for, "disconnects", b) == "client namespace disconnect"


# -- disconnects -------------------------------------------------------------------------------


def test_server_side_disconnects(sio, run_node, mode, wait_for):
    r = run_node("sio_disconnects", sio.port, mode, digits())
    # conn.disconnect(): the client sees a server disconnect and does not reconnect.
    assert r["kickReason"] == "io server disconnect"
    assert logged(sio, wait_for, "disconnects", r["kickedId"]) == "server namespace disconnect"
    # conn.disconnect(close=True): every namespace of the connection is disconnected, as a
    # server disconnect (so that the client reconnects none of them), then it is closed.
    assert r["kickCloseReasons"] == ["io server disconnect", "io server disconnect"]
    assert r["active"] == [False, False]
    for sid in r["closeIds"]:
        assert logged(sio, wait_for, "disconnects", sid) == "server namespace disconnect"


def test_reconnects_after_the_server_closed_the_transport(sio, run_node, mode, wait_for):
    r = run_node("sio_reconnect", sio.port, mode)
    first, second = r["firstId"], r["secondId"]
    assert r["reason"] == "transport close"
    assert r["attempt"] >= 1
    assert second != first
    assert r["echo"] == "again"
    assert logged(sio, wait_for, "disconnects", first) == "forced server close"
    for sid in (first, second):  # the server saw both connects
        assert connect_entry(sio, sid)["auth"] == {"name": "reconnect"}


# -- order and concurrency ----------------------------------------------------------------------


def test_events_from_one_client_are_handled_in_order(sio, run_node, mode):
    r = run_node("sio_order", sio.port, mode, "200")
    assert r["received"] == list(range(200))


def test_a_sleeping_handler_stalls_neither_other_clients_nor_heartbeats(
    start_server, run_node, mode
):
    server = start_server("sio_app", *HEARTBEAT, shared=True)
    r = run_node("sio_slow", server.port, mode, "2", timeout=30)
    # B's five echoes, one after the other, all came while A's handler slept; A's next event
    # waited for its handler (events of one client are handled in order).
    assert r["order"] == [f"b:b{i}" for i in range(5)] + ["a:slept", "a:a after slow"]
    # The heartbeat went on for both while A's handler slept (a ping every 0.3 s).
    assert r["pings"]["a"] >= 1 and r["pings"]["b"] >= 1, r["pings"]
    assert r["connected"] == [True, True]


# -- the other server kinds --------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["pywsgi", "werkzeug"])
def test_smoke_on_other_server_kinds(start_server, run_node, mode, kind):
    server = start_server("sio_app", kind=kind, shared=True)
    r = run_node("sio_smoke", server.port, mode, tag())
    assert r["refused"] == {"message": "Not authorized", "data": {"code": 42}}
    assert r["welcome"] is True
    assert r["echoIdentical"] is True
    assert r["echo"] == ["é", binary("00ff"), {"nested": [binary("616263"), 1]}]
    assert r["got"] == [["one", "two"], ["one", "two"]]
    assert r["senderGotNews"] is False
