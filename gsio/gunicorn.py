"""gunicorn worker classes for gsio::

    gunicorn -k gsio.gunicorn.GeventWorker -w 1 module:app
    gunicorn -k gsio.gunicorn.GeventWebSocketWorker -w 1 module:app

:class:`GeventWorker` is gunicorn's gevent pywsgi worker (``gevent_pywsgi``) with gsio's request
handler (:mod:`gsio.io.handler`): gsio's own WebSocket layer, as under ``gsio serve``, and the
fastest way to serve gsio on gunicorn. gunicorn's access log (a line per request, a WebSocket
session's with status 101 when it ends) and environ keys are kept (without an access log, the
long-polling requests of open sessions take the handler's short path, as under ``gsio serve``).

:class:`GeventWebSocketWorker` is gevent-websocket's own worker (``geventwebsocket.gunicorn.workers.GeventWebSocketWorker``:
gevent's pywsgi with gevent-websocket's handler, the fastest way to serve gsio on gunicorn),
with what :func:`gsio.serve` adds to that same server:

- gevent-websocket answers ``101 Switching Protocols`` before the app runs, so a WebSocket
  request gsio refuses (an unknown session id, an Origin that ``cors_allowed_origins``
  refuses, ``allow_request``, ``max_connections``) would get a 101 and a close frame. Here it
  gets the protocol's HTTP error (400 or 403 with ``{"code":N,"message":...}``), as it does
  from ``gsio.serve`` and the other workers. This needs the gsio app to be gunicorn's app
  (a :class:`gsio.WSGIApp`) or a Flask app's ``wsgi_app`` (:func:`gsio.flask.init_app`);
  behind other middleware the plain behaviour remains.
- gevent-websocket's handler logs every request but WebSocket sessions on a logger of its own;
  here, as in :class:`GeventWorker`, every request goes to gunicorn's access log
  (``--access-logfile``), WebSocket sessions included (status 101, when the session ends).
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import tempfile
from typing import Any

import gevent
import gevent.event

try:
    from geventwebsocket.gunicorn.workers import GeventWebSocketWorker as _GeventWebSocketWorker
    from geventwebsocket.handler import WebSocketHandler
    from gunicorn.workers.ggevent import GeventPyWSGIWorker, PyWSGIHandler, PyWSGIServer
except (ImportError, RuntimeError) as exc:
    # gunicorn's gevent workers need its "gevent" extra (packaging, a recent gevent), which
    # `pip install gunicorn` leaves out; gunicorn raises RuntimeError for too old a gevent.
    raise ImportError(
        f"gsio.gunicorn needs gunicorn with its gevent extra: pip install gsio[gunicorn] ({exc})"
    ) from exc

from gsio.cluster.sharing import share_across_workers
from gsio.engine.workers import WorkerGroup
from gsio.engine.wsgi import WSGIApp, find_wsgi_app, refused_upgrade, stop_gracefully
from gsio.io.handler import CheckedRequests, WSGIHandler
from gsio.io.handoff import remove_worker_files
from gsio.io.pollnative import serve_connection

__all__ = ["GeventWorker", "GeventWebSocketWorker"]


class _AccessLog(PyWSGIHandler):
    """gunicorn's access log line (``PyWSGIHandler.log_request``) for every request, also those
    it cannot log by itself: a WebSocket session (no response headers: the application wrote
    the handshake), a request refused before it had an environ (a bad request line, the header
    timeout)."""

    # pywsgi.WSGIHandler's, set per request (None, its class default, until then); environ
    # as gsio's WSGIHandler types it.
    response_headers: list[tuple[bytes, bytes]] | None
    environ: dict[Any, Any]

    def log_request(self) -> None:
        if self.response_headers is None:
            self.response_headers = []
        if self.environ is None:
            address = self.client_address
            path, _, query = (self.path or "").partition("?")
            self.environ = {
                "REQUEST_METHOD": self.command or "-",
                "RAW_URI": self.path or "-",
                "PATH_INFO": path,
                "QUERY_STRING": query,
                "SERVER_PROTOCOL": self.request_version or "-",
                "REMOTE_ADDR": address[0] if isinstance(address, tuple) else str(address),
            }
        super().log_request()


class _Handler(_AccessLog, WSGIHandler):
    """gunicorn's handler (its access log, ``gunicorn.sock`` and ``RAW_URI``) on gsio's."""


class _CountingHandler(_Handler):
    """With ``--max-requests``: each request counted (gunicorn's pywsgi workers count none)."""

    requestline: str | None

    def _handle_one_request(self) -> Any:
        self.requestline = None  # set once a request line was read
        try:
            return super()._handle_one_request()
        finally:
            if self.requestline is not None:
                self.server.gsio_request_done()


class _GracefulShutdown:
    """SIGTERM, SIGINT and SIGQUIT: a graceful shutdown of gsio's connections, then the worker
    exits at once, instead of waiting ``--graceful-timeout`` for connections that stay open
    (WebSocket sessions, keep-alive polling connections) and then killing them.

    The worker stops accepting, gsio closes its connections as :meth:`gsio.Server.shutdown`
    does (each client told, so that it reconnects, to another worker or server; disconnect
    handlers run with "server shutting down"; pending long-poll GETs answered) within the
    engine's ``shutdown_timeout`` (5 s by default; at most gunicorn's ``--graceful-timeout``),
    and the connections still open after it are closed.
    """

    server_class: Any
    wsgi: Any
    cfg: Any
    alive: bool
    log: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gsio_servers: list[Any] = []  # made by run(), which may come after a signal
        self._stopping: Any = None
        # Set by run()'s first notify(), once its servers are made and started: a signal may
        # come before (or while a server starts, which yields), and the shutdown waits for it.
        self._serving = gevent.event.Event()

    def load_wsgi(self) -> None:
        super().load_wsgi()  # type: ignore[misc]
        attrs = {"gsio_servers": self.gsio_servers, **self._server_attributes()}
        self.server_class = type("Server", (_Tracked, self.server_class), attrs)

    def _server_attributes(self) -> dict[str, Any]:
        return {}

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self._stopping is None:
            self._stopping = gevent.spawn(self._stop)

    handle_quit = handle_exit

    def notify(self) -> None:
        self._serving.set()
        super().notify()  # type: ignore[misc]

    def _stop(self) -> None:
        self._serving.wait(10)
        if _group is not None:
            _group.close()  # the other workers stop passing requests here
        app = find_wsgi_app(getattr(self, "wsgi", None))
        timeout = min(app.engine.shutdown_timeout, self.cfg.graceful_timeout) if app else 0
        for server in self.gsio_servers:
            stop_gracefully(server, timeout)  # the app is shut down once, by the first
            timeout = 0
        for server in self.gsio_servers:
            server.stop(timeout=0)  # the connections left: idle keep-alive ones
        if _bus is not None:
            _bus.close()  # after the shutdown: its disconnect handlers may still broadcast
        self.alive = False


class _Tracked(PyWSGIServer):
    """gunicorn's server, known to its worker for the graceful shutdown; with several workers,
    a member of their :class:`~gsio.engine.workers.WorkerGroup`."""

    gsio_servers: list[Any]
    gsio_request_done: Any = None  # with --max-requests: called after each request
    gsio_workers_dir: str | None = None
    gsio_first_worker = False  # the first worker gunicorn started: it says what it does

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.gsio_app = find_wsgi_app(self.application)
        self.gsio_servers.append(self)
        if self.gsio_workers_dir is not None and self.gsio_app is not None:
            # One connection per wake-up (gevent takes up to 100): the kernel gives a burst of
            # connections to the worker it wakes; the others get their share, and a worker
            # that dies holds no backlog of accepted connections.
            self.max_accept = 1
            _join_group(self.gsio_workers_dir, self)


_group: WorkerGroup | None = None  # this worker process's
_bus: Any = None  # its in-host adapter factory (gsio.cluster.host), if it made one


def _join_group(directory: str, server: Any) -> None:
    """Make this worker a member of the group (once, with the first of its servers): its
    session ids name it, requests for the others' sessions go to them, theirs come here."""
    global _group
    if _group is not None:
        return
    engine = server.gsio_app.engine
    group = WorkerGroup(directory)
    if group.listen(
        engine, lambda sock, address, data: serve_connection(sock, data, address, server)
    ):
        group.attach(engine)
        _group = group
        _share_broadcasts(group, engine.handler, server.gsio_first_worker)


def _share_broadcasts(group: WorkerGroup, sio: Any, say: bool) -> None:
    global _bus
    log = logging.getLogger("gunicorn.error")  # gunicorn's log, at INFO by default
    _bus = share_across_workers(group.directory, group.tag, sio, log, say)


def _workers_dir(worker: Any) -> str | None:
    """The group's directory, shared by the workers of one gunicorn (its arbiter's pid names
    it), or None with one worker."""
    if worker.cfg.workers <= 1:
        return None
    return _group_dir(os.getppid())


def _group_dir(arbiter: int) -> str:
    base = os.environ.get("GSIO_WORKERS_DIR") or tempfile.gettempdir()
    return os.path.join(base, f"gsio-workers-{arbiter}")


def _clean_up_after_workers(cfg: Any) -> None:
    """In the arbiter: gunicorn's ``child_exit`` and ``on_exit`` hooks (the configured ones
    still run) remove what a worker leaves in the group's directory when it is killed or
    crashes (its sockets), and the directory when gunicorn exits. The arbiter has reaped the
    worker and forks no other before the hook: no worker can have its pid yet."""
    child_exit, on_exit = cfg.child_exit, cfg.on_exit
    if getattr(child_exit, "gsio_cleans", False):
        return  # the same config checked again
    directory = _group_dir(os.getpid())

    def gsio_child_exit(arbiter: Any, worker: Any) -> None:
        remove_worker_files(directory, worker.pid)
        child_exit(arbiter, worker)

    def gsio_on_exit(arbiter: Any) -> None:
        try:
            for name in os.listdir(directory):
                if name.endswith((".sock", ".bus", ".new")):
                    os.unlink(os.path.join(directory, name))
            os.rmdir(directory)
        except OSError:
            pass
        on_exit(arbiter)

    gsio_child_exit.gsio_cleans = True  # type: ignore[attr-defined]
    cfg.set("child_exit", gsio_child_exit)
    cfg.set("on_exit", gsio_on_exit)


class _WebSocketHandler(_AccessLog, CheckedRequests, WebSocketHandler):
    """gevent-websocket's handler with gunicorn's access log, ``gunicorn.sock`` and ``RAW_URI``."""


class GeventWorker(_GracefulShutdown, GeventPyWSGIWorker):
    """gunicorn's gevent pywsgi worker with gsio's handler and WebSocket layer."""

    wsgi_handler = _Handler
    nr: int
    max_requests: int

    @classmethod
    def check_config(cls, cfg: Any, log: Any) -> None:
        """In the arbiter, as it starts and on each reload (HUP)."""
        _clean_up_after_workers(cfg)

    def _server_attributes(self) -> dict[str, Any]:
        attrs: dict[str, Any] = {
            "gsio_workers_dir": _workers_dir(self),
            "gsio_first_worker": getattr(self, "age", 0) == 1,
        }
        if self.max_requests < sys.maxsize:
            attrs["gsio_request_done"] = self._request_done
            self.wsgi_handler = _CountingHandler
        if isinstance(self.wsgi, WSGIApp) and not getattr(self.log, "access_log_enabled", True):
            # Without an access log, the long-polling requests of open sessions take the
            # handler's short path, as under gsio.serve (see gsio.io.handler).
            attrs["gsio_polling_app"] = self.wsgi
        return attrs

    def _request_done(self) -> None:
        """``--max-requests``: after that many requests, the worker shuts down as on TERM (its
        clients told to reconnect, to the other workers), and gunicorn starts another."""
        self.nr += 1
        if self.nr == self.max_requests:
            self.log.info("Autorestarting worker after current request.")
            self.handle_exit(signal.SIGTERM, None)


class _Server(PyWSGIServer):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = logging.getLogger("gsio.access")
        self.gsio_app = find_wsgi_app(self.application)

    def pre_start_hook(self, handler: Any) -> bool:
        """True sends a WebSocket request to the app as plain HTTP (see gevent-websocket)."""
        return self.gsio_app is not None and refused_upgrade(self.gsio_app, handler.environ)


class GeventWebSocketWorker(_GracefulShutdown, _GeventWebSocketWorker):
    """gevent-websocket's gunicorn worker, answering refused WebSocket requests as gsio does."""

    server_class = _Server
    wsgi_handler = _WebSocketHandler
