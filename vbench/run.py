"""``./dev vbench`` / ``python3 -m vbench``: build (or reuse) the guest image, boot it, run the scenarios.

Exit status 0 when every scenario passed, 1 when one failed or the bench itself failed (with the evidence),
2 when it cannot run here (not root, tools missing). The results, the console log and the guest's journal
(``journalctl -o json``) land in ``--out`` (default ``vbench/results/``), with ``summary.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from vbench.boot import boot_and_run
from vbench.image import REPO, cache_dir, ensure_image
from vbench.steps import BenchError, say

__all__ = ["main"]

TOOLS = {
    "debootstrap": "debootstrap",
    "qemu-system-x86_64": "qemu-system-x86",
    "mkfs.ext4": "e2fsprogs",
    "chroot": "coreutils",
}


def main(argv: list[str] | None = None) -> int:
    """Run the bench; see the module docstring for the exit status."""
    parser = argparse.ArgumentParser(prog="vbench", description=__doc__)
    parser.add_argument("--only", default="", help="comma-separated scenario names to run (default: all)")
    parser.add_argument("--out", type=Path, default=REPO / "vbench/results", help="where results go")
    parser.add_argument(
        "--cache", type=Path, default=None, help="image cache (default $VBENCH_CACHE or /var/cache/answerd-vbench)"
    )
    parser.add_argument("--build-only", action="store_true", help="build the image, do not boot it")
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        print("vbench: needs root (debootstrap, chroot and the image build); run it as root, e.g. sudo ./dev vbench",
              file=sys.stderr)  # fmt: skip
        return 2
    missing = sorted({package for tool, package in TOOLS.items() if shutil.which(tool) is None})
    if missing:
        print(f"vbench: missing tools; install the Debian packages: {' '.join(missing)} (./dev vbench does)",
              file=sys.stderr)  # fmt: skip
        return 2
    started = time.monotonic()
    try:
        image = ensure_image(args.cache or cache_dir(), sys.executable)
        build_s = time.monotonic() - started
        say(f"image ready after {build_s:.0f}s")
        if args.build_only:
            return 0
        if args.out.exists():
            shutil.rmtree(args.out)
        result = boot_and_run(image, args.out, args.only)
    except BenchError as exc:
        say(f"FAILED: {exc}")
        return 1
    results = result.results
    saved = args.out / "results/results.jsonl"
    if saved.is_file():  # the complete record (the console can cut lines)
        results = [e for e in map(json.loads, saved.read_text().splitlines()) if e.get("event") == "result"]
    summary = {
        "image": image.key,
        "build_s": round(build_s, 1),
        "boot_s": round(result.boot_s or 0, 1),
        "guest_run_s": round(result.run_s, 1),
        "total_s": round(time.monotonic() - started, 1),
        "scenarios": results,
    }
    (args.out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    failed = [r["scenario"] for r in results if not r.get("passed")]
    say(f"timings: image {build_s:.0f}s, boot {summary['boot_s']}s, guest total {result.run_s:.0f}s, "
        f"all {summary['total_s']}s")  # fmt: skip
    print(f"{len(results) - len(failed)} passed, {len(failed)} failed")
    if not results:
        say("no scenario reported a result")
        return 1
    return 1 if failed else 0
