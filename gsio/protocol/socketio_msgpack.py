"""Socket.IO packets as the npm ``socket.io-msgpack-parser`` (3.x) writes them: a pure codec.

Each packet is one binary Engine.IO message, the msgpack of the map ``{type, data, nsp, id}``
(``data`` and ``id`` left out when absent). There are no attachments: binary travels inside as
msgpack ``bin``, ``bytes`` in Python both ways. Only types 0 to 4 exist (CONNECT, DISCONNECT,
EVENT, ACK, CONNECT_ERROR); an EVENT or ACK carrying binary keeps its type.

What a peer sends is checked as the npm parser checks it (a map; ``type`` an integer 0..4;
``nsp`` a string; ``data`` absent or a map for CONNECT, absent for DISCONNECT, a string or a map
for CONNECT_ERROR, an array otherwise; ``id`` absent or an integer; other keys, such as the
``options`` socket.io-client adds, ignored), plus what gsio's JSON decoder checks too (an EVENT
names a string event that is not reserved, an ACK has an id, an id is a safe non-negative
integer, the namespace length). Anything else raises :class:`~gsio.exceptions.ProtocolError`:
not msgpack, trailing bytes, nesting past msgpack's limit (1024), a text message.

notepack, the npm parser's msgpack, has extension values of its own, read here as JSON would
carry them: ``undefined`` (fixext 1, type 0) is None, a ``Date`` (fixext 8, type 0) is its ISO
text (``JSON.stringify``'s), an ``ArrayBuffer`` from Node (ext type 0 of another size) is
``bytes``, and another extension is ``[type, bytes]`` as notepack decodes it. Python's msgpack
does not say which format an extension came in, so an ``ArrayBuffer`` of exactly 1 or 8 bytes
from Node reads as ``undefined`` or a Date (browsers and Node's ``Buffer`` send ``bin``).

The ``msgpack`` package is imported when a :class:`MsgpackCodec` is made, so that gsio runs
without it for JSON servers; without it, making one raises :class:`ImportError` with the fix.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from gsio.exceptions import ProtocolError
from gsio.protocol.socketio_packet import RESERVED_EVENTS, Packet, PacketType

__all__ = ["MsgpackCodec", "MsgpackDecoder", "js_date_text"]

_TYPES = tuple(PacketType)[:5]
_CONNECT, _DISCONNECT, _EVENT, _ACK, _CONNECT_ERROR = _TYPES
# JavaScript numbers hold integers exactly up to 2**53 - 1 (Number.MAX_SAFE_INTEGER).
_MAX_ID = 2**53 - 1
# The range of a JavaScript Date, in milliseconds either side of 1970 (a later one is Invalid).
_MAX_DATE_MS = 8.64e15


class MsgpackCodec:
    """The codec of ``Server(parser="msgpack")``, compatible with ``socket.io-msgpack-parser``
    3.x (see the module's docstring). It holds no per-connection state.

    Python values go out as msgpack's: ``bytes``, ``bytearray`` and ``memoryview`` as ``bin``
    (a ``Buffer`` in Node, an ``ArrayBuffer`` in a browser), tuples as arrays; floats as float64 (NaN and infinities
    included, which JSON would make null); an int past 64 bits raises ``OverflowError`` and
    data nested deeper than 511 levels ``ValueError``; anything else msgpack cannot hold
    raises ``TypeError``, as the JSON codec does.

    :raises ImportError: the ``msgpack`` package is not installed.
    """

    __slots__ = ("_packb", "_unpackb")

    def __init__(self) -> None:
        try:
            import msgpack
        except ImportError:
            raise ImportError(
                "the msgpack parser needs the msgpack package: pip install 'gsio[msgpack]'"
            ) from None
        # Lone surrogates (a JSON peer's "\ud800") go out as their 3 bytes, which Node decodes
        # to U+FFFD; invalid UTF-8 comes in as U+FFFD, as Node's Buffer.toString("utf8") reads it.
        self._packb: Callable[[Any], bytes] = functools.partial(
            msgpack.packb, use_bin_type=True, default=_default, unicode_errors="surrogatepass"
        )
        self._unpackb: Callable[[bytes], Any] = functools.partial(
            msgpack.unpackb,
            raw=False,
            strict_map_key=True,
            ext_hook=_ext,
            unicode_errors="replace",
        )

    def encode(self, packet: Packet) -> list[str | bytes]:
        """The one binary message of ``packet``."""
        return self.encode_fields(packet.type, packet.namespace, packet.data, packet.id)

    def encode_fields(
        self, t: PacketType, namespace: str, data: object, id: int | None
    ) -> list[str | bytes]:
        """:meth:`encode` of ``Packet(t, namespace, data, id)`` without the packet."""
        if t > 4:  # BINARY_EVENT, BINARY_ACK: binary needs no type of its own here
            t = _TYPES[t - 3]
        # Node's key order: {type, data, id} as a socket makes it, then nsp as it sends it.
        fields: dict[str, Any] = {"type": int(t)}
        if data is not None:
            fields["data"] = data
        if id is not None:
            fields["id"] = id
        fields["nsp"] = namespace
        return [self._packb(fields)]

    def decoder(
        self, *, max_attachments: int = 10, max_namespace_length: int = 256
    ) -> MsgpackDecoder:
        """A :class:`MsgpackDecoder` (``max_attachments`` does not apply: no attachments)."""
        return MsgpackDecoder(self._unpackb, max_namespace_length=max_namespace_length)

    def __repr__(self) -> str:
        return "MsgpackCodec()"


class MsgpackDecoder:
    """One connection's decoder for :class:`MsgpackCodec`: one binary message, one packet.

    :param unpackb: the codec's msgpack reader.
    :param max_namespace_length: the longest namespace accepted, in characters.
    """

    __slots__ = ("_unpackb", "max_namespace_length")

    def __init__(self, unpackb: Callable[[bytes], Any], *, max_namespace_length: int = 256) -> None:
        self._unpackb = unpackb
        self.max_namespace_length = max_namespace_length

    @property
    def pending(self) -> bool:
        """Always False: a packet never waits for attachments."""
        return False

    def feed(self, data: str | bytes) -> Packet:
        """Decode one Engine.IO message, which must be binary. Raises ``ProtocolError``."""
        if isinstance(data, str):
            raise ProtocolError("text message: the msgpack parser sends binary ones")
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"feed() takes str or bytes, not {type(data).__name__}")
        try:
            value = self._unpackb(data)
        except (ValueError, TypeError, OverflowError) as exc:
            # msgpack's own errors (FormatError, ExtraData, StackError) are ValueErrors.
            raise ProtocolError(f"invalid msgpack ({type(exc).__name__})") from None
        return _packet(value, self.max_namespace_length)

    def feed_event(self, data: str) -> tuple[list[Any], int | None] | None:
        """No short path: every message goes through :meth:`feed`."""
        return None


def _packet(value: Any, max_namespace_length: int) -> Packet:
    """The packet a decoded message holds, checked (see the module's docstring)."""
    if type(value) is not dict:
        raise ProtocolError("not a map")
    t = _integer(value.get("type"))
    if t is None or not 0 <= t <= 4:
        raise ProtocolError("invalid packet type")
    ptype = _TYPES[t]
    namespace = value.get("nsp")
    if type(namespace) is not str:
        raise ProtocolError("invalid namespace")
    if len(namespace) > max_namespace_length:
        raise ProtocolError("namespace too long")
    data = value.get("data")  # absent and undefined are None alike
    if not _valid(ptype, data):
        raise ProtocolError(f"invalid payload for {ptype.name}")
    id = value.get("id")
    if id is not None:
        id = _integer(id)
        if id is None or not 0 <= id <= _MAX_ID:
            raise ProtocolError("invalid packet id")
        if ptype is not _EVENT and ptype is not _ACK:
            id = None  # as Node: an id means nothing on the other types
    elif ptype is _ACK:
        raise ProtocolError("ack without an id")
    return Packet(ptype, namespace, data, id)


def _integer(value: Any) -> int | None:
    """``value`` if JavaScript's ``Number.isInteger`` takes it (2.0 too), else None."""
    if type(value) is int:
        return value
    if type(value) is float and value.is_integer():
        return int(value)
    return None


def _valid(t: PacketType, data: Any) -> bool:
    if t is _EVENT:
        return (
            type(data) is list
            and len(data) > 0
            and type(data[0]) is str
            and data[0] not in RESERVED_EVENTS
        )
    if t is _ACK:
        return type(data) is list
    if t is _CONNECT:
        return data is None or type(data) is dict
    if t is _DISCONNECT:
        return data is None
    return type(data) is str or type(data) is dict  # CONNECT_ERROR


def _ext(code: int, data: bytes) -> Any:
    """A msgpack extension value as notepack reads it, made what JSON would carry."""
    if code == 0:
        if len(data) == 1:
            return None  # undefined
        if len(data) == 8:
            return js_date_text(int.from_bytes(data, "big", signed=True))
        return data  # an ArrayBuffer
    return [code, data]


def _default(obj: Any) -> Any:
    """What msgpack cannot pack by itself: nothing more (a file-like object is read by the
    server before it encodes: :mod:`gsio.server.files`)."""
    raise TypeError(f"Object of type {type(obj).__name__} is not msgpack serializable")


def js_date_text(ms: float) -> str | None:
    """A JavaScript Date of ``ms`` milliseconds since 1970 as ``JSON.stringify`` writes it:
    ISO 8601 with milliseconds (truncated), a six-digit signed year outside 0..9999, and None
    (JSON's null) for an Invalid Date."""
    if not abs(ms) <= _MAX_DATE_MS:
        return None
    ms = int(ms)  # TimeClip truncates toward zero
    days, ms = divmod(ms, 86_400_000)
    year, month, day = _civil(days)
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    seconds, ms = divmod(ms, 1000)
    text = f"{year:04d}" if 0 <= year <= 9999 else f"{'-' if year < 0 else '+'}{abs(year):06d}"
    return f"{text}-{month:02d}-{day:02d}T{hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}Z"


def _civil(days: int) -> tuple[int, int, int]:
    """The proleptic Gregorian (year, month, day) ``days`` after 1970-01-01, for any year."""
    z = days + 719_468
    era = z // 146_097
    doe = z - era * 146_097
    yoe = (doe - doe // 1460 + doe // 36_524 - doe // 146_096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    day = doy - (153 * mp + 2) // 5 + 1
    month = mp + 3 if mp < 10 else mp - 9
    return yoe + era * 400 + (month <= 2), month, day
