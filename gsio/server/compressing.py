"""``conn.compress(False)``: what it returns, an emitter that sends without per-message deflate
(as Node's ``socket.compress(false).emit(...)``)."""

from __future__ import annotations

from typing import Any, Callable, Protocol

__all__ = ["Uncompressing"]


class _Emitter(Protocol):
    def emit(
        self,
        event: str,
        *args: Any,
        callback: Callable[..., Any] | None = None,
        compress: bool = True,
    ) -> bool: ...


class Uncompressing:
    """A connection's emits, not compressed whatever their size."""

    __slots__ = ("_conn",)

    def __init__(self, conn: _Emitter) -> None:
        self._conn = conn

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> bool:
        """As :meth:`gsio.Conn.emit`, not compressed."""
        return self._conn.emit(event, *args, callback=callback, compress=False)

    def send(self, *args: Any, callback: Callable[..., Any] | None = None) -> bool:
        """As :meth:`gsio.Conn.send`, not compressed."""
        return self.emit("message", *args, callback=callback)
