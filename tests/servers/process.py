"""A server process for the tests: started in a process group of its own (killed as a whole),
its stdout and stderr collected line by line as it runs; and one HTTP request helper.

``tests/conftest.py`` (the ``tests/servers/*.py`` scripts) and ``deploy_support.py`` (gunicorn,
runserver, ``flask run``) both build on :class:`CapturedProcess`.
"""

import http.client
import os
import signal
import subprocess
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent


def request(port, method, path, body=None, headers=None):
    """One HTTP request on a fresh connection to 127.0.0.1: ``(status, headers, body)``."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.headers, response.read()
    finally:
        conn.close()


class CapturedProcess:
    """``command`` run from ``cwd`` with gsio importable; ``on_line(line)`` sees each line."""

    def __init__(self, command, cwd, env=None):
        self.command = command
        self._lines = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            command,
            cwd=cwd,
            env=dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1", **(env or {})),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as a whole
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def on_line(self, line):
        """Called for each line the process prints (in the reader thread)."""

    def on_exit(self):
        """Called once the process's output ends."""

    def _read(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            with self._lock:
                self._lines.append(line)
            self.on_line(line)
        self.on_exit()

    def output(self, start=0):
        """What it printed, from line ``start`` on."""
        with self._lock:
            return "".join(self._lines[start:])

    def mark(self):
        """The number of lines printed so far (for ``output(start)``)."""
        with self._lock:
            return len(self._lines)

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.alive():
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        self._reader.join(5)
