"""Tests of the pure Socket.IO v5 packet codec (gsio.protocol.socketio, socketio_packet,
socketio_decoder)."""

from __future__ import annotations

import ast
import importlib.util
import io
import json
import sys
import sysconfig
from pathlib import Path
from typing import Any

import pytest

from gsio.exceptions import ProtocolError
from gsio.protocol import socketio, socketio_decoder, socketio_packet
from gsio.protocol.socketio import (
    RESERVED_EVENTS,
    Decoder,
    Packet,
    PacketType,
    dumps,
    encode,
    encode_fields,
)

CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR, BINARY_EVENT, BINARY_ACK = PacketType


def placeholder(num: Any) -> dict:
    return {"_placeholder": True, "num": num}


def ph(num: int | str) -> str:
    return f'{{"_placeholder":true,"num":{num}}}'


def compact_json(obj: Any) -> str:
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False)


@pytest.fixture(params=["json.loads", "custom loads"])
def new_decoder(request: pytest.FixtureRequest) -> Any:
    """Make decoders with the default JSON path and with a user-supplied ``loads``."""
    if request.param == "json.loads":
        return Decoder
    return lambda **kwargs: Decoder(loads=lambda text: json.loads(text), **kwargs)


def feed_all(decoder: Decoder, messages: list) -> Packet | None:
    """Feed every message; all but the last must leave the packet pending."""
    for message in messages[:-1]:
        assert decoder.feed(message) is None
        assert decoder.pending
    return decoder.feed(messages[-1])


# --- the basics ------------------------------------------------------------------------------


def test_packet_types_and_reserved_events() -> None:
    assert [int(t) for t in PacketType] == list(range(7))
    assert RESERVED_EVENTS == {
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    }


def test_packet_is_an_immutable_value() -> None:
    p = Packet(EVENT, data=["a", 1])
    assert (p.type, p.namespace, p.data, p.id) == (EVENT, "/", ["a", 1], None)
    assert p == Packet(EVENT, "/", ["a", 1], None)
    assert p != Packet(EVENT, "/", ["a", 1], 1)
    assert p != (EVENT, "/", ["a", 1], None)
    assert repr(p) == "Packet(PacketType.EVENT, '/', ['a', 1], None)"
    for name in ("type", "namespace", "data", "id", "other"):
        with pytest.raises(AttributeError):
            setattr(p, name, None)
    with pytest.raises(AttributeError):
        del p.id
    with pytest.raises(TypeError):
        hash(p)


# --- encoding --------------------------------------------------------------------------------

ENCODE_TEXT = [
    (Packet(CONNECT), "0"),
    (Packet(CONNECT, "/admin"), "0/admin,"),
    (Packet(CONNECT, "/", {"sid": "abc"}), '0{"sid":"abc"}'),
    (Packet(CONNECT, "/admin", {"sid": "abc"}), '0/admin,{"sid":"abc"}'),
    (Packet(DISCONNECT), "1"),
    (Packet(DISCONNECT, "/admin"), "1/admin,"),
    (Packet(EVENT, "/", ["chat", "hi"]), '2["chat","hi"]'),
    (Packet(EVENT, "/admin", ["delete", 7], 12), '2/admin,12["delete",7]'),
    (Packet(EVENT, "/", ["delete", 7], 12), '212["delete",7]'),
    (Packet(EVENT, "/admin", ["x"]), '2/admin,["x"]'),
    (Packet(EVENT, "/", ["x"], 0), '20["x"]'),
    (
        Packet(EVENT, "/", ["message-back", 1, "2", {"3": [True]}]),
        '2["message-back",1,"2",{"3":[true]}]',
    ),
    (Packet(EVENT, "/", ["é", "日本", "😀"]), '2["é","日本","😀"]'),
    (
        Packet(EVENT, "/", ["e", 1.5, None, False, -3, {"k": []}]),
        '2["e",1.5,null,false,-3,{"k":[]}]',
    ),
    (
        Packet(EVENT, "/", ["e", 'q"b\\s\n\x1f\x7f\u2028']),
        '2["e","q\\"b\\\\s\\n\\u001f\x7f\u2028"]',
    ),
    (Packet(EVENT, "/", ("t", (1, 2), [(3,)])), '2["t",[1,2],[[3]]]'),
    (Packet(ACK, "/", ["ok"], 12), '312["ok"]'),
    (Packet(ACK, "/admin", ["ok"], 12), '3/admin,12["ok"]'),
    (Packet(ACK, "/", [], 1), "31[]"),
    (
        Packet(CONNECT_ERROR, "/", {"message": "Not authorized", "data": {"a": 1}}),
        '4{"message":"Not authorized","data":{"a":1}}',
    ),
    (
        Packet(CONNECT_ERROR, "/admin", {"message": "Invalid namespace"}),
        '4/admin,{"message":"Invalid namespace"}',
    ),
    (Packet(CONNECT_ERROR, "/", "oops"), '4"oops"'),
]


@pytest.mark.parametrize(("packet", "expected"), ENCODE_TEXT)
def test_encode_text(packet: Packet, expected: str) -> None:
    assert encode(packet) == [expected]


@pytest.mark.parametrize(("packet", "expected"), ENCODE_TEXT)
def test_encode_text_with_custom_dumps(packet: Packet, expected: str) -> None:
    assert encode(packet, compact_json) == [expected]


BINARY_WITHOUT_BINARY = [
    (Packet(BINARY_EVENT, "/", ["x", 1]), '2["x",1]'),
    (Packet(BINARY_EVENT, "/admin", ["x"], 4), '2/admin,4["x"]'),
    (Packet(BINARY_ACK, "/", [], 3), "33[]"),
]


@pytest.mark.parametrize(("packet", "expected"), BINARY_WITHOUT_BINARY)
def test_binary_type_without_binary_goes_as_the_plain_type(packet: Packet, expected: str) -> None:
    # "50-" is illegal (socket.io-parser refuses it, and so does the Decoder): a BINARY_EVENT
    # or BINARY_ACK holding no binary is sent as the EVENT or ACK it is.
    assert encode(packet) == [expected]
    assert encode(packet, compact_json) == [expected]
    assert Decoder().feed(expected) is not None


BINARY_INPUTS = [
    (
        Packet(EVENT, "/", ["upload", b"\x01\x02"]),
        f'51-["upload",{ph(0)}]',
        [b"\x01\x02"],
    ),
    (
        Packet(EVENT, "/admin", ["e", {"a": [b"1", {"b": bytearray(b"2")}]}, memoryview(b"3")], 3),
        f'53-/admin,3["e",{{"a":[{ph(0)},{{"b":{ph(1)}}}]}},{ph(2)}]',
        [b"1", b"2", b"3"],
    ),
    (Packet(ACK, "/", [b"x"], 12), f"61-12[{ph(0)}]", [b"x"]),
    (Packet(ACK, "/chat", [(b"x", "y")], 0), f'61-/chat,0[[{ph(0)},"y"]]', [b"x"]),
    (Packet(BINARY_EVENT, "/", ["b", b""]), f'51-["b",{ph(0)}]', [b""]),
    (Packet(EVENT, "/", ["x", b"a", b"a"]), f'52-["x",{ph(0)},{ph(1)}]', [b"a", b"a"]),
]


@pytest.mark.parametrize("custom", [False, True], ids=["default-dumps", "custom-dumps"])
@pytest.mark.parametrize(("packet", "text", "attachments"), BINARY_INPUTS)
def test_encode_binary(packet: Packet, text: str, attachments: list, custom: bool) -> None:
    messages = encode(packet, compact_json) if custom else encode(packet)
    assert messages[0] == text
    assert messages[1:] == attachments
    assert all(type(blob) is bytes for blob in messages[1:])


@pytest.mark.parametrize(
    ("packet", "expected"),
    [(p, [text]) for p, text in ENCODE_TEXT]
    + [(p, [text, *blobs]) for p, text, blobs in BINARY_INPUTS]
    + [
        (Packet(EVENT, "", ["x"], 5), ['25["x"]']),
        (Packet(ACK, "", [b"x"], 5), [f"61-5[{ph(0)}]", b"x"]),
    ],
)
def test_encode_fields_encodes_without_a_packet(packet: Packet, expected: list) -> None:
    """What an ack is encoded with: the packet's fields, no Packet made."""
    assert encode_fields(packet.type, packet.namespace, packet.data, packet.id) == expected


def test_encode_binary_leaves_the_packet_alone() -> None:
    data = ["e", {"a": b"1"}, (b"2",)]
    encode(Packet(EVENT, "/", data))
    assert data == ["e", {"a": b"1"}, (b"2",)]


@pytest.mark.parametrize("custom", [False, True], ids=["default-dumps", "custom-dumps"])
def test_encode_refuses_a_file_it_would_have_to_read(custom: bool) -> None:
    """Reading a file is I/O: the server reads it before it encodes (gsio.server.files)."""

    class File:
        def read(self, size: int = -1) -> bytes:
            raise AssertionError("the pure codec read a file")

    with pytest.raises(TypeError):
        encode(Packet(EVENT, "/", ["f", {"x": File()}]), *([compact_json] if custom else []))


def test_encode_plain_data_walks_it_only_in_dumps(monkeypatch: pytest.MonkeyPatch) -> None:
    def walked(*args: Any) -> None:
        raise AssertionError("plain data walked for binary")

    monkeypatch.setattr(socketio_packet, "_has_binary", walked)
    monkeypatch.setattr(socketio_packet, "_deconstruct", walked)
    assert encode(Packet(EVENT, "/", ["echo", "hello"])) == ['2["echo","hello"]']


@pytest.mark.parametrize("data", [["a", object()], ["a", {b"key": 1}], ["a", {1, 2}]])
def test_encode_unserializable_data_is_a_type_error(data: list) -> None:
    with pytest.raises(TypeError):
        encode(Packet(EVENT, "/", data))


DUMPS_SAMPLES = [
    ["a", 1, -2.5, 1e100, 3.0, True, False, None],
    {"é": ["日本", "\u2028\u2029", "\x00\x1f\x7f", '"\\/']},
    {"1": {"2": [[], {}]}},
    ("tuple", ("nested",)),
    "string",
    12,
    None,
]


@pytest.mark.parametrize("obj", DUMPS_SAMPLES)
def test_dumps_is_compact_utf8_json(obj: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    assert dumps(obj) == compact_json(obj)
    monkeypatch.setattr(socketio_packet, "_iterencode", None)  # the pure Python fallback
    assert dumps(obj) == compact_json(obj)


LONE_SURROGATES = [
    (["\ud800"], '["\\ud800"]'),
    (["é\udbff日", "\U0001f600"], '["é\\udbff日","\U0001f600"]'),
    ({"k\udc00": "\udfff"}, '{"k\\udc00":"\\udfff"}'),
]


@pytest.mark.parametrize(("obj", "expected"), LONE_SURROGATES)
def test_dumps_escapes_lone_surrogates_as_json_stringify(
    obj: Any, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert dumps(obj) == expected
    assert json.loads(expected) == obj
    monkeypatch.setattr(socketio_packet, "_iterencode", None)
    assert dumps(obj) == expected


def test_a_peers_lone_surrogate_can_be_sent_back() -> None:
    received = Decoder().feed('2["echo","\\ud800\\ud83d\\ude00"]')
    assert received == Packet(EVENT, "/", ["echo", "\ud800\U0001f600"])
    [text] = encode(received)
    assert text == '2["echo","\\ud800😀"]'
    assert text.encode("utf-8") == b'2["echo","\\ud800\xf0\x9f\x98\x80"]'


INF, NAN = float("inf"), float("nan")
NON_FINITE = [
    (["m", INF], '["m",null]'),
    (["m", -INF, NAN], '["m",null,null]'),
    ({"a": [1.5, (INF,)], "b": {"c": NAN}}, '{"a":[1.5,[null]],"b":{"c":null}}'),
    ({INF: 1, -INF: 2, NAN: 3, 1.5: 4}, '{"Infinity":1,"-Infinity":2,"NaN":3,"1.5":4}'),
    (INF, "null"),
    (["é\ud800", NAN], '["é\\ud800",null]'),
]


@pytest.mark.parametrize(("obj", "expected"), NON_FINITE)
def test_dumps_writes_non_finite_floats_as_null_as_json_stringify(
    obj: Any, expected: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # NaN and Infinity are not JSON: a client's JSON.parse would refuse the whole packet.
    # JSON.stringify writes null for them (and String(key) for a key): so does dumps.
    assert dumps(obj) == expected
    json.loads(expected, parse_constant=pytest.fail)
    monkeypatch.setattr(socketio_packet, "_iterencode", None)  # the pure Python fallback
    assert dumps(obj) == expected


def test_encode_writes_non_finite_floats_as_null() -> None:
    assert encode(Packet(EVENT, "/", ["m", INF, {"x": -INF}], 3)) == ['23["m",null,{"x":null}]']
    assert encode(Packet(ACK, "/a", [NAN], 3)) == ["3/a,3[null]"]
    assert encode(Packet(EVENT, "/", ["m", NAN, b"\x01"])) == [f'51-["m",null,{ph(0)}]', b"\x01"]
    assert encode(Packet(CONNECT_ERROR, "/", {"message": "x", "data": INF})) == [
        '4{"message":"x","data":null}'
    ]


@pytest.mark.parametrize("obj", [b"x", bytearray(b"x"), memoryview(b"x"), io.BytesIO(b"x")])
def test_dumps_refuses_binary(obj: Any) -> None:
    with pytest.raises(TypeError):
        dumps(["a", obj])


# --- decoding --------------------------------------------------------------------------------

DECODE_TEXT = [
    ("0", Packet(CONNECT)),
    ("0/admin,", Packet(CONNECT, "/admin")),
    ("0/admin", Packet(CONNECT, "/admin")),
    ('0{"token":"x"}', Packet(CONNECT, "/", {"token": "x"})),
    ('0/admin,{"token":"x"}', Packet(CONNECT, "/admin", {"token": "x"})),
    ("0{}", Packet(CONNECT, "/", {})),
    ("1", Packet(DISCONNECT)),
    ("1/admin,", Packet(DISCONNECT, "/admin")),
    ('2["chat","hi"]', Packet(EVENT, "/", ["chat", "hi"])),
    ('2/admin,12["delete",7]', Packet(EVENT, "/admin", ["delete", 7], 12)),
    ('212["delete",7]', Packet(EVENT, "/", ["delete", 7], 12)),
    ('2/admin,["x"]', Packet(EVENT, "/admin", ["x"])),
    ('20["x"]', Packet(EVENT, "/", ["x"], 0)),
    ('2007["x"]', Packet(EVENT, "/", ["x"], 7)),
    ('2999999999999999["x"]', Packet(EVENT, "/", ["x"], 999999999999999)),
    ('2["error",{"a":null}]', Packet(EVENT, "/", ["error", {"a": None}])),
    ('2["é","日本"]', Packet(EVENT, "/", ["é", "日本"])),
    ('2["x",{"_placeholder":true,"num":0}]', Packet(EVENT, "/", ["x", placeholder(0)])),
    ('2 ["x"] ', Packet(EVENT, "/", ["x"])),  # JSON.parse allows JSON whitespace around
    ('2/admin,1\t\r\n["x"]\n', Packet(EVENT, "/admin", ["x"], 1)),
    ('0 {"a":1}', Packet(CONNECT, "/", {"a": 1})),
    ('3/admin,12["ok"]', Packet(ACK, "/admin", ["ok"], 12)),
    ("312[]", Packet(ACK, "/", [], 12)),
    ('4{"message":"Not authorized"}', Packet(CONNECT_ERROR, "/", {"message": "Not authorized"})),
    ('4/admin,{"message":"x"}', Packet(CONNECT_ERROR, "/admin", {"message": "x"})),
    ('4"oops"', Packet(CONNECT_ERROR, "/", "oops")),
    ("0/" + "n" * 255 + ",", Packet(CONNECT, "/" + "n" * 255)),
    ("0/" + "n" * 255, Packet(CONNECT, "/" + "n" * 255)),
]


@pytest.mark.parametrize(("text", "expected"), DECODE_TEXT)
def test_decode_text(text: str, expected: Packet, new_decoder: Any) -> None:
    decoder = new_decoder()
    assert decoder.feed(text) == expected
    assert not decoder.pending


@pytest.mark.parametrize(("packet", "text"), ENCODE_TEXT)
def test_round_trip_text(packet: Packet, text: str) -> None:
    decoded = Decoder().feed(encode(packet)[0])
    assert decoded is not None
    assert (decoded.type, decoded.namespace, decoded.id) == (
        packet.type,
        packet.namespace,
        packet.id,
    )
    assert compact_json(decoded.data) == compact_json(packet.data)  # tuples come back as lists


BINARY_DECODE = [
    (
        [f'51-["upload",{ph(0)}]', b"\x01\x02"],
        Packet(BINARY_EVENT, "/", ["upload", b"\x01\x02"]),
    ),
    (
        [f'53-/admin,5["e",{{"a":[{ph(2)}]}},{ph(0)},[[{ph(1)}]]]', b"A", b"B", b"C"],
        Packet(BINARY_EVENT, "/admin", ["e", {"a": [b"C"]}, b"A", [[b"B"]]], 5),
    ),
    ([f"61-12[{ph(0)}]", b"x"], Packet(BINARY_ACK, "/", [b"x"], 12)),
    (
        [f"62-/chat,0[{ph(1)},{ph(0)}]", b"0", bytearray(b"1")],
        Packet(BINARY_ACK, "/chat", [b"1", b"0"], 0),
    ),
    (
        [f'51-["twice",{ph(0)},{ph(0)}]', memoryview(b"m")],
        Packet(BINARY_EVENT, "/", ["twice", b"m", b"m"]),
    ),
    (  # a placeholder object may carry other keys, as Node allows
        ['51-["x",{"_placeholder":true,"num":0,"extra":1}]', b"y"],
        Packet(BINARY_EVENT, "/", ["x", b"y"]),
    ),
    (  # only "_placeholder": true makes a placeholder
        ['51-["x",{"_placeholder":1,"num":0},{"_placeholder":true,"num":0}]', b"y"],
        Packet(BINARY_EVENT, "/", ["x", {"_placeholder": 1, "num": 0}, b"y"]),
    ),
    (['52-["unused"]', b"a", b"b"], Packet(BINARY_EVENT, "/", ["unused"])),
    (['510-["ten"]'] + [b"x"] * 10, Packet(BINARY_EVENT, "/", ["ten"])),
]


@pytest.mark.parametrize(("messages", "expected"), BINARY_DECODE)
def test_decode_binary(messages: list, expected: Packet, new_decoder: Any) -> None:
    decoder = new_decoder()
    packet = feed_all(decoder, messages)
    assert packet == expected
    assert not decoder.pending
    assert decoder.feed('2["next"]') == Packet(EVENT, "/", ["next"])


@pytest.mark.parametrize(("packet", "text", "attachments"), BINARY_INPUTS)
def test_round_trip_binary(packet: Packet, text: str, attachments: list) -> None:
    for value in packet.data:
        if isinstance(value, io.IOBase):
            value.seek(0)
    decoded = feed_all(Decoder(), encode(packet))
    assert decoded is not None
    assert decoded.type == (BINARY_EVENT if packet.type in (EVENT, BINARY_EVENT) else BINARY_ACK)
    assert (decoded.namespace, decoded.id) == (packet.namespace, packet.id)
    assert encode(decoded) == [text, *attachments]


def test_limits_are_configurable(new_decoder: Any) -> None:
    decoder = new_decoder(max_attachments=2, max_namespace_length=6)
    assert decoder.feed('52-["a"]') is None
    decoder = new_decoder(max_attachments=2, max_namespace_length=6)
    with pytest.raises(ProtocolError):
        decoder.feed('53-["a"]')
    assert decoder.feed("0/admin,") == Packet(CONNECT, "/admin")
    with pytest.raises(ProtocolError):
        decoder.feed("0/admins,")


# --- malformed input -------------------------------------------------------------------------

MALFORMED_TEXT = {
    "empty": ("", "unknown packet type"),
    "unknown type 7": ('7["a"]', "unknown packet type"),
    "unknown type x": ('x["a"]', "unknown packet type"),
    "unknown type space": (' 2["a"]', "unknown packet type"),
    "unknown type fullwidth digit": ('２["a"]', "unknown packet type"),
    "event object": ('2{"a":1}', "invalid payload"),
    "event string": ('2"a"', "invalid payload"),
    "event null": ("2null", "invalid payload"),
    "event number": ("2 1", "invalid payload"),
    "event absent": ("2", "invalid payload"),
    "event absent with namespace": ("2/admin,", "invalid payload"),
    "event empty array": ("2[]", "invalid payload"),
    "event name number": ("2[1]", "invalid payload"),
    "event name null": ("2[null]", "invalid payload"),
    "event name bool": ("2[true]", "invalid payload"),
    "event name array": ('2[["a"]]', "invalid payload"),
    "event name object": ('2[{"a":1}]', "invalid payload"),
    "binary event empty array": ("51-[]", "invalid payload"),
    "binary event name number": ("51-[1]", "invalid payload"),
    "binary event reserved": ('51-["connect"]', "invalid payload"),
    # socket.io-parser's "Illegal attachments": a binary packet announces one at least.
    "binary event no attachments": ('50-["message"]', "illegal attachments"),
    "binary event no attachments with id": ('50-/admin,4["x"]', "illegal attachments"),
    "binary event count 00": ('500-["message"]', "illegal attachments"),
    "binary ack no attachments": ('60-3["x"]', "illegal attachments"),
    "binary ack no attachments empty": ("60-3[]", "illegal attachments"),
    "binary without count": ('5["a"]', "invalid attachment count"),
    "binary count without digits": ('5-["a"]', "invalid attachment count"),
    "binary count without dash": ('51["a"]', "invalid attachment count"),
    "binary count non-digit": ('5a-["a"]', "invalid attachment count"),
    "binary count mixed": ('51a-["a"]', "invalid attachment count"),
    "binary count fullwidth digit": ('5１-["a"]', "invalid attachment count"),
    "binary count negative": ('5-1-["a"]', "invalid attachment count"),
    "binary count too many": ('511-["a"]', "too many attachments"),
    "binary count huge": ("5" + "9" * 100 + '-["a"]', "invalid attachment count"),
    "binary count endless digits": ("5" + "1" * 100_000, "invalid attachment count"),
    "binary type alone": ("5", "invalid attachment count"),
    "binary ack type alone": ("6", "invalid attachment count"),
    "namespace too long": ("2/" + "n" * 256 + ',["a"]', "namespace too long"),
    "namespace too long at end": ("0/" + "n" * 256, "namespace too long"),
    "namespace huge without comma": ("0/" + "n" * 1_000_000, "namespace too long"),
    "ack id 16 digits": ('21234567890123456["a"]', "ack id too huge"),
    "ack ack id 16 digits": ("31234567890123456[]", "ack id too huge"),
    "ack id endless digits": ("2" + "1" * 100_000 + '["a"]', "ack id too huge"),
    "ack id negative": ('2-1["a"]', "invalid JSON"),
    "ack id fullwidth digit": ('2１["a"]', "invalid JSON"),
    "ack without id": ('3["ok"]', "ack without an id"),
    "ack without id with namespace": ('3/admin,["ok"]', "ack without an id"),
    "binary ack without id": ("61-[]", "ack without an id"),
    "ack object": ("312{}", "invalid payload"),
    "ack absent": ("312", "invalid payload"),
    "ack string": ('312"x"', "invalid payload"),
    "ack id on connect": ("01{}", "ack id not allowed"),
    "ack id on disconnect": ("11", "ack id not allowed"),
    "ack id on connect error": ('41"x"', "ack id not allowed"),
    "disconnect object": ("1{}", "invalid payload"),
    "disconnect with namespace and object": ("1/admin,{}", "invalid payload"),
    "disconnect null": ("1null", "invalid payload"),
    "disconnect array": ("1[]", "invalid payload"),
    "connect array": ("0[]", "invalid payload"),
    "connect null": ("0null", "invalid payload"),
    "connect string": ('0"x"', "invalid payload"),
    "connect number": ("0 1", "invalid payload"),
    "connect error absent": ("4", "invalid payload"),
    "connect error array": ('4["x"]', "invalid payload"),
    "connect error null": ("4null", "invalid payload"),
    "connect error number": ("4 1", "invalid payload"),
    "json truncated": ('2["a"', "invalid JSON"),
    "json trailing": ('2["a"]x', "invalid JSON"),
    "json trailing comma": ('2["a",]', "invalid JSON"),
    "json extra bracket": ('2["a"]]', "invalid JSON"),
    "json extra bracket with id": ('27["a"]]', "invalid JSON"),
    "json single quotes": ("2['a']", "invalid JSON"),
    "json only whitespace": ("2 \n", "invalid JSON"),
    "json connect only whitespace": ("0 ", "invalid JSON"),
    "json trailing after whitespace": ('2 ["a"] x', "invalid JSON"),
    "json non-JSON whitespace": ('2\u00a0["a"]', "invalid JSON"),
    "json byte order mark": ('2\ufeff["a"]', "invalid JSON"),
    "json deep": ("2" + "[" * 100_000, "invalid JSON"),
    "json deep closed": ('2["a",' + "[" * 100_000 + "]" * 100_000 + "]", "invalid JSON"),
    "json deep object": ('2["a",' + '{"a":' * 100_000 + "1" + "}" * 100_000 + "]", "invalid JSON"),
    "json lone surrogate text": ('2["a",\ud800]', "invalid JSON"),
}
for name in sorted(RESERVED_EVENTS):
    MALFORMED_TEXT[f"reserved {name}"] = (f'2["{name}",1]', "invalid payload")
    MALFORMED_TEXT[f"reserved {name} in /admin"] = (f'2/admin,3["{name}"]', "invalid payload")


def assert_parse_error(excinfo: pytest.ExceptionInfo[ProtocolError]) -> None:
    error = excinfo.value
    assert type(error) is ProtocolError
    assert (error.status, error.code, error.reason) == (400, 3, "parse error")
    assert error.__cause__ is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('2["chat","hi"]', (["chat", "hi"], None)),
        ('212["delete",7]', (["delete", 7], 12)),
        ('20["x"]', (["x"], 0)),
        ('2["e",{"a":[1,"é"]}]', (["e", {"a": [1, "é"]}], None)),
    ],
)
def test_feed_event_decodes_main_namespace_events_without_a_packet(
    text: str, expected: Any
) -> None:
    decoder = Decoder()
    assert decoder.feed_event(text) == expected
    assert decoder.feed(text) == Packet(EVENT, "/", *expected)  # what feed() makes of it


@pytest.mark.parametrize(
    "text",
    [
        '2/admin,["x"]',  # another namespace
        '312["ok"]',  # not an event
        '51-["x",{"_placeholder":true,"num":0}]',  # binary
        '2["connect"]',  # a reserved event
        '2 ["x"]',  # whitespace: the general decoder decides
        '2["x"]]',  # malformed: the general decoder refuses it
        '2["x",NaN]',
        "2[]",
        '2[1,"x"]',
        "2x",
        "2",
        "",
    ],
)
def test_feed_event_leaves_anything_else_to_feed(text: str) -> None:
    assert Decoder().feed_event(text) is None


def test_feed_event_leaves_everything_to_feed_with_a_custom_loads_or_attachments_due() -> None:
    assert Decoder(loads=json.loads).feed_event('2["x"]') == (["x"], None)
    assert Decoder(loads=lambda text: json.loads(text)).feed_event('2["x"]') is None
    decoder = Decoder()
    assert decoder.feed('51-["x",{"_placeholder":true,"num":0}]') is None
    assert decoder.feed_event('2["x"]') is None  # feed() refuses it: attachments are due


@pytest.mark.parametrize(("text", "why"), list(MALFORMED_TEXT.values()), ids=list(MALFORMED_TEXT))
def test_malformed_text(text: str, why: str, new_decoder: Any) -> None:
    decoder = new_decoder()
    with pytest.raises(ProtocolError, match=why) as excinfo:
        decoder.feed(text)
    assert_parse_error(excinfo)
    assert not decoder.pending
    assert decoder.feed('2/admin,1["fresh"]') == Packet(EVENT, "/admin", ["fresh"], 1)


@pytest.mark.parametrize("text", ['2["a",NaN]', '21["a",-Infinity]', '2/admin,["a",Infinity]'])
def test_nan_and_infinity_are_not_json(text: str) -> None:
    """JSON.parse refuses them: the default decoder does too (a custom ``loads`` decides)."""
    with pytest.raises(ProtocolError, match="invalid JSON"):
        Decoder().feed(text)


OVERFLOWING = [
    '2["m",1e400]',
    '2["m",-1e400]',
    '2["m",1E400]',
    '2["m",1.7976931348623159e308]',  # rounds past the largest double
    '27["m",{"a":[1,{"b":1e309}]}]',
    '2["m",' + "9" * 400 + ".0]",
    '2/admin,["m",1e400]',
    "31[1e400]",
    '3/admin,1["ok",[-1e400]]',
    '0{"token":1e400}',
    '0/admin,{"a":{"b":-1e999}}',
    '4{"message":"x","data":1e400}',
    f'51-["m",1e400,{ph(0)}]',
    f"61-1[{ph(0)},-1e400]",
]


@pytest.mark.parametrize("text", OVERFLOWING)
def test_numbers_overflowing_a_double_are_refused(text: str) -> None:
    """1e400 parses as inf, which would go back out as Infinity (not JSON): refused as the
    NaN and Infinity literals are, on the short EVENT path and the general decoder alike."""
    decoder = Decoder()
    assert decoder.feed_event(text) is None
    with pytest.raises(ProtocolError, match="invalid JSON") as excinfo:
        decoder.feed(text)
    assert_parse_error(excinfo)
    assert not decoder.pending
    assert decoder.feed('2["fresh",1e308,-1e-400]') == Packet(EVENT, "/", ["fresh", 1e308, -0.0])


def bad_placeholder(*nums: str, count: int = 1) -> str:
    return f'5{count}-["x",' + ",".join(ph(num) for num in nums) + "]"


BAD_NUM, TEXT_PENDING, NOT_PENDING = (
    "attachment placeholder",
    "text packet while",
    "binary message while",
)
MALFORMED_SEQUENCES = {
    "placeholder num negative": ([bad_placeholder("-1"), b"a"], BAD_NUM),
    "placeholder num fractional": ([bad_placeholder("0.5"), b"a"], BAD_NUM),
    "placeholder num float": ([bad_placeholder("0.0"), b"a"], BAD_NUM),
    "placeholder num exponent": ([bad_placeholder("0e0"), b"a"], BAD_NUM),
    "placeholder num string": ([bad_placeholder('"0"'), b"a"], BAD_NUM),
    "placeholder num bool": ([bad_placeholder("true"), b"a"], BAD_NUM),
    "placeholder num false": ([bad_placeholder("false"), b"a"], BAD_NUM),
    "placeholder num null": ([bad_placeholder("null"), b"a"], BAD_NUM),
    "placeholder num array": ([bad_placeholder("[0]"), b"a"], BAD_NUM),
    "placeholder num out of range": ([bad_placeholder("1"), b"a"], BAD_NUM),
    "placeholder second out of range": ([bad_placeholder("0", "2", count=2), b"a", b"b"], BAD_NUM),
    "placeholder num missing": (['51-["x",{"_placeholder":true}]', b"a"], BAD_NUM),
    "placeholder nested invalid": (
        ['61-1[[{"a":[{"_placeholder":true,"num":7}]}]]', b"a"],
        BAD_NUM,
    ),
    "placeholder with no attachments": (
        ['50-["x",{"_placeholder":true,"num":0}]'],
        "illegal attachments",
    ),
    "text while attachments pending": ([bad_placeholder("0"), '2["b"]'], TEXT_PENDING),
    "text while second attachment pending": (
        [bad_placeholder("0", "1", count=2), b"a", '2["b"]'],
        TEXT_PENDING,
    ),
    "binary while nothing pending": ([b"x"], NOT_PENDING),
    "binary after a text packet": (['2["a"]', b"x"], NOT_PENDING),
    "binary after a complete binary packet": ([bad_placeholder("0"), b"a", b"b"], NOT_PENDING),
}


@pytest.mark.parametrize(
    ("messages", "why"), list(MALFORMED_SEQUENCES.values()), ids=list(MALFORMED_SEQUENCES)
)
def test_malformed_sequences(messages: list, why: str, new_decoder: Any) -> None:
    decoder = new_decoder()
    for message in messages[:-1]:
        decoder.feed(message)
    with pytest.raises(ProtocolError, match=why) as excinfo:
        decoder.feed(messages[-1])
    assert_parse_error(excinfo)
    assert not decoder.pending
    assert feed_all(decoder, [f'51-["fresh",{ph(0)}]', b"z"]) == Packet(
        BINARY_EVENT, "/", ["fresh", b"z"]
    )


@pytest.mark.parametrize(
    "error",
    [
        ValueError("x"),
        UnicodeDecodeError("utf-8", b"", 0, 1, "x"),
        TypeError("x"),
        RecursionError(),
    ],
)
def test_loads_errors_become_protocol_errors(error: Exception) -> None:
    def loads(text: str) -> Any:
        raise error

    with pytest.raises(ProtocolError) as excinfo:
        Decoder(loads=loads).feed('2["a"]')
    assert_parse_error(excinfo)


def deep_list(depth: int, leaf: Any) -> list:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def bottom(value: Any) -> Any:
    while isinstance(value, list):
        value = value[0]
    return value


def test_placeholder_replacement_does_not_recurse() -> None:
    data = ["deep", deep_list(200_000, placeholder(0))]
    decoder = Decoder(loads=lambda text: data)
    assert decoder.feed('51-["deep"]') is None
    packet = decoder.feed(b"blob")
    assert packet is not None
    assert bottom(packet.data[1]) == b"blob"


def test_placeholder_invalid_deep_down() -> None:
    data = ["deep", {"a": deep_list(200_000, {"b": placeholder(3)})}]
    decoder = Decoder(loads=lambda text: data)
    decoder.feed('51-["deep"]')
    with pytest.raises(ProtocolError) as excinfo:
        decoder.feed(b"blob")
    assert_parse_error(excinfo)


def test_placeholder_in_json_nested_as_deep_as_json_allows() -> None:
    depth = 200
    text = '51-["d",' + "[" * depth + ph(0) + "]" * depth + "]"
    packet = feed_all(Decoder(), [text, b"b"])
    assert packet is not None
    assert bottom(packet.data[1]) == b"b"


def test_feed_refuses_other_types() -> None:
    with pytest.raises(TypeError):
        Decoder().feed(42)  # type: ignore[arg-type]


# --- purity ----------------------------------------------------------------------------------


def is_stdlib(name: str) -> bool:
    if name in sys.builtin_module_names:
        return True
    spec = importlib.util.find_spec(name)
    origin = (spec and spec.origin) or ""
    stdlib = sysconfig.get_paths()["stdlib"]
    return origin == "frozen" or (origin.startswith(stdlib) and "site-packages" not in origin)


SOCKETIO_MODULES = (
    "gsio.protocol.socketio",
    "gsio.protocol.socketio_packet",
    "gsio.protocol.socketio_decoder",
)
CODEC_MODULES = [socketio, socketio_packet, socketio_decoder]


@pytest.mark.parametrize("module", CODEC_MODULES, ids=lambda m: m.__name__)
def test_module_imports_only_stdlib_gsio_exceptions_and_the_codec(module: Any) -> None:
    source = Path(module.__file__).read_text(encoding="utf-8")
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0
            imported.add(node.module)
    gsio_modules = {name for name in imported if name.split(".")[0] == "gsio"}
    assert gsio_modules <= {"gsio.exceptions", *SOCKETIO_MODULES}
    tops = {name.split(".")[0] for name in imported - gsio_modules}
    assert {top for top in tops if not is_stdlib(top)} == set()
    io_or_clock = {"asyncio", "datetime", "gevent", "io", "os", "select", "selectors", "socket"}
    assert tops & (io_or_clock | {"subprocess", "threading", "time"}) == set()


def test_the_facade_exports_what_it_did() -> None:
    # The server layer, the cluster and the tests import these from gsio.protocol.socketio.
    names = [
        "RESERVED_EVENTS",
        "Decoder",
        "Packet",
        "PacketType",
        "dumps",
        "encode",
        "encode_fields",
    ]
    for name in names:
        assert name in socketio.__all__
        defined = getattr(socketio_packet, name, None) or getattr(socketio_decoder, name)
        assert getattr(socketio, name) is defined


# --- the codec interface ---------------------------------------------------------------------


def test_the_default_json_codec_is_the_module_functions() -> None:
    # No extra call layer on the per-message path: the codec hands out the functions themselves.
    codec = socketio.JsonCodec()
    assert codec.encode is encode
    assert codec.encode_fields is encode_fields
    assert codec.encode(Packet(EVENT, "/a", ["e", b"\x01"], 4)) == [
        f'51-/a,4["e",{ph(0)}]',
        b"\x01",
    ]
    assert codec.encode_fields(ACK, "/", ["hi"], 7) == ['37["hi"]']
    decoder = codec.decoder(max_attachments=1, max_namespace_length=4)
    assert isinstance(decoder, Decoder)
    assert decoder.feed_event('27["echo","hi"]') == (["echo", "hi"], 7)
    with pytest.raises(ProtocolError, match="too many attachments"):
        decoder.feed('52-["e",{"_placeholder":true,"num":0}]')
    with pytest.raises(ProtocolError, match="namespace too long"):
        decoder.feed("0/abcde,")


def test_a_json_codec_uses_its_dumps_and_loads() -> None:
    dumped: list[Any] = []
    loaded: list[str] = []

    def my_dumps(obj: Any) -> str:
        dumped.append(obj)
        return json.dumps(obj, separators=(",", ":"))

    def my_loads(text: str) -> Any:
        loaded.append(text)
        return json.loads(text)

    codec = socketio.JsonCodec(my_dumps, my_loads)
    assert codec.encode(Packet(EVENT, "/", ["e", 1], 2)) == ['22["e",1]']
    assert codec.encode_fields(ACK, "/chat", ["ok"], 3) == ['3/chat,3["ok"]']
    assert codec.encode_fields(EVENT, "/", ["f", b"\x02"], None) == [f'51-["f",{ph(0)}]', b"\x02"]
    assert dumped == [["e", 1], ["ok"], ["f", placeholder(0)]]
    decoder = codec.decoder(max_attachments=10, max_namespace_length=256)
    assert decoder.feed_event('2["e",1]') is None  # a custom loads has no short path
    assert decoder.feed('2["e",1]') == Packet(EVENT, "/", ["e", 1])
    assert loaded == ['["e",1]']
