"""Foundation numbers for answerd: answer latency, prompt latency, call-to-call cycle, idle cost, memory, start-up.

Run from the repository root (as root, like the integration tests)::

    .venv/bin/python -m bench.foundation [--calls N] [--idle-seconds S] [--json OUT]

How it measures, and why this way
---------------------------------
Everything is measured from *outside* the daemon. The real ``answerd run`` process is started exactly as a
user starts it (``python -m answerd run --config FILE --port NAME --log-format json``), on a pty, with a
``NOTIFY_SOCKET`` this script binds. The other end of the pty is not ``answerd sim`` but :class:`BenchModem`,
a minimal Hayes modem living in this process, for three reasons:

* ``answerd sim --verbose`` stamps its transcript with ``loop.time()`` printed to 1 ms (``%8.3f``), and
  stamps ``DCE< RING`` *before* the write and ``DTE> ATA`` after an event-loop hop: the very numbers this
  script wants (a few ms) would be mostly quantisation;
* the sim's phone line is TCP, which adds a socket hop and a second process between CONNECT and the
  caller, and its DTR watcher is a 50 ms poll;
* one process means one clock and one event loop for every timestamp: the modem's pty reads and writes
  and the notify datagrams are all stamped with ``time.monotonic_ns()`` right after ``read``/``recv``
  returns (incoming) or right before ``write`` (outgoing).

:class:`BenchModem` is the benchmark's shared modem (:class:`bench.modem.Modem`), which speaks just
enough Hayes for answerd's default chats: it answers ``OK`` to every ``AT`` line (``E0`` turns its echo off,
``ATZ`` back on), sends ``RING`` when told to, answers ``ATA`` with ``CONNECT`` at once (no handshake delay),
and while online records what answerd writes (the "line"). It keeps a descriptor on the pty slave open, so
the master never reports a hang-up (no ``EIO``/``POLLHUP`` busy loop while answerd closes and reopens the
port) and it needs no DTR poll: answerd's DTR drop on a pty (speed B0) is simply not observed, exactly as a
modem that ignores DTR.

One call, with ``rings = 1``, ``settle_ms = 0`` and the default issue and ``@ login:`` prompt::

    modem: RING ─▶ (answerd) ATA ─▶ modem: CONNECT ─▶ first byte of the issue ... "login: "
    caller types "bench\\r" ─▶ answerd runs login_program = /bin/dd ... of=FIFO (one byte, then exit)
    the byte arrives on the FIFO = the program has run and exited  (the "call end")
    ─▶ answerd: reap, close, reopen, DTR low for dtr_drop_ms, AT probe / ATZ / ATE0... each with OK
    ─▶ STATUS=waiting for RING on the notify socket  (the "ready" for the next call)

``dd`` writing one byte to a FIFO this script reads, instead of ``/bin/true``, makes the program's exit
visible from outside, microseconds before it happens. The byte does not go over the tty on purpose: when the
call ends answerd discards tty output that has not reached the other end yet (``TCOFLUSH`` in
``SerialPort.close``), so a marker written to the tty is lost whenever the pty's kernel worker is a few ms
late; ``--check-output-flush`` demonstrates that effect with a larger write.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .common import (
    REPO,
    NotifyListener,
    machine_info,
    measure_idle,
    memory_snapshot,
    other_activity,
    summarize,
    write_answerd_config,
)
from .modem import CallTimes, Modem, ModemError, now_ns

__all__ = ["BenchModem", "CallTimes", "NotifyListener", "main"]

PORT_NAME = "bench0"
PROMPT_END = b"login: "
NAME = b"bench\r"
WAITING = "STATUS=waiting for RING"

#: The port settings of tests/integration/harness.py (FAST_PORT) that matter on a pty. dtr_drop_ms and the
#: stand-in program (:func:`end_program`) are set per run.
BASE_PORT: dict[str, Any] = {
    "modem_control": "none",
    "settle_ms": 0,
    "chat_timeout_s": 3.0,
    "retry_backoff_s": 0.1,
    "stop_grace_s": 1.0,
}


def end_program(fifo: Path) -> list[str]:
    """The stand-in for login: write one byte to ``fifo`` and exit (absolute path, no shell)."""
    return ["/bin/dd", "if=/dev/zero", f"of={fifo}", "bs=1", "count=1", "status=none"]


#: A step did not happen in time; the message carries what was seen. The same class as the shared modem's
#: error, because :class:`~bench.common.NotifyListener` raises that.
BenchError = ModemError


def ms(delta_ns: int | None) -> float | None:
    """Nanoseconds to milliseconds (rounded to µs), ``None`` stays ``None``."""
    return None if delta_ns is None else round(delta_ns / 1e6, 3)


# --------------------------------------------------------------------------------------------- the modem


class BenchModem(Modem):
    """The benchmark's modem (:class:`bench.modem.Modem`) with what these numbers also need.

    The stand-in program's NUL byte on ``end_fifo`` ends the call. Added here: a line that stops reading for
    a while after the name is typed (``--check-output-flush``), the first AT command after a moment, and
    what the line received since the prompt.

    Args:
        link: symlink published for the pty slave (what answerd's ``device`` points to).
        end_fifo: the FIFO the stand-in program (:func:`end_program`) writes to.
    """

    def __init__(self, link: Path, end_fifo: Path) -> None:
        super().__init__(link, end_fifo, name=NAME, prompt_end=PROMPT_END)
        #: Stop reading the pty for this long after typing the name (a slow line; --check-output-flush).
        self.pause_after_name_ms = 0.0

    def first_command_after(self, t_ns: int) -> tuple[int, str] | None:
        """The first AT command received after ``t_ns``."""
        return next((c for c in self.commands if c[0] > t_ns), None)

    def _online(self, data: bytes, t: int) -> None:
        named = self.call is not None and self.call.t_name is not None
        super()._online(data, t)
        if self.pause_after_name_ms and not named and self.call is not None and self.call.t_name is not None:
            self._loop.remove_reader(self.master)
            self._loop.call_later(
                self.pause_after_name_ms / 1000, self._loop.add_reader, self.master, self._on_readable
            )

    @property
    def screen(self) -> bytes:
        """What the line received since the prompt."""
        return bytes(self._screen)


# ------------------------------------------------------------------------------------------ the daemon


@dataclass
class Daemon:
    """A running ``answerd run`` and what it wrote to stderr."""

    proc: asyncio.subprocess.Process
    t_exec: int
    config: Path
    log: list[str] = field(default_factory=list)
    drain: asyncio.Task[None] | None = None

    def tail(self, n: int = 30) -> str:
        """The last ``n`` log lines, for error messages."""
        return "\n".join(self.log[-n:])


async def _drain(stream: asyncio.StreamReader, sink: list[str]) -> None:
    while line := await stream.readline():
        sink.append(line.decode("utf-8", "replace").rstrip("\n"))


@dataclass(frozen=True)
class Interpreter:
    """How child interpreters are run: environment and working directory (the source tree measured)."""

    env: dict[str, str]
    cwd: Path


def interpreter(bytecode: str, pycache: Path, tree: Path) -> Interpreter:
    """The environment for a child interpreter running answerd from ``tree``.

    ``cached``: ``.pyc`` files are written to and read from ``pycache`` (``PYTHONPYCACHEPREFIX``), as an
    installed package has them. ``as-is``: ``PYTHONDONTWRITEBYTECODE=1`` and no prefix, so answerd's modules
    are compiled from source at every start unless the tree happens to have ``__pycache__`` directories
    (this sandbox sets ``PYTHONDONTWRITEBYTECODE=1``, so ``answerd/`` has none).
    """
    env = dict(os.environ)
    if bytecode == "cached":
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    else:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        env.pop("PYTHONPYCACHEPREFIX", None)
    if tree.resolve() != REPO:
        env["PYTHONPATH"] = str(tree.resolve())  # ahead of the editable install's finder
    return Interpreter(env=env, cwd=tree)


async def start_daemon(
    tmp: Path,
    link: Path,
    notify: NotifyListener,
    dtr_drop_ms: int,
    log_level: str,
    interp: Interpreter,
    program: list[str],
) -> Daemon:
    """Write the config and start ``answerd run``; returns at once (the caller waits for READY=1)."""
    settings = {"device": str(link), **BASE_PORT, "dtr_drop_ms": dtr_drop_ms, "login_program": program}
    config = tmp / f"answerd-{dtr_drop_ms}.toml"
    write_answerd_config(config, PORT_NAME, settings, log_level)
    env = {**interp.env, "NOTIFY_SOCKET": str(notify.path)}
    argv = [sys.executable, "-m", "answerd", "run", "--config", str(config), "--port", PORT_NAME,
            "--log-format", "json"]  # fmt: skip
    t_exec = now_ns()
    proc = await asyncio.create_subprocess_exec(
        *argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=interp.cwd
    )
    daemon = Daemon(proc=proc, t_exec=t_exec, config=config)
    assert proc.stderr is not None
    daemon.drain = asyncio.get_running_loop().create_task(_drain(proc.stderr, daemon.log))
    return daemon


async def stop_daemon(daemon: Daemon) -> float:
    """SIGTERM and wait for the exit; return SIGTERM → exit in ms."""
    t0 = now_ns()
    if daemon.proc.returncode is None:
        daemon.proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(daemon.proc.wait(), 15)
    except TimeoutError:
        daemon.proc.kill()
        await daemon.proc.wait()
    t1 = now_ns()
    if daemon.drain is not None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(daemon.drain, 2)
    return (t1 - t0) / 1e6


# ------------------------------------------------------------------------------------------ output flush


FLUSH_BYTES = 8000


async def check_output_flush(args: argparse.Namespace, pycache: Path) -> dict[str, Any]:
    """Does the handed-off program's last output reach the line when the call ends?

    The program writes ``FLUSH_BYTES`` bytes to the tty and exits. Once with the modem reading at once, once
    with the modem not reading for 100 ms after the name (a line slower than the program, as any serial line
    is: 8000 bytes take 2 s at 38400 bit/s). Counts the bytes that arrive.
    """
    out: dict[str, Any] = {"written": FLUSH_BYTES}
    for pause_ms in (0, 100):
        with tempfile.TemporaryDirectory(prefix="answerd-bench-flush-") as tmpdir:
            tmp = Path(tmpdir)
            fifo = tmp / "ended.fifo"
            modem = BenchModem(tmp / "ttyBENCH0", fifo)
            modem.pause_after_name_ms = pause_ms
            notify = NotifyListener(tmp / "notify.sock")
            write = f"head -c {FLUSH_BYTES} /dev/zero | tr '\\0' x; " + shlex.join(end_program(fifo))
            interp = interpreter("cached", pycache, args.tree)
            daemon = await start_daemon(tmp, modem.link, notify, 50, args.log_level, interp, ["/bin/sh", "-c", write])
            try:
                await _startup(daemon, modem, notify, 0)
                await asyncio.sleep(args.gap_ms / 1000)
                await one_call(modem, notify, args.call_timeout)
                await asyncio.sleep(0.3)
                out[f"received_reader_paused_{pause_ms}ms"] = modem.screen.count(b"x")
            except BenchError as exc:
                raise BenchError(f"{exc}\n--- daemon log tail ---\n{daemon.tail()}") from None
            finally:
                await stop_daemon(daemon)
                notify.close()
                modem.close()
    return out


# ------------------------------------------------------------------------------------------ one call


async def one_call(modem: BenchModem, notify: NotifyListener, timeout: float) -> dict[str, Any]:
    """Ring once and follow the call through to ``waiting for RING``; return the call's timings in ms."""
    start = len(notify.messages)
    call = modem.ring()
    try:
        await modem.wait_until(lambda: call.t_end is not None, timeout, "end of the call (stand-in program)")
    except BenchError as exc:
        raise BenchError(f"call did not complete: {exc}; notify: {notify.messages[start:]}") from None
    _, t_ready = await notify.wait_for(WAITING, start, timeout)
    assert call.t_end is not None
    hang = notify.find("STATUS=hanging up", start)
    reset = notify.find("STATUS=resetting modem (DTR low)", hang[0] if hang else start)
    atz = modem.first_command_after(call.t_end)  # the first AT command after the call (the probe, then ATZ)
    return {
        "ring_to_ata_ms": ms(_sub(call.t_ata, call.t_ring)),
        "connect_to_first_byte_ms": ms(_sub(call.t_first_byte, call.t_connect)),
        "connect_to_prompt_ms": ms(_sub(call.t_prompt, call.t_connect)),
        "name_to_program_end_ms": ms(_sub(call.t_end, call.t_name)),
        "end_to_ready_ms": ms(t_ready - call.t_end),
        "end_to_hanging_up_ms": ms(_sub(hang[1] if hang else None, call.t_end)),
        "hanging_up_to_dtr_low_ms": ms(_sub(reset[1] if reset else None, hang[1] if hang else None)),
        "dtr_low_to_atz_ms": ms(_sub(atz[0] if atz else None, reset[1] if reset else None)),
        "atz_to_ready_ms": ms(_sub(t_ready, atz[0] if atz else None)),
        "ring_to_ready_ms": ms(t_ready - call.t_ring),
    }


def _sub(a: int | None, b: int | None) -> int | None:
    return None if a is None or b is None else a - b


# ------------------------------------------------------------------------------------------ imports


def _best_wall(argv: list[str], interp: Interpreter, runs: int = 5) -> float:
    best = math.inf
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(
            argv, check=True, cwd=interp.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=interp.env
        )
        best = min(best, time.perf_counter() - t0)
    return round(best * 1000, 2)


_IMPORTTIME = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| ( *)(\S+)")
#: Modules every interpreter imports at start-up; not answerd's cost.
_STARTUP_MODULES = {"site", "encodings", "_frozen_importlib_external", "io", "zipimport", "_signal", "answerd.cli"}


def _importtime(code: str, interp: Interpreter) -> tuple[int, list[tuple[str, float, float, int]]]:
    """Sum of every module's self time (µs) and each entry as (name, self ms, cumulative ms, depth)."""
    argv = [sys.executable, "-X", "importtime", "-c", code]
    out = subprocess.run(argv, check=True, cwd=interp.cwd, capture_output=True, text=True, env=interp.env).stderr
    total = 0
    entries: list[tuple[str, float, float, int]] = []
    for match in _IMPORTTIME.finditer(out):
        total += int(match.group(1))
        depth = len(match.group(3)) // 2
        entries.append((match.group(4), int(match.group(1)) / 1000, int(match.group(2)) / 1000, depth))
    return total, entries


def measure_imports(interp: Interpreter, runs: int = 5) -> dict[str, Any]:
    """Wall time (best of ``runs``) of bare and answerd-importing interpreters, and ``-X importtime`` sums."""
    py = sys.executable
    _importtime("import answerd.cli, systemd.daemon", interp)  # warm the page cache (and the .pyc files)
    base = min(_importtime("pass", interp)[0] for _ in range(runs))
    total, entries = min((_importtime("import answerd.cli", interp) for _ in range(runs)), key=lambda r: r[0])
    heavy = sorted((e for e in entries if e[0] not in _STARTUP_MODULES), key=lambda e: -e[2])
    return {
        "wall_ms_python_pass": _best_wall([py, "-c", "pass"], interp, runs),
        "wall_ms_import_answerd_daemon": _best_wall([py, "-c", "import answerd.service.daemon"], interp, runs),
        "wall_ms_import_answerd_cli": _best_wall([py, "-c", "import answerd.cli"], interp, runs),
        "wall_ms_import_systemd_daemon": _best_wall([py, "-c", "import systemd.daemon"], interp, runs),
        "importtime_ms_answerd_cli_minus_startup": round((total - base) / 1000, 2),
        "importtime_heaviest": [
            {"module": n, "self_ms": round(s, 2), "cumulative_ms": round(c, 2), "depth": d} for n, s, c, d in heavy[:15]
        ],
    }


def source_info(tree: Path, label: str | None, machine: dict[str, Any]) -> dict[str, Any]:
    """Which answerd was measured: the repository's HEAD and, for the working tree, what differs from it.

    Both come from ``machine`` (:func:`~bench.common.machine_info` reads them from git).
    """
    info: dict[str, Any] = {"tree": str(tree.resolve()), "label": label, "repo_head": machine["repo_head"]}
    if tree.resolve() == REPO:
        info["modified_under_answerd"] = machine["modified_under_answerd"]
    else:
        info["note"] = "an exported tree (e.g. git archive), not the working tree; see the report"
    return info


# ------------------------------------------------------------------------------------------ statistics


def _row(label: str, s: dict[str, Any]) -> str:
    def cell(v: Any) -> str:
        return "-" if v is None else f"{v:.2f}"

    return f"| {label} | {s['n']} | {cell(s['min'])} | {cell(s['median'])} | {cell(s['p99'])} | {cell(s['max'])} |"


# ------------------------------------------------------------------------------------------ main


async def _startup(daemon: Daemon, modem: BenchModem, notify: NotifyListener, start: int) -> dict[str, Any]:
    """Wait for READY=1 and ``waiting for RING``; return the start-up timings in ms."""
    _, t_ready = await notify.wait_for("READY=1", start, 30)
    await notify.wait_for(WAITING, start, 10)
    first_at = modem.first_command_after(daemon.t_exec)
    reset = notify.find("STATUS=resetting modem (DTR low)", start)
    return {
        "exec_to_dtr_low_ms": ms(reset[1] - daemon.t_exec) if reset else None,
        "exec_to_first_at_ms": ms(first_at[0] - daemon.t_exec) if first_at else None,
        "exec_to_ready_ms": ms(t_ready - daemon.t_exec),
    }


async def _workload(
    args: argparse.Namespace, daemon: Daemon, modem: BenchModem, notify: NotifyListener, *, dtr: int, idle: bool
) -> dict[str, Any]:
    """N calls on a running daemon, memory before and after, then (if ``idle``) the idle measurement."""
    pid = daemon.proc.pid
    out: dict[str, Any] = {"memory": {}}
    await asyncio.sleep(args.gap_ms / 1000)
    out["memory"][f"after_start_dtr{dtr}"] = memory_snapshot(pid)
    calls = []
    for index in range(args.calls):
        await asyncio.sleep(args.gap_ms / 1000)
        calls.append(await one_call(modem, notify, args.call_timeout))
        print(f"  dtr_drop_ms={dtr} call {index + 1}/{args.calls}: {json.dumps(calls[-1])}", file=sys.stderr)
    out["calls"] = calls
    out["memory"][f"after_{args.calls}_calls_dtr{dtr}"] = memory_snapshot(pid)
    if idle:
        await asyncio.sleep(1.0)
        print(f"  idle for {args.idle_seconds} s ...", file=sys.stderr)
        out["idle"] = await measure_idle(pid, args.idle_seconds)
        out["idle"]["dtr_drop_ms"] = dtr
        out["idle"]["log_lines_total"] = len(daemon.log)
        out["memory"]["after_idle"] = memory_snapshot(pid)
    return out


async def run_bench(args: argparse.Namespace, pycache: Path) -> dict[str, Any]:
    """Every phase; returns the raw results.

    For each ``dtr_drop_ms`` (bytecode cached): ``--startups`` launches of the daemon; the first one also
    carries the calls (and, for the first setting, the idle measurement) before it is stopped. Then
    ``--startups`` launches with the last ``dtr_drop_ms`` and the source tree as it is (no ``.pyc``).
    """
    results: dict[str, Any] = {"calls": {}, "startups": [], "memory": {}, "idle": None}
    plan = [("cached", dtr, launch) for dtr in args.dtr_drop_ms for launch in range(args.startups)]
    plan += [("as-is", args.dtr_drop_ms[-1], launch + 1) for launch in range(args.startups)]
    with tempfile.TemporaryDirectory(prefix="answerd-bench-") as tmpdir:
        tmp = Path(tmpdir)
        modem = BenchModem(tmp / "ttyBENCH0", tmp / "ended.fifo")
        program = end_program(tmp / "ended.fifo")
        notify = NotifyListener(tmp / "notify.sock")
        try:
            for bytecode, dtr, launch in plan:
                start = len(notify.messages)
                interp = interpreter(bytecode, pycache, args.tree)
                daemon = await start_daemon(tmp, modem.link, notify, dtr, args.log_level, interp, program)
                startup: dict[str, Any] = {"bytecode": bytecode, "dtr_drop_ms": dtr}
                try:
                    startup |= await _startup(daemon, modem, notify, start)
                    if launch == 0:
                        idle = dtr == args.dtr_drop_ms[0] and args.idle_seconds > 0
                        work = await _workload(args, daemon, modem, notify, dtr=dtr, idle=idle)
                        results["calls"][f"dtr{dtr}"] = work["calls"]
                        results["memory"] |= work["memory"]
                        results["idle"] = work.get("idle", results["idle"])
                except BenchError as exc:
                    raise BenchError(f"{exc}\n--- daemon log tail ---\n{daemon.tail()}") from None
                finally:
                    startup["sigterm_to_exit_ms"] = round(await stop_daemon(daemon), 3)
                    startup["exit_code"] = daemon.proc.returncode
                results["startups"].append(startup)
                print(f"  start-up: {json.dumps(startup)}", file=sys.stderr)
        finally:
            notify.close()
            modem.close()
    return results


def build_table(results: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The Markdown table rows (latencies in ms) and the summaries they show."""
    summary: dict[str, Any] = {}
    lines = ["| metric (ms) | n | min | median | p99 | max |", "|---|---:|---:|---:|---:|---:|"]

    def add(key: str, label: str, values: list[float | None]) -> None:
        summary[key] = summarize(values)
        lines.append(_row(label, summary[key]))

    every = [c for calls in results["calls"].values() for c in calls]
    add("ring_to_ata", "1. final RING → `ATA` at the modem", [c["ring_to_ata_ms"] for c in every])
    add("connect_to_first_byte", "2. CONNECT → first byte on the line (settle_ms 0)",
        [c["connect_to_first_byte_ms"] for c in every])  # fmt: skip
    add("connect_to_prompt", "   CONNECT → `login: ` complete", [c["connect_to_prompt_ms"] for c in every])
    add("name_to_program_end", "   name typed → stand-in program has run (FIFO byte)",
        [c["name_to_program_end_ms"] for c in every])  # fmt: skip
    for key, calls in results["calls"].items():
        dtr = key.removeprefix("dtr")
        add(f"end_to_ready_{key}", f"3. call end → `waiting for RING`, dtr_drop_ms={dtr}",
            [c["end_to_ready_ms"] for c in calls])  # fmt: skip
        for part, label in (
            ("end_to_hanging_up_ms", "program exit → STATUS=hanging up (wait + reap)"),
            ("hanging_up_to_dtr_low_ms", "→ STATUS=resetting (close + reopen)"),
            ("dtr_low_to_atz_ms", "→ first `AT` at the modem (DTR-low hold)"),
            ("atz_to_ready_ms", "→ `waiting for RING` (init chat)"),
        ):
            add(f"{part.removesuffix('_ms')}_{key}", f"   {label}", [c[part] for c in calls])
    groups = dict.fromkeys((s["bytecode"], s["dtr_drop_ms"]) for s in results["startups"])
    for bytecode, dtr in groups:
        runs = [s for s in results["startups"] if (s["bytecode"], s["dtr_drop_ms"]) == (bytecode, dtr)]
        tag = f"{bytecode.replace('-', '_')}_dtr{dtr}"
        where = f"dtr_drop_ms={dtr}, .pyc {bytecode}"
        add(f"startup_dtr_low_{tag}", f"6. exec → STATUS=resetting (port open), {where}",
            [s["exec_to_dtr_low_ms"] for s in runs])  # fmt: skip
        add(f"startup_ready_{tag}", f"6. exec → READY=1, {where}", [s["exec_to_ready_ms"] for s in runs])
        add(f"sigterm_{tag}", f"   SIGTERM → exit, {where}", [s["sigterm_to_exit_ms"] for s in runs])
    return lines, summary


def _load(values: Any) -> str:
    return "-" if not values else "/".join(f"{v:.2f}" for v in values)


def render(results: dict[str, Any], command: str) -> str:
    """The whole human-readable report (what is printed)."""
    m = results["machine"]
    out = [
        f"machine: nproc={m['nproc']} affinity={m['affinity']} cpu={m['cpu_model']!r} mem={m['mem_total_mib']} MiB "
        f"kernel={m['kernel']} python={m['python']}",
        f"load average at start {_load(m['loadavg_at_start'])}, at end {_load(m.get('loadavg_at_end'))}; "
        f"other answerd/pytest processes at start {len(m['other_activity_at_start'])}, "
        f"at end {len(m.get('other_activity_at_end', []))}",
        f"source: tree {m['source']['tree']} ({m['source']['label'] or 'no label'}), "
        f"repository HEAD at the start {m['source']['repo_head'][:12]}"
        + (
            f" + {len(m['source']['modified_under_answerd'])} modified path(s) under answerd/"
            if "modified_under_answerd" in m["source"]
            else ""
        ),
        f"command: {command}",
        "",
    ]
    lines, summary = build_table(results)
    results["summary"] = summary
    out += lines
    idle = results.get("idle")
    if idle:
        busiest = max(idle["per_second"], key=lambda b: b["run_us"])
        out += [
            "",
            f"4. idle {idle['seconds']:.1f} s waiting for RING: CPU {idle['cpu_ms_utime_stime']:.0f} ms "
            f"(utime+stime) / {idle['cpu_ms_schedstat']:.3f} ms (schedstat) = {idle['cpu_percent']:.4f} %, "
            f"context switches {idle['voluntary_ctxt_switches']} voluntary + "
            f"{idle['nonvoluntary_ctxt_switches']} involuntary ({idle['ctxt_switches_per_s']:.2f}/s), "
            f"threads {idle['threads']}, busiest second {busiest['run_us']} µs / {busiest['ctxt_switches']} switches",
        ]
    flush = results.get("output_flush")
    if flush:
        out += [
            "",
            f"program output at hang-up: wrote {flush['written']} bytes and exited; the line received "
            f"{flush['received_reader_paused_0ms']} (reading at once) / {flush['received_reader_paused_100ms']} "
            "(line 100 ms behind)",
        ]
    out += ["", "5. memory (MiB):"]
    out += [f"   {k}: RSS {v['rss_mib']}, PSS {v['pss_mib']}, USS {v['uss_mib']}" for k, v in results["memory"].items()]
    for mode, imp in (results.get("imports") or {}).items():
        top = ", ".join(f"{e['module']} {e['cumulative_ms']}" for e in imp["importtime_heaviest"][:8])
        out += [
            "",
            f"6. imports, .pyc {mode} (best of 5, wall): python -c pass {imp['wall_ms_python_pass']} ms, "
            f"import answerd.service.daemon {imp['wall_ms_import_answerd_daemon']} ms, "
            f"import answerd.cli {imp['wall_ms_import_answerd_cli']} ms, "
            f"import systemd.daemon {imp['wall_ms_import_systemd_daemon']} ms",
            f"   -X importtime answerd.cli (sum of self, minus bare start-up): "
            f"{imp['importtime_ms_answerd_cli_minus_startup']} ms; heaviest (cumulative ms): {top}",
        ]
    return "\n".join(out)


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m bench.foundation", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=30, help="calls per dtr_drop_ms setting (default 30)")
    parser.add_argument("--idle-seconds", type=float, default=60.0, help="idle measurement length (default 60)")
    parser.add_argument("--json", type=Path, metavar="OUT", help="write raw samples and summaries as JSON")
    parser.add_argument("--dtr-drop-ms", type=int, nargs="+", default=[500, 50],
                        help="dtr_drop_ms settings to measure (default 500 50; idle runs with the first)")  # fmt: skip
    parser.add_argument("--startups", type=int, default=5, help="daemon launches per dtr_drop_ms (default 5)")
    parser.add_argument("--gap-ms", type=float, default=200.0,
                        help="pause after `waiting for RING` before the next RING (default 200)")  # fmt: skip
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"],
                        help="the daemon's log_level (default info, the product default)")  # fmt: skip
    parser.add_argument("--call-timeout", type=float, default=15.0, help="seconds allowed per call step")
    parser.add_argument("--skip-imports", action="store_true", help="do not measure import times")
    parser.add_argument("--tree-label", metavar="TEXT", help="what --tree is (e.g. `git archive 1e70214`)")
    parser.add_argument("--check-output-flush", action="store_true",
                        help="also check whether a program's last output survives the hang-up")  # fmt: skip
    parser.add_argument("--tree", type=Path, default=REPO,
                        help="source tree holding the answerd package to run (default: this repository's "
                             "working tree; e.g. a `git archive HEAD` export for a fixed snapshot)")  # fmt: skip
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the whole bench and print the report."""
    args = build_parser().parse_args(argv)
    if args.startups < 1 or args.calls < 1:
        print("--calls and --startups must be at least 1", file=sys.stderr)
        return 2
    command = shlex.join([Path(sys.executable).name, "-m", "bench.foundation", *sys.argv[1:]])
    machine = machine_info()
    machine["source"] = source_info(args.tree, args.tree_label, machine)  # machine_info() has other_activity_at_start
    with tempfile.TemporaryDirectory(prefix="answerd-bench-pycache-") as pycache_dir:
        pycache = Path(pycache_dir)
        warm = [sys.executable, "-c", "import answerd.cli, answerd.service.daemon, systemd.daemon"]
        cached = interpreter("cached", pycache, args.tree)
        subprocess.run(warm, check=True, cwd=cached.cwd, env=cached.env)  # write the .pyc files once
        imports = None
        if not args.skip_imports:
            imports = {mode: measure_imports(interpreter(mode, pycache, args.tree)) for mode in ("cached", "as-is")}
        try:
            results = asyncio.run(run_bench(args, pycache))
            if args.check_output_flush:
                results["output_flush"] = asyncio.run(check_output_flush(args, pycache))
        except BenchError as exc:
            print(f"bench failed: {exc}", file=sys.stderr)
            return 1
    machine["loadavg_at_end"] = os.getloadavg()
    machine["other_activity_at_end"] = other_activity()
    settings = {**vars(args), "json": str(args.json), "port": BASE_PORT}
    results = {"machine": machine, "command": command, "settings": settings, **results, "imports": imports}
    print(render(results, command))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=1, default=_json_default) + "\n")
    return 0


def _json_default(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(type(value))


if __name__ == "__main__":
    raise SystemExit(main())
