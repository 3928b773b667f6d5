"""socket.io-client 2.5 (Engine.IO v3, Socket.IO protocol v4) in Node against a gsio server
with ``allow_eio3=True``: the scenario is ``tests/js/sio_v2.js``, the server
``tests/servers/sio_app.py --allow-eio3``; socket.io-client 4.x is served by the same server
(the broadcast reaches both). Without ``allow_eio3`` a 2.x client gets 400, code 5.
"""

import uuid

import pytest
from rawws import call, event, next_packet, open_direct, sio_connect
from test_browser import chromium_or_fail

# (transports, extra arguments of the scenario): polling with Node's XHR (which sends b64: the
# raw payload tests of tests/engine/test_eio3.py cover binary payloads), with forceBase64,
# WebSocket (binary frames with 0x04), and polling upgraded to WebSocket.
MODES = {
    "polling": ("polling",),
    "polling-b64": ("polling", "b64"),
    "websocket": ("websocket",),
    "websocket-b64": ("websocket", "b64"),
    "upgrade": ("default",),
}
FINAL = {"polling": "polling", "polling-b64": "polling"}
INTERVAL, TIMEOUT = 0.3, 0.2
HOLD = 3 * (INTERVAL + TIMEOUT) + 0.1
ARGS = ("--allow-eio3", "--ping-interval", str(INTERVAL), "--ping-timeout", str(TIMEOUT))


@pytest.fixture(params=["gsio", "werkzeug"])
def sio(request, start_server):
    return start_server("sio_app", *ARGS, kind=request.param, shared=True)


def bin_(hex_string):
    return {"bin": hex_string}


def by(value):
    return {"bytes": value}


@pytest.mark.parametrize("mode", list(MODES))
def test_socketio_client_2(sio, run_node, wait_for, mode):
    r = run_node("sio_v2", sio.port, *MODES[mode], f"hold={HOLD}", timeout=40)
    # The socket id is the Engine.IO session id on "/" (Node's rule for 2.x clients); "/" is
    # connected without a CONNECT from the client, its connect handler ran (it emits welcome).
    assert r["idIsEngineId"] and r["welcomeIsId"] and r["serverIdIsId"]
    if mode != "upgrade":  # (with the upgrade, it may be over by the time "/" is connected)
        assert r["firstTransport"] == ("websocket" if mode.startswith("websocket") else "polling")
    assert r["protocol"] == [{"protocol": 4, "id": r["id"], "auth": {}}]
    assert r["echo"] == [1, "é € 😀 \u2028", {"a": [True, None, 2.5]}, None]
    assert r["binEcho"] == [bin_("0001ff"), {"n": [bin_("6869")]}]
    assert r["describe"] == [[by("010203"), {"x": by("09")}]]
    assert r["ask"] == [["answer", 41, by("07"), by("08")]]
    # Another namespace: its query is the handshake's auth; its id is "<nsp>#<engine sid>".
    admin_id = r["admin"]["connect"]
    assert admin_id.startswith("/admin#") and r["adminIdRule"]
    auth = {"role": "admin", "token": "t x"}
    assert r["adminProtocol"] == [{"protocol": 4, "id": admin_id, "auth": auth}]
    assert r["adminWhoami"] == ["admin"]
    assert r["chat"] == {"connect": r["chat"]["connect"]} and r["chatEcho"] == [
        "blocking",
        bin_("06"),
    ]
    # Refusals are ERROR packets: the 2.x client emits "error" with the data, or the message.
    assert r["refused"] == {"error": {"need": "admin"}}
    assert r["refusedPlain"] == {"error": "Plain refusal"}
    assert r["invalid"] == {"error": {"message": "Invalid namespace"}}
    # One broadcast, to a room holding a 2.x and a 4.x client, binary included.
    expected = ["text", bin_("0102"), {"b": bin_("03")}]
    assert r["mixed"] == {"v2": expected, "v4": expected}
    # The client pings, the server pongs: still connected after 3 x (interval + timeout).
    assert r["afterHold"] == {"connected": True, "disconnects": []}
    assert r["echoAfterHold"] == ["still here"]
    assert r["lastTransport"] == FINAL.get(mode, "websocket")
    assert r["lastBinEcho"] == [bin_("0405")]
    reasons = wait_for(lambda: sio.get_json("/log")["disconnects"].get(r["id"]))
    assert reasons in ("client namespace disconnect", "transport close")


def test_socketio_client_2_refused_without_allow_eio3(start_server, run_node):
    server = start_server("sio_app", shared=True)
    r = run_node("sio_v2_refused", server.port)
    assert r == {
        "polling": {"message": "xhr poll error", "description": 400},
        "websocket": {"message": "websocket error", "description": None},
    }


def test_recovery_does_not_apply_to_2x_clients(start_server):
    """With connection state recovery on: a 2.x client's CONNECT answer has no pid, what is
    broadcast to it has no offset (a 5.x client in the same room gets one), and a pid in its
    namespace's query recovers nothing."""
    server = start_server("recovery_app", "--allow-eio3")
    old, _ = open_direct(server, "/socket.io/?EIO=3&transport=websocket")
    assert next_packet(old, lambda p: p.startswith("4")) == "40"  # "/" joined at once, no data
    new, answer = sio_connect(server)
    assert set(answer) == {"sid", "pid"}
    room = uuid.uuid4().hex
    call(old, "join", room)
    call(new, "join", room)
    call(old, "stream", 1, room, 0)
    wanted = lambda p: p.startswith(('42["r"', '42["d"'))  # noqa: E731
    assert sorted([event(next_packet(old, wanted)), event(next_packet(old, wanted))]) == [
        ["d", 0],
        ["r", 0],
    ]
    got = event(next_packet(new, lambda p: p.startswith('42["r"')))
    assert got[:2] == ["r", 0] and isinstance(got[2], str)  # the offset
    old.send_text("40/blocking?pid=x&offset=y,")
    assert next_packet(old, lambda p: p.startswith("40/")) == "40/blocking,"
    connects = server.get_json("/log")["connects"]
    assert {
        "id": f"/blocking#{old_sid(connects)}",
        "namespace": "/blocking",
        "recovered": False,
    } in connects
    old.close()
    new.close()


def old_sid(connects):
    """The Engine.IO sid of the 2.x client: its socket id on "/" (the first connect)."""
    return connects[0]["id"]


def test_socketio_client_2_in_chromium_polls_binary_payloads(start_server, run_node, request):
    """In a browser, socket.io-client 2.x's XHR takes binary: the binary events travel as
    binary payloads both ways (application/octet-stream), which Node's 2.x client never does."""
    chromium_or_fail(request)
    server = start_server("sio_app", *ARGS, kind="werkzeug")
    out = run_node("browser_bundle", "page", f"{server.url}/v2", timeout=90)
    assert out["errors"] == [], out
    result = out["result"]
    assert result["text"] == "€😀" and result["bin"] == "0001ff", out
    assert result["describe"] == [by("0708")] and result["transport"] == "polling", out
    types = server.get_json("/log")["v3_types"]
    binary = "application/octet-stream"
    assert ["POST", binary, "text/html"] in types, types
    assert any(t[0] == "GET" and t[2] == binary for t in types), types
    assert all(t[2] in (binary, "text/plain; charset=UTF-8", "text/html") for t in types), types


@pytest.mark.parametrize(
    "packet",
    ["40/admin?" + "t=" + "x" * 9000 + ",", '42["unterminated"', "45-[]"],
    ids=["query-too-long", "bad-json", "bad-binary-header"],
)
def test_bad_socketio_packets_from_a_2x_client(start_server, wait_for, packet):
    """Each malformed packet closes the connection ("parse error"), logged once, no
    traceback (the server fixture fails on one)."""
    server = start_server("sio_app", *ARGS, shared=True)
    ws, sid = open_direct(server, "/socket.io/?EIO=3&transport=websocket")
    assert next_packet(ws, lambda p: p.startswith("40")) == "40"
    ws.send_text(packet)
    frames, _ = ws.until_close()
    assert frames[-1] == "1", frames  # the Engine.IO CLOSE
    reason = wait_for(lambda: server.get_json("/log")["disconnects"].get(sid))
    assert reason == "parse error"
    logged = f"{sid}: "
    wait_for(lambda: "closing the connection" in server.output())
    assert sum(logged in line for line in server.output().splitlines()) == 1, server.output()
    ws.close()
