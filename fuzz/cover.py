"""Line and branch coverage of each harness's target modules by its corpus: ``python -m fuzz.cover``.

libFuzzer's ``cov`` counts edges and has no total; this replays the seeds and the work corpus
(``fuzz/.work/NAME``) of each harness under coverage.py and prints, for the modules the harness is about,
the share of lines and branches its inputs reach. Needs the ``fuzz`` extra (coverage.py).
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

from fuzz import HARNESSES

__all__ = ["TARGETS", "main"]

ROOT = Path(__file__).resolve().parent
#: The modules each harness is about (paths under answerd/).
TARGETS: dict[str, list[str]] = {
    "lines": ["core/hayes/lines.py", "core/hayes/codes.py"],
    "cid": ["core/hayes/cid.py"],
    "login": ["core/_login.py", "core/_login_results.py", "core/hayes/framed.py"],
    "ppp": ["core/_ppp.py"],
    "escapes": ["core/_escapes.py"],
    "config": ["config/load.py", "config/settings.py", "config/rules.py", "config/errors.py"],
    "machine": [
        "core/_machine.py",
        "core/_answering.py",
        "core/_upkeep.py",
        "core/_call.py",
        "core/hayes/chat_runner.py",
    ],
}


def measure(name: str) -> float:
    """Replay harness ``name``'s inputs under coverage.py; return the percentage for its target modules.

    Call it in a fresh process: module-level lines run when answerd is first imported, and must be seen.
    """
    import coverage  # noqa: PLC0415 (an extra: only this tool needs it)

    answerd = ROOT.parent / "answerd"
    files = sorted((ROOT / "corpus" / name).glob("*")) + sorted((ROOT / ".work" / name).glob("*"))
    tracer = coverage.Coverage(branch=True, data_file=None, include=[str(answerd / t) for t in TARGETS[name]])
    tracer.start()
    from fuzz.replay import load  # noqa: PLC0415 (answerd must load after coverage starts)

    run = load(name)
    for file in files:
        run(file.read_bytes())
    tracer.stop()
    percent: float = tracer.report(file=io.StringIO())
    print(f"{name:<9} {len(files):>7} {percent:>23.1f}%  {', '.join(TARGETS[name])}", flush=True)
    return percent


def main(names: list[str]) -> None:
    """Print one row per harness (each measured in a child process): inputs replayed, target coverage."""
    print(f"{'harness':<9} {'inputs':>7} {'lines+branches covered':>24}  modules", flush=True)
    for name in names or HARNESSES:
        subprocess.run([sys.executable, "-m", "fuzz.cover", "--one", name], cwd=ROOT.parent, check=True)


if __name__ == "__main__":
    if sys.argv[1:2] == ["--one"]:
        measure(sys.argv[2])
    else:
        main(sys.argv[1:])
