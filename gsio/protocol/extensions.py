"""WebSocket extension negotiation for per-message deflate (RFC 7692 section 7.1), the
server's side: pure (no I/O).

:func:`parse_extensions` reads a ``Sec-WebSocket-Extensions`` header (RFC 6455 9.1: a list of
extensions, each with ``;``-separated parameters, values as tokens or quoted strings);
:func:`negotiate` picks the first ``permessage-deflate`` offer that is valid and acceptable
under :class:`DeflateOptions` and returns the :class:`DeflateParams` agreed, whose
:attr:`~DeflateParams.answer` is the response's header value.

A malformed offer (unknown or repeated parameter, a value out of range, bad syntax) is
declined, as RFC 7692 section 5 says, and the connection goes on without the extension. (Node's
``ws`` refuses the whole handshake with 400 instead.)
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Optional, Union

__all__ = ["DeflateOptions", "DeflateParams", "parse_extensions", "negotiate", "NAME"]

#: The extension's name.
NAME = "permessage-deflate"

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")
_BITS = re.compile(r"(?:[89]|1[0-5])\Z")  # 8 to 15, no leading zero (RFC 7692 7.1.2)
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"\Z', re.S)
_QUOTED_PAIR = re.compile(r"\\(.)", re.S)

#: One offer's parameters: name, value (None for a parameter without one), in order.
Params = list[tuple[str, Optional[str]]]

#: What ``Engine(per_message_deflate=...)`` takes.
DeflateOption = Union[bool, Mapping[str, Any], "DeflateOptions", None]


@dataclass(frozen=True)
class DeflateOptions:
    """The server's per-message deflate settings (``Engine(per_message_deflate={...})``).

    :param threshold: the smallest message compressed, in bytes (1024, as Node).
    :param server_no_context_takeover: compress each message on its own (True). Then a
        broadcast is compressed once for every client that negotiated the same window, and no
        connection keeps a compressor (about 260 KB with the default window and memory level);
        False keeps one per connection (better ratios for similar messages) unless the client
        asks for it.
    :param client_no_context_takeover: ask clients to compress each message on its own (False):
        then no connection keeps an inflater between messages.
    :param server_max_window_bits: the server's window (9 to 15; None: 15, or the client's ask).
    :param client_max_window_bits: the window clients may use (8 to 15; None: theirs).
    :param level: zlib's compression level (-1: its default, 6).
    :param mem_level: zlib's memory level (1 to 9; 8).
    """

    threshold: int = 1024
    server_no_context_takeover: bool = True
    client_no_context_takeover: bool = False
    server_max_window_bits: int | None = None
    client_max_window_bits: int | None = None
    level: int = -1
    mem_level: int = 8

    def __post_init__(self) -> None:
        server, client = self.server_max_window_bits, self.client_max_window_bits
        if server is not None and not 9 <= server <= 15:
            raise ValueError("server_max_window_bits must be 9 to 15 (zlib has no 8-bit window)")
        if client is not None and not 8 <= client <= 15:
            raise ValueError("client_max_window_bits must be 8 to 15")
        if not -1 <= self.level <= 9 or not 1 <= self.mem_level <= 9:
            raise ValueError("level must be -1 to 9 and mem_level 1 to 9")
        if self.threshold < 0:
            raise ValueError("threshold must be >= 0")

    @classmethod
    def of(cls, value: DeflateOption) -> DeflateOptions | None:
        """The options for ``per_message_deflate``: False/None (off), True (the defaults), a
        dict of the parameters above, or :class:`DeflateOptions`."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, DeflateOptions):
            return value
        return cls(**value)


@dataclass(frozen=True)
class DeflateParams:
    """What a connection agreed on: whether each side resets its compressor per message, the
    window each side compresses with, and the response's header value."""

    server_no_context_takeover: bool
    client_no_context_takeover: bool
    server_window_bits: int
    client_window_bits: int
    answer: str


def _split(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside quoted strings."""
    parts: list[str] = []
    start = 0
    quoted = escaped = False
    for i, ch in enumerate(text):
        if quoted:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                quoted = False
        elif ch == '"':
            quoted = True
        elif ch == sep:
            parts.append(text[start:i])
            start = i + 1
    parts.append(text[start:])
    return parts


def _param(text: str) -> tuple[str, str | None] | None:
    name, eq, value = text.partition("=")
    name = name.strip()
    if not _TOKEN.match(name):
        return None
    if not eq:
        return name, None
    value = value.strip()
    quoted = _QUOTED.match(value)
    if quoted is not None:
        value = _QUOTED_PAIR.sub(r"\1", quoted.group(1))
    # Quoted or not, a value must be a token (RFC 6455 9.1).
    return (name, value) if _TOKEN.match(value) else None


def parse_extensions(header: str) -> list[tuple[str, Params]]:
    """The extensions a ``Sec-WebSocket-Extensions`` header offers, in order: ``(name,
    [(parameter, value or None), ...])``. A malformed element is left out."""
    offers: list[tuple[str, Params]] = []
    for element in _split(header, ","):
        if not element.strip():
            continue  # empty list elements are allowed (RFC 7230 7)
        pieces = _split(element, ";")
        name = pieces[0].strip()
        if not _TOKEN.match(name):
            continue
        params: Params = []
        for piece in pieces[1:]:
            param = _param(piece)
            if param is None:
                break
            params.append(param)
        else:
            offers.append((name, params))
    return offers


def _offer(params: Params) -> dict[str, Any] | None:
    """A permessage-deflate offer's parameters checked (RFC 7692 7.1); None if invalid."""
    offer: dict[str, Any] = {}
    for name, value in params:
        if name in offer:
            return None
        if name in ("server_no_context_takeover", "client_no_context_takeover"):
            if value is not None:
                return None
            offer[name] = True
        elif name == "server_max_window_bits":
            if value is None or not _BITS.match(value):
                return None
            offer[name] = int(value)
        elif name == "client_max_window_bits":
            if value is not None and not _BITS.match(value):
                return None
            offer[name] = True if value is None else int(value)
        else:
            return None
    return offer


def _accept(offer: dict[str, Any], options: DeflateOptions) -> DeflateParams | None:
    """The parameters agreed for a valid offer, or None to decline it."""
    asked = offer.get("server_max_window_bits")
    server_bits = options.server_max_window_bits or 15
    if asked is not None:
        if asked < 9:
            return None  # zlib cannot compress with a 256-byte window
        server_bits = min(server_bits, asked)
    client_offer = offer.get("client_max_window_bits")
    client_bits = 15
    client_answer: int | None = None
    if options.client_max_window_bits is not None:
        if client_offer is None:
            return None  # the client did not say it can limit its window
        client_answer = options.client_max_window_bits
        if client_offer is not True:
            client_answer = min(client_answer, client_offer)
    elif client_offer is not None and client_offer is not True:
        client_answer = client_offer
    if client_answer is not None:
        client_bits = client_answer
    server_reset = options.server_no_context_takeover or "server_no_context_takeover" in offer
    client_reset = options.client_no_context_takeover or "client_no_context_takeover" in offer
    answer = [NAME]
    if server_reset:
        answer.append("server_no_context_takeover")
    if client_reset:
        answer.append("client_no_context_takeover")
    if asked is not None or options.server_max_window_bits is not None:
        answer.append(f"server_max_window_bits={server_bits}")
    if client_answer is not None:
        answer.append(f"client_max_window_bits={client_answer}")
    return DeflateParams(server_reset, client_reset, server_bits, client_bits, "; ".join(answer))


def negotiate(header: str | None, options: DeflateOptions) -> DeflateParams | None:
    """The parameters agreed with a client whose ``Sec-WebSocket-Extensions`` header is
    ``header``: the first valid and acceptable permessage-deflate offer wins; None if there is
    none (the extension is not used)."""
    if not header:
        return None
    for name, params in parse_extensions(header):
        if name.lower() != NAME:
            continue
        offer = _offer(params)
        if offer is not None:
            accepted = _accept(offer, options)
            if accepted is not None:
                return accepted
    return None
