"""The WebSocket frame codec (gsio/protocol/frames.py), in memory: parsing, every refusal, framing."""

import os
import struct

import pytest
import rawws

from gsio.exceptions import PayloadTooLarge
from gsio.protocol import frames
from gsio.protocol.frames import Close, FrameError, FrameReader, Ping, Pong


def client_frame(opcode, payload, fin=True, mask=b"\x01\x02\x03\x04", rsv=0, masked=True):
    """A frame as a client sends it (masked unless told), with a fixed key by default."""
    return rawws.client_frame(opcode, payload, fin, rsv, masked, mask)


def feed_all(reader, data, step=None):
    events = []
    if step is None:
        return reader.feed(data)
    for i in range(0, len(data), step):
        events.extend(reader.feed(data[i : i + step]))
    return events


@pytest.mark.parametrize("n", [0, 1, 3, 4, 5, 125, 126, 127, 1000, 65535, 65536, 70001])
def test_unmask_matches_the_definition(n):
    data = os.urandom(n)
    key = os.urandom(4)
    expected = bytes(b ^ key[i % 4] for i, b in enumerate(data))
    assert frames.unmask(data, key) == expected


@pytest.mark.parametrize("step", [None, 1, 2, 3, 7, 100])
def test_messages_of_every_length_form_in_any_chunking(step):
    texts = ["", "4", "4" + "x" * 124, "4" + "é" * 100, "4" + "y" * 300, "4" + "z" * 70000]
    data = b"".join(client_frame(frames.OP_TEXT, t) for t in texts)
    data += client_frame(frames.OP_BINARY, b"\x00\xff" * 3)
    events = feed_all(FrameReader(1_000_000), data, step)
    assert events == [*texts, b"\x00\xff" * 3]


def test_fragments_make_one_message_and_controls_may_come_between():
    reader = FrameReader(1000)
    data = (
        client_frame(frames.OP_TEXT, "4fr", fin=False)
        + client_frame(frames.OP_PING, b"p")
        + client_frame(frames.OP_CONTINUATION, "ag", fin=False)
        + client_frame(frames.OP_PONG, b"")
        + client_frame(frames.OP_CONTINUATION, "ment")
        + client_frame(frames.OP_BINARY, b"\x01", fin=False)
        + client_frame(frames.OP_CONTINUATION, b"\x02")
    )
    events = reader.feed(data)
    assert isinstance(events[0], Ping) and events[0].payload == b"p"
    assert isinstance(events[1], Pong) and events[1].payload == b""
    assert events[2:] == ["4fragment", b"\x01\x02"]


def test_close_frames():
    (event,) = FrameReader(10).feed(client_frame(frames.OP_CLOSE, b""))
    assert isinstance(event, Close) and (event.code, event.reason) == (1005, "")
    (event,) = FrameReader(10).feed(client_frame(frames.OP_CLOSE, struct.pack("!H", 4000) + b"bye"))
    assert (event.code, event.reason) == (4000, "bye")
    # Nothing after a close frame counts.
    data = client_frame(frames.OP_CLOSE, struct.pack("!H", 1000)) + client_frame(1, "4late")
    assert len(FrameReader(10).feed(data)) == 1


@pytest.mark.parametrize(
    "data, code",
    [
        (client_frame(frames.OP_TEXT, "4x", masked=False), 1002),
        (client_frame(frames.OP_TEXT, "4x", rsv=0x40), 1002),  # RSV1: no extension negotiated
        (client_frame(frames.OP_TEXT, "4x", rsv=0x20), 1002),
        (client_frame(frames.OP_TEXT, "4x", rsv=0x10), 1002),
        (client_frame(0x3, b"x"), 1002),  # reserved data opcode
        (client_frame(0xB, b"x"), 1002),  # reserved control opcode
        (client_frame(frames.OP_PING, b"x", fin=False), 1002),
        (client_frame(frames.OP_PING, b"x" * 126), 1002),
        (client_frame(frames.OP_CONTINUATION, "x"), 1002),
        (client_frame(1, "a", fin=False) + client_frame(1, "b"), 1002),
        (client_frame(frames.OP_CLOSE, b"\x03"), 1002),
        (client_frame(frames.OP_CLOSE, struct.pack("!H", 1005)), 1002),
        (client_frame(frames.OP_CLOSE, struct.pack("!H", 999)), 1002),
        (client_frame(frames.OP_CLOSE, struct.pack("!H", 2000)), 1002),
        (client_frame(frames.OP_CLOSE, struct.pack("!H", 1000) + b"\xff"), 1007),
        (client_frame(frames.OP_TEXT, b"4\xff\xfe"), 1007),
        (client_frame(frames.OP_TEXT, b"\xed\xa0\x80"), 1007),  # an encoded surrogate
        (client_frame(1, b"\xc3", fin=False) + client_frame(0, b"\x28"), 1007),
    ],
    ids=[
        "unmasked",
        "rsv1",
        "rsv2",
        "rsv3",
        "opcode-3",
        "opcode-11",
        "fragmented-ping",
        "long-ping",
        "lone-continuation",
        "message-in-message",
        "close-1-byte",
        "close-1005",
        "close-999",
        "close-2000",
        "close-bad-utf8",
        "bad-utf8",
        "surrogate",
        "bad-utf8-across-fragments",
    ],
)
def test_refusals_carry_their_close_code(data, code):
    with pytest.raises(FrameError) as info:
        FrameReader(1000).feed(data)
    assert info.value.close_code == code
    assert info.value.reason == "transport error"


def test_the_limit_is_checked_before_the_payload_arrives():
    reader = FrameReader(1000)
    assert reader.feed(client_frame(frames.OP_TEXT, "x" * 1000)) == ["x" * 1000]
    # A header announcing 10 MB, with no payload behind it: refused at once.
    header = bytes([0x81, 0x80 | 127]) + struct.pack("!Q", 10_000_000) + b"\0\0\0\0"
    with pytest.raises(FrameError) as info:
        FrameReader(1000).feed(header)
    assert info.value.close_code == 1009
    assert not isinstance(info.value, PayloadTooLarge)  # the transport maps it
    # Fragments count together.
    data = client_frame(1, "x" * 600, fin=False) + client_frame(0, "y" * 401)
    with pytest.raises(FrameError) as info:
        FrameReader(1000).feed(data)
    assert info.value.close_code == 1009


@pytest.mark.parametrize("step", [None, 1, 5, 6, 7, 4096])
def test_a_message_in_too_many_fragments_is_refused_with_1008(step):
    """An endless stream of empty continuations is refused at the frame after the limit,
    before its payload (none here: the header is enough), fed whole or split anywhere."""
    first = client_frame(frames.OP_TEXT, "4", fin=False)
    empty = client_frame(frames.OP_CONTINUATION, b"", fin=False)
    reader = FrameReader(1_000_000)
    # At the limit: MAX_FRAGMENTS frames make one message, the first included.
    data = first + empty * (frames.MAX_FRAGMENTS - 2) + client_frame(frames.OP_CONTINUATION, "x")
    assert feed_all(reader, data, step) == ["4x"]
    # One more is refused, and the reader holds no more than MAX_FRAGMENTS fragments.
    data = first + empty * (frames.MAX_FRAGMENTS - 1)
    assert feed_all(reader, data, step) == []
    assert len(reader._frags) == frames.MAX_FRAGMENTS
    header = client_frame(frames.OP_CONTINUATION, b"y" * 200, fin=False)[:4]
    with pytest.raises(FrameError) as info:
        feed_all(reader, header + empty * 1000, step)
    assert info.value.close_code == 1008
    assert info.value.reason == "transport error"


def test_control_frames_between_fragments_do_not_count():
    reader = FrameReader(1000, max_fragments=3)
    ping = client_frame(frames.OP_PING, b"")
    data = (
        client_frame(frames.OP_BINARY, b"a", fin=False)
        + ping * 10
        + client_frame(frames.OP_CONTINUATION, b"b", fin=False)
        + ping * 10
        + client_frame(frames.OP_CONTINUATION, b"c")
    )
    assert feed_all(reader, data)[-1] == b"abc"
    # The count starts again with each message.
    data = client_frame(frames.OP_BINARY, b"d", fin=False) + client_frame(0, b"e", fin=False)
    assert feed_all(reader, data + client_frame(0, b"f")) == [b"def"]
    with pytest.raises(FrameError) as info:
        feed_all(reader, data + client_frame(0, b"f", fin=False) + client_frame(0, b"g"))
    assert info.value.close_code == 1008


def test_a_custom_unmask_is_used():
    calls = []

    def unmask(data, key):
        calls.append((data, key))
        return frames.unmask(data, key)

    reader = FrameReader(100, unmask)
    assert reader.feed(client_frame(1, "4hi", mask=b"abcd")) == ["4hi"]
    assert calls and calls[0][1] == b"abcd"


def test_server_frames():
    assert frames.text_frame("4hi") == b"\x81\x034hi"
    assert frames.frame(frames.OP_BINARY, b"\x01") == b"\x82\x01\x01"
    assert frames.frame(frames.OP_TEXT, b"x" * 126)[:4] == b"\x81\x7e\x00\x7e"
    assert frames.frame(frames.OP_TEXT, b"x" * 65536)[:10] == b"\x81\x7f" + struct.pack("!Q", 65536)
    assert frames.close_frame(1009) == b"\x88\x02\x03\xf1"
    assert frames.close_frame(1005) == b"\x88\x00"


def test_handshake_answer():
    # The example of RFC 6455, section 1.3.
    answer = frames.handshake_answer(
        "GET", "websocket", "keep-alive, Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13"
    )
    assert answer.startswith(b"HTTP/1.1 101 Switching Protocols\r\n")
    assert b"\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n" in answer
    assert answer.endswith(b"\r\n\r\n")


@pytest.mark.parametrize(
    "method, upgrade, connection, key, version",
    [
        ("POST", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13"),
        ("GET", "h2c", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13"),
        ("GET", "websocket", "keep-alive", "dGhlIHNhbXBsZSBub25jZQ==", "13"),
        ("GET", "websocket", "Upgrade", "", "13"),
        ("GET", "websocket", "Upgrade", "c2hvcnQ=", "13"),
        ("GET", "websocket", "Upgrade", "not base64!", "13"),
        ("GET", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "8"),
        ("GET", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", ""),
    ],
)
def test_invalid_handshakes(method, upgrade, connection, key, version):
    with pytest.raises(frames.ProtocolError):
        frames.handshake_answer(method, upgrade, connection, key, version)


@pytest.mark.parametrize("protocol", ["HTTP/1.0", "HTTP/0.9", "HTTP/2", ""])
def test_a_handshake_needs_http_1_1(protocol):
    valid = ("GET", "websocket", "Upgrade", "dGhlIHNhbXBsZSBub25jZQ==", "13")
    assert frames.handshake_answer(*valid, "HTTP/1.1").startswith(b"HTTP/1.1 101 ")
    with pytest.raises(frames.ProtocolError) as info:
        frames.handshake_answer(*valid, protocol)
    assert (info.value.status, info.value.code) == (400, 3)


def test_the_c_unmask_agrees():
    speedups = pytest.importorskip("websockets.speedups")
    for n in (0, 1, 5, 125, 4096, 100_001):
        data, key = os.urandom(n), os.urandom(4)
        assert speedups.apply_mask(data, key) == frames.unmask(data, key)
