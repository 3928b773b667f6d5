"""Where a live gsio server spends its time under one of the shared harness's loads: py-spy's
samples of benchmarks/contract_server.py while ``loadgen.js`` runs, summed per function.

    python3 benchmarks/profile_live.py [--scenario echo] [--seconds 6] [--rate 500]
                                       [--out results/NAME] [-- SERVER FLAGS...]

Starts the contract server (with the flags after ``--``, e.g. ``--blocking``), runs the
scenario (echo: ``--c 100``; polling: ``--c 50``; connect: ``--n 5000``; fanout: ``--n 1000
--m 100``) and samples the server with ``py-spy record`` (on-CPU samples only) for
``--seconds`` once it is under load. Prints the loadgen's result line, the share of samples
per function where they were taken (self) and per function on the stack (inclusive), and, with
``--out``, keeps the raw samples (``NAME.raw``) and the table (``NAME.txt``).

The system calls show as the Python line that makes them (``NativeWriter._flush``'s ``send``,
``NativeWebSocket._on_readable``'s ``recv``); ``Hub.run``'s self time is the event loop's C
code and ``epoll_wait``. Needs ``py-spy`` (pip) and the harness's ``./setup.sh``.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH = Path(
    os.environ.get("GSIO_BENCH")
    or next((p / "shared" / "bench" for p in ROOT.parents if (p / "shared" / "bench").is_dir()), "")
)
LOADS = {
    "echo": ["--c", "100", "--warmup", "1", "--payload", "32"],
    "polling": ["--c", "50", "--warmup", "1"],
    "connect": ["--n", "5000"],
    "fanout": ["--n", "1000", "--m", "100"],
}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"the server did not listen on {port}")


def summarize(raw: str, top: int = 30) -> str:
    """The table of ``py-spy record -f raw`` output: self and inclusive shares per function."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        return "no samples\n"
    lines = [f"{total} samples; self (where they were taken):"]
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in own.most_common(top)]
    lines.append("inclusive (on the stack):")
    lines += [f"  {100 * n / total:5.1f}%  {f}" for f, n in inclusive.most_common(top)]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--scenario", choices=sorted(LOADS), default="echo")
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument("--rate", type=int, default=500, help="samples per second")
    ap.add_argument("--out", type=Path, help="keep NAME.raw and NAME.txt")
    ap.add_argument("server_flags", nargs="*", help="after --: flags for contract_server.py")
    args = ap.parse_args()
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, str(HERE / "contract_server.py"), str(port), *args.server_flags],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    raw_path = args.out.with_suffix(".raw") if args.out else Path(f"/tmp/profile-{port}.raw")
    try:
        _wait_for(port, time.monotonic() + 20)
        load = [
            "node",
            str(BENCH / "loadgen.js"),
            args.scenario,
            "--port",
            str(port),
            "--pid",
            str(server.pid),
            *LOADS[args.scenario],
        ]
        if args.scenario in ("echo", "polling"):
            load += ["--t", str(int(args.seconds + 3))]
        node_path = os.environ.get("NODE_PATH") or str(
            Path.home() / ".cache" / "gsio-bench" / "node_modules"
        )
        loadgen = subprocess.Popen(
            load, cwd=BENCH, stdout=subprocess.PIPE, text=True, env={**env, "NODE_PATH": node_path}
        )
        time.sleep(1.5 if args.scenario in ("echo", "polling") else 0.3)
        spy = [
            "py-spy", "record", "-p", str(server.pid), "-d", str(round(args.seconds)),
            "-r", str(args.rate), "-f", "raw", "-o", str(raw_path), "--nonblocking",
        ]  # fmt: skip
        done = subprocess.run(spy, capture_output=True, text=True, check=False)
        if done.returncode:
            print(done.stderr.strip()[-500:], file=sys.stderr)
        out, _ = loadgen.communicate(timeout=120)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(10)
    result = json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
    table = f"{args.scenario} {' '.join(args.server_flags)}: {json.dumps(result)}\n"
    table += summarize(raw_path.read_text() if raw_path.exists() else "")
    print(table, end="")
    if args.out:
        args.out.with_suffix(".txt").write_text(table)


if __name__ == "__main__":
    main()
