"""Running the bench's long steps: every one says what it does, how far it is, and has a deadline."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

__all__ = ["BenchError", "run_step", "say", "tail"]

_STARTED = time.monotonic()
#: How often a long step reports that it is still running.
_HEARTBEAT_S = 30.0


class BenchError(Exception):
    """A step failed or missed its deadline; the message says which and has the evidence (a log's tail)."""


def say(text: str) -> None:
    """One progress line on stderr, with the time since the bench started."""
    elapsed = time.monotonic() - _STARTED
    print(f"vbench [{elapsed:7.1f}s] {text}", file=sys.stderr, flush=True)


def tail(path: Path, lines: int = 40) -> str:
    """The last ``lines`` lines of a log file (or why it cannot be read)."""
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read {path}: {exc})"


def run_step(what: str, argv: Sequence[str], *, log: Path, timeout_s: float, stdin: bytes | None = None) -> None:
    """Run ``argv`` with its output appended to ``log``; report progress; fail loudly on error or deadline.

    Raises:
        BenchError: the command exited non-zero or ran past ``timeout_s`` (it is killed then).
    """
    say(f"{what} (deadline {timeout_s:.0f}s, log {log})")
    start = time.monotonic()
    with open(log, "ab") as out:
        out.write(f"\n$ {' '.join(argv)}\n".encode())
        out.flush()
        process = subprocess.Popen(
            list(argv), stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        if stdin is not None and process.stdin is not None:
            process.stdin.write(stdin)
            process.stdin.close()
        while True:
            try:
                code = process.wait(timeout=_HEARTBEAT_S)
                break
            except subprocess.TimeoutExpired:
                elapsed = time.monotonic() - start
                if elapsed > timeout_s:
                    process.kill()
                    process.wait()
                    last = tail(log)
                    raise BenchError(f"{what}: no result after {timeout_s:.0f}s; end of {log}:\n{last}") from None
                say(f"  ... still {what} ({elapsed:.0f}s)")
    if code != 0:
        raise BenchError(f"{what}: exit status {code}; last lines of {log}:\n{tail(log)}")
    say(f"  done in {time.monotonic() - start:.1f}s")
