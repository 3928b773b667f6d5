"""gsio's own WebSocket frame layer, its writing half: :class:`NativeWriter` queues ready-made
frames on a connection, and a :class:`Flusher` writes every connection's queue in one
``send()`` once the running greenlet yields, or at once during a long burst (a broadcast loop),
so that the first frames leave while the rest are still being queued.

Writing never blocks and spawns nothing while the client keeps up. Only a connection whose
kernel buffer is full gets a writer greenlet, until its backlog is written. Only then is what
waits counted (a client that keeps up costs nothing more): once more than the engine's
``max_outbound_buffer`` waits, :meth:`NativeWriter.send_frames` refuses and drops the
connection.
"""

from __future__ import annotations

import logging
import socket as socketlib
import sys
from typing import Any

from gsio.io.concurrency import Concurrency, Timer
from gsio.io.websocket import Data, message_frame

__all__ = ["NativeWriter", "Flusher"]

log = logging.getLogger("gsio.engine")

# During a burst (a greenlet queueing frames without yielding, such as a broadcast loop), the
# queues are written once they hold this many frames per connection on average, plus
# _BURST_MIN: none for the first write of a burst (after _BURST_MIN frames, so that the first
# clients get theirs at once), then only every _BURST_MOST: the rest waits until the greenlet
# yields (or pauses, see Concurrency.pause). A send() costs about as much as queueing a dozen
# frames, and the loop that queues them holds the emitting handler's answer (its ack) and every
# other connection until it ends: few, large writes make it end soonest.
# _BURST_MOST bounds what waits in a very long burst: a broadcast's recipients share its frame
# (one bytes object), so what waits costs a list slot per frame and connection.
_BURST_MOST = 256
_BURST_MIN = 64

# A writer writes its backlog in pieces of about this many bytes, whole frames each, so that a
# heartbeat (send_control) waits behind one piece at most.
_PIECE = 65536


class Flusher:
    """Writes the frames that connections queued, one ``send()`` per connection, when the
    running greenlet yields (or sooner, in a burst). One per event loop."""

    __slots__ = ("_c", "_dirty", "_scheduled", "_queued", "_factor", "_last")

    def __init__(self, concurrency: Concurrency) -> None:
        self._c = concurrency
        self._dirty: list[NativeWriter] = []
        self._scheduled = False
        self._queued = 0
        self._factor = 0
        self._last: NativeWriter | None = None  # the connection queued to last

    def add(self, ws: NativeWriter) -> None:
        """``ws`` queued its first frame since it was last written."""
        self._dirty.append(ws)
        self._last = ws
        if not self._scheduled:
            self._scheduled = True
            self._c.call_soon(self._run)
        self._queued += 1
        if self._queued >= self._factor * len(self._dirty) + _BURST_MIN:
            self._burst()

    def more(self) -> None:
        """One more frame queued."""
        self._queued += 1
        if self._queued >= self._factor * len(self._dirty) + _BURST_MIN:
            self._burst()

    def _burst(self) -> None:
        self.flush()
        self._factor = _BURST_MOST

    def _run(self) -> None:
        self._scheduled = False
        self._factor = 0  # the burst, if any, is over
        last, self._last = self._last, None
        if last is not None:
            # First the connection queued to last: after a burst, the handler's answer (its
            # ack) to the client that asked for it, which need not wait for every recipient's.
            last._flush()
        self.flush()

    def flush(self) -> None:
        dirty, self._dirty = self._dirty, []
        self._queued = 0
        for ws in dirty:
            ws._flush()


_flushers: dict[int, Flusher] = {}


def _flusher_for(concurrency: Concurrency) -> Flusher:
    flusher = _flushers.get(id(concurrency))
    if flusher is None:
        flusher = _flushers[id(concurrency)] = Flusher(concurrency)
    return flusher


class NativeWriter:
    """The writing half of :class:`~gsio.io.wsnative.NativeWebSocket`: a queue of frames on
    the connection's socket, written by the :class:`Flusher` or, while the socket's buffer is
    full, by a writer greenlet."""

    __slots__ = (
        "_sock",
        "_raw",
        "_c",
        "_flusher",
        "_out",
        "_out_bytes",
        "_limit",
        "_dirty",
        "_writer",
        "_close_sent",
        "_broken",
        "_timer",
        "_ending",
        "_split",
    )

    def __init__(self, sock: Any, concurrency: Concurrency, limit: int | None) -> None:
        self._sock = sock
        # Writes try the non-blocking socket under gevent's first: it never waits. Not on TLS,
        # where only the wrapper may write.
        raw = getattr(sock, "_sock", None)
        self._raw: Any = None if raw is None or hasattr(sock, "_sslobj") else raw
        self._c = concurrency
        self._flusher = _flusher_for(concurrency)
        self._out: list[bytes] = []
        self._out_bytes = 0  # while a writer runs: in _out, and what it has left of what it took
        self._limit = sys.maxsize if limit is None else limit
        self._dirty = False
        self._writer: Any = None
        self._close_sent = False
        self._broken = False
        self._timer: Timer | None = None
        self._ending = False  # the connection is being closed (in the loop)
        self._split = False  # _out[0] is the rest of a frame partly written: it goes first

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

    def send(self, data: Data) -> None:
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
        if self._dirty:  # (Flusher.more, inlined: every recipient of a broadcast comes here)
            flusher = self._flusher
            flusher._last = self
            flusher._queued += 1
            if flusher._queued >= flusher._factor * len(flusher._dirty) + _BURST_MIN:
                flusher._burst()
        else:
            self._dirty = True
            self._flusher.add(self)
        return True

    def send_control(self, data: bytes) -> bool:
        """Queue a heartbeat frame ahead of what waits (behind a frame partly written): a
        client's pings are not held behind a burst or a backlog. Written at once when the
        socket takes it; never blocks."""
        if self._close_sent or self._broken:
            return True
        self._out.insert(1 if self._split else 0, data)
        if self._writer is not None:
            self._out_bytes += len(data)
            return True
        self._flush()
        return True

    def _flush(self) -> None:
        """Write the queue in one non-blocking ``send()``; a writer takes what does not fit."""
        self._dirty = False
        out = self._out
        if not out or self._writer is not None:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        sent = 0
        if self._raw is not None:
            try:
                sent = self._raw.send(data)
            except BlockingIOError:
                pass
            except OSError as exc:
                self._lost(exc)
                return
        if sent == len(data):
            out.clear()
            return
        # The rest stays as frames, the first one cut where the write ended.
        self._out_bytes = len(data) - sent
        end = i = 0
        while end + len(out[i]) <= sent:
            end += len(out[i])
            i += 1
        del out[:i]
        if sent > end:
            out[0] = out[0][sent - end :]
            self._split = True
        self._writer = self._c.spawn(self._drain)

    def _drain(self) -> None:
        """The writer: waits for the socket, writes the backlog in pieces of whole frames
        (see :meth:`send_control`), and ends once it is empty."""
        out = self._out
        raw = self._raw
        try:
            while out:
                size = count = 0
                for frame in out:
                    size += len(frame)
                    count += 1
                    if size >= _PIECE:
                        break
                data = out[0] if count == 1 else b"".join(out[:count])
                del out[:count]
                self._split = False
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
            self._split = False
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

    def _close_socket(self) -> None:
        self._shutdown()
        self._sock.close()
        self._broken = True

    # -- writing ---------------------------------------------------------------------------

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
