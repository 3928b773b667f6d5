"""Graceful shutdown: SIGTERM and SIGINT to ``gsio serve`` and to gsio's gunicorn workers.

The server (``tests/servers/shutdown_app.py``) has clients on every transport when the signal
comes: a raw WebSocket, a raw long-polling session with a GET waiting, one with messages queued
and no GET, and the npm ``socket.io-client``. Each must be told as its protocol expects (an
Engine.IO CLOSE; a WebSocket close frame), what was queued must still leave, the disconnect
handlers must run with "server shutting down", new handshakes are refused, and the process must
exit by itself, quietly. socket.io-client then reconnects to the next server on the port.
"""

import json
import re
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "servers"))

from deploy_support import free_port, gunicorn  # noqa: E402
from process import CapturedProcess  # noqa: E402
from rawhttp import read_response  # noqa: E402
from rawws import RawWebSocket  # noqa: E402

SERVERS = Path(__file__).resolve().parent / "servers"
EIO = "/socket.io/?EIO=4&transport="


class Served(CapturedProcess):
    """A server command on a given port, ready once the port answers."""

    def __init__(self, command, port):
        self.port = port
        super().__init__([part.replace("{port}", str(port)) for part in command], SERVERS)

    def listening(self):
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            return True
        except OSError:
            return False

    def wait_ready(self, wait_for):
        wait_for(self.listening, 20, f"{self.command} to listen; output:\n{self.output()}")

    def lines(self, word):
        return [line.split() for line in self.output().splitlines() if line.startswith(word)]


def gsio_serve(port):
    return Served(
        [sys.executable, "-m", "gsio", "serve", "shutdown_app:sio", "--port", "{port}",
         "--shutdown-timeout", "4"],
        port,
    )  # fmt: skip


class Polling:
    """A raw long-polling client on one keep-alive connection."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        status, body = self.request("GET", EIO + "polling")
        assert status == 200, body
        self.sid = json.loads(body[1:])["sid"]
        assert self.request("POST", f"{EIO}polling&sid={self.sid}", b"40") == (200, b"ok")
        status, body = self.get()
        assert status == 200 and body.startswith(b"40{"), body

    def request(self, method, path, body=b""):
        head = f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n\r\n"
        self.sock.sendall(head.encode() + body)
        response = read_response(self.sock)
        status = int(response.split(b" ", 2)[1])
        return status, response.partition(b"\r\n\r\n")[2]

    def get(self):
        return self.request("GET", f"{EIO}polling&sid={self.sid}")

    def post(self, data):
        return self.request("POST", f"{EIO}polling&sid={self.sid}", data)


def websocket(port):
    ws = RawWebSocket(port, EIO + "websocket")
    assert ws.status == 101
    assert ws.recv().startswith("0{")
    ws.send_text("40")
    assert ws.recv().startswith("40{")
    return ws


def in_thread(fn, *args):
    result = {}

    def run():
        try:
            result["value"] = fn(*args)
        except BaseException as exc:  # reported by the test
            result["error"] = exc

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread, result


def joined(thread, result, timeout=30):
    thread.join(timeout)
    assert not thread.is_alive(), "still running"
    if "error" in result:
        raise result["error"]
    return result["value"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_gsio_serve_shuts_down_gracefully(sig, run_node, wait_for):
    port = free_port()
    server = gsio_serve(port)
    second = None
    try:
        server.wait_ready(wait_for)
        ws = websocket(port)
        waiting = Polling(port)
        queued = Polling(port)
        assert queued.post(b'42["burst",3]') == (200, b"ok")
        node = in_thread(lambda: run_node("sio_shutdown", port, "websocket", timeout=45))
        wait_for(lambda: len(server.lines("CONNECT")) == 4, message="4 connections")
        wait_for(lambda: server.lines("ECHO"), message="the Node client's first call")
        get = in_thread(waiting.get)  # a GET waiting when the signal comes

        server.proc.send_signal(sig)
        wait_for(lambda: not server.listening(), message="the listener to close")

        # New handshakes are refused while the shutdown lasts (the listener is closed: this
        # keep-alive connection is the only way in).
        status, body = queued.request("GET", EIO + "polling")
        assert (status, json.loads(body)) == (503, {"code": 3, "message": "Bad request"})
        # What was queued before the signal still leaves, then the CLOSE.
        status, body = queued.get()
        assert status == 200
        assert re.findall(rb'42\["item",(\d)\]', body) == [b"0", b"1", b"2"], body
        assert b'43["queued"]' not in body or body.index(b"43") > body.index(b"42")
        assert queued.get() == (200, b"1")
        assert joined(*get) == (200, b"1")
        frames, code = ws.until_close()
        assert (frames, code) == (["1"], 1000)

        server.proc.wait(15)
        output = server.output()
        assert server.proc.returncode == 0, output
        assert "Traceback" not in output and "KeyboardInterrupt" not in output, output
        reasons = [" ".join(line[2:]) for line in server.lines("DISCONNECT")]
        assert reasons == ["server shutting down"] * 4, output

        # The Node client reconnects, to the next server on the port.
        second = gsio_serve(port)
        out = joined(*node, timeout=45)
        assert out["reason"] == "transport close", out
        assert (out["firstEcho"], out["secondEcho"]) == ("first", "second"), out
        assert out["secondId"] != out["firstId"]
    finally:
        for process in (server, second):
            if process is not None:
                process.stop()


@pytest.mark.parametrize(
    "worker", ["gsio.gunicorn.GeventWorker", "gsio.gunicorn.GeventWebSocketWorker"]
)
def test_gunicorn_workers_shut_down_promptly(worker, run_node, wait_for):
    """``gunicorn -w 2``: TERM to the master. Without the graceful shutdown, each worker waits
    ``--graceful-timeout`` for its open connections, then says "Worker graceful timeout"."""
    port = free_port()
    command = gunicorn(worker, "shutdown_app:app", "-w", "2", "--graceful-timeout", "60")
    server = Served(command, port)
    try:
        server.wait_ready(wait_for)
        # A worker's signal handlers are set before it imports the app: a TERM before that is
        # lost (gunicorn's own race).
        wait_for(lambda: len(server.lines("LOADED")) == 2, message="both workers")
        clients = [websocket(port) for _ in range(4)]
        pollers = [Polling(port) for _ in range(4)]
        wait_for(lambda: len(server.lines("CONNECT")) == 8, message="8 connections")
        gets = [in_thread(p.get) for p in pollers]

        server.proc.send_signal(signal.SIGTERM)

        for ws in clients:
            assert ws.until_close() == (["1"], 1000)
        for get in gets:
            assert joined(*get) == (200, b"1")
        try:
            server.proc.wait(30)
        except subprocess.TimeoutExpired:
            pytest.fail(f"gunicorn did not exit; output:\n{server.output()}")
        output = server.output()
        assert "graceful timeout" not in output, output
        assert "Traceback" not in output, output
        reasons = [" ".join(line[2:]) for line in server.lines("DISCONNECT")]
        assert reasons == ["server shutting down"] * 8, output
    finally:
        server.stop()


def test_a_gunicorn_worker_stopped_before_its_server_starts(tmp_path, wait_for):
    """A TERM between the worker's making its server and starting it (gunicorn's run()): the
    worker exits quietly instead of failing on the server the shutdown closed."""
    hook = tmp_path / "conf.py"
    # gunicorn's post_worker_init runs after the app is loaded, before run() makes the servers:
    # the TERM handler runs there, so the servers are made and started after the shutdown.
    hook.write_text("import os, signal\n\ndef post_worker_init(worker):\n    os.kill(os.getpid(), signal.SIGTERM)\n")
    port = free_port()
    command = gunicorn("gsio.gunicorn.GeventWorker", "shutdown_app:app", "-c", str(hook))
    server = Served(command, port)
    try:
        wait_for(lambda: "Worker exiting" in server.output(), 20, "the worker to exit")
        output = server.output()
        assert "Traceback" not in output and "[ERROR]" not in output, output
    finally:
        server.stop()
