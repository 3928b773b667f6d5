"""The bus messages of request forwarding (gsio.protocol.relay): every message round-trips
byte for byte; whatever else arrives (cut short, a byte changed, noise, another version) is
refused with a ProtocolError, never another exception, and what is accepted has that one
encoding; a field that cannot be sent is refused
when it is serialized. See tests/fuzzing.py."""

from __future__ import annotations

import fuzzing
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsio.exceptions import ProtocolError
from gsio.protocol.relay import MAX_HEADERS, MAX_TEXT, Kind, RelayMessage

assert fuzzing.EXAMPLES >= 0  # the import loads the hypothesis profile

TEXT = st.text(max_size=40)
HEADERS = st.lists(st.tuples(TEXT, TEXT), max_size=4).map(tuple)
MESSAGES = st.builds(
    RelayMessage.make,
    st.sampled_from(list(Kind)),
    st.text(alphabet="0123456789abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=16),
    st.integers(0, 2**64 - 1),
    sid=TEXT,
    method=st.sampled_from(["GET", "POST", ""]),
    query=TEXT,
    status=st.integers(0, 65535),
    headers=HEADERS,
    body=st.binary(max_size=200),
    text=st.booleans(),
    code=st.integers(0, 65535),
)


def parse_or_refuse(data: bytes) -> RelayMessage | None:
    try:
        return RelayMessage.parse(data)
    except ProtocolError:
        return None


@given(MESSAGES)
def test_every_message_round_trips(message):
    data = message.serialize()
    assert RelayMessage.parse(data) == message
    assert RelayMessage.parse(data).serialize() == data


@given(MESSAGES, st.data())
def test_a_message_cut_short_is_refused_or_a_shorter_body(message, data):
    raw = message.serialize()
    cut = data.draw(st.integers(0, len(raw) - 1))
    parsed = parse_or_refuse(raw[:cut])
    # Only the body may be cut without the head noticing: the body is the rest.
    if parsed is not None:
        assert parsed.body == message.body[: len(parsed.body)]
        assert parsed.headers == message.headers and parsed.sid == message.sid


@given(MESSAGES, st.data())
def test_a_changed_byte_is_refused_or_parsed(message, data):
    raw = bytearray(message.serialize())
    at = data.draw(st.integers(0, len(raw) - 1))
    raw[at] = data.draw(st.integers(0, 255))
    parsed = parse_or_refuse(bytes(raw))
    if parsed is not None:  # a valid message still: its one encoding
        assert parsed.serialize() == bytes(raw)


@given(st.binary(max_size=300))
def test_noise_is_refused_or_parsed_canonically(noise):
    for data in (noise, b"GSR\x01" + noise):
        parsed = parse_or_refuse(data)
        if parsed is not None:
            assert parsed.serialize() == data


def test_what_is_refused():
    good = RelayMessage.make(Kind.REQUEST, "node", 1, sid="s.node").serialize()
    for bad in (
        b"",
        b"GSR",
        b"XYZ" + good[3:],
        good[:3] + b"\x02" + good[4:],  # another version
        good[:4] + b"\x63" + good[5:],  # an unknown kind
        good[:5] + b"\x02" + good[6:],  # a flag that is not 0 or 1
        RelayMessage.make(Kind.REQUEST, "", 1).serialize(),  # no sender
    ):
        with pytest.raises(ProtocolError):
            RelayMessage.parse(bad)
    too_many = tuple(("h", "v") for _ in range(MAX_HEADERS + 1))
    for fields in ({"headers": too_many}, {"query": "q" * (MAX_TEXT + 1)}, {"sid": "\ud800"}):
        with pytest.raises(ProtocolError):
            RelayMessage.make(Kind.REQUEST, "node", 1, **fields).serialize()
    with pytest.raises(ProtocolError):
        RelayMessage.make(Kind.REQUEST, "node", -1).serialize()
