"""``python -m bench.floor``: the memory floor of answerd's stack, without answerd.

A fresh interpreter imports asyncio, serial, serial_asyncio, structlog, systemd.journal and systemd.daemon,
validates a one-field pydantic model (:mod:`bench._floor_model`), and reads its own
``/proc/self/smaps_rollup``. That is what any daemon built on these libraries holds before its own first
line; answerd's share is a running ``answerd run``'s PSS minus this floor (target: at most 4 MiB).

ssl and rich are kept out as ``answerd run`` keeps them out (``answerd.cli._keep_out_unused_modules``), so the
share is answerd's own code and data; ``--with-ssl-rich`` shows the floor without that, i.e. what keeping them
out saves.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .common import REPO, use_installed_layout

#: The libraries of the floor, besides pydantic (bench._floor_model).
FLOOR_MODULES = ["asyncio", "serial", "serial_asyncio", "structlog", "systemd.journal", "systemd.daemon"]

_PROBE = r"""
import importlib, json, sys, time
t0 = time.perf_counter()
if sys.argv[1] == "keep-out":
    sys.modules["ssl"] = None
    sys.modules["rich"] = None
for name in json.loads(sys.argv[2]):
    importlib.import_module(name)
out = {"import_ms": (time.perf_counter() - t0) * 1000, "modules": len(sys.modules)}
for line in open("/proc/self/smaps_rollup"):
    key, value = line.split()[:2]
    if key in ("Rss:", "Pss:", "Private_Clean:", "Private_Dirty:"):
        out[key.rstrip(":").lower()] = int(value) / 1024
print(json.dumps(out))
"""


def probe(python: str, env: dict[str, str], modules: list[str], *, keep_out: bool = True) -> dict[str, Any]:
    """Memory (MiB) and import time (ms) of a fresh ``python`` that imported ``modules``."""
    argv = [python, "-c", _PROBE, "keep-out" if keep_out else "all", json.dumps(modules)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=REPO, env=env)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measure(python: str, env: dict[str, str], repeat: int, *, keep_out: bool = True) -> dict[str, Any]:
    """The floor: the median of ``repeat`` fresh interpreters (after one that writes the bytecode)."""
    modules = [*FLOOR_MODULES, "bench._floor_model"]
    probe(python, env, modules, keep_out=keep_out)
    samples = [probe(python, env, modules, keep_out=keep_out) for _ in range(repeat)]
    keys = ("pss", "rss", "private_dirty", "private_clean", "import_ms")
    return {key: round(statistics.median(s[key] for s in samples), 2) for key in keys} | {
        "modules": samples[0]["modules"],
        "repeat": repeat,
        "keep_out_ssl_rich": keep_out,
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.floor", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh interpreters (default 5)")
    parser.add_argument("--with-ssl-rich", action="store_true", help="let asyncio and structlog import ssl and rich")
    parser.add_argument(
        "--interpreter",
        choices=["installed", "project"],
        default="installed",
        help="installed: a Python that sees answerd as a regular install does (as bench.footprint and the "
        "comparison run it); project: this venv's Python as is (as bench.foundation runs answerd)",
    )
    parser.add_argument("--json", metavar="OUT", help="also write the numbers as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="answerd-floor-") as tmp:
        env = dict(os.environ, PYTHONPYCACHEPREFIX=str(Path(tmp, "pycache")))
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        python = use_installed_layout(Path(tmp, "venv")) if args.interpreter == "installed" else sys.executable
        result = measure(python, env, args.repeat, keep_out=not args.with_ssl_rich)
    result["python"] = sys.version.split()[0]
    result["interpreter"] = args.interpreter
    print(
        f"floor ({', '.join(FLOOR_MODULES)}, one pydantic model; ssl/rich "
        f"{'kept out' if result['keep_out_ssl_rich'] else 'allowed'}; {args.interpreter} interpreter): "
        f"PSS {result['pss']:.2f} MiB, RSS {result['rss']:.2f} MiB, private dirty {result['private_dirty']:.2f} MiB, "
        f"imports {result['import_ms']:.0f} ms, {result['modules']} modules (median of {args.repeat})"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
