"""``DEBUG=gsio*`` turns on debug output, as ``DEBUG=socket.io*`` does for the Node server.

gsio logs through the standard :mod:`logging` under ``gsio.<scope>`` loggers and installs no
handler of its own, except on request: when the ``DEBUG`` environment variable names gsio
scopes, :func:`enable_from_environment` (run when gsio is imported) gives each named scope's
logger a stderr handler at DEBUG level. The syntax is the npm ``debug`` package's: names
separated by commas or spaces, ``*`` as a wildcard, a leading ``-`` to exclude::

    DEBUG=gsio*                  everything
    DEBUG=gsio:engine,gsio:socket
    DEBUG=gsio*,-gsio:access

Scopes: ``gsio:engine`` (sessions, transports), ``gsio:socket`` (namespaces, connections),
``gsio:adapter`` (rooms, broadcast), ``gsio:access`` (pywsgi's access log), ``gsio:concurrency``.
"""

from __future__ import annotations

import fnmatch
import logging
import os
import sys
from typing import TextIO

__all__ = ["SCOPES", "enable", "enable_from_environment"]

SCOPES = ("gsio:engine", "gsio:socket", "gsio:adapter", "gsio:access", "gsio:concurrency")

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
