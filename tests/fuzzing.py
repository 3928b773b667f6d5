"""Hypothesis settings and shared strategies for the fuzz tests (``tests/protocol/test_fuzz_*.py``).

By default each property runs a bounded number of examples, so that every fuzz file takes a few
seconds in CI. ``GSIO_FUZZ_EXAMPLES=100000 python -m pytest tests/protocol/test_fuzz_*.py`` runs that
many examples per property instead (the "gsio-long" profile): a long run, by hand or nightly.
No example database is written: a failure prints the falsifying example and a
``@reproduce_failure`` blob to replay it.
"""

from __future__ import annotations

import json
import os

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

EXAMPLES = int(os.environ.get("GSIO_FUZZ_EXAMPLES") or 0)

_COMMON = {
    "deadline": None,  # a loaded CI machine must not fail a property on time
    "database": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
settings.register_profile("gsio-ci", max_examples=150, **_COMMON)
settings.register_profile("gsio-long", max_examples=max(EXAMPLES, 1), **_COMMON)
settings.load_profile("gsio-long" if EXAMPLES else "gsio-ci")


def split_points(length: int) -> st.SearchStrategy[list[int]]:
    """Sorted cut points in ``range(length + 1)``: where to split a feed into chunks."""
    return st.lists(st.integers(0, length), max_size=8).map(sorted)


def chunks(data: bytes | str, cuts: list[int]) -> list:
    """``data`` cut at ``cuts`` (empty chunks included: a feed may be empty)."""
    bounds = [0, *cuts, len(data)]
    return [data[a:b] for a, b in zip(bounds, bounds[1:])]


# -- JSON text, valid and not quite: what a peer could put in a packet ----------------------------

NUMBER_TEXT = st.one_of(
    st.integers(-(10**20), 10**20).map(str),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    # Exponents past the double range (1e400), and long mantissas.
    st.from_regex(r"-?(0|[1-9][0-9]{0,30})(\.[0-9]{1,20})?([eE][+-]?[0-9]{1,4})?", fullmatch=True),
    st.sampled_from(["NaN", "Infinity", "-Infinity", "-0", "1e400", "-1E309", "1e-400"]),
)
STRING_TEXT = st.one_of(
    st.text(max_size=12).map(lambda s: json.dumps(s, ensure_ascii=False)),
    st.text(max_size=12).map(json.dumps),
    st.sampled_from(['"\\ud800"', '"\\udc00x"', '"a\\u0000"', '"\\x"', '"unterminated']),
)
PLACEHOLDER_TEXT = st.sampled_from(
    ["0", "1", "2", "-1", "0.0", '"0"', "true", "null", "1e400"]
).map(lambda num: f'{{"_placeholder":true,"num":{num}}}')
SCALAR_TEXT = st.one_of(
    st.sampled_from(["null", "true", "false"]), NUMBER_TEXT, STRING_TEXT, PLACEHOLDER_TEXT
)


def _containers(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    arrays = st.lists(children, max_size=5).map(lambda items: "[" + ",".join(items) + "]")
    objects = st.lists(st.tuples(STRING_TEXT, children), max_size=4).map(
        lambda pairs: "{" + ",".join(f"{key}:{value}" for key, value in pairs) + "}"
    )
    return arrays | objects


JSON_TEXT = st.recursive(SCALAR_TEXT, _containers, max_leaves=12)
EVENT_NAME_TEXT = st.one_of(
    st.sampled_from(['"message"', '"chat"', '"connect"', '"disconnect"', '"x"']), STRING_TEXT
)
#: An array as events carry: an event name (mostly), then arguments.
EVENT_ARRAY_TEXT = st.tuples(EVENT_NAME_TEXT, st.lists(JSON_TEXT, max_size=4)).map(
    lambda parts: "[" + ",".join([parts[0], *parts[1]]) + "]"
)


def mutated(text: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``text``, sometimes with a character dropped, replaced or inserted."""

    @st.composite
    def mutate(draw: st.DrawFn) -> str:
        s = draw(text)
        if not draw(st.booleans()):
            return s
        i = draw(st.integers(0, len(s)))
        op = draw(st.sampled_from(["drop", "replace", "insert"]))
        ch = draw(st.sampled_from(list('[]{}",:-/0123456789 \x1eb\\')) | st.characters())
        if op == "drop":
            return s[:i] + s[i + 1 :]
        if op == "replace":
            return s[:i] + ch + s[i + 1 :]
        return s[:i] + ch + s[i:]

    return mutate()
