"""The Redis Streams adapter's wire format (gsio/cluster/streams_wire.py), in memory: what Node's
@socket.io/redis-streams-adapter 0.3 writes and reads, and garbage, which raises ProtocolError
only (the reader logs it once and drops it)."""

from __future__ import annotations

import base64
import json

import fuzzing  # noqa: F401  (the hypothesis profile)
import msgpack
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsio.cluster.streams_wire import (
    Message,
    MessageType,
    broadcast_data,
    decode_entry,
    decode_pubsub,
    decode_session,
    encode_entry,
    encode_pubsub,
    encode_session,
    id_key,
    is_offset,
    next_id,
)
from gsio.exceptions import ProtocolError
from gsio.protocol.socketio import Packet, PacketType
from gsio.server.recipients import Recipients
from gsio.server.recovery import SessionState


def test_a_broadcast_entry_is_nodes_json():
    packet = Packet(PacketType.EVENT, "/chat", ["hi", 1])
    data = broadcast_data(packet, Recipients(frozenset({"r"}), volatile=True))
    fields = encode_entry(Message("u1", "/chat", MessageType.BROADCAST, data))
    assert list(fields) == ["uid", "nsp", "type", "data"]
    assert fields["type"] == "3"
    assert json.loads(fields["data"]) == {
        "packet": {"type": 2, "data": ["hi", 1], "nsp": "/chat"},
        "opts": {"rooms": ["r"], "except": [], "flags": {"volatile": True}},
    }


def test_binary_is_base64_msgpack_and_reads_back():
    packet = Packet(PacketType.EVENT, "/", ["bin", b"\x00\xff"])
    data = broadcast_data(packet, Recipients())
    fields = encode_entry(Message("u1", "/", MessageType.BROADCAST, data))
    assert msgpack.unpackb(base64.b64decode(fields["data"]))["packet"]["data"][1] == b"\x00\xff"
    raw = {k.encode(): v.encode() for k, v in fields.items()}
    message = decode_entry(raw)
    assert message.packet().data == ["bin", b"\x00\xff"]


def test_node_writes_packets_without_nsp():
    data = json.dumps({"packet": {"type": 2, "data": ["e"]}, "opts": {"rooms": [], "except": []}})
    message = decode_entry({b"uid": b"n", b"nsp": b"/x", b"type": b"3", b"data": data.encode()})
    assert message.packet() == Packet(PacketType.EVENT, "/x", ["e"])
    assert message.recipients() == Recipients()


def test_an_entry_without_nsp_is_skipped():
    assert decode_entry({b"uid": b"x"}) is None


def test_pubsub_and_sessions_round_trip():
    message = Message("u", "/", MessageType.FETCH_SOCKETS, {"requestId": "r", "opts": {}})
    assert decode_pubsub(encode_pubsub(message)) == message
    session = SessionState("sid", "pid", ["sid", "room"], {"k": [1, "v"]})
    assert decode_session(encode_session(session).encode()) == session


@pytest.mark.parametrize("offset", ["1-0", "1700000000000-12"])
def test_offsets(offset):
    assert is_offset(offset)
    assert id_key(next_id(offset)) > id_key(offset)


@pytest.mark.parametrize("offset", ["", "abc", "1", "1-", "-1", "1-0 ", "1-0-0", None, 12])
def test_bad_offsets(offset):
    assert not is_offset(offset)


_values = st.one_of(st.binary(max_size=64), st.text(max_size=64))


@given(st.dictionaries(st.sampled_from([b"uid", b"nsp", b"type", b"data", b"x"]), _values))
def test_garbage_entries_raise_protocol_error_only(fields):
    try:
        message = decode_entry(fields)
        if message is not None:
            message.recipients()
            message.packet()
    except ProtocolError:
        pass


@given(st.binary(max_size=256))
def test_garbage_pubsub_and_sessions_raise_protocol_error_only(raw):
    for decode in (decode_pubsub, decode_session):
        try:
            decode(raw)
        except ProtocolError:
            pass
