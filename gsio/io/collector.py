"""Keeping the garbage collector's full passes short while connections pile up.

CPython's cyclic collector runs a full pass each time the objects that survived young
collections grow by a quarter of those the last full pass kept. Every pass walks every tracked
object of the process, and a gsio server holds about 50 per open connection: while 20,000
clients connect, passes come at 3,000, 5,000, 7,000... connections and each stops the whole
server for longer (80 ms at 3,000, 437 ms at 18,600 on the bench machine: 1.8 s of pauses in
a ten-second ramp, freeing nothing). A client whose handshake falls in one waits for it.

:class:`Collector` freezes what a full pass leaves (:func:`gc.freeze`): the next passes walk
only what came since, so a pause is as long as the growth since the last one, not as the
whole heap. Objects frozen are not examined again, so garbage cycles among them would stay:
the sessions that close are counted, and once those closed since the last thaw are a quarter
of the most sessions a freeze held (and at least :attr:`Collector.floor`), everything is thawed
(:func:`gc.unfreeze`) for the next full pass to look at. What a closed connection leaves in
cycles is then freed on the same schedule as without freezing, and a pause is as long as the
churn that called for it. Cycles of other long-lived objects (the application's) are looked at
again at the first full pass :attr:`Collector.thaw_after` seconds after the last thaw: a full
pass then thaws instead of freezing, and the next one walks everything.

Frozen objects are invisible to :func:`gc.get_objects` and :func:`gc.collect`: leak checks
call :func:`collect_all` instead.

The memory of closed connections goes back to the C heap's free lists, where the allocator
keeps most of it (the process's RSS stayed at 170 MiB after 19,900 clients left, 33 MiB before
they came): once the open sessions fell to half of the most since the last time (and by at
least :attr:`Collector.floor`), and once they are all gone after that, :meth:`Collector.closed`
says a trim is due and the engine calls :meth:`Collector.trim` a second later (when the rest
of a wave of closes is done): glibc's ``malloc_trim`` (a few milliseconds) gives the free pages
back to the system (107 MiB then; what stays is mostly Python's own arenas, each kept while
any object in it lives). Elsewhere than on glibc, nothing is trimmed.

It is process-wide (the collector is): the first engine that opens a session installs it,
unless ``Engine(gc_freeze=False)`` (or :meth:`Collector.disable`) was said first.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from typing import Any, Callable

__all__ = ["COLLECTOR", "Collector", "collect_all"]

log = logging.getLogger("gsio.engine")


class Collector:
    """The freezing policy (see the module); one per process: :data:`COLLECTOR`."""

    #: Closed sessions that always may wait in frozen memory before a thaw.
    floor = 1000
    #: The share of the frozen sessions that may close before a thaw.
    churn = 0.25
    #: Seconds after a thaw from which the next full pass thaws rather than freezes.
    thaw_after = 300.0
    #: The C heap is trimmed once the open sessions fell to this share of the most since.
    trim_share = 0.5

    def __init__(self) -> None:
        self.enabled = True
        self.installed = False
        self.live = 0  # sessions open now
        self.frozen_live = 0  # the most sessions open at a freeze since the last thaw
        self.closed_since = 0  # sessions closed since the last thaw (frozen or not: at most)
        self.frozen = False
        #: Full passes seen, freezes and thaws made (for tests and diagnostics).
        self.passes = self.freezes = self.thaws = 0
        self.thawed_at = time.monotonic()
        self.paused = False  # (collect_all: a full pass that freezes nothing)
        self.peak = 0  # the most sessions open since the last trim
        self.trim_due = False
        self._wave = False  # trimmed since the sessions were last all gone
        self.trims = 0
        #: ``malloc_trim(pad)`` (glibc's), found at the first trim; None where there is none.
        self.trimmer: Callable[[int], Any] | None = None
        self._trimmer_found = False
        self._lock = threading.Lock()

    def disable(self) -> None:
        """Leave the collector as Python has it (and thaw what this froze)."""
        self.enabled = False
        if self.installed:
            gc.callbacks.remove(self._on_gc)
            self.installed = False
            if self.frozen:
                gc.unfreeze()
                self.frozen = False

    def opened(self) -> None:
        """A session opened (installs the policy on the first)."""
        self.live += 1
        if self.live > self.peak:
            self.peak = self.live
        if not self.installed and self.enabled:
            with self._lock:
                if not self.installed:
                    gc.callbacks.append(self._on_gc)
                    self.installed = True

    def closed(self) -> bool:
        """A session closed: thaw once enough of them may have left cycles in frozen memory.
        True when a trim became due: the caller has :meth:`trim` called soon (not here, in a
        session's close, while the rest of the wave closes)."""
        self.live -= 1
        live = self.live
        due = False
        if (
            self.enabled
            and live <= self.peak * self.trim_share
            and (self.peak - live >= self.floor or (live == 0 and self._wave))
        ):
            due = not self.trim_due
            self.trim_due = True
            self._wave = live > 0  # (once all left, what the last trim left is trimmed too)
            self.peak = live
        if self.frozen:
            self.closed_since += 1
            if self.closed_since > max(self.floor, self.churn * self.frozen_live):
                self.thaw()
        return due

    def thaw(self) -> None:
        """Give everything frozen back to the oldest generation: the next full pass (which
        comes soon: the last one kept little) looks at all of it."""
        self.frozen = False
        self.thaws += 1
        self.thawed_at = time.monotonic()
        self.frozen_live = self.closed_since = 0
        gc.unfreeze()

    def trim(self) -> None:
        """Give the C heap's free pages back to the system (glibc's ``malloc_trim``)."""
        self.trim_due = False
        if not self._trimmer_found:
            self._trimmer_found = True
            try:
                import ctypes

                self.trimmer = ctypes.CDLL(None).malloc_trim
            except (OSError, AttributeError):  # not glibc
                self.trimmer = None
        if self.trimmer is not None:
            self.trims += 1
            self.trimmer(0)

    def _on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase != "stop" or info["generation"] != 2 or self.paused:
            return
        self.passes += 1
        if time.monotonic() - self.thawed_at > self.thaw_after:
            self.thaw()
            return
        # A full pass just ended: every generation is empty but the oldest, which holds what
        # survived. Freezing it now keeps exactly the survivors out of the next passes.
        gc.freeze()
        self.frozen = True
        self.freezes += 1
        self.frozen_live = max(self.frozen_live, self.live)


#: The process's policy.
COLLECTOR = Collector()


def collect_all() -> int:
    """Thaw what is frozen and collect every generation (:func:`gc.collect`, which leaves
    frozen objects alone), freezing nothing after: what a leak check wants, before it counts
    :func:`gc.get_objects`. Returns what :func:`gc.collect` does."""
    if gc.get_freeze_count():
        COLLECTOR.thaw()
    COLLECTOR.paused = True
    try:
        return gc.collect()
    finally:
        COLLECTOR.paused = False
