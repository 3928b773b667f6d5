"""The WebSocket transport: direct sessions, the upgrade from polling, and three backends.

A backend is anything with this small interface:

- ``receive() -> str | bytes | None``: the next message; None once the connection is closed.
  Raises :class:`PayloadTooLarge` (after closing with 1009) for a message over the limit.
- ``send(data: str | bytes)``: one text or binary message; raises ``OSError`` when the peer is gone.
- ``close(code=1000)``: idempotent, never raises.
- ``abort()``: drop the connection at once, without a close frame (the client does not read
  what it is sent: see ``max_outbound_buffer``); a blocked ``send()`` fails, ``receive()``
  returns None. Idempotent, never raises.
- ``finish(start_response)``: what the WSGI app returns once the session is over.
- ``buffered``: True if ``send()`` only queues (it never blocks); the engine then writes to it
  directly, and it also has ``send_frames(data)`` (ready-made frames; False when it refused
  them for being over ``max_outbound_buffer``), ``backlog`` and ``buffered_bytes``.

:class:`~gsio.io.wsnative.NativeWebSocket` is gsio's own, on the socket that gsio's pywsgi handler
hands over (``gsio.serve``, ``gsio serve``): the fastest. :class:`GeventWebSocket` wraps
gevent-websocket's ``wsgi.websocket`` (its pywsgi handler and its gunicorn worker);
:class:`SimpleWebSocket` wraps simple-websocket, which takes the socket from any other WSGI
server (werkzeug, gunicorn's sync and gthread workers, plain gevent pywsgi).

Whatever the backend, the opening handshake is checked first, in one place
(:func:`check_handshake`, with :func:`gsio.protocol.frames.handshake_answer`): an invalid one gets 400
and the JSON error. The readers of the other backends refuse, as gsio's own does and with the
same close codes, unmasked frames (1002), a header announcing a message over the limit (1009,
before its payload) and a message in more than :data:`gsio.protocol.frames.MAX_FRAGMENTS` frames (1008).
"""

from __future__ import annotations

import logging
import socket as socketlib
import struct
from typing import TYPE_CHECKING, Any, Callable, Union

from gsio.exceptions import PayloadTooLarge, ProtocolError
from gsio.protocol import frames
from gsio.protocol.engineio import encode
from gsio.protocol.http import Response

if TYPE_CHECKING:
    from gsio.engine import Engine, EngineSocket

log = logging.getLogger("gsio.engine")

__all__ = ["handle", "check_handshake", "GeventWebSocket", "SimpleWebSocket"]

Data = Union[str, bytes]

_TOO_MANY_FRAGMENTS = f"message in over {frames.MAX_FRAGMENTS} fragments"


class GeventWebSocket:
    """gevent-websocket's ``wsgi.websocket``, read frame by frame so that nothing over
    ``max_payload`` is ever buffered."""

    buffered = False

    def __init__(self, ws: Any, max_payload: int) -> None:
        from geventwebsocket.exceptions import ProtocolError as FrameError
        from geventwebsocket.exceptions import WebSocketError
        from geventwebsocket.websocket import Header

        self._ws = ws
        self._header = Header
        self._max = max_payload
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
                    raise frames.FrameError(_TOO_MANY_FRAGMENTS, 1008)
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
                ws.handle_ping(header, payload)
                continue
            elif f_opcode == ws.OPCODE_PONG:
                continue
            elif f_opcode == ws.OPCODE_CLOSE:
                ws.handle_close(header, payload)
                return None
            else:
                raise self._frame_error(f"unknown opcode {f_opcode}")
            message += payload
            if header.fin:
                break
        if opcode == ws.OPCODE_TEXT:
            return message.decode("utf-8")
        return bytes(message)

    def send(self, data: Data) -> None:
        try:
            self._ws.send(data, binary=isinstance(data, bytes))
        except self._socket_error as exc:
            raise OSError(str(exc)) from None

    def close(self, code: int = 1000) -> None:
        ws = self._ws
        if ws.closed:
            return
        try:
            # Not ws.close(code): gevent-websocket 0.10 sends an empty close frame whatever the
            # code, and the client would see 1005 instead of (say) 1009.
            ws.send_frame(struct.pack("!H", code), opcode=ws.OPCODE_CLOSE)
        except Exception:  # the socket may be dead already
            pass
        ws.closed = True

    def abort(self) -> None:
        self._ws.closed = True
        try:
            self._ws.handler.socket.shutdown(socketlib.SHUT_RDWR)
        except (OSError, AttributeError):  # gone already
            pass

    def finish(self, start_response: Callable) -> list[bytes]:
        return []


class SimpleWebSocket:
    """simple-websocket's server on the raw socket the WSGI server gives up."""

    buffered = False

    def __init__(self, environ: dict, engine: Engine) -> None:
        import simple_websocket

        c = engine.concurrency
        kwargs: dict[str, Any] = {"max_message_size": engine.max_payload}
        if c.name == "gevent":
            kwargs["thread_class"] = lambda target: _GreenThread(c, target)
            kwargs["event_class"] = c.event
        self._closed_error = simple_websocket.ConnectionClosed
        # simple-websocket closes the socket it is given when the session ends, but the WSGI
        # server still owns it and writes its response on it: EBADF, which gunicorn logs as an
        # error. It gets a duplicate; finish() shuts the original down.
        self._sock = _server_socket(environ)
        if self._sock is not None:
            environ = dict(environ, **{"werkzeug.socket": _dup(self._sock)})
        self._ws = _simple_server_class()(environ, **kwargs)
        self._max = engine.max_payload
        self._close_lock = c.lock()
        _nodelay(self._ws.sock)

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
                message = ws.close_message if ws.close_reason != 1008 else _TOO_MANY_FRAGMENTS
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

    def send(self, data: Data) -> None:
        try:
            self._ws.send(data)
        except self._closed_error as exc:
            raise OSError(str(exc)) from None

    def close(self, code: int = 1000) -> None:
        # The writer and the reader may both close: the second waits until the first has sent
        # the close frame, so that finish() cannot shut the socket down before it leaves.
        with self._close_lock:
            try:
                self._ws.close(code)
            except Exception:  # closed already
                pass

    def abort(self) -> None:
        try:
            self._ws.sock.shutdown(socketlib.SHUT_RDWR)
        except OSError:
            pass

    def finish(self, start_response: Callable) -> list[bytes]:
        from wsproto.connection import ConnectionState

        # simple-websocket's reader answers the client's close frame after it has woken
        # receive(): let the answer leave before the shutdown (the client would see none).
        if self._ws.ws.state in (ConnectionState.REMOTE_CLOSING, ConnectionState.CLOSED):
            self._ws.thread.join(1.0)
        # The server still owns the connection and will write a response and read the next
        # request on it: shut it down so that both fail quietly (EPIPE / EOF).
        try:
            (self._sock or self._ws.sock).shutdown(socketlib.SHUT_RDWR)
        except OSError:
            pass
        return Response(200, [("Connection", "close")])(start_response)


def _server_socket(environ: dict) -> Any:
    """The connection's socket as the WSGI server holds it (None if it cannot be found).

    werkzeug and gunicorn put it in the environ; gevent's pywsgi and wsgiref (which Django's
    runserver is built on) have it behind ``wsgi.input``, a file on the socket that pywsgi
    wraps in an ``Input`` and Django in a ``LimitedStream``.
    """
    for key in ("werkzeug.socket", "gunicorn.socket"):
        if environ.get(key) is not None:
            return environ[key]
    stream = environ.get("wsgi.input")
    stream = getattr(stream, "rfile", stream)  # gevent's pywsgi
    stream = getattr(getattr(stream, "_read", None), "__self__", stream)  # Django's LimitedStream
    return getattr(getattr(stream, "raw", None), "_sock", None)


def _dup(sock: Any) -> Any:
    try:
        return sock.dup()
    except (NotImplementedError, OSError):  # an SSL socket cannot be duplicated
        return sock


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
                    return send(event)  # type: ignore[no-any-return]

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

    def __init__(self, c: Any, target: Callable[[], None]) -> None:
        self._c = c
        self._target = target
        self.name = "gsio-websocket"
        self._greenlet: Any = None

    def start(self) -> None:
        self._greenlet = self._c.spawn(self._target)

    def join(self, timeout: float | None = None) -> None:
        if self._greenlet is not None:
            self._greenlet.join(timeout)


def _nodelay(sock: Any) -> None:
    try:
        sock.setsockopt(socketlib.IPPROTO_TCP, socketlib.TCP_NODELAY, 1)
    except (OSError, AttributeError):
        pass


def check_handshake(environ: dict) -> bytes:
    """The ``101`` answer to the request's opening handshake (RFC 6455 4.2.1), checked once for
    every backend by :func:`gsio.protocol.frames.handshake_answer`; raises :class:`ProtocolError` for a
    request that is not a valid one (400, the JSON error code 3)."""
    return frames.handshake_answer(
        environ.get("REQUEST_METHOD", ""),
        environ.get("HTTP_UPGRADE", ""),
        environ.get("HTTP_CONNECTION", ""),
        environ.get("HTTP_SEC_WEBSOCKET_KEY", ""),
        environ.get("HTTP_SEC_WEBSOCKET_VERSION", ""),
        environ.get("SERVER_PROTOCOL", ""),
    )


def _accept(engine: Engine, environ: dict, answer: bytes) -> Any | None:
    """The backend for this (valid) handshake, or None when no backend can take it."""
    take_over = environ.get("gsio.websocket")
    if take_over is not None and engine.websocket != "simple-websocket":
        from gsio.io.wsnative import NativeWebSocket

        sock, rfile = take_over()
        return NativeWebSocket(sock, rfile, engine, answer)
    ws = environ.get("wsgi.websocket")
    if ws is not None and engine.websocket != "simple-websocket":
        return GeventWebSocket(ws, engine.max_payload)
    if "wsgi.websocket" in environ and ws is None:
        return None  # gevent-websocket's handler saw no valid upgrade
    try:
        return SimpleWebSocket(environ, engine)
    except Exception as exc:  # a server whose socket we cannot take
        log.info("websocket handshake failed: %r", exc)
        return None


def _refuse(engine: Engine, environ: dict, start_response: Callable, exc: ProtocolError) -> Any:
    """400 with the JSON error (logged once), on a connection that is not reused, as the
    reference's ``abortUpgrade``: the client may have sent frames behind its request."""
    from gsio.engine.server import _refused

    response = _refused(exc, environ)
    upgraded = environ.get("wsgi.websocket")
    if upgraded is not None:
        # gevent-websocket answered 101 already (a server without gsio's pre_start_hook).
        GeventWebSocket(upgraded, engine.max_payload).close(1002)
        return []
    if environ.get("HTTP_CONNECTION", "").lower() != "close":  # else _finish adds it
        response.headers.append(("Connection", "close"))
    return engine._finish(response, environ, start_response)


def handle(engine: Engine, environ: dict, start_response: Callable, sid: str | None) -> Any:
    """Serve a WebSocket request: a new session, or the upgrade of a polling one."""
    try:
        answer = check_handshake(environ)
    except ProtocolError as exc:
        return _refuse(engine, environ, start_response, exc)
    ws = _accept(engine, environ, answer)
    if ws is None:
        error = ProtocolError("no websocket backend can take the connection")
        return _refuse(engine, environ, start_response, error)
    in_loop = False  # the event loop reads the connection from now on: it outlives the request
    try:
        if sid is None:
            in_loop = _serve_direct(engine, ws, environ)
        else:
            socket = engine.sockets.get(sid)
            if socket is not None:
                in_loop = _serve_upgrade(engine, socket, ws)
    except Exception:
        log.exception("websocket session failed")
    finally:
        if not in_loop:
            ws.close()
    return ws.finish(start_response)


def _serve_direct(engine: Engine, ws: Any, environ: dict) -> bool:
    socket = engine.open_session("websocket", environ)
    try:
        ws.send(encode(socket.session.open_packet()))  # the OPEN comes before anything else
    except OSError:
        socket.terminate("transport close")
        return False
    socket.ws = ws
    engine.handler.on_open(socket)
    socket.start_heartbeat()
    return _read_loop(socket, ws)


def _serve_upgrade(engine: Engine, socket: EngineSocket, ws: Any) -> bool:
    session = socket.session
    if session.transport != "polling" or not session.upgrades or socket.closed:
        log.info("%s: refused a second websocket", socket.sid)
        return False
    c = engine.concurrency

    def timed_out() -> None:
        # Abort here, not when the reader notices: it only wakes once the peer answers the close.
        with socket._lock:
            if socket.ws is ws:
                return  # the upgrade finished just in time
            session.abort_upgrade()
        log.info(
            "%s: no upgrade within %s s; staying on polling", socket.sid, engine.upgrade_timeout
        )
        ws.close()

    timer = c.call_later(engine.upgrade_timeout, lambda: c.spawn(timed_out))
    try:
        if ws.receive() != "2probe":
            return False
        try:
            with socket._lock:
                answer = session.start_upgrade()
        except ProtocolError as exc:
            log.info("%s: %s", socket.sid, exc.message)
            return False
        ws.send(encode(answer))
        socket._wake_get()  # the pending GET ends with a NOOP so that the client can pause
        if ws.receive() != "5":
            with socket._lock:
                session.abort_upgrade()
            return False
        with socket._lock:
            session.finish_upgrade()
            socket.ws = ws
    except (OSError, ProtocolError) as exc:
        log.info("%s: upgrade failed: %r", socket.sid, exc)
        with socket._lock:
            session.abort_upgrade()
        return False
    finally:
        timer.cancel()
    socket._kick()  # what was queued while upgrading goes out first, in order
    return _read_loop(socket, ws)


def _read_loop(socket: EngineSocket, ws: Any) -> bool:
    """Read the session's messages until it ends; True if the event loop reads them instead
    (a backend that can, and a handler that never blocks): the request may end at once."""
    in_loop = ws.buffered and getattr(socket.engine.handler, "nonblocking", False)
    if in_loop and ws.read_in_loop(socket):
        return True
    receive = ws.receive
    receive_frame = socket.receive_frame
    while not socket.closed:
        try:
            frame = receive()
            if frame is None:
                socket.terminate("transport close")
                break
            receive_frame(frame)
        except ProtocolError as exc:
            log.info("%s: %s; closing the session", socket.sid, exc.message)
            socket.terminate(exc.reason, notify_client=not isinstance(exc, PayloadTooLarge))
            break
    socket.join_writer()
    return False
