"""Engine middlewares: ``sio.engine.use(fn)``, as Node's ``io.engine.use()``.

A middleware is ``fn(environ)``, run for every HTTP request the engine serves (handshakes,
long-polling GETs and POSTs, WebSocket upgrade requests; not CORS preflights), in the order
they were added, before the request is checked or handled: where a WSGI middleware around the
app would not see the requests gsio serves on the event loop (the polls of an open session
under gsio's own handler). It may read and add to the environ (what it adds is there for the
Socket.IO connections: ``conn.environ``, its first request's), and refuse the request by raising
:class:`~gsio.exceptions.RequestRefused`, which answers it with that status and a JSON error.
Any other exception is a bug: a 500 and its traceback, as for the app.

Middlewares may block: while the engine has any, its polling requests are served in a
greenlet (or thread) each, never on the event loop. Each runs once per request, also under
gevent-websocket, which asks about an upgrade before the app runs.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from gsio.exceptions import RequestRefused
from gsio.protocol.http import Response, error_response

__all__ = ["Middleware", "Middlewares"]

log = logging.getLogger("gsio.engine")

#: ``fn(environ)``: an engine middleware.
Middleware = Callable[[dict[str, Any]], None]

_KEY = "gsio.middlewares"  # the environ's: what they answered (None: they let it through)


class Middlewares:
    """The middlewares of :class:`~gsio.engine.server.Engine` (a mixin)."""

    #: The middlewares, in order (empty: none run, and polls may be served on the event loop).
    middlewares: tuple[Middleware, ...] = ()

    def use(self, fn: Middleware) -> Middleware:
        """Run ``fn(environ)`` before every request this engine serves (see
        :mod:`gsio.engine.middleware`); usable as a decorator."""
        if not callable(fn):
            raise TypeError(f"an engine middleware is a callable fn(environ), not {fn!r}")
        self.middlewares = (*self.middlewares, fn)
        return fn

    def middleware_answer(self, environ: dict[str, Any]) -> Response | None:
        """Run the middlewares on ``environ`` (once: the outcome is kept in it); the refusal
        to answer with, or None to go on."""
        if _KEY in environ:
            answer: Response | None = environ[_KEY]
            return answer
        answer = None
        try:
            for fn in self.middlewares:
                fn(environ)
        except RequestRefused as exc:
            log.info(
                "request refused by a middleware (%s, %d): %s %s?%s",
                exc.message,
                exc.status,
                environ.get("REQUEST_METHOD"),
                environ.get("PATH_INFO"),
                environ.get("QUERY_STRING"),
            )
            answer = error_response(exc.code, exc.status, exc.message)
            answer.headers.extend(exc.headers)
        environ[_KEY] = answer
        return answer

    def middlewares_let_through(self, environ: dict[str, Any]) -> bool:
        """For a server that asks before the app runs (gevent-websocket's upgrade): whether the
        middlewares let the request through. A refusal, or a bug, goes to the app as plain
        HTTP, where it is answered (a bug: raised there)."""
        try:
            return self.middleware_answer(environ) is None
        except Exception:
            return False
