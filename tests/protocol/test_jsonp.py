"""JSONP polling of Engine.IO v3, byte by byte (gsio.protocol.jsonp), as Node's engine.io 6 does it
(tests/js/node_modules/engine.io/build/transports/polling-jsonp.js; line numbers are that file's).
"""

from __future__ import annotations

import pytest

from gsio.exceptions import ProtocolError
from gsio.protocol.engineio import PING, Packet, PacketType
from gsio.protocol.jsonp import JSONP_CONTENT_TYPE, decode_jsonp_body, encode_jsonp, jsonp_index

MESSAGE = PacketType.MESSAGE


def msg(data: str | bytes) -> Packet:
    return Packet(MESSAGE, data)


@pytest.mark.parametrize("j", ["0", "7", "12", "0123456789"])
def test_the_index_is_digits(j):
    assert jsonp_index(j) == j


@pytest.mark.parametrize("j", ["", "a", "1a", "-1", " 1", "1]", "٣", "12345678901", "1);alert(1"])
def test_anything_else_is_a_bad_request(j):
    with pytest.raises(ProtocolError) as info:
        jsonp_index(j)
    assert (info.value.status, info.value.code) == (400, 3)


@pytest.mark.parametrize(
    "packets, body",
    [
        pytest.param([msg("hi")], '___eio[3]("3:4hi");', id="plain"),
        pytest.param([], '___eio[3]("0:");', id="empty"),
        pytest.param(
            # JSON.stringify, then U+2028/U+2029 escaped (lines 66-68); é and 😀 as UTF-8
            [msg('a"\\\n\x01é😀\u2028\u2029')],
            '___eio[3]("11:4a\\"\\\\\\n\\u0001é😀\\u2028\\u2029");',
            id="escapes",
        ),
        pytest.param([msg(b"\x01"), PING], '___eio[3]("6:b4AQ==1:2");', id="binary-as-base64"),
        pytest.param([msg("\ud800")], '___eio[3]("2:4\\ud800");', id="lone-surrogate"),
    ],
)
def test_jsonp_answer(packets, body):
    assert encode_jsonp(packets, "3") == (body.encode("utf-8"), JSONP_CONTENT_TYPE)
    assert JSONP_CONTENT_TYPE == "text/plain; charset=UTF-8"


@pytest.mark.parametrize(
    "body, packets",
    [
        pytest.param(b"d=3%3A4hi", [msg("hi")], id="url-encoded"),
        pytest.param(b"d=3:4hi", [msg("hi")], id="plain"),
        pytest.param(b"d=4%3A4a+b", [msg("a b")], id="plus-is-space"),
        pytest.param(b"d=4:4a%2Bb", [msg("a+b")], id="escaped-plus"),
        pytest.param(b"x=1&d=2:4a&y", [msg("a")], id="other-fields"),
        pytest.param(b"%64=2:4a", [msg("a")], id="escaped-key"),
        pytest.param("d=2:4é".encode(), [msg("é")], id="utf8"),
        pytest.param(b"d=2:4%C3%A9", [msg("é")], id="percent-utf8"),
        pytest.param(b"d=4:4%zz", [msg("%zz")], id="bad-escape-kept"),
        pytest.param(b"d=2:4%E0", [msg("\ufffd")], id="bad-utf8-escape-replaced"),
        # the client sends a newline as "\n" (backslash, n) and "\n" as "\\n" (lines 55-60)
        pytest.param(b"d=4:4a%5Cnb", [msg("a\nb")], id="escaped-newline"),
        pytest.param(b"d=5:4a%5C%5Cnb", [msg("a\\nb")], id="escaped-backslash-n"),
        pytest.param(b"d=4:4%5C%5C%5Cn", [msg("\\\\n")], id="three-backslashes"),
        pytest.param(b"d=2:4%0A", [msg("\n")], id="raw-newline"),
    ],
)
def test_jsonp_post_bodies(body, packets):
    got = decode_jsonp_body(body)
    assert [(p.type, p.data) for p in got] == [(p.type, p.data) for p in packets]


@pytest.mark.parametrize("body", [b"", b"x=1", b"d=2:4a&d=2:4b", b"dd=2:4a"])
def test_a_body_without_exactly_one_d_holds_no_packet(body):
    # line 54: data = qs.parse(data).d; only a string goes on (an array, undefined: ignored)
    assert decode_jsonp_body(body) == []


@pytest.mark.parametrize("body", [b"d=", b"d", b"d=3:4a", b"d=abc", b"d=2:4\xff", b"d=1:7"])
def test_a_malformed_payload_is_a_parse_error(body):
    with pytest.raises(ProtocolError) as info:
        decode_jsonp_body(body)
    assert info.value.reason == "parse error"
