"""The Engine.IO session state machine, in memory: time is passed in explicitly, no clock, no I/O."""

from __future__ import annotations

import json

import pytest

from gsio.exceptions import ProtocolError
from gsio.protocol.engineio import CLOSE, NOOP, PING, PONG, Packet, PacketType, encode
from gsio.protocol.session import Session, State

INTERVAL = 25.0
TIMEOUT = 20.0


def make(
    transport: str = "polling",
    *,
    now: float = 0.0,
    upgrades: tuple[str, ...] = ("websocket",),
    ping_interval: float = INTERVAL,
    ping_timeout: float = TIMEOUT,
    max_payload: int = 1_000_000,
) -> Session:
    return Session(
        "sid123",
        transport,
        now=now,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        upgrades=upgrades,
        max_payload=max_payload,
    )


def msg(data: str | bytes) -> Packet:
    return Packet(PacketType.MESSAGE, data)


def upgrading() -> Session:
    session = make()
    session.start_upgrade()
    return session


def upgraded() -> Session:
    session = upgrading()
    session.finish_upgrade()
    return session


def closed() -> Session:
    session = make()
    session.close("forced close")
    return session


# -- a new session ------------------------------------------------------------------------------


def test_new_session_state():
    session = make(now=3.0)
    assert session.sid == "sid123"
    assert session.transport == "polling"
    assert session.state is State.OPEN
    assert session.closed is False
    assert session.close_reason is None
    assert session.upgrades == ("websocket",)
    assert session.take_outbound() == []
    assert session.get_active is False
    assert session.post_active is False
    assert session.next_deadline() == 28.0


# -- the OPEN packet ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, data",
    [
        pytest.param(
            {},
            '{"sid":"sid123","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
            id="polling-defaults",
        ),
        pytest.param(
            {"transport": "websocket"},
            '{"sid":"sid123","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
            id="websocket-never-offers-upgrades",
        ),
        pytest.param(
            {"upgrades": ()},
            '{"sid":"sid123","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}',
            id="polling-without-upgrades",
        ),
        pytest.param(
            {"ping_interval": 0.5, "ping_timeout": 0.25, "max_payload": 100},
            '{"sid":"sid123","upgrades":["websocket"],"pingInterval":500,"pingTimeout":250,"maxPayload":100}',
            id="fractional-seconds",
        ),
        pytest.param(
            # 1.001 * 1000 == 1000.9999999999999: truncation would announce 1000
            {"ping_interval": 1.001, "ping_timeout": 0.057},
            '{"sid":"sid123","upgrades":["websocket"],"pingInterval":1001,"pingTimeout":57,"maxPayload":1000000}',
            id="milliseconds-rounded-not-truncated",
        ),
    ],
)
def test_open_packet(kwargs, data):
    packet = make(**kwargs).open_packet()
    assert packet.type is PacketType.OPEN
    assert packet.data == data
    assert encode(packet) == "0" + data
    fields = json.loads(packet.data)
    assert all(type(fields[key]) is int for key in ("pingInterval", "pingTimeout", "maxPayload"))


def test_open_packet_after_upgrade_offers_nothing():
    assert json.loads(upgraded().open_packet().data)["upgrades"] == []


# -- the protocol version -----------------------------------------------------------------------


def test_the_session_speaks_the_handshakes_protocol_version():
    assert make().protocol == 4
    session = Session("s", "websocket", now=0.0, ping_interval=1, ping_timeout=1, protocol=4)
    assert session.protocol == 4
    assert json.loads(session.open_packet().data)["maxPayload"] == 1_000_000


@pytest.mark.parametrize("version", [2, 5, 0])
def test_a_protocol_version_gsio_does_not_speak_is_refused(version):
    with pytest.raises(ProtocolError) as info:
        Session("s", "polling", now=0.0, ping_interval=1, ping_timeout=1, protocol=version)
    assert (info.value.code, info.value.message) == (5, "unsupported protocol version")


# -- heartbeat ----------------------------------------------------------------------------------


def test_no_ping_before_the_interval():
    session = make(now=100.0)
    assert session.next_deadline() == 125.0
    assert session.on_timer(100.0) is None
    assert session.on_timer(124.999) is None
    assert session.take_outbound() == []
    assert session.next_deadline() == 125.0


def test_ping_at_the_deadline_is_queued_once():
    session = make(now=100.0)
    assert session.on_timer(125.0) == "ping"
    assert session.next_deadline() == 145.0  # now the pong deadline
    assert session.on_timer(125.0) is None
    assert session.on_timer(130.0) is None
    assert session.on_timer(144.999) is None
    assert session.take_outbound() == [PING]
    assert session.state is State.OPEN


def test_late_timer_pings_and_times_the_pong_from_then():
    session = make(now=0.0)
    assert session.on_timer(40.0) == "ping"
    assert session.next_deadline() == 60.0
    assert session.take_outbound() == [PING]


def test_the_heartbeat_keeps_how_late_the_last_ping_was_and_how_long_its_pong_took():
    session = make(now=0.0)  # interval 25, timeout 20
    assert (session.ping_lateness, session.pong_wait) == (0.0, 0.0)
    assert session.on_timer(27.5) == "ping"  # due at 25
    assert session.ping_lateness == 2.5
    assert session.receive(PONG, 28.0) is None
    assert session.pong_wait == 0.5
    assert session.on_timer(53.0) == "ping"  # due at 53: on time
    assert session.ping_lateness == 0.0
    assert session.receive(PONG, 56.0) is None
    assert session.pong_wait == 3.0


def test_ping_goes_behind_queued_packets():
    session = make()
    session.send(msg("a"))
    assert session.on_timer(25.0) == "ping"
    session.send(msg("b"))
    assert session.take_outbound() == [msg("a"), PING, msg("b")]


def test_pong_clears_the_deadline_and_schedules_the_next_ping_from_pong_time():
    session = make(now=0.0)
    assert session.on_timer(25.0) == "ping"
    assert session.receive(PONG, 30.0) is None
    assert session.next_deadline() == 55.0  # pong time + interval, not ping time + interval
    assert session.on_timer(45.0) is None  # the old pong deadline has no effect any more
    assert session.on_timer(54.999) is None
    assert session.state is State.OPEN
    assert session.on_timer(55.0) == "ping"
    assert session.next_deadline() == 75.0
    assert session.take_outbound() == [PING, PING]


def test_no_pong_within_timeout_closes():
    session = make(now=0.0)
    assert session.on_timer(25.0) == "ping"
    assert session.on_timer(44.999) is None
    assert session.state is State.OPEN
    assert session.on_timer(45.0) == "timeout"
    assert session.state is State.CLOSED
    assert session.closed is True
    assert session.close_reason == "ping timeout"


def test_timer_does_nothing_once_closed():
    session = make(now=0.0)
    session.close("forced close")
    assert session.on_timer(25.0) is None
    assert session.on_timer(1000.0) is None
    assert session.take_outbound() == []
    assert session.close_reason == "forced close"


def test_timeout_after_timeout_reports_once():
    session = make(now=0.0)
    session.on_timer(25.0)
    assert session.on_timer(45.0) == "timeout"
    assert session.on_timer(46.0) is None
    assert session.close_reason == "ping timeout"


def test_pong_without_ping_is_harmless():
    session = make(now=0.0)
    assert session.receive(PONG, 10.0) is None
    assert session.next_deadline() == 25.0  # the schedule is unchanged
    assert session.state is State.OPEN
    assert session.take_outbound() == []
    assert session.on_timer(25.0) == "ping"


def test_second_pong_is_harmless():
    session = make(now=0.0)
    session.on_timer(25.0)
    session.receive(PONG, 26.0)
    assert session.receive(PONG, 27.0) is None
    assert session.next_deadline() == 51.0
    assert session.state is State.OPEN


@pytest.mark.parametrize(
    "packet",
    [
        pytest.param(msg("x"), id="text-message"),
        pytest.param(msg(b"\x00"), id="binary-message"),
        pytest.param(NOOP, id="noop"),
    ],
)
def test_other_traffic_does_not_replace_the_pong(packet):
    session = make(now=0.0)
    assert session.on_timer(25.0) == "ping"
    session.receive(packet, 30.0)
    session.receive(packet, 44.0)
    assert session.next_deadline() == 45.0
    assert session.on_timer(45.0) == "timeout"
    assert session.close_reason == "ping timeout"


def test_heartbeat_runs_while_upgrading():
    session = upgrading()
    assert session.on_timer(25.0) == "ping"
    assert session.take_outbound() == [PING]
    assert session.state is State.UPGRADING
    assert session.on_timer(45.0) == "timeout"
    assert session.state is State.CLOSED


# -- receive ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "packet, result",
    [
        pytest.param(msg("hello"), "hello", id="text"),
        pytest.param(msg(""), "", id="empty-text-is-a-message-not-None"),
        pytest.param(msg("héllo 😀"), "héllo 😀", id="non-ascii"),
        pytest.param(msg(b"\x01\x02"), b"\x01\x02", id="binary"),
        pytest.param(msg(b""), b"", id="empty-binary"),
        pytest.param(NOOP, None, id="noop"),
        pytest.param(PONG, None, id="pong"),
        # The reference ignores what means nothing from a client on an open session.
        pytest.param(Packet(PacketType.OPEN), None, id="open"),
        pytest.param(Packet(PacketType.OPEN, "{}"), None, id="open-with-data"),
        pytest.param(Packet(PacketType.UPGRADE), None, id="upgrade"),
    ],
)
def test_receive_keeps_the_session_open(packet, result):
    session = make()
    got = session.receive(packet, 1.0)
    assert got == result
    assert type(got) is type(result)
    assert session.state is State.OPEN
    assert session.close_reason is None
    assert session.take_outbound() == []


def test_receive_close():
    session = make()
    assert session.receive(CLOSE, 1.0) is None
    assert session.state is State.CLOSED
    assert session.close_reason == "transport close"
    assert session.take_outbound() == []


@pytest.mark.parametrize(
    "packet, reason",
    [
        pytest.param(PING, "transport error", id="ping"),
        pytest.param(Packet(PacketType.PING, "probe"), "transport error", id="ping-probe"),
    ],
)
def test_receive_protocol_violation(packet, reason):
    session = make()
    with pytest.raises(ProtocolError) as exc_info:
        session.receive(packet, 1.0)
    assert exc_info.value.reason == reason
    assert exc_info.value.status == 400
    # the session does not close itself: the caller closes it with the error's reason
    assert session.state is State.OPEN
    assert session.take_outbound() == []


# -- upgrade ------------------------------------------------------------------------------------


def test_start_upgrade_answers_the_probe():
    session = make()
    answer = session.start_upgrade()
    assert answer == Packet(PacketType.PONG, "probe")
    assert encode(answer) == "3probe"
    assert session.state is State.UPGRADING
    assert session.transport == "polling"
    assert session.upgrades == ("websocket",)
    assert session.take_outbound() == []  # the probe answer goes on the new WebSocket, not queued


def test_finish_upgrade_switches_to_websocket():
    session = upgrading()
    assert session.finish_upgrade() is None
    assert session.state is State.OPEN
    assert session.transport == "websocket"
    assert session.upgrades == ()


def test_abort_upgrade_returns_to_open_polling():
    session = upgrading()
    session.abort_upgrade()
    assert session.state is State.OPEN
    assert session.transport == "polling"
    assert session.upgrades == ("websocket",)
    # the client may probe again
    assert session.start_upgrade() == Packet(PacketType.PONG, "probe")
    assert session.state is State.UPGRADING


@pytest.mark.parametrize(
    "factory, state",
    [
        pytest.param(make, State.OPEN, id="open"),
        pytest.param(closed, State.CLOSED, id="closed"),
        pytest.param(upgraded, State.OPEN, id="upgraded"),
    ],
)
def test_abort_upgrade_outside_an_upgrade_changes_nothing(factory, state):
    session = factory()
    transport = session.transport
    session.abort_upgrade()
    assert session.state is state
    assert session.transport == transport


@pytest.mark.parametrize(
    "factory",
    [
        pytest.param(lambda: make("websocket"), id="websocket-session"),
        pytest.param(lambda: make(upgrades=()), id="polling-without-upgrades"),
        pytest.param(lambda: make(upgrades=("polling",)), id="polling-upgrades-without-websocket"),
        pytest.param(upgrading, id="already-upgrading"),
        pytest.param(upgraded, id="already-upgraded"),
        pytest.param(closed, id="closed"),
    ],
)
def test_start_upgrade_refused(factory):
    session = factory()
    state, transport = session.state, session.transport
    with pytest.raises(ProtocolError):
        session.start_upgrade()
    assert session.state is state
    assert session.transport == transport


@pytest.mark.parametrize(
    "factory",
    [
        pytest.param(make, id="without-start"),
        pytest.param(lambda: make("websocket"), id="websocket-session"),
        pytest.param(upgraded, id="twice"),
        pytest.param(closed, id="closed"),
    ],
)
def test_finish_upgrade_refused(factory):
    session = factory()
    state, transport = session.state, session.transport
    with pytest.raises(ProtocolError):
        session.finish_upgrade()
    assert session.state is state
    assert session.transport == transport


def test_close_while_upgrading_then_finish_raises():
    session = upgrading()
    session.close("transport close")
    assert session.state is State.CLOSED
    with pytest.raises(ProtocolError):
        session.finish_upgrade()
    assert session.state is State.CLOSED
    assert session.transport == "polling"


def test_nothing_queued_is_lost_or_reordered_across_the_upgrade():
    session = make()
    session.send(msg("a"))
    session.start_upgrade()
    session.send(msg("b"))
    session.finish_upgrade()
    session.send(msg(b"c"))
    assert session.take_outbound() == [msg("a"), msg("b"), msg(b"c")]


# -- close, send, outbound ----------------------------------------------------------------------


def test_close_is_idempotent_and_keeps_the_first_reason():
    session = make()
    assert session.close("forced close") is True
    assert session.state is State.CLOSED
    assert session.closed is True
    assert session.close_reason == "forced close"
    assert session.close("transport close") is False
    assert session.close("ping timeout") is False
    assert session.close_reason == "forced close"
    assert session.state is State.CLOSED


def test_client_close_after_close_keeps_the_first_reason():
    session = closed()
    session.receive(CLOSE, 1.0)
    assert session.close_reason == "forced close"


def test_send_after_close_queues_nothing():
    session = make()
    assert session.send(msg("before")) is True
    session.close("forced close")
    assert session.send(msg("after")) is False
    assert session.send(CLOSE) is False
    assert session.take_outbound() == [msg("before")]


def test_take_outbound_preserves_order_and_empties_the_queue():
    session = make()
    packets = [msg("1"), msg(b"2"), NOOP, msg("3"), CLOSE]
    for packet in packets:
        assert session.send(packet) is True
    taken = session.take_outbound()
    assert type(taken) is list
    assert taken == packets
    assert session.take_outbound() == []
    session.send(msg("4"))
    assert session.take_outbound() == [msg("4")]


# -- the outbound limit (max_outbound) ------------------------------------------------------------


def limited(max_outbound: int | None) -> Session:
    return Session(
        "sid", "polling", now=0.0, ping_interval=25, ping_timeout=20, max_outbound=max_outbound
    )


def test_queued_bytes_are_counted_and_taken_with_the_packets():
    session = limited(100)
    for packet in (msg("abc"), msg(b"\x00\x01"), msg("é"), NOOP):
        assert session.send(packet) is True
    # Each packet: its type, then its data (text in characters).
    assert session.outbound_bytes == 4 + 3 + 2 + 1
    assert session.buffered == 10
    session.take_outbound()
    assert session.outbound_bytes == 0
    assert session.buffered == 0


@pytest.mark.parametrize(
    ("limit", "sizes", "queued"),
    [
        (10, [5, 5, 1], 3),  # 10 waiting is not over 10: the third is queued
        (10, [5, 6, 1], 2),  # 11 waiting: over, refused
        (10, [30], 1),  # one message larger than the limit goes when nothing waits
        (10, [30, 1], 1),
        (0, [1], 1),
        (0, [1, 1], 1),
        (None, [100_000] * 50, 50),  # no limit
    ],
)
def test_a_message_is_refused_when_more_than_the_limit_waits(limit, sizes, queued):
    session = limited(limit)
    results = [session.send(msg("x" * (size - 1))) for size in sizes]
    assert results == [True] * queued + [False] * (len(sizes) - queued)
    assert len(session.outbound) == queued
    assert session.overflowed is (queued < len(sizes))
    assert session.state is State.OPEN  # until the caller ends it with overflow()


def test_what_the_transport_holds_counts_toward_the_limit():
    session = limited(10)
    session.transport_bytes = 11  # a writer holds what it took
    assert session.buffered == 11
    assert session.send(msg("a")) is False
    assert session.overflowed is True
    session.transport_bytes = 0  # written
    assert session.send(msg("a")) is True


def test_overflow_closes_once_and_drops_the_queue():
    session = limited(1)
    session.send(msg("abc"))
    session.transport_bytes = 7
    assert session.send(msg("d")) is False
    assert session.overflow() is True
    assert session.state is State.CLOSED
    assert session.close_reason == "transport error"
    assert session.take_outbound() == []
    assert session.buffered == 0
    assert session.overflow() is False  # once
    assert session.send(msg("e")) is False


def test_overflow_after_another_close_keeps_that_reason():
    session = limited(1)
    session.close("ping timeout")
    assert session.overflow() is False
    assert session.close_reason == "ping timeout"


# -- polling request bookkeeping ----------------------------------------------------------------


@pytest.mark.parametrize("begin", ["begin_get", "begin_post"])
def test_overlapping_polling_requests_raise(begin):
    session = make()
    getattr(session, begin)()
    with pytest.raises(ProtocolError) as exc_info:
        getattr(session, begin)()
    assert exc_info.value.reason == "transport error"
    assert exc_info.value.status == 400


def test_get_and_post_may_overlap_each_other():
    session = make()
    session.begin_get()
    session.begin_post()
    assert session.get_active is True
    assert session.post_active is True


def test_a_finished_request_may_be_followed_by_another():
    session = make()
    session.begin_get()
    session.get_active = False  # what the polling transport does when the GET ends
    session.begin_get()
    session.begin_post()
    session.post_active = False
    session.begin_post()
    assert session.get_active is True
    assert session.post_active is True
