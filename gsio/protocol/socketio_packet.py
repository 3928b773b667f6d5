"""Socket.IO v5 packets as values, and their encoding: a pure codec (no I/O, no clock).

A packet travels as ``<type>[<n>-][<nsp>,][<ack id>][<JSON>]`` inside an Engine.IO message;
a packet carrying binary is followed by ``n`` binary messages, its attachments, which replace the
``{"_placeholder":true,"num":i}`` objects of its JSON. :func:`encode` turns a :class:`Packet` into
those messages; :mod:`gsio.protocol.socketio_decoder` turns them back.
"""

from __future__ import annotations

import enum
import json
import math
import re
from collections.abc import Callable
from json import encoder as json_encoder
from typing import Any

__all__ = [
    "RESERVED_EVENTS",
    "check_event",
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


def check_event(event: str) -> None:
    """Refuse an event name a server may not emit: not a string, or one of Socket.IO's own."""
    if not isinstance(event, str):
        raise TypeError(f"event names are strings, not {type(event).__name__}")
    if event in RESERVED_EVENTS:
        raise ValueError(f"{event!r} is a reserved event name")


_CONNECT, _DISCONNECT, _EVENT, _ACK, _CONNECT_ERROR, _BINARY_EVENT, _BINARY_ACK = PacketType
# str() of an IntEnum member is "PacketType.EVENT" before Python 3.11, so spell the digits out.
# str() of an IntEnum member is "PacketType.EVENT" before Python 3.11, so spell the digits out.
# Keyed by int: the encoder looks up ``t + 3`` (EVENT -> BINARY_EVENT), an int.
_DIGIT: dict[int, str] = {t: str(int(t)) for t in PacketType}


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
_slots = vars(Packet)
_set_type: Callable[[Packet, PacketType], None] = _slots["type"].__set__
_set_namespace: Callable[[Packet, str], None] = _slots["namespace"].__set__
_set_data: Callable[[Packet, Any], None] = _slots["data"].__set__
_set_id: Callable[[Packet, int | None], None] = _slots["id"].__set__
del _slots


def _not_serializable(obj: Any) -> Any:
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _c_iterencode() -> Callable[[Any, int], list[str]] | None:
    # json.dumps(obj, separators=..., ensure_ascii=False) builds a new encoder per call, which
    # costs more than the encoding of a small event; build the C encoder once instead. It is a
    # private API, so check it against the public one and fall back when it differs.
    make_encoder = getattr(json_encoder, "c_make_encoder", None)
    if make_encoder is None:
        return None
    try:
        encoder: Callable[[Any, int], list[str]] = make_encoder(
            None,
            _not_serializable,
            json_encoder.encode_basestring,
            None,
            ":",
            ",",
            False,
            False,
            False,
        )
        probe = ["é", 1.5, (True, None), {"a": {"1": 2}}, '\u2028"\\']
        if "".join(encoder(probe, 0)) != _py_dumps(probe):
            return None
    except (TypeError, ValueError):
        return None
    return encoder


_SURROGATE = re.compile("[\ud800-\udfff]")
# A str's JSON form as our encoder writes it (non-ASCII kept): the C one when there is one.
_string: Callable[[str], str] = json_encoder.encode_basestring
_py_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_iterencode = _c_iterencode()


def dumps(obj: Any) -> str:
    """Serialize ``obj`` as Node's ``JSON.stringify`` does: compact, non-ASCII kept as UTF-8,
    and ``NaN``, ``inf`` and ``-inf`` written as ``null`` (never as ``NaN``/``Infinity``, which
    are not JSON: a client's ``JSON.parse`` would refuse the whole packet).

    Raises :class:`TypeError` for what JSON cannot hold (such as bytes).
    """
    if type(obj) is list and obj and type(obj[0]) is str:
        # One or two strings (an ack of a text, an event with one text): the most common
        # packets, whose encoding costs less than the general encoder's setup.
        n = len(obj)
        if n == 1:
            text = "[" + _string(obj[0]) + "]"
            return text if text.isascii() else _utf8_safe(text)
        if n == 2 and type(obj[1]) is str:
            text = "[" + _string(obj[0]) + "," + _string(obj[1]) + "]"
            return text if text.isascii() else _utf8_safe(text)
    try:
        text = _py_dumps(obj) if _iterencode is None else "".join(_iterencode(obj, 0))
    except ValueError:  # a non-finite float, refused by allow_nan=False: rare, so fixed here
        obj = _finite(obj)
        text = _py_dumps(obj) if _iterencode is None else "".join(_iterencode(obj, 0))
    return text if text.isascii() else _utf8_safe(text)


def _utf8_safe(text: str) -> str:
    """``text`` (JSON), with any lone surrogate escaped as JSON.stringify escapes it: a peer's
    ``"\ud800"`` escape decodes to one, and it has no UTF-8 form."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
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

    An EVENT or ACK whose data holds binary anywhere (``bytes``, ``bytearray``, ``memoryview``)
    goes as BINARY_EVENT or BINARY_ACK, each binary replaced by a placeholder in depth-first
    order. Tuples become JSON arrays. A file-like object is refused as any other value JSON
    cannot hold (``TypeError``): reading it is I/O, done by the server before it encodes
    (:mod:`gsio.server.files`).
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
    return isinstance(obj, (bytes, bytearray, memoryview))


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
    attachments.append(bytes(obj))  # (no copy of bytes: the server's read files are bytes)
    return {"_placeholder": True, "num": len(attachments) - 1}
