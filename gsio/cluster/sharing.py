"""The workers of one host sharing broadcasts: the in-host adapter, given to a server that
has the default (in-process) one, under ``gunicorn -k gsio.gunicorn.GeventWorker -w N`` and
``gsio serve --workers N``. (Here, not in :mod:`gsio.cluster.host`, so that it imports without
msgpack, which the in-host adapter needs: without it, a warning, and each worker keeps its
broadcasts to itself.)"""

from __future__ import annotations

import logging
from typing import Any

from gsio.server.adapter import Adapter
from gsio.server.server import Server

__all__ = ["share_across_workers"]


def share_across_workers(directory: str, tag: str, sio: Any, log: logging.Logger, say: bool) -> Any:
    """Give the server's namespaces the in-host adapter, if it has the default one: the
    workers' broadcasts, rooms, acks, ``fetch_sockets`` and ``server_side_emit`` then reach
    each other's clients, without a broker. An adapter of the app's own (Redis) stays.
    ``directory`` and ``tag`` are the workers' group's
    (:class:`~gsio.engine.workers.WorkerGroup`). Returns the adapter factory (to close after the
    shutdown), or None; ``say``: log it."""
    if not isinstance(sio, Server) or sio.adapter_factory is not Adapter:
        return None
    try:
        from gsio.cluster.host import create_host_adapter

        factory = create_host_adapter(directory, tag=tag)
        sio.set_adapter(factory)
    except ImportError as exc:
        log.warning(
            "gsio: broadcasts reach only their own worker's clients: the in-host adapter "
            "needs msgpack (pip install gsio[redis]): %s",
            exc,
        )
        return None
    except (OSError, ValueError) as exc:
        log.error("gsio: broadcasts reach only their own worker's clients: %s", exc)
        return None
    if say:
        log.info(
            "gsio: the workers share broadcasts, rooms and acks through the in-host adapter "
            "(Unix sockets in %s); for several hosts, use the Redis adapter",
            directory,
        )
    return factory
