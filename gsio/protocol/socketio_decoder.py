"""Socket.IO v5 packets decoded: one :class:`Decoder` per connection turns its Engine.IO
messages back into :class:`~gsio.protocol.socketio_packet.Packet` values, binary attachments
included, raising :class:`~gsio.exceptions.ProtocolError` and nothing else for malformed input.
The common message, an EVENT on the main namespace, has a short path (:meth:`Decoder.feed_event`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from gsio.exceptions import ProtocolError
from gsio.protocol.socketio_packet import RESERVED_EVENTS, Packet, PacketType

__all__ = ["Decoder"]

_CONNECT, _DISCONNECT, _EVENT, _ACK, _CONNECT_ERROR, _BINARY_EVENT, _BINARY_ACK = PacketType
_TYPE_OF = {str(int(t)): t for t in PacketType}
_WITH_ID = frozenset({_EVENT, _ACK, _BINARY_EVENT, _BINARY_ACK})
# 15 decimal digits always fit a JavaScript number exactly (2**53 has 16).
_MAX_ID_DIGITS = 15
_ABSENT: Any = object()  # "no JSON at all", which differs from JSON null
_JSON_SPACE = " \t\n\r"


def _reject_constant(name: str) -> Any:
    # NaN and Infinity are not JSON: JSON.parse refuses them, and echoing one back would send
    # the client something it cannot parse.
    raise ValueError(f"{name} is not JSON")


def _finite_float(text: str) -> float:
    # A number past the double range (1e400) parses as inf: refuse it as NaN and Infinity are,
    # or it would go back out as "Infinity", which is not JSON either.
    value = float(text)
    if math.isinf(value):
        raise ValueError(f"{text} overflows a double")
    return value


_raw_decode = json.JSONDecoder(
    parse_constant=_reject_constant, parse_float=_finite_float
).raw_decode


def _digits_end(s: str, i: int, limit: int) -> int:
    """The end of the ASCII digit run at ``s[i:]``, looking at ``limit + 1`` characters at most."""
    head = s[i : i + limit + 1]
    return i + len(head) - len(head.lstrip("0123456789"))  # not isdigit(): it takes "٣" too


class Decoder:
    """Turns one connection's Engine.IO messages back into packets.

    :param max_attachments: the most attachments one binary packet may announce.
    :param max_namespace_length: the longest namespace accepted, in characters.
    :param loads: the JSON decoder. By default, the standard library's, made strict as
        ``JSON.parse``: ``NaN``, ``Infinity`` and numbers past the double range (``1e400``,
        which would come back out as ``Infinity``) are refused.

    Anything malformed raises :class:`~gsio.exceptions.ProtocolError` (reason "parse error")
    and resets the decoder, which then accepts a fresh packet.
    """

    __slots__ = (
        "_blobs",
        "_count",
        "_loads",
        "_waiting",
        "max_attachments",
        "max_namespace_length",
    )

    def __init__(
        self,
        *,
        max_attachments: int = 10,
        max_namespace_length: int = 256,
        loads: Callable[[str], Any] = json.loads,
    ) -> None:
        self.max_attachments = max_attachments
        self.max_namespace_length = max_namespace_length
        self._loads = None if loads is json.loads else loads
        self._waiting: Packet | None = None  # the binary packet whose attachments are due
        self._count = 0
        self._blobs: list[bytes] = []

    @property
    def pending(self) -> bool:
        """Whether a binary packet is waiting for its attachments."""
        return self._waiting is not None

    def feed(self, data: str | bytes) -> Packet | None:
        """Decode one Engine.IO message: text after the ``4`` prefix, or a binary message.

        Returns the complete packet, or ``None`` while a binary packet waits for attachments
        (which are ``bytes`` in the returned packet's data). Raises ``ProtocolError``.
        """
        try:
            if isinstance(data, str):
                if self._waiting is not None:
                    raise ProtocolError("text packet while attachments are pending")
                return self._decode(data)
            if isinstance(data, (bytes, bytearray, memoryview)):
                return self._attach(bytes(data))
        except ProtocolError:
            self._reset()
            raise
        raise TypeError(f"feed() takes str or bytes, not {type(data).__name__}")

    def feed_event(self, data: str) -> tuple[list[Any], int | None] | None:
        """The common message made short: an EVENT on the main namespace (``2[<id>][...]``),
        as ``(data, ack id)`` without a :class:`Packet`. None for anything else, which
        :meth:`feed` then decodes (or refuses)."""
        if self._waiting is not None or self._loads is not None:
            return None
        return _event_fields(data)

    def _reset(self) -> None:
        self._waiting = None
        self._count = 0
        self._blobs = []

    def _decode(self, s: str) -> Packet | None:
        if s[:1] == "2" and self._loads is None:
            packet = _decode_event(s)
            if packet is not None:
                return packet
        t = _TYPE_OF.get(s[:1])
        if t is None:
            raise ProtocolError("unknown packet type")
        i = 1
        count = 0
        if t >= _BINARY_EVENT:
            i = _digits_end(s, 1, _MAX_ID_DIGITS)
            if i == 1 or s[i : i + 1] != "-":
                raise ProtocolError("invalid attachment count")
            count = int(s[1:i])
            if count == 0:
                # As socket.io-parser: a binary packet announces one attachment at least.
                raise ProtocolError("illegal attachments")
            if count > self.max_attachments:
                raise ProtocolError("too many attachments")
            i += 1
        namespace = "/"
        if s[i : i + 1] == "/":
            limit = self.max_namespace_length
            j = s.find(",", i, i + limit + 1)
            if j < 0:
                if len(s) - i > limit:
                    raise ProtocolError("namespace too long")
                j = len(s)
            namespace = s[i:j]
            i = j + 1
        ack_id = None
        if i < len(s) and "0" <= s[i] <= "9":
            if t not in _WITH_ID:
                raise ProtocolError("ack id not allowed in this packet type")
            j = _digits_end(s, i, _MAX_ID_DIGITS)
            if j - i > _MAX_ID_DIGITS:
                raise ProtocolError("ack id too huge")
            ack_id = int(s[i:j])
            i = j
        elif t == _ACK or t == _BINARY_ACK:
            raise ProtocolError("ack without an id")
        data = self._json(s, i) if i < len(s) else _ABSENT
        if not _valid(t, data):
            raise ProtocolError(f"invalid payload for {t.name}")
        if data is _ABSENT:
            data = None
        packet = Packet(t, namespace, data, ack_id)
        if t < _BINARY_EVENT:
            return packet
        self._waiting = packet
        self._count = count
        return None

    def _json(self, s: str, i: int) -> Any:
        try:
            if self._loads is not None:
                return self._loads(s[i:])
            # What json.loads(s[i:]) does, without the copy and the per-call layers that cost
            # more than parsing a small event does.
            if s[i] in _JSON_SPACE:
                i = len(s) - len(s[i:].lstrip(_JSON_SPACE))
            data, end = _raw_decode(s, i)
        except (ValueError, TypeError, RecursionError):  # JSONDecodeError, UnicodeError
            raise ProtocolError("invalid JSON") from None
        if end != len(s) and s[end:].strip(_JSON_SPACE):
            raise ProtocolError("invalid JSON")
        return data

    def _attach(self, blob: bytes) -> Packet | None:
        packet = self._waiting
        if packet is None:
            raise ProtocolError("binary message while no attachment is pending")
        blobs = self._blobs
        blobs.append(blob)
        if len(blobs) < self._count:
            return None
        self._reset()
        _reconstruct(packet.data, blobs)
        return packet


def _decode_event(s: str) -> Packet | None:
    """The common case made short: an EVENT on the main namespace, ``2[<id>][...]``, with no
    space around its JSON array. None for anything else (the general decoder then decides)."""
    fields = _event_fields(s)
    return None if fields is None else Packet(_EVENT, "/", fields[0], fields[1])


def _event_fields(s: str) -> tuple[list[Any], int | None] | None:
    """:func:`_decode_event`'s data and ack id, without the packet."""
    if s[:1] != "2":
        return None
    i = s.find("[", 1, _MAX_ID_DIGITS + 2)
    if i < 0 or s[-1:] != "]":
        return None
    ack_id = None
    if i > 1:
        digits = s[1:i]
        if not (digits.isascii() and digits.isdigit()):
            return None
        ack_id = int(digits)
    try:
        data, end = _raw_decode(s, i)
    except (ValueError, RecursionError):
        return None
    if end != len(s) or not data or type(data[0]) is not str or data[0] in RESERVED_EVENTS:
        return None
    return data, ack_id


def _valid(t: PacketType, data: Any) -> bool:
    if t == _EVENT or t == _BINARY_EVENT:
        # Node also takes a number as the event name; the protocol says names are strings.
        return (
            isinstance(data, list)
            and len(data) > 0
            and isinstance(data[0], str)
            and data[0] not in RESERVED_EVENTS
        )
    if t == _ACK or t == _BINARY_ACK:
        return isinstance(data, list)
    if t == _CONNECT:
        return data is _ABSENT or isinstance(data, dict)
    if t == _DISCONNECT:
        return data is _ABSENT
    return isinstance(data, (dict, str))  # CONNECT_ERROR


def _reconstruct(data: list[Any], blobs: list[bytes]) -> None:
    """Replace, in place, every placeholder in ``data`` by its attachment."""
    count = len(blobs)
    stack: list[Any] = [data]  # an explicit stack: nesting depth costs no recursion
    while stack:
        node = stack.pop()
        for key, value in node.items() if isinstance(node, dict) else enumerate(node):
            if isinstance(value, dict):
                if value.get("_placeholder") is True:
                    num = value.get("num")
                    if type(num) is not int or not 0 <= num < count:
                        raise ProtocolError("invalid attachment placeholder")
                    node[key] = blobs[num]
                else:
                    stack.append(value)
            elif isinstance(value, list):
                stack.append(value)
