"""What a polling request moved to the worker that owns its session costs, next to a local one.

    python3 benchmarks/handoff_cost.py [--requests 2000] [--rounds 5]

Starts benchmarks/contract_server.py's app under ``gunicorn -k gsio.gunicorn.GeventWorker -w 2``
(no sticky sessions), makes one session on each worker, and sends long-polling requests
(``POST 42<id>["echo",...]``, then the ``GET`` that brings its ack, and so on; one at a time,
so none waits) in four modes, ``--requests`` requests each:

- ``keepalive``: a keep-alive connection accepted by each worker, for that worker's session:
  every request local (what a browser's connection does after its first request, moved or
  not: the owner keeps a moved connection);
- ``fresh-local``: a new TCP connection per request, for the session of the worker that
  accepted it: local, plus a connection's accept and close;
- ``fresh-moved``: a new TCP connection per request, for the session of the *other* worker:
  every request moved to its owner with its connection (gsio/io/handoff.py);
- ``fresh-any``: a new TCP connection per request, for either session at random, wherever it
  lands (about half move): clients whose every request opens a connection.

Which worker accepted a connection is read from /proc (the server side's socket inode in
/proc/net/tcp, found among the workers' descriptors) before its request is sent. Reported per
mode: the CPU time of both workers (utime + stime, /proc/<pid>/stat) per request, and the
request's latency (request written to response read, on the client) p50 and p90. The modes
alternate over ``--rounds`` rounds; the medians and the spread over rounds are printed, then
the differences moved - local. The machine is shared and noisy: compare within one run.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from gsio.io.handoff import worker_tag  # noqa: E402

MODES = ["keepalive", "fresh-local", "fresh-moved", "fresh-any"]
TICK = 1 / os.sysconf("SC_CLK_TCK")
PAYLOAD = "x" * 32
_PACKET_ACK = re.compile(rb"43(\d+)\[")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """utime + stime of ``pid`` (its threads included), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) * TICK


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    if int(f.read().rpartition(")")[2].split()[1]) == pid:
                        found.append(int(entry))
            except (OSError, ValueError, IndexError):
                pass
    return sorted(found)


class Gunicorn:
    """The contract server under gunicorn with two gsio workers, in a session of its own."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = tempfile.TemporaryDirectory(prefix="gsio-handoff-cost-")
        command = [sys.executable, "-m", "gunicorn", "-k", "gsio.gunicorn.GeventWorker"]
        command += ["-w", "2", "--no-control-socket", "-b", f"127.0.0.1:{self.port}"]
        command += ["--chdir", str(HERE), "contract_server:app"]
        env = dict(os.environ, PYTHONPATH=str(ROOT), GSIO_WORKERS_DIR=self.dir.name)
        self.log = open(os.path.join(self.dir.name, "gunicorn.log"), "wb")
        self.proc = subprocess.Popen(
            command, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.workers = self._wait_ready()

    def _wait_ready(self, timeout: float = 30.0) -> list[int]:
        """Both workers' pids, once each listens for passed connections."""
        group = os.path.join(self.dir.name, f"gsio-workers-{self.proc.pid}")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            pids = children(self.proc.pid)
            sockets = [os.path.join(group, f"{worker_tag(pid)}.sock") for pid in pids]
            if len(pids) == 2 and all(os.path.exists(path) for path in sockets):
                return pids
            time.sleep(0.1)
        self.stop()
        raise SystemExit(f"gunicorn did not start two workers:\n{self.output()}")

    def output(self) -> str:
        self.log.flush()
        return Path(self.log.name).read_text(errors="replace")

    def stop(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(self.proc.pid, sig)
                self.proc.wait(10)
                break
            except ProcessLookupError:
                break
            except subprocess.TimeoutExpired:
                continue
        self.log.close()
        self.dir.cleanup()


def acceptor(sock: socket.socket, port: int, workers: list[int], timeout: float = 5.0) -> int:
    """The worker that accepted ``sock``'s connection (its server side's socket among the
    worker's descriptors)."""
    local = f"0100007F:{port:04X}"
    remote = f"0100007F:{sock.getsockname()[1]:04X}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        inode = _server_inode(local, remote)
        if inode:
            target = f"socket:[{inode}]"
            for pid in workers:
                for fd in os.listdir(f"/proc/{pid}/fd"):
                    try:
                        if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                            return pid
                    except OSError:
                        pass
        time.sleep(0.0005)
    raise SystemExit("no worker accepted a connection within 5 s")


def _server_inode(local: str, remote: str) -> str | None:
    with open("/proc/net/tcp") as f:
        for line in f:
            fields = line.split()
            if fields[1] == local and fields[2] == remote and fields[9] != "0":
                return fields[9]
    return None


def connect(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def request(sock: socket.socket, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
    """One HTTP/1.1 request on ``sock``; its status and body (a Content-Length body)."""
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    if method == "POST":
        head += f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(body)}\r\n"
    sock.sendall(head.encode() + b"\r\n" + body)
    data = bytearray()
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the response's head")
        data += chunk
    end = data.index(b"\r\n\r\n") + 4
    found = re.search(rb"(?i)\r\ncontent-length: *(\d+)", data[:end])
    length = int(found.group(1)) if found else 0
    while len(data) < end + length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before the end of the body")
        data += chunk
    return int(data[9:12]), bytes(data[end : end + length])


class Session:
    """One Socket.IO session on long-polling: a POST of an echo, then the GET of its ack."""

    def __init__(self, port: int, workers: list[int]) -> None:
        sock = connect(port)
        try:
            self.owner = acceptor(sock, port, workers)  # the handshake's worker makes it
            status, body = request(sock, "GET", "/socket.io/?EIO=4&transport=polling")
        finally:
            sock.close()
        if status != 200 or not body.startswith(b"0{"):
            raise SystemExit(f"handshake failed: {status} {body[:200]!r}")
        self.sid = re.search(rb'"sid":"([^"]+)"', body).group(1).decode()  # type: ignore[union-attr]
        if self.sid.rpartition(".")[2] != worker_tag(self.owner):
            raise SystemExit(f"session {self.sid} does not name its worker {self.owner}")
        self.path = f"/socket.io/?EIO=4&transport=polling&sid={self.sid}"
        self.next_id = 0
        self.waiting = False  # an echo posted, its ack not yet read
        self.pong = False  # a ping came: the next POST answers it

    def step(self, sock: socket.socket) -> None:
        """The session's next request on ``sock``; ValueError if its answer is not the one
        expected."""
        if not self.waiting:
            body = f'42{self.next_id}["echo","{PAYLOAD}"]'.encode()
            if self.pong:
                body = b"3\x1e" + body
            self.pong = False
            status, answer = request(sock, "POST", self.path, body)
            if status != 200 or answer != b"ok":
                raise ValueError(f"POST {self.sid}: {status} {answer[:200]!r}")
            self.waiting = True
            return
        status, answer = request(sock, "GET", self.path)
        if status != 200:
            raise ValueError(f"GET {self.sid}: {status} {answer[:200]!r}")
        for packet in answer.split(b"\x1e"):
            if packet == b"2":
                self.pong = True
            elif (ack := _PACKET_ACK.match(packet)) and int(ack.group(1)) == self.next_id:
                self.waiting = False
                self.next_id += 1
            elif not packet.startswith(b"40"):  # the CONNECT answer, once
                raise ValueError(f"GET {self.sid}: unexpected {packet[:200]!r}")

    def open(self, port: int) -> None:
        """Connect the session to namespace ``/``."""
        sock = connect(port)
        try:
            ok = request(sock, "POST", self.path, b"40") == (200, b"ok")
            status, answer = request(sock, "GET", self.path)
        finally:
            sock.close()
        if not ok or status != 200 or not answer.startswith(b"40{"):
            raise SystemExit(f"connect to / failed: {status} {answer[:200]!r}")


def run_mode(mode: str, n: int, server: Gunicorn, sessions: dict[int, Session]) -> dict[str, float]:
    """``n`` requests in ``mode``: CPU per request (both workers), latency p50/p90, moved.
    Every mode uses both sessions (one left idle for long would time out: no pong)."""
    port, workers = server.port, server.workers
    kept: dict[int, socket.socket] = {}  # keepalive: a connection accepted by each worker
    while mode == "keepalive" and len(kept) < 2:
        sock = connect(port)
        kept.setdefault(acceptor(sock, port, workers), sock)
        if sock not in kept.values():
            sock.close()
    latencies: list[float] = []
    moved = errors = 0
    choices = random.Random(n)
    before = sum(cpu_seconds(pid) for pid in workers)
    for i in range(n):
        if mode == "keepalive":
            session = sessions[workers[i % 2]]
            sock = kept[session.owner]
        else:
            sock = connect(port)
            accepted = acceptor(sock, port, workers)
            if mode == "fresh-local":
                session = sessions[accepted]
            elif mode == "fresh-moved":
                session = next(s for pid, s in sessions.items() if pid != accepted)
            else:  # at random: which worker accepts follows the last requests
                session = sessions[workers[choices.getrandbits(1)]]
            moved += session.owner != accepted
        start = time.perf_counter()
        try:
            session.step(sock)
        except (OSError, ValueError) as exc:
            if not errors:
                print(f"  {mode}: {exc}", file=sys.stderr)
            errors += 1
        latencies.append(time.perf_counter() - start)
        if not kept:
            sock.close()
    for sock in kept.values():
        sock.close()
    time.sleep(0.2)  # the workers' work for the last connection (its close) is done
    cpu = sum(cpu_seconds(pid) for pid in workers) - before
    quantiles = statistics.quantiles(latencies, n=10)
    return {
        "cpu_us": 1e6 * cpu / n,
        "p50_us": 1e6 * statistics.median(latencies),
        "p90_us": 1e6 * quantiles[8],
        "moved": moved,
        "errors": errors,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per mode and round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds (the modes alternate)")
    args = parser.parse_args()
    server = Gunicorn()
    try:
        sessions: dict[int, Session] = {}
        for _ in range(400):  # the kernel spreads the handshakes: one session per worker
            session = Session(server.port, server.workers)
            sessions.setdefault(session.owner, session)
            if len(sessions) == 2:
                break
        else:
            raise SystemExit("every handshake landed on one worker")
        for session in sessions.values():
            session.open(server.port)
        print(
            f"gunicorn -w 2, workers {server.workers}; {args.requests} requests per mode"
            f" (CPU counted in clock ticks of {TICK * 1e3:.0f} ms:"
            f" ±{2e6 * TICK / args.requests:.0f} us/request)"
        )
        results: dict[str, list[dict[str, float]]] = {mode: [] for mode in MODES}
        for i in range(args.rounds):
            order = MODES if i % 2 == 0 else MODES[::-1]
            for mode in order:
                r = run_mode(mode, args.requests, server, sessions)
                results[mode].append(r)
                print(
                    f"round {i + 1} {mode:12} CPU {r['cpu_us']:6.0f} us/request"
                    f"  latency p50 {r['p50_us']:5.0f} us  p90 {r['p90_us']:5.0f} us"
                    f"  moved {r['moved']:.0f}/{args.requests}  errors {r['errors']:.0f}",
                    flush=True,
                )
        problems = server.output().count("Traceback")
    finally:
        server.stop()
    print(report(results, args.rounds))
    errors = sum(r["errors"] for rs in results.values() for r in rs)
    print(f"errors {errors:.0f}, tracebacks in gunicorn's output {problems}")
    if errors or problems:
        sys.exit(1)


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b else "-"


def report(results: dict[str, list[dict[str, float]]], rounds: int) -> str:
    """Medians over the rounds (with min-max), and moved - local."""
    med: dict[str, dict[str, float]] = {}
    lines = [f"medians over {rounds} round(s) [min-max]:"]
    for mode, rs in results.items():
        med[mode] = {k: statistics.median(r[k] for r in rs) for k in rs[0]}
        spread = {k: (min(r[k] for r in rs), max(r[k] for r in rs)) for k in rs[0]}
        lines.append(
            f"  {mode:12} CPU {med[mode]['cpu_us']:6.0f} us/request"
            f" [{spread['cpu_us'][0]:.0f}-{spread['cpu_us'][1]:.0f}]"
            f"  latency p50 {med[mode]['p50_us']:5.0f} us"
            f" [{spread['p50_us'][0]:.0f}-{spread['p50_us'][1]:.0f}]"
            f"  p90 {med[mode]['p90_us']:5.0f} us  moved {med[mode]['moved']:.0f}"
        )
    local, moved, kept = med["fresh-local"], med["fresh-moved"], med["keepalive"]
    lines.append(
        f"a moved request costs {moved['cpu_us'] - local['cpu_us']:+.0f} us of server CPU"
        f" ({_ratio(moved['cpu_us'], local['cpu_us'])} a local one on a new connection,"
        f" {_ratio(moved['cpu_us'], kept['cpu_us'])} one on a kept-alive connection)"
        f" and {moved['p50_us'] - local['p50_us']:+.0f} us of latency (p50)"
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
