"""Moving an accepted HTTP connection to another process of the same host.

The workers of one server (gunicorn's, or ``gsio serve --workers``) share a listening socket;
the kernel gives each new connection to any of them. A request for a session that another
worker owns is moved there whole: the connection's socket (its file descriptor, over a Unix
socket with ``SCM_RIGHTS``) and the bytes read from it so far (the request, and whatever
followed it), so that the owner serves it as if it had accepted it. The worker that passed it
closes its copy and forgets it: no byte of it goes through two processes.

:func:`pass_connection` sends; :class:`HandoffListener` receives, on a Unix socket of its own
(``<directory>/<tag>.sock``), and hands each connection to a callback.

On the Unix socket, per connection: one message carrying the descriptor and a header
(``b"GSIO"``, the length of a JSON object ``{"address": [host, port], "size": n}``, the
object), then ``n`` bytes of data.
"""

from __future__ import annotations

import _socket
import json
import logging
import os
import socket as socketlib
import struct
from typing import Any, Callable

from gsio.io.concurrency import Concurrency

__all__ = ["HandoffListener", "pass_connection", "remove_worker_files", "worker_tag"]

log = logging.getLogger("gsio.workers")

_MAGIC = b"GSIO"
_HEAD = struct.Struct("!4sI")
_MAX_META = 4096

#: ``on_connection(sock, address, data)``: a connection handed over, with what was read of it.
OnConnection = Callable[[Any, Any, bytes], None]


def worker_tag(pid: int) -> str:
    """A worker's default tag, naming its sockets: its pid in base 36."""
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        pid, r = divmod(pid, 36)
        out = digits[r] + out
        if not pid:
            return out


def remove_worker_files(directory: str, pid: int) -> None:
    """Remove what the worker ``pid`` (reaped, so that no process has its pid yet) left in the
    group's ``directory`` when it did not end by itself (SIGKILL, a crash): its hand-over
    socket, its in-host bus socket (and the bus socket it was binding). The group's master
    calls it; a request naming the worker is refused at once either way, this keeps the
    directory from filling up, and a later worker with the same pid from finding them."""
    tag = worker_tag(pid)
    for name in (f"{tag}.sock", f"{tag}.bus", f".{tag}.new"):
        try:
            os.unlink(os.path.join(directory, name))
        except OSError:
            pass


def pass_connection(
    concurrency: Concurrency, path: str, fd: int, address: Any, data: bytes
) -> bool:
    """Pass the connection ``fd`` (accepted from ``address``, ``data`` read from it) to the
    process listening on ``path``. Never blocks the caller (it may be the event loop): the
    descriptor goes at once or not at all (False: no such process, or it is not accepting);
    the data follows from a greenlet of its own. The caller still owns ``fd`` and closes it."""
    meta = json.dumps(
        {"address": list(address) if isinstance(address, tuple) else address, "size": len(data)}
    ).encode()
    head = _HEAD.pack(_MAGIC, len(meta)) + meta
    # The C socket (not gevent's), non-blocking: a Unix socket connects at once or fails.
    unix = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
    try:
        unix.setblocking(False)
        unix.connect(path)
        unix.sendmsg([head], [(socketlib.SOL_SOCKET, socketlib.SCM_RIGHTS, struct.pack("i", fd))])
    except OSError as exc:
        unix.close()
        log.info("cannot pass a connection to %s: %s", path, exc)
        return False
    concurrency.spawn(_send_rest, concurrency, unix, data)
    return True


def _send_rest(concurrency: Concurrency, unix: Any, data: bytes) -> None:
    view = memoryview(data)
    try:
        while view:
            try:
                view = view[unix.send(view) :]
            except BlockingIOError:
                concurrency.wait_write(unix.fileno())
    except OSError as exc:
        log.info("a passed connection's data was not sent whole: %s", exc)
    finally:
        unix.close()


class HandoffListener:
    """Receives connections passed to ``path`` (a Unix socket it creates, replacing a stale
    one) and hands each to ``on_connection``, in a greenlet of its own."""

    def __init__(self, concurrency: Concurrency, path: str, on_connection: OnConnection) -> None:
        self.c = concurrency
        self.path = path
        self.on_connection = on_connection
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass
        from gevent import socket as gsocket

        self._sock = gsocket.socket(socketlib.AF_UNIX, socketlib.SOCK_STREAM)
        self._sock.bind(path)
        os.chmod(path, 0o600)
        self._sock.listen(1024)
        self._closed = False
        self._worker = concurrency.spawn(self._accept)

    def _accept(self) -> None:
        while not self._closed:
            try:
                unix, _ = self._sock.accept()
            except OSError:
                if self._closed:
                    return
                log.exception("accepting a passed connection failed")
                self.c.sleep(0.1)
                continue
            self.c.spawn(self._receive, unix)

    def _receive(self, unix: Any) -> None:
        fd = -1
        try:
            msg, fds, _, _ = socketlib.recv_fds(unix, 65536, 1)
            if fds:
                fd = fds[0]
            if len(msg) < _HEAD.size or fd < 0:
                raise ValueError("no descriptor or no header")
            magic, size = _HEAD.unpack_from(msg)
            if magic != _MAGIC or size > _MAX_META:
                raise ValueError("not a gsio header")
            while len(msg) < _HEAD.size + size:
                more = unix.recv(65536)
                if not more:
                    raise ValueError("header cut short")
                msg += more
            meta = json.loads(msg[_HEAD.size : _HEAD.size + size])
            data = bytearray(msg[_HEAD.size + size :])
            while len(data) < meta["size"]:
                more = unix.recv(65536)
                if not more:
                    raise ValueError("data cut short")
                data += more
            address = meta["address"]
            address = tuple(address) if isinstance(address, list) else address
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning("a passed connection was not received: %s", exc)
            if fd >= 0:
                os.close(fd)
            return
        finally:
            unix.close()
        from gevent import socket as gsocket

        sock = gsocket.socket(fileno=fd)
        try:
            self.on_connection(sock, address, bytes(data))
        except Exception:
            log.exception("serving a passed connection failed")
            sock.close()

    def close(self) -> None:
        self._closed = True
        self._sock.close()
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass
