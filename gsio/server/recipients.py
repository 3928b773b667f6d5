"""Who a broadcast reaches: the one recipients value of broadcasts, adapters and the emitter.

``sio.to("lobby").except_("muted").volatile`` and ``gsio.Emitter(...).to("lobby")`` both build a
:class:`Recipients`, each step a new immutable value; the adapter (in-process or Redis) selects
its sockets with it, and the cluster's wire format carries its rooms and flags.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Union

__all__ = ["EVERYONE", "Recipients", "RoomArg", "rooms_of"]

#: Rooms as the API takes them: a room (or socket id), or an iterable of them.
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


@dataclass(frozen=True, init=False)
class Recipients:
    """The sockets of a namespace that a broadcast, or an operation on sockets, reaches: those
    in any of ``rooms`` (every socket when empty), less those in any of ``except_rooms``.

    Flags: ``volatile`` (dropped for a client that cannot take it at once), ``local`` (this
    process's sockets only, with a cluster adapter), ``timeout`` (seconds to wait for acks or
    for the other servers' answers; None: the default), ``compress`` (False: not compressed
    with per-message deflate, whatever its size).
    """

    __slots__ = ("rooms", "except_rooms", "volatile", "local", "timeout", "compress")

    rooms: frozenset[str]
    except_rooms: frozenset[str]
    volatile: bool
    local: bool
    timeout: float | None
    compress: bool

    def __init__(
        self,
        rooms: frozenset[str] = frozenset(),
        except_rooms: frozenset[str] = frozenset(),
        flags: Mapping[str, Any] | None = None,
        *,
        volatile: bool = False,
        local: bool = False,
        timeout: float | None = None,
        compress: bool = True,
    ) -> None:
        if flags:  # the map form, as :attr:`flags` gives it (and BroadcastOptions took it)
            volatile = volatile or bool(flags.get("volatile"))
            local = local or bool(flags.get("local"))
            timeout = flags.get("timeout", timeout)
            compress = compress and flags.get("compress", True) is not False
        init = object.__setattr__  # frozen: as the dataclass's own __init__ would
        init(self, "rooms", rooms)
        init(self, "except_rooms", except_rooms)
        init(self, "volatile", volatile)
        init(self, "local", local)
        init(self, "timeout", timeout)
        init(self, "compress", compress)

    def to(self, *rooms: RoomArg) -> Recipients:
        """These recipients, narrowed to the sockets in these rooms (in any of them)."""
        return Recipients(
            self.rooms | rooms_of(rooms),
            self.except_rooms,
            volatile=self.volatile,
            local=self.local,
            timeout=self.timeout,
            compress=self.compress,
        )

    def except_(self, *rooms: RoomArg) -> Recipients:
        """These recipients, less the sockets in these rooms."""
        return Recipients(
            self.rooms,
            self.except_rooms | rooms_of(rooms),
            volatile=self.volatile,
            local=self.local,
            timeout=self.timeout,
            compress=self.compress,
        )

    def flagged(
        self,
        *,
        volatile: bool = False,
        local: bool = False,
        timeout: float | None = None,
        compress: bool | None = None,
    ) -> Recipients:
        """These recipients with more flags set (a flag set already stays set; ``compress``
        is replaced when given)."""
        return Recipients(
            self.rooms,
            self.except_rooms,
            volatile=volatile or self.volatile,
            local=local or self.local,
            timeout=self.timeout if timeout is None else timeout,
            compress=self.compress if compress is None else compress,
        )

    @property
    def flags(self) -> dict[str, Any]:
        """The flags that are set, as a map (what the cluster's wire format carries)."""
        flags: dict[str, Any] = {}
        if self.volatile:
            flags["volatile"] = True
        if self.local:
            flags["local"] = True
        if self.timeout is not None:
            flags["timeout"] = self.timeout
        if not self.compress:
            flags["compress"] = False
        return flags


#: Every socket of the namespace, no flag set.
EVERYONE = Recipients()
