"""gsio's own WebSocket transport: the frame codec of :mod:`gsio.protocol.frames` on the connection's
socket, which gsio's pywsgi handler (:mod:`gsio.io.handler`) hands over. Under gevent only.

Reading: one ``recv()`` may bring several frames, all parsed at once; masks are removed by
``websockets.speedups`` when it is installed (C), else by :func:`gsio.protocol.frames.unmask`. Once a
session is under way, the event loop reads the connection (:meth:`NativeWebSocket.read_in_loop`:
a watcher on its socket calls the engine for each message), so no greenlet waits on it and the
WSGI request that opened it ends: what a connection costs is its session, not a request's
greenlet and stack. The blocking :meth:`NativeWebSocket.receive` serves the upgrade's probe and
handlers that must block (``EngineHandler.nonblocking = False``).

Writing (:mod:`gsio.io.wsnative_writer`) never blocks and spawns nothing while the client
keeps up: ready-made frames are queued on the connection and written, several in one ``send()``,
once the running greenlet yields.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from gsio.exceptions import PayloadTooLarge, ProtocolError
from gsio.io.geventpriv import SocketReader
from gsio.io.websocket import MessageSink, WebSocketConfig, message_frame
from gsio.io.wsnative_writer import Flusher, NativeWriter
from gsio.protocol import frames

_unmask: Callable[[bytes, bytes], bytes] = frames.unmask
try:  # C unmasking, much faster than the pure-Python one on long messages
    from websockets.speedups import apply_mask

    _unmask = apply_mask
except ImportError:  # pragma: no cover - depends on what is installed
    pass

__all__ = ["NativeWebSocket", "Flusher", "message_frame", "CLOSE_TIMEOUT"]

log = logging.getLogger("gsio.engine")

#: Seconds to wait for the client's close frame after the server sent its own; then the
#: connection is dropped.
CLOSE_TIMEOUT = 3.0

_RECV_SIZE = 65536

_NONE: list[Any] = []  # no events (never appended to)
_frame = frames.frame
_OP_PONG = frames.OP_PONG


def _no_wait() -> None:
    """No waiting: the event loop reads, or TLS (never called)."""


class NativeWebSocket(NativeWriter):
    """gsio's own :class:`~gsio.io.websocket.WebSocket`, on a socket taken from gsio's handler.

    :meth:`send` and :meth:`send_frames` (:class:`~gsio.io.wsnative_writer.NativeWriter`)
    queue and return at once; :meth:`read_in_loop` hands the reading to the event loop.
    """

    __slots__ = (
        "_rfile",
        "_wait_read",
        "_drained",
        "_reader",
        "_events",
        "_next",
        "_close_received",
        "_esock",
        "_watch",
    )

    def __init__(
        self,
        sock: Any,
        rfile: Any,
        config: WebSocketConfig,
        greeting: bytes,
        inflate: Callable[[bytes], bytes] | None = None,
    ) -> None:
        """``sock`` and ``rfile`` come from the handler's take-over; ``greeting`` is the 101
        answer, written at once and on its own (some clients, simple-websocket's among them,
        read nothing past the handshake's answer until more data arrives); ``inflate``, when
        per-message deflate was agreed, inflates compressed messages (see
        :class:`gsio.protocol.frames.FrameReader`)."""
        super().__init__(sock, config.concurrency, config.max_outbound_buffer)
        self._rfile = rfile  # may hold bytes read past the request's headers
        # Waits until the socket has something to read (only used on a plain socket).
        self._wait_read = self._c.read_waiter(sock) if self._raw is not None else _no_wait
        self._drained = False  # the last read emptied the socket
        self._reader = frames.FrameReader(config.max_payload, _unmask, inflate=inflate)
        self._events: list[Any] = []  # what the last read brought, from _next on
        self._next = 0
        self._close_received = False
        self._esock: Any = None  # the session (a MessageSink), once the event loop reads for it
        self._watch: Any = None  # the read watcher then
        try:
            sent = self._raw.send(greeting) if self._raw is not None else 0
            if sent < len(greeting):
                sock.sendall(greeting[sent:])
        except BlockingIOError:
            sock.sendall(greeting)
        except OSError:
            self._broken = True

    # -- reading ---------------------------------------------------------------------------

    def receive(self) -> str | bytes | None:
        """The next message; None once the connection is closed (the client's close frame is
        answered). Raises :class:`PayloadTooLarge` or :class:`frames.FrameError` (after closing
        with 1009, 1002 or 1007) for a frame the protocol does not allow."""
        while True:
            events = self._events
            n = self._next
            while n < len(events):
                event = events[n]
                n += 1
                kind = type(event)
                if kind is str or kind is bytes:
                    if self._close_sent:
                        continue  # the server is closing: what the client still sends is dropped
                    self._next = n
                    return event
                if kind is frames.Ping:
                    self.send_frames(_frame(_OP_PONG, event.payload))
                elif kind is frames.Close:
                    self._next = n
                    self._close_received = True
                    self.close(1000 if event.code == 1005 else event.code)
                    self._cancel_timer()
                    return None
            self._events = _NONE
            self._next = 0
            if self._close_received or self._broken:
                return None
            data = self._read()
            if not data:
                self._broken = True
                self._cancel_timer()
                return None
            try:
                self._events = self._reader.feed(data)
            except frames.FrameError as exc:
                self.close(exc.close_code)
                if exc.close_code == 1009:
                    raise PayloadTooLarge() from None
                raise

    def _read(self) -> bytes:
        raw = self._raw
        try:
            if self._rfile is not None:
                # The first read takes what the handler's buffered reader may hold already (a
                # client may send frames right behind its handshake); then its buffer is freed.
                rfile, self._rfile = self._rfile, None
                data = rfile.read1(_RECV_SIZE)
                rfile.close()
                return data
            if raw is None:
                return self._sock.recv(_RECV_SIZE)
            if self._drained:
                # The last read emptied the socket: a recv() now would most likely fail with
                # EAGAIN, a wasted system call per message. Wait until there is something.
                self._wait_read()
            while True:
                try:
                    data = raw.recv(_RECV_SIZE)
                    break
                except BlockingIOError:
                    self._wait_read()
            self._drained = len(data) < _RECV_SIZE
            return data
        except (OSError, ValueError):  # reset, or closed under a pending read
            return b""

    # -- reading in the event loop ----------------------------------------------------------

    def read_in_loop(self, sink: MessageSink) -> bool:
        """From now on the event loop reads the connection and feeds ``sink`` (the engine's
        session): the request's greenlet may end, and the connection outlives it. False (and
        nothing changes) while a writer is busy with the socket."""
        if self._writer is not None or self._broken or self._close_sent or self._raw is None:
            return False  # a busy writer, or TLS: the TLS state lives in the server's socket
        sock = self._sock
        early = b""
        rfile = self._rfile
        if rfile is not None:
            self._rfile = None
            # What the request's buffered reader holds: under gsio's handler without a system
            # call (what is still in the socket is the loop's watcher's to read), else with
            # one read that does not wait.
            reader = getattr(rfile, "raw", None)
            held = isinstance(reader, SocketReader)
            if held:
                reader.hold()  # type: ignore[union-attr]
            else:
                sock.settimeout(0.0)
            try:
                early = rfile.read1(_RECV_SIZE)
            except (OSError, ValueError):
                early = b""
            if not held:
                sock.settimeout(None)
            rfile.close()
        # The WSGI server closes the socket it handed over once the request ends: keep the
        # connection in a socket object of our own, a plain (non-blocking) one: the loop's
        # watcher waits for it, and a writer, when there is one, waits with wait_write.
        raw = self._raw  # (its family and type are ints; the gevent socket's, enums made per call)
        own = type(raw)(raw.family, raw.type, raw.proto, sock.detach())
        self._sock = self._raw = own
        self._wait_read = _no_wait
        self._esock = sink
        self._watch = self._c.watch_read(own.fileno(), self._on_readable)
        # Messages the blocking reads parsed but did not hand out (those right behind the
        # upgrade's "5"), then what the request's reader held.
        pending = self._events[self._next :]
        self._events = _NONE
        self._next = 0
        if pending:
            self._dispatch(pending)
        if early and not self._ending:
            self._on_data(early)
        return True

    def _on_readable(self) -> None:
        # In the event loop: must not block.
        try:
            data = self._raw.recv(_RECV_SIZE)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        try:
            if data and not self._close_sent:
                # The common cases, made short: one message (an event, an ack), or several,
                # parsed and handed to the engine.
                text = self._reader.feed_text(data)
                if text is not None:
                    self._esock.receive_frame(text)
                    return
                events = self._reader.feed(data)
                if len(events) == 1 and type(events[0]) is str:
                    self._esock.receive_frame(events[0])
                    return
                self._dispatch(events)
                return
            self._on_data(data)
        except frames.FrameError as exc:
            self._refuse(exc)
        except ProtocolError as exc:
            log.info("%s: %s; closing the session", self._esock.sid, exc.message)
            self._esock.terminate(exc.reason, notify_client=True)
        except Exception:  # a bug: the session ends, the loop goes on
            log.exception("%s: websocket reader failed", self._esock.sid)
            self._esock.terminate("transport error", notify_client=True)
            self._end()

    def _on_data(self, data: bytes) -> None:
        esock = self._esock
        if not data:  # the client is gone
            self._broken = True
            esock.terminate("transport close")
            self._end()
            return
        try:
            events = self._reader.feed(data)
        except frames.FrameError as exc:
            self._refuse(exc)
            return
        self._dispatch(events)

    def _refuse(self, exc: frames.FrameError) -> None:
        """A frame the protocol does not allow: close with its code and end the session; then
        the client's close frame, the end of the stream, or the close timer ends the rest."""
        self.close(exc.close_code)
        log.info("%s: %s; closing the session", self._esock.sid, exc.message)
        self._esock.terminate(exc.reason, notify_client=exc.close_code != 1009)

    def _dispatch(self, events: list[Any]) -> None:
        esock = self._esock
        for event in events:
            kind = type(event)
            if kind is str or kind is bytes:
                if self._close_sent:
                    continue  # the server is closing: what the client still sends is dropped
                try:
                    esock.receive_frame(event)
                except ProtocolError as exc:
                    log.info("%s: %s; closing the session", esock.sid, exc.message)
                    esock.terminate(exc.reason, notify_client=True)
            elif kind is frames.Ping:
                self.send_frames(_frame(_OP_PONG, event.payload))
            elif kind is frames.Close:
                self._close_received = True
                self.close(1000 if event.code == 1005 else event.code)
                esock.terminate("transport close")
                self._end()
                return

    def _end(self) -> None:
        """Stop reading, let what is queued leave (the close frame), then close the socket."""
        if self._ending:
            return
        self._ending = True
        if self._watch is not None:
            self._watch.cancel()
            self._watch = None
        # Nothing reads for the session any more: let go of it, so that the session and this
        # connection (which it holds) are freed by reference counting, not left in a cycle.
        self._esock = None
        self._cancel_timer()
        if self._out and self._writer is None:
            self._flush()
        if self._writer is None:  # else the writer closes it once the queue is written
            self._close_socket()

    def close(self, code: int = 1000) -> None:
        """Queue the close frame (once); the connection is dropped if the client has not
        answered it within :data:`CLOSE_TIMEOUT` seconds."""
        if self._close_sent:
            return
        self.send_frames(frames.close_frame(code))
        self._close_sent = True
        if not self._close_received and not self._broken:
            self._timer = self._c.call_later(CLOSE_TIMEOUT, self._shutdown)

    def finish(self, start_response: Callable) -> list[bytes]:
        """After the session: let the queue leave, wait for the client's close frame (within
        the close timeout), then shut the connection down. The handler writes no response.
        When the event loop reads the connection, the request ends here and the session goes
        on."""
        if self._esock is not None or self._ending:
            return []  # the event loop reads (or has read) the connection
        self.close()
        try:
            while not self._close_received and not self._broken:
                self.receive()
        except Exception:  # a bad frame after the close: the connection goes anyway
            pass
        if self._out and self._writer is None:
            self._flush()
        writer = self._writer
        if writer is not None:
            writer.join(CLOSE_TIMEOUT)
        self._cancel_timer()
        self._shutdown()
        return []
