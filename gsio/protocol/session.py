"""The state of one Engine.IO session, as data: no I/O, no clock (``now`` is passed in).

A session is OPEN on one transport (``polling`` or ``websocket``), may be UPGRADING from
polling to WebSocket, and ends CLOSED with a reason. It holds the outbound queue (packets the
transport has not taken yet) and its size, the heartbeat deadlines, and the polling request
bookkeeping. The transport layer feeds it what arrives and writes what it hands out.
"""

from __future__ import annotations

import enum
import json
import sys

from gsio.exceptions import ProtocolError
from gsio.protocol.engineio import PING, PONG, PONG_PROBE, PROTOCOL, PROTOCOLS, Packet, PacketType

__all__ = ["State", "Session", "OVERFLOW_REASON"]

#: The close reason of a session whose client does not take what it is sent (its outbound
#: buffer went past ``max_outbound``): the reference's reason for a transport that failed.
OVERFLOW_REASON = "transport error"


class State(enum.Enum):
    OPEN = "open"
    UPGRADING = "upgrading"
    CLOSED = "closed"


# (state, event) -> next state; any other pair is a protocol error. Closing is allowed from
# every state and is not listed.
_TRANSITIONS = {
    (State.OPEN, "start_upgrade"): State.UPGRADING,
    (State.UPGRADING, "finish_upgrade"): State.OPEN,
    (State.UPGRADING, "abort_upgrade"): State.OPEN,
}


class Session:
    """One Engine.IO session.

    :param sid: the session id.
    :param transport: ``"polling"`` or ``"websocket"``: the transport of the handshake.
    :param now: the current time (seconds, any monotonic clock).
    :param ping_interval: seconds between the server's pings.
    :param ping_timeout: seconds the client has to answer a ping.
    :param upgrades: transports the client may upgrade to (announced in the handshake).
    :param max_payload: the largest message or polling body accepted, in bytes.
    :param max_outbound: the most bytes that may wait for the client (queued here, and what the
        transport holds: :attr:`transport_bytes`) when another message is sent; past it the
        message is refused and :attr:`overflowed` set (see :meth:`send`). None: no limit.
    :param protocol: the Engine.IO protocol version of the handshake (its ``EIO`` parameter, as
        :func:`~gsio.protocol.engineio.protocol_version` reads it), kept as :attr:`protocol`;
        one gsio does not speak raises :class:`ProtocolError` (code 5).

    What differs between protocol versions reads :attr:`protocol`: who pings
    (:attr:`client_pings`; :meth:`receive`, :meth:`on_timer`) and the framing of polling
    payloads and binary WebSocket messages (the transport's, :mod:`gsio.protocol.engineio` or
    :mod:`gsio.protocol.engineio_v3`). The OPEN packet is the same in both, as Node sends it.
    """

    __slots__ = (
        "sid",
        "protocol",
        "transport",
        "state",
        "close_reason",
        "ping_interval",
        "ping_timeout",
        "upgrades",
        "max_payload",
        "outbound",
        "outbound_bytes",
        "transport_bytes",
        "max_outbound",
        "overflowed",
        "_next_ping",
        "_pong_deadline",
        "ping_lateness",
        "pong_wait",
        "get_active",
        "post_active",
    )

    def __init__(
        self,
        sid: str,
        transport: str,
        *,
        now: float,
        ping_interval: float,
        ping_timeout: float,
        upgrades: tuple[str, ...] = (),
        max_payload: int = 1_000_000,
        max_outbound: int | None = None,
        protocol: int = PROTOCOL,
    ) -> None:
        if protocol not in PROTOCOLS:
            raise ProtocolError("unsupported protocol version", code=5)
        self.sid = sid
        #: The Engine.IO protocol version this session speaks (3 or 4).
        self.protocol = protocol
        self.transport = transport
        self.state = State.OPEN
        self.close_reason: str | None = None
        self.ping_interval = ping_interval
        self.ping_timeout = ping_timeout
        self.upgrades = upgrades if transport == "polling" else ()
        self.max_payload = max_payload
        self.outbound: list[Packet] = []  # a list: an empty deque holds a 600-byte block
        # What the queue holds, in bytes (text in characters: len() costs nothing; encoding
        # would). The heartbeat's PINGs and the polling's put-back CLOSE are not counted.
        self.outbound_bytes = 0
        #: Bytes the transport took from the queue and has not written yet, as it reports them.
        self.transport_bytes = 0
        self.max_outbound = sys.maxsize if max_outbound is None else max_outbound
        self.overflowed = False
        self._next_ping = now + ping_interval
        self._pong_deadline: float | None = None
        #: Seconds the last PING was queued after it was due (how late the timer ran: a busy
        #: event loop), and seconds the client took to answer the last PING with a PONG; read
        #: by whoever watches (gsio.metrics), never by the session. Engine.IO v4 only.
        self.ping_lateness = 0.0
        self.pong_wait = 0.0
        if protocol == 3:
            # The client pings: the session times out ping_interval + ping_timeout after the
            # open or the client's last ping (Node: resetPingTimeout). The pong deadline is
            # that deadline, always set, so on_timer() never queues a PING.
            self._pong_deadline = now + ping_interval + ping_timeout
        self.get_active = False
        self.post_active = False

    # -- handshake and state -------------------------------------------------------------

    def open_packet(self) -> Packet:
        """The OPEN packet that answers the handshake, with the fields of :attr:`protocol`."""
        # What json.dumps({...}, separators=(",", ":")) writes, without building an encoder
        # per handshake (that costs more than the rest of the packet).
        sid = json.dumps(self.sid)
        upgrades = ",".join(json.dumps(name) for name in self.upgrades)
        # round(), not int(): 1.001 * 1000 is 1000.999...
        interval = round(self.ping_interval * 1000)
        timeout = round(self.ping_timeout * 1000)
        data = (
            f'{{"sid":{sid},"upgrades":[{upgrades}],"pingInterval":{interval},'
            f'"pingTimeout":{timeout},"maxPayload":{self.max_payload}}}'
        )
        # Node's engine.io 6 sends v3 clients maxPayload too (they ignore it).
        return Packet(PacketType.OPEN, data)

    @property
    def client_pings(self) -> bool:
        """Whether the client pings and the server answers (Engine.IO v3), rather than the
        other way round (v4)."""
        return self.protocol == 3

    @property
    def closed(self) -> bool:
        return self.state is State.CLOSED

    def _transition(self, event: str) -> None:
        new = _TRANSITIONS.get((self.state, event))
        if new is None:
            raise ProtocolError(f"cannot {event.replace('_', ' ')} while {self.state.value}")
        self.state = new

    def close(self, reason: str) -> bool:
        """Close the session; returns False if it was closed already (the first reason stays)."""
        if self.state is State.CLOSED:
            return False
        self.state = State.CLOSED
        self.close_reason = reason
        return True

    # -- outbound ------------------------------------------------------------------------

    def send(self, packet: Packet) -> bool:
        """Queue a packet for the client; False (and nothing queued) once closed, or when more
        than ``max_outbound`` bytes wait for the client already: then :attr:`overflowed` is
        set, and the caller ends the session with :meth:`overflow`. So what waits for one
        client is at most ``max_outbound`` bytes and one message."""
        if self.state is State.CLOSED:
            return False
        if self.outbound_bytes + self.transport_bytes > self.max_outbound:
            self.overflowed = True
            return False
        data = packet.data
        self.outbound_bytes += 1 if data is None else len(data) + 1
        self.outbound.append(packet)
        return True

    def take_outbound(self) -> list[Packet]:
        """Hand out every queued packet, in order (their bytes leave :attr:`outbound_bytes`)."""
        packets = self.outbound
        self.outbound = []
        self.outbound_bytes = 0
        return packets

    @property
    def buffered(self) -> int:
        """Bytes waiting for the client: the queue's and the transport's."""
        return self.outbound_bytes + self.transport_bytes

    def overflow(self) -> bool:
        """The client does not take what it is sent: close the session (``OVERFLOW_REASON``) and
        drop what is queued. False if it was closed already."""
        self.overflowed = True
        if not self.close(OVERFLOW_REASON):
            return False
        self.outbound = []
        self.outbound_bytes = 0
        self.transport_bytes = 0
        return True

    # -- inbound -------------------------------------------------------------------------

    def receive(self, packet: Packet, now: float) -> str | bytes | None:
        """Take one packet from the client. Returns a message's data, else None.

        A CLOSE closes the session ("transport close"); NOOP, OPEN and UPGRADE are ignored, as
        the reference does. The heartbeat goes one way: in v4 a PONG answers the server's PING
        and a PING raises :class:`ProtocolError` (the caller closes the session with its
        reason, "transport error"); in v3 (:attr:`client_pings`) a PING queues a PONG (the
        caller flushes) and moves the timeout (the caller re-arms its timer at
        :meth:`next_deadline`), and a PONG raises.
        """
        ptype = packet.type
        if ptype is PacketType.MESSAGE:
            return packet.data
        if ptype is PacketType.PONG:
            if self.protocol == 3:
                raise ProtocolError("invalid heartbeat direction", reason="transport error")
            if self._pong_deadline is not None:
                self.pong_wait = now - (self._pong_deadline - self.ping_timeout)
                self._pong_deadline = None
                self._next_ping = now + self.ping_interval
            return None
        if ptype is PacketType.CLOSE:
            self.close("transport close")
            return None
        if ptype is PacketType.PING:
            if self.protocol == 3:
                # Node answers a pong without data, whatever the ping carried.
                self._pong_deadline = now + self.ping_interval + self.ping_timeout
                self.outbound.append(PONG)
                return None
            # Engine.IO v4: the server pings, the client answers; only "2probe" on a new
            # WebSocket is allowed, and that is handled by start_upgrade(). The reference
            # closes with "transport error" (onError), not "parse error".
            raise ProtocolError("invalid heartbeat direction", reason="transport error")
        # NOOP, and OPEN or UPGRADE, which mean nothing here (an UPGRADE counts only on the
        # probe WebSocket): the reference ignores them.
        return None

    # -- upgrade -------------------------------------------------------------------------

    def start_upgrade(self) -> Packet:
        """The client probed a WebSocket ("2probe"): returns the "3probe" answer."""
        if self.transport != "polling" or "websocket" not in self.upgrades:
            raise ProtocolError("upgrade not allowed")
        self._transition("start_upgrade")
        return PONG_PROBE

    def finish_upgrade(self) -> None:
        """The client sent UPGRADE on the WebSocket: from now on all traffic goes there."""
        self._transition("finish_upgrade")
        self.transport = "websocket"
        self.upgrades = ()

    def abort_upgrade(self) -> None:
        """The probe WebSocket failed or timed out: stay on polling."""
        if self.state is State.UPGRADING:
            self._transition("abort_upgrade")

    # -- polling requests ------------------------------------------------------------------

    def begin_get(self) -> None:
        if self.get_active:
            raise ProtocolError("overlapping GET requests", reason="transport error")
        self.get_active = True

    def begin_post(self) -> None:
        if self.post_active:
            raise ProtocolError("overlapping POST requests", reason="transport error")
        self.post_active = True

    # -- heartbeat -----------------------------------------------------------------------

    def next_deadline(self) -> float:
        """When :meth:`on_timer` has something to do next."""
        return self._pong_deadline if self._pong_deadline is not None else self._next_ping

    def on_timer(self, now: float) -> str | None:
        """Advance the heartbeat: ``"ping"`` (a PING was queued; never in v3), ``"timeout"``
        (closed), or None."""
        if self.state is State.CLOSED:
            return None
        if self._pong_deadline is not None:
            if now >= self._pong_deadline:
                self.close("ping timeout")
                return "timeout"
            return None
        if now >= self._next_ping:
            self.ping_lateness = now - self._next_ping
            self.outbound.append(PING)
            self._pong_deadline = now + self.ping_timeout
            return "ping"
        return None
