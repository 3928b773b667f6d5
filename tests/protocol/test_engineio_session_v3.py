"""The Engine.IO v3 session: the heartbeat reversed (the client pings, the server answers pong).

Node's engine.io 6 (build/socket.js): onOpen calls resetPingTimeout() for v3 (no schedulePing),
a v3 "ping" refreshes that timeout and sends "pong", a v3 "pong" (or a v4 "ping") is
onError("invalid heartbeat direction"), i.e. closed with "transport error"; the v3 timeout is
pingInterval + pingTimeout.
"""

from __future__ import annotations

import json

import pytest

from gsio.exceptions import ProtocolError
from gsio.protocol.engineio import PING, PONG, Packet, PacketType
from gsio.protocol.session import Session, State

INTERVAL = 25.0
TIMEOUT = 20.0


def make(protocol: int = 3, now: float = 0.0) -> Session:
    return Session(
        "sid123",
        "polling",
        now=now,
        ping_interval=INTERVAL,
        ping_timeout=TIMEOUT,
        upgrades=("websocket",),
        protocol=protocol,
    )


def test_the_client_pings_in_v3_only():
    assert make(3).client_pings is True
    assert make(4).client_pings is False


def test_the_open_packet_is_the_same_in_both_versions():
    v3, v4 = make(3).open_packet(), make(4).open_packet()
    assert v3 == v4
    assert v3.data == (
        '{"sid":"sid123","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,'
        '"maxPayload":1000000}'
    )
    assert json.loads(v3.data)["maxPayload"] == 1_000_000


def test_v3_never_pings_and_times_out_interval_plus_timeout_after_the_open():
    session = make(now=100.0)
    assert session.next_deadline() == 145.0
    assert session.on_timer(125.0) is None  # v4 would ping here
    assert session.on_timer(144.999) is None
    assert session.take_outbound() == []
    assert session.on_timer(145.0) == "timeout"
    assert (session.state, session.close_reason) == (State.CLOSED, "ping timeout")


def test_a_client_ping_is_answered_with_a_pong_and_moves_the_deadline():
    session = make(now=0.0)
    assert session.receive(PING, 30.0) is None
    assert session.take_outbound() == [PONG]
    assert session.next_deadline() == 75.0
    assert session.on_timer(74.9) is None
    assert session.take_outbound() == []
    assert session.on_timer(75.0) == "timeout"


def test_the_pong_carries_no_data_whatever_the_ping_did():
    # socket.js: this.sendPacket("pong") for any "ping".
    session = make()
    session.receive(Packet(PacketType.PING, "probe"), 1.0)
    assert session.take_outbound() == [Packet(PacketType.PONG, "")]


def test_the_pong_is_not_counted_as_outbound_bytes():
    session = make()
    session.receive(PING, 1.0)
    assert session.outbound_bytes == 0


def test_other_traffic_does_not_move_the_v3_deadline():
    session = make(now=0.0)
    session.receive(Packet(PacketType.MESSAGE, "x"), 40.0)
    session.receive(Packet(PacketType.NOOP), 41.0)
    assert session.next_deadline() == 45.0


def test_a_pong_from_a_v3_client_is_a_transport_error():
    with pytest.raises(ProtocolError) as info:
        make(3).receive(PONG, 1.0)
    assert (info.value.message, info.value.reason) == (
        "invalid heartbeat direction",
        "transport error",
    )


def test_a_ping_from_a_v4_client_is_still_a_transport_error():
    with pytest.raises(ProtocolError) as info:
        make(4).receive(PING, 1.0)
    assert info.value.reason == "transport error"


def test_v3_messages_close_and_upgrade_work_as_in_v4():
    session = make()
    assert session.receive(Packet(PacketType.MESSAGE, b"\x01"), 1.0) == b"\x01"
    session.start_upgrade()
    session.receive(PING, 2.0)  # a ping over polling while the probe runs
    session.finish_upgrade()
    assert session.take_outbound() == [PONG]
    session.receive(Packet(PacketType.CLOSE), 3.0)
    assert session.close_reason == "transport close"
