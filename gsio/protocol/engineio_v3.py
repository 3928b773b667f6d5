"""Engine.IO v3 (socket.io-client 2.x) polling payloads and WebSocket frames: a pure codec.

The packets are those of v4 (:class:`~gsio.protocol.engineio.Packet`); what differs is framing:

- a text polling payload is ``<length>:<packet>`` repeated, the length counted in UTF-16 code units
  as JavaScript counts a string (``"€"`` is ``2:4€``, an astral character counts 2), the empty
  payload is ``0:``, and a binary message inside it is ``b4<base64>``;
- when the client supports binary (its handshake had no ``b64``) and a packet is binary, the
  whole payload is binary: per packet ``0x00`` (text) or ``0x01`` (binary), its length in bytes as
  one byte per decimal digit, ``0xFF``, then the UTF-8 text or the type byte and the data;
- a binary WebSocket message carries the type byte ``0x04`` before its data (``b4<base64>`` in
  a text frame when the client asked for ``b64``).

What this module follows is the v3 parser of Node's engine.io 6 (``build/parser-v3/index.js``,
"imported from engine.io-parser 2.2.x"); the line numbers in comments are that file's, as in
``tests/js/node_modules/engine.io/build/parser-v3/index.js``. It is stricter than that parser
where a client never sends what it accepts: a length is ASCII digits only, base64 is validated,
and a binary packet must be a MESSAGE. Malformed input raises
:class:`~gsio.exceptions.ProtocolError` (reason "parse error") and nothing else.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence

from gsio.exceptions import ProtocolError
from gsio.protocol.engineio import Packet, PacketType, decode

__all__ = [
    "TEXT_CONTENT_TYPE",
    "BINARY_CONTENT_TYPE",
    "encode_payload",
    "encode_text_payload",
    "encode_binary_payload",
    "decode_payload",
    "decode_text_payload",
    "decode_binary_payload",
    "encode_frame",
    "decode_frame",
    "js_length",
]

#: The Content-Type of a text payload and of a binary one, as Node's polling transport sends
#: them (``build/transports/polling.js``, ``doWrite``).
TEXT_CONTENT_TYPE = "text/plain; charset=UTF-8"
BINARY_CONTENT_TYPE = "application/octet-stream"

_DIGITS = "0123456"
_MESSAGE = PacketType.MESSAGE
# A length longer than this many digits is past any body gsio accepts (and int() of thousands of
# digits raises ValueError on Python 3.11+): refused before it is parsed.
_MAX_LENGTH_DIGITS = 12
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")
_SURROGATE = re.compile("[\ud800-\udfff]")
# The binary payload's length digits are the bytes 0..9; these turn them into ASCII and back.
_DIGIT_BYTES = bytes(range(10))
_TO_ASCII = bytes.maketrans(_DIGIT_BYTES, b"0123456789")
_FROM_ASCII = bytes.maketrans(b"0123456789", _DIGIT_BYTES)


# -- UTF-16 lengths and UTF-8 text --------------------------------------------------------------


def js_length(text: str) -> int:
    """The length of ``text`` as JavaScript counts it: UTF-16 code units (an astral character
    counts 2, a lone surrogate 1)."""
    if text.isascii():
        return len(text)
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


def _split_astral(match: re.Match[str]) -> str:
    code = ord(match.group()) - 0x10000
    return chr(0xD800 | code >> 10) + chr(0xDC00 | code & 0x3FF)


def _to_units(text: str) -> str:
    """``text`` with each astral character as its two surrogates: a string whose ``len()`` and
    slices count UTF-16 code units, as JavaScript's do."""
    if text.isascii() or _ASTRAL.search(text) is None:
        return text
    return _ASTRAL.sub(_split_astral, text)


def _from_units(units: str) -> str:
    """The inverse of :func:`_to_units`: surrogate pairs joined again (a pair a length cut in
    two stays as two lone surrogates, as the JavaScript string would hold them)."""
    if units.isascii() or _SURROGATE.search(units) is None:
        return units
    return units.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


def _utf8(text: str) -> bytes:
    """UTF-8 as Node writes a string: a lone surrogate becomes U+FFFD."""
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", _from_units(text)).encode("utf-8")


def _text_of(data: bytes) -> str:
    """A binary payload's text packet: UTF-8 as utf8.js decodes it (``{strict: false}``, line
    162): an encoded surrogate becomes U+FFFD, anything else invalid is an error."""
    try:
        text = data.decode("utf-8", "surrogatepass")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"payload is not valid UTF-8: {exc.reason}") from None
    if not text.isascii() and _SURROGATE.search(text) is not None:
        text = _SURROGATE.sub("\ufffd", text)
    return text


# -- one packet ---------------------------------------------------------------------------------


def _base64_packet(packet: Packet, data: bytes) -> str:
    # encodeBase64Packet (lines 105-110): "b", the type digit, the base64.
    return "b" + _DIGITS[packet.type] + base64.b64encode(data).decode("ascii")


def _decode_text_packet(text: str) -> Packet:
    """One packet of a payload or a text frame; ``b<type><base64>`` is a binary message."""
    if text[:1] != "b":
        return decode(text)
    # decodeBase64Packet (lines 175-187); Node takes any type there, and Buffer.from(..,
    # "base64") skips what is not base64: gsio wants a MESSAGE and valid base64.
    if text[1:2] != "4":
        raise ProtocolError("invalid type in base64 packet")
    try:
        data = base64.b64decode(text[2:], validate=True)
    except (binascii.Error, ValueError):
        raise ProtocolError("invalid base64 in binary packet") from None
    return Packet(_MESSAGE, data)


def encode_frame(packet: Packet, *, supports_binary: bool) -> str | bytes:
    """One packet as a WebSocket message (``str``: a text frame, ``bytes``: a binary one).

    A binary message is its type byte ``0x04`` and its data, or ``b4<base64>`` in a text frame
    when the client does not support binary (encodeBuffer, lines 90-98)."""
    data = packet.data
    if isinstance(data, bytes):
        if supports_binary:
            return bytes((packet.type,)) + data
        return _base64_packet(packet, data)
    return _DIGITS[packet.type] + data


def decode_frame(frame: str | bytes | bytearray) -> Packet:
    """One WebSocket message from a v3 client as a packet (decodePacket, lines 118-158): a
    binary message starts with its type byte, ``0x04``; a text ``b4<base64>`` is one too."""
    if isinstance(frame, str):
        if not frame:
            raise ProtocolError("empty packet")
        return _decode_text_packet(frame)
    if frame[:1] != b"\x04":
        raise ProtocolError("invalid type in binary packet")
    return Packet(_MESSAGE, bytes(frame[1:]))


# -- payloads -----------------------------------------------------------------------------------


def encode_text_payload(packets: Sequence[Packet]) -> str:
    """Packets as a text payload (encodePayload, lines 204-227): ``<length>:<packet>`` each,
    the length in UTF-16 code units; a binary message as ``b4<base64>``; none at all is ``0:``."""
    if not packets:
        return "0:"
    parts = []
    for packet in packets:
        data = packet.data
        if isinstance(data, bytes):
            text = _base64_packet(packet, data)
        else:
            text = _DIGITS[packet.type] + data
        parts.append(f"{js_length(text)}:{text}")
    return "".join(parts)


def _length_header(binary: int, length: int) -> bytes:
    return bytes((binary,)) + str(length).encode("ascii").translate(_FROM_ASCII) + b"\xff"


def encode_binary_payload(packets: Sequence[Packet]) -> bytes:
    """Packets as a binary payload (encodePayloadAsBinary, lines 350-381): per packet ``0x00``
    and its UTF-8 text, or ``0x01`` and its type byte and data, each after its length in bytes,
    one byte per decimal digit, and ``0xFF``."""
    out = bytearray()
    for packet in packets:
        data = packet.data
        if isinstance(data, bytes):
            out += _length_header(1, len(data) + 1)
            out.append(packet.type)
            out += data
        else:
            blob = _utf8(_DIGITS[packet.type] + data)
            out += _length_header(0, len(blob))
            out += blob
    return bytes(out)


def encode_payload(packets: Sequence[Packet], *, supports_binary: bool) -> tuple[bytes, str]:
    """The body of a polling response and its Content-Type, as Node chooses (line 209): binary
    when the client supports binary (no ``b64`` in its handshake) and a packet is binary, else
    UTF-8 text."""
    if supports_binary:
        for packet in packets:
            if isinstance(packet.data, bytes):
                return encode_binary_payload(packets), BINARY_CONTENT_TYPE
    return _utf8(encode_text_payload(packets)), TEXT_CONTENT_TYPE


def _too_many(packets: list[Packet], max_packets: int | None) -> None:
    if max_packets is not None and len(packets) > max_packets:
        raise ProtocolError(f"payload holds more than {max_packets} packets")


def decode_text_payload(body: str, max_packets: int | None = None) -> list[Packet]:
    """A text payload's packets (decodePayload, lines 250-297). The empty body, a length that
    is not digits before a ``:``, one longer than what follows, and trailing characters are
    errors; a zero length (``0:``) holds no packet."""
    if not body:
        raise ProtocolError("empty payload")
    units = _to_units(body)
    size = len(units)
    packets: list[Packet] = []
    i = 0
    while i < size:
        colon = units.find(":", i, i + _MAX_LENGTH_DIGITS + 1)
        digits = units[i:colon]
        if colon < 0 or not digits or not (digits.isascii() and digits.isdigit()):
            raise ProtocolError("invalid length in payload")
        start = colon + 1
        end = start + int(digits)
        if end > size:
            raise ProtocolError("payload shorter than its length")
        if end > start:
            packets.append(_decode_text_packet(_from_units(units[start:end])))
            _too_many(packets, max_packets)
        i = end
    return packets


def decode_binary_payload(body: bytes, max_packets: int | None = None) -> list[Packet]:
    """A binary payload's packets (decodePayloadAsBinary, lines 390-423). The first byte of a
    packet must be 0 or 1 and its length 1 to 12 digit bytes then ``0xFF``, no longer than what
    follows (Node truncates); a binary packet must be a MESSAGE. An empty body holds no packet."""
    packets: list[Packet] = []
    size = len(body)
    i = 0
    while i < size:
        kind = body[i]
        end_digits = body.find(b"\xff", i + 1, i + _MAX_LENGTH_DIGITS + 2)
        digits = body[i + 1 : end_digits]
        if kind > 1 or end_digits < 0 or not digits or digits.translate(None, _DIGIT_BYTES):
            raise ProtocolError("invalid length in binary payload")
        start = end_digits + 1
        end = start + int(digits.translate(_TO_ASCII))
        if end > size:
            raise ProtocolError("payload shorter than its length")
        if kind == 0:
            text = _text_of(body[start:end])
            if not text:
                raise ProtocolError("empty packet")
            packets.append(_decode_text_packet(text))
        elif end > start and body[start] == _MESSAGE:
            packets.append(Packet(_MESSAGE, body[start + 1 : end]))
        else:
            raise ProtocolError("invalid type in binary packet")
        _too_many(packets, max_packets)
        i = end
    return packets


def decode_payload(body: bytes, *, binary: bool, max_packets: int | None = None) -> list[Packet]:
    """A polling POST's packets: ``binary`` when it came as ``application/octet-stream`` (which
    only v3 clients may send), else UTF-8 text (invalid UTF-8 is an error)."""
    if binary:
        return decode_binary_payload(bytes(body), max_packets)
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"payload is not valid UTF-8: {exc.reason}") from None
    return decode_text_payload(text, max_packets)
