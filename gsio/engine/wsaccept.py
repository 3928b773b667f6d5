"""WebSocket handshakes answered in the event loop, for a server that reads a new connection's
first request there (gsio's own pywsgi server: :mod:`gsio.io.acceptloop`).

Only a handshake that nothing can block or refuse is taken: a non-blocking handler, no engine
middlewares, no ``allow_request`` and no header hooks (user code), gsio's own WebSocket layer,
and a request the engine accepts (:meth:`gsio.Engine.accepts`) with a valid opening handshake.
It is then served as :func:`gsio.engine.websocket.handle` serves it (the same 101, per-message
deflate negotiated the same way, the open packet, ``on_open``), and the event loop reads the
session. Any other request is left untouched: the server serves it as before, refusals
included.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable

from gsio.engine.websocket import _accept, _negotiate, _open_direct, _read_loop, check_handshake
from gsio.exceptions import ProtocolError

if TYPE_CHECKING:
    from gsio.engine.server import Engine
    from gsio.engine.socket import EngineSocket
    from gsio.io.websocket import WebSocket

__all__ = ["accept_in_loop"]

log = logging.getLogger("gsio.engine")


def accept_in_loop(
    engine: Engine, environ: dict[str, Any], take_over: Callable[[], tuple[Any, Any]]
) -> bool:
    """Answer a new session's WebSocket handshake from the event loop; False (nothing done,
    ``take_over`` not called) when it cannot be, or the engine would refuse it.

    ``environ`` is the request's (no ``sid``); ``take_over()`` gives the connection's socket
    and a reader of what arrived behind the head, as ``gsio.websocket`` in a WSGI environ."""
    if (
        not getattr(engine.handler, "nonblocking", False)
        or engine.middlewares
        or engine.websocket is not None
        or engine.allow_request is not None
        or engine.headers is not None
        or engine.initial_headers is not None
        or not engine.accepts(environ)
    ):
        return False
    if environ.pop("gsio.transport", None) != "websocket":
        return False
    try:
        answer = check_handshake(environ)
    except ProtocolError:
        return False
    environ["gsio.websocket"] = take_over
    try:
        params = _negotiate(engine, environ)
        ws = _accept(engine, environ, answer, params)
    finally:
        del environ["gsio.websocket"]
    if ws is None:  # (gsio's own layer takes every connection)
        return False
    framer = None
    if params is not None and engine.per_message_deflate is not None:
        framer = engine.per_message_deflate.framer(params)
    socket = None
    try:
        socket = _open_direct(engine, ws, environ, framer)
        if ws.read_in_loop(socket):
            return True
    except Exception:
        log.exception("websocket session failed")
    engine.concurrency.spawn(_go_on, socket, ws)
    return True


def _go_on(socket: EngineSocket | None, ws: WebSocket) -> None:
    """The rest of a session the event loop could not read (or that failed), in a greenlet, as
    :func:`gsio.engine.websocket.handle` has it."""
    in_loop = False
    try:
        if socket is not None:
            in_loop = _read_loop(socket, ws)
    except Exception:
        log.exception("websocket session failed")
    finally:
        if not in_loop:
            ws.close()
    ws.finish(_no_response)


def _no_response(*args: Any) -> None:
    """A WebSocket connection gets no HTTP response once taken over."""
