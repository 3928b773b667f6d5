"""The queue and event of :class:`gsio.io.concurrency.GeventConcurrency`: gevent's own, made
lighter for what gsio does with them. They are given gevent's event loop and its ``Waiter``
(and ``Timeout``) by :mod:`gsio.io.concurrency`, and import nothing of gevent's themselves."""

from __future__ import annotations

import queue
from typing import Any, Callable

__all__ = ["GreenQueue", "GreenEvent"]


class GreenQueue:
    """An unbounded FIFO for greenlets: what gevent's ``Queue`` does for ``put`` and ``get``,
    in a tenth of its memory (a connection's inbox is one of these) and no slower.

    ``put`` never blocks; ``get(timeout=None)`` waits, raising :exc:`queue.Empty` on timeout.
    Getters are woken from the event loop, in order, as gevent's queue does it.
    """

    __slots__ = ("_items", "_head", "_getters", "_loop", "_waiter", "_timeout")

    def __init__(self, loop: Any, waiter: Callable[[], Any], timeout: Any) -> None:
        self._items: list[Any] = []
        self._head = 0  # items before this index were taken
        self._getters: list[Any] = []  # the Waiter of each greenlet waiting in get()
        self._loop = loop
        self._waiter = waiter
        self._timeout = timeout

    def qsize(self) -> int:
        return len(self._items) - self._head

    def put(self, item: Any) -> None:
        self._items.append(item)
        getters = self._getters
        if getters:
            # The first waiting getter resumes from the event loop. If it has timed out by
            # then, the item waits for the next get().
            waiter = getters.pop(0)
            self._loop.run_callback(waiter.switch, waiter)

    def get(self, timeout: float | None = None) -> Any:
        while True:
            items = self._items
            head = self._head
            if head < len(items):
                item = items[head]
                if head + 1 == len(items):
                    items.clear()
                    self._head = 0
                else:
                    items[head] = None
                    self._head = head + 1
                return item
            if timeout is not None and timeout <= 0:
                raise queue.Empty
            waiter = self._waiter()
            timer = None if timeout is None else self._timeout.start_new(timeout, queue.Empty)
            try:
                self._getters.append(waiter)
                waiter.get()
            finally:
                if timer is not None:
                    timer.close()
                if waiter in self._getters:
                    self._getters.remove(waiter)


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
