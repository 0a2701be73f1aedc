"""Where answerd's time goes: ``answerd run`` under cProfile on the benchmark modem, N calls, then a report.

Run from the repository root, as root::

    .venv/bin/python -m bench.profile_answerd [--calls 200] [--top 25] [--out PROFILE]

The daemon runs exactly as in the ``zero`` pass of ``python -m bench`` (same settings, same modem, same
stand-in login program), but as ``python -m cProfile -o OUT -m answerd run ...``. The profile covers start-up
(imports, config) and every call; the report prints the heaviest functions by cumulative time and the
per-call share of the call path (RING handling, the login dialog, starting the program, re-initialising).
The configuration is checked in-process, so the profile covers that too.
cProfile makes everything slower (roughly 2x for Python code), so read it for proportions, not for absolute
latencies; the latencies are in ``python -m bench``.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import pstats
import subprocess
import sys
import tempfile
from pathlib import Path

from .common import REPO, NotifyListener, write_answerd_config
from .compare import INIT_CHAT, WARM_IMPORTS, answerd_env, answerd_settings
from .modem import Modem, now_ns
from .sandbox import enter_private_namespace

__all__ = ["main"]


async def _run(args: argparse.Namespace, tmp: Path, env: dict[str, str]) -> list[float]:
    link = Path("/dev/ttyBNprof")
    fifo = tmp / "prof.fifo"
    modem = Modem(link, fifo)
    notify = NotifyListener(tmp / "prof.notify")
    config = tmp / "prof.toml"
    write_answerd_config(config, "bnprof", answerd_settings("zero", link, fifo))
    argv = [sys.executable, "-m", "cProfile", "-o", str(args.out), "-m", "answerd", "run", "--config", str(config),
            "--port", "bnprof", "--log-format", "json"]  # fmt: skip
    log = (tmp / "prof.log").open("wb")
    proc = subprocess.Popen(argv, cwd=REPO, env={**env, "NOTIFY_SOCKET": str(notify.path)}, stderr=log,
                            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)  # fmt: skip
    ring_to_ata: list[float] = []
    try:
        await notify.wait_for("READY=1", 0, 60)
        seq = ["AT", *INIT_CHAT[1::2]]  # answerd's probe, then the init chat's sends
        for _ in range(args.calls):
            await asyncio.sleep(0.05)
            call = modem.ring()
            await modem.wait_until(lambda c=call: c.t_end is not None, 20, "end of call")  # type: ignore[misc]
            end = call.t_end or 0
            await modem.wait_until(
                lambda e=end: modem.replies_through(e, seq) is not None,  # type: ignore[misc]
                20,
                "re-init",
            )
            if call.t_ata is not None:
                ring_to_ata.append((call.t_ata - call.t_ring) / 1e6)
    finally:
        t0 = now_ns()
        proc.terminate()
        await asyncio.to_thread(proc.wait)
        print(f"stopped in {(now_ns() - t0) / 1e6:.0f} ms", file=sys.stderr)
        notify.close()
        modem.close()
        log.close()
    return ring_to_ata


def main(argv: list[str] | None = None) -> int:
    """Profile and print the report."""
    parser = argparse.ArgumentParser(prog="python -m bench.profile_answerd", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "answerd.prof")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="answerd-prof-") as tmpdir:
        tmp = Path(tmpdir)
        enter_private_namespace(tmp)
        env = answerd_env(tmp / "pycache")
        subprocess.run([sys.executable, "-c", WARM_IMPORTS], check=True, cwd=REPO, env=env)
        ring_to_ata = asyncio.run(_run(args, tmp, env))
    ring_to_ata.sort()
    print(f"{len(ring_to_ata)} calls under cProfile; RING → ATA median {ring_to_ata[len(ring_to_ata) // 2]:.2f} ms")
    out = io.StringIO()
    stats = pstats.Stats(str(args.out), stream=out)
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)
    print(out.getvalue().replace(str(REPO) + "/", ""))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
