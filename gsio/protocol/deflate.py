"""Per-message deflate (RFC 7692): compressing the server's messages and inflating the
client's, with a hard bound. Pure: zlib computes, nothing here does I/O.

:class:`PerMessageDeflate` is what an engine holds when ``per_message_deflate`` is on: it
negotiates (:mod:`gsio.protocol.extensions`), hands out the framer a connection's messages
are made with, and the inflater its reader uses.

- Outgoing (:class:`DeflateFramer`): each message of at least ``threshold`` bytes is compressed
  into one frame with RSV1 set; smaller ones, and those of an :class:`Uncompressed` packet (the
  ``compress`` flag off), are sent as they are. With ``server_no_context_takeover`` (gsio's
  default, always answered) a message's compressed bytes depend only on the message and the
  window: one framer is shared by every connection with the same window, and a broadcast is
  compressed once for all of them, as it is framed once without deflate.
- Incoming (:class:`Inflater`): a compressed message is inflated at most to ``max_payload``
  bytes plus one; past that the connection is closed with 1009 before any more is produced, so
  a few kilobytes that would inflate to gigabytes cost no more than ``max_payload``.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from typing import Any, Callable, Union

from gsio.protocol.extensions import DeflateOption, DeflateOptions, DeflateParams, negotiate
from gsio.protocol.frames import OP_BINARY, OP_TEXT, FrameError, deflated_frame, frame

__all__ = ["PerMessageDeflate", "DeflateFramer", "Inflater", "Uncompressed", "with_extension"]

_TRAILER = b"\x00\x00\xff\xff"  # what a sync flush ends with, left out on the wire (7.2.1)

Data = Union[str, bytes]


class Uncompressed(list):  # type: ignore[type-arg]
    """An encoded packet (its parts) sent without compression: the ``compress`` flag off, as
    ``socket.compress(false)`` in Node."""

    __slots__ = ()


def with_extension(answer: bytes, params: DeflateParams) -> bytes:
    """The handshake's ``101`` answer with the ``Sec-WebSocket-Extensions`` header agreed."""
    head = answer[:-2]  # the answer ends with the empty line
    return head + b"Sec-WebSocket-Extensions: " + params.answer.encode("ascii") + b"\r\n\r\n"


class Inflater:
    """Inflates a client's compressed messages (the payload of a message with RSV1 set),
    keeping the window between messages unless ``client_no_context_takeover`` was agreed.

    Raises :class:`FrameError` with 1009 once a message would inflate to more than
    ``max_payload`` bytes (zlib stops there: the rest is never produced), and with 1007 for
    data that is not DEFLATE.
    """

    __slots__ = ("_max", "_bits", "_keep", "_d")

    def __init__(self, params: DeflateParams, max_payload: int) -> None:
        self._max = max_payload
        self._bits = -params.client_window_bits
        self._keep = not params.client_no_context_takeover
        self._d: Any = zlib.decompressobj(self._bits) if self._keep else None

    def __call__(self, data: bytes) -> bytes:
        d = self._d or zlib.decompressobj(self._bits)
        limit = self._max
        try:
            # At most limit + 1 bytes: zlib stops there, with the rest of the input unread.
            out = d.decompress(data, limit + 1)
            if len(out) <= limit:
                out += d.decompress(_TRAILER, limit + 1 - len(out))
        except zlib.error as exc:
            raise FrameError(f"invalid compressed message ({exc})", 1007) from None
        if len(out) > limit:
            raise FrameError(f"message over {limit} bytes once inflated", 1009)
        if self._keep and d.eof:  # the client ended its stream (BFINAL): a new one follows
            self._d = zlib.decompressobj(self._bits)
        return out


class DeflateFramer:
    """Makes the frames of Engine.IO messages for connections that agreed on ``params``: as
    :meth:`gsio.Engine.frames_of`, each message compressed when it has ``threshold`` bytes or
    more (and the packet is not :class:`Uncompressed`)."""

    __slots__ = ("_threshold", "_c", "_flush", "_shared", "_last")

    def __init__(self, options: DeflateOptions, params: DeflateParams) -> None:
        self._threshold = options.threshold
        bits = -params.server_window_bits
        self._c: Any = zlib.compressobj(options.level, zlib.DEFLATED, bits, options.mem_level)
        # Without context takeover, a full flush ends each message: it resets the compressor,
        # so that nothing refers to an earlier message (the bytes are those of a new
        # compressor, made four times faster for a 2 kB message), and the framer is shared.
        self._shared = params.server_no_context_takeover
        self._flush = zlib.Z_FULL_FLUSH if self._shared else zlib.Z_SYNC_FLUSH
        self._last: tuple[Any, bytes] = (None, b"")  # the last parts framed, and their frames

    def compress(self, payload: bytes) -> bytes:
        """``payload`` compressed as one message (the flush's trailer left out, RFC 7692 7.2.1)."""
        c = self._c
        out: bytes = c.compress(payload) + c.flush(self._flush)
        return out[:-4] if out[-4:] == _TRAILER else out

    def frames_of(self, parts: Sequence[Data]) -> bytes:
        """The frames of these messages (``"4"`` before text), made once for a broadcast when
        the framer is shared: the same ``parts`` object is handed over for every recipient."""
        last = self._last
        if last[0] is parts:
            return last[1]
        threshold = -1 if type(parts) is Uncompressed else self._threshold
        out = []
        for part in parts:
            if type(part) is str:
                payload, opcode = ("4" + part).encode("utf-8"), OP_TEXT
            else:
                payload, opcode = part, OP_BINARY  # type: ignore[assignment]
            if 0 <= threshold <= len(payload):
                out.append(deflated_frame(opcode, self.compress(payload)))
            else:
                out.append(frame(opcode, payload))
        data = out[0] if len(out) == 1 else b"".join(out)
        if self._shared:  # the same bytes for the next connection with this window
            self._last = (parts, data)
        return data


class PerMessageDeflate:
    """An engine's per-message deflate: its :class:`DeflateOptions`, the negotiation, and the
    framers shared by connections that agreed on the same window."""

    __slots__ = ("options", "_framers")

    def __init__(self, options: DeflateOptions) -> None:
        self.options = options
        self._framers: dict[int, DeflateFramer] = {}

    @classmethod
    def of(cls, value: DeflateOption) -> PerMessageDeflate | None:
        """None when ``value`` turns it off (False, None); else see :meth:`DeflateOptions.of`."""
        options = DeflateOptions.of(value)
        return None if options is None else cls(options)

    def negotiate(self, header: str | None) -> DeflateParams | None:
        """The parameters agreed with a client's ``Sec-WebSocket-Extensions``, or None."""
        return negotiate(header, self.options)

    def framer(self, params: DeflateParams) -> Callable[[Sequence[Data]], bytes]:
        """``frames_of(parts) -> bytes`` for a connection that agreed on ``params``."""
        if not params.server_no_context_takeover:
            return DeflateFramer(self.options, params).frames_of  # its own compressor
        framer = self._framers.get(params.server_window_bits)
        if framer is None:
            framer = self._framers[params.server_window_bits] = DeflateFramer(self.options, params)
        return framer.frames_of

    def inflater(self, params: DeflateParams, max_payload: int) -> Inflater:
        """The inflater of a connection that agreed on ``params``."""
        return Inflater(params, max_payload)
