"""The bus over which the servers of a cluster forward requests for each other's sessions
(:mod:`gsio.engine.forward`), on the Redis adapters' link: one pub/sub channel per node,
``<key>-engine#<name>#``."""

from __future__ import annotations

from typing import Any, Callable

from gsio.cluster.link import RedisLink
from gsio.server.server import Server

__all__ = ["RedisBus", "forward_sessions"]


class RedisBus:
    """Messages by node name on Redis pub/sub, through a :class:`RedisLink`."""

    def __init__(self, link: RedisLink, key: str) -> None:
        self.link = link
        self.key = key

    def channel(self, name: str) -> str:
        return f"{self.key}-engine#{name}#"

    def subscribe(self, name: str, handler: Callable[[bytes], None]) -> None:
        self.link.subscribe([self.channel(name)], [], lambda channel, data: handler(data))

    def unsubscribe(self, name: str) -> None:
        self.link.unsubscribe([self.channel(name)], [])

    def publish(
        self, name: str, data: bytes, receivers: Callable[[int], None] | None = None
    ) -> None:
        if receivers is None:
            self.link.publish(self.channel(name), data)
        else:
            # PUBLISH answers how many subscribers got it (a refusal: none can be counted).
            self.link.command(
                ("PUBLISH", self.channel(name), data),
                lambda n: receivers(n if isinstance(n, int) else 0),
            )


def forward_sessions(server: Any, link: RedisLink, key: str, timeout: float | None) -> None:
    """Turn on the forwarding of requests between the servers sharing ``link``'s Redis
    (``timeout`` None: off)."""
    if timeout is not None and isinstance(server, Server):
        server.forward_sessions(RedisBus(link, key), timeout=timeout)
