"""Socket.IO v5 packets: a pure codec (no I/O, no clock), and the interface a codec implements.

A packet travels as ``<type>[<n>-][<nsp>,][<ack id>][<JSON>]`` inside an Engine.IO message;
a packet carrying binary is followed by ``n`` binary messages, its attachments, which replace the
``{"_placeholder":true,"num":i}`` objects of its JSON. :func:`encode` turns a :class:`Packet` into
those messages and a :class:`Decoder` (one per connection) turns them back, raising
:class:`~gsio.exceptions.ProtocolError` and nothing else for malformed input.

The server reaches the codec through :class:`PacketCodec`, which :class:`JsonCodec` (the
protocol's own, JSON text with binary attachments) implements; another parser (msgpack, as
socket.io-msgpack-parser) is another implementation of it. The values and the encoder live in
:mod:`gsio.protocol.socketio_packet`, the decoder in :mod:`gsio.protocol.socketio_decoder`; this
module exports them all.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, Protocol

from gsio.protocol.socketio_decoder import Decoder
from gsio.protocol.socketio_packet import (
    RESERVED_EVENTS,
    Packet,
    PacketType,
    dumps,
    encode,
    encode_fields,
)

__all__ = [
    "RESERVED_EVENTS",
    "Decoder",
    "JsonCodec",
    "Packet",
    "PacketCodec",
    "PacketDecoder",
    "PacketType",
    "dumps",
    "encode",
    "encode_fields",
]


class PacketDecoder(Protocol):
    """One connection's decoder: Engine.IO messages in, :class:`Packet` values out.

    It keeps the state between a binary packet and its attachments, so there is one per
    connection. Malformed input raises :class:`~gsio.exceptions.ProtocolError` (and resets it).
    """

    @property
    def pending(self) -> bool:
        """Whether a packet is waiting for more messages (its binary attachments)."""
        ...

    def feed(self, data: str | bytes) -> Packet | None:
        """Decode one Engine.IO message; None while a packet waits for more."""
        ...

    def feed_event(self, data: str) -> tuple[list[Any], int | None] | None:
        """The common message made short: an EVENT on the main namespace as ``(data, ack id)``
        (``data`` is ``[name, *args]``), or None for anything else, which :meth:`feed` then
        decodes. A decoder without a short path returns None always."""
        ...


class PacketCodec(Protocol):
    """How the server turns Socket.IO packets into Engine.IO messages and back: one per
    :class:`~gsio.server.Server`, shared by its connections (it holds no per-connection state;
    :meth:`decoder` makes that)."""

    def encode(self, packet: Packet) -> list[str | bytes]:
        """The Engine.IO messages of ``packet``: ``str`` for text messages, ``bytes`` for binary
        ones. A broadcast encodes once and hands the same list to every recipient."""
        ...

    def encode_fields(
        self, t: PacketType, namespace: str, data: object, id: int | None
    ) -> list[str | bytes]:
        """:meth:`encode` of ``Packet(t, namespace, data, id)`` without making the packet (the
        per-message path: an ack, an emit to one connection)."""
        ...

    def decoder(self, *, max_attachments: int, max_namespace_length: int) -> PacketDecoder:
        """A decoder for one connection, with the server's limits."""
        ...


class JsonCodec:
    """The Socket.IO protocol's own codec: JSON text, binary as attachments.

    :param dumps: serializes a packet's data (default: :func:`dumps`, compact UTF-8 JSON as
        Node's ``JSON.stringify`` writes it).
    :param loads: parses it (default: the standard library's, made as strict as ``JSON.parse``
        by the :class:`Decoder`; a custom ``loads`` decides for itself what it accepts).
    """

    __slots__ = ("dumps", "encode", "encode_fields", "loads")

    encode: Callable[[Packet], list[str | bytes]]
    encode_fields: Callable[[PacketType, str, object, int | None], list[str | bytes]]

    def __init__(
        self,
        dumps: Callable[[Any], str] = dumps,
        loads: Callable[[str], Any] = json.loads,
    ) -> None:
        self.dumps = dumps
        self.loads = loads
        if dumps is _default_dumps:
            # The module's functions themselves: a per-message call costs no extra frame.
            self.encode = encode
            self.encode_fields = encode_fields
        else:

            def encode_with(packet: Packet) -> list[str | bytes]:
                return encode_fields(packet.type, packet.namespace, packet.data, packet.id, dumps)

            def encode_fields_with(
                t: PacketType, namespace: str, data: object, id: int | None
            ) -> list[str | bytes]:
                return encode_fields(t, namespace, data, id, dumps)

            self.encode = encode_with
            self.encode_fields = encode_fields_with

    def decoder(self, *, max_attachments: int = 10, max_namespace_length: int = 256) -> Decoder:
        """A :class:`Decoder` with these limits and this codec's ``loads``."""
        return Decoder(
            max_attachments=max_attachments,
            max_namespace_length=max_namespace_length,
            loads=self.loads,
        )

    def __repr__(self) -> str:
        return f"JsonCodec(dumps={self.dumps!r}, loads={self.loads!r})"


_default_dumps = dumps
