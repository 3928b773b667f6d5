"""The WebSocket contract: what every backend gives the engine, and what the engine gives it.

Three backends implement :class:`WebSocket`:

- :class:`~gsio.io.wsnative.NativeWebSocket`, gsio's own frame layer on the socket that gsio's
  pywsgi handler hands over (``gsio.serve``, ``gsio serve``): the fastest;
- :class:`~gsio.io.wsgevent.GeventWebSocket`, on gevent-websocket's ``wsgi.websocket`` (its
  pywsgi handler and its gunicorn worker);
- :class:`~gsio.io.wssimple.SimpleWebSocket`, on simple-websocket, which takes the socket from
  any other WSGI server (werkzeug, gunicorn's sync and gthread workers, plain gevent pywsgi).

Every backend's writes queue and return at once (the engine hands over ready-made frames, the
same bytes for every recipient of a broadcast); each has a writer of its own, a greenlet or
thread that lives only while the connection has a backlog. Every backend counts what waits
against :attr:`WebSocketConfig.max_outbound_buffer` and refuses past it.

The backends talk to the layer above through two small protocols defined here:
:class:`WebSocketConfig` (the limits and the concurrency, which the engine has) and
:class:`MessageSink` (a session that messages are fed to, which an engine socket is).
"""

from __future__ import annotations

from typing import Callable, Protocol, Union

from gsio.io.concurrency import Concurrency
from gsio.protocol import frames

__all__ = [
    "Data",
    "MessageSink",
    "WebSocket",
    "WebSocketConfig",
    "message_frame",
    "TOO_MANY_FRAGMENTS",
]

#: A message: ``str`` for text, ``bytes`` for binary.
Data = Union[str, bytes]

#: The reason a message in over :data:`gsio.protocol.frames.MAX_FRAGMENTS` frames is refused.
TOO_MANY_FRAGMENTS = f"message in over {frames.MAX_FRAGMENTS} fragments"

_text_frame = frames.text_frame
_frame = frames.frame
_OP_BINARY = frames.OP_BINARY


def message_frame(data: Data) -> bytes:
    """The frame of one message already encoded (text: ``str``, binary: ``bytes``)."""
    if type(data) is str:
        return _text_frame(data)
    return _frame(_OP_BINARY, data)  # type: ignore[arg-type]


class WebSocketConfig(Protocol):
    """What a backend needs to know of the server it serves (an :class:`gsio.Engine` is one)."""

    @property
    def concurrency(self) -> Concurrency:
        """Greenlets or threads: the backend's writer and timers run on them."""
        ...

    #: The largest message accepted, in bytes: over it, the connection is closed with 1009.
    max_payload: int
    #: Bytes that may wait to be written when more is sent (None: no limit).
    max_outbound_buffer: int | None


class MessageSink(Protocol):
    """What a backend that reads in the event loop feeds (an engine socket is one)."""

    #: The session's id, for the log.
    sid: str

    def receive_frame(self, frame: Data) -> None:
        """One message from the client; may raise :class:`gsio.exceptions.ProtocolError`."""
        ...

    def terminate(self, reason: str, *, notify_client: bool = False) -> None:
        """End the session (idempotent)."""
        ...


class WebSocket(Protocol):
    """One WebSocket connection, whatever the backend.

    Writing never blocks: :meth:`send` and :meth:`send_frames` queue and return, and the
    backend writes in order, at once when the socket takes it, else from a writer of its own
    that lives while there is a backlog. Nothing is written after the close frame.
    """

    def receive(self) -> Data | None:
        """The next message, blocking; None once the connection is closed (the client's close
        frame answered). Raises :class:`gsio.exceptions.PayloadTooLarge` (after closing with
        1009) or :class:`gsio.protocol.frames.FrameError` (after closing with its code: 1002,
        1007, 1008) for what the protocol does not allow."""
        ...

    def send(self, data: Data) -> None:
        """Queue one text (``str``) or binary (``bytes``) message."""
        ...

    def send_frames(self, data: bytes) -> bool:
        """Queue ready-made frames (one or several, as bytes). False when more than
        ``max_outbound_buffer`` waited already: the connection was dropped (:meth:`abort`);
        the caller ends the session. Dropped quietly once the close frame is queued or the
        connection is gone."""
        ...

    def send_control(self, data: bytes) -> bool:
        """Queue a heartbeat frame ahead of what waits to be written (behind what is being
        written): a client's pings are not held behind a burst or a backlog. As
        :meth:`send_frames` otherwise."""
        ...

    @property
    def backlog(self) -> bool:
        """Whether anything waits to be written (a volatile message is dropped then)."""
        ...

    @property
    def buffered_bytes(self) -> int:
        """Bytes queued and not yet written to the socket (what the outbound limit counts)."""
        ...

    def close(self, code: int = 1000) -> None:
        """Queue the close frame behind what waits (once); idempotent, never raises."""
        ...

    def abort(self) -> None:
        """Drop what waits and the connection at once, without a close frame: a blocked
        :meth:`receive` returns None, the writer ends. Idempotent, never raises."""
        ...

    def read_in_loop(self, sink: MessageSink) -> bool:
        """Hand the reading to the event loop, which feeds ``sink`` from now on, and return
        True: the request may end and the connection outlives it. False (nothing changes)
        where the backend cannot: the caller reads with :meth:`receive`."""
        ...

    def finish(self, start_response: Callable[..., object]) -> list[bytes]:
        """After the session: let the queue and the close frame leave (within a timeout),
        end the connection, and return what the WSGI app returns."""
        ...
