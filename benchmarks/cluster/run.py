"""Cross-process broadcast throughput and latency: gsio + Redis beside Node's socket.io +
@socket.io/redis-adapter and python-socketio's RedisManager, measured in one alternating run.

For each implementation: a fresh redis-server, two server processes on it, N WebSocket clients
spread over both, and one broadcast burst (M messages to every socket) triggered on the first
server. Delivered msgs/s counts every client; "remote" is the second server's clients only,
which get every message through Redis.

    python3 benchmarks/cluster/run.py [--n 1000] [--m 100] [--reps 3]

``--latency``: one client on each server, both in a room and in one Node process (one clock);
the first server's client triggers broadcasts to the room one at a time. Reported: the first
broadcast after the servers started (trigger to arrival on the second server's client), then a
steady stream (``--count`` broadcasts, one every ``--interval`` ms): p50/p99 remote, and p50 of
the same broadcast reaching the first server's own client (no Redis) as the floor. Rows:
gsio and Node with the pub/sub adapter, and with the Redis Streams adapter (``-streams``).
``gsio-host``: gsio with the in-host adapter (no Redis: the two servers on one host share a
directory of Unix sockets), in either mode (``--impls gsio,gsio-host``).

    python3 benchmarks/cluster/run.py --latency [--count 500] [--interval 5] [--reps 5]

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
import tempfile
import time
from pathlib import Path
from typing import Callable

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
    """``gsio``, ``node``, ``pysio``; ``gsio-streams``, ``node-streams``: the Streams adapter;
    ``gsio-host``: the in-host adapter (``url`` is then its directory)."""
    name, _, kind = impl.partition("-")
    kind = kind or "pubsub"
    if name == "gsio":
        return [sys.executable, str(HERE / "server_gsio.py"), str(port), url, kind]
    if name == "pysio":
        return [str(BENCH_PY), str(HERE / "server_pysio.py"), str(port), url]
    return ["node", str(HERE / "server_node.js"), str(port), url, kind]


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


def run_once(impl: str, load: list[str]) -> dict:
    """Two servers of ``impl`` on a fresh redis-server; ``load`` (``--ports`` is added) runs
    against them and prints one JSON line."""
    redis_port = free_port()
    redis = start(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1",
                   "--save", "", "--appendonly", "no"])
    servers: list[subprocess.Popen] = []
    try:
        wait_port(redis_port)
        url = f"redis://127.0.0.1:{redis_port}/0"
        if impl.endswith("-host"):  # the in-host adapter: a directory of the run's own
            url = os.path.join(tempfile.mkdtemp(prefix="gsio-bench-"), "bus")
        ports = [free_port(), free_port()]
        for port in ports:
            servers.append(start(command(impl, port, url)))
        for port in ports:
            wait_port(port)
        time.sleep(1.0)  # the adapters subscribe once their servers run
        done = subprocess.run(
            ["node", *load, "--ports", ",".join(map(str, ports))],
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


def run_all(impls: list[str], reps: int, load: list[str]) -> dict[str, list[dict]]:
    results: dict[str, list[dict]] = {impl: [] for impl in impls}
    for rep in range(reps):
        order = impls if rep % 2 == 0 else impls[::-1]
        for impl in order:
            result = run_once(impl, load)
            results[impl].append(result)
            print(f"rep {rep + 1} {impl}: {json.dumps(result)[:300]}", file=sys.stderr)
    return results


def _median(runs: list[dict], get: Callable[[dict], float]) -> float:
    return statistics.median(get(r) for r in runs)


def report_latency(options: argparse.Namespace, results: dict[str, list[dict]]) -> None:
    print(f"\ncross-process broadcast latency, 2 servers, 1 client on each, "
          f"{options.count} broadcasts every {options.interval} ms, medians of {options.reps} "
          f"(ms; this machine is noisy: see the per-rep lines)")
    print(f"{'server':14} {'first remote':>13} {'p50 remote':>11} {'p99 remote':>11} "
          f"{'max remote':>11} {'p50 local':>10} {'lost':>5}")
    for impl, runs in results.items():
        good = [r for r in runs if "error" not in r]
        if not good:
            print(f"{impl:14} failed: {runs[0].get('error')}")
            continue

        print(f"{impl:14} {_median(good, lambda r: r['first_remote_ms']):13.2f} "
              f"{_median(good, lambda r: r['remote']['p50']):11.2f} "
              f"{_median(good, lambda r: r['remote']['p99']):11.2f} "
              f"{_median(good, lambda r: r['remote']['max']):11.2f} "
              f"{_median(good, lambda r: r['local']['p50']):10.2f} {max(r['lost'] for r in good):5d}")
        firsts = ", ".join(f"{r['first_remote_ms']:.1f}" for r in good)
        print(f"{'':14} first remote per rep: {firsts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000, help="clients, over both servers")
    parser.add_argument("--m", type=int, default=100, help="messages in the burst")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--impls", help="default: node,pysio,gsio (latency: node,gsio,"
                        "node-streams,gsio-streams)")
    parser.add_argument("--latency", action="store_true", help="measure latency instead")
    parser.add_argument("--count", type=int, default=500, help="latency: steady broadcasts")
    parser.add_argument("--interval", type=float, default=5.0, help="latency: ms between them")
    parser.add_argument("--out", help="write the raw results as JSON here")
    options = parser.parse_args()
    if options.latency:
        impls = (options.impls or "node,gsio,node-streams,gsio-streams").split(",")
        load = [str(HERE / "latency.js"), "--count", str(options.count),
                "--interval", str(options.interval)]
    else:
        impls = (options.impls or "node,pysio,gsio").split(",")
        load = [str(HERE / "load.js"), "--n", str(options.n), "--m", str(options.m)]
    if "pysio" in impls:
        ensure_pysio_redis()
    results = run_all(impls, options.reps, load)
    if options.out:
        Path(options.out).write_text(json.dumps(results, indent=1))
    if options.latency:
        report_latency(options, results)
        return
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


if __name__ == "__main__":
    main()
