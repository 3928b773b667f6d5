"""gsio's own WebSocket transport: the frame codec of :mod:`gsio.protocol.frames` on the connection's
socket, which gsio's pywsgi handler (:mod:`gsio.io.handler`) hands over. Under gevent only.

Reading: one ``recv()`` may bring several frames, all parsed at once; masks are removed by
``websockets.speedups`` when it is installed (C), else by :func:`gsio.protocol.frames.unmask`. Once a
session is under way, the event loop reads the connection (:meth:`NativeWebSocket.read_in_loop`:
a watcher on its socket calls the engine for each message), so no greenlet waits on it and the
WSGI request that opened it ends: what a connection costs is its session, not a request's
greenlet and stack. The blocking :meth:`NativeWebSocket.receive` serves the upgrade's probe and
handlers that must block (``EngineHandler.nonblocking = False``).

Writing never blocks and spawns nothing while the client keeps up. :meth:`send_frames` queues
ready-made frames on the connection; a :class:`Flusher` writes every connection's queue in
one ``send()`` once the running greenlet yields, or at once during a long burst (a broadcast
loop), so that the first frames leave while the rest are still being queued. Only a connection
whose kernel buffer is full gets a writer greenlet, until its backlog is written. Only then
is what waits counted (a client that keeps up costs nothing more): once more than the engine's
``max_outbound_buffer`` waits, :meth:`send_frames` refuses and drops the connection.
"""

from __future__ import annotations

import logging
import socket as socketlib
import sys
from typing import Any, Callable

from gsio.exceptions import PayloadTooLarge, ProtocolError
from gsio.protocol import frames

try:  # C unmasking, much faster than the pure-Python one on long messages
    from websockets.speedups import apply_mask as _unmask
except ImportError:  # pragma: no cover - depends on what is installed
    _unmask = frames.unmask

__all__ = ["NativeWebSocket", "Flusher", "message_frame", "CLOSE_TIMEOUT"]

log = logging.getLogger("gsio.engine")

#: Seconds to wait for the client's close frame after the server sent its own; then the
#: connection is dropped.
CLOSE_TIMEOUT = 3.0

_RECV_SIZE = 65536
# During a burst (a greenlet queueing frames without yielding, such as a broadcast loop), the
# queues are written once they hold this many frames per connection on average, plus
# _BURST_MIN: none for the first write of a burst (after _BURST_MIN frames, so that the first
# clients get theirs at once), then 1, 2, 4, up to _BURST_MOST, so that a long burst is
# written in batches of several frames per send().
_BURST_MOST = 8
_BURST_MIN = 64

_NONE: list[Any] = []  # no events (never appended to)
_text_frame = frames.text_frame
_frame = frames.frame
_OP_BINARY = frames.OP_BINARY
_OP_PONG = frames.OP_PONG


def message_frame(data: str | bytes) -> bytes:
    """The frame of one Engine.IO message already encoded (text: ``str``, binary: ``bytes``)."""
    if type(data) is str:
        return _text_frame(data)
    return _frame(_OP_BINARY, data)  # type: ignore[arg-type]


class Flusher:
    """Writes the frames that connections queued, one ``send()`` per connection, when the
    running greenlet yields (or sooner, in a burst). One per event loop."""

    __slots__ = ("_c", "_dirty", "_scheduled", "_queued", "_factor")

    def __init__(self, concurrency: Any) -> None:
        self._c = concurrency
        self._dirty: list[NativeWebSocket] = []
        self._scheduled = False
        self._queued = 0
        self._factor = 0

    def add(self, ws: NativeWebSocket) -> None:
        """``ws`` queued its first frame since it was last written."""
        self._dirty.append(ws)
        if not self._scheduled:
            self._scheduled = True
            self._c.call_soon(self._run)
        self._queued += 1
        if self._queued >= self._factor * len(self._dirty) + _BURST_MIN:
            self.flush()
            self._factor = min(self._factor * 2, _BURST_MOST) or 1

    def more(self) -> None:
        """One more frame queued."""
        self._queued += 1
        if self._queued >= self._factor * len(self._dirty) + _BURST_MIN:
            self.flush()
            self._factor = min(self._factor * 2, _BURST_MOST) or 1

    def _run(self) -> None:
        self._scheduled = False
        self._factor = 0  # the burst, if any, is over
        self.flush()

    def flush(self) -> None:
        dirty, self._dirty = self._dirty, []
        self._queued = 0
        for ws in dirty:
            ws._flush()


_flushers: dict[int, Flusher] = {}


def _flusher_for(concurrency: Any) -> Flusher:
    flusher = _flushers.get(id(concurrency))
    if flusher is None:
        flusher = _flushers[id(concurrency)] = Flusher(concurrency)
    return flusher


class NativeWebSocket:
    """A WebSocket backend (see :mod:`gsio.engine.websocket`) on a socket taken from gsio's handler.

    ``buffered``: :meth:`send` and :meth:`send_frames` queue and return at once, so the
    engine writes to it directly, without a writer of its own.
    """

    buffered = True

    __slots__ = (
        "_sock",
        "_raw",
        "_rfile",
        "_wait_read",
        "_drained",
        "_c",
        "_flusher",
        "_reader",
        "_events",
        "_next",
        "_out",
        "_out_bytes",
        "_limit",
        "_dirty",
        "_writer",
        "_close_sent",
        "_close_received",
        "_broken",
        "_timer",
        "_esock",
        "_watch",
        "_ending",
    )

    def __init__(self, sock: Any, rfile: Any, engine: Any, greeting: bytes) -> None:
        """``sock`` and ``rfile`` come from the handler's take-over; ``greeting`` is the 101
        answer, written at once and on its own (some clients, simple-websocket's among them,
        read nothing past the handshake's answer until more data arrives)."""
        self._sock = sock
        # Writes try the non-blocking socket under gevent's first: it never waits. Not on TLS,
        # where only the wrapper may write.
        raw = getattr(sock, "_sock", None)
        self._raw = None if raw is None or hasattr(sock, "_sslobj") else raw
        self._rfile = rfile  # may hold bytes read past the request's headers
        self._c = engine.concurrency
        self._wait_read = self._c.read_waiter(sock) if self._raw is not None else None
        self._drained = False  # the last read emptied the socket
        self._flusher = _flusher_for(self._c)
        self._reader = frames.FrameReader(engine.max_payload, _unmask)
        self._events: list[Any] = []  # what the last read brought, from _next on
        self._next = 0
        self._out: list[bytes] = []
        self._out_bytes = 0  # while a writer runs: in _out, and what it has left of what it took
        limit = engine.max_outbound_buffer
        self._limit = sys.maxsize if limit is None else limit
        self._dirty = False
        self._writer: Any = None
        self._close_sent = False
        self._close_received = False
        self._broken = False
        self._timer: Any = None
        self._esock: Any = None  # the session, once the event loop reads for it
        self._watch: Any = None  # the read watcher then
        self._ending = False  # the connection is being closed (in the loop)
        try:
            sent = self._raw.send(greeting) if self._raw is not None else 0
            if sent < len(greeting):
                sock.sendall(greeting[sent:])
        except BlockingIOError:
            sock.sendall(greeting)
        except OSError:
            self._broken = True

    @property
    def backlog(self) -> bool:
        """True while frames wait to be written: as Node's "not writable" during a write, it
        is what a volatile message is dropped for."""
        return bool(self._out)

    @property
    def buffered_bytes(self) -> int:
        """Bytes queued and not yet written to the socket."""
        if self._writer is None:
            return sum(map(len, self._out))  # what the next flush writes
        return self._out_bytes

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
                    return event  # type: ignore[no-any-return]
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
                return data  # type: ignore[no-any-return]
            if raw is None:
                return self._sock.recv(_RECV_SIZE)  # type: ignore[no-any-return]
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
            return data  # type: ignore[no-any-return]
        except (OSError, ValueError):  # reset, or closed under a pending read
            return b""

    # -- reading in the event loop ----------------------------------------------------------

    def read_in_loop(self, esock: Any) -> bool:
        """From now on the event loop reads the connection and feeds ``esock`` (the engine's
        session): the request's greenlet may end, and the connection outlives it. False (and
        nothing changes) while a writer is busy with the socket."""
        if self._writer is not None or self._broken or self._close_sent or self._raw is None:
            return False  # a busy writer, or TLS: the TLS state lives in the server's socket
        sock = self._sock
        early = b""
        if self._rfile is not None:
            # What the request's buffered reader holds, or one read that does not wait.
            sock.settimeout(0.0)
            try:
                early = self._rfile.read1(_RECV_SIZE)
            except (OSError, ValueError):
                early = b""
            self._rfile.close()
            self._rfile = None
            sock.settimeout(None)
        # The WSGI server closes the socket it handed over once the request ends: keep the
        # connection in a socket object of our own, a plain (non-blocking) one: the loop's
        # watcher waits for it, and a writer, when there is one, waits with wait_write.
        family, kind, proto = sock.family, sock.type, sock.proto
        own = type(self._raw)(family, kind, proto, sock.detach())
        self._sock = self._raw = own
        self._wait_read = None
        self._esock = esock
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
                # The common case, made short: messages, parsed and handed to the engine.
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
        self._cancel_timer()
        if self._out and self._writer is None:
            self._flush()
        if self._writer is None:  # else the writer closes it once the queue is written
            self._close_socket()

    def _close_socket(self) -> None:
        self._shutdown()
        self._sock.close()
        self._broken = True

    # -- writing ---------------------------------------------------------------------------

    def send(self, data: str | bytes) -> None:
        """Queue one text (``str``) or binary (``bytes``) message."""
        self.send_frames(message_frame(data))

    def send_frames(self, data: bytes) -> bool:
        """Queue ready-made frames (one or several, as bytes); never blocks. Dropped once the
        close frame is queued or the connection is gone. False when more than the engine's
        ``max_outbound_buffer`` waits already: the client does not read what it is sent, so
        the connection is dropped (:meth:`abort`) and the caller ends the session."""
        if self._close_sent or self._broken:
            return True
        if self._writer is not None:  # the socket's buffer is full: a backlog
            if self._out_bytes > self._limit:
                self.abort()
                return False
            self._out_bytes += len(data)
            self._out.append(data)
            return True  # the writer takes it with the rest
        self._out.append(data)
        if self._dirty:
            self._flusher.more()
        else:
            self._dirty = True
            self._flusher.add(self)
        return True

    def _flush(self) -> None:
        """Write the queue in one non-blocking ``send()``; a writer takes what does not fit."""
        self._dirty = False
        out = self._out
        if not out or self._writer is not None:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        sent = 0
        if self._raw is not None:
            try:
                sent = self._raw.send(data)
            except BlockingIOError:
                pass
            except OSError as exc:
                self._lost(exc)
                return
        if sent < len(data):
            out.append(data[sent:])
            self._out_bytes = len(data) - sent
            self._writer = self._c.spawn(self._drain)

    def _drain(self) -> None:
        """The writer: waits for the socket, writes the backlog, and ends once it is empty."""
        out = self._out
        raw = self._raw
        try:
            while out:
                data = out[0] if len(out) == 1 else b"".join(out)
                out.clear()
                if raw is None:
                    self._sock.sendall(data)
                    self._out_bytes -= len(data)
                    continue
                view = memoryview(data)
                while view:
                    try:
                        sent = raw.send(view)
                    except BlockingIOError:
                        self._c.wait_write(raw.fileno())
                        continue
                    view = view[sent:]
                    self._out_bytes -= sent
        except OSError as exc:
            self._lost(exc)
        finally:
            self._out_bytes = 0
            self._writer = None
            if self._ending:
                self._close_socket()

    def _lost(self, exc: Exception) -> None:
        log.debug("websocket write failed: %r", exc)
        self._broken = True
        self._out.clear()
        self._out_bytes = 0

    def abort(self) -> None:
        """Drop what is queued and the connection, at once: its reader sees the end (and the
        session's, if not closed already, ends with "transport close"), a writer fails."""
        if self._broken:
            return
        log.debug("websocket aborted with %d bytes unwritten", self._out_bytes)
        self._broken = True
        self._out.clear()
        self._out_bytes = 0
        self._cancel_timer()
        self._shutdown()

    # -- closing ---------------------------------------------------------------------------

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
        if self._esock is not None:
            return []
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

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _shutdown(self) -> None:
        # Runs in the hub from the close timer: wakes the reader (EOF: in the loop, the watcher
        # fires and the connection ends) and any writer (EPIPE).
        try:
            self._sock.shutdown(socketlib.SHUT_RDWR)
        except OSError:
            pass
