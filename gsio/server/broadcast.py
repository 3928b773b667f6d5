"""Broadcasts: choose the recipients (rooms, exceptions, flags), then emit or act on them.

``sio.to("lobby").except_("muted").emit("news", text)`` builds a :class:`BroadcastOperator`
(an immutable value: each call returns a new one) and emits once: the packet is encoded once
and the same bytes go to every recipient.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, Callable, Protocol

from gsio.exceptions import AckTimeout
from gsio.io.concurrency import Concurrency, Timer
from gsio.protocol.socketio import RESERVED_EVENTS, Packet, PacketType
from gsio.server.adapter import Adapter
from gsio.server.files import files_read
from gsio.server.interfaces import ServerCore, Socket
from gsio.server.recipients import EVERYONE, Recipients, RoomArg, rooms_of

__all__ = ["BroadcastOperator", "Broadcasting", "Scope", "RoomArg", "rooms_of"]

#: ``callback(err, responses)`` of a broadcast with acks.
AckCallback = Callable[[Any, list], Any]

log = logging.getLogger("gsio.adapter")
_DEBUG = logging.DEBUG


class Scope(Protocol):
    """What a broadcast uses of a namespace (:class:`~gsio.server.namespace.Namespace` fits)."""

    @property
    def name(self) -> str: ...

    @property
    def adapter(self) -> Adapter: ...

    @property
    def server(self) -> ServerCore: ...

    def targets(self) -> Iterable[Scope]:
        """The namespaces a broadcast reaches: itself, or every child of a dynamic one."""
        ...


class BroadcastOperator:
    """The recipients of a broadcast in one namespace (or in every child of a dynamic one)."""

    __slots__ = ("_namespace", "recipients")

    def __init__(self, namespace: Scope, recipients: Recipients = EVERYONE) -> None:
        self._namespace = namespace
        self.recipients = recipients

    def to(self, *rooms: RoomArg) -> BroadcastOperator:
        """Only the connections in these rooms (in any of them)."""
        return BroadcastOperator(self._namespace, self.recipients.to(*rooms))

    in_ = to

    def except_(self, *rooms: RoomArg) -> BroadcastOperator:
        """Not the connections in these rooms."""
        return BroadcastOperator(self._namespace, self.recipients.except_(*rooms))

    @property
    def volatile(self) -> BroadcastOperator:
        """Drop the packet for a client that cannot take it right now (a backlog, an upgrade)."""
        return BroadcastOperator(self._namespace, self.recipients.flagged(volatile=True))

    @property
    def local(self) -> BroadcastOperator:
        """Only the connections of this process, with a cluster adapter."""
        return BroadcastOperator(self._namespace, self.recipients.flagged(local=True))

    def timeout(self, seconds: float) -> BroadcastOperator:
        """How long :meth:`emit` with a callback, or :meth:`call`, waits for the acks."""
        return BroadcastOperator(self._namespace, self.recipients.flagged(timeout=seconds))

    def compress(self, compress: bool) -> BroadcastOperator:
        """Whether the packet may be compressed (per-message deflate, on the connections that
        agreed to it; True by default), as Node's ``compress()``."""
        return BroadcastOperator(self._namespace, self.recipients.flagged(compress=compress))

    def emit(self, event: str, *args: Any, callback: AckCallback | None = None) -> None:
        """Emit to every selected connection; the packet is encoded once.

        With ``callback`` (and :meth:`timeout`), ``callback(err, responses)`` is called once
        every recipient answered (``err`` None) or when the timeout passes (``err`` an
        :class:`AckTimeout`, ``responses`` those that came), as in Node's socket.io.
        """
        if not isinstance(event, str) or event in RESERVED_EVENTS:
            raise ValueError(f"{event!r} cannot be emitted")
        if log.isEnabledFor(_DEBUG):  # (once per broadcast, not per recipient: 0.05 us)
            _log_broadcast(self._namespace.name, event, self.recipients, callback is not None)
        server = self._namespace.server
        args = tuple(files_read(args, server))  # read once for every recipient
        # A handler emitting in a long loop lets the event loop run now and then (heartbeats).
        server.concurrency.pause()
        if callback is None:
            for namespace in self._namespace.targets():
                packet = Packet(PacketType.EVENT, namespace.name, [event, *args])
                namespace.adapter.broadcast(packet, self.recipients)
            return
        timeout = self.recipients.timeout
        if timeout is None:
            raise ValueError(
                "a broadcast with a callback needs a timeout: sio.timeout(5).emit(...)"
            )
        _AckCollector(self._namespace, self.recipients, event, args, timeout, callback).start()

    def call(self, event: str, *args: Any) -> list:
        """Emit and wait for every recipient's ack; returns their answers (one per recipient:
        the ack's argument, or a tuple of them). Raises :class:`AckTimeout` past
        :meth:`timeout` (default 60 s), with the answers that came as ``.responses``."""
        op = self if self.recipients.timeout is not None else self.timeout(60.0)
        return wait_for_answers(
            self._namespace.server.concurrency,
            lambda finished: op.emit(event, *args, callback=finished),
        )

    # -- acting on the selected connections ------------------------------------------------

    def fetch_sockets(self) -> list[Socket]:
        """The selected connections: :class:`~gsio.Conn` for this process's, and with a
        cluster adapter :class:`~gsio.RemoteConn` for the other servers'."""
        conns: list[Socket] = []
        for namespace in self._namespace.targets():
            conns.extend(namespace.adapter.fetch_sockets(self.recipients))
        return conns

    def sockets_join(self, *rooms: RoomArg) -> None:
        """Make the selected connections join these rooms."""
        for namespace in self._namespace.targets():
            namespace.adapter.add_sockets(self.recipients, rooms_of(rooms))

    def sockets_leave(self, *rooms: RoomArg) -> None:
        """Make the selected connections leave these rooms."""
        for namespace in self._namespace.targets():
            namespace.adapter.del_sockets(self.recipients, rooms_of(rooms))

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the selected connections (and with ``close`` their whole connection)."""
        for namespace in self._namespace.targets():
            namespace.adapter.disconnect_sockets(self.recipients, close)


def _log_broadcast(namespace: str, event: str, recipients: Recipients, acks: bool) -> None:
    to = f"rooms {sorted(recipients.rooms)}" if recipients.rooms else "everyone"
    if recipients.except_rooms:
        to += f" except {sorted(recipients.except_rooms)}"
    flags = [name for name in ("volatile", "local") if getattr(recipients, name)]
    if acks:
        flags.append(f"acks within {recipients.timeout} s")
    log.debug(
        "%s broadcast %r to %s%s", namespace, event, to, f" ({', '.join(flags)})" if flags else ""
    )


class Broadcasting:
    """The broadcasting surface of :class:`~gsio.server.Server` and
    :class:`~gsio.server.namespace.Namespace`: each method starts from :attr:`_all`, a
    :class:`BroadcastOperator` reaching every connection (of the namespace; of the default
    namespace, for the server)."""

    __slots__ = ()

    @property
    def _all(self) -> BroadcastOperator:
        raise NotImplementedError

    def emit(
        self,
        event: str,
        *args: Any,
        to: RoomArg | None = None,
        callback: AckCallback | None = None,
    ) -> None:
        """Emit to every connection, or to those in the rooms (or socket ids) in ``to``; with
        ``callback``, see :meth:`BroadcastOperator.emit`."""
        op = self._all if to is None else self._all.to(to)
        op.emit(event, *args, callback=callback)

    def send(self, *args: Any, to: RoomArg | None = None) -> None:
        """Emit a ``message`` event, as Node's ``send()``."""
        self.emit("message", *args, to=to)

    def to(self, *rooms: RoomArg) -> BroadcastOperator:
        """Broadcast to the connections in these rooms (or with these socket ids)."""
        return self._all.to(*rooms)

    in_ = to

    def except_(self, *rooms: RoomArg) -> BroadcastOperator:
        """Broadcast to every connection but those in these rooms."""
        return self._all.except_(*rooms)

    @property
    def volatile(self) -> BroadcastOperator:
        """See :attr:`BroadcastOperator.volatile`."""
        return self._all.volatile

    @property
    def local(self) -> BroadcastOperator:
        """See :attr:`BroadcastOperator.local`."""
        return self._all.local

    def timeout(self, seconds: float) -> BroadcastOperator:
        """See :meth:`BroadcastOperator.timeout`."""
        return self._all.timeout(seconds)

    def compress(self, compress: bool) -> BroadcastOperator:
        """See :meth:`BroadcastOperator.compress`."""
        return self._all.compress(compress)

    def fetch_sockets(self) -> list[Socket]:
        """See :meth:`BroadcastOperator.fetch_sockets`."""
        return self._all.fetch_sockets()

    def sockets_join(self, *rooms: RoomArg) -> None:
        """Make every connection join these rooms."""
        self._all.sockets_join(*rooms)

    def sockets_leave(self, *rooms: RoomArg) -> None:
        """Make every connection leave these rooms."""
        self._all.sockets_leave(*rooms)

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect every connection (with ``close``, their whole connection)."""
        self._all.disconnect_sockets(close)


class _AckCollector:
    """Gathers the acks of one broadcast, like Node's ``BroadcastOperator.emit`` with an ack."""

    def __init__(
        self,
        namespace: Scope,
        recipients: Recipients,
        event: str,
        args: tuple,
        timeout: float,
        callback: AckCallback,
    ) -> None:
        self.namespace = namespace
        self.recipients = recipients
        self.event = event
        self.args = args
        self.callback = callback
        self.timeout = timeout
        self.responses: list[Any] = []
        self.expected_servers = 0
        self.servers = 0
        self.clients = 0
        self.finished = False
        self.timer: Timer | None = None

    def start(self) -> None:
        namespaces = list(self.namespace.targets())
        c = self.namespace.server.concurrency
        self.timer = c.call_later(self.timeout, lambda: c.spawn(self._timed_out))
        local = self.recipients.local
        self.expected_servers = sum(
            1 if local else namespace.adapter.server_count() for namespace in namespaces
        )
        for namespace in namespaces:
            packet = Packet(PacketType.EVENT, namespace.name, [self.event, *self.args])
            namespace.adapter.broadcast_with_ack(
                packet, self.recipients, self._client_count, self._on_ack
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
            if self.timer is not None:
                self.timer.cancel()
            self.callback(None, self.responses)

    def _timed_out(self) -> None:
        if not self.finished:
            self.finished = True
            error = AckTimeout(f"operation has timed out ({self.event!r}, {self.timeout} s)")
            self.callback(error, self.responses)


def wait_for_answers(
    concurrency: Concurrency, start: Callable[[Callable[[Any, list], None]], None]
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
