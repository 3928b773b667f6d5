"""A mixin for any pywsgi handler class (pywsgi's own, gevent-websocket's, gsio's): the request
line checks and the header timeout that gsio's servers have whatever their handler."""

from __future__ import annotations

import time
from typing import Any

from gsio.protocol.http import DEFAULT_HEADER_TIMEOUT
from gsio.protocol.request import valid_http_version

__all__ = ["CheckedRequests"]

_NOT_SET = object()


class CheckedRequests:
    """For any pywsgi handler class: a request line pywsgi cannot parse (an HTTP version like
    ``HTTP/2``, or none: HTTP/0.9, which Node does not serve either) gets 400 without a
    traceback, and an error answer to a client that is gone already is dropped quietly. The
    server's ``gsio_header_timeout`` (``make_server(header_timeout=...)``) bounds the wait for
    a request's head, as under gsio's own handler.

    pywsgi's ``_check_http_version`` is overridden (see :mod:`gsio.io.geventpriv`): pywsgi's
    raises IndexError, with a traceback, on a request line like ``POST ? HTTP/2``."""

    request_version: Any
    socket: Any
    server: Any
    status: Any
    close_connection: bool
    time_finish: float

    def _check_http_version(self) -> bool:
        return valid_http_version(self.request_version)

    def read_request(self, raw_requestline: str) -> bool:
        if len(raw_requestline.split()) == 2:
            raise ValueError(f"no HTTP version in {raw_requestline.rstrip()[:100]!r}")
        try:
            return super().read_request(raw_requestline)  # type: ignore[misc]
        except TimeoutError:
            raise ValueError("request head not complete in time") from None
        finally:
            if self._timeout_before is not _NOT_SET:  # the head is in: the app's own timeout
                self.socket.settimeout(self._timeout_before)
                self._timeout_before = _NOT_SET

    def handle_one_request(self) -> Any:
        result = self._handle_one_request()
        if not isinstance(result, tuple):
            return result
        # An error answer ("400", bytes): pywsgi's handle() writes it with a traceback for a
        # client that is gone already; here that client just gets nothing.
        self.status, body = result
        self.close_connection = True
        try:
            self.socket.sendall(body)
        except OSError:
            return None
        if self.time_finish == 0:
            self.time_finish = time.time()
        self.log_request()  # type: ignore[attr-defined]
        return None

    _timeout_before: Any = _NOT_SET

    def _handle_one_request(self) -> Any:
        # The header timeout (see DEFAULT_HEADER_TIMEOUT) on the socket, from the wait for the
        # request line to the end of the head; a timeout while waiting for the line closes the
        # connection quietly (pywsgi's handling of a failed read).
        timeout = getattr(self.server, "gsio_header_timeout", DEFAULT_HEADER_TIMEOUT)
        if timeout is not None and self.socket is not None:
            self._timeout_before = self.socket.gettimeout()
            self.socket.settimeout(timeout)
        return super().handle_one_request()  # type: ignore[misc]
