"""The queue and event of :class:`gsio.io.concurrency.GeventConcurrency`: gevent's own, made
lighter for what gsio does with them. They are given gevent's event loop, hub and ``Waiter``
by :mod:`gsio.io.concurrency`, and import nothing of gevent's themselves."""

from __future__ import annotations

import queue
from collections import deque
from typing import Any, Callable

__all__ = ["GreenQueue", "GreenEvent", "Wakes"]


class Wakes:
    """The greenlets to resume from the event loop, taken in batches: one loop callback for all
    the queues that got an item since the last batch, rather than one callback each.

    A greenlet that parks while a batch is running hands the loop straight to the next greenlet
    of that batch (one switch, where going back through the loop is two). What is added during
    a batch waits for the next one (its own loop callback): timers and sockets run between
    batches, so a stream of deliveries cannot hold the loop.
    """

    __slots__ = ("ready", "current", "_loop", "_due")

    def __init__(self, loop: Any) -> None:
        self.ready: deque[GreenQueue] = deque()  # the next batch
        self.current: deque[GreenQueue] = deque()  # what is left of the running batch
        self._loop = loop
        self._due = False  # a callback will run the next batch

    def add(self, q: GreenQueue) -> None:
        self.ready.append(q)
        if not self._due:
            self._due = True
            self._loop.run_callback(self._run)

    def _run(self) -> None:
        self._due = False
        batch = self.current = self.ready
        self.ready = deque()
        try:
            while batch:
                parked = batch.popleft()._parked
                if parked is not None:
                    parked.switch()  # returns once a greenlet of the batch goes back to the loop
        finally:
            if batch:  # (a raw greenlet's exception ended the run: the rest go next time)
                self.ready.extendleft(reversed(batch))
                batch.clear()
                if not self._due:
                    self._due = True
                    self._loop.run_callback(self._run)


_EXPIRED = object()  # what a greenlet parked in get(timeout) is resumed with by its timer


class GreenQueue:
    """An unbounded FIFO for greenlets: what gevent's ``Queue`` does for ``put`` and ``get``,
    in a tenth of its memory (a connection's inbox is one of these) and at a third of the cost
    of handing an item over.

    ``put`` never blocks; ``get(timeout=None)`` waits, raising :exc:`queue.Empty` on timeout.
    One getter at a time parks without a ``Waiter``: it is resumed by the batch of
    :class:`Wakes` (never while it is parked anywhere else: a resume checks that it is still
    parked here). Other getters wait on a ``Waiter`` each, woken in order, as gevent's queue.
    """

    __slots__ = (
        "_items",
        "_head",
        "_parked",
        "_woken",
        "_getters",
        "_wakes",
        "_loop",
        "_waiter",
        "_getcurrent",
        "_hub_switch",
    )

    def __init__(
        self, wakes: Wakes, waiter: Callable[[], Any], getcurrent: Callable[[], Any], hub: Any
    ) -> None:
        self._items: list[Any] = []
        self._head = 0  # items before this index were taken
        self._parked: Any = None  # the greenlet parked in get(), while it is
        self._woken = False  # its resume is due (in a batch, or by its timer)
        self._getters: list[Any] = []  # the Waiter of each other greenlet waiting in get()
        self._wakes = wakes
        self._loop = wakes._loop
        self._waiter = waiter
        self._getcurrent = getcurrent
        self._hub_switch = hub.switch

    def qsize(self) -> int:
        return len(self._items) - self._head

    def put(self, item: Any) -> None:
        self._items.append(item)
        if self._parked is not None and not self._woken:
            self._woken = True
            wakes = self._wakes  # (Wakes.add, inlined: once per message)
            wakes.ready.append(self)
            if not wakes._due:
                wakes._due = True
                self._loop.run_callback(wakes._run)
        elif self._getters:
            # The first other getter resumes from the event loop. If it has timed out by
            # then, the item waits for the next get().
            waiter = self._getters.pop(0)
            self._loop.run_callback(waiter.switch, waiter)

    def get(self, timeout: float | None = None) -> Any:
        items = self._items
        if self._head >= len(items):
            self._wait(timeout)
        head = self._head
        item = items[head]
        if head + 1 == len(items):
            items.clear()
            self._head = 0
        else:
            items[head] = None
            self._head = head + 1
        return item

    def _wait(self, timeout: float | None) -> None:
        """Return once an item is there (parked until then); raise :exc:`queue.Empty` when
        ``timeout`` passes first."""
        if timeout is not None and timeout <= 0:
            raise queue.Empty
        current = self._getcurrent()
        if self._parked is not None and self._parked is not current:
            self._wait_behind(timeout)
            return
        items = self._items
        timer = None
        if timeout is not None:
            timer = self._loop.timer(timeout)
            timer.start(self._expire, current)
        try:
            while True:
                self._parked = current
                self._woken = False
                try:
                    # Leave this greenlet for the next one of the running batch, or for the
                    # event loop (Wakes); ``resumed`` is what it is resumed with.
                    batch = self._wakes.current
                    while batch:
                        parked = batch.popleft()._parked
                        if parked is not None:
                            resumed = parked.switch()
                            break
                    else:
                        resumed = self._hub_switch()
                finally:
                    self._parked = None
                if self._head < len(items):
                    return
                if resumed is _EXPIRED:
                    raise queue.Empty
        except BaseException:
            if self.qsize() and self._getters:  # (killed with an item due: it goes on)
                waiter = self._getters.pop(0)
                self._loop.run_callback(waiter.switch, waiter)
            raise
        finally:
            if timer is not None:
                timer.close()

    def _expire(self, greenlet: Any) -> None:
        # An item that arrived first wins: its resume is due already.
        if self._parked is greenlet and not self._woken:
            self._woken = True
            greenlet.switch(_EXPIRED)

    def _wait_behind(self, timeout: float | None) -> None:
        """_wait() for a greenlet that finds another one parked here already."""
        while True:
            if self.qsize():
                return
            waiter = self._waiter()
            timer = None
            if timeout is not None:
                timer = self._loop.timer(timeout)
                timer.start(waiter.switch, _EXPIRED)
            self._getters.append(waiter)
            try:
                resumed = waiter.get()
            finally:
                if timer is not None:
                    timer.close()
                if waiter in self._getters:
                    self._getters.remove(waiter)
            if resumed is _EXPIRED and not self.qsize():
                raise queue.Empty


class GreenEvent:
    """gevent's ``Event`` reduced to what a waiting long-poll needs (``set``, ``clear``,
    ``is_set``, ``wait``), without the machinery of gevent's, which costs a ``Timeout`` (an
    exception object) and several callbacks per wait: a poll waits once per request."""

    __slots__ = ("_flag", "_waiters", "_loop", "_waiter")

    def __init__(self, loop: Any, waiter: Callable[[], Any]) -> None:
        self._flag = False
        self._waiters: list[Any] = []
        self._loop = loop
        self._waiter = waiter

    def is_set(self) -> bool:
        return self._flag

    def set(self) -> None:
        self._flag = True
        waiters = self._waiters
        if waiters:
            self._waiters = []
            for waiter in waiters:
                self._loop.run_callback(waiter.switch, True)

    def clear(self) -> None:
        self._flag = False

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until set; True if it is, False once ``timeout`` seconds passed first."""
        if self._flag:
            return True
        waiter = self._waiter()
        timer = None
        if timeout is not None:
            timer = self._loop.timer(max(timeout, 0.0))
            timer.start(waiter.switch, False)
        self._waiters.append(waiter)
        try:
            # A switch that comes after the wait is over (the timer and set() at once) finds
            # the waiter done with and is kept in it, unseen.
            return bool(waiter.get()) or self._flag
        finally:
            if timer is not None:
                timer.close()
            if waiter in self._waiters:
                self._waiters.remove(waiter)
