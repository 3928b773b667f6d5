"""The in-host adapter: the Redis adapter on the in-host bus, for the workers of one host.

``gunicorn -k gsio.gunicorn.GeventWorker -w 4`` gives every namespace this adapter by itself
when the app's server has the default (in-process) one: broadcasts, rooms, acks,
``fetch_sockets`` and ``server_side_emit`` then reach the four workers' clients with no other
service. It does not leave the host: for several hosts, use :func:`gsio.create_redis_adapter`.
"""

from __future__ import annotations

from gsio.cluster.hostlink import HostLink
from gsio.cluster.redis import RedisAdapter
from gsio.server.namespace import Namespace

__all__ = ["HostAdapterFactory", "create_host_adapter"]


class HostAdapterFactory:
    """Makes each namespace's :class:`~gsio.cluster.redis.RedisAdapter` on one
    :class:`~gsio.cluster.hostlink.HostLink` (made with the first namespace)."""

    def __init__(self, directory: str, tag: str | None, requests_timeout: float) -> None:
        self.directory = directory
        self.tag = tag
        self.requests_timeout = requests_timeout
        self.link: HostLink | None = None

    def __call__(self, namespace: Namespace) -> RedisAdapter:
        if self.link is None:
            self.link = HostLink(self.directory, namespace.server.concurrency, self.tag)
        return RedisAdapter(namespace, self.link, requests_timeout=self.requests_timeout)

    def close(self) -> None:
        """Stop the bus: the other workers drop this one."""
        if self.link is not None:
            self.link.close()


def create_host_adapter(
    directory: str, *, tag: str | None = None, requests_timeout: float = 5.0
) -> HostAdapterFactory:
    """An adapter factory for ``gsio.Server(adapter=...)`` joining the processes of one host
    that share ``directory`` (a directory private to this user, made if missing) into a
    cluster, without a broker::

        sio = gsio.Server(adapter=gsio.create_host_adapter("/run/myapp/gsio"))

    Each process listens on ``<directory>/<tag>.bus`` (``tag``: its pid in base 36 by default)
    and sends each publication to the others' sockets. gsio's gunicorn worker does this by
    itself with several workers (``-w 4``) when the server has the default adapter.

    :param requests_timeout: seconds to wait for the other processes' answers
        (``fetch_sockets``, ``server_side_call``).
    """
    return HostAdapterFactory(directory, tag, requests_timeout)
