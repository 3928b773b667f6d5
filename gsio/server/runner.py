"""Event handlers run by a few shared greenlets, not each by its connection's own (gevent).

Handing every message to its connection's greenlet costs a queue and two greenlet switches per
message (half of gsio's own work on an echo). A :class:`Runner` instead takes the messages
that arrive during one turn of the event loop and runs their handlers one after another in one
greenlet: two switches per turn, however many messages it brought.

A handler that blocks (I/O, sleep, ``conn.call()``) blocks only its own connection: the
runner it blocks stays with it, and what else that runner had taken, and the next message from
any other connection, go to another runner (woken, or spawned): a runner that starts a handler
with others waiting behind it has the event loop check, when it next runs, whether they are
still waiting. Messages of one connection are handled in order, one at a time: those
that arrive while its handler is blocked wait in its backlog, which the blocked runner takes
once the handler returns. The connection's own greenlet ends once it connected (an idle
connection holds no greenlet): its end comes after the handlers of everything it received
before it closed, and then its ``disconnect`` handlers run, in a greenlet spawned for them.
"""

from __future__ import annotations

import logging
import queue
from collections import deque
from typing import Any, Callable

from gsio.io.concurrency import Concurrency
from gsio.server.conn import Conn
from gsio.server.message import Message

__all__ = ["Runner", "runner_for", "handle_event"]

log = logging.getLogger("gsio.socket")

#: Runners kept waiting for work; more, spawned while handlers blocked, end when idle.
_KEEP_IDLE = 2


class Routed:
    """A connection's inbox once a runner serves it: what is put in it (its events, then the
    end that ``Conn.close()`` puts) goes to the runner; ``get()`` waits for the end."""

    __slots__ = ("runner", "conn", "busy", "backlog", "end", "done", "on_end")

    def __init__(self, runner: Runner, conn: Conn, on_end: Callable[[], Any]) -> None:
        self.runner = runner
        self.conn: Conn | None = conn
        self.on_end: Callable[[], Any] | None = on_end  # told once the end was reached
        self.busy = False  # a runner is in one of its handlers
        self.backlog: list[Any] | None = None  # what arrived meanwhile
        self.end: Any = None  # the end, once the runner reached it
        self.done: Any = None  # an event set then, made for whoever waits for it

    def put(self, item: Any) -> None:
        """Have ``item`` handled by the runner (never blocks)."""
        runner = self.runner
        ready = runner._ready
        ready.append(self)
        ready.append(item)
        if not runner._waking:
            runner._wake()

    def qsize(self) -> int:
        return 0

    def get(self, timeout: float | None = None) -> Any:
        """The end, once every event before it was handled (what ``receive()`` returns here:
        the events themselves go to the handlers)."""
        if self.end is None:
            if self.done is None:
                self.done = self.runner._c.event()
            if not self.done.wait(timeout):
                raise queue.Empty
        return self.end

    def ended(self, end: Any) -> None:
        self.end = end
        # The connection holds this inbox: without the way back, a closed connection is freed
        # by reference counting, not left in a cycle. (Nothing after the end is handled.)
        self.conn = None
        if self.done is not None:
            self.done.set()
        on_end, self.on_end = self.on_end, None
        if on_end is not None:
            on_end()


class Runner:
    """Runs ``handle(conn, message)`` for the events of the connections it serves, in shared
    greenlets (see the module's docstring). One per event loop (:func:`runner_for`)."""

    __slots__ = ("_c", "_handle", "_ready", "_idle", "_waking", "_watching")

    def __init__(self, concurrency: Concurrency, handle: Callable[[Any, Any], None]) -> None:
        self._c = concurrency
        self._handle = handle
        self._ready: deque[Any] = deque()  # inbox, item, inbox, item...
        self._idle: list[Any] = []  # the events idle runners wait on
        self._waking = False  # a runner will look at _ready without waiting for anything else
        self._watching = False  # a rescue() is due when the running runner next yields

    def take_over(self, conn: Conn, on_end: Callable[[], Any]) -> None:
        """Serve ``conn`` from now on: what waits in its inbox already comes first; once its
        end was reached (every event before it handled), ``on_end()``."""
        inbox = conn._inbox
        routed = Routed(self, conn, on_end)
        while inbox.qsize():
            routed.put(inbox.get())
        conn._inbox = routed
        conn._wire()  # (its deliver puts into the new inbox)

    def _wake(self) -> None:
        self._waking = True
        idle = self._idle
        if idle:
            idle.pop().set()
        else:
            self._c.spawn(self._run)

    def _rescue(self) -> None:
        """The event loop runs: the runner that armed this yielded in the middle of a batch
        (a handler blocked). What it had not reached goes to another runner."""
        self._watching = False
        if self._ready and not self._waking:
            self._wake()

    def _run(self) -> None:
        ready = self._ready
        idle = self._idle
        handle = self._handle
        while True:
            self._waking = False
            while ready:
                routed = ready.popleft()
                item = ready.popleft()
                if routed.busy:  # its handler is blocked in another runner: after that one
                    if routed.backlog is None:
                        routed.backlog = []
                    routed.backlog.append(item)
                    continue
                routed.busy = True
                if ready and not self._watching:  # others wait behind this handler
                    self._watching = True
                    self._c.call_soon(self._rescue)
                try:
                    conn = routed.conn
                    if type(item) is Message and conn is not None:  # (_one, made short)
                        if conn._any_in is not None:
                            _tell_listeners(conn, item)
                        handle(conn, item)
                    else:
                        self._one(routed, item)
                    backlog = routed.backlog
                    while backlog:
                        self._one(routed, backlog.pop(0))
                finally:
                    routed.busy = False
                    conn = None  # (an idle runner's frame must not keep a closed connection)
            if len(idle) >= _KEEP_IDLE:
                return
            wake = self._c.light_event()
            idle.append(wake)
            wake.wait()

    def _one(self, routed: Routed, item: Any) -> None:
        if type(item) is Message:
            conn = routed.conn
            if conn is not None:  # (None once the end was handled)
                if conn._any_in is not None:
                    _tell_listeners(conn, item)
                self._handle(conn, item)
        else:  # the end
            routed.ended(item)


_runners: dict[int, Runner] = {}


def runner_for(concurrency: Concurrency, handle: Callable[[Any, Any], None]) -> Runner:
    """The runner of ``concurrency``'s event loop; ``handle`` is the same for all callers."""
    runner = _runners.get(id(concurrency))
    if runner is None:
        runner = _runners[id(concurrency)] = Runner(concurrency, handle)
    return runner


def handle_event(conn: Conn, message: Message[Conn]) -> None:
    """Call the handler of one event from ``conn`` and answer its ack (the event-handler API)."""
    namespace = conn.namespace
    handlers = namespace.handlers  # type: ignore[attr-defined]
    fn = handlers.get(message.event)
    args = message.args
    if fn is None:
        fn = handlers.get("*")
        if fn is None:
            return
        args = [message.event, *args]
    try:
        takes_ack = namespace._ack_params.get(fn)  # type: ignore[attr-defined]
        if takes_ack is None:
            takes_ack = namespace._takes_ack(fn)  # type: ignore[attr-defined]
        if takes_ack:
            fn(conn, *args, ack=message.reply)
            return
        result = fn(conn, *args)
    except Exception:
        log.exception("%s: handler for %r failed", conn.id, message.event)
        return
    if message.id is not None and not message._replied:
        # The handler's return value is the ack's arguments: none, a tuple's items, or itself.
        if result is None:
            message.reply()
        elif isinstance(result, tuple):
            message.reply(*result)
        else:
            message.reply(result)


def _tell_listeners(conn: Conn, message: Message[Conn]) -> None:
    """The ``conn.on_any()`` listeners, told of an event before its handler runs (as
    ``receive()`` tells them)."""
    for fn in conn._any_in or ():
        conn._tell(fn, message.event, message.args)
