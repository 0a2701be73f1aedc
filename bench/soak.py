"""``python -m bench.soak``: many consecutive calls through one ``answerd run``; does it leak or lose any?

One ``answerd sim`` on a pty, one ``answerd run`` on it (JSON log on a pipe, as journald reads it), and a
caller on the sim's TCP phone line that cycles through six kinds of call:

==================  ================================================================  ===================
kind                what the caller does                                              expected outcome
==================  ================================================================  ===================
answered            types a name; the login program (``/bin/true``) ends at once       answered
abandoned           hangs up after the first RING (the port answers on the second)    abandoned
prompt-hang-up      hangs up at the login prompt                                      carrier-lost
login-timeout       says nothing (``login_timeout_s`` is short)                       login-timeout
program-killed      types ``killed``: its program is SIGKILLed as it starts           program-error
ppp-then-drop       sends a PPP LCP frame at the prompt, then hangs up                no-ppp-rule
==================  ================================================================  ===================

Each call ends when the daemon logs ``call.ended`` and its port is ``waiting for RING`` again; a call that
gets no ``call.ended`` (or a second one) is *lost*. The daemon's fds, RSS, threads, children and the lock
files are read from ``/proc`` at that same idle state after a warm-up cycle (``before``) and after the last
call (``after``). The result is JSON (stdout, or ``--json FILE``); the exit status is 1 if a call was lost,
fds, children or lock files differ, or the threads outgrow asyncio's executor (:data:`THREADS_BOUND`), else 0.
``docs/reliability.md`` has the figures of a 1,000-call run.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import REPO, cpu_split, machine_info, process_cpu_ns, toml_value

__all__ = ["KINDS", "THREADS_BOUND", "Soak", "healthy", "idle_state", "main", "run_soak"]

#: The kinds of call, in the order they are cycled through, with the outcome each must end with.
KINDS: dict[str, str] = {
    "answered": "answered",
    "abandoned": "abandoned",
    "prompt-hang-up": "carrier-lost",
    "login-timeout": "login-timeout",
    "program-killed": "program-error",
    "ppp-then-drop": "no-ppp-rule",
}
#: How long one call may take before the soak gives up on it (it is then counted lost and the run stops).
CALL_DEADLINE_S = 30.0
SIM_READY = re.compile(r"answerd-sim: ready tty=(\S+) pty=(\S+) listen=([\d.]+):(\d+)")
#: pppd's first frame: LCP Configure-Request, HDLC-framed and escaped under the default ACCM (RFC 1662).
LCP_FRAME = bytes.fromhex(
    "7eff7d23c0217d217d217d207d347d227d267d207d207d207d207d257d267d3a2b3c4d7d277d227d287d22f7327e"
)
#: The main thread and asyncio's default executor, which starts a worker when none is idle (tcdrain, utmp,
#: opening the port), up to min(32, CPUs + 4): the thread count grows to a bound, it is not a per-call leak.
THREADS_BOUND = 1 + min(32, (os.cpu_count() or 1) + 4)
#: A python3 in a root-owned system directory, for the program that kills itself (see where it is used).
SYSTEM_PYTHON = "/usr/bin/python3"

KILL_SELF = "import os, signal; os.kill(os.getpid(), signal.SIGKILL)"


class Log:
    """The daemon's JSON log records, collected by a thread; waitable with a deadline."""

    def __init__(self, stream: Any) -> None:
        self.records: list[dict[str, Any]] = []
        self.tail: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: Any) -> None:
        for line in iter(stream.readline, ""):
            try:
                record = json.loads(line)
            except ValueError:
                record = {"event": "<non-json>", "line": line.rstrip()}
            with self._cond:
                self.tail = [*self.tail[-40:], line.rstrip()]
                if isinstance(record, dict):
                    self.records.append(record)
                self._cond.notify_all()

    def wait(self, match: Callable[[dict[str, Any]], bool], start: int, timeout: float) -> int:
        """The index of the first record from ``start`` on that ``match`` accepts; TimeoutError if none comes."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(start, len(self.records)):
                    if match(self.records[index]):
                        return index
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError("\n".join(self.tail))
                self._cond.wait(remaining)


def idle_state(pid: int, lock_dir: Path) -> dict[str, Any]:
    """What a leak would show: open fds, RSS, threads and children of ``pid``, and the lock files.

    The idle line holds no lock, but the daemon gives it back just after it logs ``waiting for RING`` (and
    takes it for a moment for each health check): a lock file is only counted if it is still there 2 s on;
    the fds are counted once two looks 10 ms apart agree.
    """
    deadline = time.monotonic() + 2.0
    while os.listdir(lock_dir) and time.monotonic() < deadline:
        time.sleep(0.01)
    # The state file is replaced at the loop's next turn after the idle status is logged: new file open, old
    # one not yet closed, for a moment (longer when the daemon is preempted). Count when two looks agree.
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    while time.monotonic() < deadline + 2.0:
        time.sleep(0.01)
        fds, before = len(os.listdir(f"/proc/{pid}/fd")), fds
        if fds == before:
            break
    status = dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    children = sorted(
        int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()
    )
    return {
        "fds": fds,
        "rss_kib": int(status["VmRSS"].split()[0]),
        "threads": int(status["Threads"]),
        "children": children,
        "lock_files": sorted(os.listdir(lock_dir)),
    }


def _cpu_ms(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


class Soak:
    """The sim, the daemon and the caller, in ``tmp``; :meth:`call` makes one call of a kind."""

    def __init__(self, tmp: Path, profile: Path | None = None, run_dir: Path | None = None) -> None:
        """Start the sim and the daemon.

        Args:
            profile: run the daemon under cProfile (:mod:`bench.cpuprofile`: CPU-clock timed), stats written there.
            run_dir: where the lock directory and the daemon's runtime directory (state file, reload verdicts)
                are made (default ``tmp``); on a systemd host both are on the tmpfs ``/run``.
        """
        self.tmp = tmp
        self.run_dir = run_dir or tmp
        self.lock_dir = self.run_dir / "locks"
        self.lock_dir.mkdir()
        runtime = self.run_dir / "run"  # never the host's /run/answerd: other daemons' ports may be called sim0
        runtime.mkdir()
        link = tmp / "ttySIM0"
        self._sim_err = (tmp / "sim.stderr").open("w")
        self.sim = subprocess.Popen(
            [sys.executable, "-m", "answerd", "sim", "--link", str(link), "--listen", "127.0.0.1:0",
             "--ring-interval", "0.3", "--answer-delay", "0.05"],
            stdout=subprocess.PIPE, stderr=self._sim_err, text=True, cwd=REPO,
        )  # fmt: skip
        assert self.sim.stdout is not None
        ready = SIM_READY.search(self.sim.stdout.readline())
        if ready is None:
            raise RuntimeError(f"answerd sim did not start: {(tmp / 'sim.stderr').read_text()[-2000:]}")
        self.host, self.tcp_port = ready.group(3), int(ready.group(4))
        config = tmp / "answerd.toml"
        port = {
            "device": str(link), "modem_control": "none", "dtr_drop_ms": 50, "settle_ms": 0, "chat_timeout_s": 3.0,
            "retry_backoff_s": 0.1, "stop_grace_s": 1.0, "rings": 2, "ring_gap_s": 0.6, "login_timeout_s": 1.0,
            "lock_dir": str(self.lock_dir), "login_program": ["/bin/true"],
            # A pty has no DCD to watch: with a DTR hold, every call the caller did not end would be hung up
            # with +++ and ATH0 (seconds of guard time). Closing the port drops the sim's DTR, which hangs it up.
            "hangup_dtr_ms": 0,
        }  # fmt: skip
        # The system's python3, not this venv's: answerd (as root) refuses a program below a directory that
        # group or others may write, and a checkout often is one.
        rule = {"match": "killed", "program": [SYSTEM_PYTHON, "-c", KILL_SELF]}
        config.write_text(
            'log_level = "info"\n\n[ports.sim0]\n'
            + "".join(f"{key} = {toml_value(value)}\n" for key, value in port.items())
            + "\n[[ports.sim0.dispatch]]\n"
            + "".join(f"{key} = {toml_value(value)}\n" for key, value in rule.items())
        )
        python = [sys.executable, "-m", "bench.cpuprofile", "-o", str(profile)] if profile else [sys.executable]
        self.daemon = subprocess.Popen(
            [*python, "-m", "answerd", "run", "--config", str(config), "--port", "sim0", "--log-format", "json"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, cwd=REPO,
            env={**os.environ, "RUNTIME_DIRECTORY": str(runtime)},
        )  # fmt: skip
        self.log = Log(self.daemon.stderr)
        self.log.wait(_is_idle, 0, 30.0)

    def call(self, kind: str) -> dict[str, Any]:
        """One call of ``kind``: dial, play the caller, wait for ``call.ended`` and the idle port; its record."""
        start = len(self.log.records)
        with socket.create_connection((self.host, self.tcp_port), timeout=CALL_DEADLINE_S) as caller:
            if kind == "abandoned":
                self.log.wait(lambda r: r.get("event") == "call.ring", start, CALL_DEADLINE_S)
            else:
                _read_until(caller, b"login: ")
                if kind == "answered":
                    caller.sendall(b"soak\r")
                elif kind == "program-killed":
                    caller.sendall(b"killed\r")
                elif kind == "ppp-then-drop":
                    caller.sendall(LCP_FRAME)
                elif kind == "login-timeout":
                    _read_until(caller, b"")  # the modem hangs up when answerd gives up on the name
            if kind in ("answered", "program-killed"):
                ended = self.log.wait(lambda r: r.get("event") == "call.ended", start, CALL_DEADLINE_S)
            else:
                ended = None
        if ended is None:
            ended = self.log.wait(lambda r: r.get("event") == "call.ended", start, CALL_DEADLINE_S)
        self.log.wait(_is_idle, ended, CALL_DEADLINE_S)
        return self.log.records[ended]

    def ended_records(self) -> list[dict[str, Any]]:
        """Every ``call.ended`` so far."""
        return [r for r in self.log.records if r.get("event") == "call.ended"]

    def close(self) -> int | None:
        """SIGTERM both; the daemon's exit status."""
        code = None
        for proc in (self.daemon, self.sim):
            if proc.poll() is None:
                proc.terminate()
            try:
                code_now = proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                code_now = proc.wait()
            if proc is self.daemon:
                code = code_now
        self._sim_err.close()
        return code


def _is_idle(record: dict[str, Any]) -> bool:
    return record.get("event") == "port.status" and record.get("status") == "waiting for RING"


def _read_until(sock: socket.socket, marker: bytes) -> None:
    """Read until ``marker`` (``b""``: until the far end hangs up)."""
    seen = b""
    deadline = time.monotonic() + CALL_DEADLINE_S
    while not marker or marker not in seen:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        try:
            chunk = sock.recv(65536)
        except ConnectionError:
            chunk = b""
        if not chunk:
            if marker:
                raise ConnectionError(f"line dropped before {marker!r}: {seen[-200:]!r}")
            return
        seen = (seen + chunk)[-4096:]
        if time.monotonic() > deadline:
            raise TimeoutError(f"no {marker!r} within {CALL_DEADLINE_S} s")


def run_soak(calls: int, tmp: Path, profile: Path | None = None, run_dir: Path | None = None) -> dict[str, Any]:
    """Make ``calls`` calls (after a warm-up cycle of each kind) through one daemon; the figures.

    ``profile``: run the daemon under cProfile and write its stats there (CPU figures then include cProfile's).
    ``run_dir``: where its lock and runtime directories go (:class:`Soak`).
    """
    kinds = list(KINDS)
    load_at_start = os.getloadavg()
    soak = Soak(tmp, profile, run_dir)
    pid = soak.daemon.pid
    try:
        at_ready = idle_state(pid, soak.lock_dir)
        for kind in kinds:  # warm-up: every code path imported and every lazy cache filled once
            soak.call(kind)
        before = idle_state(pid, soak.lock_dir)
        cpu_before, warm_ended = _cpu_ms(pid), len(soak.ended_records())
        split_before, sim_before = cpu_split(pid), process_cpu_ns(soak.sim.pid)
        durations: list[float] = []
        by_kind: dict[str, dict[str, int]] = {k: {"calls": 0, "expected": 0} for k in kinds}
        unexpected: list[dict[str, Any]] = []
        error = None
        t0 = time.monotonic()
        for n in range(calls):
            kind = kinds[n % len(kinds)]
            by_kind[kind]["calls"] += 1
            started = time.monotonic()
            try:
                record = soak.call(kind)
            except (TimeoutError, OSError) as exc:
                error = f"call {n + 1} ({kind}): {type(exc).__name__}: {str(exc)[-1500:]}"
                break
            durations.append(time.monotonic() - started)
            if record.get("outcome") == KINDS[kind]:
                by_kind[kind]["expected"] += 1
            elif len(unexpected) < 20:
                unexpected.append({"call": n + 1, "kind": kind, "record": record})
        elapsed = time.monotonic() - t0
        after = idle_state(pid, soak.lock_dir)
        cpu_ms = _cpu_ms(pid) - cpu_before
        split_after, sim_after = cpu_split(pid), process_cpu_ns(soak.sim.pid)
        load_at_end = os.getloadavg()
        ended = soak.ended_records()[warm_ended:]
        ids = [r.get("call_id") for r in ended]
    finally:
        exit_code = soak.close()
    made = len(durations) + (1 if error else 0)
    lost = made - len(set(ids)) + (len(ids) - len(set(ids)))
    return {
        "command": f"python -m bench.soak --calls {calls}",
        "calls": calls,
        "calls_made": made,
        "calls_ended": len(ids),
        "calls_lost": lost,
        "error": error,
        "outcomes": by_kind,
        "unexpected_outcomes": unexpected,
        "at_ready": at_ready,
        "before": before,
        "after": after,
        "equal": {key: before[key] == after[key] for key in ("fds", "children", "lock_files")},
        "threads_bound": THREADS_BOUND,
        "rss_growth_kib": after["rss_kib"] - before["rss_kib"],
        "seconds": round(elapsed, 1),
        "per_call_s": _summary(durations),
        "daemon_cpu_ms_per_call": round(cpu_ms / max(1, len(durations)), 2),
        # The same, split (and in ns, not ticks): the event loop, the other threads, the programs (setsid and
        # the login program, not in the figure above), and the simulated modem (another process).
        "cpu_ms_per_call": {
            **{key: round((split_after[key] - split_before[key]) / max(1, len(durations)), 3) for key in split_after},
            "sim_ms": round((sim_after - sim_before) / 1e6 / max(1, len(durations)), 3),
        },
        "loadavg": {"start": load_at_start, "end": load_at_end},
        "profiled": profile is not None,
        "run_files_on": filesystem_of(soak.run_dir),
        "daemon_exit_code": exit_code,
        "machine": machine_info(),
    }


def filesystem_of(path: Path) -> dict[str, str]:
    """The mount point and file-system type ``path`` is on (from ``/proc/self/mounts``): tmpfs or a disk's."""
    best = ("", "unknown")
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mounts").read_text().splitlines():
            fields = line.split()
            mount = fields[1].replace("\\040", " ")
            inside = str(path.resolve()).startswith(mount.rstrip("/") + "/") or mount == "/"
            if inside and len(mount) >= len(best[0]):
                best = (mount, fields[2])
    return {"path": str(path), "mount": best[0], "type": best[1]}


def _summary(values: list[float]) -> dict[str, float | None]:
    if not values:
        return {"mean": None, "p50": None, "p95": None, "max": None}
    ordered = sorted(values)
    return {
        "mean": round(statistics.fmean(values), 4),
        "p50": round(ordered[len(ordered) // 2], 4),
        "p95": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))], 4),
        "max": round(ordered[-1], 4),
    }


def healthy(result: dict[str, Any]) -> bool:
    """No call lost, none errored, fds, children and lock files the same before and after, threads bounded."""
    return (
        result["calls_lost"] == 0
        and result["error"] is None
        and all(result["equal"].values())
        and result["after"]["threads"] <= THREADS_BOUND
    )


def main(argv: list[str] | None = None) -> int:
    """The command line; exit 0 if :func:`healthy`, else 1."""
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000, help="calls after the warm-up cycle (default 1000)")
    parser.add_argument("--json", type=Path, help="write the result here (default: stdout)")
    parser.add_argument("--profile", type=Path, help="run the daemon under cProfile, its stats to this file")
    parser.add_argument(
        "--run-dir", type=Path,
        help="make the lock and runtime directories in a new directory here (e.g. /dev/shm: a tmpfs, as /run is "
        "on a systemd host; default: the soak's temporary directory)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    with contextlib.ExitStack() as stack:
        tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="answerd-soak-"))
        run_dir = None
        if args.run_dir is not None:
            run_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="answerd-soak-", dir=args.run_dir)))
        result = run_soak(args.calls, Path(tmp), args.profile, run_dir)
    text = json.dumps(result, indent=2)
    if args.json is not None:
        args.json.write_text(text + "\n")
    else:
        print(text)
    return 0 if healthy(result) else 1


if __name__ == "__main__":
    raise SystemExit(main())
