"""gsio under ``gunicorn -w 2`` without sticky sessions, beside the same app with one worker and
Node's socket.io: the shared harness's polling and echo scenarios in one alternating run.

    python3 benchmarks/workers.py [--reps 5] [--t 8] [bench.py options...]

The app is benchmarks/contract_server.py's ``app`` under
``gunicorn -k gsio.gunicorn.GeventWorker -w N``: with two workers the kernel gives each
connection to either of them, a polling request for the other worker's session moves there with
its connection (and the later requests of that keep-alive connection are the owner's), and the
broadcasts go through the in-host adapter the workers set up by themselves. The harness
(../shared/bench, or $GSIO_BENCH; run its ./setup.sh once) starts every server fresh for every
run and alternates their order. Its table, with ratios to ``gsio-w1``, is kept in
benchmarks/results/<time>-workers.txt (raw runs in .json); then this script prints every rep's
figure (the machine is noisy, and often bimodal) and the ratios of the medians: -w 2 to -w 1,
and both to Node.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# $GSIO_BENCH, else shared/bench beside the checkout or beside one of its parents (a worktree's)
BENCH = Path(
    os.environ.get("GSIO_BENCH")
    or next((p / "shared" / "bench" for p in ROOT.parents if (p / "shared" / "bench").is_dir()), "")
)
NOISY_PCT = 15  # the harness's mark of a disturbed run (other processes or steal)
METRICS = [("acks_per_s", "acks/s"), ("p50_ms", "p50 ms"), ("srv_cpu_pct", "server CPU %")]
METRICS += [("lg_cpu_pct", "loadgen CPU %"), ("idle_pct", "machine idle %")]


def gunicorn(workers: int) -> str:
    """The harness's command for contract_server:app under gsio's gunicorn worker."""
    return (
        f"gsio-w{workers}=env PYTHONPATH={ROOT} {sys.executable} -m gunicorn"
        f" -k gsio.gunicorn.GeventWorker -w {workers} --worker-connections 20000"
        " --backlog 1024 --no-control-socket -b 127.0.0.1:{port}"
        f" --chdir {HERE} contract_server:app"
    )


def summary(path: Path) -> str:
    """Every rep's figures per server and scenario (``*``: disturbed, by other processes or
    steal), their medians (leaving out disturbed runs if 2+ clean ones remain, as the harness
    does) and the ratios of the acks/s medians: -w2/-w1, -w1/node and -w2/node."""
    runs = json.loads(path.read_text())["runs"]
    by: dict[str, dict[str, list[dict]]] = {}
    for run in runs:
        by.setdefault(run["label"], {}).setdefault(run["server"], []).append(run["result"])
    lines = []
    for label, servers in by.items():
        lines.append(label)
        medians: dict[str, dict[str, float]] = {}
        for name in sorted(servers):
            results = servers[name]
            clean = [r for r in results if not _disturbed(r)]
            results = clean if len(clean) >= 2 else results
            medians[name] = {}
            for key, title in METRICS:
                values = [r[key] for r in results if isinstance(r.get(key), (int, float))]
                if not values:
                    continue
                medians[name][key] = statistics.median(values)
                reps = " ".join(
                    f"{r[key]:g}{'*' if _disturbed(r) else ''}"
                    for r in servers[name]
                    if isinstance(r.get(key), (int, float))
                )
                lines.append(f"  {name:8} {title:15} median {medians[name][key]:<9g} reps: {reps}")
            dropped = len(servers[name]) - len(results)
            if dropped:
                lines.append(f"  {name:8} ({dropped} disturbed run(s) left out of the medians)")
        for top, bottom in (("gsio-w2", "gsio-w1"), ("gsio-w1", "node"), ("gsio-w2", "node")):
            a = medians.get(top, {}).get("acks_per_s")
            b = medians.get(bottom, {}).get("acks_per_s")
            if a and b:
                lines.append(f"  acks/s {top}/{bottom}: {a / b:.2f}x")
    return "\n".join(lines)


def _disturbed(result: dict) -> bool:
    return any((result.get(k) or 0) > NOISY_PCT for k in ("other_cpu_pct", "steal_pct"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", default="5")
    parser.add_argument("--t", default="8", help="measured seconds per run")
    parser.add_argument("--scenarios", default="polling,echo")
    parser.add_argument("--summary", metavar="JSON", help="only summarize a saved run")
    args, rest = parser.parse_known_args()
    if args.summary:
        print(summary(Path(args.summary)))
        return
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (HERE / "results").mkdir(exist_ok=True)
    out = HERE / "results" / f"{stamp}-workers.json"
    command = [sys.executable, "bench.py", "--reps", args.reps, "--t", args.t]
    command += ["--scenarios", args.scenarios, "--out", str(out), *rest]
    command += [gunicorn(1), gunicorn(2), "node"]
    with open(out.with_suffix(".txt"), "w") as log:
        with subprocess.Popen(
            command, cwd=BENCH, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        ) as bench:
            assert bench.stdout is not None
            for line in bench.stdout:
                sys.stdout.write(line)
                log.write(line)
        if bench.returncode:
            sys.exit(bench.returncode)
        text = "\nper rep (in run order; * disturbed), medians and ratios:\n" + summary(out)
        print(text)
        log.write(text + "\n")


if __name__ == "__main__":
    main()
