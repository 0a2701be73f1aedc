"""answerd against mgetty on the same simulated modem, in the same run, with aligned settings.

Both daemons run, one after the other, on a fresh pty served by the same :class:`~bench.modem.Modem` class
in this process. Two passes, each daemon once per pass, in this order: answerd, mgetty (``zero`` pass),
answerd, mgetty (``defaults`` pass):

``zero``
    Aligned settings with every wait at 0 where both allow it: ``rings`` 1; DTR toggling off (a pty has no
    DTR: ``toggle_dtr = false`` / ``toggle-dtr no``); the same init chat (answerd's default, ``"" ATZ OK
    ATE0Q0V1&C1&D2S0=0 OK``, given to mgetty as ``init-chat``, with ``modem-type data`` so it does not probe
    for fax classes answerd never asks about); ``settle_ms = 0`` / ``prompt-waittime 0`` (mgetty still
    clears the line for 300 ms, which no keyword changes); no FidoNet EMSI request (``fido-send-emsi no``);
    the same issue text and ``@ login: `` prompt; the port closed and reopened after a call, no DTR hold
    (``hangup_dtr_ms = 0``; with a DTR hold and no DCD answerd would escape with ``+++`` and ``ATH0`` after
    every call); health check / modem check at 3600 s (mgetty's default
    ``modem-check-time``), no systemd watchdog (``WATCHDOG_USEC`` unset). The idle, memory and extra
    start-up measurements are taken in this pass.
``defaults``
    Each tool's own defaults (mgetty: Debian's shipped ``mgetty.config``), changed only where a pty or the
    benchmark needs it: DTR toggling off, ``rings`` 1, the stand-in login program, the port.

Both daemons read and check their configuration at every start (answerd validates it in-process).

The stand-in login program is ``/bin/dd if=/dev/zero of=FIFO bs=1 count=1``: both daemons exec it (mgetty
from ``login.config``, answerd as ``login_program``), its one byte on the FIFO is stamped by this process
the moment it arrives: that is "the login program is running", and, microseconds later, the call's end.
"Ready for the next call" is measured at the modem for both: the moment it writes ``OK`` to the last
command of the daemon's init sequence (learned from the daemon's first start in each pass: every command
until the line stays quiet for ``QUIET_S``). For mgetty that includes the respawn: this process watches
mgetty through a pidfd and starts a new one in the same loop iteration that sees the old one exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .common import (
    REPO,
    AnswerdProcess,
    NotifyListener,
    answerd_python,
    cpu_snapshot,
    measure_idle,
    memory_snapshot,
    write_answerd_config,
)
from .mgetty import Respawner, write_mgetty_config
from .modem import CallTimes, Modem, ModemError, now_ns

__all__ = ["PASSES", "SingleLineOptions", "measure_imports", "run_single_line"]

PASSES = ("zero", "defaults")
#: How long the line must stay quiet after a daemon's first start before its init sequence is known.
QUIET_S = 1.5
#: answerd's default init chat, used by both daemons in the ``zero`` pass.
INIT_CHAT = ["", "ATZ", "OK", "ATE0Q0V1&C1&D2S0=0", "OK"]
ISSUE = r"\n{tool} on @ (\P, \I)\n"


@dataclass
class SingleLineOptions:
    """What to run."""

    calls: int = 30
    idle_seconds: float = 60.0
    startups: int = 5
    gap_s: float = 1.0
    mgetty: bool = True
    passes: tuple[str, ...] = PASSES
    step_timeout_s: float = 20.0
    pycache: Path | None = None


def standin_argv(fifo: Path) -> list[str]:
    """The stand-in login program (absolute path, no shell; fits mgetty's 9-argument limit)."""
    return ["/bin/dd", "if=/dev/zero", f"of={fifo}", "bs=1", "count=1", "status=none"]


def answerd_settings(pass_name: str, link: Path, fifo: Path) -> dict[str, Any]:
    """answerd's port table for a pass."""
    base: dict[str, Any] = {
        "device": str(link),
        "modem_control": "none",  # a pty has no modem-control lines ("auto" would find that out itself)
        "toggle_dtr": False,
        "rings": 1,
        "login_program": standin_argv(fifo),
    }
    if pass_name == "zero":
        # hangup_dtr_ms 0: hang up as mgetty does (its exit closes the port, its successor opens it). The default
        # DTR hold finds no DCD on a pty and escapes (+++, guard times, ATH0): 3.5 s per call, nothing to align.
        base |= {"settle_ms": 0, "health_check_s": 3600.0, "init_chat": INIT_CHAT,
                 "issue": ISSUE.format(tool="answerd"), "hangup_dtr_ms": 0}  # fmt: skip
    return base


def mgetty_settings(pass_name: str, issue_file: Path) -> dict[str, str]:
    """mgetty.config keywords for a pass (``defaults``: Debian's shipped file plus the pty's needs)."""
    debian = {"debug": "4", "fax-id": "", "speed": "38400", "issue-file": "/etc/issue.mgetty"}
    base = {**debian, "toggle-dtr": "no", "rings": "1"}
    if pass_name == "zero":
        chat = " ".join(s or '""' for s in INIT_CHAT)
        base |= {"init-chat": chat, "modem-type": "data", "prompt-waittime": "0", "fido-send-emsi": "no",
                 "issue-file": str(issue_file), "modem-check-time": "3600"}  # fmt: skip
    return base


# ------------------------------------------------------------------------------------------ the daemons


class Peer:
    """One daemon under test on one modem: start, current pid, stop."""

    tool = ""

    def __init__(self, modem: Modem) -> None:
        self.modem = modem

    @property
    def pid(self) -> int:
        """The process to measure now."""
        raise NotImplementedError

    def start(self) -> int:
        """Start the daemon; return the exec time (ns)."""
        raise NotImplementedError

    async def stop(self) -> None:
        """Stop it (no respawn)."""
        raise NotImplementedError

    def describe_failure(self) -> str:
        """Context for an error message."""
        return ""

    def cpu_ms(self) -> float:
        """CPU time so far of the daemon and the programs it ran (user + system, ms)."""
        raise NotImplementedError


class AnswerdPeer(Peer):
    """``answerd run`` with a notify socket; its JSON log goes to a file."""

    tool = "answerd"

    def __init__(self, modem: Modem, config: Path, port: str, tmp: Path, env: dict[str, str], label: str) -> None:
        super().__init__(modem)
        self.config = config
        self.port = port
        self.log = tmp / f"{port}-{label}.log"
        self.notify = NotifyListener(tmp / f"{port}-{label}.notify")
        self.env = env
        self.process: AnswerdProcess | None = None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.proc.pid

    def start(self) -> int:
        self.process = AnswerdProcess.start(self.config, self.port, self.notify.path, self.log, env=self.env)
        return self.process.t_exec

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()

    def close(self) -> None:
        """Close the notify socket."""
        self.notify.close()

    def cpu_ms(self) -> float:
        """answerd's own CPU time plus its reaped children's (the stand-in programs), from /proc."""
        snap = cpu_snapshot(self.pid)
        ticks = snap["utime_ticks"] + snap["stime_ticks"] + snap["cutime_ticks"] + snap["cstime_ticks"]
        return ticks * 1000 / os.sysconf("SC_CLK_TCK")

    def describe_failure(self) -> str:
        tail = self.process.tail() if self.process else ""
        return f"\n--- answerd log tail ---\n{tail}\n--- notify ---\n{[m for _, m in self.notify.messages[-10:]]}"


class MgettyPeer(Peer):
    """``/usr/sbin/mgetty PORT``, respawned the moment it exits."""

    tool = "mgetty"

    def __init__(self, modem: Modem, port: str, logdir: Path) -> None:
        super().__init__(modem)
        self.port = port
        self.logdir = logdir
        self.respawner: Respawner | None = None

    @property
    def pid(self) -> int:
        assert self.respawner is not None
        return self.respawner.pid

    def start(self) -> int:
        self.respawner = Respawner(self.port)
        self.respawner.start()
        return self.respawner.starts[-1]

    async def stop(self) -> None:
        if self.respawner is not None:
            await self.respawner.stop()

    def cpu_ms(self) -> float:
        """CPU time of every mgetty this process has reaped (each one ends as the stand-in program it exec'd)."""
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return (usage.ru_utime + usage.ru_stime) * 1000

    def describe_failure(self) -> str:
        log = self.logdir / f"mg_{self.port}.log"
        with contextlib.suppress(OSError):
            return "\n--- mgetty log tail ---\n" + "\n".join(log.read_text(errors="replace").splitlines()[-25:])
        return ""


# ------------------------------------------------------------------------------------------ measuring


@dataclass
class InitSequence:
    """The commands a daemon sends from open to idle, learned from its first start."""

    commands: list[str] = field(default_factory=list)


async def learn_init(modem: Modem, t_exec: int, timeout: float) -> list[str]:
    """Wait for the first command after ``t_exec``, then until the line is quiet for QUIET_S; return them."""
    await modem.wait_until(lambda: any(t > t_exec for t, _ in modem.commands), timeout, "first AT command")
    while True:
        last = max(t for t, _ in modem.commands)
        quiet_for = (now_ns() - last) / 1e9
        if quiet_for >= QUIET_S:
            return [c for t, c in modem.commands if t > t_exec]
        await asyncio.sleep(QUIET_S - quiet_for + 0.01)


async def wait_init_done(modem: Modem, after: int, seq: list[str], timeout: float) -> dict[str, Any]:
    """Wait until the modem has answered the whole init sequence after ``after``; return its timing.

    Returns ``t_first_at`` (first command), ``t_done`` (the reply to the last command), ``modem_response_ns``
    (sum of the modem's own command → reply times) and ``commands`` (what was received, to check it matches).
    """
    await modem.wait_until(lambda: modem.replies_through(after, seq) is not None, timeout, "the whole init sequence")
    replies = modem.replies_through(after, seq) or []
    t_done = replies[-1][0]
    cmds = [(t, c) for t, c in modem.commands if after < t <= t_done]
    response = 0
    for t_reply, text in replies:
        t_cmd = max((t for t, c in cmds if c == text and t <= t_reply), default=t_reply)
        response += t_reply - t_cmd
    return {"t_first_at": cmds[0][0] if cmds else t_done, "t_done": t_done, "modem_response_ns": response,
            "commands": [c for _, c in cmds]}  # fmt: skip


def ms(delta_ns: int | None) -> float | None:
    """ns → ms (µs precision); ``None`` stays ``None``."""
    return None if delta_ns is None else round(delta_ns / 1e6, 3)


def sub(a: int | None, b: int | None) -> int | None:
    """a - b unless either is missing."""
    return None if a is None or b is None else a - b


async def startup(peer: Peer, seq: list[str] | None, timeout: float) -> tuple[dict[str, Any], list[str]]:
    """Start the daemon and wait until it is ready; return the start-up timings and the init sequence."""
    modem = peer.modem
    modem.t_first_rx = None
    t_exec = peer.start()
    if seq is None:
        seq = await learn_init(modem, t_exec, timeout)
    init = await wait_init_done(modem, t_exec, seq, timeout)
    out: dict[str, Any] = {
        "exec_to_first_rx_ms": ms(sub(modem.t_first_rx, t_exec)),
        "exec_to_first_at_ms": ms(init["t_first_at"] - t_exec),
        "exec_to_init_done_ms": ms(init["t_done"] - t_exec),
        "modem_response_ms": ms(init["modem_response_ns"]),
        "init_commands": init["commands"],
    }
    if isinstance(peer, AnswerdPeer):
        start = next((i for i, (t, _) in enumerate(peer.notify.messages) if t >= t_exec), len(peer.notify.messages))
        _, t_ready = await peer.notify.wait_for("READY=1", start, timeout)
        out["exec_to_ready_ms"] = ms(t_ready - t_exec)
        out["ready_overhead_ms"] = ms(t_ready - t_exec - init["modem_response_ns"])
    else:
        out["ready_overhead_ms"] = ms(init["t_done"] - t_exec - init["modem_response_ns"])
    return out, seq


async def one_call(peer: Peer, seq: list[str], timeout: float) -> dict[str, Any]:
    """Ring, follow the call to its end, then wait until the line is ready again; return the timings (ms)."""
    modem = peer.modem
    call: CallTimes = modem.ring()
    await modem.wait_until(lambda: call.t_end is not None, timeout, "end of the call (stand-in program)")
    assert call.t_end is not None
    init = await wait_init_done(modem, call.t_end, seq, timeout)
    out: dict[str, Any] = {
        "ring_to_ata_ms": ms(sub(call.t_ata, call.t_ring)),
        "connect_to_first_byte_ms": ms(sub(call.t_first_byte, call.t_connect)),
        "connect_to_prompt_ms": ms(sub(call.t_prompt, call.t_connect)),
        "name_to_program_ms": ms(sub(call.t_program, call.t_name)),
        "end_to_first_at_ms": ms(init["t_first_at"] - call.t_end),
        "end_to_ready_ms": ms(init["t_done"] - call.t_end),
        "rings": call.rings,
        "init_ok": init["commands"] == seq,
    }
    if isinstance(peer, MgettyPeer):
        assert peer.respawner is not None
        respawn = next((t for t in peer.respawner.starts if t > call.t_end), None)
        exited = next((t for t, _ in peer.respawner.exits if t > call.t_end), None)
        out["end_to_exit_seen_ms"] = ms(sub(exited, call.t_end))
        out["end_to_respawn_exec_ms"] = ms(sub(respawn, call.t_end))
        out["respawn_exec_to_first_at_ms"] = ms(sub(init["t_first_at"], respawn))
    else:
        assert isinstance(peer, AnswerdPeer)
        waiting = next((t for t, m in peer.notify.messages if t > call.t_end and m == "STATUS=waiting for RING"), None)
        out["end_to_status_waiting_ms"] = ms(sub(waiting, call.t_end))
    return out


async def run_peer(
    peer: Peer, pass_name: str, opts: SingleLineOptions, progress: Callable[[str], None]
) -> dict[str, Any]:
    """Start-up, N calls, and (``zero`` pass) memory, idle and extra start-ups for one daemon."""
    out: dict[str, Any] = {"startups": [], "calls": [], "memory": {}}
    try:
        first, seq = await startup(peer, None, opts.step_timeout_s)
        out["startups"].append(first)
        out["init_sequence"] = seq
        progress(f"{peer.tool}/{pass_name}: init sequence {seq}; start-up {first}")
        out["memory"]["after_start"] = memory_snapshot(peer.pid)
        cpu_before = peer.cpu_ms()
        for index in range(opts.calls):
            await asyncio.sleep(opts.gap_s)
            call = await one_call(peer, seq, opts.step_timeout_s)
            out["calls"].append(call)
            progress(f"{peer.tool}/{pass_name} call {index + 1}/{opts.calls}: {call}")
        out["cpu_ms_per_call"] = round((peer.cpu_ms() - cpu_before) / max(1, opts.calls), 2)
        if pass_name == "zero":
            await asyncio.sleep(opts.gap_s)
            out["memory"]["idle_after_calls"] = memory_snapshot(peer.pid)
            if opts.idle_seconds > 0:
                pid = peer.pid
                progress(f"{peer.tool}: idle {opts.idle_seconds} s (pid {pid}) ...")
                out["idle"] = await measure_idle(pid, opts.idle_seconds)
                out["idle"]["same_process"] = peer.pid == pid
                out["idle"]["commands_during"] = len(peer.modem.commands)
                out["memory"]["idle_after_idle"] = memory_snapshot(pid)
        await peer.stop()
        if pass_name == "zero":
            for _ in range(opts.startups - 1):
                await asyncio.sleep(0.3)
                extra, _ = await startup(peer, seq, opts.step_timeout_s)
                out["startups"].append(extra)
                progress(f"{peer.tool}: start-up {extra}")
                await peer.stop()
    except ModemError as exc:
        raise ModemError(f"{exc}{peer.describe_failure()}") from None
    finally:
        await peer.stop()
    return out


def answerd_env(pycache: Path | None) -> dict[str, str]:
    """The daemon's environment: compiled bytecode cached (as an installed package has it), no watchdog."""
    env = dict(os.environ)
    for key in ("WATCHDOG_USEC", "WATCHDOG_PID", "PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX"):
        env.pop(key, None)
    if pycache is not None:
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    return env


async def run_single_line(opts: SingleLineOptions, progress: Callable[[str], None]) -> dict[str, Any]:
    """Every pass for both daemons; the raw results."""
    results: dict[str, Any] = {}
    tag = f"{os.getpid()}"
    env = answerd_env(opts.pycache)
    with tempfile.TemporaryDirectory(prefix="answerd-bench-") as tmpdir:
        tmp = Path(tmpdir)
        issue = tmp / "issue.mgetty"
        issue.write_text(ISSUE.format(tool="mgetty").replace(r"\n", "\n").lstrip("\n"))
        for pass_name in opts.passes:
            results[pass_name] = {}
            # answerd
            link = Path(f"/dev/ttyBNa{tag}")
            fifo = tmp / f"answerd-{pass_name}.fifo"
            modem = Modem(link, fifo)
            try:
                config = tmp / f"answerd-{pass_name}.toml"
                write_answerd_config(config, f"bna{tag}", answerd_settings(pass_name, link, fifo))
                peer_a = AnswerdPeer(modem, config, f"bna{tag}", tmp, env, pass_name)
                try:
                    results[pass_name]["answerd"] = await run_peer(peer_a, pass_name, opts, progress)
                finally:
                    peer_a.close()
            finally:
                modem.close()
            if not opts.mgetty:
                continue
            # mgetty
            port = f"ttyBNm{tag}"
            fifo = tmp / f"mgetty-{pass_name}.fifo"
            modem = Modem(Path("/dev") / port, fifo)
            write_mgetty_config(Path("/etc/mgetty"), mgetty_settings(pass_name, issue), standin_argv(fifo))
            peer_m = MgettyPeer(modem, port, Path("/var/log/mgetty"))
            try:
                results[pass_name]["mgetty"] = await run_peer(peer_m, pass_name, opts, progress)
            finally:
                modem.close()
                with contextlib.suppress(FileNotFoundError):
                    Path(f"/var/lock/LCK..{port}").unlink()
    return results


# ------------------------------------------------------------------------------------------ imports


def _best_wall(argv: list[str], env: dict[str, str], runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        best = min(best, time.perf_counter() - t0)
    return round(best * 1000, 2)


def _importtime(code: str, env: dict[str, str]) -> list[tuple[str, int, int, int]]:
    """(module, self µs, cumulative µs, depth) for every import of ``python -X importtime -c code``."""
    argv = [answerd_python(), "-X", "importtime", "-c", code]
    err = subprocess.run(argv, check=True, cwd=REPO, env=env, capture_output=True, text=True).stderr
    entries = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        self_us, cum_us, name = line.removeprefix("import time:").split("|", 2)
        depth = (len(name) - len(name.lstrip()) - 1) // 2
        entries.append((name.strip(), int(self_us), int(cum_us), depth))
    return entries


#: Top-level packages whose import cost is reported on its own (self times summed, leading "_" ignored).
IMPORT_GROUPS = (
    "answerd",
    "pydantic",
    "pydantic_core",
    "structlog",
    "rich",
    "pygments",
    "asyncio",
    "ssl",
    "email",
    "importlib",
    "serial",
    "serial_asyncio",
    "systemd",
    "tomllib",
    "annotated_types",
    "typing_extensions",
)


#: What ``answerd run`` imports, in its order (answerd.cli._cmd_run): the CLI and the configuration (pydantic),
#: then the daemon with ssl and rich kept out.
RUN_PATH_IMPORTS = (
    "import answerd.cli as cli; cli._keep_out_unused_modules(); "
    "import asyncio, answerd.service.daemon, answerd.service.journal, answerd.service.notify"
)


#: Every module an answerd process loads, to compile their .pyc files once.
WARM_IMPORTS = (
    "import answerd.cli, answerd.service.daemon, answerd.service.journal, answerd.service.notify, answerd.sim.cli"
)


def measure_imports(pycache: Path | None, runs: int = 5) -> dict[str, Any]:
    """Interpreter start-up and the import cost of ``answerd run`` (bytecode cached): wall time, ``-X importtime``."""
    env = answerd_env(pycache)
    code = RUN_PATH_IMPORTS
    _importtime(code, env)  # warm: write the .pyc files, fill the page cache
    best: list[tuple[str, int, int, int]] | None = None
    for _ in range(runs):
        entries = _importtime(code, env)
        if best is None or sum(e[1] for e in entries) < sum(e[1] for e in best):
            best = entries
    assert best is not None
    bare = {e[0] for e in _importtime("pass", env)}
    own = [e for e in best if e[0] not in bare]
    top = [e for e in best if e[3] == 1 and e[0] not in bare]  # imported directly by the run path's statement
    heavy = sorted((e for e in own if e[3] <= 2), key=lambda e: -e[2])[:12]
    by_package: dict[str, int] = {}
    for name, self_us, _, _ in own:
        package = name.split(".")[0].lstrip("_")
        package = package if package in IMPORT_GROUPS else "other (stdlib, typing, site, ...)"
        by_package[package] = by_package.get(package, 0) + self_us
    return {
        "by_package_self_ms": {k: round(v / 1000, 2) for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])},
        "wall_ms_python_pass": _best_wall([answerd_python(), "-c", "pass"], env, runs),
        "wall_ms_import_run_path": _best_wall([answerd_python(), "-c", code], env, runs),
        "wall_ms_answerd_version": _best_wall([answerd_python(), "-m", "answerd", "--version"], env, runs),
        "importtime_ms_total_run_path": round(sum(e[1] for e in own) / 1000, 2),
        "importtime_direct": [{"module": n, "cumulative_ms": round(c / 1000, 2)} for n, _, c, _ in top],
        "importtime_heaviest": [
            {"module": n, "self_ms": round(s / 1000, 2), "cumulative_ms": round(c / 1000, 2), "depth": d}
            for n, s, c, d in heavy
        ],
    }


def mgetty_binary_info() -> dict[str, Any]:
    """Size and linkage of the mgetty binary (it has no interpreter to start)."""
    path = Path("/usr/sbin/mgetty")
    libs = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False).stdout
    return {"size_bytes": path.stat().st_size, "ldd": [line.split()[0] for line in libs.splitlines() if line]}


def to_jsonable(value: Any) -> Any:
    """Dataclasses and paths for ``json.dumps(default=...)``."""
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "__dataclass_fields__"):
        return asdict(value)
    raise TypeError(type(value))
