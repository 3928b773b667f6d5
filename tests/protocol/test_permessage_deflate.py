"""Per-message deflate (RFC 7692), in memory: the negotiation (gsio/protocol/extensions.py),
the bounded inflater, the framer (gsio/protocol/deflate.py) and RSV1 in the frame reader."""

import tracemalloc
import zlib

import pytest
import rawws

from gsio.protocol import frames
from gsio.protocol.deflate import (
    DeflateFramer,
    Inflater,
    PerMessageDeflate,
    Uncompressed,
    with_extension,
)
from gsio.protocol.extensions import DeflateOptions, negotiate, parse_extensions
from gsio.protocol.frames import FrameError, FrameReader

DEFAULT = DeflateOptions()


def client_frame(opcode, payload, fin=True, rsv=0):
    return rawws.client_frame(opcode, payload, fin, rsv, True, b"\x01\x02\x03\x04")


def client_compress(data, compressor=None):
    """What a client sends for ``data`` (RFC 7692 7.2.1): a sync flush without its trailer."""
    c = compressor or zlib.compressobj(6, zlib.DEFLATED, -15)
    out = c.compress(data) + c.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


def inflate_server(payload):
    d = zlib.decompressobj(-15)
    return d.decompress(payload + b"\x00\x00\xff\xff")


# -- parsing the header ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header, expected",
    [
        ("permessage-deflate", [("permessage-deflate", [])]),
        (
            "permessage-deflate; client_max_window_bits",  # Chrome, Firefox, Node's ws
            [("permessage-deflate", [("client_max_window_bits", None)])],
        ),
        (
            'a; x=1 ; y="two", b,, c;z',
            [("a", [("x", "1"), ("y", "two")]), ("b", []), ("c", [("z", None)])],
        ),
        ('a; x="1,2", b', [("b", [])]),  # a quoted value must still be a token
        ('a; x="un, b', []),  # an unterminated quote swallows the rest
        ("a; =1, b", [("b", [])]),
        ("bad name, b", [("b", [])]),
        ('a; x="\\t"', [("a", [("x", "t")])]),  # a quoted pair
        ("", []),
    ],
)
def test_parse_extensions(header, expected):
    assert parse_extensions(header) == expected


@pytest.mark.parametrize(
    "header, answer",
    [
        ("permessage-deflate", "permessage-deflate; server_no_context_takeover"),
        (
            "permessage-deflate; client_max_window_bits",
            "permessage-deflate; server_no_context_takeover",
        ),
        (
            "permessage-deflate; client_max_window_bits=10",
            "permessage-deflate; server_no_context_takeover; client_max_window_bits=10",
        ),
        (
            "permessage-deflate; server_max_window_bits=12; client_no_context_takeover",
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover;"
            " server_max_window_bits=12",
        ),
        (  # the first acceptable offer wins; invalid ones before it are declined
            "permessage-deflate; server_max_window_bits=8, permessage-deflate; foo,"
            " permessage-deflate; server_max_window_bits=08, permessage-deflate;"
            ' server_max_window_bits="11"',
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11",
        ),
        (
            "x-webkit-deflate-frame, permessage-deflate",
            "permessage-deflate; server_no_context_takeover",
        ),
    ],
)
def test_negotiate_answers(header, answer):
    params = negotiate(header, DEFAULT)
    assert params is not None and params.answer == answer
    # The answer is itself a valid offer that gives the same parameters back.
    assert negotiate(params.answer, DEFAULT) == params


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "x-webkit-deflate-frame",
        "permessage-deflate; unknown",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=8",  # zlib cannot: declined
        "permessage-deflate; client_max_window_bits=0x0f",
        'permessage-deflate; client_max_window_bits="1 5"',
    ],
)
def test_negotiate_declines(header):
    assert negotiate(header, DEFAULT) is None


def test_options_shape_the_answer():
    opts = DeflateOptions(
        server_no_context_takeover=False,
        client_no_context_takeover=True,
        server_max_window_bits=10,
        client_max_window_bits=9,
    )
    params = negotiate("permessage-deflate; client_max_window_bits", opts)
    assert params.answer == (
        "permessage-deflate; client_no_context_takeover; server_max_window_bits=10;"
        " client_max_window_bits=9"
    )
    assert (params.server_window_bits, params.client_window_bits) == (10, 9)
    assert not params.server_no_context_takeover
    # A client that cannot limit its window is declined when the server wants it limited.
    assert negotiate("permessage-deflate", opts) is None
    # The client may ask for no context takeover on the server's side: granted.
    asked = negotiate("permessage-deflate; server_no_context_takeover", DeflateOptions(False))
    assert asked.server_no_context_takeover


@pytest.mark.parametrize(
    "value, expected",
    [(False, None), (None, None), (True, DEFAULT), ({"threshold": 10}, DeflateOptions(10))],
)
def test_options_of(value, expected):
    assert DeflateOptions.of(value) == expected


@pytest.mark.parametrize(
    "bad",
    [
        {"server_max_window_bits": 8},
        {"client_max_window_bits": 16},
        {"level": 10},
        {"threshold": -1},
        {"nonsense": 1},
    ],
)
def test_bad_options_are_refused(bad):
    with pytest.raises((ValueError, TypeError)):
        DeflateOptions.of(bad)


def test_with_extension_adds_the_header():
    answer = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n"
    params = negotiate("permessage-deflate", DEFAULT)
    assert with_extension(answer, params) == (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
        b"Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover\r\n\r\n"
    )


# -- inflating --------------------------------------------------------------------------------


def test_inflater_keeps_the_context_between_messages():
    params = negotiate("permessage-deflate", DEFAULT)
    inflate = Inflater(params, 1000)
    c = zlib.compressobj(6, zlib.DEFLATED, -15)
    first = client_compress(b"hello hello hello", c)
    second = client_compress(b"hello hello hello", c)  # refers to the first message's bytes
    assert len(second) < len(first)
    assert inflate(first) == b"hello hello hello"
    assert inflate(second) == b"hello hello hello"


def test_inflater_without_context_takeover():
    params = negotiate("permessage-deflate; client_no_context_takeover", DEFAULT)
    inflate = Inflater(params, 1000)
    for _ in range(3):
        assert inflate(client_compress(b"abc" * 50)) == b"abc" * 50


def test_inflater_accepts_a_final_block_and_starts_afresh():
    params = negotiate("permessage-deflate", DEFAULT)
    inflate = Inflater(params, 1000)
    final = zlib.compress(b"the end", wbits=-15)  # BFINAL set (RFC 7692 7.2.3.5)
    assert inflate(final) == b"the end"
    assert inflate(client_compress(b"and again")) == b"and again"


def test_inflater_refuses_a_bomb_without_inflating_it():
    params = negotiate("permessage-deflate", DEFAULT)
    bomb = client_compress(b"\0" * 200_000_000)  # 200 MB in about 200 KB
    assert len(bomb) < 250_000
    inflate = Inflater(params, 1_000_000)
    tracemalloc.start()
    try:
        with pytest.raises(FrameError) as info:
            inflate(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info.value.close_code == 1009
    assert peak < 4_000_000, peak  # about max_payload, never the 200 MB


def test_inflater_limit_is_exact():
    params = negotiate("permessage-deflate; client_no_context_takeover", DEFAULT)
    inflate = Inflater(params, 1000)
    assert inflate(client_compress(b"a" * 1000)) == b"a" * 1000
    with pytest.raises(FrameError) as info:
        inflate(client_compress(b"a" * 1001))
    assert info.value.close_code == 1009


def test_inflater_refuses_what_is_not_deflate():
    inflate = Inflater(negotiate("permessage-deflate", DEFAULT), 1000)
    with pytest.raises(FrameError) as info:
        inflate(b"\xff\xff\xff\xff")
    assert info.value.close_code == 1007


# -- RSV1 in the frame reader -----------------------------------------------------------------


def reader(max_payload=1000, negotiated=True):
    params = negotiate("permessage-deflate", DEFAULT)
    inflate = Inflater(params, max_payload) if negotiated else None
    return FrameReader(max_payload, inflate=inflate)


def test_compressed_messages_text_and_binary():
    data = client_frame(frames.OP_TEXT, client_compress("4héllo".encode()), rsv=0x40)
    data += client_frame(frames.OP_BINARY, client_compress(b"\x00\x01" * 100), rsv=0x40)
    data += client_frame(frames.OP_TEXT, "4plain")
    assert reader().feed(data) == ["4héllo", b"\x00\x01" * 100, "4plain"]


@pytest.mark.parametrize("step", [1, 5, 1000])
def test_fragmented_compressed_message(step):
    payload = client_compress(b"4" + b"fragmented " * 50)
    a, b, c = payload[:5], payload[5:20], payload[20:]
    data = client_frame(frames.OP_TEXT, a, fin=False, rsv=0x40)
    data += client_frame(frames.OP_PING, b"p")  # a control frame between fragments
    data += client_frame(frames.OP_CONTINUATION, b, fin=False)
    data += client_frame(frames.OP_CONTINUATION, c)
    r = reader()
    events = []
    for i in range(0, len(data), step):
        events.extend(r.feed(data[i : i + step]))
    assert isinstance(events[0], frames.Ping)
    assert events[1:] == ["4" + "fragmented " * 50]


@pytest.mark.parametrize(
    "data, negotiated",
    [
        (client_frame(frames.OP_TEXT, client_compress(b"4x"), rsv=0x40), False),
        (client_frame(frames.OP_TEXT, b"4x", rsv=0x20), True),
        (client_frame(frames.OP_TEXT, b"4x", rsv=0x10), True),
        (client_frame(frames.OP_TEXT, b"4x", rsv=0x60), True),
        (client_frame(frames.OP_PING, b"", rsv=0x40), True),
        (
            client_frame(frames.OP_TEXT, b"4", fin=False)
            + client_frame(frames.OP_CONTINUATION, b"x", rsv=0x40),
            True,
        ),
    ],
    ids=["rsv1-unnegotiated", "rsv2", "rsv3", "rsv1+2", "rsv1-ping", "rsv1-continuation"],
)
def test_reserved_bits_refused_with_1002(data, negotiated):
    with pytest.raises(FrameError) as info:
        reader(negotiated=negotiated).feed(data)
    assert info.value.close_code == 1002


def test_compressed_text_with_invalid_utf8_is_1007():
    data = client_frame(frames.OP_TEXT, client_compress(b"4\xff\xfe"), rsv=0x40)
    with pytest.raises(FrameError) as info:
        reader().feed(data)
    assert info.value.close_code == 1007


def test_compressed_bomb_in_a_frame_is_1009():
    data = client_frame(frames.OP_BINARY, client_compress(b"\0" * 5_000_000), rsv=0x40)
    assert len(data) < 10_000
    with pytest.raises(FrameError) as info:
        reader(max_payload=100_000).feed(data)
    assert info.value.close_code == 1009


# -- compressing ------------------------------------------------------------------------------


def parse_server_frames(data):
    """[(rsv1, opcode, payload)] of server frames (unmasked, unfragmented)."""
    out = []
    while data:
        b0, b1 = data[0], data[1]
        n, head = b1 & 0x7F, 2
        if n == 126:
            n, head = int.from_bytes(data[2:4], "big"), 4
        elif n == 127:
            n, head = int.from_bytes(data[2:10], "big"), 10
        assert b0 & 0x80 and not b0 & 0x30
        out.append((bool(b0 & 0x40), b0 & 0x0F, data[head : head + n]))
        data = data[head + n :]
    return out


def test_framer_compresses_above_the_threshold_only():
    pmd = PerMessageDeflate(DeflateOptions(threshold=100))
    frames_of = pmd.framer(negotiate("permessage-deflate", pmd.options))
    big = '2["big","' + "y" * 200 + '"]'
    out = parse_server_frames(frames_of(['2["small"]', b"\x07" * 300, big]))
    assert [(rsv1, op) for rsv1, op, _ in out] == [(False, 1), (True, 2), (True, 1)]
    assert out[0][2] == b'42["small"]'
    assert inflate_server(out[1][2]) == b"\x07" * 300
    assert inflate_server(out[2][2]) == ("4" + big).encode()
    plain = parse_server_frames(frames_of(Uncompressed([big])))
    assert plain == [(False, 1, ("4" + big).encode())]


def test_shared_framer_compresses_a_broadcast_once():
    pmd = PerMessageDeflate(DEFAULT)
    a = pmd.framer(negotiate("permessage-deflate", DEFAULT))
    b = pmd.framer(negotiate("permessage-deflate; client_max_window_bits", DEFAULT))
    other = pmd.framer(negotiate("permessage-deflate; server_max_window_bits=10", DEFAULT))
    parts = ["2" + "z" * 5000]
    assert a(parts) is b(parts)  # the same bytes object: compressed once
    assert other(parts) is not a(parts)
    assert inflate_server(parse_server_frames(other(parts))[0][2]) == ("42" + "z" * 5000).encode()


def test_context_takeover_framer_is_per_connection():
    opts = DeflateOptions(server_no_context_takeover=False, threshold=0)
    pmd = PerMessageDeflate(opts)
    params = negotiate("permessage-deflate", opts)
    assert not params.server_no_context_takeover
    frames_of = pmd.framer(params)
    assert pmd.framer(params) is not frames_of
    d = zlib.decompressobj(-15)
    sizes = []
    for _ in range(3):
        ((rsv1, _, payload),) = parse_server_frames(frames_of(["2" + "same text " * 30]))
        assert rsv1
        sizes.append(len(payload))
        assert d.decompress(payload + b"\x00\x00\xff\xff") == ("42" + "same text " * 30).encode()
    assert sizes[1] < sizes[0]  # the second refers to the first


def test_deflated_frame_header():
    assert frames.deflated_frame(frames.OP_TEXT, b"ab") == b"\xc1\x02ab"
    assert frames.deflated_frame(frames.OP_BINARY, b"a" * 200)[:4] == b"\xc2\x7e\x00\xc8"
    assert frames.deflated_frame(frames.OP_BINARY, b"a" * 70000)[:2] == b"\xc2\x7f"


def test_framer_and_reader_round_trip():
    framer = DeflateFramer(DeflateOptions(threshold=0), negotiate("permessage-deflate", DEFAULT))
    ((_, _, payload),) = parse_server_frames(framer.frames_of(["2x"]))
    assert inflate_server(payload) == b"42x"
