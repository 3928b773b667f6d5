"""The WSGI application, and a helper that serves it on gevent's pywsgi."""

from __future__ import annotations

import functools
import logging
import socket
from typing import Any, Callable
from wsgiref.handlers import BaseHandler as _WsgirefHandler

from gsio.engine import Engine
from gsio.engine.websocket import check_handshake
from gsio.exceptions import ProtocolError
from gsio.protocol.http import DEFAULT_HEADER_TIMEOUT, Response, error_response

__all__ = ["WSGIApp", "serve", "make_server", "serve_until_stopped", "as_wsgi"]

log = logging.getLogger("gsio.engine")


class WSGIApp:
    """Serve gsio on its path and hand every other request to ``wsgi_app``.

    :param app: a :class:`gsio.Server` or a :class:`gsio.Engine`.
    :param wsgi_app: the WSGI application for everything else (a Flask or Django app);
        without one, other paths get 404.
    :param path: the path to serve, when not the engine's own (``/socket.io/``).

    ``app.wsgi_app = gsio.WSGIApp(sio, app.wsgi_app)`` puts Socket.IO beside a Flask app.
    """

    def __init__(self, app: Any, wsgi_app: Callable | None = None, path: str | None = None) -> None:
        self.app = app
        self.engine: Engine = app if isinstance(app, Engine) else app.engine
        self.wsgi_app = wsgi_app
        self.path = "/" + (path or self.engine.path).strip("/") + "/"
        #: ``serve_client_file(environ, start_response, base)`` of a Server (its client bundle).
        self.client_files: Callable | None = getattr(app, "serve_client_file", None)

    def __call__(self, environ: dict, start_response: Callable) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == self.path or path + "/" == self.path:
            if isinstance(getattr(start_response, "__self__", None), _WsgirefHandler):
                start_response = _without_connection_header(start_response)
            try:
                return self.engine.handle_request(environ, start_response)
            except Exception:
                # A bug, not bad input (that is answered inside the engine): 500 and a traceback.
                log.exception("internal error on %s %s", environ.get("REQUEST_METHOD"), path)
                response = error_response(3, 500, "Internal server error")
                try:
                    return response(start_response)
                except Exception:  # headers were sent already
                    return []
        if self.client_files is not None and path.startswith(self.path):
            answer = self.client_files(environ, start_response, self.path)
            if answer is not None:
                return answer
        if self.wsgi_app is not None:
            return self.wsgi_app(environ, start_response)
        return Response(404, [("Content-Type", "text/plain")], b"Not Found")(start_response)

    def shutdown(self, timeout: float | None = None) -> None:
        """Close gsio's connections gracefully: the app's ``shutdown`` (:meth:`gsio.Server.shutdown`
        or :meth:`gsio.Engine.shutdown`)."""
        self.app.shutdown(timeout)


def _without_connection_header(start_response: Callable) -> Callable:
    """wsgiref's server (Django's runserver) raises AssertionError on a hop-by-hop header from
    the app, as PEP 3333 has it; gsio sends ``Connection: close`` where it means to end the
    connection. wsgiref closes it anyway after a request that asked for that, and after a
    WebSocket session the socket is shut down."""

    def start(status: str, headers: list, exc_info: Any = None) -> Any:
        headers = [(k, v) for k, v in headers if k.lower() != "connection"]
        return start_response(status, headers, exc_info)

    return start


def as_wsgi(app: Any) -> Any:
    """``app`` as a WSGI callable: a Server or an Engine is wrapped in a :class:`WSGIApp`."""
    if isinstance(app, WSGIApp) or not (isinstance(app, Engine) or hasattr(app, "engine")):
        return app
    return WSGIApp(app)


def make_server(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 5000,
    *,
    websocket: bool | str = True,
    access_log: Any = None,
    listener: socket.socket | None = None,
    header_timeout: float | None = DEFAULT_HEADER_TIMEOUT,
) -> Any:
    """A gevent pywsgi server for ``app`` (a Server, an Engine or a WSGI app), not started yet:
    call ``serve_forever()`` or ``start()`` on it. :func:`serve` is this, served forever.

    :param websocket: how WebSocket is served. True (or ``"gsio"``): gsio's own handler and
        frame layer, the fastest (:mod:`gsio.io.handler`, :mod:`gsio.io.wsnative`);
        ``"gevent-websocket"``: gevent-websocket's handler; False: pywsgi's plain handler,
        WebSocket through simple-websocket.
    :param access_log: a file-like object for pywsgi's access log (default: none).
    :param listener: an already bound socket to serve on instead of ``(host, port)``.
    :param header_timeout: seconds a connection has to send a whole request head, from when
        it is accepted or its last response left (Node's ``headersTimeout``: 60); past it the
        connection is closed (after a ``408`` if part of a request arrived). None: no limit.
        Under gsio's handler only (``websocket=True``).
    """
    from gevent import pywsgi

    if websocket not in (True, False, "gsio", "gevent-websocket"):
        raise ValueError("websocket must be True, False, 'gsio' or 'gevent-websocket'")
    wsgi = as_wsgi(app)
    engine = getattr(wsgi, "engine", None)
    if engine is not None:
        _require_gevent(engine)
    from gsio.io.handler import CheckedRequests, WSGIHandler

    gevent_websocket = websocket == "gevent-websocket"
    if gevent_websocket:
        from geventwebsocket.handler import WebSocketHandler

        handler_class = type("WebSocketHandler", (CheckedRequests, WebSocketHandler), {})
    elif websocket:
        handler_class = WSGIHandler
    else:
        handler_class = type("WSGIHandler", (CheckedRequests, pywsgi.WSGIHandler), {})
    kwargs: dict[str, Any] = {"log": access_log, "handler_class": handler_class}
    if listener is None:
        listener = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(1024)
    # Accepted sockets inherit TCP_NODELAY: each response leaves at once, without Nagle's wait.
    listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    own = websocket and not gevent_websocket
    if own:
        from gsio.io.acceptloop import AcceptingServer

        server = AcceptingServer(listener, wsgi, **kwargs)
    else:
        server = pywsgi.WSGIServer(listener, wsgi, **kwargs)
    server.gsio_header_timeout = header_timeout
    gsio_app = find_wsgi_app(wsgi)
    if own and access_log is None and isinstance(wsgi, WSGIApp):
        # gsio's handler serves this app's long-polling requests on a short path (no access
        # log is written for those, hence only without one).
        server.gsio_polling_app = wsgi
        # A new connection's WebSocket handshake is answered by the event loop when it can.
        from gsio.engine.wsaccept import accept_in_loop

        server.gsio_accept_websocket = functools.partial(accept_in_loop, wsgi.engine)
        server.gsio_accept_path = wsgi.path
    if gevent_websocket and gsio_app is not None:
        server.pre_start_hook = lambda handler: refused_upgrade(gsio_app, handler.environ)
    # gevent-websocket creates (and reconfigures) a logger of its own unless the server has one.
    server.logger = logging.getLogger("gsio.access")
    server.gsio_app = gsio_app  # what serve_until_stopped() shuts down
    return server


def serve(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 5000,
    *,
    websocket: bool | str = True,
    access_log: Any = None,
    listener: socket.socket | None = None,
    header_timeout: float | None = DEFAULT_HEADER_TIMEOUT,
    shutdown_timeout: float | None = None,
) -> Any:
    """Serve ``app`` (a Server, an Engine or a WSGI app) on gevent's pywsgi until SIGTERM or
    SIGINT, then shut down gracefully (:func:`serve_until_stopped`); the other parameters are
    :func:`make_server`'s."""
    server = make_server(
        app,
        host,
        port,
        websocket=websocket,
        access_log=access_log,
        listener=listener,
        header_timeout=header_timeout,
    )
    serve_until_stopped(server, shutdown_timeout)
    return server


def serve_until_stopped(server: Any, shutdown_timeout: float | None = None) -> None:
    """Run a server from :func:`make_server` until SIGTERM or SIGINT, then stop gracefully.

    On the signal the server stops accepting connections, gsio's connections are closed as
    :meth:`gsio.Server.shutdown` does (each client told, disconnect handlers run with "server
    shutting down", pending long-poll GETs answered, queued messages flushed) within
    ``shutdown_timeout`` seconds (None: the engine's ``shutdown_timeout``, 5 by default), and
    this returns. A second signal stops at once. Signals are only handled in the main thread;
    elsewhere this is ``server.serve_forever()``.
    """
    import signal
    import threading

    import gevent

    if threading.current_thread() is not threading.main_thread():
        server.serve_forever()
        return
    stopping: list[Any] = []

    def stop() -> None:
        if stopping:
            log.warning("second signal: stopping at once")
            stopping[0].kill(block=False)
        else:
            stopping.append(gevent.spawn(stop_gracefully, server, shutdown_timeout))

    handlers = [gevent.signal_handler(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)]
    try:
        server.serve_forever()  # returns once the listener is closed
        if stopping:
            stopping[0].join()
    finally:
        for handler in handlers:
            handler.cancel()


def stop_gracefully(server: Any, timeout: float | None = None) -> None:
    """Close the listener of a gevent server from :func:`make_server` (or gunicorn's), then
    shut its gsio app down within ``timeout`` seconds (see :func:`serve_until_stopped`)."""
    log.info("shutting down")
    server.close()  # no new connections
    app = getattr(server, "gsio_app", None)
    if app is not None:
        try:
            app.shutdown(timeout)
        except Exception:
            log.exception("graceful shutdown failed")


def find_wsgi_app(app: Any) -> WSGIApp | None:
    """The :class:`WSGIApp` that ``app`` is, or a Flask app's ``wsgi_app`` that is one
    (:func:`gsio.flask.init_app`); None otherwise (e.g. behind other middleware)."""
    for candidate in (app, getattr(app, "wsgi_app", None)):
        if isinstance(candidate, WSGIApp):
            return candidate
    return None


def refused_upgrade(wsgi: WSGIApp, environ: dict) -> bool:
    """gevent-websocket's ``pre_start_hook``: True sends a WebSocket request to the app as plain
    HTTP. gevent-websocket answers 101 before the app runs, so a request the engine refuses
    (unknown sid, protocol version, origin, allow_request) would get a 101 and a close instead
    of the 400/403 JSON error that the reference sends; and it takes handshakes that gsio
    refuses (``Sec-WebSocket-Version: 7``) or fails on with a 500 (a bad key): those go to the
    app too, which checks them as for every backend (:func:`gsio.engine.websocket.check_handshake`)."""
    path = environ.get("PATH_INFO", "")
    if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
        return False
    if path != wsgi.path and path + "/" != wsgi.path:
        return False
    if not wsgi.engine.accepts(environ):
        return True
    try:
        check_handshake(environ)
    except ProtocolError:
        return True
    return False


def _require_gevent(engine: Engine) -> None:
    if engine.concurrency.name != "gevent":
        raise RuntimeError(
            "gsio.serve() runs on gevent: call gevent.monkey.patch_all() before importing "
            "anything else (gsio then picks gevent), or create the server with async_mode='gevent'"
        )
