"""Several servers without sticky sessions: a request for a session that another server owns
is forwarded to it over a bus (Redis pub/sub), and the answer comes back the same way.

Each server process is a *node* on the bus: it listens on a channel of its own (its node name)
and on its *tag*'s, the part of its session ids after the last dot (``<120 random bits>.<tag>``;
the tag of its :class:`~gsio.engine.workers.WorkerGroup` when it has one, else its node name).
A request naming a session this server does not have, and that no worker of this host owns,
goes to the tag's channel (:mod:`gsio.protocol.relay` has the messages):

- **Polling** (GET or POST): the owner serves it through its engine's own polling path, in a
  virtual environ with the request's method, query, body and the headers the engine reads; a GET
  that has to wait parks on its session as a local one does (no greenlet), the owner says so
  (``WAITING``), and the relay waits as long as a long poll. The answer (status, headers, body)
  comes back and is written as it is. A client that leaves a forwarded waiting GET ends the
  session at the owner, as it would there.
- **WebSocket upgrade**: see :mod:`gsio.engine.relayws`.

Bounded: the bus says how many servers got the request; none (the owner is gone) is answered
at once with 400 ``{"code":1,"message":"Session ID unknown"}``, as is a request that every
receiver disowns (``UNKNOWN``), and one without an answer within ``timeout`` seconds (1). At
most ``max_pending`` forwarded requests wait at once. A malformed bus message is logged once
and dropped.
"""

from __future__ import annotations

import io
import itertools
import logging
import re
import secrets
from typing import Any, Callable, Protocol

from gsio.engine import relayws
from gsio.engine.base import Pending
from gsio.engine.polling import _read_body
from gsio.engine.server import Engine, default_sid
from gsio.exceptions import PayloadTooLarge, ProtocolError
from gsio.io.connwatch import CHECK_INTERVAL, Hangup
from gsio.protocol.http import Response, error_response, parse_query
from gsio.protocol.relay import Kind, RelayMessage

__all__ = ["Bus", "Forwarding"]

log = logging.getLogger("gsio.forward")

_TAG = re.compile(r"[0-9a-z]{1,16}")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"
#: The environ key marking a request that came over the bus (never forwarded again).
FORWARDED = "gsio.forwarded"
#: What the engine reads of a polling request's headers: they go with it.
HEADERS = ("HTTP_ORIGIN", "HTTP_ACCEPT_ENCODING", "CONTENT_TYPE", "HTTP_USER_AGENT")
_OVERHEAD = 65536  # a bus message's bytes besides its body

#: ``receivers(n)``: how many servers a publication reached.
Receivers = Callable[[int], None]


class Bus(Protocol):
    """Messages between the servers' processes, by channel name (a node's, or a tag's):
    :class:`gsio.cluster.enginebus.RedisBus` is one."""

    def subscribe(self, name: str, handler: Callable[[bytes], None]) -> None: ...

    def unsubscribe(self, name: str) -> None: ...

    def publish(self, name: str, data: bytes, receivers: Receivers | None = None) -> None:
        """Send ``data`` to ``name``'s subscribers, never blocking; ``receivers(n)`` once the
        bus says how many there were (0 when it cannot say)."""
        ...


def random_tag(size: int) -> str:
    return "".join(secrets.choice(_DIGITS) for _ in range(size))


class Forwarding:
    """Forward this engine's requests for other servers' sessions to them, and serve theirs
    for this engine's sessions. Made by :meth:`gsio.Server.forward_sessions`.

    :param timeout: seconds to wait for the owner's first word (1).
    :param max_pending: forwarded requests waiting at once; past it, the 400.
    """

    def __init__(
        self, engine: Engine, bus: Bus, *, timeout: float = 1.0, max_pending: int = 10_000
    ) -> None:
        self.engine = engine
        self.bus = bus
        self.timeout = float(timeout)
        self.max_pending = max_pending
        self.node = random_tag(10)
        self.tag = self.node
        self.numbers = itertools.count(1)
        #: Relay side: forwarded requests (and upgrades) by number, until their answer.
        self.waiting: dict[int, Any] = {}
        #: Owner side: forwarded GETs parked on their session, by (relay, number).
        self.serving: dict[tuple[str, int], Pending] = {}
        self.relays = relayws.Relays(self)
        self.forwarded = 0  # requests forwarded (for the logs and the tests)
        self._said: set[str] = set()

    def attach(self) -> bool:
        """Make the engine's session ids name this node, and forward its requests for the
        others'. False (nothing done) for an engine with a ``sid_generator`` of its own."""
        engine = self.engine
        if engine.sid_generator is not default_sid:
            log.warning("session ids of a custom sid_generator cannot be forwarded to their server")
            return False
        engine.sid_generator = self.new_sid
        engine.forwarder = self
        self.bus.subscribe(self.node, self.on_message)
        return True

    def new_sid(self) -> str:
        return f"{secrets.token_urlsafe(15)}.{self.tag}"

    def retag(self, tag: str) -> None:
        """Name this node's sessions with ``tag`` from now on (its worker group's)."""
        if tag != self.tag:
            if self.tag != self.node:
                self.bus.unsubscribe(self.tag)
            self.tag = tag
            self.bus.subscribe(tag, self.on_message)

    def say(self, what: str, detail: object) -> None:
        """Log a fault once per kind (at WARNING; then at DEBUG)."""
        if what in self._said:
            log.debug("%s: %s", what, detail)
        else:
            self._said.add(what)
            log.warning("%s: %s (said once)", what, detail)

    def send(
        self, to: str, kind: Kind, id: int, receivers: Receivers | None = None, **fields: Any
    ) -> None:
        try:
            data = RelayMessage.make(kind, self.node, id, **fields).serialize()
        except ProtocolError as exc:
            self.say("a request that cannot be forwarded", exc)
            if receivers is not None:
                receivers(0)
            return
        self.bus.publish(to, data, receivers)

    def owner_of(self, sid: str, environ: dict[str, Any]) -> str | None:
        """The tag naming ``sid``'s server, or None if it cannot be forwarded."""
        _, dot, tag = sid.rpartition(".")
        if not dot or not _TAG.fullmatch(tag) or FORWARDED in environ:
            return None
        if len(self.waiting) >= self.max_pending:
            self.say("too many forwarded requests waiting", len(self.waiting))
            return None
        return tag

    def counts_itself(self, tag: str) -> bool:
        return tag == self.tag or tag == self.node

    # -- the relay's side: polling ---------------------------------------------------------

    def forward(
        self,
        environ: dict[str, Any],
        sid: str,
        body: bytes | None,
        respond: Callable[[Response], None],
    ) -> Pending | None:
        tag = self.owner_of(sid, environ)
        if tag is None:
            return None
        if body is None and environ.get("REQUEST_METHOD") == "POST":
            exc = PayloadTooLarge()
            respond(error_response(exc.code, exc.status))
            return None
        return _Forwarded(self, tag, environ, sid, body or b"", respond)

    def forward_wait(self, environ: dict[str, Any], sid: str) -> Response | None:
        if self.owner_of(sid, environ) is None:
            return None
        body = b""
        if environ.get("REQUEST_METHOD") == "POST":
            try:
                body = _read_body(environ, self.engine.max_payload)
            except ProtocolError as exc:
                return error_response(exc.code, exc.status)
        c = self.engine.concurrency
        box: list[Response] = []
        event = c.event()

        def respond(response: Response) -> None:
            box.append(response)
            event.set()

        pending = self.forward(environ, sid, body, respond)
        if pending is None:
            return box[0] if box else None
        hangup = Hangup.of(c, environ, event.set)
        try:
            while not box:
                event.wait(CHECK_INTERVAL if hangup is not None and hangup.polled else None)
                event.clear()
                if not box and hangup is not None and hangup.gone():
                    pending.abandon()
                    hangup.hang_up()
                    return error_response(1)  # (the client is gone: nobody reads it)
        finally:
            if hangup is not None:
                hangup.cancel()
        return box[0]

    def relay_websocket(
        self, environ: dict[str, Any], start_response: Callable[..., Any], sid: str
    ) -> list[bytes] | None:
        tag = self.owner_of(sid, environ)
        if tag is None:
            return None
        return self.relays.relay(tag, environ, start_response, sid)

    # -- messages from the bus ------------------------------------------------------------

    def on_message(self, data: bytes) -> None:
        try:
            if len(data) > self.engine.max_payload + _OVERHEAD:
                raise ProtocolError(f"{len(data)} bytes")
            msg = RelayMessage.parse(data)
        except ProtocolError as exc:
            self.say("a malformed relay message dropped", exc.message)
            return
        if msg.sender == self.node:
            return  # our own request, on a tag's channel that we share
        kind = msg.kind
        if kind is Kind.REQUEST:
            self._serve(msg)
        elif kind is Kind.ABANDON:
            pending = self.serving.pop((msg.sender, msg.id), None)
            if pending is not None:
                pending.abandon()
        elif kind in (Kind.RESPONSE, Kind.WAITING, Kind.UNKNOWN, Kind.WS_ACCEPT):
            exchange = self.waiting.get(msg.id)
            if exchange is not None:
                exchange.on_answer(msg)
        else:
            self.relays.on_message(msg)

    # -- the owner's side: polling -----------------------------------------------------------

    def _serve(self, msg: RelayMessage) -> None:
        engine = self.engine
        if msg.sid not in engine.sockets:
            self.send(msg.sender, Kind.UNKNOWN, msg.id)
            return
        if msg.method not in ("GET", "POST"):
            self.say("a malformed relay message dropped", f"method {msg.method[:20]!r}")
            return
        if getattr(engine.handler, "nonblocking", False):
            self._handle(msg)
        else:  # its handler may block: not in the bus's reader
            engine.concurrency.spawn(self._handle, msg)

    def _handle(self, msg: RelayMessage) -> None:
        engine = self.engine
        environ: dict[str, Any] = {
            "REQUEST_METHOD": msg.method,
            "QUERY_STRING": msg.query,
            "SCRIPT_NAME": "",
            "PATH_INFO": engine.path,
            "SERVER_PROTOCOL": "HTTP/1.1",
            "CONTENT_LENGTH": str(len(msg.body)),
            "wsgi.input": io.BytesIO(msg.body),
            FORWARDED: msg.sender,
        }
        environ.update((name, value) for name, value in msg.headers if name in HEADERS)
        key = (msg.sender, msg.id)
        answered = False

        def respond(response: Response) -> None:
            nonlocal answered
            answered = True
            self.serving.pop(key, None)
            self.send(
                msg.sender,
                Kind.RESPONSE,
                msg.id,
                status=response.status,
                headers=tuple(response.headers),
                body=response.body,
            )

        body = msg.body if len(msg.body) <= engine.max_payload else None
        pending = engine.handle_polling(environ, parse_query(environ), body, respond)
        if pending is not None and not answered:
            self.serving[key] = pending
            self.send(msg.sender, Kind.WAITING, msg.id)


class _Forwarded:
    """A polling request forwarded to its owner, until its answer (:class:`Pending`)."""

    __slots__ = ("_f", "_id", "_respond", "_timer", "_to", "_expected", "_unknown", "_itself")

    def __init__(
        self,
        forwarding: Forwarding,
        tag: str,
        environ: dict[str, Any],
        sid: str,
        body: bytes,
        respond: Callable[[Response], None],
    ) -> None:
        self._f = forwarding
        self._id = id = next(forwarding.numbers)
        self._respond = respond
        self._to = tag  # the owner's own channel once it answers
        self._expected = -1  # receivers, once the bus says
        self._unknown = 0
        self._itself = forwarding.counts_itself(tag)
        forwarding.waiting[id] = self
        forwarding.forwarded += 1
        c = forwarding.engine.concurrency
        self._timer = c.call_later(forwarding.timeout, self._timed_out)
        headers = tuple((name, environ[name]) for name in HEADERS if name in environ)
        forwarding.send(
            tag,
            Kind.REQUEST,
            id,
            self._received,
            sid=sid,
            method=environ.get("REQUEST_METHOD", "GET"),
            query=environ.get("QUERY_STRING", ""),
            headers=headers,
            body=body,
        )

    def _received(self, count: int) -> None:
        self._expected = count - self._itself
        if self._unknown >= self._expected:
            self._answer(error_response(1))  # the owner is gone

    def on_answer(self, msg: RelayMessage) -> None:
        if msg.kind is Kind.RESPONSE:
            self._answer(Response(msg.status, list(msg.headers), msg.body))
        elif msg.kind is Kind.WAITING:
            # Parked on its session: answered within a poll's time (or when its session ends).
            self._to = msg.sender
            engine = self._f.engine
            wait = engine.ping_interval + engine.ping_timeout + self._f.timeout
            self._timer.cancel()
            self._timer = engine.concurrency.call_later(wait, self._timed_out)
        elif msg.kind is Kind.UNKNOWN:
            self._unknown += 1
            if self._unknown >= self._expected >= 0:
                self._answer(error_response(1))

    def _timed_out(self) -> None:
        if self._f.waiting.get(self._id) is self:
            self._f.say("no answer from a session's server in time", self._to)
            self._answer(error_response(1))

    def _answer(self, response: Response) -> None:
        if self._f.waiting.pop(self._id, None) is self:
            self._timer.cancel()
            self._respond(response)

    def abandon(self) -> None:
        """The client left: its GET is abandoned at the owner too (the session ends there)."""
        if self._f.waiting.pop(self._id, None) is self:
            self._timer.cancel()
            self._f.send(self._to, Kind.ABANDON, self._id)
