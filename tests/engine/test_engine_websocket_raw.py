"""WebSocket at the byte level: the direct handshake, the upgrade by hand, and bad frames.

``RawWebSocket`` is a tiny client on a plain socket, so that a test can send what no real
client would (invalid UTF-8, oversized or fragmented frames) and see exactly what comes back;
``simple_websocket.Client`` is used where a well-behaved client is enough.
"""

import json
import re
import threading

import pytest
import simple_websocket
from rawws import RawWebSocket

PATH = "/socket.io/"


def q(**params):
    return PATH + "?" + "&".join(f"{k}={v}" for k, v in params.items())


@pytest.fixture
def server(start_server, kind):
    return start_server("engine_app", kind=kind, shared=True)


@pytest.fixture
def small(start_server, kind):
    return start_server("engine_app", "--max-payload", "1000", kind=kind, shared=True)


def open_direct(server):
    ws = RawWebSocket(server.port, q(EIO=4, transport="websocket"))
    assert ws.status == 101, ws.head
    opcode, packet = ws.recv_frame()
    assert opcode == 0x1 and packet.startswith("0{"), packet
    return ws, json.loads(packet[1:])


def polling_handshake(server):
    status, _, body = server.request("GET", q(EIO=4, transport="polling"))
    assert status == 200
    return json.loads(body[1:])["sid"]


def wait_reason(server, wait_for, sid):
    return wait_for(lambda: server.get_json("/reasons").get(sid), message=f"{sid} to close")


def session_state(server, sid):
    return server.get_json("/sessions").get(sid)


def test_direct_websocket(server, wait_for):
    """The OPEN is the first frame, with no upgrades; text and binary echo as sent."""
    ws, handshake = open_direct(server)
    assert re.match(r"^[A-Za-z0-9_-]{20,}$", handshake["sid"])
    assert handshake["upgrades"] == []
    assert handshake["pingInterval"] == 25000 and handshake["pingTimeout"] == 20000
    assert handshake["maxPayload"] == 1_000_000
    ws.send_text("4héllo")
    assert ws.recv() == "4héllo"
    ws.send_binary(b"\x00\x01\xff")
    assert ws.recv() == b"\x00\x01\xff"
    ws.send_text("4")
    assert ws.recv() == "4"
    ws.send_text("4burst:3")
    assert [ws.recv() for _ in range(3)] == ["4m0", "4m1", "4m2"]
    # A fragmented message counts as one.
    ws.send_frame(0x1, "4frag", fin=False)
    ws.send_frame(0x0, "mented")
    assert ws.recv() == "4fragmented"
    ws.close()
    assert wait_reason(server, wait_for, handshake["sid"]) == "transport close"


def test_upgrade_by_hand(server, wait_for):
    sid = polling_handshake(server)
    result = {}
    pending = threading.Thread(
        target=lambda: result.update(
            get=server.request("GET", q(EIO=4, transport="polling", sid=sid))
        ),
        daemon=True,
    )
    pending.start()
    wait_for(lambda: session_state(server, sid)["get_active"], message="the pending GET")

    ws = RawWebSocket(server.port, q(EIO=4, transport="websocket", sid=sid))
    assert ws.status == 101, ws.head
    ws.send_text("2probe")
    assert ws.recv_frame() == (0x1, "3probe")
    pending.join(10)
    assert result["get"][0] == 200 and result["get"][2] == b"6"  # the poll ends with a NOOP
    assert session_state(server, sid)["state"] == "upgrading"

    # Messages the server sends while the upgrade is under way wait for it: the first frames
    # after the "5" are exactly these (nothing, not even a NOOP, came on the socket before).
    status, _, body = server.request(
        "POST", q(EIO=4, transport="polling", sid=sid), b"4burst:3\x1e4during"
    )
    assert (status, body) == (200, b"ok")
    ws.send_text("5")
    assert [ws.recv() for _ in range(4)] == ["4m0", "4m1", "4m2", "4during"]
    ws.send_text("4after")
    assert ws.recv() == "4after"
    assert session_state(server, sid)["transport"] == "websocket"

    # Polling with this sid is over.
    for method, body in (("GET", None), ("POST", b"4x")):
        status, headers, answer = server.request(
            method, q(EIO=4, transport="polling", sid=sid), body
        )
        assert status == 400 and headers["Content-Type"] == "application/json"
        assert json.loads(answer) == {"code": 3, "message": "Bad request"}

    # A second WebSocket with the sid is closed at once; the first one goes on.
    second = RawWebSocket(server.port, q(EIO=4, transport="websocket", sid=sid))
    assert second.status == 101, second.head  # as the reference: accepted, then closed
    second.send_text("2probe")
    assert second.until_close() == ([], 1000)
    ws.send_text("4still")
    assert ws.recv() == "4still"
    ws.close()
    assert wait_reason(server, wait_for, sid) == "transport close"


def test_messages_right_behind_the_upgrade_packet(server, wait_for):
    """A client flushes what it buffered during the upgrade right after the "5": in the same
    TCP segment, none of it may be lost."""
    sid = polling_handshake(server)
    ws = RawWebSocket(server.port, q(EIO=4, transport="websocket", sid=sid))
    ws.send_text("2probe")
    assert ws.recv() == "3probe"
    burst = b"".join(ws.frame(0x1, text) for text in ("5", "4one", "4two", "4three"))
    ws.sock.sendall(burst + ws.frame(0x2, b"\x00four"))
    assert [ws.recv() for _ in range(4)] == ["4one", "4two", "4three", b"\x00four"]
    ws.close()
    assert wait_reason(server, wait_for, sid) == "transport close"


def test_upgrade_with_simple_websocket_client(server, wait_for):
    """The same upgrade with a real WebSocket client library."""
    sid = polling_handshake(server)
    ws = simple_websocket.Client.connect(
        f"ws://127.0.0.1:{server.port}{q(EIO=4, transport='websocket', sid=sid)}"
    )
    try:
        ws.send("2probe")
        assert ws.receive(10) == "3probe"
        ws.send("5")
        ws.send(b"\x01\x02")
        assert ws.receive(10) == b"\x01\x02"
        ws.send("4text")
        assert ws.receive(10) == "4text"
    finally:
        ws.close()
    assert wait_reason(server, wait_for, sid) == "transport close"


def test_second_websocket_on_a_direct_session(server):
    ws, handshake = open_direct(server)
    second = RawWebSocket(server.port, q(EIO=4, transport="websocket", sid=handshake["sid"]))
    assert second.status == 101, second.head
    second.send_text("2probe")
    assert second.until_close() == ([], 1000)
    ws.send_text("4ok")
    assert ws.recv() == "4ok"
    ws.close()


@pytest.mark.parametrize("sid", [False, True], ids=["handshake", "upgrade"])
def test_websocket_request_without_upgrade_header(server, sid):
    path = q(EIO=4, transport="websocket", **({"sid": polling_handshake(server)} if sid else {}))
    response = RawWebSocket(server.port, path, upgrade=False)
    assert response.status == 400, response.head
    assert "Content-Type: application/json" in response.head.split("\r\n"), response.head
    assert json.loads(response.body()) == {"code": 3, "message": "Bad request"}


@pytest.mark.parametrize(
    "path, status, code",
    [
        (q(EIO=3, transport="websocket"), 400, 5),
        (q(EIO=4, transport="websocket", sid="nosuchsession1234567"), 400, 1),
    ],
    ids=["EIO=3", "unknown-sid"],
)
def test_refused_websocket_request_gets_the_json_error(server, path, status, code):
    response = RawWebSocket(server.port, path)
    assert response.status == status, response.head
    assert json.loads(response.body())["code"] == code


@pytest.mark.parametrize("first", ["4hello", "2", "2probex", "3probe"])
def test_probe_must_start_with_2probe(server, first):
    """Anything but "2probe" first on the probe socket closes it; the session stays on polling."""
    sid = polling_handshake(server)
    ws = RawWebSocket(server.port, q(EIO=4, transport="websocket", sid=sid))
    assert ws.status == 101
    ws.send_text(first)
    assert ws.until_close() == ([], 1000)
    _still_polling(server, sid)


def test_probe_without_upgrade_packet(server, wait_for):
    """A "2probe", the "3probe", then not a "5": the probe socket is closed and the session
    stays on polling."""
    sid = polling_handshake(server)
    ws = RawWebSocket(server.port, q(EIO=4, transport="websocket", sid=sid))
    ws.send_text("2probe")
    assert ws.recv() == "3probe"
    ws.send_text("4not-an-upgrade")
    assert ws.until_close() == ([], 1000)
    wait_for(lambda: session_state(server, sid)["state"] == "open", message="the aborted upgrade")
    _still_polling(server, sid)


def test_upgrade_timeout_closes_the_probe_and_keeps_polling(start_server, kind, wait_for):
    """A "2probe", the "3probe", then nothing: after upgrade_timeout the probe socket is
    closed and the session goes on over polling."""
    server = start_server("engine_app", "--upgrade-timeout", "0.5", kind=kind, shared=True)
    sid = polling_handshake(server)
    ws = RawWebSocket(server.port, q(EIO=4, transport="websocket", sid=sid))
    ws.send_text("2probe")
    assert ws.recv() == "3probe"
    assert ws.until_close() == ([], 1000)
    wait_for(lambda: session_state(server, sid)["state"] == "open", message="the aborted upgrade")
    _still_polling(server, sid)


def test_websocket_from_a_refused_origin_gets_403(start_server, kind):
    """With cors_allowed_origins set, the Origin of a WebSocket request is checked too: a
    browser does not enforce CORS on WebSocket, so the server must."""
    server = start_server("engine_app", "--cors", "http://good.example", kind=kind, shared=True)
    path = q(EIO=4, transport="websocket")
    refused = RawWebSocket(server.port, path, headers={"Origin": "http://evil.example"})
    assert refused.status == 403
    assert json.loads(refused.body()) == {"code": 4, "message": "Forbidden"}
    allowed = RawWebSocket(server.port, path, headers={"Origin": "http://good.example"})
    assert allowed.status == 101
    assert allowed.recv().startswith("0{")


def _still_polling(server, sid):
    path = q(EIO=4, transport="polling", sid=sid)
    assert server.request("POST", path, b"4echo")[::2] == (200, b"ok")
    assert server.request("GET", path)[::2] == (200, b"4echo")
    state = session_state(server, sid)
    assert state["transport"] == "polling" and state["state"] == "open", state


def test_invalid_utf8_text_frame_closes(server, wait_for):
    ws, handshake = open_direct(server)
    ws.send_frame(0x1, b"4\xff\xfe")
    frames, code = ws.until_close()
    assert code == 1007, (frames, code)
    assert ws.at_eof()
    assert wait_reason(server, wait_for, handshake["sid"]) == "transport error"


def test_frame_at_the_limit_passes(small):
    ws, handshake = open_direct(small)
    assert handshake["maxPayload"] == 1000
    ws.send_text("4" + "x" * 999)  # the frame's payload, the "4" included, is what counts
    assert ws.recv() == "4" + "x" * 999
    ws.send_binary(b"\xab" * 1000)
    assert ws.recv() == b"\xab" * 1000
    ws.send_text("4" + "é" * 499 + "x")  # 1000 bytes
    assert ws.recv() == "4" + "é" * 499 + "x"
    ws.close()


@pytest.mark.parametrize("how", ["text", "binary", "fragmented", "multibyte"])
def test_frame_over_the_limit_closes_with_1009(small, wait_for, how):
    ws, handshake = open_direct(small)
    if how == "text":
        ws.send_text("4" + "x" * 1000)
    elif how == "binary":
        ws.send_binary(b"\xab" * 1001)
    elif how == "fragmented":  # two fragments, each under the limit, over it together
        ws.send_frame(0x1, "4" + "x" * 599, fin=False)
        ws.send_frame(0x0, "y" * 401)
    else:  # 501 characters, 1001 bytes: the limit is in bytes
        ws.send_text("4" + "é" * 500)
    frames, code = ws.until_close()
    assert (frames, code) == ([], 1009)
    assert ws.at_eof()
    assert wait_reason(small, wait_for, handshake["sid"]) == "transport error"


@pytest.mark.parametrize(
    "packet, reason",
    [
        ("2", "transport error"),  # v4: only the server pings
        ("2probe", "transport error"),  # a probe is for upgrades only
        ("9", "parse error"),
        ("x", "parse error"),
        ("", "parse error"),
    ],
    ids=["ping", "ping-probe", "type-9", "type-x", "empty"],
)
def test_bad_packet_closes_the_session(server, wait_for, packet, reason):
    """The server answers a protocol error with a CLOSE packet, then closes the WebSocket."""
    ws, handshake = open_direct(server)
    ws.send_text(packet)
    frames, code = ws.until_close()
    assert (frames, code) == (["1"], 1000)
    assert ws.at_eof()
    assert wait_reason(server, wait_for, handshake["sid"]) == reason


@pytest.mark.parametrize("packet", ["0", '0{"sid":"x"}', "5", "6"])
def test_open_upgrade_and_noop_are_ignored(server, packet):
    """As the reference (and as on polling): packets that mean nothing from a client on an
    open session are dropped; no upgrade is under way for a "5" to finish."""
    ws, handshake = open_direct(server)
    ws.send_text(packet)
    ws.send_text("4still here")
    assert ws.recv() == "4still here"
    assert handshake["sid"] not in server.get_json("/reasons")
    ws.close()


def test_server_close_on_websocket(server, wait_for):
    ws, handshake = open_direct(server)
    ws.send_text("4close")
    frames, code = ws.until_close()
    assert (frames, code) == (["1"], 1000)
    assert wait_reason(server, wait_for, handshake["sid"]) == "forced close"


def test_client_close_packet_on_websocket(server, wait_for):
    ws, handshake = open_direct(server)
    ws.send_text("1")
    frames, code = ws.until_close()
    assert (frames, code) == ([], 1000)
    assert wait_reason(server, wait_for, handshake["sid"]) == "transport close"


def test_connection_dropped_without_close_frame(server, wait_for):
    ws, handshake = open_direct(server)
    ws.sock.close()
    assert wait_reason(server, wait_for, handshake["sid"]) == "transport close"
