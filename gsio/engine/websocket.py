"""The WebSocket transport: direct sessions and the upgrade from polling, on any backend.

A backend is a :class:`gsio.io.websocket.WebSocket`: gsio's own frame layer
(:class:`~gsio.io.wsnative.NativeWebSocket`, under gsio's pywsgi handler: ``gsio.serve``,
``gsio serve``), gevent-websocket's (:class:`~gsio.io.wsgevent.GeventWebSocket`) or
simple-websocket's (:class:`~gsio.io.wssimple.SimpleWebSocket`, under any other WSGI server).
Every one queues what it is sent, so the session hands it frames the same way whatever it is.

Whatever the backend, the opening handshake is checked first, in one place
(:func:`check_handshake`, with :func:`gsio.protocol.frames.handshake_answer`): an invalid one gets
400 and the JSON error. Every backend's reader refuses, with the same close codes, unmasked
frames (1002), a header announcing a message over the limit (1009, before its payload) and a
message in more than :data:`gsio.protocol.frames.MAX_FRAGMENTS` frames (1008).

Per-message deflate (``Engine(per_message_deflate=...)``) is negotiated on gsio's own layer
only: the other backends answer no ``Sec-WebSocket-Extensions`` (simple-websocket's own deflate
stays off: its inflate has no bound), and their readers refuse RSV1 with 1002. A session on a
connection that agreed to it gets the shared framer of its window (:attr:`EngineSocket.frames_of`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Callable, Optional

from gsio.engine.base import EngineView, refused
from gsio.engine.headers import HANDSHAKE, add_to_answer
from gsio.engine.socket import EngineSocket
from gsio.exceptions import PayloadTooLarge, ProtocolError
from gsio.io.websocket import Data, WebSocket
from gsio.io.wsgevent import GeventWebSocket
from gsio.io.wssimple import SimpleWebSocket
from gsio.protocol import frames
from gsio.protocol.deflate import with_extension
from gsio.protocol.engineio import encode
from gsio.protocol.extensions import DeflateParams

log = logging.getLogger("gsio.engine")

__all__ = ["handle", "check_handshake", "GeventWebSocket", "SimpleWebSocket"]

#: ``frames_of(parts) -> bytes`` of a connection with per-message deflate (None: the engine's).
Framer = Optional[Callable[[Sequence[Data]], bytes]]


def check_handshake(environ: dict[str, Any]) -> bytes:
    """The ``101`` answer to the request's opening handshake (RFC 6455 4.2.1), checked once for
    every backend by :func:`gsio.protocol.frames.handshake_answer`; raises :class:`ProtocolError` for a
    request that is not a valid one (400, the JSON error code 3)."""
    return frames.handshake_answer(
        environ.get("REQUEST_METHOD", ""),
        environ.get("HTTP_UPGRADE", ""),
        environ.get("HTTP_CONNECTION", ""),
        environ.get("HTTP_SEC_WEBSOCKET_KEY", ""),
        environ.get("HTTP_SEC_WEBSOCKET_VERSION", ""),
        environ.get("SERVER_PROTOCOL", ""),
    )


def _negotiate(engine: EngineView, environ: dict[str, Any]) -> DeflateParams | None:
    """The per-message deflate parameters agreed with the client: None unless it is on and
    gsio's own layer takes the connection."""
    deflate = engine.per_message_deflate
    if deflate is None or "gsio.websocket" not in environ or engine.websocket is not None:
        return None
    return deflate.negotiate(environ.get("HTTP_SEC_WEBSOCKET_EXTENSIONS"))


def _accept(
    engine: EngineView,
    environ: dict[str, Any],
    answer: bytes,
    params: DeflateParams | None = None,
) -> WebSocket | None:
    """The backend for this (valid) handshake, or None when no backend can take it;
    ``params``: the per-message deflate agreed (:func:`_negotiate`)."""
    take_over = environ.get("gsio.websocket")
    if take_over is not None and engine.websocket != "simple-websocket":
        from gsio.io.wsnative import NativeWebSocket

        sock, rfile = take_over()
        deflate = engine.per_message_deflate
        if params is None or deflate is None:
            return NativeWebSocket(sock, rfile, engine, answer)
        answer = with_extension(answer, params)
        inflate = deflate.inflater(params, engine.max_payload)
        return NativeWebSocket(sock, rfile, engine, answer, inflate)
    ws = environ.get("wsgi.websocket")
    if ws is not None and engine.websocket != "simple-websocket":
        return GeventWebSocket(ws, engine)
    if "wsgi.websocket" in environ and ws is None:
        return None  # gevent-websocket's handler saw no valid upgrade
    try:
        return SimpleWebSocket(environ, engine)
    except Exception as exc:  # a server whose socket we cannot take
        log.info("websocket handshake failed: %r", exc)
        return None


def _refuse(
    engine: EngineView,
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    exc: ProtocolError,
) -> list[bytes]:
    """400 with the JSON error (logged once), on a connection that is not reused, as the
    reference's ``abortUpgrade``: the client may have sent frames behind its request."""
    response = refused(exc, environ, engine.handler)
    upgraded = environ.get("wsgi.websocket")
    if upgraded is not None:
        # gevent-websocket answered 101 already (a server without gsio's pre_start_hook).
        GeventWebSocket(upgraded, engine).close(1002)
        return []
    if environ.get("HTTP_CONNECTION", "").lower() != "close":  # else _finish adds it
        response.headers.append(("Connection", "close"))
    return engine.finish(response, environ, start_response)


def handle(
    engine: EngineView,
    environ: dict[str, Any],
    start_response: Callable[..., Any],
    sid: str | None,
) -> list[bytes]:
    """Serve a WebSocket request: a new session, or the upgrade of a polling one."""
    try:
        answer = check_handshake(environ)
    except ProtocolError as exc:
        return _refuse(engine, environ, start_response, exc)
    if engine.headers is not None or engine.initial_headers is not None:
        environ[HANDSHAKE] = sid is None
        answer = add_to_answer(answer, environ, engine.initial_headers, engine.headers)
    params = _negotiate(engine, environ)
    ws = _accept(engine, environ, answer, params)
    framer: Framer = None
    if params is not None and engine.per_message_deflate is not None:
        framer = engine.per_message_deflate.framer(params)
    if ws is None:
        error = ProtocolError("no websocket backend can take the connection")
        return _refuse(engine, environ, start_response, error)
    in_loop = False  # the event loop reads the connection from now on: it outlives the request
    try:
        if sid is None:
            in_loop = _serve_direct(engine, ws, environ, framer)
        else:
            socket = engine.sockets.get(sid)
            if socket is not None:
                in_loop = _serve_upgrade(engine, socket, ws, framer)
    except Exception:
        log.exception("websocket session failed")
    finally:
        if not in_loop:
            ws.close()
    return ws.finish(start_response)


def _serve_direct(
    engine: EngineView, ws: WebSocket, environ: dict[str, Any], framer: Framer
) -> bool:
    return _read_loop(_open_direct(engine, ws, environ, framer), ws)


def _open_direct(
    engine: EngineView, ws: WebSocket, environ: dict[str, Any], framer: Framer
) -> EngineSocket:
    """A new session on ``ws``: its open packet sent, the handler told, its heartbeat on."""
    socket = engine.open_session("websocket", environ)
    ws.send(encode(socket.session.open_packet()))  # the OPEN comes before anything else
    if framer is not None:
        socket.frames_of = framer
    socket.ws = ws
    engine.handler.on_open(socket)
    socket.start_heartbeat()
    return socket


def _serve_upgrade(
    engine: EngineView, socket: EngineSocket, ws: WebSocket, framer: Framer = None
) -> bool:
    session = socket.session
    if session.transport != "polling" or not session.upgrades or socket.closed:
        log.info("%s: refused a second websocket", socket.sid)
        return False
    c = engine.concurrency

    def timed_out() -> None:
        # Abort here, not when the reader notices: it only wakes once the peer answers the close.
        with socket.lock:
            if socket.ws is ws:
                return  # the upgrade finished just in time
            session.abort_upgrade()
        log.info(
            "%s: no upgrade within %s s; staying on polling", socket.sid, engine.upgrade_timeout
        )
        ws.close()

    timer = c.call_later(engine.upgrade_timeout, lambda: c.spawn(timed_out))
    try:
        if ws.receive() != "2probe":
            return False
        try:
            with socket.lock:
                answer = session.start_upgrade()
        except ProtocolError as exc:
            log.info("%s: %s", socket.sid, exc.message)
            return False
        ws.send(encode(answer))
        socket.wake_get()  # the pending GET ends with a NOOP so that the client can pause
        if ws.receive() != "5":
            with socket.lock:
                session.abort_upgrade()
            return False
        with socket.lock:
            session.finish_upgrade()
            if framer is not None:
                socket.frames_of = framer
            socket.ws = ws
    except (OSError, ProtocolError) as exc:
        log.info("%s: upgrade failed: %r", socket.sid, exc)
        with socket.lock:
            session.abort_upgrade()
        return False
    finally:
        timer.cancel()
    socket.flush()  # what was queued while upgrading goes out first, in order
    _tell_upgrade(engine, socket)
    return _read_loop(socket, ws)


def _tell_upgrade(engine: EngineView, socket: EngineSocket) -> None:
    try:
        engine.handler.on_upgrade(socket)
    except Exception:
        log.exception("%s: on_upgrade handler failed", socket.sid)


def _read_loop(socket: EngineSocket, ws: WebSocket) -> bool:
    """Read the session's messages until it ends; True if the event loop reads them instead
    (a backend that can, and a handler that never blocks): the request may end at once."""
    if getattr(socket.engine.handler, "nonblocking", False) and ws.read_in_loop(socket):
        return True
    receive = ws.receive
    receive_frame = socket.receive_frame
    while not socket.closed:
        try:
            frame = receive()
            if frame is None:
                socket.terminate("transport close")
                break
            receive_frame(frame)
        except ProtocolError as exc:
            log.info("%s: %s; closing the session", socket.sid, exc.message)
            socket.terminate(exc.reason, notify_client=not isinstance(exc, PayloadTooLarge))
            break
    return False
