"""The fuzzing campaign as one command: every harness in turn, one process at a time.

``python -m fuzz --short`` (CI: a few seconds per harness, under a minute in all) or ``--long`` (each
harness until it has run ``--runs`` inputs, at least a million, or ``--max-time`` passed). Each harness
starts from its seed corpus (``fuzz/corpus/NAME``, never written to) plus a work corpus
(``fuzz/.work/NAME``, kept between runs, not in git). A crash is saved as ``fuzz/crashes/NAME-crash-*``
and makes the command fail; replay it with ``python -m fuzz.replay FILE`` and turn it into a test in
``tests/core/test_fuzz_regressions.py``.

The summary gives, per harness, the executions, libFuzzer's final ``cov`` (code edges reached in the
instrumented answerd modules) and ``ft`` (features), and the execution at which coverage last grew: a
number far below the total says coverage had stopped growing.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from fuzz import HARNESSES

__all__ = ["main"]

ROOT = Path(__file__).resolve().parent
#: The longest input libFuzzer makes for each harness: long enough for its script, short enough to be fast.
MAX_LEN = {"lines": 256, "cid": 512, "login": 256, "ppp": 512, "escapes": 1024, "config": 1024, "machine": 384}
_PROGRESS = re.compile(r"^#(\d+)\s+(\w+)\s+cov: (\d+) ft: (\d+)")
_EXECUTED = re.compile(r"stat::number_of_executed_units: (\d+)")


@dataclass
class Result:
    """What one harness run reported."""

    name: str
    executions: int = 0
    cov: int = 0
    ft: int = 0
    last_new: int = 0
    seconds: float = 0.0
    crashed: bool = False


def run_one(name: str, runs: int, max_time: int, python: str) -> Result:
    """Fuzz one harness in a child process and parse libFuzzer's report."""
    seeds = ROOT / "corpus" / name
    work = ROOT / ".work" / name
    work.mkdir(parents=True, exist_ok=True)
    crashes = ROOT / "crashes"
    crashes.mkdir(exist_ok=True)
    command = [
        python, "-m", "fuzz.engine", name,
        f"-runs={runs}", f"-max_total_time={max_time}", f"-max_len={MAX_LEN[name]}",
        "-timeout=10", "-rss_limit_mb=2048", "-print_final_stats=1", "-print_pcs=0",
        f"-artifact_prefix={crashes}/{name}-",
        str(work), str(seeds),
    ]  # fmt: skip
    result = Result(name=name)
    started = time.monotonic()
    process = subprocess.run(command, cwd=ROOT.parent, capture_output=True, text=True, errors="replace", check=False)
    result.seconds = time.monotonic() - started
    for line in process.stderr.splitlines():
        progress = _PROGRESS.match(line)
        if progress:
            execs, kind, cov, ft = progress.groups()
            result.executions = int(execs)
            if int(cov) > result.cov or kind == "INITED":
                result.last_new = int(execs)
            result.cov, result.ft = int(cov), int(ft)
        executed = _EXECUTED.search(line)
        if executed:
            result.executions = int(executed.group(1))
    if process.returncode != 0:
        result.crashed = True
        sys.stderr.write(process.stderr[-4000:])
    return result


def main(argv: list[str] | None = None) -> int:
    """Run the campaign; print one summary row per harness; exit 1 if any harness crashed."""
    parser = argparse.ArgumentParser(prog="python -m fuzz", description=__doc__.split("\n\n")[0])
    length = parser.add_mutually_exclusive_group(required=True)
    length.add_argument("--short", action="store_true", help="a few seconds per harness (CI)")
    length.add_argument("--long", action="store_true", help="each harness to --runs executions")
    parser.add_argument("--runs", type=int, default=1_200_000, help="executions per harness with --long")
    parser.add_argument("--max-time", type=int, default=1800, help="seconds per harness at most with --long")
    parser.add_argument("harness", nargs="*", choices=[*HARNESSES, []], help="only these (default: all)")
    args = parser.parse_args(argv)
    runs, max_time = (args.runs, args.max_time) if args.long else (10_000_000, 5)
    print(f"{'harness':<9} {'execs':>10} {'cov':>5} {'ft':>6} {'cov last grew at':>17} {'seconds':>8}")
    failed = False
    for name in args.harness or HARNESSES:
        result = run_one(name, runs, max_time, sys.executable)
        failed |= result.crashed
        status = "  CRASH" if result.crashed else ""
        print(
            f"{name:<9} {result.executions:>10} {result.cov:>5} {result.ft:>6} {result.last_new:>17} "
            f"{result.seconds:>8.1f}{status}",
            flush=True,
        )
    return 1 if failed else 0
