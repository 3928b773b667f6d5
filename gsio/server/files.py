"""Files in emits: ``conn.emit("file", open(path, "rb"))``, as the Go server's ``io.Reader``.

A file-like argument (anything with ``read(size)``, binary or text, at any depth of the
arguments) is read here, in the server layer, before the packet is made: the codecs of the pure
protocol core only ever see the ``bytes`` it held, sent as a binary attachment (msgpack: ``bin``).
Reading it there would put I/O in the core, and would read it again for each encode (a broadcast
logged for connection state recovery, a client of another protocol version).

- **Size first.** The bytes left from the file's current position are known before anything is
  read (``os.fstat`` of a regular file's ``fileno()``, or ``seek``/``tell``); a stream of unknown
  size (a pipe, a socket, a generator behind ``io.BufferedReader``) is read up to
  ``max_payload + 1`` bytes at most. Past ``max_payload`` (the files of one emit together),
  :class:`~gsio.exceptions.FileTooLarge` is raised and nothing is sent.
- **Held once.** A file of known size is read with ``readinto``, in 64 KiB chunks, into a buffer
  of its size that becomes the ``bytes`` sent (on CPython, without a copy).
- **Yours.** The file is read from its current position to its end and left open there: the
  caller owns it, gsio never closes it.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Sequence
from typing import Any, Protocol

from gsio.exceptions import FileTooLarge
from gsio.protocol.socketio_packet import check_event

__all__ = ["CHUNK", "event_data", "files_read", "has_file", "read_file", "read_files"]

#: How much of a file is read at a time.
CHUNK = 64 * 1024

# What is never a file nor holds one: most arguments stop at this one set lookup.
_LEAVES = frozenset((str, int, float, bool, type(None), bytes, bytearray, memoryview))


class _Limited(Protocol):
    @property
    def max_payload(self) -> int: ...


def event_data(event: str, args: Sequence[Any], server: _Limited) -> list[Any]:
    """The data of an EVENT emitted: ``[event, *args]``, ``event`` checked (a name that may be
    emitted: :func:`~gsio.protocol.socketio_packet.check_event`), the files in ``args`` read."""
    check_event(event)
    return [event, *files_read(args, server)]


def files_read(args: Sequence[Any], server: _Limited) -> Sequence[Any]:
    """``args`` with the file-like objects in them read (:func:`read_files`, within the
    server's ``max_payload``); ``args`` itself when there is none, the usual case."""
    return read_files(args, server.max_payload) if has_file(args) else args


def has_file(data: Any) -> bool:
    """Whether a file-like object is among ``data`` (a sequence) or in its lists, tuples and
    dicts, at any depth."""
    for item in data:
        kind = type(item)
        if kind in _LEAVES:
            continue
        if isinstance(item, dict):
            if has_file(item.values()):
                return True
        elif isinstance(item, (list, tuple)):
            if has_file(item):
                return True
        elif _is_file(item):
            return True
    return False


def read_files(args: Sequence[Any], limit: int) -> list[Any]:
    """A copy of ``args`` with each file-like object replaced by the ``bytes`` it held (lists,
    tuples and dicts copied, the rest shared).

    :raises FileTooLarge: the files hold more than ``limit`` bytes together.
    """
    left = [limit]
    return [_read_in(item, left) for item in args]


def _read_in(obj: Any, left: list[int]) -> Any:
    if type(obj) in _LEAVES:
        return obj
    if isinstance(obj, dict):
        return {key: _read_in(value, left) for key, value in obj.items()}
    if isinstance(obj, (list, tuple)):
        items = [_read_in(item, left) for item in obj]
        return tuple(items) if isinstance(obj, tuple) else items
    if not _is_file(obj):
        return obj
    blob = read_file(obj, left[0])
    left[0] -= len(blob)
    return blob


def _is_file(obj: Any) -> bool:
    return callable(getattr(obj, "read", None))


def read_file(f: Any, limit: int) -> bytes:
    """What ``f`` holds from its current position to its end, as bytes (text as UTF-8); ``f``
    is left open, at its end.

    :raises FileTooLarge: it holds more than ``limit`` bytes: raised before anything is read
        when its size is known, else once ``limit + 1`` bytes were read.
    """
    readinto = getattr(f, "readinto", None)  # (text files have none)
    size = None if readinto is None else _size_left(f)
    if readinto is None or size is None:
        return _read_stream(f, limit)
    if size > limit:
        raise FileTooLarge(limit, size)
    out = io.BytesIO()
    if size:
        out.seek(size - 1)
        out.write(b"\0")  # the buffer, at its size: filled in place below
    got = 0
    with out.getbuffer() as view:
        while got < size:
            with view[got : got + CHUNK] as chunk:
                n = readinto(chunk)
            if not n:
                break  # truncated meanwhile: what there was
            got += n
    out.truncate(got)
    # getvalue() hands over the buffer itself when nothing else holds it (CPython): one copy.
    return out.getvalue()


def _size_left(f: Any) -> int | None:
    """The bytes ``f`` holds after its position, or None for a stream (unknown size)."""
    try:
        st: os.stat_result | None = os.fstat(f.fileno())
    except (AttributeError, OSError, ValueError, TypeError):
        st = None
    try:
        if st is not None:
            if not stat.S_ISREG(st.st_mode):
                return None  # a pipe, a socket, a terminal
            return max(0, st.st_size - f.tell())
        if not f.seekable():
            return None
        here = f.tell()
        end = f.seek(0, io.SEEK_END)
        f.seek(here)
        return max(0, end - here)
    except (AttributeError, OSError, ValueError, TypeError):
        return None


def _read_stream(f: Any, limit: int) -> bytes:
    """A stream of unknown size (or text), read in chunks, ``limit + 1`` bytes at most."""
    out = io.BytesIO()
    total = 0
    while True:
        chunk = f.read(min(CHUNK, limit + 1 - total))
        if not chunk:
            break
        if isinstance(chunk, str):
            chunk = chunk.encode("utf-8")
        total += len(chunk)
        if total > limit:
            raise FileTooLarge(limit)
        out.write(chunk)
    return out.getvalue()
