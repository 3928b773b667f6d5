"""``gsio.instrument(sio, auth=...)``: serve the Socket.IO Admin UI's protocol, as Node's
``instrument()`` from ``@socket.io/admin-ui``."""

from __future__ import annotations

import logging
from typing import Any

from gsio.admin.auth import check_auth_option
from gsio.admin.commands import FEATURES, register_commands
from gsio.admin.events import Counting, Verbose
from gsio.admin.serialize import serialize
from gsio.admin.stats import EventBuffer, ServerStats
from gsio.server.conn import Conn
from gsio.server.server import Server

__all__ = ["Instrumentation", "instrument"]

log = logging.getLogger("gsio.admin")

#: Seconds between two ``server_stats`` (Node's; whole seconds).
STATS_INTERVAL = 2

_MODES = ("development", "production")


class Instrumentation:
    """A server watched for the Admin UI (what :func:`instrument` returns): :meth:`stop` it to
    stop watching and reporting (the admin namespace stays)."""

    def __init__(
        self, sio: Server, namespace: str, mode: str, readonly: bool, server_id: str | None
    ) -> None:
        self.sio = sio
        self.admin = sio.of(namespace)
        self.mode = mode
        self.readonly = readonly
        c = self._c = sio.concurrency
        self.events = EventBuffer(c)
        self.stats = ServerStats(sio, self.events, server_id)
        features = [] if readonly else list(FEATURES)
        features.append("AGGREGATED_EVENTS")
        if mode == "development":
            features.append("ALL_EVENTS")
        #: The ``supportedFeatures`` each admin is told on connecting.
        self.features = features
        self._outbox = c.queue()  # (event, args) for the admin namespace; None: stop
        self._stopped = c.event()
        observer: Counting
        if mode == "development":
            observer = Verbose(self.events, self.admin.name, self._tell)
        else:
            observer = Counting(self.events)
        self.observer = observer
        self.admin.on("connect", self._on_admin_connect)
        if not readonly:
            register_commands(sio, self.admin)
        self.observation = sio.observe(observer)
        c.spawn(self._send_loop)
        c.spawn(self._stats_loop)

    def stop(self) -> None:
        """Stop observing the server and sending ``server_stats`` (idempotent)."""
        if self._stopped.is_set():
            return
        self._stopped.set()
        self.observation.remove()
        self._outbox.put(None)

    # -- the admins ----------------------------------------------------------------------------

    def _on_admin_connect(self, conn: Conn) -> None:
        conn.emit("config", {"supportedFeatures": self.features})
        if self.mode == "development":
            # (in a greenlet: with a cluster, fetching every server's sockets takes a while)
            self._c.spawn(self._send_all_sockets, conn)

    def _send_all_sockets(self, conn: Conn) -> None:
        conn.emit("all_sockets", self.all_sockets())

    def all_sockets(self) -> list[dict[str, Any]]:
        """Every socket of every namespace, of every server of the cluster (serialized)."""
        found: list[dict[str, Any]] = []
        for name, namespace in list(self.sio.namespaces.items()):
            try:
                sockets: list[Any] = namespace.fetch_sockets()
            except Exception as exc:  # (the cluster did not answer in time: what is here)
                log.warning("the Admin UI gets %s's local sockets only: %s", name, exc)
                sockets = list(namespace.conns.values())
            found.extend(serialize(s, name, s.rooms) for s in sockets)
        return found

    # -- telling them ----------------------------------------------------------------------------

    def _tell(self, event: str, *args: Any) -> None:
        self._outbox.put((event, args))

    def _send_loop(self) -> None:
        """Emit what the observer queued to the admin namespace, in order (from a greenlet:
        with a cluster adapter an emit is published, and observers must not block)."""
        while True:
            item = self._outbox.get()
            if item is None:
                return
            event, args = item
            try:
                self.admin.emit(event, *args)
            except Exception:
                log.exception("the Admin UI's %r could not be sent", event)

    def _stats_loop(self) -> None:
        """``server_stats`` every :data:`STATS_INTERVAL` seconds; between two, each second's
        packets and bytes filed under it (the dashboard graphs them per second)."""
        while True:
            try:
                self.admin.emit("server_stats", self.stats.report())
            except Exception:
                log.exception("the Admin UI's server_stats could not be sent")
            for second in range(STATS_INTERVAL):
                if self._stopped.wait(1.0):
                    return
                if second < STATS_INTERVAL - 1:  # (the last one: report() rolls)
                    self.events.roll()


def instrument(
    sio: Server,
    *,
    auth: Any = None,
    mode: str = "development",
    readonly: bool = False,
    namespace: str = "/admin",
    server_id: str | None = None,
    **unknown: Any,
) -> Instrumentation:
    """Serve the `Socket.IO Admin UI <https://admin.socket.io>`_ (``@socket.io/admin-ui``)
    on ``sio``, as Node's ``instrument(io, options)``: point the UI at the server's URL.

    :param auth: required: ``False`` (anyone may use the UI: for a laptop), or
        ``{"type": "basic", "username": "admin", "password": <bcrypt hash>}`` (needs the
        ``bcrypt`` package: ``pip install 'gsio[admin]'``); a login gets a session id, which
        the UI comes back with. A wrong login is refused with ``invalid credentials``.
    :param mode: ``"development"`` (every socket, room and event is shown, as it happens) or
        ``"production"`` (counts only: connections, packets and bytes, for the dashboard).
    :param readonly: no commands from the UI (emit, join, leave, disconnect).
    :param namespace: the admin namespace.
    :param server_id: this server's name in the UI (default ``<host name>#<pid>``).

    Returns an :class:`Instrumentation` (``.stop()`` to stop).
    """
    if unknown:
        raise TypeError(f"gsio.instrument() got unknown options: {', '.join(sorted(unknown))}")
    if auth is None:
        raise TypeError(
            "gsio.instrument(): the `auth` option must be given, or explicitly set to False"
        )
    basic = check_auth_option(auth)
    if mode not in _MODES:
        raise ValueError(f"gsio.instrument(mode=...): 'development' or 'production', not {mode!r}")
    if not isinstance(namespace, str) or not namespace.startswith("/"):
        raise ValueError(
            f"gsio.instrument(namespace=...): a name starting with '/', not {namespace!r}"
        )
    if basic is not None:
        sio.of(namespace).use(basic.middleware(sio.concurrency))
    return Instrumentation(sio, namespace, mode, bool(readonly), server_id)
