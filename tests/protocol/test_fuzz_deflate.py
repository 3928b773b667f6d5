"""Property-based fuzzing of per-message deflate: the ``Sec-WebSocket-Extensions`` parser and
the negotiation (gsio/protocol/extensions.py), the bounded inflater and RSV1 in the frame reader
(gsio/protocol/deflate.py, frames.py).

The properties: any header parses without an error and negotiates to nothing or to parameters
within RFC 7692's ranges whose answer, offered again, negotiates to the same; any payload
inflates to at most ``max_payload`` bytes or raises FrameError (1007/1009) and nothing else.
"""

from __future__ import annotations

import zlib

import fuzzing
from hypothesis import given
from hypothesis import strategies as st

from gsio.protocol.deflate import Inflater
from gsio.protocol.extensions import DeflateOptions, negotiate, parse_extensions
from gsio.protocol.frames import FrameError, FrameReader

assert fuzzing.EXAMPLES >= 0  # the import loads the hypothesis profile

PARAMS = [
    "server_no_context_takeover",
    "client_no_context_takeover",
    "server_max_window_bits",
    "client_max_window_bits",
    "x",
]
VALUES = st.one_of(
    st.none(),
    st.sampled_from(["8", "9", "10", "15", "16", "08", "", '"12"', '"1"2"', "a b"]),
    st.text(max_size=4),
)


@st.composite
def offer(draw):
    name = draw(st.sampled_from(["permessage-deflate", "PerMessage-Deflate", "foo", "", "a b"]))
    params = []
    for _ in range(draw(st.integers(0, 4))):
        param = draw(st.sampled_from(PARAMS))
        value = draw(VALUES)
        params.append(param if value is None else f"{param}={value}")
    sep = draw(st.sampled_from([";", " ; ", ";;"]))
    return sep.join([name, *params])


HEADERS = st.one_of(
    st.lists(offer(), max_size=4).map(", ".join),
    st.text(max_size=80),
)
OPTIONS = st.builds(
    DeflateOptions,
    server_no_context_takeover=st.booleans(),
    client_no_context_takeover=st.booleans(),
    server_max_window_bits=st.one_of(st.none(), st.integers(9, 15)),
    client_max_window_bits=st.one_of(st.none(), st.integers(8, 15)),
)


@given(st.text(max_size=200))
def test_any_header_parses(header):
    for name, params in parse_extensions(header):
        assert name and "," not in name and ";" not in name
        for param, value in params:
            assert param and (value is None or value)


@given(HEADERS, OPTIONS)
def test_negotiation_is_in_range_and_stable(header, options):
    params = negotiate(header, options)
    if params is None:
        return
    assert 9 <= params.server_window_bits <= 15
    assert 8 <= params.client_window_bits <= 15
    if options.server_max_window_bits is not None:
        assert params.server_window_bits <= options.server_max_window_bits
    if options.server_no_context_takeover:
        assert params.server_no_context_takeover
    assert negotiate(params.answer, options) == params


@given(st.binary(max_size=300), st.booleans())
def test_inflating_anything_is_bounded_or_refused(payload, compressed):
    if compressed:
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        payload = (c.compress(payload * 3) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
    params = negotiate("permessage-deflate", DeflateOptions())
    inflate = Inflater(params, 500)
    try:
        out = inflate(payload)
    except FrameError as exc:
        assert exc.close_code in (1007, 1009)
        return
    assert len(out) <= 500


@given(st.binary(max_size=400))
def test_reader_with_deflate_raises_only_frame_errors(data):
    params = negotiate("permessage-deflate", DeflateOptions())
    reader = FrameReader(200, inflate=Inflater(params, 200))
    try:
        for event in reader.feed(data):
            if isinstance(event, (str, bytes)):
                assert len(event) <= 200 * 4  # (characters of at most 200 bytes)
    except FrameError as exc:
        assert exc.close_code in (1002, 1007, 1008, 1009)
