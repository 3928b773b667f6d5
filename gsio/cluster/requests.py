"""What one server of a cluster asks the others and waits on, and sockets as answers carry them.

:class:`Pending` belongs to one :class:`~gsio.cluster.redis.RedisAdapter`: it holds each request
this server published and waits on (``fetch_sockets``, ``server_side_call``, a broadcast with
acks) under its request id, and gathers the answers that arrive for it. :func:`describe` and
:func:`remote_conn` turn a socket into the map a ``REMOTE_FETCH`` answer carries, and back.
"""

from __future__ import annotations

import json
import logging
from typing import Any, Callable, Optional, Protocol

from gsio.cluster import messages as wire
from gsio.cluster.messages import RequestType
from gsio.cluster.remote import RemoteConn
from gsio.exceptions import ClusterTimeout, ProtocolError
from gsio.server.handshake import Handshake
from gsio.server.interfaces import Socket
from gsio.server.namespace import Namespace

__all__ = ["Pending", "describe", "remote_conn"]

log = logging.getLogger("gsio.redis")

#: ``callback(err, answers)`` of a request to every other server.
Answers = Callable[[Optional[Exception], list[Any]], None]


class _Event(Protocol):
    def set(self) -> None: ...

    def wait(self, timeout: float | None = None) -> bool: ...


class _Request:
    """A request this server waits on: answers gathered until ``expected`` came."""

    __slots__ = ("kind", "expected", "answers", "done", "finish")

    def __init__(self, kind: RequestType, expected: int, done: _Event | None = None) -> None:
        self.kind = kind
        self.expected = expected
        self.answers: list[Any] = []
        self.done = done
        self.finish: Callable[[Exception | None], None] | None = None


class Pending:
    """The requests one namespace's adapter waits on, by request id."""

    def __init__(self, namespace: Namespace) -> None:
        self.namespace = namespace
        self._requests: dict[str, _Request] = {}
        self._acks: dict[str, tuple[Callable[[int], None], Callable[[list[Any]], None]]] = {}

    def __contains__(self, request_id: object) -> bool:
        return request_id in self._requests or request_id in self._acks

    def expect_acks(
        self,
        request_id: str,
        client_count: Callable[[int], None],
        on_ack: Callable[[list[Any]], None],
        timeout: float,
    ) -> None:
        """Route the other servers' client counts and acks of a broadcast with acks."""
        self._acks[request_id] = (client_count, on_ack)

        def forget() -> None:
            self._acks.pop(request_id, None)

        # As Node: no way to know when every remote ack came, so forget after the timeout.
        self.namespace.server.concurrency.call_later(timeout, forget)

    def fetch(
        self, request_id: str, servers: int, timeout: float, publish: Callable[[], None]
    ) -> list[RemoteConn]:
        """``publish()`` a fetch request and wait for the sockets of ``servers`` servers.
        Raises :class:`~gsio.ClusterTimeout` (with what came) past ``timeout``."""
        done = self.namespace.server.concurrency.event()
        pending = _Request(RequestType.REMOTE_FETCH, servers, done)
        self._requests[request_id] = pending
        publish()
        if not done.wait(timeout):
            self._requests.pop(request_id, None)
            raise ClusterTimeout(
                "timeout reached while waiting for fetch_sockets response", pending.answers
            )
        return pending.answers

    def gather(self, request_id: str, servers: int, timeout: float, callback: Answers) -> None:
        """Call ``callback(None, answers)`` once ``servers`` servers answered the request, or
        ``callback(ClusterTimeout, answers)`` past ``timeout``."""
        pending = _Request(RequestType.SERVER_SIDE_EMIT, servers)
        self._requests[request_id] = pending

        def finish(error: Exception | None) -> None:
            if self._requests.pop(request_id, None) is not None:
                timer.cancel()
                callback(error, pending.answers)

        def timed_out() -> None:
            error = ClusterTimeout(
                f"timeout reached: only {len(pending.answers)} responses received out of {servers}"
            )
            c.spawn(finish, error)

        pending.finish = finish
        c = self.namespace.server.concurrency
        timer = c.call_later(timeout, timed_out)

    def on_response(self, response: dict[str, Any]) -> None:
        """An answer from another server (ProtocolError if it is malformed)."""
        request_id = response.get("requestId")
        if not isinstance(request_id, str):
            return
        acks = self._acks.get(request_id)
        if acks is not None:
            if response.get("type") == RequestType.BROADCAST_CLIENT_COUNT:
                acks[0](wire.field(response, "clientCount", int))
            elif response.get("type") == RequestType.BROADCAST_ACK:
                acks[1]([wire.data_field({"data": response.get("packet")})])
            return
        pending = self._requests.get(request_id)
        if pending is None:
            return
        if pending.kind == RequestType.REMOTE_FETCH:
            sockets = response.get("sockets")
            if not isinstance(sockets, list):
                raise ProtocolError("a fetch response without sockets")
            pending.answers.extend(remote_conn(self.namespace, entry) for entry in sockets)
            pending.expected -= 1
            if pending.expected <= 0 and pending.done is not None:
                self._requests.pop(request_id, None)
                pending.done.set()
        elif pending.kind == RequestType.SERVER_SIDE_EMIT:
            pending.answers.append(wire.data_field(response))
            if len(pending.answers) >= pending.expected and pending.finish is not None:
                pending.finish(None)


def describe(conn: Socket) -> dict[str, Any]:
    """A local socket as a fetch response carries it (Node's shape)."""
    data = conn.data
    try:
        json.dumps(data)
    except (TypeError, ValueError):
        log.warning("%s: conn.data is not JSON; other servers see null", conn.id)
        data = None
    return {
        "id": conn.id,
        "handshake": conn.handshake.as_dict(),
        "rooms": list(conn.rooms),
        "data": data,
    }


def remote_conn(namespace: Namespace, entry: Any) -> RemoteConn:
    """A socket of another server, from a fetch response (ProtocolError if malformed)."""
    if not isinstance(entry, dict):
        raise ProtocolError("a fetched socket is not a map")
    handshake = entry.get("handshake") or {}
    rooms = entry.get("rooms") or []
    if not isinstance(handshake, dict) or not isinstance(rooms, list):
        raise ProtocolError("a fetched socket's handshake or rooms are malformed")
    return RemoteConn(
        namespace,
        wire.field(entry, "id", str),
        Handshake.from_dict(handshake),
        {str(room) for room in rooms},
        entry.get("data"),
    )
