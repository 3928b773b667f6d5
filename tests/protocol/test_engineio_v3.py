"""Engine.IO v3 payloads and frames, byte by byte (gsio.protocol.engineio_v3).

The expected bytes are those of Node's engine.io 6 v3 parser,
tests/js/node_modules/engine.io/build/parser-v3/index.js ("imported from engine.io-parser 2.2.x"):
the line numbers below are that file's. test_engineio_v3_reference.py checks the same against
that parser run in Node.
"""

from __future__ import annotations

import pytest

from gsio.exceptions import ProtocolError
from gsio.protocol.engineio import NOOP, PING, Packet, PacketType
from gsio.protocol.engineio_v3 import (
    BINARY_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    decode_binary_payload,
    decode_frame,
    decode_payload,
    decode_text_payload,
    encode_binary_payload,
    encode_frame,
    encode_payload,
    encode_text_payload,
    js_length,
)

MESSAGE, CLOSE, PONG = PacketType.MESSAGE, PacketType.CLOSE, PacketType.PONG


def msg(data: str | bytes) -> Packet:
    return Packet(MESSAGE, data)


def same(got: list[Packet], expected: list[Packet]) -> None:
    assert [(p.type, p.data, type(p.data)) for p in got] == [
        (p.type, p.data, type(p.data)) for p in expected
    ]


# -- lengths in UTF-16 code units (setLengthHeader, line 226: message.length) -------------------


@pytest.mark.parametrize(
    "text, units",
    [
        ("", 0),
        ("abc", 3),
        ("é", 1),
        ("€", 1),
        ("😀", 2),  # astral: a surrogate pair
        ("a😀b𝄞", 6),
        ("\ud800", 1),  # a lone surrogate is one code unit
    ],
)
def test_js_length_counts_utf16_code_units(text, units):
    assert js_length(text) == units


# -- text payloads (encodePayload, lines 204-227) -----------------------------------------------

TEXT_PAYLOADS = [
    pytest.param([msg("€")], "2:4€", id="euro"),
    pytest.param([msg("😀a"), PING], "4:4😀a1:2", id="astral-counts-two"),
    pytest.param([msg("hello"), msg("")], "6:4hello1:4", id="two-packets"),
    pytest.param([Packet(PacketType.OPEN, '{"sid":"x"}')], '12:0{"sid":"x"}', id="open"),
    pytest.param([msg("é"), msg(b"\x01\x02\x03")], "2:4é6:b4AQID", id="binary-as-base64"),
    pytest.param([msg(b"")], "2:b4", id="empty-binary"),
    pytest.param([NOOP, Packet(CLOSE)], "1:61:1", id="noop-close"),
    pytest.param([msg("a:b:1:")], "7:4a:b:1:", id="colons-in-data"),
    pytest.param([msg("x" * 12)], "13:4xxxxxxxxxxxx", id="two-digit-length"),
]


@pytest.mark.parametrize("packets, body", TEXT_PAYLOADS)
def test_text_payload_encoding(packets, body):
    assert encode_text_payload(packets) == body


@pytest.mark.parametrize("packets, body", TEXT_PAYLOADS)
def test_text_payload_decoding(packets, body):
    same(decode_text_payload(body), packets)
    same(decode_payload(body.encode("utf-8"), binary=False), packets)


def test_the_empty_payload_is_0_colon():
    # line 212: if (!packets.length) return callback('0:')
    assert encode_text_payload([]) == "0:"
    assert encode_payload([], supports_binary=True) == (b"0:", TEXT_CONTENT_TYPE)
    assert decode_text_payload("0:") == []
    assert decode_text_payload("0:0:1:6") == [NOOP]  # line 279: a zero length holds no packet


def test_a_length_can_split_a_surrogate_pair_as_javascript_would():
    # "2:4😀" takes "4" and the high surrogate; the low one is then a malformed rest.
    with pytest.raises(ProtocolError):
        decode_text_payload("2:4😀")
    same(decode_text_payload("3:4😀1:2"), [msg("😀"), PING])
    same(decode_text_payload("2:4\ud83d2:4\ude00"), [msg("\ud83d"), msg("\ude00")])


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("", id="empty"),  # line 258
        pytest.param("abc", id="no-length"),  # line 293: the rest is not a length
        pytest.param(":4a", id="empty-length"),  # line 270
        pytest.param("x:4a", id="letters-in-length"),
        pytest.param("-1:4", id="negative-length"),
        pytest.param("1.0:4", id="fractional-length"),
        pytest.param("٣:4ab", id="non-ascii-digit"),
        pytest.param("3:4a", id="longer-than-the-rest"),  # line 275
        pytest.param("2:4a1", id="trailing-digits"),
        pytest.param("2:4a2", id="trailing-length-without-colon"),
        pytest.param("1" * 400 + ":4", id="huge-length"),
        pytest.param("99999999999999:4", id="length-past-the-body"),
        pytest.param("1:7", id="unknown-type"),  # line 136
        pytest.param("1:x", id="letter-type"),
        pytest.param("5:b4AQ=", id="bad-base64"),
        pytest.param("6:b2AQID", id="base64-of-a-ping"),
        pytest.param("3:bxx", id="base64-without-type"),
        pytest.param("1:b", id="bare-b"),
    ],
)
def test_malformed_text_payloads_are_parse_errors(body):
    with pytest.raises(ProtocolError) as info:
        decode_text_payload(body)
    assert (info.value.reason, info.value.status) == ("parse error", 400)


def test_invalid_utf8_in_a_text_body_is_a_parse_error():
    with pytest.raises(ProtocolError):
        decode_payload(b"2:4\xff", binary=False)


def test_max_packets():
    assert len(decode_text_payload("1:21:21:2", max_packets=3)) == 3
    with pytest.raises(ProtocolError):
        decode_text_payload("1:21:21:21:2", max_packets=3)
    with pytest.raises(ProtocolError):
        decode_binary_payload(b"\x00\x01\xff2" * 4, max_packets=3)


# -- binary payloads (encodePayloadAsBinary, lines 350-381; decodePayloadAsBinary, 390-423) -----

BINARY_PAYLOADS = [
    pytest.param(
        # a string packet: 0x00, its UTF-8 length (3: "4" and é's two bytes), 0xFF, UTF-8;
        # a binary one: 0x01, length 4 (type byte and data), 0xFF, 0x04, the data
        [msg("é"), msg(b"\x01\x02\x03")],
        b"\x00\x03\xff4\xc3\xa9\x01\x04\xff\x04\x01\x02\x03",
        id="text-and-binary",
    ),
    pytest.param(
        [msg("x" * 12), msg(bytes(10))],
        b"\x00\x01\x03\xff4" + b"x" * 12 + b"\x01\x01\x01\xff\x04" + bytes(10),
        id="one-byte-per-digit",
    ),
    pytest.param([msg(b"")], b"\x01\x01\xff\x04", id="empty-binary"),
    pytest.param([PING, msg(b"\xff")], b"\x00\x01\xff2\x01\x02\xff\x04\xff", id="ff-in-data"),
    pytest.param(
        [msg("😀"), msg(b"\x00")],
        b"\x00\x05\xff4\xf0\x9f\x98\x80\x01\x02\xff\x04\x00",
        id="astral-as-utf8-bytes",
    ),
]


@pytest.mark.parametrize("packets, body", BINARY_PAYLOADS)
def test_binary_payload_encoding(packets, body):
    assert encode_binary_payload(packets) == body
    assert encode_payload(packets, supports_binary=True) == (body, BINARY_CONTENT_TYPE)


@pytest.mark.parametrize("packets, body", BINARY_PAYLOADS)
def test_binary_payload_decoding(packets, body):
    same(decode_binary_payload(body), packets)
    same(decode_payload(body, binary=True), packets)


def test_binary_payload_only_when_the_client_supports_binary_and_a_packet_is_binary():
    # line 209: if (supportsBinary && hasBinary(packets))
    packets = [msg("é"), msg(b"\x01\x02\x03")]
    assert encode_payload(packets, supports_binary=False) == (
        "2:4é6:b4AQID".encode(),
        TEXT_CONTENT_TYPE,
    )
    assert encode_payload([msg("é")], supports_binary=True) == ("2:4é".encode(), TEXT_CONTENT_TYPE)


def test_a_lone_surrogate_goes_out_as_u_fffd():
    # utf8.encode(.., {strict: false}) (utf8.js, line 72): U+FFFD, 3 bytes; the text payload
    # counts the JavaScript string ("\ud800" is one unit) and Node writes it as U+FFFD.
    assert encode_binary_payload([msg("\ud800")]) == b"\x00\x04\xff4\xef\xbf\xbd"
    assert encode_payload([msg("\ud800")], supports_binary=False)[0] == "2:4\ufffd".encode()


def test_a_binary_payload_text_packet_decodes_utf8_as_utf8js():
    # an encoded surrogate (ED A0 80) is U+FFFD (utf8.js, line 149); a base64 packet is binary
    same(decode_binary_payload(b"\x00\x04\xff4\xed\xa0\x80"), [msg("\ufffd")])
    same(decode_binary_payload(b"\x00\x06\xffb4AQ=="), [msg(b"\x01")])


def test_an_empty_binary_body_holds_no_packet():
    assert decode_binary_payload(b"") == []  # line 398: while (bufferTail.length > 0)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\x02\x01\xff4", id="kind-not-0-or-1"),
        pytest.param(b"\x00\xff", id="no-digits"),
        pytest.param(b"\x00\x0a\xff4", id="digit-byte-10"),
        pytest.param(b"\x00\x01", id="no-ff"),
        pytest.param(b"\x00" + b"\x01" * 13 + b"\xff4", id="thirteen-digits"),
        pytest.param(b"\x00\x03\xff4a", id="longer-than-the-rest"),
        pytest.param(b"\x00\x02\xff4\xff", id="invalid-utf8"),
        pytest.param(b"\x00\x00\xff", id="empty-text-packet"),
        pytest.param(b"\x00\x01\xff9", id="unknown-type"),
        pytest.param(b"\x01\x00\xff", id="empty-binary-packet"),
        pytest.param(b"\x01\x02\xff\x02\x01", id="binary-ping"),
        pytest.param(b"\x01\x02\xff\x07\x01", id="binary-unknown-type"),
        pytest.param(b"\x00\x01\xff6\x00", id="truncated-second-header"),
    ],
)
def test_malformed_binary_payloads_are_parse_errors(body):
    with pytest.raises(ProtocolError) as info:
        decode_payload(body, binary=True)
    assert info.value.reason == "parse error"


# -- WebSocket frames (encodePacket/encodeBuffer, lines 64-110; decodePacket, 118-158) ----------

FRAMES = [
    pytest.param(msg("hello"), True, "4hello", id="text"),
    pytest.param(PING, True, "2", id="ping"),
    pytest.param(Packet(PONG, "probe"), False, "3probe", id="pong-probe"),
    pytest.param(msg(b"\x01\x02"), True, b"\x04\x01\x02", id="binary-type-byte"),
    pytest.param(msg(b""), True, b"\x04", id="empty-binary"),
    pytest.param(msg(b"\x01\x02"), False, "b4AQI=", id="binary-b64"),
]


@pytest.mark.parametrize("packet, supports_binary, frame", FRAMES)
def test_frame_encoding(packet, supports_binary, frame):
    assert encode_frame(packet, supports_binary=supports_binary) == frame


@pytest.mark.parametrize("packet, supports_binary, frame", FRAMES)
def test_frame_decoding(packet, supports_binary, frame):
    same([decode_frame(frame)], [packet])
    if isinstance(frame, bytes):
        same([decode_frame(bytearray(frame))], [packet])


@pytest.mark.parametrize(
    "frame",
    [b"", b"\x01\x02", b"\x00", b"4abc", "", "9", "b", "b4!!", "b5AQI="],
)
def test_malformed_frames_are_parse_errors(frame):
    with pytest.raises(ProtocolError) as info:
        decode_frame(frame)
    assert info.value.reason == "parse error"
