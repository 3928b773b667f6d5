"""The messages that carry a request to the server owning its session, and the answer back,
over a bus between servers (Redis pub/sub): pure, no I/O.

Several gsio servers behind a load balancer without affinity share one Redis; a request may
reach one that does not own its session. That server (the *relay*) forwards it to the owner
(:mod:`gsio.engine.forward`), which serves it as its own and sends the answer back:

- a long-polling GET or POST: ``REQUEST`` → ``RESPONSE`` (a GET that must wait first says
  ``WAITING``, so that the relay waits as long as a long poll; ``ABANDON`` when its client left);
- a WebSocket upgrade: ``WS_OPEN`` → ``WS_ACCEPT``, then the client's messages (``WS_DATA``)
  one way and ready-made frames (``WS_FRAMES``) the other, until the client's connection
  closes (``WS_CLOSE``, to the owner) or the owner closes it (``WS_END``, with its close code);
- a server that got a request for a session it does not have says ``UNKNOWN``.

A message is a fixed head (``!3sBBBQHH``: ``b"GSR"``, the version, the kind, a flag, the
exchange's number, a status, a close code), four UTF-8 strings each after its 16-bit length
(the sender, the session id, the method, the query string), a 16-bit count of headers, each a
name and a value as the strings, then the body: the rest of the message.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from enum import IntEnum

from gsio.exceptions import ProtocolError

__all__ = ["Kind", "RelayMessage", "MAX_HEADERS", "MAX_TEXT"]

_MAGIC = b"GSR"
_VERSION = 1
_HEAD = struct.Struct("!3sBBBQHH")
_LEN = struct.Struct("!H")
#: The most headers one request carries (the relay forwards the few the engine reads).
MAX_HEADERS = 32
#: The longest string field, in bytes (a query string, a header value).
MAX_TEXT = 8192


class Kind(IntEnum):
    REQUEST = 1
    RESPONSE = 2
    WAITING = 3
    UNKNOWN = 4
    ABANDON = 5
    WS_OPEN = 6
    WS_ACCEPT = 7
    WS_DATA = 8
    WS_FRAMES = 9
    WS_CLOSE = 10
    WS_END = 11


@dataclass(frozen=True)
class RelayMessage:
    """One message between a relay and an owner. ``id`` numbers the exchange at the relay
    (the sender of its first message); ``sender`` is the node that sent this one (where the
    answer goes). ``text`` marks a ``WS_DATA`` message as text; ``code`` is a ``WS_END``'s
    close code (0: drop the connection without one)."""

    __slots__ = (
        *("kind", "sender", "id", "sid", "method", "query"),
        *("status", "headers", "body", "text", "code"),
    )

    kind: Kind
    sender: str
    id: int
    sid: str
    method: str
    query: str
    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    text: bool
    code: int

    @classmethod
    def make(
        cls,
        kind: Kind,
        sender: str,
        id: int,
        *,
        sid: str = "",
        method: str = "",
        query: str = "",
        status: int = 0,
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes = b"",
        text: bool = False,
        code: int = 0,
    ) -> RelayMessage:
        return cls(kind, sender, id, sid, method, query, status, headers, body, text, code)

    def serialize(self) -> bytes:
        """The message's bytes; raises :class:`ProtocolError` for a field out of range."""
        if len(self.headers) > MAX_HEADERS:
            raise ProtocolError("too many headers to relay")
        if not (0 <= self.id < 1 << 64 and 0 <= self.status < 1 << 16 and 0 <= self.code < 1 << 16):
            raise ProtocolError("relay message field out of range")
        out = [_HEAD.pack(_MAGIC, _VERSION, self.kind, self.text, self.id, self.status, self.code)]
        for text in (self.sender, self.sid, self.method, self.query):
            _put(out, text)
        out.append(_LEN.pack(len(self.headers)))
        for name, value in self.headers:
            _put(out, name)
            _put(out, value)
        out.append(self.body)
        return b"".join(out)

    @classmethod
    def parse(cls, data: bytes) -> RelayMessage:
        """The message in ``data``; raises :class:`ProtocolError` for anything malformed."""
        if len(data) < _HEAD.size:
            raise ProtocolError("relay message too short")
        magic, version, kind, flag, id, status, code = _HEAD.unpack_from(data)
        if magic != _MAGIC or version != _VERSION:
            raise ProtocolError("not a relay message of this version")
        try:
            kind = Kind(kind)
        except ValueError:
            raise ProtocolError(f"unknown relay message kind {kind}") from None
        if flag > 1:
            raise ProtocolError("invalid relay message flag")
        at = _HEAD.size
        strings = []
        for _ in range(4):
            text, at = _take(data, at)
            strings.append(text)
        count, at = _count(data, at)
        if count > MAX_HEADERS:
            raise ProtocolError("too many headers in a relay message")
        headers = []
        for _ in range(count):
            name, at = _take(data, at)
            value, at = _take(data, at)
            headers.append((name, value))
        sender, sid, method, query = strings
        if not sender:
            raise ProtocolError("relay message without a sender")
        return cls(
            kind,
            sender,
            id,
            sid,
            method,
            query,
            status,
            tuple(headers),
            data[at:],
            bool(flag),
            code,
        )


def _put(out: list[bytes], text: str) -> None:
    try:
        raw = text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise ProtocolError("relay message field not encodable") from None
    if len(raw) > MAX_TEXT:
        raise ProtocolError("relay message field too long")
    out.append(_LEN.pack(len(raw)))
    out.append(raw)


def _count(data: bytes, at: int) -> tuple[int, int]:
    if at + _LEN.size > len(data):
        raise ProtocolError("relay message cut short")
    return _LEN.unpack_from(data, at)[0], at + _LEN.size


def _take(data: bytes, at: int) -> tuple[str, int]:
    size, at = _count(data, at)
    if size > MAX_TEXT or at + size > len(data):
        raise ProtocolError("relay message cut short")
    # Any bytes decode (surrogateescape), as a WSGI server's latin-1 strings round-trip.
    return data[at : at + size].decode("utf-8", "surrogateescape"), at + size
