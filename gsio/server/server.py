"""The Socket.IO v5 server."""

from __future__ import annotations

import json as stdlib_json
import re
from contextlib import AbstractContextManager
from typing import Any, Callable

from gsio.engine import Engine, EngineHandler, EngineSocket
from gsio.engine.forward import Bus, Forwarding
from gsio.io.bundle import ClientBundle, PathArg
from gsio.io.concurrency import Concurrency
from gsio.protocol import bundle as client_bundle
from gsio.protocol import socketio as sio_packet
from gsio.protocol.http import NotModified, Response
from gsio.protocol.socketio import JsonCodec, Packet, PacketCodec
from gsio.server.adapter import Adapter
from gsio.server.broadcast import AckCallback, Broadcasting, BroadcastOperator
from gsio.server.client import Client
from gsio.server.conn import Conn
from gsio.server.debugging import observe as observe_for_debug
from gsio.server.legacy import LegacyClient
from gsio.server.namespace import Handler, Namespace, ParentNamespace
from gsio.server.observers import Observation, Observers
from gsio.server.recipients import RoomArg
from gsio.server.recovery import RecoveryOptions

__all__ = ["Server"]


class _JSON:
    """The default JSON codec: compact, UTF-8 (no ``\\u`` escapes), as Node writes it; NaN and
    infinities are written as ``null``, as ``JSON.stringify`` does. (Inbound packets are parsed
    by the Decoder itself, which refuses NaN, Infinity and numbers past the double range.)"""

    dumps = staticmethod(sio_packet.dumps)
    loads = staticmethod(stdlib_json.loads)


def _codec(parser: str | PacketCodec, json: Any) -> PacketCodec:
    """The codec ``Server(parser=..., json=...)`` names."""
    if parser == "json":
        json = json or _JSON
        return JsonCodec(json.dumps, json.loads)
    if json is not None:
        raise ValueError("json= applies to parser='json' only")
    if parser == "msgpack":
        from gsio.protocol.socketio_msgpack import MsgpackCodec

        return MsgpackCodec()
    if isinstance(parser, str):
        raise ValueError(f"unknown parser {parser!r}: 'json', 'msgpack' or a PacketCodec")
    return parser


class Server(EngineHandler, Broadcasting):
    """A Socket.IO server. Serve it with ``gsio.WSGIApp(sio)`` (beside another WSGI app if you
    like) or ``sio.serve(host, port)``.

    Two ways to write it, on the same server::

        sio = gsio.Server()

        @sio.handler                     # blocking: one call per connection
        def echo(conn):
            for msg in conn:
                msg.reply(*msg.args)

        @sio.of("/chat").on("say")       # event handlers
        def say(conn, text):
            conn.to("lobby").emit("said", text)

    The broadcasting methods (``emit``, ``to``, ``volatile``, ``fetch_sockets`` ...) are
    :class:`~gsio.server.broadcast.Broadcasting`'s, on the default namespace ``"/"``; ``emit``
    and ``send`` also take ``namespace=``.

    :param adapter: a callable ``adapter(namespace)`` making each namespace's adapter
        (default: the in-process :class:`~gsio.server.adapter.Adapter`).
    :param parser: how packets travel: ``"json"`` (the protocol's own, the default),
        ``"msgpack"`` (as the npm ``socket.io-msgpack-parser`` 3.x, for clients configured with
        it; needs the ``msgpack`` package, ``pip install 'gsio[msgpack]'``, else ImportError
        here; see :mod:`gsio.protocol.socketio_msgpack`), or a
        :class:`~gsio.protocol.socketio.PacketCodec` of your own. Handlers see the same
        values either way (binary as ``bytes``).
    :param json: an object with ``dumps`` and ``loads`` used for every packet of this server
        (default: the standard library's, compact and UTF-8; a float NaN or infinity that your
        code emits goes as ``null``, as ``JSON.stringify`` writes it, and a packet holding
        ``NaN``, ``Infinity`` or a number past the double range, such as ``1e400``, is a
        protocol error). A custom ``loads`` decides for itself what it accepts.
    :param connect_timeout: seconds a connection has to join a namespace before it is closed (45).
    :param max_attachments: the most binary attachments one packet may announce (10).
    :param max_namespace_length: the longest namespace name accepted (256).
    :param connection_state_recovery: True, or a dict of :class:`RecoveryOptions`
        (``max_disconnection_duration`` in seconds, 120; ``skip_middlewares``, True;
        ``max_packets``, 10,000): a client whose transport drops (a network cut, a ping
        timeout, a server shutting down) reconnects with the same id, rooms and ``conn.data``
        and gets what was sent to it meanwhile, as with Node's option of that name. Off by
        default. A blocking handler's connection lives through the cut. See the README.
    :param context: ``context(conn)`` returning a context manager that each connection's
        handlers run inside (middleware, connect, events, disconnect), in the connection's own
        greenlet: e.g. a Flask app and request context (see :func:`gsio.flask.init_app`).
    :param serve_client: serve the official ``socket.io-client`` browser builds under the path,
        as Node's ``serveClient`` does: ``/socket.io/socket.io.js``, ``socket.io.min.js``,
        ``socket.io.esm.min.js``, ``socket.io.msgpack.min.js`` and their ``.map`` (True, by
        default); a directory to serve them from; or False. The files are not part of gsio:
        ``python -m gsio client fetch`` puts them in a per-user cache (see
        :mod:`gsio.io.bundle` for where else they are looked for). Without them those paths
        answer 404 with that hint, logged once; nothing else changes.
    :param cleanup_empty_child_namespaces: forget a dynamic namespace's child (``sio.of(regex)``)
        when its last connection leaves, as Node's option: its adapter is closed, and the next
        client of that name makes a new one (else children live as long as the server).
    :param engine_options: passed to :class:`~gsio.Engine` (``path``, ``ping_interval``,
        ``ping_timeout``, ``max_payload``, ``max_outbound_buffer``, ``cors_allowed_origins``,
        ``async_mode``, ``allow_eio3``: serve socket.io-client 2.x too, see
        :mod:`gsio.server.legacy`, ...).
    """

    def __init__(
        self,
        *,
        adapter: Callable[[Namespace], Adapter] | None = None,
        parser: str | PacketCodec = "json",
        json: Any = None,
        connect_timeout: float = 45.0,
        max_attachments: int = 10,
        max_namespace_length: int = 256,
        context: Callable[[Conn], AbstractContextManager[Any]] | None = None,
        connection_state_recovery: bool | dict[str, Any] | RecoveryOptions | None = None,
        serve_client: bool | PathArg = True,
        cleanup_empty_child_namespaces: bool = False,
        **engine_options: Any,
    ) -> None:
        #: Connection state recovery's options; None when it is off.
        self.recovery = RecoveryOptions.of(connection_state_recovery)
        #: How packets become Engine.IO messages and back (``parser``; for JSON, ``json``'s
        #: dumps and loads). Made first: a missing msgpack package fails before anything runs.
        self.codec: PacketCodec = _codec(parser, json)
        self.engine = Engine(self, **engine_options)
        self.adapter_factory: Callable[[Namespace], Adapter] = adapter or Adapter
        self.json = json or _JSON
        self.connect_timeout = connect_timeout
        self.max_attachments = max_attachments
        self.max_namespace_length = max_namespace_length
        self.context = context
        self.cleanup_empty_child_namespaces = cleanup_empty_child_namespaces
        self.namespaces: dict[str, Namespace] = {}
        #: Those watching the server (see :meth:`observe`); false when no one does.
        self.observers = Observers(self)
        observe_for_debug(self.observers)  # DEBUG=gsio*: the debug output's observers
        self.parents: list[ParentNamespace] = []
        self.of("/")
        #: The client bundle served under the path; None when ``serve_client`` is False.
        self.client_bundle: ClientBundle | None = None
        if serve_client is not False:
            self.client_bundle = ClientBundle(None if serve_client is True else serve_client)

    @property
    def concurrency(self) -> Concurrency:
        return self.engine.concurrency

    @property
    def max_payload(self) -> int:
        """The largest message or polling body accepted (the engine's ``max_payload``); the files
        of one emit may hold no more."""
        return self.engine.max_payload

    def encode(self, packet: Packet) -> list[str | bytes]:
        """Encode a packet with this server's codec: text first, then attachments."""
        return self.codec.encode(packet)

    # -- namespaces ---------------------------------------------------------------------------

    def of(self, name: str | re.Pattern | Callable[[str, dict], bool]) -> Namespace:
        """The namespace ``name``, created on first use. A compiled regex or a callable
        ``(name, auth) -> bool`` makes a dynamic namespace: every matching name is served
        with the handlers registered on what this returns."""
        if isinstance(name, str):
            if not name.startswith("/"):
                name = "/" + name
            namespace = self.namespaces.get(name)
            if namespace is None:
                namespace = self.register(Namespace(name))
            return namespace
        parent = ParentNamespace(name)
        parent.bind(self)
        self.parents.append(parent)
        return parent

    def register(self, namespace: Namespace) -> Namespace:
        """Serve a :class:`Namespace` instance (a class-based namespace)."""
        namespace.bind(self)
        self.namespaces[namespace.name] = namespace
        return namespace

    def namespace_for(self, name: str, auth: dict) -> Namespace | None:
        """The namespace a CONNECT for ``name`` joins, or None if there is none."""
        namespace = self.namespaces.get(name)
        if namespace is not None:
            return namespace
        for parent in self.parents:
            if parent.matches(name, auth):
                return parent.child(name)
        return None

    # -- the default namespace's API, on the server -----------------------------------------------

    @property
    def default(self) -> Namespace:
        return self.namespaces["/"]

    def on(self, event: str, handler: Handler | None = None, namespace: str = "/") -> Any:
        """Register an event handler (see :meth:`Namespace.on`); usable as ``@sio.on("chat")``."""
        return self.of(namespace).on(event, handler)

    def handler(self, fn: Handler) -> Handler:
        """Serve the default namespace with a blocking ``fn(conn)`` (see :meth:`Namespace.handler`)."""
        return self.default.handler(fn)

    def use(self, fn: Handler) -> Handler:
        """Add middleware to the default namespace (see :meth:`Namespace.use`)."""
        return self.default.use(fn)

    @property
    def _all(self) -> BroadcastOperator:
        return BroadcastOperator(self.namespaces["/"])

    def emit(
        self,
        event: str,
        *args: Any,
        to: RoomArg | None = None,
        namespace: str = "/",
        callback: AckCallback | None = None,
    ) -> None:
        """Emit to every connection of ``namespace``, or to the rooms (or socket ids) in ``to``."""
        self.of(namespace).emit(event, *args, to=to, callback=callback)

    def send(self, *args: Any, to: RoomArg | None = None, namespace: str = "/") -> None:
        """Emit a ``message`` event (see :meth:`emit`)."""
        self.emit("message", *args, to=to, namespace=namespace)

    def on_server_side(
        self, event: str, handler: Handler | None = None, namespace: str = "/"
    ) -> Any:
        """Handle ``event`` from another server of the cluster (see
        :meth:`Namespace.on_server_side`)."""
        return self.of(namespace).on_server_side(event, handler)

    def server_side_emit(self, event: str, *args: Any, namespace: str = "/") -> None:
        """Emit to the other servers of the cluster, as Node's ``io.serverSideEmit``."""
        self.of(namespace).server_side_emit(event, *args)

    def server_side_call(
        self, event: str, *args: Any, timeout: float | None = None, namespace: str = "/"
    ) -> list:
        """Emit to the other servers and return their answers (see
        :meth:`Namespace.server_side_call`)."""
        return self.of(namespace).server_side_call(event, *args, timeout=timeout)

    def get_conn(self, conn_id: str, namespace: str = "/") -> Conn | None:
        """The connection with this socket id, if it is connected to this process."""
        return self.of(namespace).conns.get(conn_id)

    def observe(self, observer: object) -> Observation:
        """Tell ``observer`` what happens on the server: any object with some of the methods
        of :class:`~gsio.Observer` (sessions, connections, rooms, events in and out, acks).
        Returns its :class:`~gsio.server.observers.Observation`: ``.remove()`` it to stop."""
        return self.observers.add(observer)

    # -- serving ----------------------------------------------------------------------------

    def serve_client_file(self, environ: dict, start_response: Callable, base: str) -> Any:
        """Answer a request for a file of the client bundle under ``base`` (the Socket.IO
        path): the WSGI response, or None when it is not one (:class:`gsio.WSGIApp` asks)."""
        bundle = self.client_bundle
        name = client_bundle.client_file(environ.get("PATH_INFO", ""), base)
        if bundle is None or name is None:
            return None
        engine = self.engine
        method = environ.get("REQUEST_METHOD")
        if method == "OPTIONS" and engine.cors.enabled:
            return engine.finish(engine.cors.preflight(environ), environ, start_response, False)
        if method != "GET":
            return None
        hint = bundle.locate()
        entry = bundle.file(name) if hint is None else None
        if entry is None:
            text = hint or f"{name} is missing from {bundle.dist}"
            response = Response(404, [("Content-Type", "text/plain; charset=utf-8")], text.encode())
        elif client_bundle.not_modified(environ.get("HTTP_IF_NONE_MATCH"), entry.tag):
            headers = client_bundle.file_headers(name, entry.tag, "")[1:]  # no Content-Type
            response = NotModified(headers)
        else:
            accepted = environ.get("HTTP_ACCEPT_ENCODING")
            encoding = client_bundle.choose_encoding(accepted, bundle.encodings)
            body = bundle.variant(entry, encoding)
            response = Response(200, client_bundle.file_headers(name, entry.tag, encoding), body)
        return engine.finish(response, environ, start_response)

    def wsgi_app(self, wsgi_app: Callable | None = None) -> Any:
        """A WSGI app serving this server (and ``wsgi_app`` for every other path)."""
        from gsio.engine.wsgi import WSGIApp

        return WSGIApp(self, wsgi_app)

    def serve(self, host: str = "127.0.0.1", port: int = 5000, **kwargs: Any) -> None:
        """Serve on gevent's pywsgi with WebSocket support, forever (see :func:`gsio.serve`)."""
        from gsio.engine.wsgi import serve

        serve(self, host, port, **kwargs)

    def set_adapter(self, factory: Callable[[Namespace], Adapter]) -> None:
        """Make every namespace's adapter anew with ``factory``, and the later namespaces'
        with it too: for a server made before it is known how it is deployed (gsio's gunicorn
        worker gives several workers the in-host adapter this way). Before serving only:
        a namespace with connections keeps its adapter (ValueError)."""
        if any(ns.conns for ns in self.namespaces.values()):
            raise ValueError("set_adapter() before serving: the namespaces have connections")
        self.adapter_factory = factory
        for namespace in list(self.namespaces.values()):
            previous = namespace.adapter
            namespace.adapter = factory(namespace)
            previous.close()

    def forward_sessions(self, bus: Bus, *, timeout: float = 1.0) -> bool:
        """Serve the requests naming other servers' sessions by forwarding them to their owner
        over ``bus``, and theirs for this server's sessions: a load balancer in front of the
        servers needs no sticky sessions (see :mod:`gsio.engine.forward`). The Redis adapters
        call it (their ``forward_requests`` option); ``timeout``: seconds to wait for the
        owner's first answer. True if it is on (False for a custom ``sid_generator``)."""
        if self.engine.forwarder is not None:
            return True
        return Forwarding(self.engine, bus, timeout=timeout).attach()

    def shutdown(self, timeout: float | None = None) -> None:
        """Close every connection gracefully, within ``timeout`` seconds (None: the engine's
        ``shutdown_timeout``, 5 by default); blocks until then.

        New connections are refused; each client is told as its transport expects and
        reconnects (to another server, when there is one); the disconnect handlers run with
        the reason "server shutting down", and what was queued before leaves. Then the
        adapters close. ``gsio serve``, :func:`gsio.serve` and gsio's gunicorn workers call
        it on SIGTERM and SIGINT.
        """
        c = self.concurrency
        if timeout is None:
            timeout = self.engine.shutdown_timeout
        deadline = c.monotonic() + timeout
        self.engine.shutdown(timeout)
        for namespace in list(self.namespaces.values()):
            namespace.parked.close_all("server shutting down")
        # The connections' greenlets end after their disconnect handlers.
        while c.monotonic() < deadline and any(ns.conns for ns in self.namespaces.values()):
            c.sleep(0.02)
        for namespace in list(self.namespaces.values()):
            namespace.adapter.close()

    # -- EngineHandler --------------------------------------------------------------------------

    def on_open(self, socket: EngineSocket) -> None:
        socket.data = (Client if socket.protocol > 3 else LegacyClient)(self, socket)

    def on_message(self, socket: EngineSocket, data: Any) -> None:
        socket.data.on_message(data)

    def on_close(self, socket: EngineSocket, reason: str) -> None:
        socket.data.on_close(reason)
