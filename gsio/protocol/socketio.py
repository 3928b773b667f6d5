"""Socket.IO v5 packets: a pure codec (no I/O, no clock).

A packet travels as ``<type>[<n>-][<nsp>,][<ack id>][<JSON>]`` inside an Engine.IO message;
a packet carrying binary is followed by ``n`` binary messages, its attachments, which replace the
``{"_placeholder":true,"num":i}`` objects of its JSON. :func:`encode` turns a :class:`Packet` into
those messages and a :class:`Decoder` (one per connection) turns them back, raising
:class:`~gsio.exceptions.ProtocolError` and nothing else for malformed input.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable
from typing import Any

from gsio.exceptions import ProtocolError

__all__ = [
    "RESERVED_EVENTS",
    "Decoder",
    "Packet",
    "PacketType",
    "dumps",
    "encode",
    "encode_fields",
]


class PacketType(enum.IntEnum):
    """The packet types of Socket.IO protocol v5."""

    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


#: Event names with a meaning of their own: a peer may not emit them.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)

_CONNECT, _DISCONNECT, _EVENT, _ACK, _CONNECT_ERROR, _BINARY_EVENT, _BINARY_ACK = PacketType
# str() of an IntEnum member is "PacketType.EVENT" before Python 3.11, so spell the digits out.
_DIGIT = {t: str(int(t)) for t in PacketType}
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


class Packet:
    """One Socket.IO packet, an immutable value.

    :param type: the :class:`PacketType`.
    :param namespace: the namespace, ``"/"`` by default.
    :param data: CONNECT: the auth ``dict`` or ``None``; DISCONNECT: ``None``;
        EVENT/BINARY_EVENT: ``[name, *args]``; ACK/BINARY_ACK: the list of args;
        CONNECT_ERROR: a ``dict`` (``{"message": ..., "data": ...}``) or a ``str``.
    :param id: the ack id: an EVENT asking for an acknowledgement, or the ACK answering it.
    """

    __slots__ = ("data", "id", "namespace", "type")

    type: PacketType
    namespace: str
    data: Any
    id: int | None

    def __init__(
        self, type: PacketType, namespace: str = "/", data: Any = None, id: int | None = None
    ) -> None:
        _set_type(self, type)
        _set_namespace(self, namespace)
        _set_data(self, data)
        _set_id(self, id)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"Packet is immutable: cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"Packet is immutable: cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Packet):
            return NotImplemented
        mine = (self.type, self.namespace, self.data, self.id)
        return mine == (other.type, other.namespace, other.data, other.id)

    __hash__ = None  # type: ignore[assignment]  # data is usually a list

    def __repr__(self) -> str:
        t = self.type
        name = f"PacketType.{t.name}" if isinstance(t, PacketType) else repr(t)
        return f"Packet({name}, {self.namespace!r}, {self.data!r}, {self.id!r})"


# The slot descriptors set the fields without going through the refusing __setattr__.
_set_type = Packet.type.__set__  # type: ignore[attr-defined]
_set_namespace = Packet.namespace.__set__  # type: ignore[attr-defined]
_set_data = Packet.data.__set__  # type: ignore[attr-defined]
_set_id = Packet.id.__set__  # type: ignore[attr-defined]


def _not_serializable(obj: Any) -> Any:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _c_iterencode() -> Callable[[Any, int], list] | None:
    # json.dumps(obj, separators=..., ensure_ascii=False) builds a new encoder per call, which
    # costs more than the encoding of a small event; build the C encoder once instead. It is a
    # private API, so check it against the public one and fall back when it differs.
    try:
        from json.encoder import c_make_encoder, encode_basestring

        encoder = c_make_encoder(
            None, _not_serializable, encode_basestring, None, ":", ",", False, False, False
        )
        probe = ["é", 1.5, (True, None), {"a": {"1": 2}}, '\u2028"\\']
        if "".join(encoder(probe, 0)) != _py_dumps(probe):
            return None
    except (ImportError, TypeError, ValueError):
        return None
    return encoder  # type: ignore[no-any-return]


_SURROGATE = re.compile("[\ud800-\udfff]")
_py_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_iterencode = _c_iterencode()


def dumps(obj: Any) -> str:
    """Serialize ``obj`` as Node's ``JSON.stringify`` does: compact, non-ASCII kept as UTF-8,
    and ``NaN``, ``inf`` and ``-inf`` written as ``null`` (never as ``NaN``/``Infinity``, which
    are not JSON: a client's ``JSON.parse`` would refuse the whole packet).

    Raises :class:`TypeError` for what JSON cannot hold (such as bytes).
    """
    try:
        text = _py_dumps(obj) if _iterencode is None else "".join(_iterencode(obj, 0))
    except ValueError:  # a non-finite float, refused by allow_nan=False: rare, so fixed here
        obj = _finite(obj)
        text = _py_dumps(obj) if _iterencode is None else "".join(_iterencode(obj, 0))
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate (a peer's "\ud800" escape decodes to one) has no UTF-8 form:
            # escape it as JSON.stringify does.
            text = _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)
    return text


_default_dumps = dumps


def _finite(obj: Any) -> Any:
    """A copy of ``obj`` with non-finite floats as JSON.stringify writes them: ``null``, and
    ``"NaN"``/``"Infinity"``/``"-Infinity"`` as object keys (JavaScript's ``String()``)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, (list, tuple)):
        return [_finite(item) for item in obj]
    if isinstance(obj, dict):
        return {_finite_key(key): _finite(value) for key, value in obj.items()}
    return obj


def _finite_key(key: Any) -> Any:
    if isinstance(key, float) and not math.isfinite(key):
        return "NaN" if key != key else ("Infinity" if key > 0 else "-Infinity")
    return key


def encode(packet: Packet, dumps: Callable[[Any], str] = dumps) -> list[str | bytes]:
    """Encode ``packet`` as Engine.IO messages: the text packet, then one bytes per attachment.

    An EVENT or ACK whose data holds binary anywhere (``bytes``, ``bytearray``, ``memoryview``,
    or a file-like object, whose ``read()`` is sent) goes as BINARY_EVENT or BINARY_ACK, each
    binary replaced by a placeholder in depth-first order. Tuples become JSON arrays.
    """
    return encode_fields(packet.type, packet.namespace, packet.data, packet.id, dumps)


def encode_fields(
    t: PacketType,
    namespace: str = "/",
    data: Any = None,
    id: int | None = None,
    dumps: Callable[[Any], str] = dumps,
) -> list[str | bytes]:
    """:func:`encode` of ``Packet(t, namespace, data, id)``, without making the packet: for
    one made only to be sent (an ack)."""
    if t == _BINARY_EVENT or t == _BINARY_ACK:
        return _encode_binary(_DIGIT[t], namespace, data, id, dumps)
    if data is None:  # as Node does: no JSON at all
        text = ""
    elif t != _EVENT and t != _ACK:
        text = dumps(data)
    elif dumps is _default_dumps:
        # Our dumps refuses binary with TypeError, so data without binary is walked only once.
        try:
            text = dumps(data)
        except TypeError:
            if not _has_binary(data):
                raise
            return _encode_binary(_DIGIT[t + 3], namespace, data, id, dumps)
    elif _has_binary(data):
        return _encode_binary(_DIGIT[t + 3], namespace, data, id, dumps)
    else:
        text = dumps(data)
    if namespace == "/" or not namespace:
        head = _DIGIT[t]
    else:
        head = _DIGIT[t] + namespace + ","
    return [head + text if id is None else head + str(id) + text]


def _header(head: str, namespace: str, id: int | None) -> str:
    if namespace and namespace != "/":
        head += namespace + ","
    if id is not None:
        head += str(id)
    return head


def _encode_binary(
    digit: str, namespace: str, data: Any, id: int | None, dumps: Callable[[Any], str]
) -> list[str | bytes]:
    attachments: list[bytes] = []
    text = "" if data is None else dumps(_deconstruct(data, attachments))
    if not attachments:  # "50-" is illegal: without binary, it is a plain EVENT or ACK
        return [_header(str(int(digit) - 3), namespace, id) + text]
    return [_header(f"{digit}{len(attachments)}-", namespace, id) + text, *attachments]


_PLAIN = (str, int, float, type(None))


def _is_binary(obj: Any) -> bool:
    if isinstance(obj, _PLAIN):
        return False
    return isinstance(obj, (bytes, bytearray, memoryview)) or callable(getattr(obj, "read", None))


def _has_binary(obj: Any) -> bool:
    if isinstance(obj, (list, tuple)):
        return any(_has_binary(item) for item in obj)
    if isinstance(obj, dict):
        return any(_has_binary(value) for value in obj.values())
    return _is_binary(obj)


def _deconstruct(obj: Any, attachments: list[bytes]) -> Any:
    """A copy of ``obj`` with its binaries moved to ``attachments`` and placeholders instead."""
    if isinstance(obj, (list, tuple)):
        return [_deconstruct(item, attachments) for item in obj]
    if isinstance(obj, dict):
        return {key: _deconstruct(value, attachments) for key, value in obj.items()}
    if not _is_binary(obj):
        return obj
    if isinstance(obj, (bytes, bytearray, memoryview)):
        blob = bytes(obj)
    else:
        content = obj.read()
        blob = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    attachments.append(blob)
    return {"_placeholder": True, "num": len(attachments) - 1}


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

    def feed_event(self, data: str) -> tuple[list, int | None] | None:
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


def _event_fields(s: str) -> tuple[list, int | None] | None:
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


def _reconstruct(data: list, blobs: list[bytes]) -> None:
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
