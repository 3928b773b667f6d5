"""What the transports see of the engine: :class:`EngineView`, which
:class:`~gsio.engine.server.Engine` implements, and the answer to a refused request.

The transports (:mod:`gsio.engine.polling`, :mod:`gsio.engine.websocket`) are below the
:class:`~gsio.engine.server.Engine` that routes requests to them: they import this module and
:mod:`gsio.engine.socket`, never the engine's.
"""

from __future__ import annotations

import logging
import secrets
from typing import Any, Callable, Protocol

from gsio.engine.headers import HeadersHook
from gsio.engine.socket import EngineHandler, EngineSocket, SocketOwner
from gsio.exceptions import ProtocolError
from gsio.protocol.deflate import PerMessageDeflate
from gsio.protocol.http import ERROR_MESSAGES, Response, error_response, valid_header_value

__all__ = [
    "UnknownSessionError",
    "default_sid",
    "EngineView",
    "Forwarder",
    "Pending",
    "check_origin",
    "refused",
    "warn_no_hand_over",
]

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
    #: Per-message deflate on gsio's own WebSocket layer, None when off.
    per_message_deflate: PerMessageDeflate | None
    initial_headers: HeadersHook
    headers: HeadersHook

    def open_session(self, transport: str, environ: dict[str, Any]) -> EngineSocket:
        """Create a session for a handshake (the caller has validated the request)."""
        ...

    def finish(
        self, response: Response, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> list[bytes]:
        """Answer a WSGI request with ``response`` (the CORS headers added)."""
        ...


class Pending(Protocol):
    """A request answered later: :meth:`abandon` it if its connection closes first."""

    def abandon(self) -> None: ...


class Forwarder(Protocol):
    """Serves the requests for sessions that another server owns, by forwarding them to it
    (:class:`gsio.engine.forward.Forwarding`). Each method returns None when it does not take
    the request: the engine answers 400 "Session ID unknown" then."""

    def forward(
        self,
        environ: dict[str, Any],
        sid: str,
        body: bytes | None,
        respond: Callable[[Response], None],
    ) -> Pending | None:
        """Forward a polling request without blocking; ``respond(response)`` later."""
        ...

    def forward_wait(self, environ: dict[str, Any], sid: str) -> Response | None:
        """Forward a polling request from its greenlet or thread, and wait for the answer."""
        ...

    def relay_websocket(
        self, environ: dict[str, Any], start_response: Callable[..., Any], sid: str
    ) -> list[bytes] | None:
        """Serve a WebSocket upgrade by relaying its messages to the owner and back."""
        ...


def check_origin(environ: dict[str, Any]) -> None:
    """Refuse an Origin that no browser sends: a control character in a header's value (as
    the reference's ``checkInvalidHeaderChar``: 400, code 3, before any session exists)."""
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and not valid_header_value(origin):
        raise ProtocolError(f"invalid Origin header {origin[:100]!r}", code=3)


def refused(
    exc: ProtocolError, environ: dict[str, Any], handler: EngineHandler | None = None
) -> Response:
    """The error answer to a request the engine refuses, logged once; ``handler`` is told
    (:meth:`EngineHandler.on_connection_error`)."""
    log.info(
        "bad request (%s, code %d): %s %s?%s",
        exc.message,
        exc.code,
        environ.get("REQUEST_METHOD"),
        environ.get("PATH_INFO"),
        environ.get("QUERY_STRING"),
    )
    if handler is not None:
        try:
            message = ERROR_MESSAGES.get(exc.code, "Bad request")  # (as answered)
            handler.on_connection_error(environ, exc.code, message)
        except Exception:
            log.exception("on_connection_error handler failed")
    return error_response(exc.code, exc.status)


_warned: list[bool] = []


def warn_no_hand_over(environ: dict[str, Any]) -> None:
    """Say once per process why polling clients may get 400 "Session ID unknown": the server
    runs several processes (gunicorn ``-w N``) and cannot move a request to its session's."""
    if _warned:
        return
    _warned.append(True)
    log.warning(
        "a request for an unknown session under %s with several worker processes: each "
        "worker knows only its own sessions, and this server cannot move a request to the "
        "worker that owns it, so polling clients get 400 'Session ID unknown'. Run gunicorn "
        "with -k gsio.gunicorn.GeventWorker (or gsio serve --workers N), which does, or one "
        "worker per process behind sticky sessions",
        environ.get("SERVER_SOFTWARE", "this server"),
    )


class UnknownSessionError(ProtocolError):
    """A request for a session this engine does not have."""

    def __init__(self, sid: str) -> None:
        super().__init__("session ID unknown", code=1)
        self.sid = sid


def default_sid() -> str:
    return secrets.token_urlsafe(15)  # 120 random bits, 20 URL-safe characters
