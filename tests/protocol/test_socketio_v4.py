"""Socket.IO protocol v4 (socket.io-client 2.x) in the codec: gsio.protocol.socketio_v4.

What socket.io 4 does for a v3 client (tests/js/node_modules/socket.io/dist/): the client's
namespace is read with ``new URL(nsp, "https://socket.io")``, its pathname the namespace and its
search parameters the auth (client.js, ``_parseNamespace``); the server's CONNECT has no data
(socket.js, ``_onconnect``); a middleware refusal is ``_error(err.data || err.message)``
(namespace.js, ``_add``). The packets themselves are v5's: one parser in Node serves both.
"""

from __future__ import annotations

import pytest

from gsio.exceptions import ProtocolError
from gsio.protocol.socketio import JsonCodec, Packet, PacketType, encode
from gsio.protocol.socketio_v4 import (
    LegacyDecoder,
    legacy_decoder,
    refusal_data,
    split_namespace,
)

CONNECT, EVENT, ACK = PacketType.CONNECT, PacketType.EVENT, PacketType.ACK
BINARY_EVENT, CONNECT_ERROR = PacketType.BINARY_EVENT, PacketType.CONNECT_ERROR


@pytest.mark.parametrize(
    "namespace, expected",
    [
        ("/admin", ("/admin", None)),
        ("/admin?token=x", ("/admin", {"token": "x"})),
        ("/admin?token=x&a=1&a=2", ("/admin", {"token": "x", "a": "2"})),  # the last one wins
        ("/adm%20in?t=a+b%41&x", ("/adm%20in", {"t": "a bA", "x": ""})),
        ("/a?x=%E0", ("/a", {"x": "\ufffd"})),
        ("/a?x=%zz", ("/a", {"x": "%zz"})),
        ("/a#f?x=1", ("/a", None)),  # a fragment is no query
        ("/a?x=1#f", ("/a", {"x": "1"})),
        ("/a?", ("/a", {})),
        ("/é?q=é", ("/é", {"q": "é"})),  # Node would make the path /%C3%A9
        ("/", ("/", None)),
    ],
)
def test_split_namespace(namespace, expected):
    assert split_namespace(namespace) == expected


def decoder(**kwargs) -> LegacyDecoder:
    return legacy_decoder(JsonCodec(), **kwargs)


@pytest.mark.parametrize(
    "text, packet",
    [
        ("0/admin?token=x,", Packet(CONNECT, "/admin", {"token": "x"})),
        ("0/admin,", Packet(CONNECT, "/admin", None)),
        ('0/admin,{"ignored":1}', Packet(CONNECT, "/admin", None)),  # the auth is the query
        ('0/admin?a=1,{"b":2}', Packet(CONNECT, "/admin", {"a": "1"})),
        ('2/admin,["ev",1]', Packet(EVENT, "/admin", ["ev", 1])),
        ('2/admin?x=1,5["ev"]', Packet(EVENT, "/admin", ["ev"], 5)),  # as Node routes it
        ('2["ev"]', Packet(EVENT, "/", ["ev"])),
        ("3/admin,12[]", Packet(ACK, "/admin", [], 12)),
        ("1/admin,", Packet(PacketType.DISCONNECT, "/admin")),
    ],
)
def test_the_legacy_decoder(text, packet):
    assert decoder().feed(text) == packet


def test_binary_packets_as_in_v5():
    d = decoder()
    assert d.feed('51-/admin?x=1,["up",{"_placeholder":true,"num":0}]') is None
    assert d.pending
    assert d.feed(b"\x01\x02") == Packet(BINARY_EVENT, "/admin", ["up", b"\x01\x02"])
    assert not d.pending


def test_the_short_event_path_is_the_inner_decoders():
    assert decoder().feed_event('221["ev",1]') == (["ev", 1], 21)
    assert decoder().feed_event('2/admin,["ev"]') is None


def test_a_query_has_room_beyond_the_namespace_limit():
    token = "t" * 3000  # a long token fits: the limit is the namespace's, once split
    assert decoder(max_namespace_length=10).feed(f"0/admin?token={token},") == Packet(
        CONNECT, "/admin", {"token": token}
    )


@pytest.mark.parametrize(
    "text",
    [
        "0/" + "a" * 11 + ",",
        "0/" + "a" * 11 + "?x=1,",
        "2/" + "a" * 11 + ',["ev"]',
        "0/a?" + "x" * 200 + ",",  # the query past max_query_length
    ],
)
def test_limits(text):
    with pytest.raises(ProtocolError):
        decoder(max_namespace_length=10, max_query_length=100).feed(text)


def test_malformed_input_is_still_a_protocol_error():
    d = decoder()
    for text in ["7", '2/admin,{"not":"an array"}', '51-["x"]']:
        try:
            d.feed(text)
        except ProtocolError:
            pass
    with pytest.raises(ProtocolError):
        d.feed("x")


# -- what the server sends a v4 client: the v5 encoder, with v4's packets ----------------------


@pytest.mark.parametrize(
    "packet, messages",
    [
        (Packet(CONNECT, "/"), ["0"]),
        (Packet(CONNECT, "/admin"), ["0/admin,"]),
        (Packet(CONNECT_ERROR, "/", refusal_data("Not authorized")), ['4"Not authorized"']),
        (
            Packet(CONNECT_ERROR, "/admin", refusal_data("no", {"code": 7})),
            ['4/admin,{"code":7}'],
        ),
        (
            Packet(EVENT, "/", ["bin", b"\x01"]),
            ['51-["bin",{"_placeholder":true,"num":0}]', b"\x01"],
        ),
        (Packet(ACK, "/a", [b"\x02"], 3), ['61-/a,3[{"_placeholder":true,"num":0}]', b"\x02"]),
    ],
)
def test_the_server_packets_of_protocol_v4(packet, messages):
    assert encode(packet) == messages


@pytest.mark.parametrize(
    "data, expected",
    [
        (None, "m"),
        (False, "m"),
        (0, "m"),
        (0.0, "m"),
        (float("nan"), "m"),
        ("", "m"),
        ({"a": 1}, {"a": 1}),
        ({}, {}),  # an empty object is truthy in JavaScript
        ([], []),
        ("why", "why"),
        (True, True),
        (5, 5),
    ],
)
def test_refusal_data_is_err_data_or_err_message(data, expected):
    assert refusal_data("m", data) == expected
