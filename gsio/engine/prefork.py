"""``gsio serve --workers N``: one listening socket, N worker processes that share it.

The master binds the socket, then forks the workers before anything else is imported or
patched (each worker patches with gevent, loads the app and serves, as gunicorn's workers do
without ``--preload``). The workers form a :class:`~gsio.engine.workers.WorkerGroup`: any of
them may get any request, and a request for a session another worker owns is moved there.
The master only watches: a worker that dies is replaced (its sessions are lost: their clients
connect again); SIGTERM or SIGINT is passed on to every worker, which shuts down gracefully,
and the master exits once they all have. A worker that fails as it starts (the app cannot be
loaded) stops them all, with its exit status.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import sys
import tempfile
import time
from typing import Callable

__all__ = ["run_workers"]

log = logging.getLogger("gsio.workers")

#: A worker that exits sooner than this after it started failed to start.
_STARTUP = 5.0

#: ``serve(listener, directory, index)``, run in each worker process (``index``: 0 to N-1, a
#: replacement takes the index of the worker it replaces); it returns when the worker stops.
Serve = Callable[[socket.socket, str, int], None]


def run_workers(count: int, listener: socket.socket, serve: Serve) -> int:
    """Fork ``count`` workers serving on ``listener`` and watch them until SIGTERM or SIGINT;
    returns the exit status for the master."""
    directory = os.path.join(
        os.environ.get("GSIO_WORKERS_DIR") or tempfile.gettempdir(), f"gsio-workers-{os.getpid()}"
    )
    workers: dict[int, tuple[float, int]] = {}  # pid -> when it started, its index
    stopping: list[int] = []

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            status = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                serve(listener, directory, index)
            except SystemExit as exc:
                status = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                log.exception("worker %d failed", os.getpid())
                status = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(status)
        workers[pid] = (time.monotonic(), index)

    def stop(signum: int, frame: object) -> None:
        if stopping:
            return
        stopping.append(signum)
        for pid in list(workers):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(count):
        spawn(index)
    status = 0
    while workers:
        try:
            pid, code = os.wait()
        except ChildProcessError:
            break
        entry = workers.pop(pid, None)
        from gsio.io.handoff import remove_worker_files  # (not before the first fork)

        remove_worker_files(directory, pid)
        if entry is None or stopping:
            continue
        started, index = entry
        exit_status = os.waitstatus_to_exitcode(code)
        if exit_status > 0 and time.monotonic() - started < _STARTUP:
            log.error("worker %d failed to start (exit status %d); stopping", pid, exit_status)
            status = exit_status
            stop(signal.SIGTERM, None)
            continue
        log.warning("worker %d exited (%d); starting another", pid, exit_status)
        spawn(index)
    try:
        for name in os.listdir(directory):
            os.unlink(os.path.join(directory, name))
        os.rmdir(directory)
    except OSError:
        pass
    return status
