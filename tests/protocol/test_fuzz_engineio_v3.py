"""Property-based fuzzing of the Engine.IO v3 codec (gsio.protocol.engineio_v3, gsio.protocol.jsonp)
and of the Socket.IO v4 decoder (gsio.protocol.socketio_v4).

The properties: for any bytes or text, the decoders raise ProtocolError and nothing else; what
the encoders make decodes back to the same packets (text and binary payloads, frames, JSONP as
engine.io-client 3.x posts it); a text payload's lengths are JavaScript's (UTF-16 code units).
See tests/fuzzing.py for the number of examples (GSIO_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import json
from urllib.parse import quote_plus

import fuzzing
from hypothesis import assume, given
from hypothesis import strategies as st

from gsio.exceptions import ProtocolError
from gsio.protocol.engineio import Packet, PacketType
from gsio.protocol.engineio_v3 import (
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
from gsio.protocol.jsonp import decode_jsonp_body, encode_jsonp
from gsio.protocol.socketio import JsonCodec
from gsio.protocol.socketio_v4 import legacy_decoder

assert fuzzing.EXAMPLES >= 0  # the import loads the hypothesis profile

# Text as a client may send it: astral characters, colons, digits and b's that look like framing.
TEXT = st.text(
    st.one_of(
        st.characters(blacklist_categories=("Cs",)),
        st.sampled_from(list(":0123456789b4\\n\n😀€\u2028")),
    ),
    max_size=16,
)
PACKET = st.one_of(
    st.builds(Packet, st.just(PacketType.MESSAGE), TEXT),
    st.builds(Packet, st.just(PacketType.MESSAGE), st.binary(max_size=16)),
    st.builds(Packet, st.sampled_from(list(PacketType)), TEXT),
)
PACKETS = st.lists(PACKET, max_size=5)


def _same(got: list[Packet], expected: list[Packet]) -> None:
    assert [(p.type, p.data, type(p.data)) for p in got] == [
        (p.type, p.data, type(p.data)) for p in expected
    ]


@st.composite
def framed_text(draw: st.DrawFn) -> str:
    """A text payload, mostly well formed: lengths right, off by one, or not digits."""
    parts = []
    for _ in range(draw(st.integers(0, 4))):
        body = draw(st.one_of(TEXT, st.sampled_from(["4", "2", "6", "b4AQID", "b4!", "7x", ""])))
        length = js_length(body) + draw(st.sampled_from([0, 0, 0, 1, -1]))
        head = draw(st.sampled_from([str(length), str(length), "", "x", "0", "-1"]))
        parts.append(head + draw(st.sampled_from([":", ":", ":", ""])) + body)
    return "".join(parts)


@st.composite
def framed_binary(draw: st.DrawFn) -> bytes:
    """A binary payload, mostly well formed."""
    out = bytearray()
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from([0, 1, 1, 2]))
        blob = draw(st.one_of(TEXT.map(lambda s: s.encode("utf-8")), st.binary(max_size=12)))
        if kind == 1 and draw(st.booleans()):
            blob = b"\x04" + blob
        length = len(blob) + draw(st.sampled_from([0, 0, 0, 1, -1]))
        digits = bytes(int(c) for c in str(max(length, 0)))
        out.append(kind)
        out += draw(st.sampled_from([digits, digits, b"", b"\x0a", digits * 7]))
        out += draw(st.sampled_from([b"\xff", b"\xff", b""])) + blob
    return bytes(out)


# -- only ProtocolError comes out ---------------------------------------------------------------


@given(st.one_of(framed_text(), st.text(max_size=40)), st.booleans())
def test_text_payload_decoder_raises_only_protocol_errors(body: str, as_bytes: bool) -> None:
    try:
        if as_bytes:
            packets = decode_payload(body.encode("utf-8", "surrogatepass"), binary=False)
        else:
            packets = decode_text_payload(body)
    except ProtocolError:
        return
    # what was accepted encodes back to the same payload, less its empty "0:" entries
    assert decode_text_payload(encode_text_payload(packets) if packets else "0:") == packets


@given(st.one_of(framed_binary(), st.binary(max_size=60)))
def test_binary_payload_decoder_raises_only_protocol_errors(body: bytes) -> None:
    try:
        packets = decode_payload(body, binary=True)
    except ProtocolError:
        return
    if packets:
        _same(decode_binary_payload(encode_binary_payload(packets)), packets)


@given(st.one_of(st.binary(max_size=20), st.text(max_size=20), TEXT.map(lambda s: "b" + s)))
def test_frame_decoder_raises_only_protocol_errors(frame: str | bytes) -> None:
    try:
        packet = decode_frame(frame)
    except ProtocolError:
        return
    _same([decode_frame(encode_frame(packet, supports_binary=True))], [packet])


@given(st.one_of(st.binary(max_size=60), framed_text().map(lambda s: b"d=" + s.encode())))
def test_jsonp_body_decoder_raises_only_protocol_errors(body: bytes) -> None:
    try:
        decode_jsonp_body(body)
    except ProtocolError:
        pass


@given(st.lists(st.one_of(st.text(max_size=30), st.binary(max_size=8)), max_size=5))
def test_legacy_decoder_raises_only_protocol_errors(messages: list) -> None:
    decoder = legacy_decoder(JsonCodec(), max_attachments=2, max_namespace_length=8)
    for message in messages:
        for text in (message, "0/" + message if isinstance(message, str) else message):
            try:
                packet = decoder.feed(text)
            except ProtocolError:
                assert not decoder.pending
                continue
            if packet is not None:
                assert packet.namespace.startswith("/") and len(packet.namespace) <= 8
                assert "?" not in packet.namespace


# -- round trips --------------------------------------------------------------------------------


@given(PACKETS, st.booleans())
def test_payload_round_trip(packets: list[Packet], supports_binary: bool) -> None:
    body, content_type = encode_payload(packets, supports_binary=supports_binary)
    binary = content_type == "application/octet-stream"
    assert binary == (supports_binary and any(isinstance(p.data, bytes) for p in packets))
    # a packet without data and one with "" are the same packet
    _same(decode_payload(body, binary=binary), packets)


@given(PACKETS)
def test_text_payload_lengths_are_utf16_code_units(packets: list[Packet]) -> None:
    text = encode_text_payload(packets)
    i = 0
    units = text.encode("utf-16-le")
    while i < len(units):
        colon = units.index(b":\x00", i)
        length = int(units[i:colon].decode("utf-16-le"))
        i = colon + 2 + 2 * length
    assert i == len(units)


@given(PACKET, st.booleans())
def test_frame_round_trip(packet: Packet, supports_binary: bool) -> None:
    frame = encode_frame(packet, supports_binary=supports_binary)
    assert isinstance(frame, bytes) == (supports_binary and isinstance(packet.data, bytes))
    _same([decode_frame(frame)], [packet])


@given(PACKETS, st.integers(0, 999))
def test_jsonp_round_trip(packets: list[Packet], index: int) -> None:
    """A JSONP answer is a JavaScript call whose string argument is the text payload; posted
    back the way engine.io-client 3.x posts (newlines escaped, form-encoded), it decodes to
    the same packets."""
    script, _ = encode_jsonp(packets, str(index))
    text = script.decode("utf-8")
    head, tail = f"___eio[{index}](", ");"
    assert text.startswith(head) and text.endswith(tail)
    assert "\u2028" not in text and "\u2029" not in text
    payload = json.loads(text[len(head) : -len(tail)])
    assert payload == encode_text_payload(packets)
    # The client's escaping loses a backslash before a newline ("\\" "\n" is posted as
    # "\\\\n", which reads back as "\\n"): Node reads it the same way
    # (test_engineio_v3_reference.py), so the property holds only without that pair.
    assume("\\\n" not in payload)
    escaped = payload.replace("\\n", "\\\\n").replace("\n", "\\n")
    _same(decode_jsonp_body(("d=" + quote_plus(escaped)).encode()), packets)
