"""Pieces shared by the foundation numbers, the comparison and the pool run: answerd's config and process, the
notify socket, /proc readers, machine description, statistics.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import json
import math
import os
import platform
import socket
import statistics
import subprocess
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .modem import ModemError, now_ns

__all__ = [
    "REPO",
    "AnswerdProcess",
    "NotifyListener",
    "cpu_snapshot",
    "cpu_split",
    "machine_info",
    "measure_idle",
    "memory_snapshot",
    "other_activity",
    "process_cpu_ns",
    "ratio",
    "summarize",
    "toml_value",
]

REPO = Path(__file__).resolve().parent.parent


def toml_value(value: Any) -> str:
    """Render a Python value as TOML (str, int, float, bool, list)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise TypeError(value)


def write_answerd_config(path: Path, port: str, settings: dict[str, Any], log_level: str = "info") -> None:
    """Write a config file with one ``[ports.PORT]`` table."""
    body = "\n".join(f"{key} = {toml_value(value)}" for key, value in settings.items())
    path.write_text(f'log_level = "{log_level}"\n\n[ports.{port}]\n{body}\n')


# ------------------------------------------------------------------------------------------ notify socket


class NotifyListener:
    """An AF_UNIX datagram socket standing in for systemd's notify socket; every message is timestamped."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        #: (t_ns, message) in arrival order.
        self.messages: list[tuple[int, str]] = []
        self._changed = asyncio.Event()
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.sock.fileno(), self._on_readable)

    def _on_readable(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except BlockingIOError:
                break
            t = now_ns()
            self.messages.extend((t, line) for line in data.decode("utf-8", "replace").splitlines())
        self._changed.set()

    def find(self, text: str, start: int = 0) -> tuple[int, int] | None:
        """(index, t_ns) of the first ``text`` at index >= start, or ``None``."""
        for index in range(start, len(self.messages)):
            if self.messages[index][1] == text:
                return index, self.messages[index][0]
        return None

    async def wait_for(self, text: str, start: int, timeout: float) -> tuple[int, int]:
        """Wait for ``text`` at index >= start; return (index, t_ns)."""
        deadline = self._loop.time() + timeout
        while True:
            found = self.find(text, start)
            if found is not None:
                return found
            self._changed.clear()
            remaining = deadline - self._loop.time()
            if remaining <= 0:
                got = [m for _, m in self.messages[start:]]
                raise ModemError(f"no {text!r} within {timeout} s; notify got {got}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)

    def close(self) -> None:
        """Stop listening."""
        self._loop.remove_reader(self.sock.fileno())
        self.sock.close()


# ------------------------------------------------------------------------------------------ answerd


#: The Python that runs answerd (:func:`use_installed_layout` sets it; the benchmark's own until then).
_answerd_python = sys.executable


def answerd_python() -> str:
    """The interpreter the benchmark starts answerd with."""
    return _answerd_python


def use_installed_layout(where: Path) -> str:
    """From now on, run answerd from a Python that sees it as a regular install does; return that Python.

    The project venv has answerd installed in editable mode, and every interpreter start there runs the
    editable finder's ``.pth`` (it imports pathlib, importlib.util, urllib.parse and more: about 20 ms and
    1.8 MiB before answerd's first line, measured). A regular install (``docs/install.md``) has no finder.
    So: a fresh venv (no pip, based on the same interpreter) whose only ``.pth`` puts the repository and the
    project venv's site-packages on ``sys.path`` (a path listed in a ``.pth`` file is added, its own ``.pth``
    files are not run). The code imported is the same files; only the start-up differs.
    """
    global _answerd_python  # noqa: PLW0603  (one choice for the whole run, made once in main)
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    ask = [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"]
    purelib = subprocess.run(ask, capture_output=True, text=True, check=True).stdout.strip()
    Path(purelib, "answerd-bench.pth").write_text(f"{REPO}\n{sysconfig.get_path('purelib')}\n")
    _answerd_python = str(python)
    return _answerd_python


@dataclass
class AnswerdProcess:
    """A running ``answerd run`` (its JSON log goes to a file, as a service's stderr goes to journald)."""

    proc: subprocess.Popen[bytes]
    t_exec: int
    log_path: Path

    @classmethod
    def start(
        cls, config: Path, port: str, notify: Path | None, log_path: Path, env: dict[str, str] | None = None
    ) -> AnswerdProcess:
        """Start ``python -m answerd run --config CONFIG --port PORT --log-format json``."""
        env = dict(os.environ if env is None else env)
        env.pop("WATCHDOG_USEC", None)
        env.pop("WATCHDOG_PID", None)
        if notify is not None:
            env["NOTIFY_SOCKET"] = str(notify)
        argv = [answerd_python(), "-m", "answerd", "run", "--config", str(config), "--port", port,
                "--log-format", "json"]  # fmt: skip
        with log_path.open("ab") as log:
            t_exec = now_ns()
            proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                    env=env, cwd=REPO)  # fmt: skip
        return cls(proc=proc, t_exec=t_exec, log_path=log_path)

    def tail(self, n: int = 20) -> str:
        """The last ``n`` log lines."""
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-n:])
        return ""

    async def stop(self) -> None:
        """SIGTERM and wait (SIGKILL after 15 s)."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            await asyncio.wait_for(asyncio.to_thread(self.proc.wait), 15)
        except TimeoutError:
            self.proc.kill()
            self.proc.wait()


# ------------------------------------------------------------------------------------------ /proc readers


def cpu_snapshot(pid: int) -> dict[str, int]:
    """utime/stime (ticks) of the process and its reaped children, on-CPU ns and context switches (all threads).

    ``cutime``/``cstime`` count children the process has waited for: for answerd, its login/direct programs.
    """
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    out = {
        "utime_ticks": int(fields[11]),
        "stime_ticks": int(fields[12]),
        "cutime_ticks": int(fields[13]),
        "cstime_ticks": int(fields[14]),
        "run_ns": 0,
        "voluntary_ctxt_switches": 0,
        "nonvoluntary_ctxt_switches": 0,
        "threads": 0,
    }
    for task in Path(f"/proc/{pid}/task").iterdir():
        with contextlib.suppress(FileNotFoundError, ProcessLookupError):
            out["run_ns"] += int((task / "schedstat").read_text().split()[0])
            for line in (task / "status").read_text().splitlines():
                if line.startswith("voluntary_ctxt_switches:"):
                    out["voluntary_ctxt_switches"] += int(line.split()[1])
                elif line.startswith("nonvoluntary_ctxt_switches:"):
                    out["nonvoluntary_ctxt_switches"] += int(line.split()[1])
            out["threads"] += 1
    return out


def process_cpu_ns(pid: int) -> int:
    """CPU time of every thread ``pid`` has had, ended ones included (the kernel's process CPU clock), in ns.

    Per-thread ``schedstat`` files vanish with their thread, and a call ends at least one thread (asyncio's
    child watcher waits for the program in a thread of its own), so summing them undercounts; ``utime +
    stime`` counts ended threads too but only in clock ticks (10 ms).
    """
    clock = ctypes.c_int()
    if _libc().clock_getcpuclockid(pid, ctypes.byref(clock)) != 0:
        raise ProcessLookupError(pid)
    return time.clock_gettime_ns(clock.value)


def _libc() -> Any:
    return ctypes.CDLL(None, use_errno=True)


def cpu_split(pid: int) -> dict[str, float]:
    """CPU so far (ms) of ``pid``'s main thread, its other threads (ended ones too) and its reaped children.

    The main thread from its ``schedstat`` (ns), the process from its CPU clock (:func:`process_cpu_ns`), the
    other threads as the difference; the children from ``cutime + cstime`` (clock ticks, so only meaningful
    over many calls).
    """
    main_ns = int(Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()[0])
    total_ns = process_cpu_ns(pid)  # read second: never less than the main thread's
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rfind(")") + 2 :].split()
    ticks = int(fields[13]) + int(fields[14])
    return {
        "main_ms": main_ns / 1e6,
        "threads_ms": max(0, total_ns - main_ns) / 1e6,
        "children_ms": ticks * 1000 / os.sysconf("SC_CLK_TCK"),
    }


def memory_snapshot(pid: int) -> dict[str, float]:
    """RSS, PSS and USS (private clean + dirty) in MiB, from /proc/PID/smaps_rollup."""
    kib: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[-1] == "kB":
            kib[parts[0].rstrip(":")] = int(parts[1])
    uss = kib.get("Private_Clean", 0) + kib.get("Private_Dirty", 0)
    return {
        "rss_mib": round(kib["Rss"] / 1024, 2),
        "pss_mib": round(kib["Pss"] / 1024, 2),
        "uss_mib": round(uss / 1024, 2),
    }


async def measure_idle(pid: int, seconds: float) -> dict[str, Any]:
    """CPU time and context switches of ``pid`` (all threads) over ``seconds``, with per-second buckets."""
    tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
    first = prev = cpu_snapshot(pid)
    buckets: list[dict[str, int]] = []
    t0 = now_ns()
    for step in range(1, max(1, math.ceil(seconds)) + 1):
        await asyncio.sleep(max(0.0, (t0 + min(step, seconds) * 1e9 - now_ns()) / 1e9))
        cur = cpu_snapshot(pid)
        switches = (cur["voluntary_ctxt_switches"] + cur["nonvoluntary_ctxt_switches"]
                    - prev["voluntary_ctxt_switches"] - prev["nonvoluntary_ctxt_switches"])  # fmt: skip
        buckets.append({"run_us": (cur["run_ns"] - prev["run_ns"]) // 1000, "ctxt_switches": switches})
        prev = cur
    elapsed = (now_ns() - t0) / 1e9
    last = prev
    ticks = last["utime_ticks"] + last["stime_ticks"] - first["utime_ticks"] - first["stime_ticks"]
    vol = last["voluntary_ctxt_switches"] - first["voluntary_ctxt_switches"]
    invol = last["nonvoluntary_ctxt_switches"] - first["nonvoluntary_ctxt_switches"]
    run_ms = (last["run_ns"] - first["run_ns"]) / 1e6
    return {
        "seconds": round(elapsed, 3),
        "cpu_ms_utime_stime": ticks * tick_ms,
        "cpu_ms_schedstat": round(run_ms, 3),
        "cpu_percent": round(100 * run_ms / 1000 / elapsed, 4),
        "voluntary_ctxt_switches": vol,
        "nonvoluntary_ctxt_switches": invol,
        "ctxt_switches_per_s": round((vol + invol) / elapsed, 3),
        "threads": last["threads"],
        "before": first,
        "after": last,
        "per_second": buckets,
    }


# ------------------------------------------------------------------------------------------ machine


def machine_info() -> dict[str, Any]:
    """nproc (all CPUs) and affinity (usable ones), CPU model, memory, OS, kernel, Python, load average, git HEAD."""
    model = "unknown"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with contextlib.suppress(OSError, ValueError, IndexError):
        mem_kib = int(Path("/proc/meminfo").read_text().splitlines()[0].split()[1])
    os_release = ""
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                os_release = line.split("=", 1)[1].strip('"')

    def git(*argv: str) -> str:
        result = subprocess.run(["git", *argv], cwd=REPO, capture_output=True, text=True, check=False)
        return result.stdout.strip()

    return {
        "nproc": os.cpu_count(),
        "affinity": len(os.sched_getaffinity(0)),
        "cpu_model": model,
        "mem_total_mib": mem_kib // 1024,
        "os": os_release,
        "kernel": platform.release(),
        "python": platform.python_version(),
        "python_executable": sys.executable,
        "loadavg_at_start": os.getloadavg(),
        "other_activity_at_start": other_activity(),
        "clock_ticks_per_s": os.sysconf("SC_CLK_TCK"),
        "repo_head": git("rev-parse", "HEAD"),
        "modified_under_answerd": git("status", "--porcelain", "--", "answerd").splitlines(),
    }


def other_activity() -> list[str]:
    """Other processes that load the machine (answerd, pytest, qemu, nspawn) and are not this benchmark's."""
    own = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == own:
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            if int(stat[stat.rfind(")") + 2 :].split()[1]) == own:
                continue  # a child of this benchmark
            text = " ".join(a.decode("utf-8", "replace") for a in (entry / "cmdline").read_bytes().split(b"\0") if a)
            if any(word in text for word in ("answerd", "pytest", "qemu", "systemd-nspawn")) and "-m bench" not in text:
                found.append(f"{entry.name}: {text[:120]}")
    return found


# ------------------------------------------------------------------------------------------ statistics


def summarize(values: list[float | None]) -> dict[str, Any]:
    """n, min, median, p99 (nearest rank: with n < 100 that is the maximum), max."""
    xs = sorted(v for v in values if v is not None)
    if not xs:
        return {"n": 0, "min": None, "median": None, "p99": None, "max": None}
    rank = max(1, math.ceil(0.99 * len(xs)))
    return {
        "n": len(xs),
        "min": round(xs[0], 3),
        "median": round(statistics.median(xs), 3),
        "p99": round(xs[rank - 1], 3),
        "max": round(xs[-1], 3),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    """a ÷ b, or ``None`` when undefined."""
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)
