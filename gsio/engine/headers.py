"""Headers of your own on the engine's responses: the ``initial_headers`` and ``headers``
options of :class:`~gsio.engine.server.Engine`, as Node's engine events of those names.

``headers(headers, environ)`` is called for every response on the Engine.IO path (long-polling
GETs and POSTs, the handshake, refusals), ``initial_headers(headers, environ)`` for the
handshake's only (a polling one, or a new session's WebSocket ``101``), before ``headers``.
``headers`` is the response's list of ``(name, value)`` pairs: append to it (or change it).
A WebSocket ``101`` carries them under gsio's own server (``gsio.serve``, gsio's gunicorn
workers); gevent-websocket and simple-websocket write their ``101`` themselves, without them.
A hook that raises is logged, and the response goes out without what it did not add; a pair
that is not a valid header (a control character, say) is dropped and logged.
"""

from __future__ import annotations

import logging
import re
from typing import Any, Callable, Optional

from gsio.protocol.http import valid_header_value

__all__ = ["HeadersHook", "add_headers", "add_to_answer"]

log = logging.getLogger("gsio.engine")

#: ``hook(headers, environ)``: add ``(name, value)`` pairs to ``headers``.
HeadersHook = Optional[Callable[[list[tuple[str, str]], dict[str, Any]], None]]

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+\Z")  # a header name (RFC 9110 5.1)

#: Set in a handshake's environ: its response gets ``initial_headers`` too.
HANDSHAKE = "gsio.handshake"


def add_headers(
    headers: list[tuple[str, str]],
    environ: dict[str, Any],
    initial: HeadersHook,
    every: HeadersHook,
) -> None:
    """Run the hooks that apply to this response on its ``headers``."""
    before = len(headers)
    for hook in (initial if environ.get(HANDSHAKE) else None, every):
        if hook is not None:
            try:
                hook(headers, environ)
            except Exception:
                log.exception("headers hook %r failed", hook)
    if len(headers) != before or any(not _valid(pair) for pair in headers):
        headers[:] = [pair for pair in headers if _valid(pair) or _dropped(pair)]


def add_to_answer(
    answer: bytes, environ: dict[str, Any], initial: HeadersHook, every: HeadersHook
) -> bytes:
    """A WebSocket handshake's ``101`` answer (its bytes) with the hooks' headers."""
    headers: list[tuple[str, str]] = []
    add_headers(headers, environ, initial, every)
    if not headers:
        return answer
    lines = b"".join(f"{name}: {value}\r\n".encode("latin-1") for name, value in headers)
    return answer[:-2] + lines + b"\r\n"  # (before the blank line that ends the head)


def _valid(pair: Any) -> bool:
    try:
        name, value = pair
    except (TypeError, ValueError):
        return False
    return (
        isinstance(name, str)
        and isinstance(value, str)
        and _TOKEN.match(name) is not None
        and valid_header_value(value)
        and _latin1(value)
    )


def _latin1(value: str) -> bool:
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _dropped(pair: Any) -> bool:
    log.warning("headers hook: %r is not a valid header; dropped", pair)
    return False
