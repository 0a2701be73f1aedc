"""Run a module under cProfile timed by the main thread's CPU clock, not the wall clock.

``python -m bench.cpuprofile -o OUT -m answerd run ...`` is ``python -m cProfile -o OUT -m answerd run ...``
with ``time.thread_time`` as the timer. On a shared machine cProfile's default (wall) timer charges a function
for the time the process sat preempted or blocked (``vfork`` waiting for the child's ``exec``, a pty write that
woke its reader on the other CPU), so its proportions follow the neighbours' load; the thread's CPU clock
charges only what the main thread ran. Costs one ``clock_gettime`` system call per profiler event, so absolute
figures are inflated further than with the default timer: read the proportions. Other threads are not
profiled (cProfile never is); ``bench.common.cpu_split`` measures them.
"""

from __future__ import annotations

import argparse
import cProfile
import runpy
import sys
import time

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    """Profile ``-m MODULE ARGS...`` and write the stats to ``-o OUT`` when it exits (also by SystemExit)."""
    parser = argparse.ArgumentParser(prog="python -m bench.cpuprofile", description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--out", required=True)
    parser.add_argument("-m", "--module", required=True)
    parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    sys.argv = [args.module, *args.args]
    profile = cProfile.Profile(time.thread_time)
    code = 0
    profile.enable()
    try:
        runpy.run_module(args.module, run_name="__main__", alter_sys=True)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    finally:
        profile.disable()
        profile.dump_stats(args.out)
    return code


if __name__ == "__main__":
    raise SystemExit(main())
