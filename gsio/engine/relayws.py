"""A WebSocket upgrade that reaches a server other than its session's owner, relayed over the
bus (:mod:`gsio.engine.forward`).

The relay asks the owner first (``WS_OPEN``); once it accepts (``WS_ACCEPT``), the relay
answers the client's handshake and pipes the connection: each message the client sends goes to
the owner (``WS_DATA``), the frames the owner writes come back ready-made (``WS_FRAMES``) and are
queued on the client's connection as they are. The owner runs its normal upgrade (the probe,
``5``, then the session on WebSocket) on a :class:`BusWebSocket`, which meets the
:class:`gsio.io.websocket.WebSocket` contract: its writes publish, its reads come from the bus.
The client's connection closing ends the session at the owner (``WS_CLOSE``); the session
ending closes the client's connection (``WS_END``, with the close code). A publication that
reaches nobody (the other side is gone) ends its side too.

When the owner does not answer within the forwarding timeout, or no longer has the session, the
client gets 400 "Session ID unknown" instead of the 101.
"""

from __future__ import annotations

import collections
import logging
from typing import TYPE_CHECKING, Any, Callable, Protocol

from gsio.engine.websocket import _accept, _serve_upgrade, check_handshake
from gsio.exceptions import PayloadTooLarge, ProtocolError
from gsio.io.websocket import Data, MessageSink, message_frame
from gsio.protocol.relay import Kind, RelayMessage

if TYPE_CHECKING:
    from gsio.engine.server import Engine

__all__ = ["BusWebSocket", "Relays"]

log = logging.getLogger("gsio.forward")

_SENT_HEADERS = ("HTTP_ORIGIN", "HTTP_USER_AGENT")


class Node(Protocol):
    """What the relays use of their :class:`~gsio.engine.forward.Forwarding`."""

    engine: Engine
    timeout: float
    waiting: dict[int, Any]
    numbers: Any

    def send(
        self,
        to: str,
        kind: Kind,
        id: int,
        receivers: Callable[[int], None] | None = None,
        **fields: Any,
    ) -> None: ...

    def counts_itself(self, tag: str) -> bool: ...


class Relays:
    """The relayed WebSocket connections of one node: the pipes it relays for its clients
    (by number) and the connections it owns for other nodes' clients (by relay and number)."""

    def __init__(self, node: Node) -> None:
        self.node = node
        self.pipes: dict[int, _Pipe] = {}
        self.owned: dict[tuple[str, int], BusWebSocket] = {}

    # -- the relay's side ----------------------------------------------------------------------

    def relay(
        self, tag: str, environ: dict[str, Any], start_response: Callable[..., Any], sid: str
    ) -> list[bytes] | None:
        """Serve a WebSocket upgrade for another node's session, in the request's greenlet."""
        node = self.node
        try:
            answer = check_handshake(environ)
        except ProtocolError:
            return None
        opening = _Opening(node, tag)
        headers = tuple((name, environ[name]) for name in _SENT_HEADERS if name in environ)
        node.send(
            tag,
            Kind.WS_OPEN,
            opening.id,
            opening.received,
            sid=sid,
            query=environ.get("QUERY_STRING", ""),
            headers=headers,
        )
        owner = opening.wait()
        if owner is None:
            node.send(tag, Kind.WS_CLOSE, opening.id)  # in case it accepts late
            return None
        ws = _accept(node.engine, environ, answer)
        if ws is None:
            node.send(owner, Kind.WS_CLOSE, opening.id)
            return None
        pipe = _Pipe(self, ws, owner, opening.id, sid)
        self.pipes[opening.id] = pipe
        in_loop = False
        try:
            in_loop = ws.read_in_loop(pipe)
            while not in_loop and pipe.open:
                frame = ws.receive()
                if frame is None:
                    break
                pipe.receive_frame(frame)
        except (OSError, ProtocolError) as exc:
            log.info("%s: relayed websocket: %r", sid, exc)
        finally:
            if not in_loop:
                pipe.terminate("transport close")
                ws.close()
        return ws.finish(start_response)

    # -- messages --------------------------------------------------------------------------------

    def on_message(self, msg: RelayMessage) -> None:
        kind = msg.kind
        if kind is Kind.WS_FRAMES:
            pipe = self.pipes.get(msg.id)
            if pipe is not None and not pipe.ws.send_frames(msg.body):
                pipe.terminate("transport error")  # over its outbound limit: dropped
        elif kind is Kind.WS_DATA:
            owned = self.owned.get((msg.sender, msg.id))
            if owned is not None:
                owned.feed(msg.body.decode("utf-8", "replace") if msg.text else msg.body)
        elif kind is Kind.WS_END:
            pipe = self.pipes.get(msg.id)
            if pipe is not None:
                pipe.end(msg.code)
        elif kind is Kind.WS_CLOSE:
            owned = self.owned.pop((msg.sender, msg.id), None)
            if owned is not None:
                owned.peer_closed()
        elif kind is Kind.WS_OPEN:
            self._open(msg)

    # -- the owner's side ------------------------------------------------------------------------

    def _open(self, msg: RelayMessage) -> None:
        node = self.node
        socket = node.engine.sockets.get(msg.sid)
        if socket is None:
            node.send(msg.sender, Kind.UNKNOWN, msg.id)
            return
        ws = BusWebSocket(self, msg.sender, msg.id)
        self.owned[(msg.sender, msg.id)] = ws
        node.send(msg.sender, Kind.WS_ACCEPT, msg.id)
        node.engine.concurrency.spawn(self._upgrade, socket, ws)

    def _upgrade(self, socket: Any, ws: BusWebSocket) -> None:
        in_loop = False
        try:
            in_loop = _serve_upgrade(self.node.engine, socket, ws)
        except Exception:
            log.exception("relayed websocket session failed")
        finally:
            if not in_loop:
                ws.close()


class _Opening:
    """A relay's ``WS_OPEN``, until the owner accepts, every receiver disowns the session, or
    the timeout."""

    __slots__ = ("node", "id", "event", "owner", "expected", "unknown", "itself")

    def __init__(self, node: Node, tag: str) -> None:
        self.node = node
        self.id = next(node.numbers)
        self.event = node.engine.concurrency.event()
        self.owner: str | None = None
        self.expected = -1
        self.unknown = 0
        self.itself = node.counts_itself(tag)
        node.waiting[self.id] = self

    def received(self, count: int) -> None:
        self.expected = count - self.itself
        if self.unknown >= self.expected:
            self.event.set()

    def on_answer(self, msg: RelayMessage) -> None:
        if msg.kind is Kind.WS_ACCEPT:
            self.owner = msg.sender
            self.event.set()
        elif msg.kind is Kind.UNKNOWN:
            self.unknown += 1
            if self.unknown >= self.expected >= 0:
                self.event.set()

    def wait(self) -> str | None:
        self.event.wait(self.node.timeout)
        self.node.waiting.pop(self.id, None)
        return self.owner


class _Pipe:
    """The relay's end: the client's connection, fed to the owner (a :class:`MessageSink`)."""

    __slots__ = ("relays", "ws", "owner", "id", "sid", "open")

    def __init__(self, relays: Relays, ws: Any, owner: str, id: int, sid: str) -> None:
        self.relays = relays
        self.ws = ws
        self.owner = owner
        self.id = id
        self.sid = sid
        self.open = True

    def receive_frame(self, frame: Data) -> None:
        text = type(frame) is str
        body = frame.encode("utf-8") if text else frame  # type: ignore[union-attr]
        self.relays.node.send(
            self.owner, Kind.WS_DATA, self.id, self._reached, body=body, text=text
        )

    def _reached(self, count: int) -> None:
        if count == 0 and self.open:
            log.info("%s: the session's server is gone; closing the relayed websocket", self.sid)
            self.end(1011)

    def terminate(self, reason: str, *, notify_client: bool = False) -> None:
        """The client's connection ended (or is dropped): so does the session at the owner."""
        if self.open:
            self.open = False
            self.relays.pipes.pop(self.id, None)
            self.relays.node.send(self.owner, Kind.WS_CLOSE, self.id)

    def end(self, code: int) -> None:
        """The owner closed the session: close the client's connection (0: drop it)."""
        self.open = False
        self.relays.pipes.pop(self.id, None)
        if code:
            self.ws.close(code)
        else:
            self.ws.abort()


class BusWebSocket:
    """The owner's end of a relayed connection: a :class:`gsio.io.websocket.WebSocket` whose
    writes go to the relay over the bus and whose reads come from it."""

    def __init__(self, relays: Relays, to: str, id: int) -> None:
        self._relays = relays
        self._to = to
        self._id = id
        self._inbox: collections.deque[Data | None] = collections.deque()
        self._ready = relays.node.engine.concurrency.event()
        self._sink: MessageSink | None = None
        self._closed = False

    def feed(self, data: Data | None) -> None:
        """A message from the client (None: its connection ended)."""
        sink = self._sink
        if sink is None:
            self._inbox.append(data)
            self._ready.set()
        elif data is None:
            sink.terminate("transport close")
        else:
            try:
                sink.receive_frame(data)
            except ProtocolError as exc:
                log.info("%s: %s; closing the session", sink.sid, exc.message)
                sink.terminate(exc.reason, notify_client=not isinstance(exc, PayloadTooLarge))

    def peer_closed(self) -> None:
        self._closed = True
        self.feed(None)

    def receive(self) -> Data | None:
        while not self._inbox:
            self._ready.clear()
            if self._closed:
                return None
            self._ready.wait()
        return self._inbox.popleft()

    def send(self, data: Data) -> None:
        self.send_frames(message_frame(data))

    def send_frames(self, data: bytes) -> bool:
        if not self._closed:
            node = self._relays.node
            node.send(self._to, Kind.WS_FRAMES, self._id, self._reached, body=data)
        return True

    def send_control(self, data: bytes) -> bool:
        return self.send_frames(data)  # (in order: the relay's writer has the backlog)

    def _reached(self, count: int) -> None:
        if count == 0 and not self._closed:
            self._relays.owned.pop((self._to, self._id), None)
            self.peer_closed()  # the relay is gone, and the client's connection with it

    @property
    def backlog(self) -> bool:
        return False

    @property
    def buffered_bytes(self) -> int:
        return 0

    def close(self, code: int = 1000) -> None:
        if not self._closed:
            self._closed = True
            self._relays.owned.pop((self._to, self._id), None)
            self._relays.node.send(self._to, Kind.WS_END, self._id, code=code)
        self._inbox.append(None)
        self._ready.set()

    def abort(self) -> None:
        self.close(0)

    def read_in_loop(self, sink: MessageSink) -> bool:
        self._sink = sink
        while self._inbox:
            self.feed(self._inbox.popleft())
        return True

    def finish(self, start_response: Callable[..., object]) -> list[bytes]:
        return []
