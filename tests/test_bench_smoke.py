"""Smoke tests of the benchmark: ``python -m bench`` still runs against the current answerd.

The unit run drives the pool alone with two lines and two calls (seconds): real answerd processes answer
real calls and the report says so. The whole report with tiny numbers (single line against mgetty, start-ups,
idle, imports, the pool) takes about 40 s, so it runs only when asked: ``ANSWERD_BENCH_SMOKE=full``.
Both assert the report's content, never a timing: timings on a shared CI machine are not a test's business.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the benchmark needs root (mount namespace, ports under /dev)"),
    pytest.mark.skipif(shutil.which("mount") is None, reason="needs mount(8)"),
]

HAVE_MGETTY = Path("/usr/sbin/mgetty").exists()


FULL = os.environ.get("ANSWERD_BENCH_SMOKE") == "full"


def test_pool_answers_every_call() -> None:
    """Two answerd lines in the pool, two calls offered at once: both answered, none blocked or lost."""
    # Two lines for two calls offered within a second: no call can find the pool full, whatever the arrivals.
    argv = [sys.executable, "-m", "bench", "--pool-only", "--pool-lines", "2", "--pool-calls", "2",
            "--pool-minutes", "0.1", "--pool-rate", "5", "--pool-think-s", "0.2", "--no-mgetty",
            "--skip-imports"]  # fmt: skip
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=50, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    for row in ("| pool metric | value |", "| calls offered | 2 |", "| answered | 2 |",
                "| blocked (no line ready: the pool was full) | 0 |", "| RING → ATA p50 / p99 / max ms |",
                "[ok  ] 0 lost calls in the pool: 0 of 2"):  # fmt: skip
        assert row in result.stdout, f"missing {row!r} in:\n{result.stdout}"


@pytest.mark.skipif(not FULL, reason="about 40 s: set ANSWERD_BENCH_SMOKE=full to run the whole benchmark tiny")
@pytest.mark.timeout(240)
def test_bench_runs_with_tiny_numbers() -> None:
    """The whole benchmark with tiny numbers finishes and prints every table and target line."""
    argv = [sys.executable, "-m", "bench", "--calls", "2", "--idle-seconds", "1", "--startups", "2",
            "--pool-lines", "2", "--pool-calls", "3", "--pool-minutes", "0.1", "--pool-think-s", "0.2"]  # fmt: skip
    if not HAVE_MGETTY:
        argv.append("--no-mgetty")
    result = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, timeout=230, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    out = result.stdout
    for row in (
        "| metric (ms) | n | answerd min | median | p99 | max | mgetty min | median | p99 | max | ratio (median) |",
        "| 1. final RING → `ATA` at the modem | 2 |",
        "|    CONNECT → `login: ` complete, waits 0 | 2 |",
        "|    CONNECT → first byte, defaults (settle_ms 500 / prompt-waittime 500) | 2 |",
        "| 3. name sent → login program running | 2 |",
        "| 4. call end → ready (modem's OK to the last init command), aligned | 2 |",
        "| 7. start → READY=1 (config checked at every start); mgetty: init done at the modem | 2 |",
        "| resource | answerd | mgetty | ratio |",
        "| 5. idle 1 s: CPU ms (schedstat) |",
        "|    idle 1 s: context switches (voluntary + involuntary) |",
        "|    PSS MiB, idle after the calls |",
        "|    `python -c` importing what `answerd run` imports, wall ms |",
        "| pool metric | value |",
        "| calls offered |",
        "| answered |",
        "| RING → ATA p50 / p99 / max ms |",
        "targets:",
        "start → READY overhead ≤ 250 ms (median):",
        "answerd's PSS above the floor ≤ 4 MiB (single line):",
    ):
        assert row in out, f"missing {row!r} in:\n{out}"
    if HAVE_MGETTY:
        assert "init sequence, mgetty/zero: ['ATZ', 'ATE0Q0V1&C1&D2S0=0']" in out
