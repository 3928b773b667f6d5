"""The HTTP long-polling transport: the handshake GET, the long-poll GET, the POST of packets."""

from __future__ import annotations

import logging
from typing import Any, Callable

from gsio.engine import polling_v3
from gsio.engine.base import EngineView
from gsio.engine.headers import HANDSHAKE
from gsio.engine.socket import EngineSocket
from gsio.engine.socket_v3 import EngineSocketV3
from gsio.exceptions import PayloadTooLarge, ProtocolError
from gsio.io.concurrency import Concurrency
from gsio.io.connwatch import CHECK_INTERVAL, BodyWatch, Hangup
from gsio.protocol.engineio import CLOSE, NOOP, Packet, decode_payload, encode_payload
from gsio.protocol.http import Response, compress, error_response
from gsio.protocol.session import Session, State

log = logging.getLogger("gsio.engine")

__all__ = ["handle", "handle_nowait", "WaitingGet"]

Respond = Callable[[Response], None]


def handle(engine: EngineView, environ: dict[str, Any], method: str, sid: str | None) -> Response:
    """Answer one polling request (the engine has checked the query already)."""
    if sid is None:
        return _handshake(engine, environ)
    socket = engine.sockets[sid]
    if socket.protocol == 3 and (error := polling_v3.check_request(environ)) is not None:
        return error
    if method == "GET":
        return _get(engine, socket, environ)
    if method == "POST":
        return _post(engine, socket, environ)
    return error_response(3)


def handle_nowait(
    engine: EngineView,
    environ: dict[str, Any],
    method: str,
    sid: str,
    body: bytes | None,
    respond: Respond,
) -> WaitingGet | None:
    """Answer a GET or POST of an open session without blocking, for a server that reads
    HTTP in the event loop: ``respond(response)`` is called now, or for a GET with nothing
    to send yet, later from the event loop; that GET is returned (to abandon should its
    connection close first). ``body`` is a POST's whole body, None when it is over
    ``max_payload`` (not read)."""
    socket = engine.sockets[sid]
    if socket.protocol == 3 and (error := polling_v3.check_request(environ)) is not None:
        respond(error)
        return None
    if method == "POST":
        respond(_post(engine, socket, environ, body))
        return None
    error = _begin_get(socket)
    if error is not None:
        respond(error)
        return None
    with socket.lock:
        packets = _ready(socket.session)
    if packets is not None:
        respond(_get_response(engine, socket, environ, packets))
        return None
    return WaitingGet(engine, socket, environ, respond)


def _handshake(engine: EngineView, environ: dict[str, Any]) -> Response:
    v3 = environ.get("gsio.protocol") == 3
    if v3 and (error := polling_v3.check_request(environ)) is not None:
        return error
    socket = engine.open_session("polling", environ)
    environ[HANDSHAKE] = True  # (its response gets the initial_headers)
    engine.handler.on_open(socket)
    socket.start_heartbeat()
    body, content_type = _encode(socket, environ, [socket.session.open_packet()])
    headers = [("Content-Type", content_type)]
    if engine.cookie:
        headers.append(("Set-Cookie", _cookie(engine.cookie, socket.sid)))
    return Response(200, headers, body)


def _encode(
    socket: EngineSocket, environ: dict[str, Any], packets: list[Packet]
) -> tuple[bytes, str]:
    """A GET's body, in the session's protocol, and its Content-Type."""
    if isinstance(socket, EngineSocketV3):
        return polling_v3.encode_body(environ, packets, socket.supports_binary)
    return encode_payload(packets).encode("utf-8"), "text/plain; charset=UTF-8"


def _get(engine: EngineView, socket: EngineSocket, environ: dict[str, Any]) -> Response:
    """A GET in a greenlet or thread: it waits until there is something to send, or the poll
    times out. If its client leaves meanwhile, the session ends ("transport error"), as in the
    reference: :class:`gsio.io.connwatch.Hangup` notices, where the server lets it see the
    socket."""
    error = _begin_get(socket)
    if error is not None:
        return error
    session = socket.session
    c = engine.concurrency
    deadline = c.monotonic() + engine.ping_interval + engine.ping_timeout
    hangup: Hangup | None = None
    waiter = _Wake(c)
    first = True
    try:
        while True:
            with socket.lock:
                packets = _ready(session)
                if packets is not None:
                    break
                waiter.event.clear()
                if first:
                    socket.waiter = waiter
            if first:  # it waits: watch its connection from now on
                first = False
                hangup = Hangup.of(c, environ, waiter.wake)
            elif hangup is not None and hangup.gone():
                log.debug("%s: poll connection closed prematurely", socket.sid)
                hangup.hang_up()
                socket.terminate("transport error")
                continue  # answered as any GET waiting at the close (the client is gone)
            wait = deadline - c.monotonic()
            if wait <= 0:
                packets = [NOOP]
                break
            if hangup is not None and hangup.polled:
                wait = min(wait, CHECK_INTERVAL)
            waiter.event.wait(wait)
    finally:
        session.get_active = False
        if socket.waiter is waiter:
            socket.waiter = None
        if hangup is not None:
            hangup.cancel()
    return _get_response(engine, socket, environ, packets)


class _Wake:
    """The waiter of a GET that waits in its greenlet or thread: an event it waits on."""

    __slots__ = ("event",)

    def __init__(self, c: Concurrency) -> None:
        self.event = c.light_event()

    def wake(self) -> None:
        self.event.set()


def _begin_get(socket: EngineSocket) -> Response | None:
    """Mark the session's GET active. If one was already (overlapping GETs), the session is
    closed and this is the error response."""
    try:
        with socket.lock:
            socket.session.begin_get()
    except ProtocolError as exc:
        log.info("%s: %s; closing the session", socket.sid, exc.message)
        socket.terminate("transport error")  # the GET that waits gets the CLOSE
        return error_response(exc.code, exc.status)
    return None


def _ready(session: Session) -> list[Packet] | None:
    """What a waiting GET answers now, or None while it has to wait (call under the lock)."""
    packets = session.take_outbound()
    if packets:
        if len(packets) > 1 and packets[-1] == CLOSE:
            # As the reference: what the server sent before it closed goes out first, the
            # CLOSE with the next poll. In one payload, socket.io-client would see the close
            # before the packets (it handles them a tick later).
            session.outbound.append(packets.pop())
        return packets
    if session.state is State.UPGRADING:
        return [NOOP]  # end this poll so that the client can pause polling
    if session.state is State.CLOSED:
        # As the reference: a poll pending when the client sent CLOSE gets a NOOP, one
        # pending when the server closed without a word (ping timeout) a CLOSE.
        return [NOOP if session.close_reason == "transport close" else CLOSE]
    return None


def _get_response(
    engine: EngineView, socket: EngineSocket, environ: dict[str, Any], packets: list[Packet]
) -> Response:
    socket.session.get_active = False
    if socket.session.state is State.CLOSED and not socket.session.outbound:
        engine.forget(socket)  # it lingered for this GET
    body, content_type = _encode(socket, environ, packets)
    headers = [("Content-Type", content_type)]
    if engine.http_compression:
        body, extra = compress(body, environ, engine.compression_threshold)
        headers.extend(extra)
    return Response(200, headers, body)


class WaitingGet:
    """A GET answered without blocking (:func:`handle_nowait`): parked on its session until
    there is something to send, the session upgrades or closes, or the poll times out; then
    ``respond(response)`` runs in the event loop."""

    __slots__ = ("_engine", "_socket", "_environ", "_respond", "_timer", "_scheduled")

    def __init__(
        self, engine: EngineView, socket: EngineSocket, environ: dict[str, Any], respond: Respond
    ) -> None:
        self._engine = engine
        self._socket = socket
        self._environ = environ
        self._respond = respond
        self._scheduled = False
        socket.waiter = self
        wait = engine.ping_interval + engine.ping_timeout
        self._timer = engine.concurrency.call_later(wait, self._timed_out)

    def wake(self) -> None:
        """Something changed on the session: look once the running greenlet yields, so that
        what it queues in the meantime leaves in one response."""
        if not self._scheduled:
            self._scheduled = True
            self._engine.concurrency.call_soon(self._check)

    def _check(self) -> None:
        self._scheduled = False
        socket = self._socket
        if socket.waiter is not self:
            return
        with socket.lock:
            packets = _ready(socket.session)
        if packets is not None:
            self._answer(packets)

    def _timed_out(self) -> None:
        if self._socket.waiter is self:
            self._answer([NOOP])

    def _answer(self, packets: list[Packet]) -> None:
        self._socket.waiter = None
        self._timer.cancel()
        self._respond(_get_response(self._engine, self._socket, self._environ, packets))

    def abandon(self) -> None:
        """Its connection closed before the answer: as the reference does, the session ends
        ("transport error"); the client is gone, or will open a new one."""
        socket = self._socket
        if socket.waiter is self:
            socket.waiter = None
            socket.session.get_active = False
            self._timer.cancel()
            log.debug("%s: poll connection closed prematurely", socket.sid)
            socket.terminate("transport error")


def _post(
    engine: EngineView, socket: EngineSocket, environ: dict[str, Any], body: bytes | None = None
) -> Response:
    """A POST of packets; ``body``, when given, is the body already read (None: read it from
    ``wsgi.input``, or, in :func:`handle_nowait`, one over the limit)."""
    session = socket.session
    binary = environ.get("CONTENT_TYPE", "").startswith("application/octet-stream")
    try:
        if binary and socket.protocol != 3:
            # Engine.IO v3 sends binary payloads so; v4 always sends text.
            raise ProtocolError(
                "binary payloads are not part of Engine.IO v4", reason="transport error"
            )
        # Active from the start: a second POST while this one's body is arriving overlaps too.
        with socket.lock:
            session.begin_post()
    except ProtocolError as exc:
        log.info("%s: bad POST (%s); closing the session", socket.sid, exc.message)
        socket.terminate(exc.reason)
        return error_response(exc.code, exc.status)
    try:
        if body is None:
            body = _read_watched(engine, socket, environ)
        if socket.protocol == 3:
            socket.receive_packets(polling_v3.decode_body(environ, body, binary))
        else:
            socket.receive_packets(decode_payload(body))
    except ProtocolError as exc:
        log.info("%s: %s; closing the session", socket.sid, exc.message)
        socket.terminate(exc.reason)
        return error_response(exc.code, exc.status)
    finally:
        session.post_active = False
    return Response(200, [("Content-Type", "text/html")], b"ok")


def _read_watched(engine: EngineView, socket: EngineSocket, environ: dict[str, Any]) -> bytes:
    """Read a POST's body within ``engine.body_timeout``, and no longer than its session lives
    (:class:`gsio.io.connwatch.BodyWatch`): a body that stalls holds no greenlet or thread for
    as long as its client likes."""
    watch = BodyWatch.of(engine.concurrency, environ, engine.body_timeout)
    if watch is None:
        return _read_body(environ, engine.max_payload)
    socket.reading = watch
    try:
        if socket.closed:  # the session ended before the watch was in place
            watch.stop("abandoned: the session closed")
        return _read_body(environ, engine.max_payload, watch)
    finally:
        socket.reading = None
        watch.finish()


def _read_body(environ: dict[str, Any], limit: int, watch: BodyWatch | None = None) -> bytes:
    """Read the request body, refusing (before buffering it) anything over ``limit`` bytes;
    ``watch`` may cut the read short."""
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
            chunk = None
        if watch is not None and watch.stopped:
            raise ProtocolError(f"request body {watch.stopped}", reason="transport error")
        if chunk is None:
            raise ProtocolError("request body cut short", reason="transport error")
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    if size > limit:
        raise PayloadTooLarge()
    if size < length:  # the client left mid-body: a partial body is not delivered
        raise ProtocolError("request body cut short", reason="transport error")
    return b"".join(chunks)


def _cookie(options: dict[str, Any], sid: str) -> str:
    parts = [f"{options.get('name', 'io')}={sid}", f"Path={options.get('path', '/')}"]
    if options.get("httponly", True):
        parts.append("HttpOnly")
    if options.get("secure"):
        parts.append("Secure")
    parts.append(f"SameSite={options.get('samesite', 'Lax')}")
    return "; ".join(parts)
