"""Namespaces: their handlers, middleware, connections and adapter.

A namespace is served either by a blocking handler (``@nsp.handler``: one call per
connection, looping on ``conn.receive()``) or by event handlers (``@nsp.on("chat")``), which
are a loop over the same ``conn.receive()``. ``connect`` and ``disconnect`` handlers and
middleware work with both.
"""

from __future__ import annotations

import inspect
import itertools
import logging
import re
from collections.abc import Iterator
from contextlib import AbstractContextManager
from typing import Any, Callable, Optional, Protocol

from gsio.exceptions import ConnectionClosed, ConnectionRefused
from gsio.protocol.socketio import RESERVED_EVENTS
from gsio.server.adapter import Adapter
from gsio.server.broadcast import Broadcasting, BroadcastOperator, wait_for_answers
from gsio.server.conn import Conn
from gsio.server.interfaces import ServerCore
from gsio.server.parked import Parked
from gsio.server.runner import handle_event, runner_for

__all__ = ["Namespace", "NamespaceServer", "ParentNamespace"]

log = logging.getLogger("gsio.socket")

Handler = Callable[..., Any]

#: ``context(conn)``: the context manager each connection's handlers run inside.
Context = Optional[Callable[[Conn], AbstractContextManager[Any]]]


class NamespaceServer(ServerCore, Protocol):
    """What a namespace uses of its :class:`~gsio.server.Server`."""

    @property
    def context(self) -> Context: ...

    @property
    def adapter_factory(self) -> Callable[[Namespace], Adapter]: ...

    @property
    def namespaces(self) -> dict[str, Namespace]:
        """The server's namespaces by name (a dynamic namespace adds its children)."""
        ...

    @property
    def cleanup_empty_child_namespaces(self) -> bool: ...


class Namespace(Broadcasting):
    """A Socket.IO namespace. Get one with ``sio.of("/chat")``, or subclass it and define
    ``on_<event>`` methods (``on_connect``, ``on_chat``, ...), then ``sio.register(Chat("/chat"))``.

    Its broadcasting methods (``emit``, ``to``, ``volatile``, ``fetch_sockets`` ...) are
    :class:`~gsio.server.broadcast.Broadcasting`'s, reaching every connection of the namespace.
    """

    server: NamespaceServer  # from bind() on
    adapter: Adapter  # from bind() on (a dynamic namespace's children have one each)

    def __init__(self, name: str = "/") -> None:
        self.name = name
        self.conns: dict[str, Conn] = {}
        self.handlers: dict[str, Handler] = {}
        self.middlewares: list[Handler] = []
        self.blocking: Handler | None = None
        self.server_side_handlers: dict[str, Handler] = {}
        #: Blocking handlers' connections whose client is away (recovery on).
        self.parked = Parked(self)
        self.parent: ParentNamespace | None = None  # a dynamic namespace's child's
        self._ack_ids = itertools.count(0)
        self._ack_params: dict[Handler, bool] = {}
        for attr in _handler_methods(type(self)):
            self.handlers[attr[3:]] = getattr(self, attr)

    def bind(self, server: NamespaceServer) -> None:
        """Attach to a server (done by ``sio.of()`` and ``sio.register()``)."""
        self.server = server
        self.adapter = server.adapter_factory(self)

    def targets(self) -> Iterator[Namespace]:
        yield self

    def next_ack_id(self) -> int:
        return next(self._ack_ids)

    # -- registering handlers -------------------------------------------------------------

    def on(self, event: str, handler: Handler | None = None) -> Any:
        """Register a handler for ``event``; usable as ``@nsp.on("chat")``.

        - ``connect``: ``fn(conn, auth)`` (or ``fn(conn)``) runs before the client is answered;
          raise :class:`~gsio.ConnectionRefused` (or return False) to refuse it.
        - ``disconnect``: ``fn(conn, reason)`` (or ``fn(conn)``) runs once the client is gone.
        - ``disconnecting``: ``fn(conn, reason)`` runs just before, while ``conn.rooms`` holds.
        - ``*``: ``fn(conn, event, *args)``, for events without a handler of their own.
        - any other event: ``fn(conn, *args)``. If the client asked for an ack, the return value
          answers it (a tuple for several arguments); a handler with an ``ack`` parameter is
          passed ``ack(*args)`` to call instead, at most once, whenever it likes.
        """

        def register(fn: Handler) -> Handler:
            self.handlers[event] = fn
            return fn

        return register(handler) if handler is not None else register

    def handler(self, fn: Handler) -> Handler:
        """Serve every connection with ``fn(conn)``, called in a greenlet of the connection's own
        after it connected; when ``fn`` returns, the client is disconnected."""
        self.blocking = fn
        return fn

    def use(self, fn: Handler) -> Handler:
        """Add middleware ``fn(conn)``, run in order before ``connect``; raise
        :class:`~gsio.ConnectionRefused` to refuse the client (it gets CONNECT_ERROR)."""
        self.middlewares.append(fn)
        return fn

    def on_server_side(self, event: str, handler: Handler | None = None) -> Any:
        """Register ``fn(*args)`` for ``event`` emitted by another server of the cluster with
        :meth:`server_side_emit` (or Node's ``io.serverSideEmit``); usable as a decorator. It
        runs in a greenlet of its own; if the sender waits for answers, the return value is
        this server's answer."""

        def register(fn: Handler) -> Handler:
            self.server_side_handlers[event] = fn
            return fn

        return register(handler) if handler is not None else register

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Emit ``event`` to the other servers of the cluster (not to clients)."""
        _check_server_side(event)
        self.adapter.server_side_emit(event, list(args))

    def server_side_call(self, event: str, *args: Any, timeout: float | None = None) -> list:
        """Emit ``event`` to the other servers and wait for every one's answer; returns them.
        Raises :class:`~gsio.ClusterTimeout` past ``timeout`` (default: the adapter's request
        timeout), with the answers that came as ``.responses``."""
        _check_server_side(event)
        return wait_for_answers(
            self.server.concurrency,
            lambda finished: self.adapter.server_side_emit(event, list(args), finished, timeout),
        )

    def receive_server_side(self, args: list, reply: Callable[[Any], None] | None) -> None:
        """Run the handler for a server-side event that arrived (called by the adapter)."""
        if not args or not isinstance(args[0], str):
            return
        fn = self.server_side_handlers.get(args[0])
        if fn is None:
            log.debug("server-side event %r on %s has no handler", args[0], self.name)
            return

        def run() -> None:
            try:
                result = fn(*args[1:])
            except Exception:
                log.exception("server-side handler for %r failed", args[0])
                return
            if reply is not None:
                reply(result)

        self.server.concurrency.spawn(run)

    # -- broadcasting ------------------------------------------------------------------------

    @property
    def _all(self) -> BroadcastOperator:
        return BroadcastOperator(self)

    # -- running a connection ----------------------------------------------------------------

    def run(self, conn: Conn) -> None:
        """The life of one connection, in its own greenlet: middleware, connect, the handler
        (blocking or the event loop), then disconnecting/disconnect; all of it inside the
        server's ``context(conn)``, if it has one. A client that recovers its session becomes
        that session's connection first (or, for a blocking handler still waiting for it,
        gives that connection its new transport)."""
        restored = self.parked.recover(conn)
        if restored is not None:
            waiting = self.parked.take(restored.session.pid)
            if waiting is not None:
                self.parked.resume(waiting, conn, restored)
                return
            conn.restore(restored)
        self.conns[conn.id] = conn
        context = self.server.context
        ended = True
        try:
            if context is None:
                ended = self._live(conn)
            else:
                with context(conn):
                    self._live(conn)
        except Exception:
            log.exception("%s: context of %s failed", conn.id, self.name)
        finally:
            if ended:
                self._leave(conn)

    def _leave(self, conn: Conn) -> None:
        self.parked.leave(conn)
        if self._owns_id(conn):
            self.adapter.delete_all(conn.id)
            del self.conns[conn.id]
        if not self.conns and self.parent and self.server.cleanup_empty_child_namespaces:
            self.parent.remove(self)

    def _owns_id(self, conn: Conn) -> bool:
        # A recovered connection may have taken the id over already: its rooms are its own.
        return self.conns.get(conn.id) is conn

    def _live(self, conn: Conn) -> bool:
        """Connect, handle, disconnect; False if the shared runners took the connection over
        (gevent, event handlers, no ``context``): its greenlet ends here, and the runners have
        its end run in a greenlet of its own (:meth:`_end`)."""
        if not self._connect(conn):
            return True
        conn.accept()
        self.parked.enter(conn)
        c = self.server.concurrency
        if self.blocking is None and c.name == "gevent" and self.server.context is None:
            runner_for(c, handle_event).take_over(conn, lambda: c.spawn(self._end, conn))
            return False
        try:
            (self.blocking or self._dispatch)(conn)
        except ConnectionClosed:
            pass
        except Exception:
            log.exception("%s: handler of %s failed", conn.id, self.name)
        self._ended(conn)
        return True

    def _end(self, conn: Conn) -> None:
        try:
            self._ended(conn)
        finally:
            self._leave(conn)

    def _ended(self, conn: Conn) -> None:
        conn.disconnect()
        self._call("disconnecting", conn, conn.closed_reason)
        if self._owns_id(conn):
            self.adapter.delete_all(conn.id)
        self._call("disconnect", conn, conn.closed_reason)

    # -- connection state recovery: see gsio.server.parked ------------------------------------

    def park(self, conn: Conn, reason: str) -> bool:
        return self.parked.park(conn, reason)

    def unpark(self, conn: Conn) -> None:
        self.parked.unpark(conn)

    def _connect(self, conn: Conn) -> bool:
        recovery = self.server.recovery
        skip = conn.recovered and recovery is not None and recovery.skip_middlewares
        try:
            for middleware in () if skip else self.middlewares:
                middleware(conn)
            connect = self.handlers.get("connect")
            if connect is not None:
                args = (conn, conn.handshake.auth)[: _positional_count(connect, 2)]
                if connect(*args) is False:
                    raise ConnectionRefused("Connection refused")
        except ConnectionRefused as exc:
            log.debug("%s: %s refused (%s)", conn.id, self.name, exc.message)
            conn.refuse(exc)
            return False
        except Exception:
            log.exception("%s: connect handler of %s failed", conn.id, self.name)
            conn.refuse(ConnectionRefused("Internal server error"))
            return False
        return True

    def _call(self, event: str, conn: Conn, *args: Any) -> None:
        fn = self.handlers.get(event)
        if fn is None:
            return
        try:
            fn(*(conn, *args)[: _positional_count(fn, 1 + len(args))])
        except Exception:
            log.exception("%s: %s handler of %s failed", conn.id, event, self.name)

    def _dispatch(self, conn: Conn) -> None:
        """The event-handler API in threading mode, or inside a ``context(conn)`` (Flask's,
        greenlet-local): a loop over ``conn.receive()`` in the connection's own greenlet
        (under gevent otherwise, the shared runners: :meth:`_live`)."""
        while True:
            try:
                message = conn.receive()  # (not bound once: conn.on_any() rebinds it)
            except ConnectionClosed:
                return
            handle_event(conn, message)

    def _takes_ack(self, fn: Handler) -> bool:
        takes = self._ack_params.get(fn)
        if takes is None:
            try:
                takes = "ack" in inspect.signature(fn).parameters
            except (TypeError, ValueError):
                takes = False
            self._ack_params[fn] = takes
        return takes


class ParentNamespace(Namespace):
    """A dynamic namespace: every name that ``matcher`` accepts becomes a child namespace that
    shares this one's handlers and middleware. ``emit`` and the other broadcasts reach every
    child. ``matcher`` is a compiled regex or ``callable(name, auth) -> bool``."""

    def __init__(self, matcher: re.Pattern | Callable[[str, dict], bool]) -> None:
        super().__init__(getattr(matcher, "pattern", repr(matcher)))
        self.matcher = matcher
        self.children: dict[str, Namespace] = {}

    def bind(self, server: NamespaceServer) -> None:
        self.server = server

    def matches(self, name: str, auth: dict) -> bool:
        if isinstance(self.matcher, re.Pattern):
            return self.matcher.fullmatch(name) is not None
        return bool(self.matcher(name, auth))

    def child(self, name: str) -> Namespace:
        namespace = self.children.get(name)
        if namespace is None:
            namespace = Namespace(name)
            namespace.handlers = self.handlers
            namespace.middlewares = self.middlewares
            namespace.server_side_handlers = self.server_side_handlers
            namespace.bind(self.server)
            namespace.blocking = self.blocking
            namespace.parent = self
            self.children[name] = namespace
            # As Node's createChild: the child is a namespace of the server from now on, so
            # that sio.of(name) returns it (instead of making an empty one that shadows it).
            self.server.namespaces[name] = namespace
        return namespace

    def remove(self, child: Namespace) -> None:
        """Forget a child that has no connection left (``cleanup_empty_child_namespaces``)."""
        if self.children.get(child.name) is child and not child.conns and not len(child.parked):
            del self.children[child.name]
            if self.server.namespaces.get(child.name) is child:
                del self.server.namespaces[child.name]
            child.adapter.close()

    def handler(self, fn: Handler) -> Handler:
        self.blocking = fn
        for child in self.children.values():
            child.blocking = fn
        return fn

    def targets(self) -> Iterator[Namespace]:
        return iter(list(self.children.values()))


# The API of the base classes: a subclass's handlers are the on_* methods beyond it.
_API = frozenset(dir(Namespace)) | frozenset(dir(ParentNamespace))


def _handler_methods(cls: type) -> list[str]:
    """The ``on_<event>`` methods of a subclass: those of Namespace's own API (such as
    ``on_server_side``) are not event handlers, or a client could call them by emitting."""
    return [
        attr
        for attr in dir(cls)
        if attr.startswith("on_") and attr not in _API and callable(getattr(cls, attr))
    ]


def _check_server_side(event: str) -> None:
    if not isinstance(event, str) or event in RESERVED_EVENTS:
        raise ValueError(f"{event!r} cannot be emitted")


def _positional_count(fn: Handler, most: int) -> int:
    """How many of ``most`` positional arguments ``fn`` takes."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return most
    count = 0
    for param in params:
        if param.kind is param.VAR_POSITIONAL:
            return most
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            count += 1
    return min(count, most)
