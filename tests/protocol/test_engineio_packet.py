"""The Engine.IO v4 codec, table-driven: WebSocket frames and polling bodies, good and malformed.

Every malformed input must raise ProtocolError (which is not a ValueError): a ValueError,
UnicodeError, binascii.Error or IndexError escaping the codec fails these tests.
"""

from __future__ import annotations

import pytest

from gsio.exceptions import ProtocolError
from gsio.protocol.engineio import (
    CLOSE,
    NOOP,
    PING,
    PING_PROBE,
    PONG,
    PONG_PROBE,
    PROTOCOLS,
    SEPARATOR,
    Packet,
    PacketType,
    decode,
    decode_payload,
    encode,
    encode_payload,
    protocol_version,
)

OPEN_DATA = '{"sid":"abc","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
NON_ASCII = "héllo wörld ✓ 日本 😀"


def assert_same_packets(actual: list[Packet], expected: list[Packet]) -> None:
    """Equal, and with the exact types: a PacketType (not a bare int), str vs bytes data."""
    assert actual == expected
    for got, want in zip(actual, expected):
        assert type(got) is Packet
        assert type(got.type) is PacketType
        assert type(got.data) is type(want.data)


def assert_protocol_error(exc_info: pytest.ExceptionInfo) -> None:
    exc = exc_info.value
    assert type(exc) is ProtocolError
    assert not isinstance(exc, ValueError)
    assert exc.status == 400
    assert exc.code == 3
    assert exc.reason == "parse error"
    assert exc.message


# -- the constants --------------------------------------------------------------------------


def test_separator_is_the_record_separator():
    assert SEPARATOR == "\x1e"


@pytest.mark.parametrize(
    "packet, expected",
    [
        (PING, Packet(PacketType.PING, "")),
        (PONG, Packet(PacketType.PONG, "")),
        (NOOP, Packet(PacketType.NOOP, "")),
        (CLOSE, Packet(PacketType.CLOSE, "")),
        (PING_PROBE, Packet(PacketType.PING, "probe")),
        (PONG_PROBE, Packet(PacketType.PONG, "probe")),
    ],
)
def test_shared_packets(packet, expected):
    assert_same_packets([packet], [expected])


@pytest.mark.parametrize(
    "ptype, digit",
    [
        (PacketType.OPEN, 0),
        (PacketType.CLOSE, 1),
        (PacketType.PING, 2),
        (PacketType.PONG, 3),
        (PacketType.MESSAGE, 4),
        (PacketType.UPGRADE, 5),
        (PacketType.NOOP, 6),
    ],
)
def test_packet_type_numbers(ptype, digit):
    assert ptype.value == digit


@pytest.mark.parametrize(
    "packet, binary",
    [
        (Packet(PacketType.MESSAGE, "x"), False),
        (Packet(PacketType.MESSAGE, b"x"), True),
        (PING, False),
    ],
)
def test_binary_property(packet, binary):
    assert packet.binary is binary


# -- WebSocket frames -------------------------------------------------------------------------

FRAMES = [
    # (packet, frame payload)
    (Packet(PacketType.OPEN, OPEN_DATA), "0" + OPEN_DATA),
    (Packet(PacketType.CLOSE), "1"),
    (Packet(PacketType.PING), "2"),
    (Packet(PacketType.PING, "probe"), "2probe"),
    (Packet(PacketType.PONG), "3"),
    (Packet(PacketType.PONG, "probe"), "3probe"),
    (Packet(PacketType.MESSAGE, "hello"), "4hello"),
    (Packet(PacketType.MESSAGE, ""), "4"),
    (Packet(PacketType.MESSAGE, '2["chat","hi"]'), '42["chat","hi"]'),
    (Packet(PacketType.MESSAGE, NON_ASCII), "4" + NON_ASCII),
    (Packet(PacketType.MESSAGE, "4\x1e4"), "44\x1e4"),  # a separator is plain data in a frame
    (Packet(PacketType.UPGRADE), "5"),
    (Packet(PacketType.NOOP), "6"),
    (Packet(PacketType.MESSAGE, b"\x01\x02\x03\x04"), b"\x01\x02\x03\x04"),
    (Packet(PacketType.MESSAGE, b""), b""),
    (Packet(PacketType.MESSAGE, bytes(range(256))), bytes(range(256))),
]


@pytest.mark.parametrize("packet, frame", FRAMES)
def test_encode_frame(packet, frame):
    encoded = encode(packet)
    assert encoded == frame
    assert type(encoded) is type(frame)


@pytest.mark.parametrize("packet, frame", FRAMES)
def test_decode_frame(packet, frame):
    assert_same_packets([decode(frame)], [packet])


@pytest.mark.parametrize(
    "frame, expected",
    [
        (bytearray(b"\x00\xff"), Packet(PacketType.MESSAGE, b"\x00\xff")),
        (memoryview(b"\x05"), Packet(PacketType.MESSAGE, b"\x05")),
        # a binary frame is a message whatever its first byte looks like
        (b"4hello", Packet(PacketType.MESSAGE, b"4hello")),
    ],
)
def test_decode_binary_frame_variants(frame, expected):
    assert_same_packets([decode(frame)], [expected])


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param("", id="empty"),
        pytest.param("7", id="type-7"),
        pytest.param("7hello", id="type-7-with-data"),
        pytest.param("9", id="type-9"),
        pytest.param("x", id="type-x"),
        pytest.param("abc", id="abc"),
        pytest.param("b", id="b-alone"),
        pytest.param("bAQIDBA==", id="polling-binary-in-a-text-frame"),
        pytest.param(" 4hello", id="leading-space"),
        pytest.param("\x1e4", id="leading-separator"),
        pytest.param("-1", id="negative"),
        pytest.param("٤hello", id="arabic-indic-digit-four"),
        pytest.param("４hello", id="fullwidth-digit-four"),
        pytest.param("😀", id="emoji"),
    ],
)
def test_decode_malformed_frame(frame):
    with pytest.raises(ProtocolError) as exc_info:
        decode(frame)
    assert_protocol_error(exc_info)


# -- polling payloads -------------------------------------------------------------------------

PAYLOADS = [
    # (packets, body)
    pytest.param([Packet(PacketType.MESSAGE, "hello")], "4hello", id="one-message"),
    pytest.param(
        [Packet(PacketType.MESSAGE, "hello"), Packet(PacketType.MESSAGE, b"\x01\x02\x03\x04")],
        "4hello\x1ebAQIDBA==",
        id="text-and-binary",
    ),
    pytest.param([Packet(PacketType.MESSAGE, "")], "4", id="empty-message"),
    pytest.param(
        [Packet(PacketType.MESSAGE, ""), Packet(PacketType.MESSAGE, "")], "4\x1e4", id="two-empty"
    ),
    pytest.param([Packet(PacketType.MESSAGE, b"")], "b", id="empty-binary"),
    pytest.param([Packet(PacketType.MESSAGE, b"\x1e")], "bHg==", id="binary-separator-byte"),
    pytest.param([Packet(PacketType.MESSAGE, b"\xff\xfe\xfd")], "b//79", id="binary-high-bytes"),
    pytest.param([Packet(PacketType.MESSAGE, NON_ASCII)], "4" + NON_ASCII, id="non-ascii"),
    pytest.param([Packet(PacketType.OPEN, OPEN_DATA)], "0" + OPEN_DATA, id="open"),
    pytest.param([CLOSE], "1", id="close"),
    pytest.param([PING], "2", id="ping"),
    pytest.param([PONG], "3", id="pong"),
    pytest.param([Packet(PacketType.UPGRADE)], "5", id="upgrade"),
    pytest.param([NOOP], "6", id="noop"),
    pytest.param(
        [
            Packet(PacketType.OPEN, "{}"),
            CLOSE,
            PING,
            PONG,
            Packet(PacketType.MESSAGE, "x"),
            Packet(PacketType.UPGRADE),
            NOOP,
            Packet(PacketType.MESSAGE, b"\x00"),
        ],
        "0{}\x1e1\x1e2\x1e3\x1e4x\x1e5\x1e6\x1ebAA==",
        id="every-type",
    ),
    pytest.param(
        [Packet(PacketType.MESSAGE, str(i)) for i in range(10)],
        "\x1e".join("4" + str(i) for i in range(10)),
        id="ten-messages",
    ),
]


@pytest.mark.parametrize("packets, body", PAYLOADS)
def test_encode_payload(packets, body):
    encoded = encode_payload(packets)
    assert encoded == body
    assert type(encoded) is str


def test_encode_payload_takes_any_iterable():
    assert encode_payload(iter([PING, NOOP])) == "2\x1e6"


def test_encode_empty_payload():
    assert encode_payload([]) == ""


@pytest.mark.parametrize("packets, body", PAYLOADS)
def test_decode_payload_bytes(packets, body):
    assert_same_packets(decode_payload(body.encode("utf-8")), packets)


@pytest.mark.parametrize("packets, body", PAYLOADS)
def test_decode_payload_str(packets, body):
    assert_same_packets(decode_payload(body), packets)


@pytest.mark.parametrize("packets, body", PAYLOADS)
def test_decode_payload_bytearray(packets, body):
    assert_same_packets(decode_payload(bytearray(body.encode("utf-8"))), packets)


@pytest.mark.parametrize(
    "body, max_packets, count",
    [
        (b"4a", 1, 1),
        (b"4a\x1e4b", 2, 2),
        (b"4a\x1e4b\x1e4c", 3, 3),
        (b"\x1e".join([b"4x"] * 1000), None, 1000),
    ],
)
def test_decode_payload_within_max_packets(body, max_packets, count):
    assert len(decode_payload(body, max_packets=max_packets)) == count


MALFORMED_PAYLOADS = [
    pytest.param(b"", None, id="empty-bytes"),
    pytest.param("", None, id="empty-str"),
    pytest.param(b"\x1e", None, id="separator-only"),
    pytest.param(b"4a\x1e", None, id="trailing-separator"),
    pytest.param(b"\x1e4a", None, id="leading-separator"),
    pytest.param(b"4a\x1e\x1e4b", None, id="double-separator"),
    pytest.param(b"7", None, id="type-7"),
    pytest.param(b"x", None, id="type-x"),
    pytest.param(b"abc", None, id="abc"),
    pytest.param(b"4a\x1e7", None, id="good-then-unknown-type"),
    pytest.param(b"b!!!", None, id="base64-bad-chars"),
    pytest.param(b"bAAA", None, id="base64-bad-padding"),
    pytest.param(b"bA===", None, id="base64-one-char-group"),
    pytest.param(b"bAQID\n", None, id="base64-newline"),
    pytest.param(b"b AQID", None, id="base64-space"),
    pytest.param(b"bAQ-_", None, id="base64-urlsafe-alphabet"),
    pytest.param("bé".encode(), None, id="base64-non-ascii-bytes"),
    pytest.param("bé", None, id="base64-non-ascii-str"),
    pytest.param("b日本", None, id="base64-cjk"),
    pytest.param(b"4a\x1ebAAA", None, id="good-then-bad-base64"),
    pytest.param(b"\xff", None, id="invalid-utf8-ff"),
    pytest.param(b"4\xc3", None, id="truncated-utf8"),
    pytest.param(b"4\xc3\x28", None, id="invalid-continuation"),
    pytest.param(b"4\xed\xa0\x80", None, id="utf8-encoded-surrogate"),
    pytest.param(b"4\xc0\xaf", None, id="overlong-utf8"),
    pytest.param(b"4a\x1e4b", 1, id="max-packets-exceeded"),
    pytest.param(b"4a\x1e4b\x1e4c", 2, id="max-packets-exceeded-by-one"),
    pytest.param(b"\x1e".join([b"4x"] * 17), 16, id="max-packets-16"),
]


@pytest.mark.parametrize("body, max_packets", MALFORMED_PAYLOADS)
def test_decode_malformed_payload(body, max_packets):
    with pytest.raises(ProtocolError) as exc_info:
        decode_payload(body, max_packets=max_packets)
    assert_protocol_error(exc_info)


# -- round trips ----------------------------------------------------------------------------


@pytest.mark.parametrize("packet, frame", FRAMES)
def test_frame_round_trip(packet, frame):
    assert_same_packets([decode(encode(packet))], [packet])


@pytest.mark.parametrize("packets, body", PAYLOADS)
def test_payload_round_trip(packets, body):
    assert_same_packets(decode_payload(encode_payload(packets).encode("utf-8")), packets)


def test_protocol_version_of_a_handshake():
    assert PROTOCOLS == {3, 4}
    assert protocol_version("4") == 4
    assert protocol_version("4", allow_eio3=True) == 4


@pytest.mark.parametrize("eio", [None, "", "3", "5", "04", " 4", "4.0", "four"])
def test_with_allow_eio3_anything_but_4_is_v3(eio):
    # As Node's engine.io: req._query.EIO === "4" ? 4 : 3 (build/server.js, line 33).
    assert protocol_version(eio, allow_eio3=True) == 3


@pytest.mark.parametrize("eio", [None, "", "3", "5", "04", " 4", "4.0", "four"])
def test_protocol_version_refuses_what_gsio_does_not_speak(eio):
    with pytest.raises(ProtocolError) as info:
        protocol_version(eio)
    assert (info.value.code, info.value.status) == (5, 400)
