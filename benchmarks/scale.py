"""Scale: as many idle WebSocket clients as the machine allows on one server process, held with
pingInterval 25 s, then a broadcast to all of them; gsio beside Node's socket.io.

    python3 benchmarks/scale.py [--n N] [--hold 300] [--broadcasts 3] [SERVER ...]

SERVER as in the shared harness's bench.py (a preset such as ``node``, or ``NAME=COMMAND`` with
``{port}``); default: ``node`` and gsio (benchmarks/contract_server.py). Each server runs fresh,
one after the other, with benchmarks/scale.js as the client (the shared harness's scale.js with
a broadcast phase): connect ``--n`` clients (at most ``--conc`` handshakes in flight) from
several loopback source addresses, hold them ``--hold`` seconds answering every ping, then
``--broadcasts`` times one client asks for a broadcast to every client (the contract's
``broadcast`` event), timed to the last delivery, then an echo probe and the close.

``--n`` defaults to what the file limit allows (one fd per connection on each side, the hard
limit ``ulimit -Hn``, up to 100,000); one source address per 14,000 clients, at least four
(past half the ephemeral port range of one address, the kernel's port search slows
``connect()`` down). The table is printed (the harness's scale.py rows and the broadcasts),
with what 100,000 connections would cost from the measured per-connection figures
(``--project``), and kept in benchmarks/results/<time>-scale.txt (raw: .json; the servers'
output in -scale-servers.log; ``--results`` elsewhere).

The harness is ../shared/bench (or $GSIO_BENCH; its ./setup.sh once): its bench.py starts and
stops the servers and its scale.py prints the common rows.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import math
import os
import random
import resource
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
GSIO = f"gsio=env PYTHONPATH={ROOT} {sys.executable} {HERE / 'contract_server.py'} {{port}}"
MOST = 100_000
PER_SOURCE = 14_000


def sources(n: int) -> str:
    """Fresh loopback addresses 127.0.R.1.. for the clients (R random: a server that closes
    second leaves TIME_WAIT on the client's addresses, which slows bind() later)."""
    r = random.randint(1, 254)
    count = max(4, math.ceil(n / PER_SOURCE))
    return ",".join(f"127.{r}.{j // 250}.{j % 250 + 1}" for j in range(count))


def run_one(bench, name: str, cmd: str, a: argparse.Namespace, logf) -> dict:
    bench.log(f"{name}: n={a.n} hold={a.hold}s  ({cmd})")
    logf.write(f"\n===== {name} scale n={a.n}: {cmd}\n".encode())
    logf.flush()
    srv = bench.Server(name, cmd, logf)
    timeout = a.hold + 600
    try:
        args = ["--port", srv.port, "--pid", srv.proc.pid, "--n", a.n, "--hold", a.hold]
        args += ["--conc", a.conc, "--src", sources(a.n), "--broadcasts", a.broadcasts]
        args += ["--timeout", timeout - 30]
        try:
            done = subprocess.run(
                ["node", str(HERE / "scale.js"), *map(str, args)],
                capture_output=True,
                text=True,
                timeout=timeout,
            )
            lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
            res = json.loads(lines[-1]) if lines else {"error": done.stderr.strip()[-300:]}
        except subprocess.TimeoutExpired:
            res = {"error": f"scale.js killed after {timeout}s"}
        res["server_exit"] = srv.proc.poll()  # None: still running at the end
    finally:
        srv.stop()
    return {"server": name, "command": cmd, "result": res}


def broadcast_rows(runs: list[dict]) -> list[tuple[str, list]]:
    """The broadcasts, per server: delivered, first / p50 / p99 / last delivery, ack."""
    rows: list[tuple[str, list]] = []
    most = max((len(r["result"].get("broadcasts") or []) for r in runs), default=0)
    for i in range(most):
        cells: list[list] = [[], [], []]
        for run in runs:
            b = (run["result"].get("broadcasts") or [{}] * most)[i]
            cells[0].append(f"{b.get('delivered')}/{b.get('recipients')}")
            cells[1].append(f"{b.get('first_ms')} / {b.get('p50_ms')} / {b.get('p99_ms')}")
            cells[2].append(f"{b.get('last_ms')} / {b.get('ack_ms')}")
        rows.append((f"broadcast {i + 1}: delivered", cells[0]))
        rows.append(("  first / p50 / p99 ms", cells[1]))
        rows.append(("  last delivery / ack ms", cells[2]))
    return rows


def projection(r: dict, n: int) -> dict:
    """What ``n`` connections would cost, scaled from the measured per-connection figures."""
    ok = r.get("ok") or 0
    if not ok:
        return {}
    kib = r.get("kib_per_conn") or 0
    hold = (r.get("hold_usage") or {}).get("srv_cpu_pct")
    lasts = [b["last_ms"] for b in r.get("broadcasts") or [] if b.get("last_ms") is not None]
    return {
        "RSS MiB": round((r.get("rss_before_kib", 0) + kib * n) / 1024),
        "connect s": round(n / r["conn_per_s"], 1) if r.get("conn_per_s") else None,
        "idle CPU %": None if hold is None else round(hold * n / ok, 1),
        "broadcast last ms": round(sorted(lasts)[len(lasts) // 2] * n / ok) if lasts else None,
    }


def report(runs: list[dict], project: int) -> None:
    import scale as shared  # the harness's scale.py: its rows

    shared.report(runs)
    width = max(30, *(len(x["server"]) + 2 for x in runs))
    rows = broadcast_rows(runs)
    rows += [
        (f"{project:,} projected: {key}", [projection(x["result"], project).get(key) for x in runs])
        for key in ("RSS MiB", "connect s", "idle CPU %", "broadcast last ms")
    ]
    for label, cells in rows:
        print(f"{label:<36}" + "".join(f"{str(c):>{width}}" for c in cells))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("servers", nargs="*")
    ap.add_argument("--n", type=int, help="clients (default: what the file limit allows)")
    ap.add_argument("--hold", type=int, default=300)
    ap.add_argument("--conc", type=int, default=100)
    ap.add_argument("--broadcasts", type=int, default=3)
    ap.add_argument("--project", type=int, default=MOST, help="connections to project to")
    ap.add_argument("--report", metavar="JSON", help="only print the table of a saved run")
    ap.add_argument("--results", type=Path, default=HERE / "results", help="where runs are kept")
    a = ap.parse_args()
    if not (BENCH / "bench.py").is_file():
        sys.exit(f"no shared harness at {BENCH!s}: set GSIO_BENCH")
    sys.path.insert(0, str(BENCH))
    import bench

    if a.report:
        report(json.loads(Path(a.report).read_text())["runs"], a.project)
        return
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # inherited by server and client
    if a.n is None:
        a.n = min(MOST, hard - 100)
    if a.n + 64 > hard:
        sys.exit(f"--n {a.n} needs more than the file limit {hard} allows (one fd per connection)")
    servers = a.servers or ["node", GSIO]
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = a.results / f"{stamp}-scale.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    runs = []
    with open(a.results / f"{stamp}-scale-servers.log", "ab") as logf:
        for spec in servers:
            if spec in bench.PRESETS:
                name, cmd = spec, bench.PRESETS[spec][0]
            else:
                name, cmd = spec.split("=", 1)
            runs.append(run_one(bench, name, cmd, a, logf))
            summary = {k: runs[-1]["result"].get(k) for k in ("ok", "conn_per_s", "error")}
            bench.log("  " + json.dumps(summary))
            time.sleep(5)  # the kernel finishes with the closed sockets before the next server
    args = {k: str(v) if isinstance(v, Path) else v for k, v in vars(a).items()}
    meta = {"time": stamp, "cpus": os.cpu_count(), "nofile": hard, "args": args}
    out.write_text(json.dumps({"meta": meta, "runs": runs}, indent=1))
    table = io.StringIO()
    with contextlib.redirect_stdout(table):
        report(runs, a.project)
    print(table.getvalue() + f"raw results: {out}")
    out.with_suffix(".txt").write_text(table.getvalue())


if __name__ == "__main__":
    main()
