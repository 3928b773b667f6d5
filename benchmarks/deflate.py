"""What per-message deflate costs: CPU per message compressed and inflated (in process), and
echo round trips per second with it on and off (benchmarks/deflate_echo.js, one client over
ws, against benchmarks/contract_server.py).

    python benchmarks/deflate.py [--echo-seconds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import zlib
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from gsio.protocol import frames  # noqa: E402
from gsio.protocol.deflate import Inflater, PerMessageDeflate  # noqa: E402
from gsio.protocol.extensions import DeflateOptions  # noqa: E402

SIZES = [512, 2048, 16384, 131072]


def message(size: int) -> str:
    """An event of about ``size`` bytes: JSON records, as an application sends."""
    rows: list[dict] = []
    i = 0
    while len(json.dumps(rows)) < size:
        rows.append({"id": i, "name": f"user {i}", "score": i * 37 % 1000, "online": i % 3 == 0})
        i += 1
    return json.dumps(["update", rows])[: size + 20]


def per_call(fn, budget: float = 0.3) -> float:
    """Seconds per call of ``fn``, over about ``budget`` seconds."""
    n = 1
    while True:
        start = time.perf_counter()
        for _ in range(n):
            fn()
        spent = time.perf_counter() - start
        if spent > budget:
            return spent / n
        n *= 2


def cpu() -> None:
    pmd = PerMessageDeflate(DeflateOptions())
    params = pmd.negotiate("permessage-deflate; client_max_window_bits")
    assert params is not None
    framer = pmd.framer(params)
    print("size B  | frame (off) us | deflate us | ratio | inflate us")
    for size in SIZES:
        text = message(size)
        plain = per_call(lambda t=text: frames.text_frame("4" + t))
        deflated = per_call(lambda t=text: framer([t]))  # a new list each time: no cache
        payload = ("4" + text).encode()
        c = zlib.compressobj(6, zlib.DEFLATED, -15)
        data = (c.compress(payload) + c.flush(zlib.Z_SYNC_FLUSH))[:-4]
        inflate = Inflater(params, 1_000_000)
        inflated = per_call(lambda f=inflate, d=data: f(d))
        out = framer([text])
        print(
            f"{len(payload):7d} | {plain * 1e6:14.1f} | {deflated * 1e6:10.1f} |"
            f" {len(out) / len(payload):5.2f} | {inflated * 1e6:10.1f}"
        )
    text = message(16384)
    parts = [text]
    once = per_call(lambda: (framer(list(parts)), [framer(parts) for _ in range(1000)]))
    print(f"a 16 kB broadcast to 1000 connections: {once * 1e3:.2f} ms (compressed once)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def echo(seconds: float) -> None:
    print("server deflate | client offers | payload B | acks/s | wire out B/msg | in B/msg")
    for server_deflate in (False, True):
        port = free_port()
        args = [sys.executable, str(HERE / "contract_server.py"), str(port)]
        env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
        proc = subprocess.Popen(
            args + (["--deflate"] if server_deflate else []), env=env, stderr=subprocess.DEVNULL
        )
        try:
            time.sleep(1.0)
            for offer in (0, 1):
                for size in (32, 4096, 65536):
                    out = subprocess.run(
                        ["node", str(HERE / "deflate_echo.js"), str(port), str(size)]
                        + [str(seconds), str(offer)],
                        capture_output=True,
                        text=True,
                        timeout=seconds + 30,
                    )
                    r = json.loads(out.stdout.strip().splitlines()[-1])
                    print(
                        f"{server_deflate!s:14} | {bool(offer)!s:13} | {size:9d} |"
                        f" {r['perSecond']:6d} | {r['wireOut']:14d} | {r['wireIn']:8d}"
                        f"  {r['extensions']}"
                    )
        finally:
            proc.terminate()
            proc.wait()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--echo-seconds", type=float, default=5.0)
    parser.add_argument("--no-echo", action="store_true")
    options = parser.parse_args()
    cpu()
    if not options.no_echo:
        echo(options.echo_seconds)
