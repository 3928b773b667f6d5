"""The pure parts of connection state recovery (gsio/server/recovery.py): the packet log, the
session store, the options. The clock is a list the test moves."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gsio.server.recipients import Recipients
from gsio.server.recovery import PacketLog, RecoveryOptions, SessionState, SessionStore, reaches

ALL = Recipients()


def clock_at(now):
    return lambda: now[0]


def test_offsets_are_appended_and_unique():
    log = PacketLog(60, 100, lambda: 0.0)
    sent = [log.append(["e", i], ALL) for i in range(50)]
    assert [s[:2] for s in sent] == [["e", i] for i in range(50)]
    assert len({s[-1] for s in sent}) == 50 and all(isinstance(s[-1], str) for s in sent)


def test_after_gives_what_reaches_the_rooms_in_order():
    log = PacketLog(60, 100, lambda: 0.0)
    first = log.append(["start"], ALL)[-1]
    log.append(["lobby"], Recipients(frozenset({"lobby"})))
    log.append(["other"], Recipients(frozenset({"other"})))
    log.append(["not-muted"], Recipients(except_rooms=frozenset({"muted"})))
    log.append(["to-me"], Recipients(frozenset({"me"})))
    missed = log.after(first, ["me", "lobby"])
    assert [m[0] for m in missed] == ["lobby", "not-muted", "to-me"]
    assert [m[0] for m in log.after(first, ["me", "muted"])] == ["to-me"]
    assert log.after("unknown", ["me"]) is None


def test_trimmed_by_count_and_age():
    now = [0.0]
    log = PacketLog(10, 3, clock_at(now))
    offsets = [log.append([i], ALL)[-1] for i in range(5)]
    assert len(log) == 3
    assert log.after(offsets[1], ["x"]) is None  # trimmed: never a partial replay
    assert [m[0] for m in log.after(offsets[2], ["x"])] == [3, 4]
    now[0] = 10.5
    assert not log.holds(offsets[4])
    assert log.after(offsets[4], ["x"]) is None


def test_given_offsets_are_kept():
    log = PacketLog(60, 10, lambda: 0.0)
    assert log.append(["a"], ALL, offset="1-0")[-1] == "1-0"
    log.append(["b"], ALL, offset="1-1")
    assert log.after("1-0", ["x"]) == [["b", "1-1"]]


def test_sessions_are_taken_once_and_expire():
    now = [0.0]
    store = SessionStore(5, clock_at(now))
    store.put(SessionState("sid", "pid", ["sid"], {"k": 1}))
    store.put(SessionState("sid2", "pid2", ["sid2"], None))
    assert store.take("pid").data == {"k": 1}
    assert store.take("pid") is None
    now[0] = 5.5
    assert store.take("pid2") is None and len(store) == 0


def test_session_from_dict_checks_its_fields():
    good = {"sid": "s", "pid": "p", "rooms": ["s", "r"], "data": {"a": 1}}
    assert SessionState.from_dict(good) == SessionState("s", "p", ["s", "r"], {"a": 1})
    assert SessionState.from_dict(good).as_dict() == good
    for bad in (None, [], {"sid": 1, "pid": "p", "rooms": []}, {**good, "rooms": [1]}):
        assert SessionState.from_dict(bad) is None


def test_options():
    assert RecoveryOptions.of(None) is None and RecoveryOptions.of(False) is None
    assert RecoveryOptions.of(True) == RecoveryOptions(120.0, True, 10_000)
    assert RecoveryOptions.of({"max_disconnection_duration": 5}).max_disconnection_duration == 5
    with pytest.raises(TypeError):
        RecoveryOptions.of({"maxDisconnectionDuration": 5})
    with pytest.raises(ValueError):
        RecoveryOptions.of({"max_packets": 0})


rooms = st.frozensets(st.sampled_from("abcde"), max_size=3)


@given(st.lists(st.tuples(rooms, rooms), max_size=30), rooms, st.integers(1, 40))
def test_after_is_what_reaches_after_the_offset(packets, session_rooms, cap):
    """Against a plain model: every packet after the offset that reaches the rooms, or None
    when the offset was trimmed away."""
    log = PacketLog(60, cap, lambda: 0.0)
    sent = [log.append([i], Recipients(to, ex)) for i, (to, ex) in enumerate(packets)]
    for i, data in enumerate(sent):
        got = log.after(data[-1], session_rooms)
        if i < len(sent) - cap:
            assert got is None
            continue
        expected = [
            sent[j]
            for j in range(i + 1, len(sent))
            if reaches(session_rooms, Recipients(*packets[j]))
        ]
        assert got == expected


def test_since_a_position():
    log = PacketLog(60, 3, lambda: 0.0)
    start = log.position()
    assert log.since(start, ["x"]) == []
    log.append(["a"], ALL)
    middle = log.position()
    log.append(["b"], Recipients(frozenset({"y"})))
    log.append(["c"], ALL)
    assert [m[0] for m in log.since(start, ["x"])] == ["a", "c"]
    assert [m[0] for m in log.since(middle, ["y"])] == ["b", "c"]
    log.append(["d"], ALL)  # trims "a": a replay from the start is no longer complete
    assert log.since(start, ["x"]) is None
    assert [m[0] for m in log.since(middle, ["x"])] == ["c", "d"]
