"""The wire format of Node's ``@socket.io/redis-adapter`` (v8) and ``@socket.io/redis-emitter``.

Pure: bytes in, checked values out, and back; no Redis, no I/O. Three kinds of message travel:

- **Broadcasts**, published on ``{key}#{nsp}#`` (or ``{key}#{nsp}#{room}#`` when the broadcast
  names exactly one room): msgpack of ``[uid, packet, opts]``, where ``packet`` is
  ``{"type": 2, "data": [event, *args], "nsp": nsp}`` (binary as msgpack bin) and ``opts`` is
  ``{"rooms": [...], "except": [...], "flags": {...}}``.
- **Requests**, on ``{key}-request#{nsp}#``: JSON objects with a numeric ``type``
  (:class:`RequestType`), except a broadcast that wants acks, which is msgpack.
- **Responses**, on ``{key}-response#{nsp}#`` (or ``...#{uid}#``): JSON, except the acks of a
  broadcast, which are msgpack. A JSON message is told apart by its first byte, ``{``.

Whatever arrives is checked here: a message that is not what the format says raises
:class:`~gsio.exceptions.ProtocolError`, and the adapter logs and drops it.
"""

from __future__ import annotations

import enum
import json
import math
from typing import Any

import msgpack

from gsio.exceptions import ProtocolError
from gsio.protocol.socketio import Packet, PacketType, dumps
from gsio.protocol.socketio_msgpack import js_date_text

__all__ = [
    "RequestType",
    "Channels",
    "Broadcast",
    "encode_broadcast",
    "decode_broadcast",
    "encode_request",
    "decode_request",
]


class RequestType(enum.IntEnum):
    """Request and response types between the servers of a cluster (Node's numbering)."""

    SOCKETS = 0
    ALL_ROOMS = 1
    REMOTE_JOIN = 2
    REMOTE_LEAVE = 3
    REMOTE_DISCONNECT = 4
    REMOTE_FETCH = 5
    SERVER_SIDE_EMIT = 6
    BROADCAST = 7
    BROADCAST_CLIENT_COUNT = 8
    BROADCAST_ACK = 9


class Channels:
    """The channel names of one namespace under ``key`` (Node's default: ``"socket.io"``)."""

    __slots__ = ("broadcast", "request", "response", "specific_response")

    def __init__(self, key: str, namespace: str, uid: str = "") -> None:
        self.broadcast = f"{key}#{namespace}#"
        self.request = f"{key}-request#{namespace}#"
        self.response = f"{key}-response#{namespace}#"
        self.specific_response = f"{self.response}{uid}#"

    def for_rooms(self, rooms: Any) -> str:
        """Where a broadcast to ``rooms`` is published: a channel of its own for one room, so
        that a server without that room can skip it unread."""
        if len(rooms) == 1:
            return f"{self.broadcast}{next(iter(rooms))}#"
        return self.broadcast

    def room_of(self, channel: str) -> str | None:
        """The room a broadcast channel names, "" for none, None if not a broadcast channel."""
        if not channel.startswith(self.broadcast) or not channel.endswith("#"):
            return None
        return channel[len(self.broadcast) : -1]


class Broadcast:
    """A broadcast from another server: the packet and who it is for."""

    __slots__ = ("uid", "packet", "rooms", "except_rooms", "flags")

    def __init__(
        self,
        uid: str,
        packet: Packet,
        rooms: frozenset[str],
        except_rooms: frozenset[str],
        flags: dict[str, Any],
    ) -> None:
        self.uid = uid
        self.packet = packet
        self.rooms = rooms
        self.except_rooms = except_rooms
        self.flags = flags


# -- encoding ----------------------------------------------------------------------------------


def _packet_map(packet: Packet) -> dict[str, Any]:
    data = list(packet.data)
    return {"type": int(PacketType.EVENT), "data": data, "nsp": packet.namespace}


def wire_flags(flags: dict[str, Any]) -> dict[str, Any]:
    """gsio's broadcast flags as Node writes them (``timeout`` in milliseconds)."""
    out = {k: v for k, v in flags.items() if k in ("volatile", "compress", "local")}
    if flags.get("timeout") is not None:
        out["timeout"] = int(flags["timeout"] * 1000)
    return out


def encode_broadcast(
    uid: str,
    packet: Packet,
    rooms: frozenset[str],
    except_rooms: frozenset[str],
    flags: dict[str, Any],
) -> bytes:
    opts = {"rooms": list(rooms), "except": list(except_rooms), "flags": wire_flags(flags)}
    return msgpack.packb([uid, _packet_map(packet), opts], use_bin_type=True)


def encode_request(message: dict[str, Any]) -> bytes:
    """A request or response: JSON (compact, as Node's ``JSON.stringify``), or msgpack for the
    two that carry a packet (``BROADCAST`` and ``BROADCAST_ACK``)."""
    kind = message.get("type")
    if kind is not None:
        message = {**message, "type": int(kind)}
    if kind in (RequestType.BROADCAST, RequestType.BROADCAST_ACK):
        return msgpack.packb(message, use_bin_type=True)
    # As JSON.stringify: never NaN or Infinity (null), lone surrogates escaped.
    return dumps(message).encode()


def broadcast_request(
    uid: str,
    request_id: str,
    packet: Packet,
    rooms: frozenset[str],
    except_rooms: frozenset[str],
    flags: dict[str, Any],
) -> dict[str, Any]:
    return {
        "uid": uid,
        "requestId": request_id,
        "type": RequestType.BROADCAST,
        "packet": _packet_map(packet),
        "opts": {"rooms": list(rooms), "except": list(except_rooms), "flags": wire_flags(flags)},
    }


# -- decoding ----------------------------------------------------------------------------------

#: How deeply values may nest (a message deeper than this is dropped). msgpack itself stops at
#: 1024; this stays well below Python's recursion limit, which encoding for clients needs.
_MAX_DEPTH = 256

#: What notepack's older encoder wrote for ``undefined`` (fixext 1, type 0), still decoded by
#: today's: ``undefined`` is then null in an array and an absent key in an object, as in JSON.
_UNDEFINED = msgpack.ExtType(0, b"\x00")


def _ext(code: int, data: bytes) -> Any:
    if code == 0 and len(data) == 1:
        return _UNDEFINED
    raise ProtocolError(f"unsupported msgpack extension type {code}")


def _unpack(raw: bytes) -> Any:
    try:
        return msgpack.unpackb(raw, raw=False, strict_map_key=False, timestamp=0, ext_hook=_ext)
    except ProtocolError:
        raise
    except Exception as exc:  # msgpack raises several unrelated types for bad input
        raise ProtocolError(f"not msgpack: {exc}") from None


def _reject_constant(name: str) -> Any:
    raise ProtocolError(f"{name} in JSON")


def _loads(raw: bytes) -> Any:
    """JSON as Node's ``JSON.parse`` takes it: no NaN or Infinity."""
    try:
        return json.loads(raw, parse_constant=_reject_constant)
    except (ValueError, RecursionError):
        raise ProtocolError("malformed JSON") from None


def js_date(timestamp: msgpack.Timestamp) -> str | None:
    """A msgpack timestamp (what notepack makes of a JavaScript ``Date``) as the ISO 8601 text
    ``JSON.stringify`` gives the Date that notepack decodes it to (see
    :func:`~gsio.protocol.socketio_msgpack.js_date_text`)."""
    # Node computes the milliseconds in doubles: the same operations give the same result.
    return js_date_text(timestamp.seconds * 1e3 + timestamp.nanoseconds / 1e6)


def _key(key: Any) -> str:
    if isinstance(key, str):
        return key
    if isinstance(key, int) and not isinstance(key, bool):
        return str(key)  # as a JavaScript object (and json.dumps) makes of it
    raise ProtocolError("a map key that is neither a string nor an integer")


def _clean(value: Any, depth: int = 0) -> Any:
    """A msgpack (or JSON) value made what Node would send on as JSON, or ProtocolError:
    a Date becomes its ISO text, NaN and Infinity null, ``undefined`` null (an absent key in a
    map), integer map keys strings; anything else that is not JSON or binary is refused."""
    if value is None or isinstance(value, (str, bool, int, bytes)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None  # as JSON.stringify
    if depth >= _MAX_DEPTH:
        raise ProtocolError("value nested too deeply")
    if isinstance(value, list):
        return [_clean(item, depth + 1) for item in value]
    if isinstance(value, dict):
        return {
            _key(key): _clean(item, depth + 1)
            for key, item in value.items()
            if item is not _UNDEFINED
        }
    if value is _UNDEFINED:
        return None
    if isinstance(value, msgpack.Timestamp):
        return js_date(value)
    raise ProtocolError(f"unsupported value of type {type(value).__name__}")


def _room(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Node allows any room value; numbers are the ones seen in practice.
        return str(int(value)) if float(value).is_integer() else str(value)
    raise ProtocolError("a room that is not a string")


def _rooms(value: Any, what: str) -> frozenset[str]:
    if value is None:
        return frozenset()
    if not isinstance(value, list):
        raise ProtocolError(f"{what} is not a list")
    return frozenset(_room(room) for room in value)


def _packet(value: Any, namespace: str) -> Packet:
    if not isinstance(value, dict):
        raise ProtocolError("the packet is not a map")
    if value.get("type") not in (PacketType.EVENT, PacketType.BINARY_EVENT):
        raise ProtocolError(f"packet type {value.get('type')!r} is not an event")
    nsp = value.get("nsp", "/")
    if nsp != namespace:
        raise ProtocolError(f"packet for namespace {nsp!r} on {namespace!r}")
    data = _clean(value.get("data"))
    if not isinstance(data, list) or not data or not isinstance(data[0], str):
        raise ProtocolError("the packet's data is not [event, ...args]")
    return Packet(PacketType.EVENT, namespace, data)


def _options(value: Any) -> tuple[frozenset[str], frozenset[str], dict[str, Any]]:
    if value is None:
        value = {}
    if not isinstance(value, dict):
        raise ProtocolError("the options are not a map")
    flags = value.get("flags") or {}
    if not isinstance(flags, dict):
        raise ProtocolError("the flags are not a map")
    return _rooms(value.get("rooms"), "rooms"), _rooms(value.get("except"), "except"), flags


def decode_broadcast(raw: bytes, namespace: str) -> Broadcast:
    """A broadcast message for ``namespace``; ProtocolError if it is malformed or for another
    namespace."""
    value = _unpack(raw)
    if not isinstance(value, list) or len(value) < 3:
        raise ProtocolError("a broadcast is not [uid, packet, opts]")
    uid, packet, opts = value[0], value[1], value[2]
    if not isinstance(uid, str):
        raise ProtocolError("the broadcast's uid is not a string")
    rooms, except_rooms, flags = _options(opts)
    return Broadcast(uid, _packet(packet, namespace), rooms, except_rooms, flags)


def decode_request(raw: bytes) -> dict[str, Any]:
    """A request or response: a map with a known numeric ``type`` where one is given, its
    values checked as :func:`_clean` does. The fields each type uses are checked by
    :func:`field` and the other readers below, where they are read."""
    value = _loads(raw) if raw[:1] == b"{" else _unpack(raw)
    if not isinstance(value, dict):
        raise ProtocolError("a request is not a map")
    value = _clean(value)
    kind = value.get("type")
    if kind is not None:
        if isinstance(kind, bool) or kind not in RequestType.__members__.values():
            raise ProtocolError(f"unknown request type {kind!r}")
        value["type"] = RequestType(kind)
    request_id = value.get("requestId")
    if request_id is not None and not isinstance(request_id, str):
        raise ProtocolError("requestId is not a string")
    return value


def field(message: dict[str, Any], name: str, kind: type | tuple[type, ...]) -> Any:
    """``message[name]``, which must be of ``kind``; ProtocolError otherwise."""
    value = message.get(name)
    if not isinstance(value, kind) or isinstance(value, bool) and bool not in _tuple(kind):
        raise ProtocolError(f"{name!r} is missing or of the wrong type")
    return value


def _tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def options(message: dict[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """The ``opts`` (rooms, except) of a request."""
    rooms, except_rooms, _ = _options(message.get("opts"))
    return rooms, except_rooms


def rooms_field(message: dict[str, Any]) -> list[str]:
    value = message.get("rooms")
    if not isinstance(value, list):
        raise ProtocolError("'rooms' is missing or not a list")
    return [_room(room) for room in value]


def packet_field(message: dict[str, Any], namespace: str) -> Packet:
    return _packet(message.get("packet"), namespace)


def data_field(message: dict[str, Any]) -> Any:
    """``message["data"]`` (checked by :func:`decode_request` already)."""
    return message.get("data")
