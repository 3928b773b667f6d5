"""Spawn, queues, events, locks and timers: gevent's when gevent runs, threading's otherwise.

This is the only module that imports gevent or threading; everything else asks a
:class:`Concurrency` for what it needs. :func:`select` picks one:

- ``"gevent"``: greenlets. Timers are libev watchers: no greenlet is spawned for a timer, and its
  callback runs in the hub, so it must not block (queue or spawn, never write to a socket).
  :meth:`Concurrency.call_soon_threadsafe` lets real OS threads hand work to the hub.
- ``"threading"``: OS threads, with one scheduler thread for all timers.
- ``None`` / ``"auto"``: gevent when gevent has monkey-patched the ``socket`` module (gunicorn's
  gevent workers, ``gsio serve``), threading otherwise (werkzeug's server, gunicorn gthread).
"""

from __future__ import annotations

import functools
import heapq
import itertools
import logging
import queue
import sys
import time
from typing import Any, Callable

from gsio.io.green import GreenEvent, GreenQueue, Wakes

__all__ = ["Concurrency", "select"]

#: Seconds a greenlet may hold the event loop before :meth:`Concurrency.pause` lets it run.
PAUSE_AFTER = 0.1

log = logging.getLogger("gsio.concurrency")


class Timer:
    """A handle on a scheduled callback; :meth:`cancel` is idempotent."""

    __slots__ = ("_cancel",)

    def __init__(self, cancel: Callable[[], None]) -> None:
        self._cancel = cancel

    def cancel(self) -> None:
        self._cancel()


class _WatcherHandle(Timer):
    """A :class:`Timer` on a libev watcher (one object fewer than a bound ``close``)."""

    __slots__ = ("_watcher",)

    def __init__(self, watcher: Any) -> None:
        self._watcher = watcher

    def cancel(self) -> None:
        self._watcher.close()


class Concurrency:
    """What a mode provides. ``name`` is ``"gevent"`` or ``"threading"``."""

    name = ""
    monotonic = staticmethod(time.monotonic)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        raise NotImplementedError

    def queue(self) -> Any:
        """An unbounded FIFO with ``put``, ``get(timeout=None)`` (raises :exc:`queue.Empty`)."""
        raise NotImplementedError

    def event(self) -> Any:
        raise NotImplementedError

    def light_event(self) -> Any:
        """An event (``set``, ``clear``, ``is_set``, ``wait(timeout)``) cheaper to wait on,
        set only from the event loop's own thread: a waiting long-poll's."""
        return self.event()

    def lock(self) -> Any:
        raise NotImplementedError

    def state_lock(self) -> Any:
        """A reentrant lock for sections that never block or yield (state changes only): under
        gevent it excludes other OS threads, and costs what a C lock costs, since greenlets
        never switch inside such a section."""
        raise NotImplementedError

    def sleep(self, seconds: float) -> None:
        raise NotImplementedError

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        """Run ``fn()`` after ``delay`` seconds; it must return quickly and never block."""
        raise NotImplementedError

    def call_soon(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` once the current greenlet (thread) yields; like a timer callback, it must
        not block. Calls run in their order."""
        raise NotImplementedError

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        """Run ``fn()`` soon in this mode's own context; callable from any OS thread. Like a
        timer callback, ``fn`` must not block. Calls from one thread run in their order."""
        raise NotImplementedError

    def in_home_thread(self) -> bool:
        """False in an OS thread that must hand work over with :meth:`call_soon_threadsafe`."""
        return True

    def pause(self) -> None:
        """Between the steps of a long run of work (broadcasts): let the event loop run its
        timers (heartbeats) and other connections once the caller has held it for
        :data:`PAUSE_AFTER` seconds. Never where the caller may not yield (the event loop
        itself, another OS thread); threads need no pause."""

    def read_waiter(self, sock: Any) -> Callable[[], None]:
        """A callable that waits until ``sock`` has something to read (or is closed)."""
        raise NotImplementedError

    def watch_read(self, fileno: int, fn: Callable[[], None]) -> Timer:
        """Call ``fn()`` each time the file descriptor has something to read (or is closed),
        until the returned handle is cancelled. Like a timer callback, ``fn`` must not block."""
        raise NotImplementedError

    def wait_write(self, fileno: int) -> None:
        """Wait until the file descriptor can be written to."""
        raise NotImplementedError

    def run_in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Run ``fn(*args)`` in an OS thread and return its result (or raise its exception),
        blocking only the caller: for CPU work that releases the GIL (a password hash), which
        would stall every greenlet if run in the event loop's thread. In threading mode the
        caller is an OS thread already: ``fn`` runs there."""
        return fn(*args)


class GeventConcurrency(Concurrency):
    name = "gevent"

    def __init__(self) -> None:
        import gevent
        import gevent.event
        import gevent.lock
        import gevent.socket
        from gevent import monkey
        from gevent.hub import Waiter

        class Greenlet(gevent.Greenlet):
            # gevent records the 10 frames that spawned each greenlet, for debugging: 10
            # objects and 1.5 KiB per connection here, for a stack that is always the same.
            spawning_stack_limit = 0

        self._Greenlet = Greenlet
        self._StateLock = monkey.get_original("_thread", "RLock")
        self._gevent = gevent
        self._Waiter = Waiter
        self._Event = gevent.event.Event
        self._Lock = gevent.lock.RLock
        self._hub = gevent.get_hub()
        self._main_ident = monkey.get_original("_thread", "get_ident")()
        self._get_ident = monkey.get_original("_thread", "get_ident")
        self._pending: list[Callable[[], None]] = []
        self._async = self._hub.loop.async_(ref=False)
        self._async.start(self._run_pending)
        self._getcurrent = gevent.getcurrent
        self._wakes = Wakes(self._hub.loop)  # (one per event loop: its queues' batches)
        self._busy_since: float | None = None  # the loop has not run since (see pause)

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self._Greenlet.spawn(fn, *args)

    def queue(self) -> Any:
        return GreenQueue(self._wakes, self._Waiter, self._getcurrent, self._hub)

    def event(self) -> Any:
        return self._Event()

    def light_event(self) -> Any:
        return GreenEvent(self._hub.loop, self._Waiter)

    def lock(self) -> Any:
        return self._Lock()

    def state_lock(self) -> Any:
        return self._StateLock()

    def sleep(self, seconds: float) -> None:
        self._gevent.sleep(seconds)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        watcher = self._hub.loop.timer(max(delay, 0.0))
        watcher.start(fn)
        return _WatcherHandle(watcher)

    def call_soon(self, fn: Callable[[], None]) -> None:
        self._hub.loop.run_callback(fn)

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        self._pending.append(fn)  # list.append is atomic under the GIL
        self._async.send()

    def in_home_thread(self) -> bool:
        return self._get_ident() == self._main_ident

    def pause(self) -> None:
        if not self.in_home_thread():  # (the loop is not this thread's to touch)
            return
        since = self._busy_since
        if since is None:
            self._busy_since = self.monotonic()
            self._hub.loop.run_callback(self._loop_ran)  # runs once the caller yields
        elif self.monotonic() - since >= PAUSE_AFTER and self._getcurrent() is not self._hub:
            self._busy_since = None
            # A timer, not sleep(0): that one resumes the caller before the loop looks at its
            # timers and sockets.
            self._gevent.sleep(1e-6)

    def _loop_ran(self) -> None:
        self._busy_since = None

    def read_waiter(self, sock: Any) -> Callable[[], None]:
        # gevent's sockets wait on their own read watcher (what their recv() does on EAGAIN);
        # anything else gets a watcher per wait.
        wait = getattr(sock, "_wait", None)
        event = getattr(sock, "_read_event", None)
        if wait is not None and event is not None:
            return functools.partial(wait, event)
        wait_read = self._gevent.socket.wait_read
        fileno = sock.fileno()
        return lambda: wait_read(fileno)

    def watch_read(self, fileno: int, fn: Callable[[], None]) -> Timer:
        watcher = self._hub.loop.io(fileno, 1)  # 1: readable
        watcher.start(fn)
        return _WatcherHandle(watcher)

    def wait_write(self, fileno: int) -> None:
        self._gevent.socket.wait_write(fileno)

    def run_in_thread(self, fn: Callable[..., Any], *args: Any) -> Any:
        def call() -> tuple[bool, Any]:
            # Caught here: gevent's pool would print the traceback of what it sees raised.
            try:
                return True, fn(*args)
            except BaseException as exc:
                return False, exc

        ok, value = self._hub.threadpool.apply(call)
        if not ok:
            raise value
        return value

    def _run_pending(self) -> None:
        pending, self._pending = self._pending, []
        for fn in pending:
            try:
                fn()
            except Exception:
                log.exception("handed-over call failed")


class ThreadingConcurrency(Concurrency):
    name = "threading"

    def __init__(self) -> None:
        import threading

        self._threading = threading
        self._queue_mod = queue
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, list[Callable[[], None] | None]]] = []
        self._counter = itertools.count()
        self._scheduler: threading.Thread | None = None

    def spawn(self, fn: Callable[..., Any], *args: Any) -> Any:
        thread = self._threading.Thread(target=fn, args=args, daemon=True)
        thread.start()
        return thread

    def queue(self) -> Any:
        return self._queue_mod.Queue()

    def event(self) -> Any:
        return self._threading.Event()

    def lock(self) -> Any:
        return self._threading.RLock()

    def state_lock(self) -> Any:
        return self._threading.RLock()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)

    def call_later(self, delay: float, fn: Callable[[], None]) -> Timer:
        entry: list[Callable[[], None] | None] = [fn]  # [None] once cancelled
        with self._cond:
            heapq.heappush(
                self._heap, (time.monotonic() + max(delay, 0.0), next(self._counter), entry)
            )
            if self._scheduler is None:
                self._scheduler = self._threading.Thread(
                    target=self._run_timers, name="gsio-timers", daemon=True
                )
                self._scheduler.start()
            self._cond.notify()
        return Timer(functools.partial(entry.__setitem__, 0, None))

    def call_soon(self, fn: Callable[[], None]) -> None:
        self.call_later(0.0, fn)

    def call_soon_threadsafe(self, fn: Callable[[], None]) -> None:
        fn()

    def _run_timers(self) -> None:
        while True:
            with self._cond:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    timeout = self._heap[0][0] - time.monotonic() if self._heap else None
                    self._cond.wait(timeout)
                _, _, entry = heapq.heappop(self._heap)
            fn = entry[0]
            if fn is not None:
                try:
                    fn()
                except Exception:  # a timer callback's bug must not stop every other timer
                    log.exception("timer callback failed")


_instances: dict[str, Concurrency] = {}


def gevent_active() -> bool:
    """True when gevent has monkey-patched the socket module in this process."""
    monkey = sys.modules.get("gevent.monkey")
    return bool(monkey and monkey.is_module_patched("socket"))


def select(mode: str | None = None) -> Concurrency:
    """Return the shared :class:`Concurrency` for ``mode`` ("gevent", "threading" or auto)."""
    if mode in (None, "auto"):
        mode = "gevent" if gevent_active() else "threading"
    if mode not in ("gevent", "threading"):
        raise ValueError(f"async_mode must be 'gevent', 'threading' or None, not {mode!r}")
    instance = _instances.get(mode)
    if instance is None:
        instance = GeventConcurrency() if mode == "gevent" else ThreadingConcurrency()
        _instances[mode] = instance
    return instance
