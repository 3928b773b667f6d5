"""Heartbeats under load: how late the server's pings come during the echo and fanout scenarios.

Usage: python3 benchmarks/heartbeats.py [--reps 3] [--interval-ms 200] [--timeout-ms 400]
[--scenarios echo,fanout] [--echo-c 100] [--t 5] [--n 1000] [--m 100] [--rounds 10]
[--out FILE.json] NAME=COMMAND ...

Each NAME=COMMAND is a server implementing the shared bench's contract with its ping interval
and timeout from ``{interval}``/``{timeout}`` (seconds) or ``$PING_INTERVAL``/``$PING_TIMEOUT``
(ms) and its port from ``{port}``; ``gsio`` and ``node`` are presets (this worktree's
contract_server.py, and node_ping_server.js on Node's socket.io). The servers alternate
between reps. The clients are benchmarks/loadgen_pings.js, the shared loadgen with ping
timing: every client records each PING's arrival against its schedule (its PONG + the
interval). A gsio server is also asked, every 50 ms, for the greatest lateness of its own ping
timers (``/stats?pings=1``: ``Session.ping_lateness``, what gsio.metrics exports as
``gsio_heartbeat_lateness_seconds``). A ping later than the timeout is a miss: a client would
have given up on the server (and Node's or gsio's server on a client whose pong it read late).

Reported per server and scenario, medians over the reps: the scenario's own figure (acks/s or
delivered msgs/s), pings timed, client-side lateness p50/p99/max, misses, and gsio's own max.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
NODE_PATH = os.environ.get("NODE_PATH", os.path.expanduser("~/.cache/gsio-bench/node_modules"))
PRESETS = {
    "gsio": f"env PYTHONPATH={REPO} python3 {HERE}/contract_server.py {{port}} "
    "--ping-interval={interval} --ping-timeout={timeout}",
    "node": f"node {HERE}/node_ping_server.js {{port}}",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port: int, limit: float = 15.0) -> None:
    end = time.monotonic() + limit
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"no server on port {port}")


class ServerView(threading.Thread):
    """Polls a gsio server's /stats?pings=1 and keeps the greatest ping lateness seen."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.url = f"http://127.0.0.1:{port}/stats?pings=1"
        self.worst: float | None = None
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.wait(0.05):
            try:
                with urllib.request.urlopen(self.url, timeout=2) as r:
                    late = json.loads(r.read())["ping_late_ms"]
            except (OSError, ValueError, KeyError):
                continue  # not gsio, or busy: the clients' view still counts
            self.worst = late if self.worst is None else max(self.worst, late)


def run_one(name: str, command: str, scenario: str, args: argparse.Namespace) -> dict:
    port = free_port()
    interval, timeout = args.interval_ms / 1000, args.timeout_ms / 1000
    env = dict(
        os.environ,
        NODE_PATH=NODE_PATH,
        PING_INTERVAL=str(args.interval_ms),
        PING_TIMEOUT=str(args.timeout_ms),
        PORT=str(port),
    )
    cmd = command.format(port=port, interval=interval, timeout=timeout)
    server = subprocess.Popen(cmd, shell=True, env=env, start_new_session=True, cwd=HERE)
    view = ServerView(port)
    try:
        wait_port(port)
        time.sleep(1.0)
        lg = ["node", os.path.join(HERE, "loadgen_pings.js"), scenario, "--port", str(port)]
        lg += ["--pid", str(server.pid)]
        if scenario == "echo":
            lg += ["--c", str(args.echo_c), "--t", str(args.t), "--warmup", "1"]
        else:
            lg += ["--n", str(args.n), "--m", str(args.m), "--rounds", str(args.rounds)]
            lg += ["--wait", "5"]  # a round whose clients were lost waits 5 s at most
        view.start()
        out = subprocess.run(lg, env=env, capture_output=True, text=True, timeout=300)
        view.done.set()
        result = json.loads(out.stdout.strip().splitlines()[-1])
        result["server_ping_late_max_ms"] = view.worst
        result["server"] = name
        return result
    finally:
        view.done.set()
        try:
            os.killpg(server.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        server.wait(10)


def summary(results: list[dict]) -> dict:
    def med(key: str) -> float | None:
        values = [r[key] for r in results if r.get(key) is not None]
        return round(statistics.median(values), 2) if values else None

    return {
        key: med(key)
        for key in (
            "acks_per_s",
            "msgs_per_s",
            "ack_ms",
            "delivered",
            "expected",
            "pings",
            "ping_late_p50_ms",
            "ping_late_p99_ms",
            "ping_late_max_ms",
            "ping_missed",
            "server_ping_late_max_ms",
            "other_cpu_pct",
        )
        if med(key) is not None
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("servers", nargs="+", help="preset or NAME=COMMAND")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--interval-ms", type=int, default=200)
    parser.add_argument("--timeout-ms", type=int, default=400)
    parser.add_argument("--scenarios", default="echo,fanout")
    parser.add_argument("--echo-c", type=int, default=100)
    parser.add_argument("--t", type=float, default=5)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--m", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--out")
    args = parser.parse_args()
    servers = []
    for spec in args.servers:
        name, _, command = spec.partition("=")
        servers.append((name, command or PRESETS[name]))
    runs: list[dict] = []
    for rep in range(args.reps):
        order = servers if rep % 2 == 0 else servers[::-1]
        for scenario in args.scenarios.split(","):
            for name, command in order:
                result = run_one(name, command, scenario, args)
                runs.append(result)
                print(json.dumps(result), file=sys.stderr, flush=True)
    print(
        f"pingInterval {args.interval_ms} ms, pingTimeout {args.timeout_ms} ms, "
        f"medians of {args.reps} reps (lateness in ms; a miss: later than pingTimeout)"
    )
    table = {}
    for scenario in args.scenarios.split(","):
        for name, _ in servers:
            rows = [r for r in runs if r["server"] == name and r["scenario"] == scenario]
            table[f"{scenario} {name}"] = s = summary(rows)
            print(f"{scenario:7} {name:8} {json.dumps(s)}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"args": vars(args), "summary": table, "runs": runs}, f, indent=1)


if __name__ == "__main__":
    main()
