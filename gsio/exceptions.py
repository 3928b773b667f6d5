"""The one error hierarchy of gsio.

Everything gsio raises derives from :class:`GsioError`:

- :class:`ProtocolError`: a peer sent something the protocol does not allow. It carries what the
  transport answers with: the HTTP ``status`` and Engine.IO error ``code`` for a bad HTTP request,
  and the ``reason`` the session is closed with. Codecs raise nothing else.
- :class:`PayloadTooLarge`: a :class:`ProtocolError` for input over ``max_payload``
  (HTTP 413, WebSocket close 1009).
- :class:`RequestRefused`: raised by an engine middleware (``sio.engine.use``) to answer a
  request with an error status of its choosing.
- :class:`FileTooLarge`: a file-like object emitted holds more than ``max_payload``: nothing
  was sent.
- :class:`ConnectionClosed`: the connection is gone; ``reason`` says why, with the reference
  server's names ("transport close", "ping timeout", "client namespace disconnect", ...).
- :class:`ConnectionRefused`: raised by a connect handler or middleware to refuse a client;
  the client receives a CONNECT_ERROR with ``message`` and ``data``.
- :class:`AckTimeout`: the client did not acknowledge in time.
- :class:`ClusterTimeout`: other servers of a cluster did not all answer a request in time.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "GsioError",
    "ProtocolError",
    "PayloadTooLarge",
    "RequestRefused",
    "FileTooLarge",
    "ConnectionClosed",
    "ConnectionRefused",
    "AckTimeout",
    "ClusterTimeout",
]


class GsioError(Exception):
    """Base class of every error gsio raises."""


class ProtocolError(GsioError):
    """A peer broke the protocol.

    :param message: what was wrong, for the log and the JSON error body.
    :param status: the HTTP status a transport answers with (400 unless said otherwise).
    :param code: the Engine.IO error code of the JSON body (3, "Bad request", unless said otherwise).
    :param reason: the reason the session is closed with ("parse error" unless said otherwise).
    """

    def __init__(
        self, message: str, *, status: int = 400, code: int = 3, reason: str = "parse error"
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.reason = reason


class PayloadTooLarge(ProtocolError):
    """Input longer than ``max_payload``: 413 on polling, close code 1009 on WebSocket."""

    def __init__(self, message: str = "Payload too large") -> None:
        super().__init__(message, status=413, code=3, reason="transport error")


class RequestRefused(ProtocolError):
    """Raised by an engine middleware (:meth:`gsio.Engine.use`) to refuse the HTTP request:
    it is answered with ``status`` and ``{"code":<code>,"message":<message>}``, plus
    ``headers`` (``WWW-Authenticate``, say), and nothing of the request is handled.

    :param message: the JSON body's message (and the log's).
    :param status: the HTTP status (403 unless said otherwise).
    :param code: the Engine.IO error code of the body (4, "Forbidden", unless said otherwise).
    :param headers: ``(name, value)`` pairs added to the response.
    """

    def __init__(
        self,
        message: str = "Forbidden",
        *,
        status: int = 403,
        code: int = 4,
        headers: list[tuple[str, str]] | None = None,
    ) -> None:
        super().__init__(message, status=status, code=code)
        self.headers = list(headers or ())


class FileTooLarge(GsioError, ValueError):
    """The file-like objects of an emit hold more than ``max_payload`` bytes (together): the
    emit raised before anything was sent. ``size`` is the bytes found (None for a stream, read
    until it passed the limit), ``limit`` what was left of ``max_payload`` for it."""

    def __init__(self, limit: int, size: int | None = None) -> None:
        held = "more" if size is None else f"{size:,} bytes"
        super().__init__(f"a file emitted holds {held}: over max_payload ({limit:,} bytes)")
        self.limit = limit
        self.size = size


class ConnectionClosed(GsioError):
    """The connection ended; ``reason`` names why, as the reference server does."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConnectionRefused(GsioError):
    """Refuse a connection from a connect handler or middleware.

    The client's ``connect_error`` handler receives an error whose ``message`` is ``message``
    and whose ``data`` is ``data`` (any JSON value), as with Node's ``next(err)``.
    """

    def __init__(self, message: str = "Connection refused", data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


class AckTimeout(GsioError, TimeoutError):
    """A client did not acknowledge an event within the timeout."""


class ClusterTimeout(GsioError, TimeoutError):
    """Other servers of the cluster did not all answer in time (``fetch_sockets``,
    ``server_side_call``); ``responses`` holds the answers that came."""

    def __init__(self, message: str, responses: list | None = None) -> None:
        super().__init__(message)
        self.responses = responses if responses is not None else []
