"""The cluster's wire format (gsio.cluster.messages), without Redis: round trips, the exact
bytes Node's side writes (notepack.io and JSON.stringify, run once in tests/js/notepack.js),
what a client gets of what Node's side sends, and every rejection."""

from __future__ import annotations

import json
import math
import subprocess
from datetime import datetime, timezone

import msgpack
import pytest
from conftest import JS

from gsio.cluster import messages as wire
from gsio.cluster.messages import Channels, RequestType
from gsio.exceptions import ProtocolError
from gsio.protocol.socketio import Packet, PacketType

UID = "Ab3_x-"


def js(value):
    """A Python value as tests/js/notepack.js reads it (bytes as {"$bin": hex})."""
    if isinstance(value, bytes):
        return {"$bin": value.hex()}
    if isinstance(value, (list, tuple)):
        return [js(v) for v in value]
    if isinstance(value, dict):
        return {k: js(v) for k, v in value.items()}
    return value


def client_view(value):
    """What a client gets of a value, binaries as {"$bin": hex}, as notepack.js prints it."""
    return json.loads(json.dumps(js(value)))


# -- what gsio encodes, beside what Node encodes ------------------------------------------------

#: Event data, each encoded in a broadcast as Node's adapter does.
DATA = {
    "strings": ["ev", "", "a" * 31, "b" * 32, "c" * 255, "d" * 256, "e" * 70_000, "é✓𝄞"],
    "ints": [
        "ev", 0, 127, 128, 255, 256, 65_535, 65_536, 2**32 - 1, 2**32, 2**53 - 1,
        -1, -32, -33, -128, -129, -32_768, -32_769, -(2**31), -(2**31) - 1, -(2**53 - 1),
    ],
    # (not 1e300: notepack takes any integral double, so every one past 2**53, for an integer)
    "floats": ["ev", 1.5, -0.25, 1.5e-300, 123456.789, 3.141592653589793, 5e-324],
    "others": ["ev", True, False, None, {"a": [1, {"b": None}]}, [], {}],
    "binary": ["ev", b"\x00\x01", b"x" * 300, b"y" * 70_000, {"nested": [b"\xff"]}, b""],
    "collections": ["ev", list(range(20)), {f"k{i}": i for i in range(20)}, [[[[]]]]],
}

BROADCASTS = {
    # name: (data, namespace, rooms, except, gsio flags, Node's flags)
    **{name: (data, "/", [], [], {}, {}) for name, data in DATA.items()},
    "room": (["ev", 1], "/", ["lobby"], [], {}, {}),
    "room-except": (["ev", 1], "/", ["lobby"], ["muted"], {}, {}),
    "except": (["ev", 1], "/chat", [], ["muted"], {}, {}),
    "volatile": (["ev"], "/", [], [], {"volatile": True}, {"volatile": True}),
}

REQUESTS = {
    # JSON requests, as the adapter publishes them (type as Node's number)
    "fetch": {
        "uid": UID,
        "requestId": "r1",
        "type": RequestType.REMOTE_FETCH,
        "opts": {"rooms": ["r"], "except": ["x"]},
    },
    "join": {
        "uid": UID,
        "type": RequestType.REMOTE_JOIN,
        "opts": {"rooms": [], "except": []},
        "rooms": ["a", "b"],
    },
    "disconnect": {
        "uid": UID,
        "type": RequestType.REMOTE_DISCONNECT,
        "opts": {"rooms": ["r"], "except": []},
        "close": True,
    },
    "server-side": {
        "uid": UID,
        "type": RequestType.SERVER_SIDE_EMIT,
        "data": ["hello", "é✓𝄞", {"x": [1, 2.5, None]}, "\u2028\u2029", '"\\\n\t\x01'],
    },
    "lone-surrogate": {"uid": UID, "type": RequestType.SERVER_SIDE_EMIT, "data": ["\ud800"]},
    "server-side-answer": {
        "type": RequestType.SERVER_SIDE_EMIT,
        "requestId": "r2",
        "data": "hello from g1",
    },
    "fetch-response": {
        "requestId": "r1",
        "sockets": [{"id": "s1", "handshake": {"auth": {}}, "rooms": ["s1"], "data": None}],
    },
    "client-count": {"type": RequestType.BROADCAST_CLIENT_COUNT, "requestId": "r3", "clientCount": 2},
    # msgpack ones
    "ack": {"type": RequestType.BROADCAST_ACK, "requestId": "r3", "packet": [b"\x01", "x"]},
}


def _broadcast_js(data, nsp, rooms, except_, node_flags):
    return [
        UID,
        {"type": 2, "data": js(data), "nsp": nsp},
        {"rooms": rooms, "except": except_, "flags": node_flags},
    ]


def _request_js(message):
    return js({k: int(v) if isinstance(v, RequestType) else v for k, v in message.items()})


# -- what Node's side sends, and what a client gets of it ---------------------------------------


def _packed_broadcast(*args, nsp="/"):
    """A broadcast of ``["ev", *args]`` as msgpack-python packs it (Node reads the same)."""
    return msgpack.packb(
        [UID, {"type": 2, "data": ["ev", *args], "nsp": nsp}, {"rooms": [], "except": []}],
        use_bin_type=True,
    )


TIMESTAMPS = {
    "epoch": (0, 0),
    "ms": (1_700_000_000, 123_000_000),
    "ms-rounded-by-doubles": (1_700_000_000, 123_999_999),
    "ns-truncated": (1_000, 999_999),
    "before-1970": (-1, 999_000_000),
    "long-before": (-1, 500_000),
    "year-10000": (253_402_300_800, 0),
    "year-minus-1": (-62_198_755_200, 0),
    "year-zero": (-62_167_219_200, 1_000_000),
    "last-date": (8_640_000_000_000, 0),
    "first-date": (-8_640_000_000_000, 0),
    "past-the-last": (8_640_000_000_001, 0),
    "before-the-first": (-8_640_000_000_001, 0),
}

FROM_NODE = {
    **{
        f"date-{name}": _packed_broadcast(msgpack.Timestamp(*ts))
        for name, ts in TIMESTAMPS.items()
    },
    "nan": _packed_broadcast(math.nan, [math.inf], {"x": -math.inf}),
    "undefined": _packed_broadcast(
        msgpack.ExtType(0, b"\x00"), [msgpack.ExtType(0, b"\x00")], {"a": 1, "u": msgpack.ExtType(0, b"\x00")}
    ),
    "int-keys": _packed_broadcast({1: "a", -2: "b", "c": {3: [4]}}),
    "binary": _packed_broadcast(b"\x00\xff", {"b": [b""]}),
    "numbers": _packed_broadcast(0, -1, 2**40, 1.5, 1e-7),
    "float32": msgpack.packb(
        [UID, {"type": 2, "data": ["ev", 1.5, 0.1], "nsp": "/"}, {}], use_single_float=True
    ),
}


@pytest.fixture(scope="module")
def node():
    spec = {
        "encode": {
            **{f"b:{name}": _broadcast_js(d, n, r, e, nf) for name, (d, n, r, e, _, nf) in BROADCASTS.items()},
            "broadcast-request": {
                "uid": UID,
                "requestId": "r4",
                "type": 7,
                "packet": {"type": 2, "data": js(["poll", b"\x02", {"n": 1}]), "nsp": "/"},
                "opts": {"rooms": ["r"], "except": ["x"], "flags": {"timeout": 2500}},
            },
            "ack": _request_js(REQUESTS["ack"]),
            **{f"date:{ms}": [{"$date": ms}] for ms in (0, 1, -1, 1_700_000_000_123, 4_102_444_800_000)},
        },
        "json": {name: _request_js(message) for name, message in REQUESTS.items()},
        "decode": {name: raw.hex() for name, raw in FROM_NODE.items()},
    }
    done = subprocess.run(
        ["node", str(JS / "notepack.js")],
        input=json.dumps(spec).encode(),
        capture_output=True,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr.decode()
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", list(BROADCASTS))
def test_broadcast_bytes_are_nodes(node, name):
    data, nsp, rooms, except_, flags, _ = BROADCASTS[name]
    packet = Packet(PacketType.EVENT, nsp, data)
    raw = wire.encode_broadcast(UID, packet, frozenset(rooms), frozenset(except_), flags)
    assert raw.hex() == node["encode"][f"b:{name}"]


@pytest.mark.parametrize("name", list(BROADCASTS))
def test_broadcast_round_trip(name):
    data, nsp, rooms, except_, flags, node_flags = BROADCASTS[name]
    packet = Packet(PacketType.EVENT, nsp, data)
    raw = wire.encode_broadcast(UID, packet, frozenset(rooms), frozenset(except_), flags)
    message = wire.decode_broadcast(raw, nsp)
    assert message.uid == UID
    assert message.packet.type == PacketType.EVENT
    assert message.packet.namespace == nsp
    assert message.packet.data == data
    assert message.rooms == frozenset(rooms)
    assert message.except_rooms == frozenset(except_)
    assert message.flags == node_flags


def test_broadcast_request_bytes_are_nodes(node):
    packet = Packet(PacketType.EVENT, "/", ["poll", b"\x02", {"n": 1}])
    request = wire.broadcast_request(
        UID, "r4", packet, frozenset(["r"]), frozenset(["x"]), {"timeout": 2.5}
    )
    raw = wire.encode_request(request)
    assert raw.hex() == node["encode"]["broadcast-request"]
    decoded = wire.decode_request(raw)
    assert decoded["type"] is RequestType.BROADCAST
    assert wire.packet_field(decoded, "/").data == ["poll", b"\x02", {"n": 1}]
    assert wire.options(decoded) == (frozenset(["r"]), frozenset(["x"]))


@pytest.mark.parametrize("name", list(REQUESTS))
def test_request_bytes_are_nodes(node, name):
    raw = wire.encode_request(REQUESTS[name])
    if name == "ack":  # msgpack, as Node's adapter sends the acks of a broadcast
        assert raw.hex() == node["encode"]["ack"]
    else:
        assert raw.decode() == node["json"][name]


@pytest.mark.parametrize("name", list(REQUESTS))
def test_request_round_trip(name):
    message = REQUESTS[name]
    decoded = wire.decode_request(wire.encode_request(message))
    assert decoded == message
    if "type" in message:
        assert isinstance(decoded["type"], RequestType)


def test_flags_as_node_writes_them():
    assert wire.wire_flags({}) == {}
    assert wire.wire_flags({"volatile": True, "local": True, "other": 1}) == {
        "volatile": True,
        "local": True,
    }
    assert wire.wire_flags({"timeout": 1.5, "compress": False}) == {
        "compress": False,
        "timeout": 1500,
    }
    assert wire.wire_flags({"timeout": None}) == {}


def test_encode_request_never_writes_nan():
    """As Node's JSON.stringify (and gsio's packets): non-finite numbers are written null."""
    data = ["x", math.nan, {"y": [math.inf, -math.inf]}, "\ud800"]
    raw = wire.encode_request({"type": RequestType.SERVER_SIDE_EMIT, "data": data})
    assert raw == b'{"type":6,"data":["x",null,{"y":[null,null]},"\\ud800"]}'
    assert json.loads(raw, parse_constant=pytest.fail)["data"][:2] == ["x", None]


@pytest.mark.parametrize("name", list(FROM_NODE))
def test_what_a_client_gets_of_nodes_messages(node, name):
    """Dates, undefined, NaN, integer keys, binary: gsio delivers what a Node server would."""
    message = wire.decode_broadcast(FROM_NODE[name], "/")
    assert client_view(message.packet.data) == node["decode"][name][1]["data"]


@pytest.mark.parametrize("ms", [0, 1, -1, 1_700_000_000_123, 4_102_444_800_000])
def test_dates_from_notepack(node, ms):
    value = wire._clean(msgpack.unpackb(bytes.fromhex(node["encode"][f"date:{ms}"]), timestamp=0))
    moment = datetime.fromtimestamp(ms / 1000, tz=timezone.utc)
    assert value == [moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")]


# -- channels ------------------------------------------------------------------------------------


def test_channels():
    ch = Channels("socket.io", "/chat", "u1")
    assert ch.broadcast == "socket.io#/chat#"
    assert ch.request == "socket.io-request#/chat#"
    assert ch.response == "socket.io-response#/chat#"
    assert ch.specific_response == "socket.io-response#/chat#u1#"
    assert ch.for_rooms(frozenset()) == "socket.io#/chat#"
    assert ch.for_rooms(frozenset(["lobby"])) == "socket.io#/chat#lobby#"
    assert ch.for_rooms(frozenset(["a", "b"])) == "socket.io#/chat#"
    assert ch.room_of("socket.io#/chat#") == ""
    assert ch.room_of("socket.io#/chat#lobby#") == "lobby"
    assert ch.room_of("socket.io#/chat#a#b#") == "a#b"
    assert ch.room_of("socket.io#/chat#lobby") is None
    assert ch.room_of("socket.io#/#lobby#") is None
    assert Channels("app", "/").broadcast == "app#/#"


def test_numeric_rooms_are_strings():
    raw = msgpack.packb(
        [UID, {"type": 2, "data": ["ev"], "nsp": "/"}, {"rooms": [1, 2.5], "except": [3.0]}]
    )
    message = wire.decode_broadcast(raw, "/")
    assert message.rooms == frozenset(["1", "2.5"])
    assert message.except_rooms == frozenset(["3"])


def test_absent_options_and_namespace():
    raw = msgpack.packb([UID, {"type": 5, "data": ["ev"]}, None])  # BINARY_EVENT, no nsp
    message = wire.decode_broadcast(raw, "/")
    assert message.packet.type == PacketType.EVENT
    assert (message.rooms, message.except_rooms, message.flags) == (frozenset(), frozenset(), {})


# -- rejections ---------------------------------------------------------------------------------


def _bc(packet=None, opts=None, uid=UID):
    return msgpack.packb(
        [uid, packet or {"type": 2, "data": ["ev"], "nsp": "/"}, opts or {}], use_bin_type=True
    )


def _deep(depth):
    value = []
    for _ in range(depth - 1):
        value = [value]
    return value


BAD_BROADCASTS = {
    "empty": b"",
    "never-used-byte": b"\xc1",
    "truncated": _bc()[:-3],
    "extra-data": _bc() + b"\x00",
    "text": b"hello",
    "map": msgpack.packb({"uid": UID}),
    "short": msgpack.packb([UID, {"type": 2, "data": ["ev"]}]),
    "uid-not-string": _bc(uid=7),
    "packet-not-map": msgpack.packb([UID, "packet", {}]),
    "connect": _bc({"type": 0, "data": ["ev"], "nsp": "/"}),
    "ack": _bc({"type": 3, "data": ["ev"], "nsp": "/"}),
    "type-missing": _bc({"data": ["ev"], "nsp": "/"}),
    "type-string": _bc({"type": "2", "data": ["ev"], "nsp": "/"}),
    "other-namespace": _bc({"type": 2, "data": ["ev"], "nsp": "/chat"}),
    "event-not-string": _bc({"type": 2, "data": [1], "nsp": "/"}),
    "no-event": _bc({"type": 2, "data": [], "nsp": "/"}),
    "data-not-list": _bc({"type": 2, "data": "ev", "nsp": "/"}),
    "data-missing": _bc({"type": 2, "nsp": "/"}),
    "rooms-not-list": _bc(opts={"rooms": "lobby"}),
    "room-null": _bc(opts={"except": [None]}),
    "room-map": _bc(opts={"rooms": [{}]}),
    "room-bool": _bc(opts={"rooms": [True]}),
    "flags-not-map": _bc(opts={"flags": [1]}),
    "opts-not-map": msgpack.packb([UID, {"type": 2, "data": ["ev"], "nsp": "/"}, "opts"]),
    "bad-utf8": _bc({"type": 2, "data": ["QQ"], "nsp": "/"}).replace(b"\xa2QQ", b"\xa2\xff\xfe"),
    "binary-key": _bc({"type": 2, "data": ["ev", {b"k": 1}], "nsp": "/"}),
    "float-key": _bc({"type": 2, "data": ["ev", {1.5: 1}], "nsp": "/"}),
    "ext-type": _bc({"type": 2, "data": ["ev", msgpack.ExtType(1, b"x")], "nsp": "/"}),
    "ext-zero-longer": _bc({"type": 2, "data": ["ev", msgpack.ExtType(0, b"xy")], "nsp": "/"}),
    "too-deep": _bc({"type": 2, "data": ["ev", _deep(260)], "nsp": "/"}),
    "msgpack-too-deep": b"\x93\xa1x\x83\xa4type\x02\xa3nsp\xa1/\xa4data\x92\xa2ev"
    + b"\x91" * 2000
    + b"\x90\x80",
}


@pytest.mark.parametrize("name", list(BAD_BROADCASTS))
def test_bad_broadcasts_are_refused(name):
    with pytest.raises(ProtocolError):
        wire.decode_broadcast(BAD_BROADCASTS[name], "/")


def test_nesting_up_to_the_limit_is_taken():
    message = wire.decode_broadcast(_bc({"type": 2, "data": ["ev", _deep(250)], "nsp": "/"}), "/")
    assert message.packet.data[1] == _deep(250)


BAD_REQUESTS = {
    "empty": b"",
    "json-broken": b"{not json",
    "json-trailing": b'{"type": 6}x',
    "json-array": b"[1, 2]",
    "json-nan": b'{"type": 6, "data": ["x", NaN]}',
    "json-infinity": b'{"type": 6, "data": ["x", Infinity]}',
    "json-minus-infinity": b'{"type": 2, "opts": {"rooms": [-Infinity]}, "rooms": ["a"]}',
    "json-too-deep": b'{"type": 6, "data": ' + b"[" * 300 + b"]" * 300 + b"}",
    "json-recursion": b'{"type": 6, "data": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    "json-bad-utf8": b'{"type": 6, "data": ["\xff"]}',
    "unknown-type": b'{"type": 42}',
    "negative-type": b'{"type": -1}',
    "string-type": b'{"type": "5"}',
    "bool-type": b'{"type": true}',
    "float-type": b'{"type": 5.5}',
    "request-id-number": b'{"type": 5, "requestId": 5}',
    "request-id-list": b'{"requestId": ["x"]}',
    "msgpack-list": msgpack.packb([1, 2]),
    "msgpack-string": msgpack.packb("x"),
    "msgpack-unknown-type": msgpack.packb({"type": 10}),
    "msgpack-bad-value": msgpack.packb({"type": 9, "packet": msgpack.ExtType(3, b"")}),
}


@pytest.mark.parametrize("name", list(BAD_REQUESTS))
def test_bad_requests_are_refused(name):
    with pytest.raises(ProtocolError):
        wire.decode_request(BAD_REQUESTS[name])


BAD_FIELDS = [
    # (request, how it is read)
    (b'{"type": 5, "opts": 7}', wire.options),
    (b'{"type": 5, "opts": {"rooms": "r"}}', wire.options),
    (b'{"type": 5, "opts": {"except": [null]}}', wire.options),
    (b'{"type": 2, "opts": {}}', wire.rooms_field),
    (b'{"type": 2, "opts": {}, "rooms": "r"}', wire.rooms_field),
    (b'{"type": 2, "opts": {}, "rooms": [[]]}', wire.rooms_field),
    (msgpack.packb({"type": 7, "packet": "x"}), lambda m: wire.packet_field(m, "/")),
    (msgpack.packb({"type": 7, "packet": {"type": 1}}), lambda m: wire.packet_field(m, "/")),
    (b'{"type": 8, "clientCount": "2"}', lambda m: wire.field(m, "clientCount", int)),
    (b'{"type": 8, "clientCount": true}', lambda m: wire.field(m, "clientCount", int)),
    (b'{"type": 7}', lambda m: wire.field(m, "requestId", str)),
]


@pytest.mark.parametrize("raw, read", BAD_FIELDS)
def test_bad_fields_are_refused_where_read(raw, read):
    message = wire.decode_request(raw)
    with pytest.raises(ProtocolError):
        read(message)


def test_good_fields():
    message = wire.decode_request(
        b'{"type": 2, "opts": {"rooms": ["a", 1]}, "rooms": ["b", 2], "clientCount": 3}'
    )
    assert wire.options(message) == (frozenset(["a", "1"]), frozenset())
    assert wire.rooms_field(message) == ["b", "2"]
    assert wire.field(message, "clientCount", int) == 3
    assert wire.field({"close": True}, "close", bool) is True
    assert wire.options({}) == (frozenset(), frozenset())
