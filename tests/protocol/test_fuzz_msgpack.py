"""Property-based fuzzing of the msgpack codec (gsio.protocol.socketio_msgpack).

The properties: any bytes, any msgpack value, and valid packets with bytes dropped, replaced or
inserted give a packet or ProtocolError, nothing else; a text message is a ProtocolError; what
is decoded encodes back to a message that decodes to the same packet; valid packets round-trip.
See tests/fuzzing.py for the number of examples (GSIO_FUZZ_EXAMPLES).
"""

from __future__ import annotations

from typing import Any

import fuzzing
import msgpack
from hypothesis import given
from hypothesis import strategies as st

from gsio.exceptions import ProtocolError
from gsio.protocol.socketio import RESERVED_EVENTS, Packet, PacketType
from gsio.protocol.socketio_msgpack import MsgpackCodec

assert fuzzing.EXAMPLES >= 0  # the import loads the hypothesis profile

CODEC = MsgpackCodec()

SCALAR = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
    | st.binary(max_size=8)
)
VALUE = st.recursive(
    SCALAR,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner, max_size=4)
    ),
    max_leaves=12,
)
# Any value in the fields, sometimes a plausible one.
FIELD_TYPE = st.integers(-2, 7) | st.floats(-1, 6) | VALUE
FIELD_NSP = st.sampled_from(["/", "/chat", ""]) | VALUE
FIELD_DATA = (
    st.lists(VALUE, max_size=4)
    | st.builds(lambda e, a: [e, *a], st.text(max_size=6), st.lists(VALUE, max_size=3))
    | VALUE
)
FIELD_ID = st.none() | st.integers(-2, 2**54) | VALUE
# ext 8 of any type, fixext 1 and fixext 8 of type 0 (notepack's undefined and Date)
EXT = (
    st.builds(
        lambda code, data: bytes([0xC7, len(data), code & 0xFF]) + data,
        st.integers(-128, 127),
        st.binary(max_size=12),
    )
    | st.builds(lambda d: b"\xd4\x00" + d, st.binary(min_size=1, max_size=1))
    | st.builds(lambda d: b"\xd7\x00" + d, st.binary(min_size=8, max_size=8))
)


@st.composite
def packet_map(draw: st.DrawFn) -> dict[str, Any]:
    fields = {"type": FIELD_TYPE, "nsp": FIELD_NSP, "data": FIELD_DATA, "id": FIELD_ID, "x": VALUE}
    return {k: draw(v) for k, v in fields.items() if draw(st.integers(0, 4))}


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def decode_or_refuse(data: bytes) -> Packet | None:
    try:
        return CODEC.decoder().feed(data)
    except ProtocolError:
        return None


def assert_round_trip(packet: Packet) -> None:
    (encoded,) = CODEC.encode(packet)
    assert CODEC.decoder().feed(encoded) == packet


@given(st.binary(max_size=64))
def test_any_bytes_give_a_packet_or_a_protocol_error(data):
    packet = decode_or_refuse(data)
    if packet is not None:
        assert_round_trip(packet)


@given(packet_map() | VALUE)
def test_any_msgpack_value_gives_a_packet_or_a_protocol_error(value):
    packet = decode_or_refuse(pack(value))
    if packet is not None:
        assert packet.type in (0, 1, 2, 3, 4)
        assert isinstance(packet.namespace, str)
        if packet.type == PacketType.EVENT:
            assert isinstance(packet.data[0], str) and packet.data[0] not in RESERVED_EVENTS
        assert_round_trip(packet)


@given(packet_map(), st.data())
def test_mutated_messages_give_a_packet_or_a_protocol_error(value, data):
    raw = bytearray(pack(value))
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(raw)))
        op = data.draw(st.sampled_from(["drop", "replace", "insert"]))
        byte = data.draw(st.integers(0, 255))
        if op == "drop":
            del raw[i : i + 1]
        elif op == "replace" and i < len(raw):
            raw[i] = byte
        else:
            raw.insert(i, byte)
    decode_or_refuse(bytes(raw))


@given(st.lists(EXT, min_size=1, max_size=3))
def test_extensions_give_a_packet_or_a_protocol_error(exts):
    head = bytes([0x90 + 1 + len(exts)]) + pack("e")
    packet = decode_or_refuse(_with_data(head + b"".join(exts)))
    if packet is not None:
        assert_round_trip(packet)


def _with_data(data: bytes) -> bytes:
    """A packet map with ``data`` the raw msgpack given."""
    return b"\x83" + pack("type") + pack(2) + pack("nsp") + pack("/") + pack("data") + data


@given(st.text(max_size=20))
def test_a_text_message_is_a_protocol_error(text):
    assert decode_or_refuse(text) is None  # type: ignore[arg-type]


@given(
    st.sampled_from([PacketType.EVENT, PacketType.ACK]),
    st.sampled_from(["/", "/chat", "/é"]),
    st.lists(VALUE, max_size=4),
    st.none() | st.integers(0, 2**53 - 1),
)
def test_valid_packets_round_trip(t, namespace, args, id):
    data = ["event", *args] if t == PacketType.EVENT else args
    if t == PacketType.ACK and id is None:
        id = 0
    assert_round_trip(Packet(t, namespace, data, id))
