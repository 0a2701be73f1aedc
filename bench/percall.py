"""Where a call's CPU goes: ``answerd run`` on the benchmark modem, N calls, CPU split by who spent it.

Run from the repository root, as root::

    .venv/bin/python -m bench.percall [--calls 200] [--profile] [--top 30]

The daemon runs exactly as in the ``zero`` pass of ``python -m bench`` (same settings, modem and stand-in
login program, ``/bin/dd`` writing one byte to a FIFO). Between the first and the last call the report takes:

* the daemon's main thread (the event loop: the core, the port, logging, starting the program);
* its other threads (``asyncio.to_thread`` workers: utmp records, ``tcdrain``; asyncio's child watcher),
  ended ones included;
* its reaped children (``setsid``, which execs the stand-in: exec and dynamic linking of both);

the main thread from its scheduler statistics (``/proc/PID/task/PID/schedstat``, ns), the other threads as the
process's CPU clock minus that (:func:`bench.common.cpu_split`), the children from ``cutime + cstime`` (clock
ticks, so only meaningful over many calls). The sum is the figure ``python -m bench`` reports as "CPU ms per
call".

The ``zero`` pass hangs up as mgetty does with ``toggle-dtr no`` (``hangup_dtr_ms = 0``: the port is closed
and reopened; a pty has no DTR to hold low and no DCD to watch). ``--hangup-dtr-ms 500`` measures answerd's
default instead, which on a line without DCD ends every call with the escape chat (``+++``, guard times,
``ATH0``): seconds per call, and its own share of the CPU.

``--profile`` also runs a second daemon under cProfile timed by its main thread's CPU clock
(:mod:`bench.cpuprofile`) and prints the call path's heaviest functions (profiling inflates Python's cost
several times: read it for proportions); ``--profile-out FILE`` keeps the stats.
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

from .common import REPO, NotifyListener, cpu_split, write_answerd_config
from .compare import INIT_CHAT, WARM_IMPORTS, answerd_env, answerd_settings
from .modem import Modem
from .sandbox import enter_private_namespace

__all__ = ["cpu_split", "main"]


async def _calls(modem: Modem, calls: int) -> None:
    seq = ["AT", *INIT_CHAT[1::2]]  # answerd's probe, then the init chat's sends
    for _ in range(calls):
        await asyncio.sleep(0.05)
        call = modem.ring()
        await modem.wait_until(lambda c=call: c.t_end is not None, 20, "end of call")  # type: ignore[misc]
        end = call.t_end or 0
        await modem.wait_until(lambda e=end: modem.replies_through(e, seq) is not None, 20, "re-init")  # type: ignore[misc]


async def _run(
    calls: int, tmp: Path, env: dict[str, str], profile: Path | None, hangup_dtr_ms: int | None = None
) -> dict[str, Any]:
    """Start a daemon, make one warm-up call, then ``calls`` calls; the CPU split per call."""
    name = "bnprof" if profile else "bnpcall"
    link = Path(f"/dev/ttyBN{name[2:]}")
    fifo = tmp / f"{name}.fifo"
    modem = Modem(link, fifo)
    notify = NotifyListener(tmp / f"{name}.notify")
    config = tmp / f"{name}.toml"
    settings = answerd_settings("zero", link, fifo)
    if hangup_dtr_ms is not None:
        settings["hangup_dtr_ms"] = hangup_dtr_ms
    write_answerd_config(config, name, settings)
    python = [sys.executable, "-m", "bench.cpuprofile", "-o", str(profile)] if profile else [sys.executable]
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
    parser.add_argument("--profile-out", type=Path, help="keep the profile's stats in this file")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--hangup-dtr-ms", type=int, help="instead of the zero pass's 0 (answerd's default: 500)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="answerd-percall-") as tmpdir:
        tmp = Path(tmpdir)
        enter_private_namespace(tmp)
        env = answerd_env(tmp / "pycache")
        subprocess.run([sys.executable, "-c", WARM_IMPORTS], check=True, cwd=REPO, env=env)
        load = os.getloadavg()
        split = asyncio.run(_run(args.calls, tmp, env, None, args.hangup_dtr_ms))
        print(f"CPU per call over {args.calls} calls (ms): " + ", ".join(f"{k} {v:.2f}" for k, v in split.items())
              + f"; load average {load[0]:.2f} before, {os.getloadavg()[0]:.2f} after")  # fmt: skip
        if args.profile:
            out_path = args.profile_out or tmp / "answerd.prof"
            asyncio.run(_run(args.calls, tmp, env, out_path, args.hangup_dtr_ms))
            out = io.StringIO()
            stats = pstats.Stats(str(out_path), stream=out)
            stats.sort_stats("tottime").print_stats(args.top)
            print(out.getvalue().replace(str(REPO) + "/", ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
