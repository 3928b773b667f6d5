"""One client's Engine.IO session (:class:`EngineSocket`), and what the engine tells the code
above it (:class:`EngineHandler`).

The transports (:mod:`gsio.engine.polling`, :mod:`gsio.engine.websocket`) drive a socket
through its public surface: :attr:`EngineSocket.lock` guards the session's state,
:attr:`EngineSocket.waiter` is the long-poll GET waiting for something to send,
:attr:`EngineSocket.reading` the POST reading its body, :attr:`EngineSocket.ws` the WebSocket
once the session is on one, and :meth:`EngineSocket.flush` hands what the session queued to
its transport. The socket knows its engine through :class:`SocketOwner`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, Callable, Protocol

from gsio.io.concurrency import Concurrency, Timer
from gsio.io.websocket import Data, WebSocket, message_frame
from gsio.protocol.engineio import CLOSE, Packet, PacketType, decode, encode
from gsio.protocol.session import OVERFLOW_REASON, Session, State

__all__ = ["EngineHandler", "EngineSocket", "SocketOwner", "Waiter", "Stoppable"]

log = logging.getLogger("gsio.engine")

_OPEN = State.OPEN


class EngineHandler:
    """What an :class:`~gsio.engine.server.Engine` calls. Override what you need; each method
    must return quickly.

    ``on_message`` is called in the order the client sent, from the request or reader that
    received it, which under gsio's own WebSocket layer is the event loop itself: it must not
    block (no I/O, no sleep, no waiting for other greenlets). Hand long work to another
    greenlet or thread; a handler that must block sets :attr:`nonblocking` to False.
    """

    #: ``on_open``/``on_message``/``on_close`` never block, so gsio's WebSocket layer may call
    #: them from the event loop and keep no reader greenlet per connection. False: each
    #: WebSocket connection keeps a greenlet that reads it and calls the handler.
    nonblocking = True

    def on_open(self, socket: EngineSocket) -> None:
        """A session opened (the handshake was answered or is about to be)."""

    def on_message(self, socket: EngineSocket, data: Data) -> None:
        """A message arrived: ``str`` for text, ``bytes`` for binary."""

    def on_close(self, socket: EngineSocket, reason: str) -> None:
        """The session ended; ``reason`` as the reference names it ("transport close", ...)."""

    def on_upgrade(self, socket: EngineSocket) -> None:
        """A polling session upgraded to WebSocket."""

    def on_connection_error(self, environ: dict[str, Any], code: int, message: str) -> None:
        """A request was refused with this Engine.IO error (Node's ``connection_error``)."""


class SocketOwner(Protocol):
    """What an :class:`EngineSocket` needs of its engine (an :class:`~gsio.engine.server.Engine`)."""

    handler: EngineHandler
    sockets: dict[str, EngineSocket]
    ping_timeout: float
    max_outbound_buffer: int | None

    @property
    def concurrency(self) -> Concurrency: ...

    def frames_of(self, parts: Sequence[Data]) -> bytes:
        """The WebSocket frames of these messages (made once for a broadcast)."""
        ...

    def forget(self, socket: EngineSocket) -> None:
        """Drop the session from the engine's table."""
        ...


class Waiter(Protocol):
    """A long-poll GET waiting on its session (:attr:`EngineSocket.waiter`)."""

    def wake(self) -> None:
        """Something changed on the session: look again. Never blocks."""
        ...


class Stoppable(Protocol):
    """A POST reading its body (:attr:`EngineSocket.reading`): cut short when the session ends."""

    def stop(self, why: str) -> None: ...


class EngineSocket:
    """One client's Engine.IO session, as the code above the engine sees it.

    The layer above uses :attr:`sid`, :attr:`environ`, :attr:`transport`, :attr:`closed`,
    :attr:`data` (free for it), :meth:`send`, :meth:`send_parts` and :meth:`close`; the rest
    is the transports' surface (see the module's docstring).
    """

    __slots__ = (
        "sid",
        "environ",
        "engine",
        "session",
        "_c",
        "lock",
        "waiter",
        "_timer",
        "ws",
        "_terminated",
        "reading",
        "data",
        "frames_of",
        "__weakref__",
    )

    def __init__(self, engine: SocketOwner, session: Session, environ: dict[str, Any]) -> None:
        self.sid = session.sid
        self.environ = environ
        self.engine = engine
        self.session = session
        self._c = engine.concurrency
        #: Guards the session's state: hold it briefly; nothing may block or yield under it.
        self.lock = self._c.state_lock()
        #: The long-poll GET waiting for something to send (polling sessions only), if any.
        self.waiter: Waiter | None = None
        self._timer: Timer | None = None
        #: The WebSocket, once the session is on one (set by the WebSocket transport).
        self.ws: WebSocket | None = None
        self._terminated = False
        #: The polling POST reading its body, stopped when the session ends.
        self.reading: Stoppable | None = None
        self.data: Any = None  # free for the layer above
        #: ``frames_of(parts) -> bytes``: the engine's, or on a WebSocket with per-message
        #: deflate the framer of its window (set by the WebSocket transport).
        self.frames_of: Callable[[Sequence[Data]], bytes] = engine.frames_of

    @property
    def transport(self) -> str:
        return self.session.transport

    @property
    def protocol(self) -> int:
        """The Engine.IO protocol version the client speaks (its session's: 3 or 4)."""
        return self.session.protocol

    @property
    def closed(self) -> bool:
        return self.session.state is State.CLOSED

    @property
    def buffered_bytes(self) -> int:
        """Bytes sent to the client that have not been written to its connection yet (text
        counted in characters): what ``max_outbound_buffer`` limits. As ``bufferedAmount``
        in Node's ``ws``, the kernel's socket buffer is not included."""
        ws = self.ws
        return self.session.buffered + (ws.buffered_bytes if ws is not None else 0)

    def send(self, data: Data) -> bool:
        """Queue a message for the client; never blocks. False if the session is closed."""
        return self.send_packet(Packet(PacketType.MESSAGE, data))

    def _frame(self, packet: Packet) -> bytes:
        """``packet`` as a WebSocket frame (an Engine.IO v3 session frames binary its way)."""
        return message_frame(encode(packet))

    def send_packet(self, packet: Packet) -> bool:
        """Queue one Engine.IO packet; never blocks. False if the session is closed."""
        if not self._c.in_home_thread():
            # An OS thread under gevent: gevent's objects belong to the hub's thread.

            def send() -> None:
                self.send_packet(packet)

            self._c.call_soon_threadsafe(send)
            return not self.closed
        ws = self.ws
        if ws is not None and self._direct():
            if ws.send_frames(self._frame(packet)):
                return True
            self._overflow()
            return False
        with self.lock:
            queued = self.session.send(packet)
        if queued:
            self.flush()
            return True
        if self.session.overflowed:
            self._overflow()
        return False

    def send_parts(self, parts: Sequence[Data], volatile: bool = False) -> bool:
        """Send messages in order: an encoded Socket.IO packet (its text, then its attachments).
        The same ``parts`` object may be passed for many sockets (a broadcast) and must not
        change afterwards: on WebSocket its frames are made once for all of them. With
        ``volatile``, nothing is sent to a client that has a backlog (anything not yet written
        to its connection, on every transport) or is upgrading. False if nothing was sent: the
        session is closed, or was just closed for taking too little of what it is sent (see
        ``max_outbound_buffer``), or a volatile message was dropped."""
        ws = self.ws
        session = self.session
        if (
            ws is not None
            and session.state is _OPEN
            and not session.outbound
            and self._c.in_home_thread()
        ):  # straight to the WebSocket (as _direct(), inlined: this is every emit's path)
            if volatile and ws.backlog:
                return False
            if ws.send_frames(self.frames_of(parts)):
                return True
            self._overflow()
            return False
        if volatile and (
            session.outbound or session.state is not State.OPEN or (ws is not None and ws.backlog)
        ):
            return False
        sent = True
        for part in parts:
            sent = self.send(part) and sent
        return sent

    def _direct(self) -> bool:
        """Whether a message may go straight to the WebSocket: the session is open on it and
        nothing waits in the session's queue (it would have to go first)."""
        session = self.session
        return session.state is State.OPEN and not session.outbound

    def close(self, reason: str = "forced close") -> None:
        """Close the session from the server side: the client receives a CLOSE packet."""
        self.terminate(reason, notify_client=True)

    @property
    def flushed(self) -> bool:
        """Closed, and nothing of it waits to be written any more: a polling session's last
        packets were taken by a GET, a WebSocket's were handed to the socket."""
        if not self.closed:
            return False
        ws = self.ws
        if ws is None:
            return self.engine.sockets.get(self.sid) is not self
        return not ws.backlog

    def _overflow(self) -> None:
        """More than ``max_outbound_buffer`` bytes waited for the client when more was sent: it
        does not read what it is sent. What waits is dropped and the connection with it, at
        once (a close frame would wait behind the rest); the session ends."""
        with self.lock:
            if not self.session.overflow():
                return  # done already, or closed for another reason
        ws = self.ws
        if ws is not None:
            ws.abort()
        log.warning(
            "%s: over %d bytes buffered for a client that does not read what it is sent"
            " (max_outbound_buffer); closing the connection",
            self.sid,
            self.engine.max_outbound_buffer,
        )
        # Not here: this may run inside a broadcast loop or the event loop.
        self._c.spawn(self.terminate, OVERFLOW_REASON)

    # -- the transports' surface ---------------------------------------------------------

    def flush(self) -> None:
        """Something was queued, or the session's state changed: hand the queue to the
        WebSocket (and its close frame once the session is closed), or wake the waiting GET.
        Never blocks."""
        ws = self.ws
        if ws is None or self.session.state is State.UPGRADING:
            self.wake_get()
            return
        with self.lock:
            packets = self.session.take_outbound()
        if packets and not ws.send_frames(b"".join([self._frame(packet) for packet in packets])):
            self._overflow()
            return
        if self.session.state is State.CLOSED:
            ws.close()

    def wake_get(self) -> None:
        """Wake the waiting GET (polling), if any: it answers with what is queued, or what the
        session's state calls for."""
        waiter = self.waiter
        if waiter is not None:
            waiter.wake()

    def start_heartbeat(self) -> None:
        """Start the server's pings (once the session is open)."""
        self._arm_timer()

    def _arm_timer(self) -> None:
        # Both the timer and a pong re-arm: under the lock, so that only one timer lives.
        with self.lock:
            if self.session.state is State.CLOSED:
                return
            if self._timer is not None:
                self._timer.cancel()
            delay = self.session.next_deadline() - self._c.monotonic()
            self._timer = self._c.call_later(delay, self._on_timer)

    def _on_timer(self) -> None:
        # Runs in the gevent hub (or the timer thread): queue, wake or spawn; never block.
        with self.lock:
            outcome = self.session.on_timer(self._c.monotonic())
        if outcome == "timeout":
            self._c.spawn(self.terminate, "ping timeout")
            return
        if self.session.state is State.CLOSED:
            return
        if outcome == "ping":
            self._send_ping()
        self._arm_timer()

    def _send_ping(self) -> None:
        # On a WebSocket the PING overtakes what waits there: the client must see it in time.
        ws = self.ws
        with self.lock:
            alone = len(self.session.outbound) == 1 and self.session.state is _OPEN
            packets = self.session.take_outbound() if alone and ws is not None else ()
        if ws is None or not packets:
            return self.flush()
        ws.send_control(self._frame(packets[0]))

    def receive_frame(self, frame: Data) -> None:
        """Feed one WebSocket frame's payload (an Engine.IO packet) to the session."""
        if self.session.state is _OPEN:
            if type(frame) is str:
                if frame[:1] == "4":
                    self.engine.handler.on_message(self, frame[1:])  # the common case
                    return
            else:
                self.engine.handler.on_message(self, frame)  # a binary message
                return
        self.receive_packets((decode(frame),))

    def receive_packets(self, packets: Sequence[Packet]) -> None:
        """Feed packets from the client to the session; messages go to the handler."""
        handler = self.engine.handler
        now = self._c.monotonic()
        for packet in packets:
            with self.lock:
                if self.session.state is State.CLOSED:
                    return  # what a client sends after the close is dropped, as the reference does
                data = self.session.receive(packet, now)
            if data is not None:
                handler.on_message(self, data)
            elif self.session.state is State.CLOSED:
                self.terminate("transport close")
                return
            elif packet.type is PacketType.PONG:
                # The next ping is due ping_interval after this pong: the timer waits for the
                # pong deadline until told.
                self._arm_timer()
            elif packet.type is PacketType.PING:  # a v3 client's: the session queued a PONG
                self.flush()
                self._arm_timer()  # at the deadline the ping moved

    def terminate(self, reason: str, *, notify_client: bool = False) -> None:
        """End the session once: stop the heartbeat, flush, tell the handler.

        ``notify_client``: the server closes the session of its own accord (or, on WebSocket,
        for a client's error): a CLOSE goes out after what is queued, and a polling session
        stays, for ``ping_timeout`` at most, until a GET takes it. Otherwise the session is
        forgotten at once, as in the reference: a GET waiting gets a CLOSE (a NOOP after the
        client's own CLOSE), and any later request the answer to an unknown session.
        """
        with self.lock:
            if notify_client and not self.closed:
                self.session.send(CLOSE)
            self.session.close(reason)
            if self._terminated:
                return
            self._terminated = True
            if self._timer is not None:
                self._timer.cancel()
            # A polling client learns of the server's close from its next GET: as the
            # reference does, keep the session until a GET takes what is left (the CLOSE).
            if notify_client and self.ws is None and self.session.outbound:
                self._timer = self._c.call_later(
                    self.engine.ping_timeout, lambda: self.engine.forget(self)
                )
            else:
                self.engine.forget(self)
            reading = self.reading
        if reading is not None:  # as the reference, which destroys a pending data request
            reading.stop("abandoned: the session closed")
        self.wake_get()
        if self.ws is not None:
            self.flush()
        log.debug("%s: closed (%s)", self.sid, self.session.close_reason)
        try:
            self.engine.handler.on_close(self, self.session.close_reason or reason)
        except Exception:
            log.exception("%s: on_close handler failed", self.sid)
        self.data = None  # (the layer above keeps this socket too: no cycle left at close)
