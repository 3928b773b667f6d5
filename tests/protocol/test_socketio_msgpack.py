"""The msgpack codec (gsio.protocol.socketio_msgpack) against the npm socket.io-msgpack-parser 3.x
itself (tests/js/msgpack_vectors.js runs its Encoder and Decoder):

- what gsio encodes is byte for byte what the npm Encoder makes of the same packet object;
- what the npm Encoder makes (as socket.io-client sends it: ``options``, ``id: undefined``, a
  Date, an ArrayBuffer, ``undefined``) decodes to the packet a handler expects;
- gsio's decoder accepts and refuses what the npm Decoder does, but for the differences listed
  (each on purpose: gsio's JSON decoder refuses those too, or they are harmless leniencies).
"""

from __future__ import annotations

import json
import sys

import msgpack
import pytest

import gsio
from gsio.exceptions import ProtocolError
from gsio.protocol.socketio import Packet, PacketType
from gsio.protocol.socketio_msgpack import MsgpackCodec, js_date_text

CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK = PacketType
CODEC = MsgpackCodec()


def npm(run_node, tmp_path, encode=(), decode=()):
    cases = tmp_path / "cases.json"
    cases.write_text(json.dumps({"encode": list(encode), "decode": list(decode)}))
    return run_node("msgpack_vectors", str(cases))


def decode(data: bytes) -> Packet:
    return CODEC.decoder().feed(data)


# -- encoding: the same bytes as the npm Encoder --------------------------------------------------

LONG = "x" * 300  # str 16
# (our packet, the object Node's server would hand its Encoder: the same keys, in Node's order)
ENCODED = [
    (Packet(CONNECT, "/", {"sid": "abc"}), {"type": 0, "data": {"sid": "abc"}, "nsp": "/"}),
    (Packet(CONNECT, "/admin"), {"type": 0, "nsp": "/admin"}),
    (Packet(DISCONNECT, "/chat"), {"type": 1, "nsp": "/chat"}),
    (
        Packet(CONNECT_ERROR, "/x", {"message": "nope", "data": {"code": 7}}),
        {"type": 4, "data": {"message": "nope", "data": {"code": 7}}, "nsp": "/x"},
    ),
    (
        Packet(EVENT, "/", ["hello", 1, -5, 1.5, True, False, None, "é€😀", {"a": [1, 2]}]),
        {
            "type": 2,
            "data": ["hello", 1, -5, 1.5, True, False, None, "é€😀", {"a": [1, 2]}],
            "nsp": "/",
        },
    ),
    (
        Packet(
            EVENT,
            "/chat",
            ["ints", 127, 128, 255, 65535, 65536, 2**32, -32, -33, -129, -(2**31) - 1, -(2**40)],
            12,
        ),
        {
            "type": 2,
            "data": [
                "ints",
                127,
                128,
                255,
                65535,
                65536,
                2**32,
                -32,
                -33,
                -129,
                -(2**31) - 1,
                -(2**40),
            ],
            "id": 12,
            "nsp": "/chat",
        },
    ),
    (
        Packet(EVENT, "/", ["big", LONG, list(range(20)), {f"k{i}": i for i in range(20)}], 70000),
        {
            "type": 2,
            "data": ["big", LONG, list(range(20)), {f"k{i}": i for i in range(20)}],
            "id": 70000,
            "nsp": "/",
        },
    ),
    (
        Packet(EVENT, "/", ["bin", b"\x00\xff", bytearray(b"ab"), memoryview(b"cd"), [b"x" * 300]]),
        {
            "type": 2,
            "data": [
                "bin",
                {"$bin": "00ff"},
                {"$bin": "6162"},
                {"$bin": "6364"},
                [{"$bin": "78" * 300}],
            ],
            "nsp": "/",
        },
    ),
    (Packet(ACK, "/", [], 3), {"type": 3, "data": [], "id": 3, "nsp": "/"}),
    # BINARY_EVENT and BINARY_ACK have no type of their own in this format.
    (
        Packet(BINARY_ACK, "/", [b"\x01"], 4),
        {"type": 3, "data": [{"$bin": "01"}], "id": 4, "nsp": "/"},
    ),
    (
        Packet(BINARY_EVENT, "/", ["b", b"\x01"]),
        {"type": 2, "data": ["b", {"$bin": "01"}], "nsp": "/"},
    ),
]


def test_encoding_is_byte_for_byte_the_npm_encoders(run_node, tmp_path):
    result = npm(run_node, tmp_path, encode=[js for _, js in ENCODED])
    for (packet, _), expected in zip(ENCODED, result["encoded"]):
        parts = CODEC.encode(packet)
        assert len(parts) == 1 and isinstance(parts[0], bytes), packet
        assert parts[0].hex() == expected, packet
        assert CODEC.encode_fields(packet.type, packet.namespace, packet.data, packet.id) == parts


def test_a_tuple_is_an_array_and_a_file_is_refused():
    import io

    (data,) = CODEC.encode(Packet(EVENT, "/", ("t", (b"abc", 1))))
    assert msgpack.unpackb(data) == {"type": 2, "data": ["t", [b"abc", 1]], "nsp": "/"}
    with pytest.raises(TypeError):  # reading it is I/O: the server does it (gsio.server.files)
        CODEC.encode(Packet(EVENT, "/", ("t", io.BytesIO(b"abc"))))


def test_what_msgpack_cannot_hold_raises_as_json_does():
    with pytest.raises(TypeError):
        CODEC.encode(Packet(EVENT, "/", ["e", {1, 2}]))


# -- decoding: what the npm Encoder (and so socket.io-client) sends -----------------------------

SENT = [
    # socket.io-client 4.x adds "options" to every EVENT, and "id: undefined" without an ack.
    (
        {"type": 2, "data": ["hi", 1], "options": {"compress": True}, "nsp": "/"},
        Packet(EVENT, "/", ["hi", 1]),
    ),
    (
        {
            "type": 2,
            "data": ["x", {"$undefined": True}, {"a": {"$undefined": True}}],
            "id": {"$undefined": True},
            "nsp": "/",
        },
        Packet(EVENT, "/", ["x", None, {"a": None}]),
    ),
    (
        {
            "type": 2,
            "data": ["d", {"$date": 0}, {"$date": 1700000000123}, {"$date": -1}],
            "nsp": "/",
        },
        Packet(
            EVENT,
            "/",
            [
                "d",
                "1970-01-01T00:00:00.000Z",
                "2023-11-14T22:13:20.123Z",
                "1969-12-31T23:59:59.999Z",
            ],
        ),
    ),
    (
        {
            "type": 2,
            "data": ["b", {"$bin": "0001ff"}, {"$ab": "0a0b0c"}, {"$bin": ""}],
            "id": 9,
            "options": {},
            "nsp": "/chat",
        },
        Packet(EVENT, "/chat", ["b", b"\x00\x01\xff", b"\x0a\x0b\x0c", b""], 9),
    ),
    (
        {"type": 0, "data": {"token": "t"}, "nsp": "/admin"},
        Packet(CONNECT, "/admin", {"token": "t"}),
    ),
    ({"type": 0, "nsp": "/"}, Packet(CONNECT, "/")),
    ({"type": 1, "nsp": "/admin"}, Packet(DISCONNECT, "/admin")),
    ({"type": 3, "data": [], "id": 7, "nsp": "/"}, Packet(ACK, "/", [], 7)),
    (
        {"type": 3, "data": [1.5, "é", [None]], "id": 2**53 - 1, "nsp": "/"},
        Packet(ACK, "/", [1.5, "é", [None]], 2**53 - 1),
    ),
]


def test_what_the_npm_encoder_sends_decodes_to_the_packet(run_node, tmp_path):
    result = npm(run_node, tmp_path, encode=[js for js, _ in SENT])
    for (js, expected), hex_ in zip(SENT, result["encoded"]):
        assert decode(bytes.fromhex(hex_)) == expected, js


# -- accepting and refusing as the npm Decoder does ---------------------------------------------


def pack(value) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


VALID = pack({"type": 2, "nsp": "/", "data": ["e", 1]})
DEEP = pack({"type": 2, "nsp": "/", "data": ["e"]})[:-2] + b"\x92\xa1e" + b"\x91" * 2000 + b"\xc0"

# (message, gsio accepts) for messages on which both decoders agree
AGREED = [
    (VALID, True),
    (pack({"type": 0, "nsp": "/"}), True),
    (pack({"type": 0, "nsp": "/a", "data": {"k": [1]}}), True),
    (pack({"type": 1, "nsp": "/x"}), True),
    (pack({"type": 3, "nsp": "/", "data": [1], "id": 5}), True),
    (pack({"type": 4, "nsp": "/", "data": "x"}), True),
    (pack({"type": 4, "nsp": "/", "data": {"message": "m"}}), True),
    (pack({"type": 2.0, "nsp": "/", "data": ["e"], "id": 3.0}), True),  # Number.isInteger(2.0)
    (pack({"type": 2, "nsp": "/", "data": ["e"], "other": {"x": 1}}), True),
    (pack({"type": 2, "nsp": "", "data": ["e"]}), True),
    (pack([2, "/", ["e"]]), False),
    (pack("2"), False),
    (pack(5), False),
    (pack(None), False),
    (b"", False),
    (b"\xc1", False),  # never used
    (VALID + b"\x00", False),  # trailing bytes
    (VALID[:-1], False),  # truncated
    (pack({"nsp": "/", "data": ["e"]}), False),
    (pack({"type": 5, "nsp": "/", "data": ["e"]}), False),
    (pack({"type": 6, "nsp": "/", "data": ["e"]}), False),
    (pack({"type": -1, "nsp": "/", "data": ["e"]}), False),
    (pack({"type": "2", "nsp": "/", "data": ["e"]}), False),
    (pack({"type": True, "nsp": "/", "data": ["e"]}), False),
    (pack({"type": 2.5, "nsp": "/", "data": ["e"]}), False),
    (pack({"type": 2, "data": ["e"]}), False),
    (pack({"type": 2, "nsp": 5, "data": ["e"]}), False),
    (pack({"type": 2, "nsp": None, "data": ["e"]}), False),
    (pack({"type": 2, "nsp": b"/", "data": ["e"]}), False),
    (pack({"type": 0, "nsp": "/", "data": [1]}), False),
    (pack({"type": 0, "nsp": "/", "data": "s"}), False),
    (pack({"type": 1, "nsp": "/", "data": {}}), False),
    (pack({"type": 2, "nsp": "/", "data": {"0": "e"}}), False),
    (pack({"type": 2, "nsp": "/", "data": "e"}), False),
    (pack({"type": 2, "nsp": "/"}), False),
    (pack({"type": 3, "nsp": "/", "data": 5, "id": 1}), False),
    (pack({"type": 4, "nsp": "/", "data": 5}), False),
    (pack({"type": 4, "nsp": "/", "data": [1]}), False),
    (pack({"type": 2, "nsp": "/", "data": ["e"], "id": "1"}), False),
    (pack({"type": 2, "nsp": "/", "data": ["e"], "id": 1.5}), False),
    (pack({"type": 2, "nsp": "/", "data": ["e"], "id": True}), False),
]

# Where gsio differs on purpose: (message, gsio accepts, why). The first ones gsio's JSON decoder
# refuses too; msgpack stops at 1024 levels; nil (which the npm Decoder refuses where undefined
# is allowed) reads as None, as undefined does.
DIFFERENT = [
    (pack({"type": 2, "nsp": "/", "data": []}), False, "an EVENT without a name"),
    (pack({"type": 2, "nsp": "/", "data": [5]}), False, "an event name that is not a string"),
    (pack({"type": 2, "nsp": "/", "data": ["connect"]}), False, "a reserved event name"),
    (pack({"type": 3, "nsp": "/", "data": []}), False, "an ACK without an id"),
    (pack({"type": 2, "nsp": "/", "data": ["e"], "id": -1}), False, "a negative id"),
    (pack({"type": 2, "nsp": "/", "data": ["e"], "id": 2**53}), False, "an id past 2**53 - 1"),
    (DEEP, False, "nesting past msgpack's 1024 levels"),
    (pack({"type": 0, "nsp": "/", "data": None}), True, "nil as undefined"),
    (pack({"type": 1, "nsp": "/", "data": None}), True, "nil as undefined"),
    (pack({"type": 2, "nsp": "/", "data": ["e"], "id": None}), True, "nil as undefined"),
]


def gsio_accepts(data: bytes) -> bool:
    try:
        decode(data)
    except ProtocolError:
        return False
    return True


def test_accepts_and_refuses_as_the_npm_decoder(run_node, tmp_path):
    messages = [m for m, _ in AGREED] + [m for m, _, _ in DIFFERENT]
    result = npm(run_node, tmp_path, decode=[m.hex() for m in messages])["decoded"]
    node = ["packet" in r for r in result]
    agreed = [(m.hex(), accepts) for m, accepts in AGREED]
    assert [(m, node_accepts) for (m, _), node_accepts in zip(agreed, node)] == agreed
    assert [gsio_accepts(m) for m, _ in AGREED] == [accepts for _, accepts in AGREED]
    for (message, accepts, why), node_accepts in zip(DIFFERENT, node[len(AGREED) :]):
        assert (gsio_accepts(message), node_accepts) == (accepts, not accepts), why


def test_a_text_message_is_a_parse_error():
    decoder = CODEC.decoder()
    with pytest.raises(ProtocolError) as caught:
        decoder.feed('2["e"]')
    assert caught.value.reason == "parse error"
    assert decoder.feed_event('2["e"]') is None
    assert decoder.pending is False
    assert decoder.feed(VALID) == Packet(EVENT, "/", ["e", 1])


def test_the_namespace_length_is_bounded():
    decoder = CODEC.decoder(max_namespace_length=4)
    assert decoder.feed(pack({"type": 0, "nsp": "/abc"})) == Packet(CONNECT, "/abc")
    with pytest.raises(ProtocolError):
        decoder.feed(pack({"type": 0, "nsp": "/abcd"}))


def test_map_keys_that_are_not_strings_are_refused():
    with pytest.raises(ProtocolError):
        decode(pack({"type": 2, "nsp": "/", "data": ["e", {1: 2}]}))


def test_other_extensions_read_as_notepack_reads_them():
    data = pack({"type": 2, "nsp": "/", "data": ["e", msgpack.ExtType(5, b"ab")]})
    assert decode(data).data == ["e", [5, b"ab"]]


@pytest.mark.parametrize(
    "ms, text",
    [
        (0, "1970-01-01T00:00:00.000Z"),
        (8.64e15, "+275760-09-13T00:00:00.000Z"),
        (-8.64e15, "-271821-04-20T00:00:00.000Z"),
        (8.64e15 + 1, None),
        (-62198755200000, "-000001-01-01T00:00:00.000Z"),
    ],
)
def test_js_date_text(ms, text):
    assert js_date_text(ms) == text


# -- Server(parser=...) -------------------------------------------------------------------------


def test_server_parser_option():
    assert isinstance(gsio.Server(parser="msgpack").codec, MsgpackCodec)
    assert type(gsio.Server().codec).__name__ == "JsonCodec"
    assert gsio.Server(parser=CODEC).codec is CODEC
    with pytest.raises(ValueError, match="unknown parser"):
        gsio.Server(parser="yaml")
    with pytest.raises(ValueError, match="json="):
        gsio.Server(parser="msgpack", json=json)


def test_without_the_msgpack_package_the_server_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "msgpack", None)  # "import msgpack" raises ImportError
    with pytest.raises(ImportError, match=r"pip install 'gsio\[msgpack\]'"):
        gsio.Server(parser="msgpack")
    assert type(gsio.Server().codec).__name__ == "JsonCodec"
