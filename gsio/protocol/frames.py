"""WebSocket frames (RFC 6455), the server's side: a pure codec (no I/O, no clock).

:class:`FrameReader` turns the bytes a client sent into messages and control frames, checking
what a server must check (masking, reserved bits, opcodes, control frame rules, UTF-8 in text,
``max_payload`` before anything over it is buffered, at most :data:`MAX_FRAGMENTS` frames a
message; RSV1, only on a message's first frame, and only when per-message deflate was
negotiated: ``FrameReader(inflate=...)``) and raising :class:`FrameError` with the
close code to answer. :func:`frame`, :func:`text_frame` and :func:`close_frame` make the
server's unmasked frames; :func:`handshake_answer` the ``101 Switching Protocols`` response.

Unmasking is the one costly step of parsing. :func:`unmask` is pure Python (XOR over whole
payloads as integers); the transport passes a faster implementation, if one is installed, as
``FrameReader(unmask=...)``.
"""

from __future__ import annotations

import base64
import hashlib
import struct
from typing import Callable, Union

from gsio.exceptions import ProtocolError

__all__ = [
    "FrameError",
    "FrameReader",
    "Ping",
    "Pong",
    "Close",
    "frame",
    "deflated_frame",
    "text_frame",
    "close_frame",
    "handshake_answer",
    "unmask",
    "MAX_FRAGMENTS",
]

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

# Close codes a peer may send (RFC 6455 7.4.1; 1004-1006 and 1015 are never sent, 1016-2999
# are unassigned); 3000-4999 are for libraries and applications.
_SENDABLE_CODES = frozenset(
    (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014)
)

#: The most frames a message may come in (its first and its continuations): a client that sends
#: more (an endless stream of tiny or empty fragments costs it nothing and the server a list
#: entry each) is refused with 1008, policy violation, as Node's ``ws`` does.
MAX_FRAGMENTS = 1000

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


class FrameError(ProtocolError):
    """A client broke the WebSocket protocol; ``close_code`` is the code to close with
    (1002 protocol error, 1007 invalid UTF-8, 1008 too many fragments, 1009 too big)."""

    def __init__(self, message: str, close_code: int = 1002) -> None:
        super().__init__(message, reason="transport error")
        self.close_code = close_code


class Ping:
    """A ping from the client: answer it with a pong carrying ``payload``."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class Pong:
    """A pong from the client (unsolicited ones are allowed and mean nothing)."""

    __slots__ = ("payload",)

    def __init__(self, payload: bytes) -> None:
        self.payload = payload


class Close:
    """The client's close frame: ``code`` (1005 when it gave none) and ``reason``."""

    __slots__ = ("code", "reason")

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason


Event = Union[str, bytes, Ping, Pong, Close]


def unmask(data: bytes, key: bytes) -> bytes:
    """XOR ``data`` with the 4-byte masking ``key`` repeated (RFC 6455 5.3)."""
    n = len(data)
    q, r = divmod(n, 4)
    mask = int.from_bytes(key * q + key[:r], "little")
    return (int.from_bytes(data, "little") ^ mask).to_bytes(n, "little")


_NO_FRAGMENTS: list[bytes] = []  # never appended to: a continuation needs a message first


class FrameReader:
    """Parses the frames a client sends.

    :param max_payload: the largest message accepted, in bytes (fragments added up). A frame
        announcing more raises :class:`FrameError` with 1009 before its payload is buffered.
    :param unmask: ``unmask(data, key) -> bytes``, :func:`unmask` unless a faster one is given.
    :param max_fragments: the most frames a message may come in; the frame after raises
        :class:`FrameError` with 1008 before its payload is buffered.
    :param inflate: ``inflate(payload) -> bytes`` when per-message deflate was negotiated: a
        message whose first frame has RSV1 set is passed through it (which raises
        :class:`FrameError` for what it refuses); None: RSV1 is refused with 1002.

    :meth:`feed` takes the bytes as they arrive and returns the complete events: ``str`` (a
    text message), ``bytes`` (a binary message), :class:`Ping`, :class:`Pong`, :class:`Close`.
    After a :class:`Close` or an error, the reader must not be fed again.
    """

    __slots__ = (
        "max_payload",
        "max_fragments",
        "_unmask",
        "_chunks",
        "_have",
        "_need",
        "_frag_op",
        "_frags",
        "_frag_size",
        "_inflate",
    )

    def __init__(
        self,
        max_payload: int,
        unmask: Callable[[bytes, bytes], bytes] = unmask,
        max_fragments: int = MAX_FRAGMENTS,
        inflate: Callable[[bytes], bytes] | None = None,
    ) -> None:
        self.max_payload = max_payload
        self.max_fragments = max_fragments
        self._unmask = unmask
        self._chunks: list[bytes] | None = None  # what arrived but is no complete frame yet
        self._have = 0  # their total length
        self._need = 2  # the length that can hold the next frame, as far as known
        self._frag_op = 0  # the opcode of the fragmented message under way, 0 if none
        self._frags: list[bytes] = _NO_FRAGMENTS
        self._frag_size = 0
        self._inflate = inflate

    def feed_text(self, data: bytes) -> str | None:
        """The common read made short: when ``data`` is exactly one whole, short, masked text
        frame and nothing is under way, its text (the reader's state is unchanged); else None,
        and nothing is consumed: :meth:`feed` then takes ``data``."""
        n = len(data) - 6
        if (
            0 < n < 126
            and data[0] == 0x81  # FIN, no RSV bit, text
            and data[1] == n | 0x80  # masked, this length
            and self._chunks is None
            and not self._frag_op
            and n <= self.max_payload
        ):
            try:
                return self._unmask(data[6:], data[2:6]).decode("utf-8")
            except UnicodeDecodeError:
                return None  # (feed() refuses it, with its close code)
        return None

    def feed(self, data: bytes) -> list[Event]:
        """Take the next bytes from the client; returns the events they complete."""
        chunks = self._chunks
        if chunks:
            chunks.append(data)
            self._have += len(data)
            if self._have < self._need:
                return []
            data = b"".join(chunks)
            self._chunks = None
        events: list[Event] = []
        pos = self._parse(data, events)
        rest = len(data) - pos
        if rest:
            self._chunks = [data[pos:] if pos else data]
            self._have = rest
        return events

    def _parse(self, data: bytes, events: list[Event]) -> int:
        """Parse every complete frame of ``data``; returns where the first incomplete one starts."""
        end = len(data)
        pos = 0
        while end - pos >= 2:
            b0 = data[pos]
            b1 = data[pos + 1]
            length = b1 & 0x7F
            head = pos + 2
            if length >= 126:
                if length == 126:
                    if end - head < 2:
                        self._need = 4
                        return pos
                    length = int.from_bytes(data[head : head + 2], "big")
                    head += 2
                else:
                    if end - head < 8:
                        self._need = 10
                        return pos
                    length = int.from_bytes(data[head : head + 8], "big")
                    head += 8
            opcode = b0 & 0x0F
            if b0 & 0x70 and (
                b0 & 0x70 != 0x40 or self._inflate is None or not OP_TEXT <= opcode <= OP_BINARY
            ):
                # RSV1 means "compressed" (RFC 7692 6): on a message's first frame only.
                raise FrameError("reserved bits set (no extension was negotiated for them)")
            if not b1 & 0x80:
                raise FrameError("unmasked frame from a client")
            if opcode >= 8:
                if length > 125 or not b0 & 0x80:
                    raise FrameError("control frame fragmented or over 125 bytes")
            elif length + self._frag_size > self.max_payload:
                # Refused before the payload is read: nothing over the limit is buffered.
                raise FrameError(f"message over {self.max_payload} bytes", 1009)
            elif opcode == OP_CONTINUATION and len(self._frags) >= self.max_fragments:
                raise FrameError(f"message in over {self.max_fragments} fragments", 1008)
            stop = head + 4 + length
            if stop > end:
                self._need = stop - pos
                return pos
            payload = data[head + 4 : stop]
            if length:
                payload = self._unmask(payload, data[head : head + 4])
            pos = stop
            if opcode == OP_TEXT or opcode == OP_BINARY:
                if self._frag_op:
                    raise FrameError("new message inside a fragmented one")
                if b0 & 0x80:
                    if b0 & 0x40:
                        payload = self._inflate(payload)  # type: ignore[misc]
                    events.append(_message(opcode, payload))
                else:
                    self._frag_op = opcode | (b0 & 0x40)  # with the message's RSV1
                    self._frags = [payload]  # a new list: the idle reader shares an empty one
                    self._frag_size = length
            elif opcode == OP_CONTINUATION:
                if not self._frag_op:
                    raise FrameError("continuation frame without a message")
                self._frags.append(payload)
                self._frag_size += length
                if b0 & 0x80:
                    payload = b"".join(self._frags)
                    if self._frag_op & 0x40:
                        payload = self._inflate(payload)  # type: ignore[misc]
                    events.append(_message(self._frag_op & 0x0F, payload))
                    self._frag_op = 0
                    self._frags = _NO_FRAGMENTS
                    self._frag_size = 0
            elif opcode == OP_PING:
                events.append(Ping(payload))
            elif opcode == OP_PONG:
                events.append(Pong(payload))
            elif opcode == OP_CLOSE:
                events.append(_close(payload))
                return end  # nothing after a close frame counts
            else:
                raise FrameError(f"unknown opcode {opcode}")
        self._need = 2
        return pos


def _message(opcode: int, payload: bytes) -> str | bytes:
    if opcode == OP_BINARY:
        return payload
    try:
        return payload.decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError("invalid UTF-8 in a text message", 1007) from None


def _close(payload: bytes) -> Close:
    if not payload:
        return Close(1005, "")
    if len(payload) == 1:
        raise FrameError("close frame with a 1-byte payload")
    code = int.from_bytes(payload[:2], "big")
    if code not in _SENDABLE_CODES and not 3000 <= code <= 4999:
        raise FrameError(f"invalid close code {code}")
    try:
        reason = payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError("invalid UTF-8 in a close reason", 1007) from None
    return Close(code, reason)


# The 2-byte headers of short unfragmented text and binary frames, made once.
_SHORT_HEADERS = {
    op: [bytes((0x80 | op, n)) for n in range(126)] for op in (OP_TEXT, OP_BINARY, OP_PONG)
}


def frame(opcode: int, payload: bytes) -> bytes:
    """One unfragmented, unmasked frame (the server's)."""
    n = len(payload)
    if n < 126:
        headers = _SHORT_HEADERS.get(opcode)
        head = headers[n] if headers is not None else bytes((0x80 | opcode, n))
    elif n < 65536:
        head = struct.pack("!BBH", 0x80 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0x80 | opcode, 127, n)
    return head + payload


_SHORT_TEXT = _SHORT_HEADERS[OP_TEXT]


def deflated_frame(opcode: int, payload: bytes) -> bytes:
    """One unfragmented frame holding a compressed message (RSV1 set, RFC 7692 6)."""
    n = len(payload)
    if n < 126:
        head = bytes((0xC0 | opcode, n))
    elif n < 65536:
        head = struct.pack("!BBH", 0xC0 | opcode, 126, n)
    else:
        head = struct.pack("!BBQ", 0xC0 | opcode, 127, n)
    return head + payload


def text_frame(text: str) -> bytes:
    """A text frame holding ``text``."""
    payload = text.encode("utf-8")
    n = len(payload)
    if n < 126:
        return _SHORT_TEXT[n] + payload
    return frame(OP_TEXT, payload)


def close_frame(code: int = 1000, reason: str = "") -> bytes:
    """A close frame with ``code`` (none for 1005, "no status")."""
    if code == 1005:
        return frame(OP_CLOSE, b"")
    return frame(OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8")[:123])


def handshake_answer(
    method: str,
    upgrade: str,
    connection: str,
    key: str,
    version: str,
    protocol: str = "HTTP/1.1",
) -> bytes:
    """The ``101 Switching Protocols`` answer to an opening handshake (RFC 6455 4.2), from the
    request's method, its Upgrade, Connection, Sec-WebSocket-Key and -Version headers, and its
    HTTP version (``protocol``, as in the request line). Raises :class:`ProtocolError` for a
    request that is not a valid one: the one check of every WebSocket backend."""
    if method != "GET":
        raise ProtocolError(f"websocket handshake with {method}")
    if protocol != "HTTP/1.1":  # the one version with GET and Upgrade for WebSocket
        raise ProtocolError(f"websocket handshake over {protocol[:20]!r}, not HTTP/1.1")
    if upgrade.lower() != "websocket":
        raise ProtocolError("no Upgrade: websocket header")
    if "upgrade" not in (token.strip().lower() for token in connection.split(",")):
        raise ProtocolError("no Connection: Upgrade header")
    if version.strip() != "13":
        raise ProtocolError(f"unsupported Sec-WebSocket-Version {version!r}")
    try:
        nonce = base64.b64decode(key.strip().encode("ascii"), validate=True)
    except (ValueError, UnicodeEncodeError):
        nonce = b""
    if len(nonce) != 16:
        raise ProtocolError("invalid Sec-WebSocket-Key")
    accept = base64.b64encode(hashlib.sha1(key.strip().encode("ascii") + _GUID).digest())
    return (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n"
    )
