"""The Engine.IO v4 server: sessions over long-polling and WebSocket, heartbeats, upgrades.

:class:`Engine` answers requests on the Engine.IO path and tells an :class:`EngineHandler` about
each session: ``on_open``, ``on_message``, ``on_close``. The Socket.IO server is such a handler;
so can be any code that wants plain Engine.IO messages::

    class Echo(gsio.EngineHandler):
        def on_message(self, socket, data):
            socket.send(data)

    app = gsio.WSGIApp(gsio.Engine(Echo()))
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from typing import Any, Callable, Union

from gsio.engine import polling, websocket
from gsio.exceptions import ProtocolError
from gsio.io import concurrency
from gsio.io.wsnative import message_frame as _frame_of
from gsio.protocol.engineio import CLOSE, Packet, PacketType, decode, encode
from gsio.protocol.frames import text_frame as _text_frame
from gsio.protocol.http import (
    Cors,
    OriginsOption,
    Response,
    error_response,
    parse_query,
    valid_header_value,
)
from gsio.protocol.session import OVERFLOW_REASON, Session, State

__all__ = ["Engine", "EngineHandler", "EngineSocket"]

log = logging.getLogger("gsio.engine")

Data = Union[str, bytes]


class EngineHandler:
    """What an :class:`Engine` calls. Override what you need; each method must return quickly.

    ``on_message`` is called in the order the client sent, from the request or reader that
    received it, which under gsio's own WebSocket layer is the event loop itself: it must not
    block (no I/O, no sleep, no waiting for other greenlets). Hand long work to another
    greenlet or thread; a handler that must block sets :attr:`nonblocking` to False.
    """

    #: ``on_open``/``on_message``/``on_close`` never block, so gsio's WebSocket layer may call
    #: them from the event loop and keep no reader greenlet per connection. False: each
    #: WebSocket connection keeps a greenlet that reads it and calls the handler.
    nonblocking = True

    def on_open(self, socket: EngineSocket) -> None:
        """A session opened (the handshake was answered or is about to be)."""

    def on_message(self, socket: EngineSocket, data: Data) -> None:
        """A message arrived: ``str`` for text, ``bytes`` for binary."""

    def on_close(self, socket: EngineSocket, reason: str) -> None:
        """The session ended; ``reason`` as the reference names it ("transport close", ...)."""


class EngineSocket:
    """One client's Engine.IO session, as the code above the engine sees it."""

    __slots__ = (
        "sid",
        "environ",
        "engine",
        "session",
        "_c",
        "_lock",
        "_wake",
        "_waiting",
        "_timer",
        "ws",
        "_writing",
        "_writer",
        "_terminated",
        "_reading",
        "data",
        "__weakref__",
    )

    def __init__(self, engine: Engine, session: Session, environ: dict) -> None:
        self.sid = session.sid
        self.environ = environ
        self.engine = engine
        self.session = session
        self._c = engine.concurrency
        # Guards the session's state; nothing blocks or yields while it is held.
        self._lock = self._c.state_lock()
        # Set when a waiting GET has something to take: polling sessions only.
        self._wake: Any = self._c.light_event() if session.transport == "polling" else None
        self._waiting: Any = None  # a GET waiting without a greenlet (polling.WaitingGet)
        self._timer: Any = None
        self.ws: Any = None  # the WebSocket backend once the session is on WebSocket
        self._writing = False
        self._writer: Any = None
        self._terminated = False
        self._reading: Any = None  # the polling POST reading its body (connwatch.BodyWatch)
        self.data: Any = None  # free for the layer above

    @property
    def transport(self) -> str:
        return self.session.transport

    @property
    def closed(self) -> bool:
        return self.session.state is State.CLOSED

    @property
    def buffered_bytes(self) -> int:
        """Bytes sent to the client that have not been written to its connection yet (text
        counted in characters): what ``max_outbound_buffer`` limits. As ``bufferedAmount``
        in Node's ``ws``, the kernel's socket buffer is not included."""
        ws = self.ws
        extra = ws.buffered_bytes if ws is not None and ws.buffered else 0
        return self.session.buffered + extra  # type: ignore[no-any-return]

    def send(self, data: Data) -> bool:
        """Queue a message for the client; never blocks. False if the session is closed."""
        return self.send_packet(Packet(PacketType.MESSAGE, data))

    def send_packet(self, packet: Packet) -> bool:
        if not self._c.in_home_thread():
            # An OS thread under gevent: gevent's objects belong to the hub's thread.
            self._c.call_soon_threadsafe(lambda: self.send_packet(packet))
            return not self.closed
        ws = self.ws
        if ws is not None and ws.buffered and self._direct():
            if ws.send_frames(_frame_of(encode(packet))):
                return True
            self._overflow()
            return False
        with self._lock:
            queued = self.session.send(packet)
        if queued:
            self._kick()
            return True
        if self.session.overflowed:
            self._overflow()
        return False

    def send_parts(self, parts: Sequence[Data], volatile: bool = False) -> bool:
        """Send messages in order: an encoded Socket.IO packet (its text, then its attachments).

        The same ``parts`` object may be passed for many sockets (a broadcast) and must not
        change afterwards: on WebSocket its frames are made once for all of them. With
        ``volatile``, nothing is sent to a client that has a backlog (anything not yet written
        to its connection, on every transport) or is upgrading. False if nothing was sent: the
        session is closed, or was just closed for taking too little of what it is sent (see
        ``max_outbound_buffer``), or a volatile message was dropped.
        """
        ws = self.ws
        session = self.session
        if (
            ws is not None
            and ws.buffered
            and session.state is State.OPEN
            and not session.outbound
            and self._c.in_home_thread()
        ):  # straight to the WebSocket (as _direct(), inlined: this is every emit's path)
            if volatile and ws.backlog:
                return False
            if ws.send_frames(self.engine.frames_of(parts)):
                return True
            self._overflow()
            return False
        if volatile and (
            session.outbound
            or session.transport_bytes  # a WebSocket writer is busy
            or session.state is not State.OPEN
            or (ws is not None and ws.buffered and ws.backlog)
        ):
            return False
        sent = True
        for part in parts:
            sent = self.send(part) and sent
        return sent

    def _direct(self) -> bool:
        """Whether a message may go straight to a buffered WebSocket: the session is open on
        it and nothing waits in the session's queue (it would have to go first)."""
        session = self.session
        return session.state is State.OPEN and not session.outbound

    def close(self, reason: str = "forced close") -> None:
        """Close the session from the server side: the client receives a CLOSE packet."""
        self.terminate(reason, notify_client=True)

    @property
    def flushed(self) -> bool:
        """Closed, and nothing of it waits to be written any more: a polling session's last
        packets were taken by a GET, a WebSocket's were handed to the socket."""
        if not self.closed:
            return False
        ws = self.ws
        if ws is None:
            return self.engine.sockets.get(self.sid) is not self
        return not self._writing and not getattr(ws, "backlog", False)

    def _overflow(self) -> None:
        """More than ``max_outbound_buffer`` bytes waited for the client when more was sent: it
        does not read what it is sent. What waits is dropped and the connection with it, at
        once (a close frame would wait behind the rest); the session ends."""
        with self._lock:
            if not self.session.overflow():
                return  # done already, or closed for another reason
        ws = self.ws
        if ws is not None:
            ws.abort()
        log.warning(
            "%s: over %d bytes buffered for a client that does not read what it is sent"
            " (max_outbound_buffer); closing the connection",
            self.sid,
            self.engine.max_outbound_buffer,
        )
        # Not here: this may run inside a broadcast loop or the event loop.
        self._c.spawn(self.terminate, OVERFLOW_REASON)

    # -- internals shared by the transports ----------------------------------------------

    def _kick(self) -> None:
        """Something was queued: wake the waiting GET, or make sure a WebSocket writer runs."""
        ws = self.ws
        if ws is None or self.session.state is State.UPGRADING:
            self._wake_get()
            return
        if ws.buffered:  # it queues and never blocks: hand it everything now
            with self._lock:
                packets = self.session.take_outbound()
            if packets and not ws.send_frames(
                b"".join([_frame_of(encode(packet)) for packet in packets])
            ):
                self._overflow()
                return
            if self.session.state is State.CLOSED:
                ws.close()
            return
        with self._lock:
            if self._writing:
                return
            self._writing = True
        self._writer = self._c.spawn(self._write_ws)

    def _wake_get(self) -> None:
        """Wake the waiting GET (polling): it answers with what is queued, or what the
        session's state calls for."""
        if self._wake is not None:
            self._wake.set()
        if self._waiting is not None:
            self._waiting.wake()

    def join_writer(self, timeout: float = 5.0) -> None:
        """Wait for the WebSocket writer to finish flushing (the reader is leaving)."""
        writer = self._writer
        if writer is not None and self._writing:
            writer.join(timeout)

    def _write_ws(self) -> None:
        ws, session = self.ws, self.session
        try:
            while True:
                with self._lock:
                    # What this writer holds until it takes the next batch.
                    session.transport_bytes = session.outbound_bytes
                    packets = session.take_outbound()
                    if not packets:
                        self._writing = False
                        break
                for packet in packets:
                    ws.send(encode(packet))
        except Exception as exc:  # the peer is gone: the reader sees it too
            with self._lock:
                self._writing = False
                session.transport_bytes = 0
            log.debug("%s: websocket write failed: %r", self.sid, exc)
            self.terminate("transport error")
        if session.state is State.CLOSED:
            ws.close()

    def start_heartbeat(self) -> None:
        self._arm_timer()

    def _arm_timer(self) -> None:
        # Both the timer and a pong re-arm: under the lock, so that only one timer lives.
        with self._lock:
            if self.session.state is State.CLOSED:
                return
            if self._timer is not None:
                self._timer.cancel()
            delay = self.session.next_deadline() - self._c.monotonic()
            self._timer = self._c.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        # Runs in the gevent hub (or the timer thread): queue, wake or spawn; never block.
        with self._lock:
            outcome = self.session.on_timer(self._c.monotonic())
        if outcome == "timeout":
            self._c.spawn(self.terminate, "ping timeout")
            return
        if self.session.state is State.CLOSED:
            return
        if outcome == "ping":
            self._kick()
        self._arm_timer()

    def receive_frame(self, frame: Data) -> None:
        """Feed one WebSocket frame's payload (an Engine.IO packet) to the session."""
        if self.session.state is _OPEN:
            if type(frame) is str:
                if frame[:1] == "4":
                    self.engine.handler.on_message(self, frame[1:])  # the common case
                    return
            else:
                self.engine.handler.on_message(self, frame)  # a binary message
                return
        self.receive_packets((decode(frame),))

    def receive_packets(self, packets: Sequence[Packet]) -> None:
        """Feed packets from the client to the session; messages go to the handler."""
        handler = self.engine.handler
        now = self._c.monotonic()
        for packet in packets:
            with self._lock:
                if self.session.state is State.CLOSED:
                    return  # what a client sends after the close is dropped, as the reference does
                data = self.session.receive(packet, now)
            if data is not None:
                handler.on_message(self, data)
            elif self.session.state is State.CLOSED:
                self.terminate("transport close")
                return
            elif packet.type is PacketType.PONG:
                # The next ping is due ping_interval after this pong: the timer waits for the
                # pong deadline until told.
                self._arm_timer()

    def terminate(self, reason: str, *, notify_client: bool = False) -> None:
        """End the session once: stop the heartbeat, flush, tell the handler.

        ``notify_client``: the server closes the session of its own accord (or, on WebSocket,
        for a client's error): a CLOSE goes out after what is queued, and a polling session
        stays, for ``ping_timeout`` at most, until a GET takes it. Otherwise the session is
        forgotten at once, as in the reference: a GET waiting gets a CLOSE (a NOOP after the
        client's own CLOSE), and any later request the answer to an unknown session.
        """
        with self._lock:
            if notify_client and not self.closed:
                self.session.send(CLOSE)
            self.session.close(reason)
            if self._terminated:
                return
            self._terminated = True
            if self._timer is not None:
                self._timer.cancel()
            # A polling client learns of the server's close from its next GET: as the
            # reference does, keep the session until a GET takes what is left (the CLOSE).
            if notify_client and self.ws is None and self.session.outbound:
                self._timer = self._c.call_later(
                    self.engine.ping_timeout, lambda: self.engine.forget(self)
                )
            else:
                self.engine.forget(self)
            reading = self._reading
        if reading is not None:  # as the reference, which destroys a pending data request
            reading.stop("abandoned: the session closed")
        self._wake_get()
        if self.ws is not None:
            self._kick()
        log.debug("%s: closed (%s)", self.sid, self.session.close_reason)
        try:
            self.engine.handler.on_close(self, self.session.close_reason or reason)
        except Exception:
            log.exception("%s: on_close handler failed", self.sid)


_OPEN = State.OPEN


def _refused(exc: ProtocolError, environ: dict) -> Response:
    """The error answer to a request the engine refuses, logged once."""
    log.info(
        "bad request (%s): %s %s?%s",
        exc.message,
        environ.get("REQUEST_METHOD"),
        environ.get("PATH_INFO"),
        environ.get("QUERY_STRING"),
    )
    return error_response(exc.code, exc.status)


def _check_origin(environ: dict) -> None:
    """Refuse an Origin that no browser sends: a control character in a header's value (as
    the reference's ``checkInvalidHeaderChar``: 400, code 3, before any session exists)."""
    origin = environ.get("HTTP_ORIGIN")
    if origin is not None and not valid_header_value(origin):
        raise ProtocolError(f"invalid Origin header {origin[:100]!r}", code=3)


def _default_sid() -> str:
    return secrets.token_urlsafe(15)  # 120 random bits, 20 URL-safe characters


class Engine:
    """The Engine.IO v4 server.

    :param handler: the :class:`EngineHandler` told of sessions and messages.
    :param path: the URL path served (``/socket.io/``).
    :param ping_interval: seconds between the server's pings (25).
    :param ping_timeout: seconds a client has to answer a ping before it is dropped (20).
    :param max_payload: the largest message or polling body accepted, in bytes (1,000,000;
        announced in the handshake; over it: 413 on polling, close 1009 on WebSocket).
    :param transports: the transports allowed, ``("polling", "websocket")``.
    :param allow_upgrades: whether polling sessions may upgrade to WebSocket (True).
    :param upgrade_timeout: seconds a probe WebSocket has to complete the upgrade (10).
    :param body_timeout: seconds a long-polling POST's body has to arrive whole once its head
        has (30). Past it, or when the session ends first, the read is abandoned: the POST gets
        400, and the session ends ("transport error"). Where the WSGI server hides the
        connection's socket, only its own timeouts, if any, apply.
    :param cors_allowed_origins: None (no CORS headers, no Origin check), ``"*"``, a list of
        origins, or a callable ``origin -> bool``. Also checked on WebSocket requests.
    :param cors_credentials: send ``Access-Control-Allow-Credentials: true``.
    :param cookie: None (no cookie), a cookie name, or a dict with ``name``, ``path``,
        ``httponly``, ``samesite``, ``secure``: the session id is set in that cookie.
    :param allow_request: ``callable(environ) -> bool`` run on each handshake; False refuses
        the connection with 403 ``{"code":4,"message":"Forbidden"}``.
    :param sid_generator: ``callable() -> str`` making session ids (default: 120 random bits).
    :param max_connections: refuse handshakes (503) past this many open sessions (None: no limit).
    :param max_outbound_buffer: bytes (text in characters) that may wait for one client, not yet
        written to its connection, when more is sent to it (4,000,000; None: no limit). A client
        that reads less than it is sent is disconnected once more is sent while over it: what
        waits is dropped, the connection closed, a WARNING logged by ``gsio.engine``, and the
        disconnect reason is "transport error". Volatile messages are dropped for a client with
        anything waiting. On every transport; the kernel's socket buffers are not counted.
    :param http_compression: gzip or deflate polling responses the client accepts compressed.
    :param compression_threshold: the smallest polling response compressed, in bytes (1024).
    :param shutdown_timeout: seconds :meth:`shutdown` gives the sessions to close gracefully
        (5; ``gsio serve``, :func:`gsio.serve` and the gunicorn workers shut down on SIGTERM
        and SIGINT).
    :param async_mode: ``"gevent"``, ``"threading"`` or None to choose (see :mod:`gsio.io.concurrency`).
    :param websocket: the WebSocket backend: None picks gsio's own frame layer under gsio's
        pywsgi handler (``gsio.serve``), gevent-websocket's ``wsgi.websocket`` when the server
        provides it, and simple-websocket otherwise; ``"simple-websocket"``
        forces the latter.
    """

    def __init__(
        self,
        handler: EngineHandler | None = None,
        *,
        path: str = "/socket.io/",
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        max_payload: int = 1_000_000,
        transports: Sequence[str] = ("polling", "websocket"),
        allow_upgrades: bool = True,
        upgrade_timeout: float = 10.0,
        body_timeout: float = 30.0,
        cors_allowed_origins: OriginsOption = None,
        cors_credentials: bool = False,
        cookie: None | str | dict = None,
        allow_request: Callable[[dict], bool] | None = None,
        sid_generator: Callable[[], str] | None = None,
        max_connections: int | None = None,
        max_outbound_buffer: int | None = 4_000_000,
        http_compression: bool = True,
        compression_threshold: int = 1024,
        shutdown_timeout: float = 5.0,
        async_mode: str | None = None,
        websocket: str | None = None,
    ) -> None:
        bad = set(transports) - {"polling", "websocket"}
        if bad or not transports:
            raise ValueError(f"transports must be 'polling' and/or 'websocket', not {sorted(bad)}")
        if websocket not in (None, "simple-websocket", "gevent-websocket"):
            raise ValueError("websocket must be None, 'gevent-websocket' or 'simple-websocket'")
        self.handler = handler or EngineHandler()
        self.path = "/" + path.strip("/") + "/"
        self.ping_interval = float(ping_interval)
        self.ping_timeout = float(ping_timeout)
        self.max_payload = int(max_payload)
        self.transports = tuple(transports)
        self.allow_upgrades = allow_upgrades
        self.upgrade_timeout = float(upgrade_timeout)
        self.body_timeout = float(body_timeout)
        self.cors = Cors(cors_allowed_origins, cors_credentials)
        if isinstance(cookie, str):
            cookie = {"name": cookie}
        self.cookie = cookie
        self.allow_request = allow_request
        self.sid_generator = sid_generator or _default_sid
        self.max_connections = max_connections
        self.max_outbound_buffer = None if max_outbound_buffer is None else int(max_outbound_buffer)
        self.http_compression = http_compression
        self.compression_threshold = compression_threshold
        self.shutdown_timeout = float(shutdown_timeout)
        self.async_mode = async_mode
        self.websocket = websocket
        self.sockets: dict[str, EngineSocket] = {}
        #: True once :meth:`shutdown` began: handshakes are refused.
        self.closing = False
        self._concurrency: concurrency.Concurrency | None = None
        self._framed: tuple[Any, bytes] = (None, b"")  # the last parts framed, and their frames

    @property
    def concurrency(self) -> concurrency.Concurrency:
        """The :class:`~gsio.io.concurrency.Concurrency` in use, chosen on first use."""
        if self._concurrency is None:
            self._concurrency = concurrency.select(self.async_mode)
        return self._concurrency

    def frames_of(self, parts: Sequence[Data]) -> bytes:
        """The WebSocket frames of these Engine.IO messages, made once for a broadcast: the
        same ``parts`` object is handed over for every recipient."""
        framed = self._framed
        if framed[0] is parts:
            return framed[1]
        if len(parts) == 1 and type(parts[0]) is str:
            data = _text_frame("4" + parts[0])  # an event or ack without attachments
        else:
            data = b"".join([_frame_of("4" + p if type(p) is str else p) for p in parts])
        self._framed = (parts, data)
        return data

    def forget(self, socket: EngineSocket) -> None:
        if self.sockets.get(socket.sid) is socket:
            self.sockets.pop(socket.sid, None)

    def open_session(self, transport: str, environ: dict) -> EngineSocket:
        """Create a session for a handshake (the caller has validated the request)."""
        sid = self.sid_generator()
        while sid in self.sockets:
            sid = self.sid_generator()
        upgrades = ("websocket",) if self.allow_upgrades and "websocket" in self.transports else ()
        session = Session(
            sid,
            transport,
            now=self.concurrency.monotonic(),
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            upgrades=upgrades,
            max_payload=self.max_payload,
            max_outbound=self.max_outbound_buffer,
        )
        socket = EngineSocket(self, session, environ)
        self.sockets[sid] = socket
        return socket

    def shutdown(self, timeout: float | None = None) -> None:
        """Close every session gracefully, within ``timeout`` seconds (None:
        ``shutdown_timeout``); blocks until then.

        From here on handshakes are refused (503). Every session is closed with the reason
        "server shutting down", the client told as its transport expects (an Engine.IO CLOSE:
        socket.io-client then reconnects, to another server if there is one): a WebSocket gets
        it and a close frame, a waiting long-poll GET is answered with it, and a polling
        session without one keeps it for its next GET. Returns once all of it has left, or
        ``timeout`` has passed. Call it from a greenlet or thread, not from the event loop.
        """
        self.closing = True
        c = self.concurrency
        deadline = c.monotonic() + (self.shutdown_timeout if timeout is None else timeout)
        sockets = list(self.sockets.values())
        for socket in sockets:
            socket.terminate("server shutting down", notify_client=True)
        while c.monotonic() < deadline and not all(s.flushed for s in sockets):
            c.sleep(0.02)

    # -- the request entry point ----------------------------------------------------------

    def handle_request(self, environ: dict, start_response: Callable) -> Any:
        """Answer one WSGI request on the Engine.IO path."""
        method = environ.get("REQUEST_METHOD", "GET")
        if method == "OPTIONS" and self.cors.enabled:
            try:
                _check_origin(environ)
            except ProtocolError as exc:
                return self._finish(_refused(exc, environ), environ, start_response)
            # The preflight's answer has its CORS headers already: none are added twice.
            response = self.cors.preflight(environ)
            return self._finish(response, environ, start_response, cors=False)
        query = parse_query(environ)
        try:
            transport = environ.pop("gsio.transport", None) or self._check(environ, method, query)
        except ProtocolError as exc:
            return self._finish(_refused(exc, environ), environ, start_response)
        if transport == "websocket":
            return websocket.handle(self, environ, start_response, query.get("sid"))
        response = polling.handle(self, environ, method, query.get("sid"))
        return self._finish(response, environ, start_response)

    def handle_polling(
        self, environ: dict, query: dict, body: bytes | None, respond: Callable[[Response], None]
    ) -> Any:
        """Answer a long-polling GET or POST of an open session (``query`` has ``sid``) without
        blocking, for a server that reads HTTP in the event loop (gsio's handler does).

        ``respond(response)`` gets the finished response, at once or, for a GET with nothing
        to send yet, later from the event loop; that GET is returned then (call its
        ``abandon()`` if the connection closes first: the session ends, as in the reference).
        ``body`` is a POST's whole body, None when its Content-Length is over ``max_payload``.
        Needs a non-blocking handler (:attr:`EngineHandler.nonblocking`).
        """
        method = environ["REQUEST_METHOD"]

        def finish(response: Response) -> None:
            respond(self._finalize(response, environ))

        try:
            self._check(environ, method, query)
        except ProtocolError as exc:
            finish(_refused(exc, environ))
            return None
        return polling.handle_nowait(self, environ, method, query["sid"], body, finish)

    def accepts(self, environ: dict) -> bool:
        """Whether :meth:`handle_request` will serve this request rather than refuse it.

        For a server that must commit to a WebSocket upgrade before the app runs
        (gevent-websocket); the outcome is kept in the environ, so nothing is checked twice.
        """
        method = environ.get("REQUEST_METHOD", "GET")
        try:
            environ["gsio.transport"] = self._check(environ, method, parse_query(environ))
        except ProtocolError:
            return False
        return True

    def _check(self, environ: dict, method: str, query: dict) -> str:
        if query.get("EIO") != "4":
            raise ProtocolError("unsupported protocol version", code=5)
        transport = query.get("transport")
        if transport not in self.transports:
            raise ProtocolError(f"transport unknown: {transport!r}", code=0)
        _check_origin(environ)
        if not self.cors.allows(environ.get("HTTP_ORIGIN")):
            raise ProtocolError("origin not allowed", code=4, status=403)
        sid = query.get("sid")
        if sid is None:
            if method != "GET":
                raise ProtocolError(f"handshake with {method}", code=2)
            if self.allow_request is not None and not self.allow_request(environ):
                raise ProtocolError("refused by allow_request", code=4, status=403)
            if self.closing:
                raise ProtocolError("server shutting down", code=3, status=503)
            if self.max_connections is not None and len(self.sockets) >= self.max_connections:
                raise ProtocolError("too many connections", code=3, status=503)
            return transport
        socket = self.sockets.get(sid)
        if socket is None or (socket.closed and (transport, method) != ("polling", "GET")):
            # A closed session lingers only for the GET that takes its last packets.
            raise ProtocolError("session ID unknown", code=1)
        if transport == "polling" and socket.transport != "polling":
            raise ProtocolError("polling request on a websocket session", code=3)
        if transport == "websocket" and method != "GET":
            raise ProtocolError(f"websocket request with {method}", code=3)
        return transport

    def _finish(
        self, response: Response, environ: dict, start_response: Callable, cors: bool = True
    ) -> list[bytes]:
        return self._finalize(response, environ, cors)(start_response)

    def _finalize(self, response: Response, environ: dict, cors: bool = True) -> Response:
        """The response with the CORS headers (unless it has them: ``cors`` False), and
        ``Connection: close`` if the client asked."""
        if cors:
            response.headers.extend(self.cors.headers(environ))
        if environ.get("HTTP_CONNECTION", "").lower() == "close":
            response.headers.append(("Connection", "close"))
        return response
