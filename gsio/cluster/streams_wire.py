"""The wire format of Node's ``@socket.io/redis-streams-adapter`` (0.3) over ``socket.io-adapter``'s
``ClusterAdapter``.

Pure: values in, bytes and Redis field maps out, and back; no Redis, no I/O.

- **Stream entries** (``XADD socket.io MAXLEN ~ 10000 * uid .. nsp .. type .. data ..``) carry what
  every server must see in order: a broadcast without acks, ``SOCKETS_JOIN``, ``SOCKETS_LEAVE``,
  ``DISCONNECT_SOCKETS``. ``type`` is the decimal :class:`MessageType`; ``data`` is the message's
  data as JSON, or as base64 msgpack when it holds binary. The entry id is the packet's offset
  for connection state recovery.
- **Pub/sub messages** carry what is ephemeral (a broadcast with acks, ``FETCH_SOCKETS``,
  ``SERVER_SIDE_EMIT``): msgpack of ``{uid, nsp, type, data}`` on ``{prefix}#{nsp}#``, and the
  answers on the asker's own channel ``{prefix}#{nsp}#{uid}#``.
- **Sessions** of disconnected sockets: ``SET sio:session:{pid}`` to base64 msgpack of
  ``{sid, pid, rooms, data}``, expiring after the recovery window.

Whatever arrives is checked here: what is not what the format says raises
:class:`~gsio.exceptions.ProtocolError`, and the adapter logs and drops it.
"""

from __future__ import annotations

import base64
import enum
import re
from dataclasses import dataclass
from typing import Any

import msgpack

from gsio.cluster import messages as wire
from gsio.cluster.messages import _clean, _loads, _options, _packet, _unpack, wire_flags
from gsio.exceptions import ProtocolError
from gsio.protocol.socketio import Packet, PacketType, dumps
from gsio.protocol.socketio_packet import _has_binary
from gsio.server.recipients import Recipients
from gsio.server.recovery import SessionState

__all__ = [
    "MessageType",
    "Message",
    "STREAM_TYPES",
    "encode_entry",
    "decode_entry",
    "encode_pubsub",
    "decode_pubsub",
    "encode_session",
    "decode_session",
    "is_offset",
    "id_key",
    "next_id",
]


class MessageType(enum.IntEnum):
    """``socket.io-adapter``'s ``MessageType`` numbering."""

    INITIAL_HEARTBEAT = 1
    HEARTBEAT = 2
    BROADCAST = 3
    SOCKETS_JOIN = 4
    SOCKETS_LEAVE = 5
    DISCONNECT_SOCKETS = 6
    FETCH_SOCKETS = 7
    FETCH_SOCKETS_RESPONSE = 8
    SERVER_SIDE_EMIT = 9
    SERVER_SIDE_EMIT_RESPONSE = 10
    BROADCAST_CLIENT_COUNT = 11
    BROADCAST_ACK = 12
    ADAPTER_CLOSE = 13


#: What goes through the stream (the rest, and a broadcast with acks, is pub/sub).
STREAM_TYPES = frozenset(
    {
        MessageType.BROADCAST,
        MessageType.SOCKETS_JOIN,
        MessageType.SOCKETS_LEAVE,
        MessageType.DISCONNECT_SOCKETS,
    }
)

#: The types whose data may hold binary, written as base64 msgpack when it does (as Node).
_MAY_HOLD_BINARY = frozenset(
    {
        MessageType.BROADCAST,
        MessageType.FETCH_SOCKETS_RESPONSE,
        MessageType.SERVER_SIDE_EMIT,
        MessageType.SERVER_SIDE_EMIT_RESPONSE,
        MessageType.BROADCAST_ACK,
    }
)


@dataclass(frozen=True)
class Message:
    """A message between the servers: who sent it, for which namespace, and its data."""

    uid: str
    nsp: str
    kind: MessageType
    data: Any = None

    # -- the data of each type, checked as it is read ----------------------------------------

    def recipients(self) -> Recipients:
        """The ``opts`` of a broadcast, a join, a leave, a disconnect or a fetch."""
        opts = self.data.get("opts") if isinstance(self.data, dict) else None
        rooms, except_rooms, flags = _options(opts)
        compress = flags.get("compress") is not False
        return Recipients(
            rooms, except_rooms, volatile=bool(flags.get("volatile")), compress=compress
        )

    def packet(self) -> Packet:
        """The packet of a broadcast (Node writes it without ``nsp``)."""
        value = self.field("packet", dict)
        return _packet({**value, "nsp": value.get("nsp", self.nsp)}, self.nsp)

    def field(self, name: str, kind: type | tuple[type, ...]) -> Any:
        if not isinstance(self.data, dict):
            raise ProtocolError(f"message type {self.kind} without data")
        return wire.field(self.data, name, kind)

    def get(self, name: str) -> Any:
        return self.data.get(name) if isinstance(self.data, dict) else None


def broadcast_data(packet: Packet, opts: Recipients, request_id: str | None = None) -> dict:
    """The data of a ``BROADCAST`` (with ``requestId`` when it wants acks)."""
    data: dict[str, Any] = {
        "packet": {
            "type": int(PacketType.EVENT),
            "data": list(packet.data),
            "nsp": packet.namespace,
        },
        "opts": {
            "rooms": list(opts.rooms),
            "except": list(opts.except_rooms),
            "flags": wire_flags(opts.flags),
        },
    }
    if request_id is not None:
        data["requestId"] = request_id
    return data


def opts_data(opts: Recipients) -> dict[str, Any]:
    """``opts`` as the other messages carry them."""
    return {"rooms": list(opts.rooms), "except": list(opts.except_rooms), "flags": {}}


# -- stream entries ------------------------------------------------------------------------------


def encode_entry(message: Message) -> dict[str, str]:
    """The fields of a stream entry, in Node's order."""
    fields = {"uid": message.uid, "nsp": message.nsp, "type": str(int(message.kind))}
    if message.data:
        if message.kind in _MAY_HOLD_BINARY and _has_binary(message.data):
            packed = msgpack.packb(message.data, use_bin_type=True)
            fields["data"] = base64.b64encode(packed).decode()
        else:
            fields["data"] = dumps(message.data)
    return fields


def _text(fields: dict[Any, Any], name: str) -> str | None:
    value = fields.get(name.encode(), fields.get(name))
    if value is None:
        return None
    if isinstance(value, bytes):
        try:
            return value.decode()
        except UnicodeDecodeError:
            raise ProtocolError(f"the entry's {name} is not UTF-8") from None
    if isinstance(value, str):
        return value
    raise ProtocolError(f"the entry's {name} is not text")


def _type(value: Any) -> MessageType:
    if isinstance(value, str):
        if not value.isdigit() or len(value) > 3:
            raise ProtocolError(f"message type {value!r} is not a number")
        value = int(value)
    if isinstance(value, bool) or value not in MessageType.__members__.values():
        raise ProtocolError(f"unknown message type {value!r}")
    return MessageType(value)


def decode_entry(fields: dict[Any, Any]) -> Message | None:
    """A stream entry's message; None for an entry without a namespace (Node skips those)."""
    nsp = _text(fields, "nsp")
    if not nsp:
        return None
    uid = _text(fields, "uid")
    if uid is None:
        raise ProtocolError("an entry without uid")
    raw = _text(fields, "data")
    data: Any = None
    if raw:
        if raw.startswith("{"):
            data = _loads(raw.encode())
        else:
            data = _unpack(_b64(raw, "the entry's data is neither JSON nor base64"))
        data = _clean(data)
    return Message(uid, nsp, _type(_text(fields, "type")), data)


# -- pub/sub messages ----------------------------------------------------------------------------


def encode_pubsub(message: Message) -> bytes:
    value: dict[str, Any] = {"uid": message.uid, "nsp": message.nsp, "type": int(message.kind)}
    if message.data is not None:
        value["data"] = message.data
    return msgpack.packb(value, use_bin_type=True)


def decode_pubsub(raw: bytes) -> Message:
    value = _clean(_unpack(raw))
    if not isinstance(value, dict):
        raise ProtocolError("a message is not a map")
    uid, nsp = value.get("uid"), value.get("nsp")
    if not isinstance(uid, str) or not isinstance(nsp, str):
        raise ProtocolError("a message without uid or nsp")
    return Message(uid, nsp, _type(value.get("type")), value.get("data"))


# -- sessions ------------------------------------------------------------------------------------


def encode_session(session: SessionState) -> str:
    return base64.b64encode(msgpack.packb(session.as_dict(), use_bin_type=True)).decode()


def decode_session(raw: bytes | str) -> SessionState:
    value = _clean(_unpack(_b64(raw, "a session that is not base64")))
    session = SessionState.from_dict(value)
    if session is None:
        raise ProtocolError("a session that is not {sid, pid, rooms, data}")
    return session


def _b64(raw: bytes | str, what: str) -> bytes:
    try:
        return base64.b64decode(raw, validate=True)
    except ValueError:  # binascii.Error, or a str that is not ASCII
        raise ProtocolError(what) from None


# -- stream ids ----------------------------------------------------------------------------------

_OFFSET = re.compile(r"[0-9]{1,20}-[0-9]{1,20}")


def is_offset(value: Any) -> bool:
    """Whether ``value`` is a stream entry id (``<ms>-<seq>``), as Node checks an offset."""
    return isinstance(value, str) and _OFFSET.fullmatch(value) is not None


def id_key(entry_id: str) -> tuple[int, int]:
    """A stream id as a pair that sorts as Redis orders entries."""
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def next_id(entry_id: str) -> str:
    """The smallest id after ``entry_id`` (an exclusive XRANGE start on any Redis version)."""
    ms, seq = id_key(entry_id)
    return f"{ms}-{seq + 1}"
