"""The WebSocket backend on simple-websocket, which takes the socket from any WSGI server that
gives it up (werkzeug, gunicorn's sync and gthread workers, plain gevent pywsgi). Its reader
thread (a greenlet under gevent) reads; gsio writes ready-made frames on the socket through a
:class:`~gsio.io.wswriter.QueuedWriter`.

simple-websocket's own reader is made to refuse, as gsio's frame layer does and with the same
close codes, a header announcing a message over the limit (1009, before its payload) and a
message in more than :data:`gsio.protocol.frames.MAX_FRAGMENTS` frames (1008).
"""

from __future__ import annotations

import socket as socketlib
from typing import Any, Callable

from gsio.exceptions import PayloadTooLarge
from gsio.io.concurrency import Concurrency
from gsio.io.sockets import dup_socket, nodelay, server_socket
from gsio.io.websocket import TOO_MANY_FRAGMENTS, Data, MessageSink, WebSocketConfig
from gsio.io.wswriter import QueuedWriter
from gsio.protocol import frames
from gsio.protocol.http import Response

__all__ = ["SimpleWebSocket"]


class SimpleWebSocket(QueuedWriter):
    """A :class:`~gsio.io.websocket.WebSocket` on simple-websocket's server, on the raw socket
    the WSGI server gives up."""

    def __init__(self, environ: dict[str, Any], config: WebSocketConfig) -> None:
        import simple_websocket

        super().__init__(config)
        c = config.concurrency
        kwargs: dict[str, Any] = {"max_message_size": config.max_payload}
        if c.name == "gevent":
            kwargs["thread_class"] = lambda target: _GreenThread(c, target)
            kwargs["event_class"] = c.event
        self._closed_error = simple_websocket.ConnectionClosed
        # simple-websocket closes the socket it is given when the session ends, but the WSGI
        # server still owns it and writes its response on it: EBADF, which gunicorn logs as an
        # error. It gets a duplicate; finish() shuts the original down.
        self._sock = server_socket(environ)
        if self._sock is not None:
            environ = dict(environ, **{"werkzeug.socket": dup_socket(self._sock)})
        self._ws = _simple_server_class()(environ, **kwargs)
        self._max = config.max_payload
        self._sendall: Callable[[bytes], Any] = self._ws.sock.sendall
        nodelay(self._ws.sock)

    def receive(self) -> Data | None:
        try:
            data = self._ws.receive()
        except self._closed_error:
            ws = self._ws
            # simple-websocket closes with 1009 itself but does not record it: the message
            # length it counted is left over the limit.
            limit = ws.max_message_size
            if ws.close_reason == 1009 or (limit and ws.incoming_message_len > limit):
                raise PayloadTooLarge() from None
            if ws.close_reason in (1002, 1007, 1008):  # wsproto or _FrameLimits refused a frame
                message = ws.close_message if ws.close_reason != 1008 else TOO_MANY_FRAGMENTS
                raise frames.FrameError(message or "websocket protocol error", ws.close_reason)
            return None
        if data is None and not self._ws.connected:
            return None
        if isinstance(data, str) and 4 * len(data) > self._max:
            # simple-websocket counts a text message's characters; the limit is in bytes.
            if len(data.encode("utf-8")) > self._max:
                self.close(1009)
                raise PayloadTooLarge()
        return data

    def read_in_loop(self, sink: MessageSink) -> bool:
        return False  # simple-websocket's reader thread reads

    def _write(self, data: bytes) -> None:
        self._sendall(data)

    def _send_close(self, code: int) -> None:
        try:
            self._ws.close(code)
        except Exception:  # closed already
            pass

    def _shutdown(self) -> None:
        try:
            self._ws.sock.shutdown(socketlib.SHUT_RDWR)
        except OSError:
            pass

    def finish(self, start_response: Callable[..., object]) -> list[bytes]:
        from wsproto.connection import ConnectionState

        self.finish_writing()
        # simple-websocket's reader answers the client's close frame, and sends its own close
        # (a message over the limit: 1009), after it has woken receive(): let the frame leave
        # before the shutdown (the client would see none).
        ws = self._ws
        if not ws.connected or ws.ws.state in (
            ConnectionState.REMOTE_CLOSING,
            ConnectionState.CLOSED,
        ):
            ws.thread.join(1.0)
        # The server still owns the connection and will write a response and read the next
        # request on it: shut it down so that both fail quietly (EPIPE / EOF).
        try:
            (self._sock or self._ws.sock).shutdown(socketlib.SHUT_RDWR)
        except OSError:
            pass
        return Response(200, [("Connection", "close")])(start_response)


_simple_server: Any = None


def _simple_server_class() -> Any:
    """simple-websocket's Server, made to wake a waiting ``receive()`` when its reader ends,
    and to refuse frames at their header as gsio's reader does.

    On a message over the limit (or a wsproto error) its reader sets the event before it marks
    the connection closed: a ``receive()`` in another thread can see the event while still
    connected, clear it and wait forever.

    simple-websocket counts a message's size as its payload arrives: a header announcing 2^40
    bytes, followed by nothing, was only ended by the ping timeout. wsproto calls each extension
    of the connection on every frame header, before the payload: a ``_FrameLimits`` added to
    the accepted handshake (in place of permessage-deflate; no client offers it, so the answer
    does not name it) refuses there,
    as :class:`gsio.protocol.frames.FrameReader` does, a message over the limit (1009) and one in more
    than :data:`gsio.protocol.frames.MAX_FRAGMENTS` frames (1008); wsproto closes with that code.
    """
    global _simple_server
    if _simple_server is None:
        import dataclasses

        import simple_websocket
        from wsproto.events import AcceptConnection
        from wsproto.extensions import Extension
        from wsproto.frame_protocol import CloseReason, Opcode, RsvBits

        class _FrameLimits(Extension):
            name = "x-gsio-frame-limits"

            def __init__(self, max_payload: int) -> None:
                self._max = max_payload
                self._size = 0  # the size of the message's complete frames so far
                self._frames = 0  # and their number
                self._next: tuple[int, int] | None = None  # both with the current data frame

            def enabled(self) -> bool:
                return True

            def offer(self) -> bool:
                return False

            def frame_inbound_header(
                self, proto: Any, opcode: Any, rsv: Any, payload_length: int
            ) -> Any:
                # wsproto parses a header again when its masking key was not there yet: the
                # state changes only once the frame is complete.
                self._next = None
                if opcode.iscontrol():
                    return RsvBits(False, False, False)
                size, count = payload_length, 1
                if opcode is Opcode.CONTINUATION:
                    size, count = self._size + size, self._frames + 1
                if size > self._max:
                    return CloseReason.MESSAGE_TOO_BIG
                if count > frames.MAX_FRAGMENTS:
                    return CloseReason.POLICY_VIOLATION
                self._next = (size, count)
                return RsvBits(False, False, False)

            def frame_inbound_complete(self, proto: Any, fin: bool) -> None:
                if self._next is not None:
                    self._size, self._frames = (0, 0) if fin else self._next
                    self._next = None

        class Server(simple_websocket.Server):
            def handshake(self) -> None:
                ws = self.ws
                send = ws.send
                limits = _FrameLimits(self.max_message_size)

                def accept(event: Any) -> bytes:
                    if isinstance(event, AcceptConnection):
                        # Only the limits: no permessage-deflate, which simple-websocket would
                        # accept, as the other backends and the reference (engine.io's default).
                        # wsproto inflates a frame whole: a message under the limit on the wire
                        # could take a thousand times more memory once inflated.
                        event = dataclasses.replace(event, extensions=[limits])
                    return send(event)

                ws.send = accept
                try:
                    super().handshake()
                finally:
                    del ws.send

            def _thread(self) -> None:
                try:
                    super()._thread()
                finally:
                    self.event.set()

        _simple_server = Server
    return _simple_server


class _GreenThread:
    """The ``threading.Thread`` shape simple-websocket wants, on a greenlet."""

    def __init__(self, c: Concurrency, target: Callable[[], None]) -> None:
        self._c = c
        self._target = target
        self.name = "gsio-websocket"
        self._greenlet: Any = None

    def start(self) -> None:
        self._greenlet = self._c.spawn(self._target)

    def join(self, timeout: float | None = None) -> None:
        if self._greenlet is not None:
            self._greenlet.join(timeout)
