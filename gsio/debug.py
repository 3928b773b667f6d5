"""``DEBUG=gsio*`` turns on debug output, as ``DEBUG=socket.io*`` does for the Node server.

gsio logs through the standard :mod:`logging` under ``gsio.<scope>`` loggers and installs no
handler of its own, except on request: when the ``DEBUG`` environment variable names gsio
scopes, :func:`enable_from_environment` (run when gsio is imported) gives each named scope's
logger a stderr handler at DEBUG level. The syntax is the npm ``debug`` package's: names
separated by commas or spaces, ``*`` as a wildcard, a leading ``-`` to exclude::

    DEBUG=gsio*                  everything
    DEBUG=gsio:engine,gsio:socket
    DEBUG=gsio*,-gsio:packet     everything but a line per event

Scopes, one line each of what happens:

- ``gsio:engine``: Engine.IO sessions: the handshake (sid, ``EIO=4`` or ``3``, transport, remote
  address), the upgrade to WebSocket, the close with its reason; refused requests (the error,
  its code, the method, path and query).
- ``gsio:socket``: namespace connections: accepted (with the session under them), refused
  (``Invalid namespace``, a middleware's message), closed with the disconnect reason; acks the
  server expects, and how each ended (``answered``, ``timed out``, ``closed``).
- ``gsio:adapter``: rooms joined and left, broadcasts (event, rooms, flags).
- ``gsio:packet``: every event in and out of each connection (``received``, ``sent``; a
  broadcast once per recipient): its name and arguments as JSON-like text cut at 200
  characters (``…``), binary as ``<binary N bytes>``, and the packet's size in bytes.
- ``gsio:access``: pywsgi's access log; ``gsio:concurrency``.

Handshakes, upgrades, connections, acks, rooms and packets are told by observers
(:mod:`gsio.server.debugging`) that a :class:`~gsio.Server` adds as it is made, for each of
these scopes whose logger (``gsio.engine``, ...) is enabled for DEBUG then: by ``DEBUG``, or by
your own logging configuration (``logging.getLogger("gsio.packet").setLevel(logging.DEBUG)``)
before the server is made. Without them the server has no observer, and the output costs
nothing. (Closes, refusals and broadcasts are logged where they happen.)
"""

from __future__ import annotations

import fnmatch
import logging
import os
import sys
from typing import TextIO

__all__ = ["SCOPES", "enable", "enable_from_environment"]

SCOPES = (
    "gsio:engine",
    "gsio:socket",
    "gsio:adapter",
    "gsio:packet",
    "gsio:access",
    "gsio:concurrency",
)

_FORMAT = "%(asctime)s %(scope)s %(message)s"


class _ScopeFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.scope = record.name.replace(".", ":", 1)
        return True


def scopes_for(spec: str) -> list[str]:
    """The gsio scopes a ``DEBUG`` value names."""
    include: list[str] = []
    exclude: list[str] = []
    for name in spec.replace(",", " ").split():
        (exclude if name.startswith("-") else include).append(name.lstrip("-"))
    return [
        scope
        for scope in SCOPES
        if any(fnmatch.fnmatchcase(scope, pattern) for pattern in include)
        and not any(fnmatch.fnmatchcase(scope, pattern) for pattern in exclude)
    ]


class _DebugHandler(logging.StreamHandler):
    """The handler :func:`enable` installs: one per logger, however often it runs."""


def enable(*scopes: str, stream: TextIO | None = None) -> None:
    """Send the debug output of these scopes (``"gsio:engine"``, ...) to ``stream`` (stderr)."""
    handler = _DebugHandler(stream or sys.stderr)
    handler.setFormatter(logging.Formatter(_FORMAT))
    handler.addFilter(_ScopeFilter())
    for scope in scopes:
        logger = logging.getLogger(scope.replace(":", ".", 1))
        if not any(isinstance(h, _DebugHandler) for h in logger.handlers):
            logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)


def enable_from_environment() -> None:
    spec = os.environ.get("DEBUG", "")
    if "gsio" in spec:
        enable(*scopes_for(spec))
