"""The benchmark's CPU accounting (bench/common.py ``cpu_split``) and its CPU-timed profiler (bench/cpuprofile.py).

They measure, never assert a timing: the tests check what is counted and where, not how much.
"""

from __future__ import annotations

import os
import pstats
import subprocess
import sys
import time
from pathlib import Path

from bench.common import REPO, cpu_split

#: Runs a thread that works and ends, then says so and waits to be measured.
ENDED_THREAD = """
import sys, threading
worker = threading.Thread(target=lambda: sum(range(2_000_000)))
worker.start()
worker.join()
print("ended", flush=True)
sys.stdin.readline()
"""


def test_the_cpu_of_a_thread_that_ended_is_still_counted() -> None:
    """A worker thread's CPU shows in threads_ms after it has ended (its schedstat file is gone by then)."""
    proc = subprocess.Popen([sys.executable, "-c", ENDED_THREAD], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)  # fmt: skip
    try:
        assert proc.stdout is not None
        assert "ended" == proc.stdout.readline().strip()
        deadline = time.monotonic() + 10
        while len(os.listdir(f"/proc/{proc.pid}/task")) > 1:  # joined; the kernel task may take a moment more
            assert time.monotonic() < deadline, "the worker thread never went"
            time.sleep(0.01)
        split = cpu_split(proc.pid)
    finally:
        proc.communicate("\n", timeout=10)
    assert split["threads_ms"] > 0
    assert split["main_ms"] > 0


def test_cpuprofile_writes_the_stats_and_passes_the_exit_status_on(tmp_path: Path) -> None:
    """``python -m bench.cpuprofile -o OUT -m MODULE ARGS``: the module ran with its argv, its stats are in OUT."""
    (tmp_path / "worker_module.py").write_text(
        "import sys\ndef work():\n    return sum(range(200_000))\nwork()\nsys.exit(int(sys.argv[1]))\n"
    )
    out = tmp_path / "out.prof"
    argv = [sys.executable, "-m", "bench.cpuprofile", "-o", str(out), "-m", "worker_module", "3"]
    env_path = f"{tmp_path}:{REPO}"
    result = subprocess.run(argv, cwd=REPO, env={"PYTHONPATH": env_path}, capture_output=True, text=True,
                            timeout=60, check=False)  # fmt: skip
    assert 3 == result.returncode, result.stderr
    names = {name for (_file, _line, name) in pstats.Stats(str(out)).stats}  # type: ignore[attr-defined]
    assert "work" in names
