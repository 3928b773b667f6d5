"""JSONP polling of Engine.IO v3 (a request with a ``j`` query parameter): a pure codec.

A GET is answered with JavaScript, ``___eio[<j>]("<payload>");``, the v3 text payload as a JSON
string with U+2028 and U+2029 escaped (they end a line in older JavaScript); a POST sends the
payload form-encoded as ``d=<payload>``, with the newlines escaped. This follows Node's engine.io 6,
``build/transports/polling-jsonp.js`` (line numbers in comments are that file's).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import parse_qsl

from gsio.exceptions import ProtocolError
from gsio.protocol.engineio import Packet
from gsio.protocol.engineio_v3 import TEXT_CONTENT_TYPE, decode_text_payload, encode_text_payload
from gsio.protocol.socketio_packet import dumps

__all__ = ["jsonp_index", "encode_jsonp", "decode_jsonp_body", "JSONP_CONTENT_TYPE"]

#: The Content-Type of a JSONP answer: Node's polling transport sends the script as text
#: (``doWrite`` of ``build/transports/polling.js``).
JSONP_CONTENT_TYPE = TEXT_CONTENT_TYPE

# engine.io-client numbers its JSONP callbacks 0, 1, 2...: a few digits are plenty.
_MAX_INDEX_DIGITS = 10
# A newline the client escaped as "\n" (two characters), unless its backslash is escaped too
# (line 40), and an escaped one, "\\n", which becomes "\n" (line 39).
_ESCAPED_NEWLINE = re.compile(r"(\\)?\\n")


def jsonp_index(j: str) -> str:
    """The ``j`` query parameter, checked: 1 to 10 ASCII digits, else :class:`ProtocolError`
    (400, "Bad request"). Node strips what is not a digit instead (line 47), which can make an
    empty index, ``___eio[](``: gsio refuses the request."""
    if not (0 < len(j) <= _MAX_INDEX_DIGITS and j.isascii() and j.isdigit()):
        raise ProtocolError("invalid JSONP index")
    return j


def encode_jsonp(packets: Sequence[Packet], index: str) -> tuple[bytes, str]:
    """The answer to a JSONP GET and its Content-Type (doWrite, lines 63-72): the text payload
    (binary messages as base64: a script cannot carry bytes) as a JavaScript string literal,
    ``___eio[<index>]("<payload>");``. ``index`` is what :func:`jsonp_index` returned."""
    # dumps() writes a string as JSON.stringify does: the same escapes, lone surrogates as \ud800.
    literal = dumps(encode_text_payload(packets))
    literal = literal.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return f"___eio[{index}]({literal});".encode(), JSONP_CONTENT_TYPE


def _unescape_newline(match: re.Match[str]) -> str:
    return match.group() if match.group(1) else "\n"


def decode_jsonp_body(body: bytes, max_packets: int | None = None) -> list[Packet]:
    """The packets of a JSONP POST (onData, lines 50-62): the form field ``d`` URL-decoded (as
    Node's ``querystring``: ``+`` is a space, a malformed ``%`` escape stays as it is), ``\\n``
    (backslash, n) turned back into a newline and ``\\\\n`` into ``\\n``, then the v3 text
    payload. A body without exactly one ``d`` field holds no packet (Node ignores it and answers
    ``ok``); invalid UTF-8 and a malformed payload raise :class:`ProtocolError`."""
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProtocolError(f"body is not valid UTF-8: {exc.reason}") from None
    fields = [value for key, value in parse_qsl(text, True, errors="replace") if key == "d"]
    if len(fields) != 1:
        return []
    payload = _ESCAPED_NEWLINE.sub(_unescape_newline, fields[0]).replace("\\\\n", "\\n")
    return decode_text_payload(payload, max_packets)
