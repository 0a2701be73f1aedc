"""Boot the guest in QEMU (software emulation), follow its console, and copy the results back.

The guest's vbench.service prints ``VBENCH {json}`` lines on the serial console (boot, each scenario's start
and result, done) and, at the end, writes a tar file of its results directory onto a second raw disk, which
is read back here with :mod:`tarfile` (no mount). Every phase has a deadline: the boot, each scenario (its
guest budget plus a margin), a console that stays silent too long, and the whole run; a missed one kills
QEMU and fails with the console's tail.
"""

from __future__ import annotations

import contextlib
import json
import os
import queue
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from vbench.image import Image
from vbench.steps import BenchError, say, tail

__all__ = ["BootResult", "boot_and_run"]

BOOT_DEADLINE_S = 300.0
#: The guest gives each scenario 240 s (scenarios.BUDGET_S, or the budget its start event names); this is its
#: deadline as seen from here (60 s more).
SCENARIO_DEADLINE_S = 300.0
SILENCE_DEADLINE_S = 300.0
TOTAL_DEADLINE_S = 1800.0
RESULTS_DISK_MB = 512


@dataclass
class BootResult:
    """What the run produced: per-scenario results, timings, and where the files are."""

    results: list[dict[str, Any]] = field(default_factory=list)
    boot_s: float | None = None
    run_s: float = 0.0
    out: Path = Path()


def boot_and_run(image: Image, out: Path, only: str = "", memory_mb: int = 2048) -> BootResult:
    """Boot ``image``, run the scenarios (``only``: comma-separated names, or all), copy the results to ``out``.

    Raises:
        BenchError: QEMU failed to start or a deadline passed (with the console's tail).
    """
    out.mkdir(parents=True, exist_ok=True)
    console = out / "console.log"
    disk = out / "results.img"
    with open(disk, "wb") as f:
        f.truncate(RESULTS_DISK_MB * 1024 * 1024)
    append = "root=/dev/vda rw console=ttyS0 panic=-1 fsck.mode=skip systemd.show_status=1 loglevel=4 net.ifnames=0"
    if only:
        append += f" vbench.only={only}"
    argv = [
        "qemu-system-x86_64", "-accel", "tcg,thread=multi", "-smp", str(min(2, os.cpu_count() or 1)),
        "-m", str(memory_mb), "-display", "none", "-monitor", "none", "-serial", "stdio", "-no-reboot",
        "-nic", "none", "-kernel", str(image.kernel), "-initrd", str(image.initrd), "-append", append,
        "-drive", f"file={image.root},if=virtio,format=raw,snapshot=on",
        "-drive", f"file={disk},if=virtio,format=raw",
    ]  # fmt: skip
    say(f"booting the guest: {' '.join(argv[:8])} ... (console: {console})")
    result = BootResult(out=out)
    start = time.monotonic()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    events: queue.Queue[dict[str, Any] | None] = queue.Queue()
    last_output = [time.monotonic()]
    assert process.stdout is not None
    reader = threading.Thread(target=_follow, args=(process.stdout, console, events, last_output), daemon=True)
    reader.start()
    phase, phase_deadline = "boot", start + BOOT_DEADLINE_S
    try:
        while True:
            now = time.monotonic()
            failure = None
            if now > phase_deadline:
                failure = f"the guest missed its deadline during {phase}"
            elif now - last_output[0] > SILENCE_DEADLINE_S:
                failure = f"the console was silent for {SILENCE_DEADLINE_S:.0f}s during {phase}"
            elif now - start > TOTAL_DEADLINE_S:
                failure = f"the whole run took over {TOTAL_DEADLINE_S:.0f}s"
            if failure:
                raise BenchError(f"{failure}; last console lines ({console}):\n{tail(console, 60)}")
            try:
                event = events.get(timeout=5)
            except queue.Empty:
                if process.poll() is not None and not reader.is_alive():
                    break
                continue
            if event is None:  # QEMU's output ended
                break
            kind = event.get("event")
            if kind == "boot":
                result.boot_s = time.monotonic() - start
                say(f"guest booted in {result.boot_s:.0f}s (guest uptime {event.get('uptime')}s); "
                    f"scenarios: {', '.join(event.get('scenarios', []))}")  # fmt: skip
                phase, phase_deadline = "the first scenario", time.monotonic() + SCENARIO_DEADLINE_S
            elif kind == "start":
                # A scenario with a budget of its own (the HIL suite's) says it; the margin stays 60 s.
                allowed = float(event.get("budget_s", SCENARIO_DEADLINE_S - 60)) + 60
                phase, phase_deadline = f"scenario {event['scenario']}", time.monotonic() + allowed
                say(f"  scenario {event['scenario']} ...")
            elif kind == "note":
                say(f"    {event.get('text')}")
            elif kind == "result":
                result.results.append(event)
                verdict = "PASS" if event.get("passed") else "FAIL"
                say(f"  {verdict} {event['scenario']} ({event.get('seconds')}s): {event.get('detail')}")
                phase, phase_deadline = "the next scenario", time.monotonic() + SCENARIO_DEADLINE_S
            elif kind in ("saved", "save-failed", "done"):
                say(f"  guest: {kind} {event.get('detail', '')}")
                phase, phase_deadline = "power-off", time.monotonic() + 120
        process.wait(timeout=120)
    except BaseException:
        process.kill()
        process.wait()
        raise
    result.run_s = time.monotonic() - start
    say(f"the guest powered off after {result.run_s:.0f}s (QEMU exit {process.returncode})")
    _unpack(disk, out)
    disk.unlink()
    return result


def _follow(stream: IO[bytes], console: Path, events: queue.Queue[dict[str, Any] | None], last: list[float]) -> None:
    """Copy QEMU's output (the serial console) to ``console``; queue the VBENCH events found in it."""
    with open(console, "wb") as log:
        for raw in stream:
            last[0] = time.monotonic()
            log.write(raw)
            log.flush()
            line = raw.decode(errors="replace")
            at = line.find("VBENCH {")
            if at >= 0:
                # A line cut by kernel messages is skipped: the results disk has it all.
                with contextlib.suppress(json.JSONDecodeError):
                    events.put(json.loads(line[at + len("VBENCH ") :]))
    events.put(None)


def _unpack(disk: Path, out: Path) -> None:
    """Extract the guest's tar file from the results disk (raw, no file system) into ``out``."""
    try:
        with tarfile.open(disk, "r") as tar:
            tar.extractall(out, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise BenchError(f"no results on the guest's results disk ({exc}); see {out / 'console.log'}") from None
    say(f"results copied to {out / 'results'}")
