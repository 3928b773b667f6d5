"""The frames of the in-host bus (:mod:`gsio.cluster.hostlink`), and Redis' channel patterns.

Pure: no I/O. Between two workers of one host, over a Unix stream socket, each frame is a
header ``!BHI`` (its kind, the length of its channel, the length of its data), the channel
(UTF-8) and the data:

- ``HELLO``: the first frame of a connection, from the side that connected; the channel is its
  tag (the name of its ``<tag>.bus`` socket).
- ``PUBLISH``: a publication, from the side that connected: its channel and its bytes.
- ``SUBS``: from the side that accepted, once at first and then after each change: every
  channel and pattern it subscribes to (JSON ``{"channels": [...], "patterns": [...]}``), so
  that the publisher can count the servers of a channel (``PUBSUB NUMSUB``).
"""

from __future__ import annotations

import json
import re
import struct
from typing import Callable

from gsio.exceptions import ProtocolError

__all__ = ["HELLO", "PUBLISH", "SUBS", "FrameReader", "encode", "encode_subs", "glob_matcher"]

HELLO = 1
PUBLISH = 2
SUBS = 3

_HEAD = struct.Struct("!BHI")
_KINDS = (HELLO, PUBLISH, SUBS)
#: The largest frame's data: a broadcast that big is a bug, not a message.
MAX_DATA = 1 << 30

Frame = tuple[int, str, bytes]


def encode(kind: int, channel: str, data: bytes = b"") -> bytes:
    """One frame."""
    name = channel.encode("utf-8")
    return _HEAD.pack(kind, len(name), len(data)) + name + data


def encode_subs(channels: list[str], patterns: list[str]) -> bytes:
    """A ``SUBS`` frame for these subscriptions."""
    body = json.dumps({"channels": channels, "patterns": patterns}).encode()
    return encode(SUBS, "", body)


def decode_subs(data: bytes) -> tuple[set[str], set[str]]:
    """The channels and patterns of a ``SUBS`` frame's data."""
    try:
        value = json.loads(data)
        channels, patterns = value["channels"], value["patterns"]
    except (ValueError, TypeError, KeyError) as exc:
        raise ProtocolError(f"a bad subscription frame: {exc}") from None
    if not all(isinstance(c, str) for c in [*channels, *patterns]):
        raise ProtocolError("a bad subscription frame: names are not strings")
    return set(channels), set(patterns)


class FrameReader:
    """Frames out of a byte stream, fed as it comes."""

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> list[Frame]:
        """The frames completed by ``data``; raises :class:`~gsio.ProtocolError` on a frame
        that cannot be one of ours."""
        buffer = self._buffer
        buffer += data
        frames: list[Frame] = []
        at = 0
        size = len(buffer)
        while size - at >= _HEAD.size:
            kind, name_length, data_length = _HEAD.unpack_from(buffer, at)
            if kind not in _KINDS or data_length > MAX_DATA:
                raise ProtocolError(f"not a host bus frame (kind {kind}, {data_length} bytes)")
            start = at + _HEAD.size
            end = start + name_length + data_length
            if end > size:
                break
            try:
                channel = buffer[start : start + name_length].decode("utf-8")
            except UnicodeDecodeError:
                raise ProtocolError("a host bus channel is not UTF-8") from None
            frames.append((kind, channel, bytes(buffer[start + name_length : end])))
            at = end
        if at:
            del buffer[:at]
        return frames


def glob_matcher(pattern: str) -> Callable[[str], bool]:
    """Whether a channel matches ``pattern``, as Redis' ``PSUBSCRIBE`` matches it (``*``,
    ``?``, ``[abc]``, ``[^a]``, ``[a-z]``, ``\\`` escaping the next character)."""
    if pattern.endswith("*") and not any(c in pattern[:-1] for c in "*?[\\"):
        prefix = pattern[:-1]  # the adapters' broadcast patterns: a prefix test
        return lambda channel: channel.startswith(prefix)
    return re.compile(_translate(pattern), re.DOTALL).fullmatch  # type: ignore[return-value]


def _translate(pattern: str) -> str:
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        c = pattern[i]
        i += 1
        if c == "*":
            out.append(".*")
        elif c == "?":
            out.append(".")
        elif c == "\\" and i < n:
            out.append(re.escape(pattern[i]))
            i += 1
        elif c == "[":
            end = pattern.find("]", i + 1 if pattern[i : i + 1] == "^" else i)
            if end < 0:
                out.append(re.escape(c))
                continue
            body = pattern[i:end]
            i = end + 1
            negate = body.startswith("^")
            if negate:
                body = body[1:]
            body = body.replace("\\", "\\\\").replace("[", "\\[")
            out.append(f"[{'^' if negate else ''}{body}]" if body else "(?!)")
        else:
            out.append(re.escape(c))
    return "".join(out)
