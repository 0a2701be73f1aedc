"""``python -m bench.footprint``: where an answerd process's memory goes, import by import.

Each step runs in a fresh interpreter that imports the steps before it, then the step, and reads its own
``/proc/self/smaps_rollup``: the difference is what that step adds. Private dirty memory is the part that no
other process shares (Python objects, mostly); private clean is file-backed pages that only this process has
mapped so far (shared libraries: in a pool of answerd processes they are shared and divided among them).

The steps follow ``answerd run``: the interpreter, what asyncio needs, the libraries answerd uses, pydantic
with one one-field model (up to there: the floor, ``python -m bench.floor``), then answerd's own share: the
core, the settings models and the command line, the daemon, and the example configuration loaded.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from .common import REPO, answerd_python, use_installed_layout
from .compare import answerd_env

#: Not a module: the probe loads the example configuration at this step.
LOAD_EXAMPLE = "load:config.example.toml"

#: (label, modules imported by the step). Each step's process imports every earlier step first.
STEPS: list[tuple[str, list[str]]] = [
    ("interpreter (python -c pass, with site)", []),
    ("typing, inspect, logging (asyncio's own needs)", ["typing", "inspect", "logging"]),
    ("asyncio (without ssl)", ["asyncio"]),
    ("pyserial + pyserial-asyncio", ["serial", "serial_asyncio"]),
    ("structlog (without rich)", ["structlog"]),
    ("systemd.journal, systemd.daemon", ["systemd.journal", "systemd.daemon"]),
    ("pydantic, one one-field model validated (= the floor)", ["bench._floor_model"]),
    ("answerd.core (the core)", ["answerd.core"]),
    ("answerd.config (the settings models), argparse (answerd.cli)", ["answerd.cli"]),
    ("the rest of the daemon (answerd.service.daemon, journal, notify)",
     ["answerd.service.daemon", "answerd.service.journal", "answerd.service.notify"]),
    ("config.example.toml loaded (answerd.config.load_config)", [LOAD_EXAMPLE]),
]  # fmt: skip

_PROBE = r"""
import sys, json, importlib
sys.modules["ssl"] = None      # as answerd run does (answerd.cli._keep_out_unused_modules)
sys.modules["rich"] = None
for name in json.loads(sys.argv[1]):
    if name.startswith("load:"):
        from answerd.config import load_config
        load_config(name.removeprefix("load:"))
    else:
        importlib.import_module(name)
out = {}
for line in open("/proc/self/smaps_rollup"):
    key, value = line.split()[:2]
    if key in ("Rss:", "Pss:", "Private_Clean:", "Private_Dirty:"):
        out[key.rstrip(":").lower()] = int(value) / 1024
out["modules"] = len(sys.modules)
print(json.dumps(out))
"""


def probe(modules: list[str], env: dict[str, str]) -> dict[str, Any]:
    """Memory (MiB) of a fresh interpreter that imported ``modules``."""
    argv = [answerd_python(), "-c", _PROBE, json.dumps(modules)]
    done = subprocess.run(argv, capture_output=True, text=True, check=True, cwd=REPO, env=env)
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def measure(repeat: int, pycache: Path) -> dict[str, Any]:
    """Each step's increments (the median of ``repeat`` probes per step), bytecode cached in ``pycache``.

    Cached bytecode matters: compiling a module from source leaves garbage behind that an installed
    package (with its ``.pyc`` files) never has.
    """
    env = answerd_env(pycache)
    everything = [name for _, modules in STEPS for name in modules]
    probe(everything, env)  # write every .pyc once
    rows = []
    imported: list[str] = []
    previous: dict[str, Any] | None = None
    for label, modules in STEPS:
        imported = imported + modules
        samples = sorted((probe(imported, env) for _ in range(repeat)), key=lambda s: s["private_dirty"])
        sample = samples[len(samples) // 2]
        row: dict[str, Any] = {"step": label, "total": sample}
        if previous is not None:
            row["added"] = {k: round(sample[k] - previous[k], 2) for k in ("private_dirty", "private_clean", "pss")}
            row["added"]["modules"] = sample["modules"] - previous["modules"]
        rows.append(row)
        previous = sample
    return {"python": sys.version.split()[0], "repeat": repeat, "steps": rows}


def render(result: dict[str, Any]) -> str:
    """A Markdown table."""
    lines = [
        f"Python {result['python']}, median of {result['repeat']} fresh interpreters per step; MiB.",
        "",
        "| step | + private dirty | + private clean | + modules | total PSS |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in result["steps"]:
        total = row["total"]
        if "added" not in row:
            lines.append(f"| {row['step']} | {total['private_dirty']:.2f} | {total['private_clean']:.2f} | "
                         f"{total['modules']} | {total['pss']:.2f} |")  # fmt: skip
            continue
        added = row["added"]
        lines.append(f"| {row['step']} | {added['private_dirty']:+.2f} | {added['private_clean']:+.2f} | "
                     f"{added['modules']:+d} | {total['pss']:.2f} |")  # fmt: skip
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.footprint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="fresh interpreters per step (default 5)")
    parser.add_argument("--json", metavar="OUT", help="also write the raw numbers as JSON")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="answerd-footprint-") as tmp:
        use_installed_layout(Path(tmp, "venv"))
        result = measure(args.repeat, Path(tmp, "pycache"))
    print(render(result))
    if args.json:
        with open(args.json, "w") as out:
            json.dump(result, out, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
