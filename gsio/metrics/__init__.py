"""Prometheus metrics of a gsio server: ``gsio.metrics.instrument(sio)`` (``pip install
'gsio[metrics]'``, the official ``prometheus_client``)::

    import gsio.metrics

    sio = gsio.Server()
    metrics = gsio.metrics.instrument(sio)
    app = gsio.WSGIApp(sio, metrics.wsgi_app())  # GET /metrics; other paths: 404

``metrics.wsgi_app(other_app)`` answers ``/metrics`` and hands every other path to
``other_app`` (a Flask app's ``wsgi_app``, Django's ...). What is counted and how is in
:mod:`gsio.metrics.reading` (the names) and :mod:`gsio.metrics.exporting` (one process, or
several with ``PROMETHEUS_MULTIPROC_DIR``: ``gunicorn -w N``, see :func:`child_exit`).

It watches the server through :meth:`gsio.Server.observe` only: a server without metrics
takes its plain paths. With them, each event in or out costs the observer a few additions
(see benchmarks/results/ for the figures); gauges (clients, acks pending, buffers, heartbeat,
the adapter's queue) are read from the server when scraped.
"""

from __future__ import annotations

import logging
import os
from typing import Any, Callable

from gsio.metrics.counting import Counting
from gsio.metrics.reading import FAMILIES, Family, read
from gsio.server.observers import Observation
from gsio.server.server import Server

__all__ = ["FAMILIES", "Metrics", "child_exit", "instrument"]

log = logging.getLogger("gsio.metrics")

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Any]


def _prometheus() -> Any:
    try:
        import prometheus_client
    except ImportError as exc:
        raise ImportError(
            f"gsio.metrics needs prometheus_client: pip install 'gsio[metrics]' ({exc})"
        ) from exc
    return prometheus_client


def multiprocess_dir() -> str | None:
    """The directory of prometheus_client's multiprocess mode, if it is on."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or os.environ.get("prometheus_multiproc_dir")


def instrument(
    sio: Server,
    registry: Any = None,
    *,
    multiprocess: bool | None = None,
    interval: float = 5.0,
) -> Metrics:
    """Count what ``sio`` does, for Prometheus; returns the :class:`Metrics` (serve them with
    :meth:`Metrics.wsgi_app`).

    :param registry: the prometheus_client ``CollectorRegistry`` the metrics are registered
        in (default: ``prometheus_client.REGISTRY``, so ``start_http_server()`` or your own
        ``make_wsgi_app()`` serve them too). Not used in multiprocess mode.
    :param multiprocess: prometheus_client's multiprocess mode (several worker processes,
        one scrape for all: ``gunicorn -w N``). Default: on when ``PROMETHEUS_MULTIPROC_DIR``
        is set (it must be set before prometheus_client is imported, i.e. in the
        environment of gunicorn).
    :param interval: in multiprocess mode, seconds between two copies of each worker's
        counts to the shared files (a scrape sees the other workers' counts that late at
        most; the worker answering it copies its own first).
    """
    prometheus = _prometheus()
    if multiprocess is None:
        multiprocess = multiprocess_dir() is not None
    return Metrics(sio, prometheus, registry, multiprocess, interval)


class Metrics:
    """The metrics of one server (made by :func:`instrument`)."""

    def __init__(
        self, sio: Server, prometheus: Any, registry: Any, multiprocess: bool, interval: float
    ) -> None:
        from gsio.metrics.exporting import Collector, Flusher

        self.sio = sio
        self.multiprocess = multiprocess
        #: The observer's integers.
        self.counts = Counting()
        self._flusher: Flusher | None = None
        self._worker: Any = None
        self._stopped = False
        if multiprocess:
            from prometheus_client import multiprocess as mp

            #: Where the exposition is read from: the multiprocess files of every worker.
            self.registry = prometheus.CollectorRegistry()
            mp.MultiProcessCollector(self.registry)
            self._flusher = Flusher(self.read)
            self._collector = None
        else:
            self.registry = prometheus.REGISTRY if registry is None else registry
            self._collector = Collector(self.read)
            self.registry.register(self._collector)
        self._expose = prometheus.make_wsgi_app(self.registry)
        self.observation: Observation = sio.observe(self.counts)
        if self._flusher is not None:
            self._worker = sio.concurrency.spawn(self._flush_every, interval)

    def read(self) -> list[Family]:
        """The metrics as of now, as :class:`~gsio.metrics.reading.Family` values."""
        return read(self.sio, self.counts, self.sio.concurrency.monotonic())

    def flush(self) -> None:
        """Multiprocess mode: copy this worker's counts to the shared files now."""
        if self._flusher is not None:
            self._flusher.flush()

    def _flush_every(self, interval: float) -> None:
        c = self.sio.concurrency
        while not self._stopped:
            c.sleep(interval)
            try:
                self.flush()
            except Exception:  # a bug must not end the copies: say it, go on
                log.exception("copying the metrics failed")

    def wsgi_app(self, app: WSGIApp | None = None, path: str = "/metrics") -> WSGIApp:
        """A WSGI app answering ``GET path`` with the metrics in Prometheus' text format
        (prometheus_client's ``make_wsgi_app``: OpenMetrics when asked, gzip), and every other
        path with ``app`` (404 without it)."""

        def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            if environ.get("PATH_INFO") != path:
                if app is not None:
                    return app(environ, start_response)
                start_response("404 Not Found", [("Content-Type", "text/plain")])
                return [b"Not Found"]
            if self._flusher is not None:
                self._flusher.flush()  # this worker's counts as of now
            return self._expose(environ, start_response)

        return serve

    def remove(self) -> None:
        """Stop counting: the observer goes, and the collector (or the copies) with it."""
        self._stopped = True
        self.observation.remove()
        if self._collector is not None:
            self.registry.unregister(self._collector)
            self._collector = None


def child_exit(server: Any, worker: Any) -> None:
    """gunicorn's ``child_exit`` hook for multiprocess mode: a worker that exits is no longer
    counted in the ``live`` gauges (connected clients ...). In ``gunicorn.conf.py``::

        from gsio.metrics import child_exit
    """
    from prometheus_client import multiprocess as mp

    mp.mark_process_dead(worker.pid)
