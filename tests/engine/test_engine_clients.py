"""The official engine.io-client (Node) against a running gsio Engine, on every server kind."""

import re

import pytest

SID = re.compile(r"^[A-Za-z0-9_-]{20,}$")

POLLING = ["polling"]
WEBSOCKET = ["websocket"]
TRANSPORTS = pytest.mark.parametrize("transports", [POLLING, WEBSOCKET], ids=["polling", "ws"])

# Server configurations (engine_app.py options); each is started once per kind and shared.
DEFAULT = ()
DEAD_CLIENT = ("--ping-interval", "0.1", "--ping-timeout", "0.2")
HEARTBEAT = ("--ping-interval", "0.05", "--ping-timeout", "5")
SMALL_PAYLOAD = ("--max-payload", "1000")


@pytest.fixture
def engine(start_server, kind):
    """``engine(*options)``: the shared echo server of this kind with these options."""

    def start(*options):
        return start_server("engine_app", *options, kind=kind, shared=True)

    return start


def messages(result, transport=None):
    """The messages the client received, as (type, data) pairs."""
    return [
        (e["type"], e["data"])
        for e in result["events"]
        if e["event"] == "message" and (transport is None or e["transport"] == transport)
    ]


def closes(result):
    return [e for e in result["events"] if e["event"] == "close"]


def reason(server, wait_for, sid):
    """The reason the server closed ``sid`` with (waits for the close)."""
    return wait_for(
        lambda: server.get_json("/reasons").get(sid), message=f"the server to close {sid}"
    )


def test_handshake_open_packet(engine, run_node, wait_for):
    server = engine(*DEFAULT)
    result = run_node("eio_client", {"port": server.port, "upgrade": False})
    assert [e["event"] for e in result["events"]] == ["open", "close"]
    assert result["events"][0]["transport"] == "polling"
    handshake = result["handshake"]
    assert set(handshake) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert SID.match(handshake["sid"]), handshake
    assert handshake["upgrades"] == ["websocket"]
    assert handshake["pingInterval"] == 25000
    assert handshake["pingTimeout"] == 20000
    assert handshake["maxPayload"] == 1_000_000
    assert reason(server, wait_for, handshake["sid"]) == "transport close"


def test_handshake_sids_are_unique(engine, run_node):
    server = engine(*DEFAULT)
    sids = {
        run_node("eio_client", {"port": server.port, "upgrade": False})["sid"] for _ in range(3)
    }
    assert len(sids) == 3


def test_handshake_without_upgrades(start_server, kind, run_node):
    server = start_server("engine_app", "--no-upgrades", kind=kind, shared=True)
    result = run_node("eio_client", {"port": server.port, "send": ["a", "b"]})
    assert result["handshake"]["upgrades"] == []
    assert messages(result, "polling") == [("text", "a"), ("text", "b")]
    assert not [e for e in result["events"] if e["event"].startswith("upgrad")]


ECHO = [
    "hello",
    "",
    "ünïcödé ✓ 😀",
    '{"json": [1, 2]}',
    {"binary": "00ff10802a"},
    {"binary": ""},
    {"binary": "ff", "repeat": 300},
    {"text": "x", "repeat": 5000},
]


def expected_echo():
    out = []
    for spec in ECHO:
        if isinstance(spec, str):
            out.append(("text", spec))
        elif "binary" in spec:
            out.append(("binary", spec["binary"] * spec.get("repeat", 1)))
        else:
            out.append(("text", spec["text"] * spec["repeat"]))
    return out


@TRANSPORTS
def test_text_and_binary_echo(engine, run_node, wait_for, transports):
    """Text stays text and binary stays binary, both ways, in order, on one transport."""
    server = engine(*DEFAULT)
    result = run_node("eio_client", {"port": server.port, "transports": transports, "send": ECHO})
    name = transports[0]
    assert result["events"][0] == {"event": "open", "transport": name}
    assert result["handshake"]["upgrades"] == ([] if name == "websocket" else ["websocket"])
    assert messages(result, name) == expected_echo()
    assert closes(result) == [{"event": "close", "reason": "forced close"}]
    assert reason(server, wait_for, result["sid"]) == "transport close"


def test_echo_with_upgrade(engine, run_node, wait_for):
    """The default client: polling first, then upgraded to WebSocket; messages before and after."""
    server = engine(*DEFAULT)
    result = run_node(
        "eio_client",
        {
            "port": server.port,
            "send": ECHO,
            "sendOnUpgrade": ECHO,
            "expect": 2 * len(ECHO),
            "waitUpgrade": True,
        },
    )
    events = [e["event"] for e in result["events"]]
    assert events[0] == "open" and result["events"][0]["transport"] == "polling"
    assert "upgrade" in events and "upgradeError" not in events
    assert [e for e in result["events"] if e["event"] == "upgrade"][0]["transport"] == "websocket"
    assert messages(result) == expected_echo() * 2
    assert reason(server, wait_for, result["sid"]) == "transport close"


def test_upgrade_under_traffic_loses_and_reorders_nothing(engine, run_node, wait_for):
    """A burst queued on polling, a stream of requests for more bursts sent one per tick before,
    during and after the upgrade: every message arrives once, in the order the server sent it."""
    server = engine(*DEFAULT)
    result = run_node(
        "eio_client",
        {
            "port": server.port,
            "send": ["burst:300:a"],
            "expect": 300,
            "probeAfter": 50,  # the probe starts while the burst is still arriving on polling
            "stream": {"template": "burst:3:s{i}.", "replies": 3, "afterUpgrade": 30},
            "waitUpgrade": True,
        },
    )
    expected = [f"a{i}" for i in range(300)]
    for i in range(result["streamSent"]):
        expected += [f"s{i}.{j}" for j in range(3)]
    got = [data for _, data in messages(result)]
    assert got == expected, _first_difference(got, expected)
    events = [e["event"] for e in result["events"]]
    assert "upgrade" in events and "upgradeError" not in events
    # Traffic really straddled the switch: messages came on both transports.
    assert messages(result, "polling") and messages(result, "websocket")
    assert reason(server, wait_for, result["sid"]) == "transport close"


def _first_difference(got, expected):
    for i, (a, b) in enumerate(zip(got, expected)):
        if a != b:
            return f"first difference at {i}: got {a!r}, expected {b!r}"
    return f"lengths differ: got {len(got)}, expected {len(expected)}"


@TRANSPORTS
def test_heartbeat_keeps_a_live_client(engine, run_node, wait_for, transports):
    """Pings every 50 ms answered by the client: the session lives on and ends by the client."""
    server = engine(*HEARTBEAT)
    result = run_node(
        "eio_client",
        {"port": server.port, "transports": transports, "send": ["x"], "waitPings": 4},
    )
    assert result["handshake"]["pingInterval"] == 50
    assert result["handshake"]["pingTimeout"] == 5000
    assert result["pings"] >= 4
    assert messages(result) == [("text", "x")]
    assert closes(result) == [{"event": "close", "reason": "forced close"}]
    assert reason(server, wait_for, result["sid"]) == "transport close"


@TRANSPORTS
def test_ping_timeout_closes_a_dead_client(engine, run_node, wait_for, transports):
    """A client that stops answering pings is dropped with "ping timeout"; the client sees the
    connection close (it never times out by itself here)."""
    server = engine(*DEAD_CLIENT)
    result = run_node(
        "eio_client",
        {"port": server.port, "transports": transports, "noPong": True, "end": "server"},
    )
    assert result["pings"] >= 1
    close = closes(result)
    assert len(close) == 1, result["events"]
    if transports == WEBSOCKET:
        assert close[0] == {"event": "close", "reason": "transport close", "code": 1000}
    else:
        # The poll pending at the timeout gets a CLOSE ("transport close"); if the client had
        # not polled again within the 0.2 s, its next poll finds the session gone ("transport
        # error"). test_engine_http checks the CLOSE with a generous window.
        assert close[0]["reason"] in ("transport close", "transport error"), close
    assert reason(server, wait_for, result["sid"]) == "ping timeout"


@TRANSPORTS
def test_close_from_the_client(engine, run_node, wait_for, transports):
    server = engine(*DEFAULT)
    result = run_node(
        "eio_client", {"port": server.port, "transports": transports, "send": ["bye"]}
    )
    assert messages(result) == [("text", "bye")]
    assert closes(result) == [{"event": "close", "reason": "forced close"}]
    assert reason(server, wait_for, result["sid"]) == "transport close"
    assert result["sid"] not in server.get_json("/sessions")


@TRANSPORTS
def test_close_from_the_server(engine, run_node, wait_for, transports):
    """What the server sent before it closed arrives first, then the close."""
    server = engine(*DEFAULT)
    result = run_node(
        "eio_client",
        {
            "port": server.port,
            "transports": transports,
            "send": ["burst:3", "close"],
            "end": "server",
        },
    )
    assert [e["event"] for e in result["events"]] == ["open"] + ["message"] * 3 + ["close"]
    assert messages(result) == [("text", "m0"), ("text", "m1"), ("text", "m2")]
    assert closes(result)[0]["reason"] == "transport close"
    assert reason(server, wait_for, result["sid"]) == "forced close"


def test_close_from_the_server_after_upgrade(engine, run_node, wait_for):
    server = engine(*DEFAULT)
    result = run_node(
        "eio_client",
        {"port": server.port, "sendOnUpgrade": ["close"], "expect": 0, "end": "server"},
    )
    events = [e["event"] for e in result["events"]]
    assert events[-1] == "close" and "upgrade" in events, events
    assert closes(result)[0]["reason"] == "transport close"
    assert reason(server, wait_for, result["sid"]) == "forced close"


# max_payload is 1000 bytes. What counts: on WebSocket, the frame's payload (a text frame holds
# the packet type "4" and the text; a binary frame the raw bytes); on polling, the whole POST
# body (a text message is "4" + text; a binary one "b" + base64 of the bytes).
AT_LIMIT = {
    "polling": [{"text": "t", "repeat": 999}, {"binary": "ab", "repeat": 747}],
    "websocket": [{"text": "t", "repeat": 999}, {"binary": "ab", "repeat": 1000}],
}
OVER_LIMIT = {
    "polling": [{"text": "t", "repeat": 1000}, {"binary": "ab", "repeat": 748}],
    "websocket": [{"text": "t", "repeat": 1000}, {"binary": "ab", "repeat": 1001}],
}


@TRANSPORTS
def test_messages_at_max_payload_pass(engine, run_node, wait_for, transports):
    server = engine(*SMALL_PAYLOAD)
    name = transports[0]
    result = run_node(
        "eio_client", {"port": server.port, "transports": transports, "send": AT_LIMIT[name]}
    )
    assert result["handshake"]["maxPayload"] == 1000
    binary = AT_LIMIT[name][1]
    assert messages(result) == [
        ("text", "t" * 999),
        ("binary", binary["binary"] * binary["repeat"]),
    ]
    assert reason(server, wait_for, result["sid"]) == "transport close"


@TRANSPORTS
@pytest.mark.parametrize("which", [0, 1], ids=["text", "binary"])
def test_message_over_max_payload_closes(engine, run_node, wait_for, transports, which):
    server = engine(*SMALL_PAYLOAD)
    name = transports[0]
    result = run_node(
        "eio_client",
        {
            "port": server.port,
            "transports": transports,
            "send": [OVER_LIMIT[name][which]],
            "end": "server",
        },
    )
    assert messages(result) == []
    close = closes(result)
    assert len(close) == 1, result["events"]
    if name == "websocket":
        assert close[0]["reason"] == "transport close"
        assert close[0]["code"] == 1009, close
    else:
        # The POST is answered 413 and the session closed: the client sees whichever comes
        # first, the 413, the CLOSE the server sends to its pending poll, or, for a poll that
        # arrives after the close, the reference's 400 "Session ID unknown" (a session closed
        # by a client's error is forgotten at once; test_engine_http checks the 413 itself).
        assert close[0] in (
            {"event": "close", "reason": "transport error", "status": 413},
            {"event": "close", "reason": "transport close"},
            {"event": "close", "reason": "transport error", "status": 400},
        ), close
    assert reason(server, wait_for, result["sid"]) == "transport error"
