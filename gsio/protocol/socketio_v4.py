"""Socket.IO protocol v4 (socket.io-client 2.x, over Engine.IO v3): what differs from v5.

The packets and their encoding are those of v5 (Node's socket.io 4 uses one parser for both), so
a v5 codec's :meth:`~gsio.protocol.socketio.PacketCodec.encode` serves v4 clients as it is; what
differs is which packets the server makes and how it reads a client's namespace:

- the default namespace ``/`` is connected without a CONNECT from the client, and the server's
  CONNECT carries no data: ``0`` (or ``0/admin,``), never ``0{"sid":...}`` (``Socket._onconnect``,
  ``dist/socket.js``; a packet without data is what the codec's ``encode`` makes of
  ``Packet(CONNECT, "/admin")``);
- a client's CONNECT to another namespace carries its query string in the namespace,
  ``0/admin?token=x,``: the namespace is the part before ``?`` and the query is its ``auth``
  (socket.io 4's ``Client._parseNamespace``, ``dist/client.js``);
- a middleware's refusal is an ERROR (CONNECT_ERROR) whose data is the error's ``data``, or its
  message when that is falsy: ``4"Not authorized"`` (``Namespace._add``, ``dist/namespace.js``).

:func:`legacy_decoder` wraps any codec's decoder to read namespaces that way;
:func:`split_namespace` and :func:`refusal_data` are the pieces on their own.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl

from gsio.exceptions import ProtocolError
from gsio.protocol.socketio import PacketCodec, PacketDecoder
from gsio.protocol.socketio_packet import Packet, PacketType

__all__ = ["LegacyDecoder", "legacy_decoder", "refusal_data", "split_namespace"]

#: The longest query a v4 client's CONNECT may carry in its namespace, in characters (a token:
#: a JWT is often 1 KB).
MAX_QUERY_LENGTH = 8192

_CONNECT = PacketType.CONNECT


def split_namespace(namespace: str) -> tuple[str, dict[str, str] | None]:
    """A v4 client's namespace and the query it carries: ``"/admin?token=x"`` is
    ``("/admin", {"token": "x"})``; without ``?`` the query is None.

    The query is read as ``URLSearchParams`` reads it (``+`` is a space, a malformed ``%`` escape
    stays, invalid UTF-8 becomes U+FFFD, the last of a repeated name wins); a ``#`` and what
    follows are dropped, as ``new URL()`` does. Unlike ``new URL()``, the path is kept as the
    client wrote it (no percent-encoding of non-ASCII characters, no ``..`` resolution), so a
    namespace named ``/é`` is reachable."""
    if "#" in namespace:
        namespace = namespace[: namespace.index("#")]
    path, mark, query = namespace.partition("?")
    if not mark:
        return path, None
    return path, dict(parse_qsl(query, True, errors="replace"))


class LegacyDecoder:
    """A decoder for one v4 client: the packets of ``inner`` (any codec's decoder), with each
    namespace split from its query (:func:`split_namespace`) and a CONNECT's ``data`` (its
    auth) the query's fields, or None without a query: what socket.io 4 does for a v3 client,
    which also ignores a CONNECT's JSON payload.

    :param inner: the decoder of the server's codec, made with a ``max_namespace_length`` that
        leaves room for a query (:func:`legacy_decoder` does that).
    :param max_namespace_length: the longest namespace accepted once its query is split off.
    """

    __slots__ = ("_feed", "inner", "max_namespace_length")

    def __init__(self, inner: PacketDecoder, *, max_namespace_length: int = 256) -> None:
        self.inner = inner
        self._feed = inner.feed
        self.max_namespace_length = max_namespace_length

    @property
    def pending(self) -> bool:
        """Whether a packet is waiting for its binary attachments."""
        return self.inner.pending

    def feed(self, data: str | bytes) -> Packet | None:
        """Decode one Engine.IO message (see :meth:`PacketDecoder.feed`)."""
        packet = self._feed(data)
        if packet is None:
            return None
        namespace = packet.namespace
        if packet.type is not _CONNECT and "?" not in namespace and "#" not in namespace:
            if len(namespace) > self.max_namespace_length:
                raise ProtocolError("namespace too long")
            return packet
        namespace, query = split_namespace(namespace)
        if len(namespace) > self.max_namespace_length:
            raise ProtocolError("namespace too long")
        if packet.type is _CONNECT:
            return Packet(_CONNECT, namespace, query, packet.id)
        return Packet(packet.type, namespace, packet.data, packet.id)

    def feed_event(self, data: str) -> tuple[list[Any], int | None] | None:
        """The short path of the inner decoder: an EVENT on ``/`` has no namespace to split."""
        return self.inner.feed_event(data)


def legacy_decoder(
    codec: PacketCodec,
    *,
    max_attachments: int = 10,
    max_namespace_length: int = 256,
    max_query_length: int = MAX_QUERY_LENGTH,
) -> LegacyDecoder:
    """A decoder for one v4 client of a server using ``codec``: its own decoder, with room for
    a query of ``max_query_length`` characters after the namespace, in a :class:`LegacyDecoder`."""
    inner = codec.decoder(
        max_attachments=max_attachments,
        max_namespace_length=max_namespace_length + 1 + max_query_length,
    )
    return LegacyDecoder(inner, max_namespace_length=max_namespace_length)


def refusal_data(message: str, data: Any = None) -> Any:
    """The data of the ERROR packet refusing a v4 client (a middleware's error): ``data`` if
    JavaScript finds it truthy, else ``message`` (socket.io 4: ``err.data || err.message``)."""
    if data is None or data is False or data == "":
        return message
    if isinstance(data, (int, float)) and not isinstance(data, bool):
        if data == 0 or math.isnan(data):
            return message
    return data
