"""A real redis-server for the tests, on a free loopback port, with no persistence.

``RedisServer()`` starts one and waits until it answers PING; :meth:`RedisServer.kill` and
:meth:`RedisServer.start` stop it hard and bring it back on the same port (the fault tests).
"""

import shutil
import socket
import tempfile
import time

from process import CapturedProcess


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ping(port, timeout=0.5):
    """True if a Redis on ``port`` answers PING."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisServer:
    def __init__(self, port=None):
        self.binary = shutil.which("redis-server")
        if self.binary is None:
            raise RuntimeError(
                "redis-server is not installed (Debian: apt-get install redis-server); "
                "bash tests/run installs it"
            )
        self.port = port or free_port()
        self.dir = tempfile.mkdtemp(prefix="gsio-redis-")
        self.process = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout=10.0):
        command = [
            self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", self.dir, "--protected-mode", "no",
        ]
        self.process = CapturedProcess(command, self.dir)
        deadline = time.monotonic() + timeout
        while not ping(self.port):
            if self.process.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{self.process.output()}")
            time.sleep(0.02)

    def kill(self):
        """Stop redis-server at once (SIGKILL): every client connection drops."""
        self.process.proc.kill()
        self.process.proc.wait(5)

    def stop(self):
        if self.process is not None and self.process.proc.poll() is None:
            self.process.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
