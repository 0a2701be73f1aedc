"""Where a call's CPU goes: ``answerd run`` on the benchmark modem, N calls, CPU split by who spent it.

Run from the repository root, as root::

    .venv/bin/python -m bench.percall [--calls 200] [--profile] [--top 30]

The daemon runs exactly as in the ``zero`` pass of ``python -m bench`` (same settings, modem and stand-in
login program, ``/bin/dd`` writing one byte to a FIFO). Between the first and the last call the report takes:

* the daemon's main thread (the event loop: the core, the port, logging, starting the program);
* its other threads (``asyncio.to_thread`` workers: utmp records, ``tcdrain``; asyncio's child watcher);
* its reaped children (``setsid``, which execs the stand-in: exec and dynamic linking of both);

each from the kernel's per-task scheduler statistics (``/proc/PID/task/TID/schedstat``, nanoseconds), the
children from ``cutime + cstime`` (clock ticks, so only meaningful over many calls). The sum is the figure
``python -m bench`` reports as "CPU ms per call". ``--profile`` also runs a second daemon under cProfile and
prints the call path's heaviest functions (cProfile roughly doubles Python's cost: read it for proportions).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import os
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .common import REPO, NotifyListener, write_answerd_config
from .compare import INIT_CHAT, WARM_IMPORTS, answerd_env, answerd_settings
from .modem import Modem
from .sandbox import enter_private_namespace

__all__ = ["cpu_split", "main"]


def cpu_split(pid: int) -> dict[str, float]:
    """CPU so far of ``pid``'s main thread, its other threads (both ns) and its reaped children (ms, ticks)."""
    main_ns = other_ns = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            run_ns = int((task / "schedstat").read_text().split()[0])
        except (FileNotFoundError, ProcessLookupError):  # a worker thread that just ended
            continue
        if task.name == str(pid):
            main_ns += run_ns
        else:
            other_ns += run_ns
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    ticks = int(fields[13]) + int(fields[14])
    return {
        "main_ms": main_ns / 1e6,
        "threads_ms": other_ns / 1e6,
        "children_ms": ticks * 1000 / os.sysconf("SC_CLK_TCK"),
    }


async def _calls(modem: Modem, calls: int) -> None:
    seq = ["AT", *INIT_CHAT[1::2]]  # answerd's probe, then the init chat's sends
    for _ in range(calls):
        await asyncio.sleep(0.05)
        call = modem.ring()
        await modem.wait_until(lambda c=call: c.t_end is not None, 20, "end of call")  # type: ignore[misc]
        end = call.t_end or 0
        await modem.wait_until(lambda e=end: modem.replies_through(e, seq) is not None, 20, "re-init")  # type: ignore[misc]


async def _run(calls: int, tmp: Path, env: dict[str, str], profile: Path | None) -> dict[str, Any]:
    """Start a daemon, make one warm-up call, then ``calls`` calls; the CPU split per call."""
    name = "bnprof" if profile else "bnpcall"
    link = Path(f"/dev/ttyBN{name[2:]}")
    fifo = tmp / f"{name}.fifo"
    modem = Modem(link, fifo)
    notify = NotifyListener(tmp / f"{name}.notify")
    config = tmp / f"{name}.toml"
    write_answerd_config(config, name, answerd_settings("zero", link, fifo))
    python = [sys.executable, "-m", "cProfile", "-o", str(profile)] if profile else [sys.executable]
    argv = [*python, "-m", "answerd", "run", "--config", str(config), "--port", name, "--log-format", "json"]
    log = (tmp / f"{name}.log").open("wb")
    proc = subprocess.Popen(argv, cwd=REPO, env={**env, "NOTIFY_SOCKET": str(notify.path)}, stderr=log,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)  # fmt: skip
    try:
        await notify.wait_for("READY=1", 0, 60)
        await _calls(modem, 1)  # lazy imports and first-call caches out of the figure
        before = cpu_split(proc.pid)
        await _calls(modem, calls)
        after = cpu_split(proc.pid)
    finally:
        proc.terminate()
        await asyncio.to_thread(proc.wait)
        notify.close()
        modem.close()
        log.close()
    per_call = {key: (after[key] - before[key]) / calls for key in before}
    per_call["total_ms"] = sum(per_call.values())
    return per_call


def main(argv: list[str] | None = None) -> int:
    """Measure and print the split (and, with ``--profile``, the call path's profile)."""
    parser = argparse.ArgumentParser(prog="python -m bench.percall", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--profile", action="store_true", help="also profile a second daemon with cProfile")
    parser.add_argument("--top", type=int, default=30)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="answerd-percall-") as tmpdir:
        tmp = Path(tmpdir)
        enter_private_namespace(tmp)
        env = answerd_env(tmp / "pycache")
        subprocess.run([sys.executable, "-c", WARM_IMPORTS], check=True, cwd=REPO, env=env)
        split = asyncio.run(_run(args.calls, tmp, env, None))
        print(f"CPU per call over {args.calls} calls (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in split.items()))
        if args.profile:
            out_path = tmp / "answerd.prof"
            asyncio.run(_run(args.calls, tmp, env, out_path))
            out = io.StringIO()
            stats = pstats.Stats(str(out_path), stream=out)
            stats.sort_stats("tottime").print_stats(args.top)
            print(out.getvalue().replace(str(REPO) + "/", ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
