"""A pool of lines: N ``answerd run`` processes, one per pty, calls arriving at random (Poisson).

Every line is a :class:`~bench.modem.Modem` in this process (one event loop serves all the ptys: the "one sim
serving many ptys" arrangement, with the same clock for every stamp). The lines form a hunt group, as a
dial-in pool's lines do: a call arrives (exponential inter-arrival times at ``rate`` per second) and rings
one line picked at random among those that are ready (their modem has answered the whole init sequence); when
no line is ready the call is *blocked* (the pool is full: a capacity matter, counted apart from losses).

A call rings every ``ring_interval_s`` until ``ATA`` (answerd answers at the first RING with ``rings = 1``),
and the caller gives up after ``max_rings``. answerd runs in ``mode = "direct"`` with a stand-in program,
``/bin/sh -c 'printf s >FIFO; sleep THINK; printf e >FIFO'``: ``s`` says it started, ``e`` that the call
ends. A call is *answered* when it went RING → ATA → program started → program ended → the line is ready
again; it is *lost* when any of these does not happen in time (unanswered, answered but no program, program
never ended, line not re-initialised).

All the answerd processes start at once; each checks its config in-process (as every start does).

Measured: outcomes, RING → ATA at the modem, CPU time of the answerd processes (their own, and separately
their children's: the stand-ins), the sum of their PSS sampled during the run, this process's own CPU (the
modems) and the machine's CPU use (all processes, from ``/proc/stat``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import resource
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .common import (
    AnswerdProcess,
    NotifyListener,
    cpu_snapshot,
    memory_snapshot,
    summarize,
    write_answerd_config,
)
from .modem import CallTimes, Modem, ModemError, now_ns

__all__ = ["PoolOptions", "run_pool"]

STANDIN = 'printf s >"$0"; sleep "$1"; printf e >"$0"'


@dataclass
class PoolOptions:
    """What to run."""

    lines: int = 32
    minutes: float = 15.0
    calls: int = 2000
    rate_per_s: float | None = None
    think_s: float = 3.0
    ring_interval_s: float = 6.0
    max_rings: int = 5
    seed: int = 1
    sample_every_s: float = 30.0
    pycache: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        """Calls per second: given, or the one that reaches ``calls`` in ``minutes``."""
        return self.rate_per_s or self.calls / (self.minutes * 60)


def pool_settings(link: Path, fifo: Path, think_s: float) -> dict[str, Any]:
    """answerd's defaults, except what a pty and an unattended stand-in need."""
    return {
        "device": str(link),
        "modem_control": "none",
        "toggle_dtr": False,
        "mode": "direct",
        "direct_program": ["/bin/sh", "-c", STANDIN, str(fifo), f"{think_s:g}"],
    }


@dataclass
class Line:
    """One port of the pool."""

    index: int
    modem: Modem
    notify: NotifyListener
    config: Path
    port: str
    log: Path
    process: AnswerdProcess | None = None
    init_seq: list[str] = field(default_factory=list)
    ready: bool = False
    exec_to_ready_ms: float | None = None


async def _start_line(line: Line, env: dict[str, str], timeout: float) -> None:
    line.process = AnswerdProcess.start(line.config, line.port, line.notify.path, line.log, env=env)
    t_exec = line.process.t_exec
    _, t_ready = await line.notify.wait_for("READY=1", 0, timeout)
    await line.notify.wait_for("STATUS=waiting for RING", 0, timeout)
    line.exec_to_ready_ms = round((t_ready - t_exec) / 1e6, 3)
    line.init_seq = [c for t, c in line.modem.commands if t > t_exec]
    line.ready = True


async def _call(line: Line, opts: PoolOptions, record: dict[str, Any]) -> None:
    """One call on ``line``; fills ``record`` (outcome and timings)."""
    modem = line.modem
    line.ready = False
    call: CallTimes = modem.ring()
    record["rings"] = 1
    try:
        while call.t_ata is None:
            try:
                await modem.wait_until(lambda: call.t_ata is not None, opts.ring_interval_s, "ATA")
            except ModemError:
                if record["rings"] >= opts.max_rings:
                    modem.give_up()
                    record["outcome"] = "unanswered"
                    return
                modem.ring()
                record["rings"] += 1
        record["ring_to_ata_ms"] = round((call.t_ata - call.t_last_ring) / 1e6, 3)
        record["first_ring_to_ata_ms"] = round((call.t_ata - call.t_ring) / 1e6, 3)
        try:
            await modem.wait_until(lambda: call.t_program is not None, 15.0, "program start")
        except ModemError:
            record["outcome"] = "no_program"
            return
        record["connect_to_program_ms"] = round((call.t_program - (call.t_connect or 0)) / 1e6, 3)  # type: ignore[operator]
        try:
            await modem.wait_until(lambda: call.t_end is not None, opts.think_s + 15.0, "program end")
        except ModemError:
            record["outcome"] = "no_end"
            return
        assert call.t_end is not None
        end, seq = call.t_end, line.init_seq
        try:
            await modem.wait_until(lambda: modem.replies_through(end, seq) is not None, 30.0, "re-initialisation")
        except ModemError:
            record["outcome"] = "not_ready"
            return
        t_ready = (modem.replies_through(end, seq) or [(end, "")])[-1][0]
        record["end_to_ready_ms"] = round((t_ready - call.t_end) / 1e6, 3)
        record["outcome"] = "answered"
    finally:
        record.setdefault("outcome", "error")
        if record["outcome"] in ("answered", "unanswered"):
            line.ready = True  # an unanswered line stays in the hunt group (a real exchange would keep using it)


def _pss_sum(lines: list[Line]) -> dict[str, float]:
    rss = pss = 0.0
    for line in lines:
        assert line.process is not None
        with contextlib.suppress(OSError):
            mem = memory_snapshot(line.process.proc.pid)
            rss += mem["rss_mib"]
            pss += mem["pss_mib"]
    return {"t_s": 0.0, "rss_mib_sum": round(rss, 1), "pss_mib_sum": round(pss, 1)}


def _cpu_sum(lines: list[Line]) -> dict[str, int]:
    total = {"own_ticks": 0, "children_ticks": 0, "ctxt_switches": 0}
    for line in lines:
        assert line.process is not None
        with contextlib.suppress(OSError):
            snap = cpu_snapshot(line.process.proc.pid)
            total["own_ticks"] += snap["utime_ticks"] + snap["stime_ticks"]
            total["children_ticks"] += snap["cutime_ticks"] + snap["cstime_ticks"]
            total["ctxt_switches"] += snap["voluntary_ctxt_switches"] + snap["nonvoluntary_ctxt_switches"]
    return total


def _machine_busy_ticks() -> tuple[int, int]:
    """(busy, total) jiffies of all CPUs from /proc/stat."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _self_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def run_pool(opts: PoolOptions, progress: Callable[[str], None]) -> dict[str, Any]:
    """Start the pool, offer calls until ``minutes`` or ``calls`` is reached, and report."""
    rng = random.Random(opts.seed)
    tick_s = 1 / os.sysconf("SC_CLK_TCK")
    records: list[dict[str, Any]] = []
    blocked = 0
    samples: list[dict[str, float]] = []
    tasks: set[asyncio.Task[None]] = set()
    with tempfile.TemporaryDirectory(prefix="answerd-pool-") as tmpdir:
        tmp = Path(tmpdir)
        env = dict(opts.env or os.environ)
        lines: list[Line] = []
        try:
            for index in range(opts.lines):
                fifo = tmp / f"line{index:02d}.fifo"
                link = Path(f"/dev/ttyBNp{os.getpid()}x{index:02d}")  # under /dev, as utmp's ut_line expects
                modem = Modem(link, fifo, name=None)
                config = tmp / f"pool{index:02d}.toml"
                port = f"pool{os.getpid()}x{index:02d}"
                write_answerd_config(config, port, pool_settings(link, fifo, opts.think_s))
                notify = NotifyListener(tmp / f"pool{index:02d}.notify")
                lines.append(Line(index, modem, notify, config, port, tmp / f"pool{index:02d}.log"))
            t0 = now_ns()
            progress(f"pool: starting {opts.lines} answerd processes at once ...")
            await asyncio.gather(*(_start_line(line, env, 120.0) for line in lines))
            all_ready_s = (now_ns() - t0) / 1e9
            progress(f"pool: all {opts.lines} ready after {all_ready_s:.2f} s; offering calls at {opts.rate:.3f}/s")
            await asyncio.sleep(2.0)
            idle_before = _pss_sum(lines)
            cpu0, busy0, self0, t_run0 = _cpu_sum(lines), _machine_busy_ticks(), _self_cpu_s(), now_ns()
            next_sample = opts.sample_every_s
            t_next = 0.0
            deadline = opts.minutes * 60
            offered = 0
            while offered < opts.calls:
                t_next += rng.expovariate(opts.rate)
                if t_next >= deadline:
                    break
                while next_sample <= t_next:
                    await asyncio.sleep(max(0.0, next_sample - (now_ns() - t_run0) / 1e9))
                    sample = _pss_sum(lines)
                    sample["t_s"] = round((now_ns() - t_run0) / 1e9, 1)
                    samples.append(sample)
                    done = [r for r in records if "outcome" in r]
                    progress(f"pool t={sample['t_s']:.0f}s: offered {offered}, finished {len(done)}, blocked {blocked}"
                             f", lost {sum(1 for r in done if r['outcome'] not in ('answered',))}, "
                             f"PSS sum {sample['pss_mib_sum']} MiB")  # fmt: skip
                    next_sample += opts.sample_every_s
                await asyncio.sleep(max(0.0, t_next - (now_ns() - t_run0) / 1e9))
                offered += 1
                free = [line for line in lines if line.ready]
                if not free:
                    blocked += 1
                    continue
                line = rng.choice(free)
                record: dict[str, Any] = {"n": offered, "line": line.index, "t_s": round(t_next, 3)}
                records.append(record)
                task = asyncio.get_running_loop().create_task(_call(line, opts, record))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            t_offer_end = now_ns()
            progress(f"pool: {offered} calls offered; waiting for {len(tasks)} in progress ...")
            if tasks:
                await asyncio.wait(set(tasks), timeout=opts.think_s + 120)
            t_run1 = now_ns()
            cpu1, busy1, self1 = _cpu_sum(lines), _machine_busy_ticks(), _self_cpu_s()
            await asyncio.sleep(2.0)
            idle_after = _pss_sum(lines)
            errors = _log_levels(lines)
        finally:
            for line in lines:
                if line.process is not None:
                    await line.process.stop()
                line.notify.close()
                line.modem.close()
    wall_s = (t_run1 - t_run0) / 1e9
    outcomes: dict[str, int] = {}
    for r in records:
        outcomes[r.get("outcome", "in_progress")] = outcomes.get(r.get("outcome", "in_progress"), 0) + 1
    own_s = (cpu1["own_ticks"] - cpu0["own_ticks"]) * tick_s
    child_s = (cpu1["children_ticks"] - cpu0["children_ticks"]) * tick_s
    answered = outcomes.get("answered", 0)
    return {
        "options": {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(opts).items() if k != "env"},
        "rate_per_s": opts.rate,
        "start_all_ready_s": round(all_ready_s, 3),
        "exec_to_ready_ms": summarize([line.exec_to_ready_ms for line in lines]),
        "offered": offered,
        "offered_for_s": round((t_offer_end - t_run0) / 1e9, 1),
        "wall_s": round(wall_s, 1),
        "blocked_all_busy": blocked,
        "outcomes": outcomes,
        "answered": answered,
        "lost": sum(v for k, v in outcomes.items() if k != "answered"),
        "needed_more_than_one_ring": sum(1 for r in records if r.get("rings", 1) > 1),
        "ring_to_ata_ms": summarize([r.get("ring_to_ata_ms") for r in records]),
        "connect_to_program_ms": summarize([r.get("connect_to_program_ms") for r in records]),
        "end_to_ready_ms": summarize([r.get("end_to_ready_ms") for r in records]),
        "cpu": {
            "answerd_own_s": round(own_s, 2),
            "answerd_own_ms_per_call": round(own_s * 1000 / max(1, answered), 2),
            "answerd_own_percent_of_one_core": round(100 * own_s / wall_s, 2),
            "standin_children_s": round(child_s, 2),
            "answerd_ctxt_switches": cpu1["ctxt_switches"] - cpu0["ctxt_switches"],
            "bench_process_s": round(self1 - self0, 2),
            "machine_busy_percent": round(100 * (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1]), 2),
        },
        "memory": {
            "idle_before": idle_before,
            "idle_after": idle_after,
            "samples": samples,
            "pss_mib_sum_max": max([s["pss_mib_sum"] for s in [idle_before, *samples, idle_after]]),
            "pss_mib_per_port_after": round(idle_after["pss_mib_sum"] / opts.lines, 2),
        },
        "log_warnings": errors,
        "calls": records,
    }


def _log_levels(lines: list[Line]) -> dict[str, Any]:
    """``level:event`` counts of the warning/error records in the answerd logs, with one example of each."""
    counts: dict[str, Any] = {}
    for line in lines:
        with contextlib.suppress(OSError):
            for text in line.log.read_text(errors="replace").splitlines():
                try:
                    item = json.loads(text)
                except ValueError:
                    item = {"level": "error", "event": "<not json>", "text": text[:200]}
                if isinstance(item, dict) and item.get("level") in ("warning", "error", "critical"):
                    key = f"{item.get('level')}:{item.get('event')}"
                    entry = counts.setdefault(key, {"count": 0, "example": item})
                    entry["count"] += 1
    return counts
