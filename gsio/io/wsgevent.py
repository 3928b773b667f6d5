"""The WebSocket backend on gevent-websocket's ``wsgi.websocket`` (its pywsgi handler and its
gunicorn worker): gsio reads it frame by frame, so that nothing over ``max_payload`` is ever
buffered, and writes ready-made frames through a :class:`~gsio.io.wswriter.QueuedWriter`."""

from __future__ import annotations

import socket as socketlib
from typing import Any, Callable

from gsio.exceptions import PayloadTooLarge, ProtocolError
from gsio.io.websocket import TOO_MANY_FRAGMENTS, Data, MessageSink, WebSocketConfig
from gsio.io.wswriter import QueuedWriter
from gsio.protocol import frames

__all__ = ["GeventWebSocket"]


class GeventWebSocket(QueuedWriter):
    """A :class:`~gsio.io.websocket.WebSocket` on gevent-websocket's ``wsgi.websocket``."""

    def __init__(self, ws: Any, config: WebSocketConfig) -> None:
        from geventwebsocket.exceptions import ProtocolError as FrameError
        from geventwebsocket.exceptions import WebSocketError
        from geventwebsocket.websocket import Header

        super().__init__(config)
        self._ws = ws
        # The connection's own write, kept: gevent-websocket drops its stream once closed.
        self._sendall: Callable[[bytes], Any] = ws.stream.write
        self._header = Header
        self._max = config.max_payload
        self._frame_error = FrameError
        self._socket_error = WebSocketError

    def receive(self) -> Data | None:
        ws = self._ws
        if ws.closed:
            return None
        try:
            return self._read_message()
        except PayloadTooLarge:
            self.close(1009)
            raise
        except frames.FrameError as exc:
            self.close(exc.close_code)
            raise
        except UnicodeError:
            self.close(1007)
            raise ProtocolError("invalid UTF-8 in a text frame", reason="transport error") from None
        except self._frame_error:
            self.close(1002)
            raise ProtocolError("websocket protocol error", reason="transport error") from None
        except (OSError, self._socket_error):
            self.close()
            return None

    def _read_message(self) -> Data | None:
        ws = self._ws
        opcode = None
        message = bytearray()
        fragments = 0
        while True:
            header = self._header.decode_header(ws.stream)
            if header.flags:
                raise self._frame_error("reserved bits set")
            if not header.mask:
                raise frames.FrameError("unmasked frame from a client")
            if header.opcode in (0, 1, 2):
                if len(message) + header.length > self._max:
                    raise PayloadTooLarge()
                fragments += 1
                if fragments > frames.MAX_FRAGMENTS:
                    raise frames.FrameError(TOO_MANY_FRAGMENTS, 1008)
            payload = ws.raw_read(header.length) if header.length else b""
            if len(payload) != header.length:
                return None  # EOF inside a frame
            payload = header.unmask_payload(payload)
            f_opcode = header.opcode
            if f_opcode in (ws.OPCODE_TEXT, ws.OPCODE_BINARY):
                if opcode:
                    raise self._frame_error("new message inside a fragmented one")
                opcode = f_opcode
            elif f_opcode == ws.OPCODE_CONTINUATION:
                if not opcode:
                    raise self._frame_error("continuation without a message")
            elif f_opcode == ws.OPCODE_PING:
                self.send_frames(frames.frame(frames.OP_PONG, bytes(payload)))
                continue
            elif f_opcode == ws.OPCODE_PONG:
                continue
            elif f_opcode == ws.OPCODE_CLOSE:
                ws.handle_close(header, payload)  # checks the frame and answers it
                self._closed_by_peer()
                return None
            else:
                raise self._frame_error(f"unknown opcode {f_opcode}")
            message += payload
            if header.fin:
                break
        if opcode == ws.OPCODE_TEXT:
            return message.decode("utf-8")
        return bytes(message)

    def read_in_loop(self, sink: MessageSink) -> bool:
        return False  # gevent-websocket reads in the request's greenlet

    def _write(self, data: bytes) -> None:
        self._sendall(data)

    def _send_close(self, code: int) -> None:
        ws = self._ws
        if ws.closed:
            return
        try:
            # Not ws.close(code): gevent-websocket 0.10 sends an empty close frame whatever the
            # code, and the client would see 1005 instead of (say) 1009.
            self._sendall(frames.close_frame(code))
        except Exception:  # the socket may be dead already
            pass
        ws.closed = True

    def _shutdown(self) -> None:
        self._ws.closed = True
        try:
            self._ws.handler.socket.shutdown(socketlib.SHUT_RDWR)
        except (OSError, AttributeError):  # gone already
            pass

    def finish(self, start_response: Callable[..., object]) -> list[bytes]:
        self.finish_writing()
        return []
