"""The write half of the WebSocket backends whose socket writes block (gevent-websocket's,
simple-websocket's): a queue, and a writer that lives only while the queue has a backlog.

:meth:`QueuedWriter.send_frames` queues and returns at once, as gsio's own frame layer does, so
that the engine has one write path whatever the backend. The first frames queued start a
writer (a greenlet, or a thread under threading) that writes what waits, several frames in one
write where they have piled up, and ends once the queue is empty; the close frame leaves after
the rest. What waits (queued, and what the writer holds) is counted against the engine's
``max_outbound_buffer``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from gsio.io.websocket import Data, WebSocketConfig, message_frame

__all__ = ["QueuedWriter", "WRITER_TIMEOUT"]

log = logging.getLogger("gsio.engine")

#: Seconds :meth:`QueuedWriter.join_writer` waits for the backlog and the close frame to leave.
WRITER_TIMEOUT = 5.0


class QueuedWriter:
    """Queued writing for a backend: it provides ``_write(data)`` (blocking, raises on a
    dead connection), ``_send_close(code)`` and ``_shutdown()`` (neither raises)."""

    def __init__(self, config: WebSocketConfig) -> None:
        c = config.concurrency
        self._c = c
        self._lock = c.state_lock()  # guards the queue; nothing blocks while it is held
        self._close_lock = c.lock()  # a second closer waits until the close frame has left
        self._out: list[bytes] = []
        self._out_bytes = 0  # queued, and what the writer holds
        limit = config.max_outbound_buffer
        self._limit = sys.maxsize if limit is None else limit
        self._writing = False
        self._writer: Any = None
        self._close_code: int | None = None
        self._close_done = False
        self._broken = False

    # -- the backend's part ------------------------------------------------------------------

    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _send_close(self, code: int) -> None:
        raise NotImplementedError

    def _shutdown(self) -> None:
        raise NotImplementedError

    # -- writing -----------------------------------------------------------------------------

    @property
    def backlog(self) -> bool:
        """Whether anything waits to be written."""
        return self._writing

    @property
    def buffered_bytes(self) -> int:
        """Bytes queued and not yet written to the socket."""
        return self._out_bytes

    def send(self, data: Data) -> None:
        """Queue one text (``str``) or binary (``bytes``) message."""
        self.send_frames(message_frame(data))

    def send_frames(self, data: bytes) -> bool:
        """Queue ready-made frames; never blocks. False (and the connection dropped) when
        more than ``max_outbound_buffer`` waited already."""
        with self._lock:
            if self._close_code is not None or self._broken:
                return True
            over = self._out_bytes > self._limit
            if not over:
                self._out.append(data)
                self._out_bytes += len(data)
                if self._writing:
                    return True  # the writer takes it with the rest
                self._writing = True
        if over:
            self.abort()
            return False
        self._writer = self._c.spawn(self._drain)
        return True

    def send_control(self, data: bytes) -> bool:
        """Queue a heartbeat frame ahead of what waits (behind what the writer holds)."""
        with self._lock:
            if self._close_code is not None or self._broken:
                return True
            self._out.insert(0, data)
            self._out_bytes += len(data)
            if self._writing:
                return True
            self._writing = True
        self._writer = self._c.spawn(self._drain)
        return True

    def _drain(self) -> None:
        """The writer: writes what waits, in order, and ends once the queue is empty (then
        sends the close frame if one was asked for meanwhile)."""
        close: int | None = None
        try:
            while True:
                with self._lock:
                    out = self._out
                    if not out or self._broken:
                        if self._close_code is not None and not self._close_done:
                            self._close_done = True
                            close = self._close_code  # still writing: the close frame
                        else:
                            self._writing = False
                        break
                    self._out = []
                data = out[0] if len(out) == 1 else b"".join(out)
                self._write(data)
                with self._lock:
                    self._out_bytes -= len(data)
        except Exception as exc:  # the peer is gone: the reader sees the end too
            self._lost(exc)
            return
        if close is not None:
            self._closing(close)
            with self._lock:
                self._writing = False

    def _lost(self, exc: Exception) -> None:
        log.debug("websocket write failed: %r", exc)
        with self._lock:
            self._broken = True
            self._writing = False
            self._out = []
            self._out_bytes = 0
        self._shutdown()  # so that a blocked reader ends the session

    def join_writer(self, timeout: float = WRITER_TIMEOUT) -> None:
        """Wait (within ``timeout`` seconds) for the writer to write what waits."""
        writer = self._writer
        if writer is not None and self._writing:
            writer.join(timeout)

    def abort(self) -> None:
        """Drop what waits and the connection at once; idempotent."""
        with self._lock:
            if self._broken:
                return
            self._broken = True
            unwritten = self._out_bytes
            self._out = []
            self._out_bytes = 0
        log.debug("websocket aborted with %d bytes unwritten", unwritten)
        self._shutdown()

    def close(self, code: int = 1000) -> None:
        """Queue the close frame (once), behind what waits."""
        with self._lock:
            if self._close_code is not None:
                return
            self._close_code = code
            if self._writing:
                return  # the writer sends it once the queue is written
            self._close_done = True
        self._closing(code)

    def _closing(self, code: int) -> None:
        with self._close_lock:
            if not self._broken:
                self._send_close(code)

    def _closed_by_peer(self) -> None:
        """The backend answered the client's close frame itself: nothing more is written."""
        with self._lock:
            if self._close_code is None:
                self._close_code = 1000
            self._close_done = True

    def finish_writing(self) -> None:
        """Let the queue and the close frame leave (within :data:`WRITER_TIMEOUT`), and wait
        for a close frame being sent by another greenlet or thread."""
        self.join_writer()
        with self._close_lock:
            pass
