"""Engine.IO v4 packets and polling payloads: a pure codec.

A packet is one digit (its type) followed by its data. Over WebSocket each frame holds one packet:
a text frame ``<type><data>``, or a binary frame holding the raw bytes of a binary message. In a
polling body, packets are joined by the record separator ``\\x1e`` and a binary message is ``b``
followed by its base64.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Iterable
from typing import NamedTuple

from gsio.exceptions import ProtocolError

__all__ = [
    "PacketType",
    "Packet",
    "encode",
    "decode",
    "encode_payload",
    "decode_payload",
    "SEPARATOR",
    "PROTOCOL",
    "PROTOCOLS",
    "protocol_version",
]

SEPARATOR = "\x1e"

#: The Engine.IO protocol version gsio speaks by default, and every version a session may speak.
#: v3 (socket.io-client 2.x, only with ``allow_eio3``: :func:`protocol_version`) differs in who
#: pings (:class:`gsio.protocol.session.Session`) and in the framing of polling payloads and
#: binary WebSocket messages (:mod:`gsio.protocol.engineio_v3`): what differs reads
#: :attr:`gsio.protocol.session.Session.protocol`.
PROTOCOL = 4
PROTOCOLS = frozenset({3, PROTOCOL})


class PacketType(enum.IntEnum):
    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


class Packet(NamedTuple):
    """One Engine.IO packet. ``data`` is ``bytes`` only for a binary MESSAGE."""

    type: PacketType
    data: str | bytes = ""

    @property
    def binary(self) -> bool:
        return isinstance(self.data, bytes)


# Packets without data, made once: the heartbeat and upgrade traffic reuses them.
PING = Packet(PacketType.PING)
PONG = Packet(PacketType.PONG)
NOOP = Packet(PacketType.NOOP)
CLOSE = Packet(PacketType.CLOSE)
PING_PROBE = Packet(PacketType.PING, "probe")
PONG_PROBE = Packet(PacketType.PONG, "probe")

_TYPES = {str(t.value): t for t in PacketType}


def protocol_version(eio: str | None, *, allow_eio3: bool = False) -> int:
    """The protocol version a handshake asks for (its ``EIO`` parameter): ``"4"`` is 4; with
    ``allow_eio3``, any other value, or none, is 3, as Node's engine.io reads it; else
    :class:`ProtocolError` with the Engine.IO error code 5, "Unsupported protocol version"."""
    if eio == "4":
        return PROTOCOL
    if allow_eio3:
        return 3
    raise ProtocolError("unsupported protocol version", code=5)


def encode(packet: Packet) -> str | bytes:
    """Encode one packet as a WebSocket frame's payload: ``str`` for text, ``bytes`` for binary."""
    if isinstance(packet.data, bytes):
        return packet.data
    return "0123456"[packet.type] + packet.data


def decode(frame: str | bytes | bytearray) -> Packet:
    """Decode one WebSocket frame's payload into a packet."""
    if not isinstance(frame, str):
        return Packet(PacketType.MESSAGE, bytes(frame))
    if not frame:
        raise ProtocolError("empty packet")
    ptype = _TYPES.get(frame[0])
    if ptype is None:
        raise ProtocolError(f"unknown packet type {frame[0]!r}")
    return Packet(ptype, frame[1:])


def encode_payload(packets: Iterable[Packet]) -> str:
    """Encode packets as one polling body."""
    parts = []
    for packet in packets:
        if isinstance(packet.data, bytes):
            parts.append("b" + base64.b64encode(packet.data).decode("ascii"))
        else:
            parts.append("0123456"[packet.type] + packet.data)
    return SEPARATOR.join(parts)


def decode_payload(body: bytes | str, max_packets: int | None = None) -> list[Packet]:
    """Decode a polling body (the bytes of a POST) into its packets."""
    if isinstance(body, (bytes, bytearray)):
        try:
            body = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ProtocolError(f"payload is not valid UTF-8: {exc.reason}") from None
    if not body:
        raise ProtocolError("empty payload")
    parts = body.split(SEPARATOR)
    if max_packets is not None and len(parts) > max_packets:
        raise ProtocolError(f"payload holds more than {max_packets} packets")
    packets = []
    for part in parts:
        if part[:1] == "b":
            try:
                data = base64.b64decode(part[1:], validate=True)
            except (binascii.Error, ValueError):
                raise ProtocolError("invalid base64 in binary packet") from None
            packets.append(Packet(PacketType.MESSAGE, data))
        else:
            packets.append(decode(part))
    return packets
