"""Broadcasts: choose the recipients (rooms, exceptions, flags), then emit or act on them.

``sio.to("lobby").except_("muted").emit("news", text)`` builds a :class:`BroadcastOperator`
(an immutable value: each call returns a new one) and emits once: the packet is encoded once
and the same bytes go to every recipient.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Callable, Union

from gsio.exceptions import AckTimeout
from gsio.protocol.socketio import RESERVED_EVENTS, Packet, PacketType
from gsio.server.adapter import BroadcastOptions

if TYPE_CHECKING:
    from gsio.server.conn import Conn
    from gsio.server.namespace import Namespace

__all__ = ["BroadcastOperator", "rooms_of"]

RoomArg = Union[str, Iterable[str]]


def rooms_of(args: Iterable[RoomArg]) -> frozenset[str]:
    """Rooms given as strings or as lists of strings, flattened."""
    rooms: set[str] = set()
    for arg in args:
        if isinstance(arg, str):
            rooms.add(arg)
        else:
            rooms.update(arg)
    return frozenset(rooms)


class BroadcastOperator:
    """The recipients of a broadcast in one namespace (or in every child of a dynamic one)."""

    __slots__ = ("_namespace", "_rooms", "_except", "_flags")

    def __init__(
        self,
        namespace: Namespace,
        rooms: frozenset[str] = frozenset(),
        except_rooms: frozenset[str] = frozenset(),
        flags: dict[str, Any] | None = None,
    ) -> None:
        self._namespace = namespace
        self._rooms = rooms
        self._except = except_rooms
        self._flags = flags or {}

    def _with(self, **changes: Any) -> BroadcastOperator:
        return BroadcastOperator(
            self._namespace,
            changes.get("rooms", self._rooms),
            changes.get("except_rooms", self._except),
            changes.get("flags", self._flags),
        )

    def to(self, *rooms: RoomArg) -> BroadcastOperator:
        """Only the connections in these rooms (in any of them)."""
        return self._with(rooms=self._rooms | rooms_of(rooms))

    in_ = to

    def except_(self, *rooms: RoomArg) -> BroadcastOperator:
        """Not the connections in these rooms."""
        return self._with(except_rooms=self._except | rooms_of(rooms))

    @property
    def volatile(self) -> BroadcastOperator:
        """Drop the packet for a client that cannot take it right now (a backlog, an upgrade)."""
        return self._with(flags={**self._flags, "volatile": True})

    @property
    def local(self) -> BroadcastOperator:
        """Only the connections of this process, with a cluster adapter."""
        return self._with(flags={**self._flags, "local": True})

    def timeout(self, seconds: float) -> BroadcastOperator:
        """How long :meth:`emit` with a callback, or :meth:`call`, waits for the acks."""
        return self._with(flags={**self._flags, "timeout": seconds})

    @property
    def _options(self) -> BroadcastOptions:
        return BroadcastOptions(self._rooms, self._except, self._flags)

    def emit(
        self, event: str, *args: Any, callback: Callable[[Any, list], Any] | None = None
    ) -> None:
        """Emit to every selected connection; the packet is encoded once.

        With ``callback`` (and :meth:`timeout`), ``callback(err, responses)`` is called once
        every recipient answered (``err`` None) or when the timeout passes (``err`` an
        :class:`AckTimeout`, ``responses`` those that came), as in Node's socket.io.
        """
        if not isinstance(event, str) or event in RESERVED_EVENTS:
            raise ValueError(f"{event!r} cannot be emitted")
        if callback is None:
            for namespace in self._namespace.targets():
                packet = Packet(PacketType.EVENT, namespace.name, [event, *args])
                namespace.adapter.broadcast(packet, self._options)
            return
        timeout = self._flags.get("timeout")
        if timeout is None:
            raise ValueError(
                "a broadcast with a callback needs a timeout: sio.timeout(5).emit(...)"
            )
        _AckCollector(self, event, args, timeout, callback).start()

    def call(self, event: str, *args: Any) -> list:
        """Emit and wait for every recipient's ack; returns their answers (one per recipient:
        the ack's argument, or a tuple of them). Raises :class:`AckTimeout` past
        :meth:`timeout` (default 60 s), with the answers that came as ``.responses``."""
        op = self if "timeout" in self._flags else self.timeout(60.0)
        return wait_for_answers(
            self._namespace.server.concurrency,
            lambda finished: op.emit(event, *args, callback=finished),
        )

    # -- acting on the selected connections ------------------------------------------------

    def fetch_sockets(self) -> list[Conn]:
        """The selected connections."""
        conns: list[Conn] = []
        for namespace in self._namespace.targets():
            conns.extend(namespace.adapter.fetch_sockets(self._options))
        return conns

    def sockets_join(self, *rooms: RoomArg) -> None:
        """Make the selected connections join these rooms."""
        for namespace in self._namespace.targets():
            namespace.adapter.add_sockets(self._options, rooms_of(rooms))

    def sockets_leave(self, *rooms: RoomArg) -> None:
        """Make the selected connections leave these rooms."""
        for namespace in self._namespace.targets():
            namespace.adapter.del_sockets(self._options, rooms_of(rooms))

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the selected connections (and with ``close`` their whole connection)."""
        for namespace in self._namespace.targets():
            namespace.adapter.disconnect_sockets(self._options, close)


class _AckCollector:
    """Gathers the acks of one broadcast, like Node's ``BroadcastOperator.emit`` with an ack."""

    def __init__(
        self, op: BroadcastOperator, event: str, args: tuple, timeout: float, callback: Callable
    ) -> None:
        self.op = op
        self.event = event
        self.args = args
        self.callback = callback
        self.timeout = timeout
        self.responses: list[Any] = []
        self.expected_servers = 0
        self.servers = 0
        self.clients = 0
        self.finished = False
        self.timer: Any = None

    def start(self) -> None:
        namespaces = list(self.op._namespace.targets())
        c = self.op._namespace.server.concurrency
        self.timer = c.call_later(self.timeout, lambda: c.spawn(self._timed_out))
        local = self.op._flags.get("local", False)
        self.expected_servers = sum(
            1 if local else namespace.adapter.server_count() for namespace in namespaces
        )
        for namespace in namespaces:
            packet = Packet(PacketType.EVENT, namespace.name, [self.event, *self.args])
            namespace.adapter.broadcast_with_ack(
                packet, self.op._options, self._client_count, self._on_ack
            )

    def _client_count(self, count: int) -> None:
        self.clients += count
        self.servers += 1
        self._check()

    def _on_ack(self, args: list) -> None:
        if self.finished:
            return
        self.responses.append(args[0] if len(args) == 1 else tuple(args) if args else None)
        self._check()

    def _check(self) -> None:
        if (
            not self.finished
            and self.servers == self.expected_servers
            and len(self.responses) >= self.clients
        ):
            self.finished = True
            self.timer.cancel()
            self.callback(None, self.responses)

    def _timed_out(self) -> None:
        if not self.finished:
            self.finished = True
            error = AckTimeout(f"operation has timed out ({self.event!r}, {self.timeout} s)")
            self.callback(error, self.responses)


def wait_for_answers(
    concurrency: Any, start: Callable[[Callable[[Any, list], None]], None]
) -> list:
    """Call ``start(finished)`` and wait until it calls ``finished(err, responses)``; return
    the responses, or raise ``err`` with the answers that came as its ``.responses``."""
    done = concurrency.event()
    outcome: list[Any] = []

    def finished(err: Any, responses: list) -> None:
        outcome.extend((err, responses))
        done.set()

    start(finished)
    done.wait()
    err, responses = outcome
    if err is not None:
        err.responses = responses
        raise err
    return responses
