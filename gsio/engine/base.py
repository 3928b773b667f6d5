"""What the transports see of the engine: :class:`EngineView`, which
:class:`~gsio.engine.server.Engine` implements, and the answer to a refused request.

The transports (:mod:`gsio.engine.polling`, :mod:`gsio.engine.websocket`) are below the
:class:`~gsio.engine.server.Engine` that routes requests to them: they import this module and
:mod:`gsio.engine.socket`, never the engine's.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Protocol

from gsio.engine.socket import EngineSocket, SocketOwner
from gsio.exceptions import ProtocolError
from gsio.protocol.http import Response, error_response

__all__ = ["EngineView", "refused"]

log = logging.getLogger("gsio.engine")


class EngineView(SocketOwner, Protocol):
    """The engine's settings and session table, as its transports use them (the parameters
    are :class:`~gsio.engine.server.Engine`'s)."""

    max_payload: int
    ping_interval: float
    upgrade_timeout: float
    body_timeout: float
    cookie: dict[str, Any] | None
    http_compression: bool
    compression_threshold: int
    #: The WebSocket backend asked for (None: the best the server offers).
    websocket: str | None

    def open_session(self, transport: str, environ: dict[str, Any]) -> EngineSocket:
        """Create a session for a handshake (the caller has validated the request)."""
        ...

    def finish(
        self, response: Response, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        """Answer a WSGI request with ``response`` (the CORS headers added)."""
        ...


def refused(exc: ProtocolError, environ: dict[str, Any]) -> Response:
    """The error answer to a request the engine refuses, logged once."""
    log.info(
        "bad request (%s): %s %s?%s",
        exc.message,
        environ.get("REQUEST_METHOD"),
        environ.get("PATH_INFO"),
        environ.get("QUERY_STRING"),
    )
    return error_response(exc.code, exc.status)
