"""The HTTP long-polling transport: the handshake GET, the long-poll GET, the POST of packets."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gsio.engineio.packet import CLOSE, NOOP, decode_payload, encode_payload
from gsio.engineio.session import State
from gsio.exceptions import PayloadTooLarge, ProtocolError
from gsio.http import Response, compress, error_response

if TYPE_CHECKING:
    from gsio.engine import Engine, EngineSocket

log = logging.getLogger("gsio.engine")

__all__ = ["handle"]


def handle(engine: Engine, environ: dict, method: str, sid: str | None) -> Response:
    """Answer one polling request (the engine has checked the query already)."""
    if sid is None:
        return _handshake(engine, environ)
    socket = engine.sockets[sid]
    if method == "GET":
        return _get(engine, socket, environ)
    if method == "POST":
        return _post(engine, socket, environ)
    return error_response(3)


def _handshake(engine: Engine, environ: dict) -> Response:
    socket = engine.open_session("polling", environ)
    engine.handler.on_open(socket)
    socket.start_heartbeat()
    headers = [("Content-Type", "text/plain; charset=UTF-8")]
    if engine.cookie:
        headers.append(("Set-Cookie", _cookie(engine.cookie, socket.sid)))
    body = encode_payload([socket.session.open_packet()]).encode("utf-8")
    return Response(200, headers, body)


def _get(engine: Engine, socket: EngineSocket, environ: dict) -> Response:
    session = socket.session
    try:
        with socket._lock:
            session.begin_get()
    except ProtocolError as exc:
        log.info("%s: %s; closing the session", socket.sid, exc.message)
        socket.terminate("transport error", notify_client=True)
        return error_response(exc.code, exc.status)
    wait = engine.ping_interval + engine.ping_timeout
    try:
        while True:
            with socket._lock:
                packets = session.take_outbound()
                if packets:
                    if len(packets) > 1 and packets[-1] == CLOSE:
                        # As the reference: what the server sent before it closed goes out
                        # first, the CLOSE with the next poll. In one payload, socket.io-client
                        # would see the close before the packets (it handles them a tick later).
                        session.outbound.append(packets.pop())
                    break
                if session.state is State.UPGRADING:
                    packets = [NOOP]  # end this poll so that the client can pause polling
                    break
                if session.state is State.CLOSED:
                    # As the reference: a poll pending when the client sent CLOSE gets a NOOP,
                    # one pending when the server closed without a word (ping timeout) a CLOSE.
                    by_client = session.close_reason == "transport close"
                    packets = [NOOP if by_client else CLOSE]
                    break
                socket._wake.clear()
            if not socket._wake.wait(wait):
                packets = [NOOP]
                break
    finally:
        session.get_active = False
    if session.state is State.CLOSED and not session.outbound:
        engine.forget(socket)  # it lingered for this GET
    body = encode_payload(packets).encode("utf-8")
    headers = [("Content-Type", "text/plain; charset=UTF-8")]
    if engine.http_compression:
        body, extra = compress(body, environ, engine.compression_threshold)
        headers.extend(extra)
    return Response(200, headers, body)


def _post(engine: Engine, socket: EngineSocket, environ: dict) -> Response:
    session = socket.session
    try:
        if environ.get("CONTENT_TYPE", "").startswith("application/octet-stream"):
            # Engine.IO v3 sent binary payloads so; v4 always sends text.
            raise ProtocolError(
                "binary payloads are not part of Engine.IO v4", reason="transport error"
            )
        # Active from the start: a second POST while this one's body is arriving overlaps too.
        with socket._lock:
            session.begin_post()
    except ProtocolError as exc:
        log.info("%s: bad POST (%s); closing the session", socket.sid, exc.message)
        socket.terminate(exc.reason, notify_client=True)
        return error_response(exc.code, exc.status)
    try:
        body = _read_body(environ, engine.max_payload)
        socket.receive_packets(decode_payload(body))
    except ProtocolError as exc:
        log.info("%s: %s; closing the session", socket.sid, exc.message)
        socket.terminate(exc.reason, notify_client=True)
        return error_response(exc.code, exc.status)
    finally:
        session.post_active = False
    return Response(200, [("Content-Type", "text/html")], b"ok")


def _read_body(environ: dict, limit: int) -> bytes:
    """Read the request body, refusing (before buffering it) anything over ``limit`` bytes."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or -1)
    except ValueError:
        raise ProtocolError("invalid Content-Length") from None
    if length > limit:
        raise PayloadTooLarge()
    stream = environ["wsgi.input"]
    want = limit + 1 if length < 0 else length
    chunks = []
    size = 0
    while size < want:
        try:
            chunk = stream.read(want - size)
        except (OSError, ValueError):  # the client left mid-body, or sent a bad chunk
            raise ProtocolError("request body cut short", reason="transport error") from None
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise PayloadTooLarge()
    if size < length:  # the client left mid-body: a partial body is not delivered
        raise ProtocolError("request body cut short", reason="transport error")
    return b"".join(chunks)


def _cookie(options: dict, sid: str) -> str:
    parts = [f"{options.get('name', 'io')}={sid}", f"Path={options.get('path', '/')}"]
    if options.get("httponly", True):
        parts.append("HttpOnly")
    if options.get("secure"):
        parts.append("Secure")
    parts.append(f"SameSite={options.get('samesite', 'Lax')}")
    return "; ".join(parts)
