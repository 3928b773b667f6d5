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
from collections.abc import Sequence
from typing import Any, Callable, Optional

from gsio.engine import polling, websocket
from gsio.engine.base import Forwarder, check_origin, default_sid, refused, warn_no_hand_over
from gsio.engine.base import UnknownSessionError as _UnknownSession
from gsio.engine.headers import HeadersHook, add_headers
from gsio.engine.middleware import Middlewares
from gsio.engine.socket import EngineHandler, EngineSocket
from gsio.engine.socket_v3 import make_socket
from gsio.exceptions import ProtocolError
from gsio.io import concurrency
from gsio.io.collector import COLLECTOR
from gsio.io.websocket import Data, message_frame
from gsio.protocol.deflate import PerMessageDeflate
from gsio.protocol.engineio import PROTOCOL, protocol_version
from gsio.protocol.extensions import DeflateOption
from gsio.protocol.frames import text_frame as _text_frame
from gsio.protocol.http import Cors, OriginsOption, Response, parse_query
from gsio.protocol.session import Session

__all__ = ["Engine", "EngineHandler", "EngineSocket", "UnknownSession"]

log = logging.getLogger("gsio.engine")

#: ``unknown_session(environ, sid) -> Response | None``: see :class:`Engine`.
UnknownSession = Callable[[dict[str, Any], str], Optional[Response]]


class Engine(Middlewares):
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
    :param http_compression: gzip or deflate polling responses the client accepts compressed,
        from ``compression_threshold`` bytes (1024).
    :param shutdown_timeout: seconds :meth:`shutdown` gives the sessions to close gracefully
        (5; ``gsio serve``, :func:`gsio.serve` and the gunicorn workers shut down on SIGTERM
        and SIGINT).
    :param async_mode: ``"gevent"``, ``"threading"`` or None to choose (see :mod:`gsio.io.concurrency`).
    :param websocket: the WebSocket backend: None picks gsio's own frame layer under gsio's
        pywsgi handler (``gsio.serve``), gevent-websocket's ``wsgi.websocket`` when the server
        provides it, and simple-websocket otherwise; ``"simple-websocket"`` forces the latter.
    :param unknown_session: ``callable(environ, sid) -> Response | None``, asked about a
        request naming a session this engine does not have (see :meth:`on_unknown_session`).
    :param allow_eio3: also serve Engine.IO v3 clients (socket.io-client 2.x), as Node's
        ``allowEIO3`` (False: their handshake gets 400, code 5).
    :param per_message_deflate: WebSocket compression (RFC 7692) on gsio's own WebSocket layer:
        False (as Node), True, or a dict of :class:`~gsio.protocol.extensions.DeflateOptions`.
    :param initial_headers: ``fn(headers, environ)`` adding ``(name, value)`` pairs to the
        handshake's response; ``headers``: to every response (see :mod:`gsio.engine.headers`).
    :param gc_freeze: keep the garbage collector's full passes as short as the growth since
        the last one, not as the whole heap (process-wide, :mod:`gsio.io.collector`); False
        leaves the collector as Python has it.
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
        unknown_session: UnknownSession | None = None,
        allow_eio3: bool = False,
        per_message_deflate: DeflateOption = False,
        initial_headers: HeadersHook = None,
        headers: HeadersHook = None,
        gc_freeze: bool = True,
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
        self.sid_generator = sid_generator or default_sid
        self.max_connections = max_connections
        self.max_outbound_buffer = None if max_outbound_buffer is None else int(max_outbound_buffer)
        self.http_compression = http_compression
        self.compression_threshold = compression_threshold
        self.shutdown_timeout = float(shutdown_timeout)
        self.async_mode = async_mode
        self.websocket = websocket
        self.unknown_session = unknown_session
        self.allow_eio3 = allow_eio3
        self.per_message_deflate = PerMessageDeflate.of(per_message_deflate)
        self.initial_headers, self.headers = initial_headers, headers
        if not gc_freeze:
            COLLECTOR.disable()
        #: Forwards requests for other servers' sessions to them (set by the Redis adapters).
        self.forwarder: Forwarder | None = None
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
            data = b"".join([message_frame("4" + p if type(p) is str else p) for p in parts])
        self._framed = (parts, data)
        return data

    def forget(self, socket: EngineSocket) -> None:
        if self.sockets.pop(socket.sid, socket) is socket and COLLECTOR.closed():
            self.concurrency.call_later(1.0, COLLECTOR.trim)  # (see gsio.io.collector)

    def open_session(self, transport: str, environ: dict, protocol: int = 0) -> EngineSocket:
        """Create a session for a handshake (the caller has validated the request); its
        Engine.IO ``protocol`` version, unless given, is the one the check read."""
        sid = self.sid_generator()
        while sid in self.sockets:
            sid = self.sid_generator()
        upgrades = ("websocket",) if self.allow_upgrades and "websocket" in self.transports else ()
        session = Session(
            sid,
            transport,
            protocol=protocol or environ.get("gsio.protocol", PROTOCOL),
            now=self.concurrency.monotonic(),
            ping_interval=self.ping_interval,
            ping_timeout=self.ping_timeout,
            upgrades=upgrades,
            max_payload=self.max_payload,
            max_outbound=self.max_outbound_buffer,
        )
        socket = make_socket(self, session, environ)
        self.sockets[sid] = socket
        COLLECTOR.opened()
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
                check_origin(environ)
            except ProtocolError as exc:
                return self.finish(refused(exc, environ, self.handler), environ, start_response)
            # The preflight's answer has its CORS headers already: none are added twice.
            response = self.cors.preflight(environ)
            return self.finish(response, environ, start_response, cors=False)
        answer = self.middleware_answer(environ) if self.middlewares else None
        if answer is not None:
            return self.finish(answer, environ, start_response)
        query = parse_query(environ)
        try:
            transport = environ.pop("gsio.transport", None) or self._check(environ, method, query)
        except ProtocolError as exc:
            if self.forwarder is not None and isinstance(exc, _UnknownSession):
                return self._forward(self.forwarder, exc, environ, start_response)
            return self.finish(self._refusal(exc, environ), environ, start_response)
        if transport == "websocket":
            return websocket.handle(self, environ, start_response, query.get("sid"))
        response = polling.handle(self, environ, method, query.get("sid"))
        return self.finish(response, environ, start_response)

    def handle_polling(
        self, environ: dict, query: dict, body: bytes | None, respond: Callable[[Response], None]
    ) -> Any:
        """Answer a long-polling GET or POST of an open session (``query`` has ``sid``) without
        blocking, for a server that reads HTTP in the event loop (gsio's handler does).

        ``respond(response)`` gets the finished response, at once or, for a GET with nothing
        to send yet, later from the event loop; that GET is returned then (call its
        ``abandon()`` if the connection closes first: the session ends, as in the reference).
        ``body`` is a POST's whole body, None when its Content-Length is over ``max_payload``.
        Needs a non-blocking handler (:attr:`EngineHandler.nonblocking`)."""
        method = environ["REQUEST_METHOD"]

        def finish(response: Response) -> None:
            respond(self._finalize(response, environ))

        try:
            self._check(environ, method, query)
        except ProtocolError as exc:
            forwarder = self.forwarder
            if forwarder is not None and isinstance(exc, _UnknownSession):
                response = self.on_unknown_session(environ, exc.sid)
                if response is None:  # another server's session: forward it there
                    pending = forwarder.forward(
                        environ, exc.sid, body, lambda r: respond(self._finalize(r, environ, False))
                    )
                    if pending is not None:
                        return pending
                    response = refused(exc, environ, self.handler)
                finish(response)
                return None
            finish(self._refusal(exc, environ))
            return None
        return polling.handle_nowait(self, environ, method, query["sid"], body, finish)

    def accepts(self, environ: dict) -> bool:
        """Whether :meth:`handle_request` will serve this request rather than refuse it, for
        a server that must commit to a WebSocket upgrade before the app runs (gevent-websocket);
        the outcome is kept in the environ, so nothing is checked twice."""
        method = environ.get("REQUEST_METHOD", "GET")
        if self.middlewares and not self.middlewares_let_through(environ):
            return False
        try:
            environ["gsio.transport"] = self._check(environ, method, parse_query(environ))
        except ProtocolError:
            return False
        return True

    def _check(self, environ: dict, method: str, query: dict) -> str:
        eio = query.get("EIO")
        protocol = PROTOCOL if eio == "4" else protocol_version(eio, allow_eio3=self.allow_eio3)
        transport = query.get("transport")
        if transport not in self.transports:
            raise ProtocolError(f"transport unknown: {transport!r}", code=0)
        if "HTTP_ORIGIN" in environ:  # (a browser's request; other clients send none)
            check_origin(environ)
            if not self.cors.allows(environ["HTTP_ORIGIN"]):
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
            environ["gsio.protocol"] = protocol
            return transport
        socket = self.sockets.get(sid)
        if socket is None:
            raise _UnknownSession(sid)
        if socket.closed and (transport, method) != ("polling", "GET"):
            # A closed session lingers only for the GET that takes its last packets.
            raise ProtocolError("session ID unknown", code=1)
        if transport == "polling" and socket.transport != "polling":
            raise ProtocolError("polling request on a websocket session", code=3)
        if transport == "websocket" and method != "GET":
            raise ProtocolError(f"websocket request with {method}", code=3)
        return transport

    def on_unknown_session(self, environ: dict[str, Any], sid: str) -> Response | None:
        """A valid request names session ``sid``, which this engine does not have: the seam
        for sessions another process owns. Return the response to answer with (the owner's,
        say), or None for 400 ``{"code":1,"message":"Session ID unknown"}``; by default what
        the ``unknown_session`` callable returns. Called from the request's greenlet or
        thread, or from the event loop under gsio's own handler: it must not block there."""
        if self.unknown_session is None:
            return None
        return self.unknown_session(environ, sid)

    def _refusal(self, exc: ProtocolError, environ: dict[str, Any]) -> Response:
        """The answer to a request :meth:`_check` refused."""
        if isinstance(exc, _UnknownSession):
            response = self.on_unknown_session(environ, exc.sid)
            if response is not None:
                return response
            if environ.get("wsgi.multiprocess") and "gsio.hand_over" not in environ:
                warn_no_hand_over(environ)
        return refused(exc, environ, self.handler)

    def _forward(
        self, forwarder: Forwarder, exc: _UnknownSession, environ: dict, start_response: Callable
    ) -> list[bytes]:
        """A request for a session of another server, from its greenlet or thread: the
        ``unknown_session`` hook first (the workers of this host), then the forwarder."""
        response = self.on_unknown_session(environ, exc.sid)
        if response is None:
            if parse_query(environ).get("transport") == "websocket":
                done = forwarder.relay_websocket(environ, start_response, exc.sid)
                if done is not None:
                    return done
            else:
                response = forwarder.forward_wait(environ, exc.sid)
                if response is not None:
                    return self.finish(response, environ, start_response, cors=False)
            response = refused(exc, environ, self.handler)
        return self.finish(response, environ, start_response)

    def finish(
        self, response: Response, environ: dict, start_response: Callable, cors: bool = True
    ) -> list[bytes]:
        return self._finalize(response, environ, cors)(start_response)

    def _finalize(self, response: Response, environ: dict, cors: bool = True) -> Response:
        """The response with the CORS headers (unless it has them: ``cors`` False), and
        ``Connection: close`` if the client asked."""
        if cors and "HTTP_ORIGIN" in environ:  # (no CORS headers without an Origin)
            response.headers.extend(self.cors.headers(environ))
        if "HTTP_CONNECTION" in environ and environ["HTTP_CONNECTION"].lower() == "close":
            response.headers.append(("Connection", "close"))
        if self.headers is not None or self.initial_headers is not None:
            add_headers(response.headers, environ, self.initial_headers, self.headers)
        return response
