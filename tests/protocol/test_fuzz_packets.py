"""Property-based fuzzing of the pure packet codecs: Engine.IO packets and polling payloads
(gsio.protocol.engineio), Socket.IO packets with attachments (gsio.protocol.socketio).

The properties: malformed input raises ProtocolError and nothing else (and leaves the decoder
ready for a fresh packet); the short EVENT path agrees with the general decoder; whatever is
decoded encodes back to strict JSON (no NaN, no Infinity) that decodes to the same packet; valid
packets round-trip. See tests/fuzzing.py for the number of examples (GSIO_FUZZ_EXAMPLES).
"""

from __future__ import annotations

import base64
import json
import math
from typing import Any

import fuzzing
from fuzzing import EVENT_ARRAY_TEXT, JSON_TEXT, mutated
from hypothesis import given
from hypothesis import strategies as st

from gsio.exceptions import ProtocolError
from gsio.protocol import engineio as eio
from gsio.protocol.socketio import RESERVED_EVENTS, Decoder, Packet, PacketType, dumps, encode

assert fuzzing.EXAMPLES >= 0  # the import loads the hypothesis profile

EVENT, ACK, BINARY_EVENT, BINARY_ACK = (
    PacketType.EVENT,
    PacketType.ACK,
    PacketType.BINARY_EVENT,
    PacketType.BINARY_ACK,
)

# -- Socket.IO ------------------------------------------------------------------------------------

NAMESPACE = st.one_of(
    st.from_regex(r"/[a-z0-9_\-]{0,8}", fullmatch=True),
    st.text(max_size=6).map(lambda s: "/" + s),
)
ACK_ID = st.from_regex(r"[0-9]{1,17}", fullmatch=True)
ATTACHMENTS = st.one_of(
    st.sampled_from(["0", "1", "1", "2", "3", "00", "01", "11"]),
    st.from_regex(r"[0-9]{1,3}", fullmatch=True),
)


@st.composite
def sio_text(draw: st.DrawFn, types: str = "0123456") -> str:
    """The text of a Socket.IO packet, mostly well formed."""
    t = draw(st.sampled_from(types) | st.sampled_from(["7", "x", ""]))
    head = t
    if t in ("5", "6") or draw(st.integers(0, 9)) == 0:
        head += draw(ATTACHMENTS) + draw(st.sampled_from(["-", "-", "-", "", "x-"]))
    if draw(st.booleans()):
        head += draw(NAMESPACE) + draw(st.sampled_from([",", ",", ",", ""]))
    if draw(st.booleans()):
        head += draw(ACK_ID)
    space = draw(st.sampled_from(["", "", "", " ", "\n", "\u00a0"]))
    body = draw(st.one_of(st.just(""), EVENT_ARRAY_TEXT, EVENT_ARRAY_TEXT, JSON_TEXT))
    return head + space + body + draw(st.sampled_from(["", "", "", " ", "x", "]"]))


@st.composite
def sio_messages(draw: st.DrawFn) -> list[str | bytes]:
    """Engine.IO messages as a client sends them: texts, each followed by some attachments."""
    messages: list[str | bytes] = []
    for _ in range(draw(st.integers(1, 4))):
        messages.append(draw(mutated(sio_text())))
        messages.extend(draw(st.lists(st.binary(max_size=6), max_size=3)))
    return messages


def _plain(t: PacketType) -> PacketType:
    return {BINARY_EVENT: EVENT, BINARY_ACK: ACK}.get(t, t)


def _check_packet(packet: Packet) -> None:
    assert isinstance(packet.type, PacketType)
    assert isinstance(packet.namespace, str) and packet.namespace.startswith("/")
    assert packet.id is None or (type(packet.id) is int and 0 <= packet.id < 10**15)
    if packet.type in (EVENT, BINARY_EVENT):
        assert type(packet.data[0]) is str and packet.data[0] not in RESERVED_EVENTS


def _feed_all(parts: list) -> Packet:
    decoder = Decoder(max_attachments=len(parts))
    results = [decoder.feed(part) for part in parts]
    assert results[:-1] == [None] * (len(parts) - 1)
    assert results[-1] is not None and not decoder.pending
    return results[-1]


def _assert_reencodes(packet: Packet) -> None:
    """encode(packet) is strict JSON (the default Decoder refuses NaN, Infinity and 1e400) and
    decodes back to the same packet (a binary type without binary goes as the plain type)."""
    parts = encode(packet)
    text = parts[0]
    assert isinstance(text, str)
    assert "NaN" not in text or '"' in text  # cheap: any NaN/Infinity would be inside strings
    again = _feed_all(parts)
    assert (_plain(again.type), again.namespace, again.id, again.data) == (
        _plain(packet.type),
        packet.namespace,
        packet.id,
        packet.data,
    )


@given(sio_messages(), st.booleans())
def test_decoder_raises_only_protocol_errors(messages: list, custom_loads: bool) -> None:
    loads = (lambda text: json.loads(text)) if custom_loads else json.loads
    decoder = Decoder(max_attachments=3, loads=loads)
    for message in messages:
        try:
            packet = decoder.feed(message)
        except ProtocolError:
            assert not decoder.pending  # reset: ready for a fresh packet
            continue
        if packet is not None:
            _check_packet(packet)
            if not custom_loads:  # a custom loads may take what JSON.parse refuses (NaN)
                _assert_reencodes(packet)


@given(mutated(sio_text(types="2")))
def test_feed_event_agrees_with_feed(text: str) -> None:
    fields = Decoder().feed_event(text)
    try:
        packet = Decoder().feed(text)
    except ProtocolError:
        assert fields is None
        return
    if fields is not None:
        assert packet == Packet(EVENT, "/", fields[0], fields[1])


@given(st.text(max_size=40), st.binary(max_size=40))
def test_decoder_takes_any_text_or_bytes(text: str, blob: bytes) -> None:
    decoder = Decoder()
    for message in (text, blob, "51-" + text, blob, text):
        try:
            decoder.feed(message)
        except ProtocolError:
            assert not decoder.pending
        decoder.feed_event(text) if isinstance(message, str) else None


# What user code may emit: JSON values, non-finite floats and binary anywhere.
VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**30), 10**30),
        st.floats(),  # NaN and infinities included
        st.text(max_size=8),
        st.binary(max_size=4),
        st.binary(max_size=4).map(bytearray),
    ),
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=4), children, max_size=3),
    ),
    max_leaves=10,
)
EVENT_NAMES = st.text(max_size=8).filter(lambda name: name not in RESERVED_EVENTS)


def _as_received(value: Any) -> Any:
    """What the peer decodes of ``value``: non-finite floats as null, tuples as lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, (list, tuple)):
        return [_as_received(item) for item in value]
    if isinstance(value, dict):
        return {key: _as_received(item) for key, item in value.items()}
    if isinstance(value, bytearray):
        return bytes(value)
    return value


@given(
    EVENT_NAMES, st.lists(VALUES, max_size=4), st.none() | st.integers(0, 10**15 - 1), st.booleans()
)
def test_emitted_values_round_trip_as_strict_json(
    name: str, args: list, ack_id: int | None, is_ack: bool
) -> None:
    data = args if is_ack and ack_id is not None else [name, *args]
    t = ACK if is_ack and ack_id is not None else EVENT
    parts = encode(Packet(t, "/chat", data, ack_id))
    decoded = _feed_all(parts)
    assert (decoded.namespace, decoded.id, decoded.data) == ("/chat", ack_id, _as_received(data))
    assert _plain(decoded.type) == t


@given(VALUES)
def test_dumps_writes_strict_json_or_refuses_binary(value: Any) -> None:
    try:
        text = dumps(value)
    except TypeError:
        return  # binary: encode() sends it as attachments
    json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(AssertionError(name)))


# -- Engine.IO ------------------------------------------------------------------------------------

EIO_TEXT = st.one_of(
    st.tuples(st.sampled_from("0123456"), st.text(max_size=12)).map("".join),
    st.text(max_size=12),
)


@st.composite
def payload_bodies(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(0, 5))):
        kind = draw(st.integers(0, 3))
        if kind == 0:
            parts.append("b" + base64.b64encode(draw(st.binary(max_size=8))).decode())
        elif kind == 1:
            parts.append("b" + draw(st.text(alphabet="ABCab+/=0!é ", max_size=8)))
        else:
            parts.append(draw(EIO_TEXT))
    return eio.SEPARATOR.join(parts)


@given(st.one_of(st.text(max_size=20), st.binary(max_size=20)))
def test_engineio_decode_raises_only_protocol_errors(frame: str | bytes) -> None:
    try:
        packet = eio.decode(frame)
    except ProtocolError:
        assert isinstance(frame, str)
        return
    assert eio.encode(packet) == frame


@given(payload_bodies() | st.text(max_size=30), st.none() | st.integers(1, 4))
def test_decode_payload_raises_only_protocol_errors(body: str, max_packets: int | None) -> None:
    try:
        packets = eio.decode_payload(body, max_packets)
    except ProtocolError:
        packets = None
    else:
        assert packets and (max_packets is None or len(packets) <= max_packets)
        assert all(isinstance(p.type, eio.PacketType) for p in packets)
    try:
        from_bytes = eio.decode_payload(body.encode("utf-8", "surrogatepass"), max_packets)
    except ProtocolError:
        from_bytes = None
    if body.encode("utf-8", "surrogatepass") == body.encode("utf-8", "replace"):
        assert from_bytes == packets  # valid UTF-8: bytes and text decode alike


@given(st.binary(max_size=40))
def test_decode_payload_takes_any_bytes(body: bytes) -> None:
    try:
        eio.decode_payload(body)
    except ProtocolError:
        pass


EIO_PACKETS = st.one_of(
    st.builds(
        eio.Packet,
        st.sampled_from(list(eio.PacketType)),
        st.text(max_size=10).map(lambda s: s.replace(eio.SEPARATOR, "")),
    ),
    st.builds(eio.Packet, st.just(eio.PacketType.MESSAGE), st.binary(max_size=10)),
)


@given(st.lists(EIO_PACKETS, min_size=1, max_size=6))
def test_payloads_round_trip(packets: list) -> None:
    body = eio.encode_payload(packets)
    assert eio.decode_payload(body) == packets
    assert eio.decode_payload(body.encode("utf-8", "surrogatepass")) == packets or any(
        not p.binary and p.data != p.data.encode("utf-8", "replace").decode() for p in packets
    )
    for packet in packets:
        assert eio.decode(eio.encode(packet)) == packet


@given(st.lists(st.text(), min_size=1, max_size=3))
def test_dumps_of_strings_is_the_general_encoders(strings: list[str]) -> None:
    """One or two strings take a short path (the most common packets): same JSON as the
    general encoder writes, lone surrogates escaped as JSON.stringify does."""
    from gsio.protocol.socketio_packet import _py_dumps, _utf8_safe

    assert dumps(strings) == _utf8_safe(_py_dumps(strings))
    assert json.loads(dumps(strings)) == strings
