"""A smoke run of the benchmark's leak check (benchmarks/leakcheck.py): it works, and nothing
stays behind after a few hundred connections. No timing is checked."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("transport", ["websocket", "polling"])
def test_leakcheck_smoke(transport):
    # Few connections: RSS moves by more than they cost, so only greenlets and objects count.
    command = [sys.executable, str(ROOT / "benchmarks" / "leakcheck.py"), "--n", "200"]
    command += ["--rounds", "2", "--rss-slack", "100000", "--transport", transport]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.strip().endswith("OK"), done.stdout
    assert "round 2: all closed" in done.stdout


def test_handoff_cost_smoke():
    """benchmarks/handoff_cost.py runs under gunicorn -w 2: every request of the moved mode
    moves, none of the local ones does, no errors."""
    command = [sys.executable, str(ROOT / "benchmarks" / "handoff_cost.py")]
    command += ["--requests", "20", "--rounds", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "round 1 fresh-moved" in done.stdout and "moved 20/20  errors 0" in done.stdout
    assert "round 1 fresh-local" in done.stdout and "moved 0/20  errors 0" in done.stdout
    assert done.stdout.strip().endswith("errors 0, tracebacks in gunicorn's output 0")
