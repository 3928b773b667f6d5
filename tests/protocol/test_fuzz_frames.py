"""Property-based fuzzing of the WebSocket frame reader (gsio.protocol.frames.FrameReader), fed whole
and split at random points.

The properties: a malformed stream raises FrameError (a ProtocolError) and nothing else; a
stream cut into chunks anywhere gives the same messages, and the same error, as fed whole;
well-formed frames give back their messages. See tests/fuzzing.py for the number of examples.
"""

from __future__ import annotations

import struct
from typing import Any

import fuzzing
from fuzzing import chunks, split_points
from hypothesis import given
from hypothesis import strategies as st

from gsio.exceptions import ProtocolError
from gsio.protocol import frames

assert fuzzing.EXAMPLES >= 0  # the import loads the hypothesis profile

MAX_PAYLOAD = 64  # small, so that "message too big" (1009) is reached often


def _xor(data: bytes, key: bytes) -> bytes:
    return bytes(b ^ key[i % 4] for i, b in enumerate(data))


@st.composite
def frame_bytes(draw: st.DrawFn) -> bytes:
    """One client frame, mostly well formed: FIN, RSV, opcode, mask, length forms, payload."""
    fin = draw(st.sampled_from([0x80, 0x80, 0]))
    rsv = draw(st.sampled_from([0, 0, 0, 0, 0x40, 0x10]))
    opcode = draw(st.sampled_from([1, 1, 2, 2, 0, 0, 8, 9, 10]) | st.integers(0, 15))
    if opcode == 1 and draw(st.booleans()):
        payload = draw(st.text(max_size=40)).encode("utf-8", "surrogatepass")
    elif opcode == 8 and draw(st.booleans()):
        code = draw(st.sampled_from([1000, 1001, 1005, 1006, 1015, 3000, 4999, 5000, 999]))
        payload = struct.pack("!H", code) + draw(st.text(max_size=8)).encode(
            "utf-8", "surrogatepass"
        )
    else:
        payload = draw(st.binary(max_size=80))
    masked = draw(st.sampled_from([True, True, True, True, False]))
    key = draw(st.binary(min_size=4, max_size=4))
    n = len(payload)
    form = draw(st.sampled_from(["short", "short", "16", "64"]))
    if form == "short" and n < 126:
        head = bytes((fin | rsv | opcode, (0x80 if masked else 0) | n))
    elif form in ("short", "16") and n < 65536:
        head = bytes((fin | rsv | opcode, (0x80 if masked else 0) | 126)) + struct.pack("!H", n)
    else:
        head = bytes((fin | rsv | opcode, (0x80 if masked else 0) | 127)) + struct.pack("!Q", n)
    if masked:
        return head + key + _xor(payload, key)
    return head + payload


STREAMS = st.one_of(
    st.lists(frame_bytes(), max_size=6).map(b"".join),
    st.tuples(st.lists(frame_bytes(), max_size=4).map(b"".join), st.binary(max_size=12)).map(
        b"".join
    ),
    st.binary(max_size=60),
)


def _describe(event: Any) -> Any:
    if isinstance(event, (str, bytes)):
        return event
    if isinstance(event, frames.Close):
        return ("close", event.code, event.reason)
    return (type(event).__name__, event.payload)


def _run(pieces: list[bytes]) -> tuple[list, Any]:
    """Feed ``pieces`` in order until a Close or an error: (events, (message, close code))."""
    reader = frames.FrameReader(MAX_PAYLOAD)
    events: list = []
    for piece in pieces:
        try:
            new = reader.feed(piece)
        except frames.FrameError as exc:
            return events, (exc.message, exc.close_code)
        for event in new:
            assert isinstance(event, (str, bytes, frames.Ping, frames.Pong, frames.Close))
            events.append(_describe(event))
            if isinstance(event, frames.Close):
                return events, None  # the reader is not fed after a close
    return events, None


@given(STREAMS)
def test_frame_reader_raises_only_frame_errors(stream: bytes) -> None:
    reader = frames.FrameReader(MAX_PAYLOAD)
    try:
        reader.feed(stream)
    except frames.FrameError as exc:
        assert isinstance(exc, ProtocolError)
        assert exc.close_code in (1002, 1007, 1009)


@given(st.data())
def test_chunked_feeds_agree_with_a_whole_feed(data: st.DataObject) -> None:
    stream = data.draw(STREAMS)
    cuts = data.draw(split_points(len(stream)))
    # Byte by byte, every event comes out before an error does: the reference.
    byte_events, byte_error = _run([stream[i : i + 1] for i in range(len(stream))])
    whole_events, whole_error = _run([stream])
    events, error = _run(chunks(stream, cuts))
    assert whole_error == error == byte_error
    if error is None:
        assert whole_events == events == byte_events
    else:  # the events of the chunks before the one with the error
        assert events == byte_events[: len(events)]


def _client_frame(op: int, payload: bytes, key: bytes) -> bytes:
    """The server's frame for ``payload`` (gsio.protocol.frames.frame), masked as a client sends it."""
    server_frame = frames.frame(op, payload)
    head = server_frame[: len(server_frame) - len(payload)]
    return bytes([head[0], head[1] | 0x80]) + head[2:] + key + _xor(payload, key)


@given(st.lists(st.one_of(st.text(max_size=40), st.binary(max_size=70)), max_size=5), st.data())
def test_well_formed_messages_come_back(messages: list, data: st.DataObject) -> None:
    stream = b""
    expected: list = []
    refusal = None  # the close code of the first message the reader must refuse
    for message in messages:
        text = isinstance(message, str)
        payload = message.encode("utf-8", "surrogatepass") if text else message
        key = data.draw(st.binary(min_size=4, max_size=4))
        stream += _client_frame(frames.OP_TEXT if text else frames.OP_BINARY, payload, key)
        if refusal is not None:
            continue
        if len(payload) > MAX_PAYLOAD:
            refusal = 1009
        elif text and payload != message.encode("utf-8", "replace"):
            refusal = 1007  # a lone surrogate: not UTF-8
        else:
            expected.append(message)
    events, error = _run(chunks(stream, data.draw(split_points(len(stream)))))
    if refusal is None:
        assert error is None and events == expected
    else:
        assert error is not None and error[1] == refusal
        assert events == expected[: len(events)]


@given(st.binary(max_size=300), st.binary(min_size=4, max_size=4))
def test_unmask_is_the_xor_of_the_key(payload: bytes, key: bytes) -> None:
    assert frames.unmask(payload, key) == _xor(payload, key)


def _fed(reader: frames.FrameReader, stream: bytes) -> Any:
    try:
        return [_describe(event) for event in reader.feed(stream)]
    except frames.FrameError as exc:
        return (exc.message, exc.close_code)


@given(st.data())
def test_the_short_text_read_agrees_with_feed(data: st.DataObject) -> None:
    """``feed_text`` (one whole short text frame, the echo's read) gives what ``feed`` gives,
    or None and consumes nothing, in any state the reader may be in."""
    prefix = data.draw(STREAMS)
    stream = data.draw(st.one_of(frame_bytes(), STREAMS))
    after = data.draw(STREAMS)
    short, reference = frames.FrameReader(MAX_PAYLOAD), frames.FrameReader(MAX_PAYLOAD)
    before = _fed(reference, prefix)
    if isinstance(before, tuple) or any(type(e) is tuple and e[0] == "close" for e in before):
        return  # the reader is not fed after an error or a close
    assert _fed(short, prefix) == before
    text = short.feed_text(stream)
    expected = _fed(reference, stream)
    if text is None:
        assert _fed(short, stream) == expected
    else:
        assert expected == [text]
    if not isinstance(expected, tuple) and not any(type(e) is tuple for e in expected):
        assert _fed(short, after) == _fed(reference, after)


def test_the_short_text_read_takes_what_the_echo_sends() -> None:
    frame = _client_frame(frames.OP_TEXT, b'42["echo","x"]', b"abcd")
    assert frames.FrameReader(MAX_PAYLOAD).feed_text(frame) == '42["echo","x"]'
    assert frames.FrameReader(10).feed_text(frame) is None  # over max_payload: feed refuses it
    assert frames.FrameReader(MAX_PAYLOAD).feed_text(frame + frame) is None  # two: feed's
