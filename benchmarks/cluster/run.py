"""Cross-process broadcast throughput: gsio + Redis beside Node's socket.io +
@socket.io/redis-adapter and python-socketio's RedisManager, measured in one alternating run.

For each implementation: a fresh redis-server, two server processes on it, N WebSocket clients
spread over both, and one broadcast burst (M messages to every socket) triggered on the first
server. Delivered msgs/s counts every client; "remote" is the second server's clients only,
which get every message through Redis.

    python3 benchmarks/cluster/run.py [--n 1000] [--m 100] [--reps 3]

Needs redis-server, the Node packages of tests/js (npm ci --prefix tests/js), and the shared
bench's venv (../shared/bench/setup.sh) with ``redis`` added for python-socketio's manager
(this script adds it when missing).
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
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
BENCH_HOME = Path(os.environ.get("BENCH_HOME", Path.home() / ".cache" / "gsio-bench"))
BENCH_PY = BENCH_HOME / "venv" / "bin" / "python"
NODE_PATH = str(ROOT / "tests" / "js" / "node_modules")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing listens on {port}") from None
            time.sleep(0.05)


def command(impl: str, port: int, url: str) -> list[str]:
    if impl == "gsio":
        return [sys.executable, str(HERE / "server_gsio.py"), str(port), url]
    if impl == "pysio":
        return [str(BENCH_PY), str(HERE / "server_pysio.py"), str(port), url]
    return ["node", str(HERE / "server_node.js"), str(port), url]


def start(argv: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), NODE_PATH=NODE_PATH)
    return subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True
    )


def stop(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.wait(10)


def run_once(impl: str, n: int, m: int) -> dict:
    redis_port = free_port()
    redis = start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no"])
    servers: list[subprocess.Popen] = []
    try:
        wait_port(redis_port)
        url = f"redis://127.0.0.1:{redis_port}/0"
        ports = [free_port(), free_port()]
        for port in ports:
            servers.append(start(command(impl, port, url)))
        for port in ports:
            wait_port(port)
        time.sleep(1.0)  # the adapters subscribe once their servers run
        done = subprocess.run(
            ["node", str(HERE / "load.js"), "--ports", ",".join(map(str, ports)),
             "--n", str(n), "--m", str(m)],
            env=dict(os.environ, NODE_PATH=NODE_PATH), capture_output=True, text=True, timeout=180,
        )
        lines = done.stdout.strip().splitlines()
        result = json.loads(lines[-1]) if lines else {"error": done.stderr[-500:]}
        if "error" in result:
            for proc in servers:
                stop(proc)
            result["stderr"] = [proc.stderr.read().decode()[-800:] for proc in servers]
        return result
    finally:
        for proc in servers:
            stop(proc)
        stop(redis)


def ensure_pysio_redis() -> None:
    check = subprocess.run([str(BENCH_PY), "-c", "import redis"], capture_output=True)
    if check.returncode != 0:
        subprocess.run([str(BENCH_PY), "-m", "pip", "install", "-q", "redis"], check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="clients, over both servers")
    parser.add_argument("--m", type=int, default=100, help="messages in the burst")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--impls", default="node,pysio,gsio")
    parser.add_argument("--out", help="write the raw results as JSON here")
    options = parser.parse_args()
    impls = options.impls.split(",")
    if "pysio" in impls:
        ensure_pysio_redis()
    results: dict[str, list[dict]] = {impl: [] for impl in impls}
    for rep in range(options.reps):
        order = impls if rep % 2 == 0 else impls[::-1]
        for impl in order:
            result = run_once(impl, options.n, options.m)
            results[impl].append(result)
            print(f"rep {rep + 1} {impl}: {json.dumps(result)[:300]}", file=sys.stderr)
    print(f"\ncross-process broadcast, 2 servers, n={options.n} clients, m={options.m} "
          f"messages, medians of {options.reps}")
    print(f"{'server':8} {'msgs/s all':>12} {'msgs/s remote':>14} {'first remote ms':>16} "
          f"{'trigger ack ms':>15} {'vs node':>8}")
    base = None
    for impl in impls:
        good = [r for r in results[impl] if "error" not in r]
        if not good:
            print(f"{impl:8} failed: {results[impl][0].get('error')}")
            continue
        total = statistics.median(r["msgs_per_s"] for r in good)
        remote = statistics.median(r["servers"][1]["msgs_per_s"] for r in good)
        first = statistics.median(r["servers"][1]["first_ms"] for r in good)
        ack = statistics.median(r["trigger_ack_ms"] for r in good)
        base = base or total
        print(f"{impl:8} {total:12,.0f} {remote:14,.0f} {first:16,.1f} {ack:15,.1f} "
              f"{total / base:7.2f}x")
    if options.out:
        Path(options.out).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
