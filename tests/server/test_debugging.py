"""The debug output's observers (gsio.server.debugging): added only when their logger is
enabled for DEBUG as the server is made, and a preview of a packet's arguments that is short
and never raises, whatever the arguments."""

from __future__ import annotations

import logging

import pytest

import gsio
from gsio.server.debugging import PREVIEW_LIMIT, preview

_LOGGERS = ("gsio.engine", "gsio.socket", "gsio.adapter", "gsio.packet")


@pytest.fixture
def quiet_loggers():
    """The debug observers' loggers at INFO during the test (a DEBUG environment aside)."""
    loggers = [logging.getLogger(name) for name in _LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.INFO)
    yield loggers
    for logger, level in zip(loggers, levels):
        logger.setLevel(level)


def test_no_observer_unless_debug_is_asked_for(quiet_loggers):
    sio = gsio.Server()
    assert not sio.observers and len(sio.observers) == 0


def test_a_logger_set_to_debug_adds_its_observer_only(quiet_loggers):
    logging.getLogger("gsio.packet").setLevel(logging.DEBUG)
    sio = gsio.Server()
    assert [type(o).__name__ for o in sio.observers.observers] == ["PacketDebug"]
    logging.getLogger("gsio.packet").setLevel(logging.INFO)
    assert not gsio.Server().observers


class _BadRepr:
    def __repr__(self):
        raise RuntimeError("no repr")


class _BadDict(dict):
    def items(self):
        raise RuntimeError("changed size during iteration")


@pytest.mark.parametrize(
    "value, text",
    [
        (["chat", "hi", 1, 2.5, True, None], '["chat", "hi", 1, 2.5, true, null]'),
        ({"a": [1, {"b": "c"}], 3: "x"}, '{"a": [1, {"b": "c"}], "3": "x"}'),
        (
            [b"\x01\x02", bytearray(3), memoryview(b"abcd")],
            "[<binary 2 bytes>, <binary 3 bytes>, <binary 4 bytes>]",
        ),
        (["é ✓"], '["é ✓"]'),
        (["\ud800"], '["\\ud800"]'),
        ([float("nan")], "[nan]"),
        ([object], "[<class 'object'>]"),
        ([_BadRepr()], "[<_BadRepr>]"),
        (["ok", _BadDict(a=1)], '["ok", {<unprintable>'),
        ([10**5000], "[<int of 16610 bits>]"),
    ],
)
def test_preview(value, text):
    assert preview(value) == text


def test_preview_cuts_at_the_limit():
    assert preview(["x" * 1000]) == '["' + "x" * (PREVIEW_LIMIT - 2) + "…"
    assert preview(list(range(1000)), limit=10) == "[0, 1, 2, …"
    assert len(preview({"k" * 500: "v"})) == PREVIEW_LIMIT + 1


class _Counted(list):
    """A list that counts the items read from it."""

    read = 0

    def __iter__(self):
        for item in super().__iter__():
            _Counted.read += 1
            yield item


def test_preview_of_huge_and_deep_values_reads_no_more_than_it_shows():
    many = _Counted(range(1_000_000))
    deep: list = []
    node = deep
    for _ in range(100_000):  # past the recursion limit
        node.append([])
        node = node[0]
    itself: list = [1]
    itself.append(itself)
    texts = [preview(v) for v in ("x" * 10_000_000, many, deep, itself)]
    assert _Counted.read < PREVIEW_LIMIT
    assert all(len(t) <= PREVIEW_LIMIT + 1 for t in texts)
    assert texts[2] == "[[[[[[[[[…]]]]]]]]]"
    assert texts[3] == "[1, [1, [1, [1, [1, [1, [1, [1, […]]]]]]]]]"
