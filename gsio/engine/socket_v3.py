"""The session of an Engine.IO v3 client (socket.io-client 2.x): :class:`EngineSocketV3`.

It differs from :class:`~gsio.engine.socket.EngineSocket` only in how its WebSocket messages
are framed (:mod:`gsio.protocol.engineio_v3`: a binary message carries the type byte ``0x04``,
or is ``b4<base64>`` in a text frame for a client that asked for ``b64``) and in who pings (the
session's business: :class:`~gsio.protocol.session.Session` with ``protocol=3``). The engine
makes one per v3 handshake (:func:`make_socket`), so a v4 session pays nothing for v3.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gsio.engine.socket import EngineSocket, SocketOwner
from gsio.io.websocket import Data, message_frame
from gsio.protocol.engineio import Packet, PacketType
from gsio.protocol.engineio_v3 import decode_frame, encode_frame
from gsio.protocol.http import parse_query
from gsio.protocol.session import Session, State

__all__ = ["EngineSocketV3", "make_socket", "frames_v3"]

_OPEN = State.OPEN
_MESSAGE = PacketType.MESSAGE

# The last parts framed for v3 clients, per framing (binary or base64): a broadcast hands the
# same parts object to every recipient, so each framing is made once for all of them.
_framed: dict[bool, tuple[Any, bytes]] = {True: (None, b""), False: (None, b"")}


def frames_v3(parts: Sequence[Data], supports_binary: bool) -> bytes:
    """The WebSocket frames of these Engine.IO messages for a v3 client, made once per
    ``parts`` object and framing."""
    last = _framed[supports_binary]
    if last[0] is parts:
        return last[1]
    data = b"".join(
        [
            message_frame(encode_frame(Packet(_MESSAGE, part), supports_binary=supports_binary))
            for part in parts
        ]
    )
    _framed[supports_binary] = (parts, data)
    return data


def make_socket(engine: SocketOwner, session: Session, environ: dict[str, Any]) -> EngineSocket:
    """The socket of a new session: an :class:`EngineSocketV3` for a v3 one."""
    if session.protocol == 3:
        return EngineSocketV3(engine, session, environ)
    return EngineSocket(engine, session, environ)


class EngineSocketV3(EngineSocket):
    """An Engine.IO v3 session. :attr:`supports_binary` is whether the client takes binary
    (its handshake had no ``b64`` query parameter): else binary messages go as base64 text."""

    __slots__ = ("supports_binary",)

    def __init__(self, engine: SocketOwner, session: Session, environ: dict[str, Any]) -> None:
        super().__init__(engine, session, environ)
        self.supports_binary = "b64" not in parse_query(environ)

    def _frame(self, packet: Packet) -> bytes:
        return message_frame(encode_frame(packet, supports_binary=self.supports_binary))

    def send_parts(self, parts: Sequence[Data], volatile: bool = False) -> bool:
        ws = self.ws
        if ws is not None and self._direct() and self._c.in_home_thread():
            if volatile and ws.backlog:
                return False
            if ws.send_frames(frames_v3(parts, self.supports_binary)):
                return True
            self._overflow()
            return False
        return super().send_parts(parts, volatile)

    def receive_frame(self, frame: Data) -> None:
        packet = decode_frame(frame)
        if packet.type is _MESSAGE and self.session.state is _OPEN:
            self.engine.handler.on_message(self, packet.data)
            return
        self.receive_packets((packet,))
