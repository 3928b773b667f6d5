"""Connection state recovery: what a namespace keeps so that a client reconnects without loss.

As Node's socket.io (4.6+) does it, so that socket.io-client 4.x recovers:

- With recovery on, the CONNECT answer carries a private session id ``pid`` beside ``sid``,
  and every EVENT sent to a client without an ack and not volatile (direct emits included) has
  an *offset* appended as its last argument, which the client keeps.
- When a connection ends for a reason in :data:`RECOVERABLE_REASONS`, its session (id, pid,
  rooms, data) is kept for ``max_disconnection_duration``.
- A reconnecting client sends ``pid`` and its last ``offset`` in its CONNECT payload; if the
  session is known and the packets after that offset are still held, the connection is
  restored: same id, its rooms, its data, and the packets it missed, in order.

This module holds the pure parts: the options, the session record, which packets are logged
and who a logged packet reaches, and the in-process stores (:class:`PacketLog`,
:class:`SessionStore`) that the in-process adapter uses. No I/O: the clock is passed in.
"""

from __future__ import annotations

import collections
import itertools
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Callable

from gsio.server.recipients import Recipients

__all__ = [
    "RECOVERABLE_REASONS",
    "PacketLog",
    "RecoveryOptions",
    "Restored",
    "SessionState",
    "SessionStore",
    "reaches",
]

#: The disconnect reasons after which a session is kept (Node's list). A client's namespace
#: disconnect, a server's ``disconnect()`` and a parse error are final.
RECOVERABLE_REASONS = frozenset(
    {
        "transport error",
        "transport close",
        "forced close",
        "ping timeout",
        "server shutting down",
        "forced server close",
    }
)


@dataclass(frozen=True)
class RecoveryOptions:
    """``gsio.Server(connection_state_recovery=...)``: a dict with these keys, or True.

    :param max_disconnection_duration: seconds a disconnected session is kept (120, as Node).
    :param skip_middlewares: a recovered connection skips the namespace's middleware (True, as
        Node); its ``connect`` handler runs either way.
    :param max_packets: the most packets each namespace keeps in this process for recovery
        (10,000, the size of Node's Redis stream). A client whose last offset was trimmed away,
        by age or by this cap, gets a new connection, never a partial replay.
    """

    max_disconnection_duration: float = 120.0
    skip_middlewares: bool = True
    max_packets: int = 10_000

    @classmethod
    def of(cls, value: bool | Mapping[str, Any] | RecoveryOptions | None) -> RecoveryOptions | None:
        """The options from what ``Server`` was given (None or False: recovery off)."""
        if value is None or value is False:
            return None
        if value is True:
            return cls()
        if isinstance(value, RecoveryOptions):
            return value
        unknown = set(value) - {"max_disconnection_duration", "skip_middlewares", "max_packets"}
        if unknown:
            raise TypeError(f"unknown connection_state_recovery options: {sorted(unknown)}")
        options = cls(**value)
        if options.max_disconnection_duration <= 0 or options.max_packets < 1:
            raise ValueError("max_disconnection_duration and max_packets must be positive")
        return options


@dataclass
class SessionState:
    """A disconnected connection's session, as Node's adapter persists it. ``since`` (gsio's
    own, beyond Node's shape) is where the packet log stood when the connection started: a
    client that never received a logged packet has no offset to send, and recovers from
    there."""

    sid: str
    pid: str
    rooms: list[str]
    data: Any
    since: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """Node's shape: ``{"sid", "pid", "rooms", "data"}`` (and ``since`` if known, which
        Node's servers ignore)."""
        value = {"sid": self.sid, "pid": self.pid, "rooms": self.rooms, "data": self.data}
        if self.since is not None:
            value["since"] = self.since
        return value

    @classmethod
    def from_dict(cls, value: Any) -> SessionState | None:
        """A session read back (from Redis, written by gsio or Node); None if it is not one."""
        if not isinstance(value, dict):
            return None
        sid, pid, rooms = value.get("sid"), value.get("pid"), value.get("rooms")
        if not isinstance(sid, str) or not isinstance(pid, str) or not isinstance(rooms, list):
            return None
        if not all(isinstance(room, str) for room in rooms):
            return None
        since = value.get("since")
        return cls(sid, pid, rooms, value.get("data"), since if isinstance(since, str) else None)


@dataclass
class Restored:
    """A session found again, with what was sent to it meanwhile: each missed packet is an
    EVENT's data (``[event, *args, offset]``), oldest first."""

    session: SessionState
    missed: list[list[Any]] = field(default_factory=list)


def reaches(rooms: Iterable[str], opts: Recipients) -> bool:
    """Whether a packet sent to ``opts`` reaches a socket in ``rooms`` (its own id among them)."""
    rooms = list(rooms)
    if opts.rooms and not any(room in opts.rooms for room in rooms):
        return False
    return not any(room in opts.except_rooms for room in rooms)


class PacketLog:
    """The recent recoverable packets of one namespace in this process, oldest first.

    Trimmed by age (``max_age`` seconds) and by count (``max_packets``), from the oldest. Each
    packet has an offset: given (a Redis stream entry id) or made here (unique to this log).
    """

    def __init__(self, max_age: float, max_packets: int, clock: Callable[[], float]) -> None:
        self.max_age = max_age
        self.max_packets = max_packets
        self.clock = clock
        # (offset, recipients, emitted at, data with the offset last)
        self._entries: collections.deque[tuple[str, Recipients, float, list[Any]]] = (
            collections.deque()
        )
        self._index: dict[str, int] = {}  # offset -> its number
        self._first = 0  # the number of the oldest entry held
        self._prefix = secrets.token_urlsafe(4)

    def __len__(self) -> int:
        return len(self._entries)

    def append(self, data: list[Any], opts: Recipients, offset: str | None = None) -> list[Any]:
        """Log a packet's data; returns it with its offset appended (what is sent)."""
        entries = self._entries
        number = self._first + len(entries)
        if offset is None:
            offset = f"{self._prefix}{number:x}"
        data = [*data, offset]
        now = self.clock()
        entries.append((offset, opts, now, data))
        self._index[offset] = number
        if len(entries) > self.max_packets or entries[0][2] < now - self.max_age:
            self._trim(now)
        return data

    def _trim(self, now: float) -> None:
        entries = self._entries
        oldest = now - self.max_age
        while entries and (len(entries) > self.max_packets or entries[0][2] < oldest):
            del self._index[entries.popleft()[0]]
            self._first += 1

    def position(self) -> str:
        """Where the log stands: :meth:`since` it, the packets logged from now on."""
        return str(self._first + len(self._entries))

    def since(self, position: str, rooms: Iterable[str]) -> list[list[Any]] | None:
        """The packets logged since :meth:`position` gave ``position`` that reach ``rooms``,
        oldest first; None if some of them were trimmed away (or ``position`` is not one)."""
        self._trim(self.clock())
        number = int(position) if position.isdigit() else -1
        if not self._first <= number <= self._first + len(self._entries):
            return None
        position_number = number
        rooms = list(rooms)
        entries = self._entries
        start = position_number - self._first
        return [e[3] for e in itertools.islice(entries, start, None) if reaches(rooms, e[1])]

    def holds(self, offset: str) -> bool:
        """Whether ``offset`` is the offset of a packet still held."""
        self._trim(self.clock())
        return offset in self._index

    def after(self, offset: str, rooms: Iterable[str]) -> list[list[Any]] | None:
        """The packets after ``offset`` that reach ``rooms``, oldest first; None if ``offset`` is
        not held (unknown, or trimmed away: what followed it may be gone too)."""
        self._trim(self.clock())
        number = self._index.get(offset)
        if number is None:
            return None
        rooms = list(rooms)
        missed = []
        entries = self._entries
        for i in range(number - self._first + 1, len(entries)):
            _, opts, _, data = entries[i]
            if reaches(rooms, opts):
                missed.append(data)
        return missed


class SessionStore:
    """Disconnected sessions of one namespace in this process, each kept ``max_age`` seconds."""

    def __init__(self, max_age: float, clock: Callable[[], float]) -> None:
        self.max_age = max_age
        self.clock = clock
        # pid -> (session, disconnected at); insertion order is disconnection order
        self._sessions: collections.OrderedDict[str, tuple[SessionState, float]] = (
            collections.OrderedDict()
        )

    def __len__(self) -> int:
        self._expire()
        return len(self._sessions)

    def put(self, session: SessionState) -> None:
        self._sessions.pop(session.pid, None)
        self._sessions[session.pid] = (session, self.clock())
        self._expire()

    def take(self, pid: str) -> SessionState | None:
        """The session with this pid, removed; None if unknown or expired."""
        self._expire()
        entry = self._sessions.pop(pid, None)
        return None if entry is None else entry[0]

    def discard(self, pid: str) -> None:
        self._sessions.pop(pid, None)

    def _expire(self) -> None:
        sessions = self._sessions
        oldest = self.clock() - self.max_age
        while sessions:
            pid, (_, at) = next(iter(sessions.items()))
            if at >= oldest:
                break
            del sessions[pid]
