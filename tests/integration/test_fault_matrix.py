"""Issue 14's fault matrix: each fault the simulated modem (or the test) can make, and what answerd must do.

Every test states the outcome the matrix in ``docs/reliability.md`` promises: the line back to ready (or the
documented exit code), one clear log record for the fault, no orphan process, no leaked fd (``/proc/PID/fd``
counted at the same idle state before and after), no stale lock, and memory bounded where a fault sends a lot.
Faults that already had a test elsewhere are not repeated here; the matrix points to those.
"""

from __future__ import annotations

import asyncio
import grp
import os
import signal
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import structlog

from answerd.config import load_config
from answerd.service.daemon import REOPEN_PATIENCE_S, PortDaemon
from bench.common import toml_value
from tests.helpers import LCP_CONFIGURE_REQUEST, alive, make_program, ran, record_of, wait_until
from tests.simline import ManualClock, RecordingNotifier, SimLine

from .harness import Bench

pytestmark = pytest.mark.integration

#: A burst of what a bad cable or a confused modem puts between results: NULs, 8-bit bytes, an escape
#: sequence, a half line with no terminator (TOML basic-string escapes: one character is one byte).
NOISE = r"\u0000\u0000\u00ff\u0080\u00e9garbage\u001b[2J\u0007\r\nHALF"


@dataclass(frozen=True)
class Vitals:
    """What a leak would show, read from ``/proc`` and the lock directory at an idle moment."""

    fds: int
    rss_kib: int
    children: tuple[int, ...]
    locks: tuple[str, ...]


def vitals(bench: Bench, lock_dir: Path) -> Vitals:
    """The daemon's fd count, RSS and children, and the lock files (the idle line gives its lock back)."""
    assert bench.daemon is not None
    pid = bench.daemon.pid
    wait_until(lambda: not os.listdir(lock_dir), 5.0, "the idle line to give its lock back")
    # Looked at once, now: noise still arriving on the idle line makes answerd claim it (lock taken, read,
    # given back) at any later moment, and a lock caught then is not a stale one.
    locks = tuple(sorted(os.listdir(lock_dir)))
    status = Path(f"/proc/{pid}/status").read_text()
    rss = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmRSS:"))
    children = tuple(
        int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()
    )
    return Vitals(settled_fd_count(pid), rss, children, locks)


def settled_fd_count(pid: int) -> int:
    """``pid``'s open fds, the fewest seen until three looks 10 ms apart agree (1 s at most).

    The state file is replaced a loop turn after the idle status is logged: the new file open, the old one not
    yet closed, for a moment (longer when the daemon is preempted). A leaked fd stays in every look.
    """
    looks = [len(os.listdir(f"/proc/{pid}/fd"))]
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and not (len(looks) >= 3 and len(set(looks[-3:])) == 1):
        time.sleep(0.01)
        looks.append(len(os.listdir(f"/proc/{pid}/fd")))
    return min(looks)


def assert_recovered(bench: Bench, lock_dir: Path, before: Vitals, *, rss_slack_kib: int = 4096) -> Vitals:
    """The daemon still runs, at idle, with the same fds, no children, no lock, RSS within the slack."""
    assert bench.daemon is not None
    assert bench.daemon.poll() is None, "the daemon exited"
    after = vitals(bench, lock_dir)
    assert (before.fds, (), ()) == (after.fds, after.children, after.locks)
    assert after.rss_kib - before.rss_kib < rss_slack_kib, (before, after)
    assert bench.log is not None
    assert [] == [line for line in bench.log.raw if "Traceback" in line]
    return after


def sim_profile(tmp: Path, name: str, text: str) -> list[str]:
    """``answerd sim`` arguments for a profile file with ``text`` as its TOML."""
    path = tmp / f"{name}.toml"
    path.write_text(text)
    return ["--profile", str(path)]


def noise_profile(data: str, *, after_s: float, length: int = 0, repeat: int = 1, interval_s: float = 0.0) -> str:
    """A ``[[faults.line_noise]]`` table."""
    return (f'[[faults.line_noise]]\nafter_s = {after_s}\ndata = "{data}"\nlength = {length}\nrepeat = {repeat}\n'
            f"interval_s = {interval_s}\n")  # fmt: skip


@pytest.fixture(name="locks")
def _locks(tmp_path: Path) -> Path:
    path = tmp_path / "locks"
    path.mkdir()
    return path


def fault_bench(make_bench: Callable[..., Bench], locks: Path, sim_args: list[str], **port: Any) -> Bench:
    """A started bench whose port locks in ``locks`` and runs ``/bin/true`` on each answered call."""
    settings: dict[str, Any] = {"mode": "direct", "direct_program": ["/bin/true"], "rings": 1, **port}
    return make_bench(sim_args, lock_dir=str(locks), **settings)


def answered_call(bench: Bench) -> dict[str, Any]:
    """One call in; the ``call.ended`` record once the port is idle again."""
    mark = bench.mark()
    caller = bench.dial()
    ended = bench.ended(mark)
    caller.hang_up()
    return ended


# ------------------------------------------------------------------------------------ the modem misbehaves


class TestModemText:
    def test_echo_stuck_on_after_ate0_still_answers(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
    ) -> None:
        """A modem that goes on echoing after ATE0: init succeeds, the echoes are not results, calls answered."""
        bench = fault_bench(make_bench, locks, sim_profile(tmp_path, "echo", "[faults]\necho_stuck = true\n"))
        before = vitals(bench, locks)
        assert "answered" == answered_call(bench)["outcome"]
        assert "answered" == answered_call(bench)["outcome"]
        assert_recovered(bench, locks, before)
        # The fault was there: ATA (sent long after ATE0) came back, and was taken for the echo it is.
        assert ("Echo", "ATA") in [(r["kind"], r["line"]) for r in bench.events("modem.line")]

    def test_noise_nuls_and_half_lines_between_results_are_survived(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
    ) -> None:
        """NULs, 8-bit bytes, escapes and half lines every 50 ms through init and calls: still answered, logs clean."""
        profile = noise_profile(NOISE, after_s=0.0, repeat=400, interval_s=0.05)
        bench = fault_bench(make_bench, locks, sim_profile(tmp_path, "noise", profile))
        before = vitals(bench, locks)
        outcomes = {answered_call(bench)["outcome"] for _ in range(3)}
        assert {"answered"} == outcomes
        assert_recovered(bench, locks, before)
        assert bench.log is not None
        assert not any(c in line for line in bench.log.raw for c in ("\x00", "\x1b", "\x07", "\xff"))
        # The noise reached answerd, as lines of no known kind with the unprintable bytes left out.
        assert any(r["kind"] == "Unknown" and "garbage" in r["line"] for r in bench.events("modem.line"))

    def test_a_1_mib_line_with_no_terminator_is_dropped_in_bounded_memory(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
    ) -> None:
        """1 MiB with no CR/LF while idle: RSS grows < 4 MiB, one modem.garbage record, the next call answered."""
        profile = noise_profile("X", after_s=1.0, length=1024 * 1024)
        bench = fault_bench(make_bench, locks, sim_profile(tmp_path, "long", profile))
        before = vitals(bench, locks)
        bench.wait_event("port.line_claimed", reason="input")  # the line has started arriving
        settled(lambda: len(bench.events("port.line_claimed")))  # ... and has all been read
        assert [] == bench.events("modem.garbage")  # no terminator yet: nothing to report, nothing kept
        assert "answered" == answered_call(bench)["outcome"]  # the RING's CR LF ends the line
        (garbage,) = bench.events("modem.garbage")
        assert garbage["dropped"] >= 1024 * 1024 - 4096
        assert_recovered(bench, locks, before)

    def test_ring_storm_with_nobody_calling_leaves_the_line_answering(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
    ) -> None:
        """3,000 RINGs a second for 10 s and no caller: answers that find nobody, then a real call is answered."""
        profile = noise_profile(r"\r\nRING\r\n", after_s=0.5, length=240, repeat=1000, interval_s=0.01)
        profile += "[timings]\nidle_answer_timeout_s = 0.2\n"
        bench = fault_bench(make_bench, locks, sim_profile(tmp_path, "storm", profile))
        assert bench.daemon is not None
        before = vitals(bench, locks)
        cpu_before = _cpu_s(bench.daemon.pid)
        wait_until(lambda: len(bench.events("call.ended")) >= 1, 20, "the storm's first phantom call")
        settled(bench.mark, quiet_s=1.0)  # the storm ran its course on the sim's own clock
        storm_calls = bench.events("call.ended")
        assert {"no-connect"} >= {r["outcome"] for r in storm_calls}, storm_calls[:3]
        assert "waiting for RING" == bench.events("port.status")[-1]["status"]
        record = answered_call(bench)
        assert "answered" == record["outcome"]
        assert_recovered(bench, locks, before)
        print(f"storm: {len(storm_calls)} phantom calls, daemon CPU {_cpu_s(bench.daemon.pid) - cpu_before:.2f} s")

    @pytest.mark.parametrize("result", ["NO CARRIER", "BUSY"])
    def test_no_carrier_or_busy_while_answering_is_no_connect(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path, result: str
    ) -> None:
        """ATA answered with NO CARRIER or BUSY: the call is no-connect, the caller dropped, the line ready."""
        bench = fault_bench(make_bench, locks, ["--answer-result", result])
        before = vitals(bench, locks)
        mark = bench.mark()
        caller = bench.dial()
        ended = bench.ended(mark)
        caller.wait_dropped()
        assert "no-connect" == ended["outcome"]
        assert_recovered(bench, locks, before)

    def test_error_to_every_init_command_exits_69(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
    ) -> None:
        """ERROR to every command: init is retried, then one modem.failed record and exit 69; no lock left."""
        bench = make_bench(["--error-first", "1000000"], start=False, lock_dir=str(locks), init_retries=2)
        bench.start_sim()
        bench.start_daemon()
        assert bench.daemon is not None
        assert 69 == bench.daemon.wait(30)
        assert [("modem-init-failed")] == [r["reason"] for r in bench.events("modem.failed")]
        assert [] == os.listdir(locks)
        assert bench.log is not None
        assert [] == [line for line in bench.log.raw if "Traceback" in line]

    def test_modem_ignoring_dtr_is_hung_up_by_the_escape_and_ath(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
    ) -> None:
        """A modem that ignores DTR stays online after the call: the hang-up's +++ and ATH0 drop the caller."""
        bench = fault_bench(make_bench, locks, sim_profile(tmp_path, "dtr", "[faults]\ndtr_ignored = true\n"))
        before = vitals(bench, locks)
        mark = bench.mark()
        caller = bench.dial()
        bench.wait_event("call.ended", start=mark)
        # A pty has no DCD: DTR low proves nothing, so the hang-up escapes (real lines: DCD still up does it).
        bench.wait_event("call.hangup.escape", start=mark)
        caller.wait_dropped(timeout=30)
        bench.wait_event("modem.init.ok", start=mark, timeout=30)
        sends = bench.sends(mark)
        assert sends.index("+++") < sends.index("ATH0\\r")
        assert "answered" == answered_call(bench)["outcome"]
        assert_recovered(bench, locks, before)


def settled(count: Callable[[], int], quiet_s: float = 0.5, timeout_s: float = 60.0) -> None:
    """Wait until ``count()`` has not changed for ``quiet_s`` (a flood that gives no end-of-flood event)."""
    deadline = time.monotonic() + timeout_s
    last, since = count(), time.monotonic()
    while time.monotonic() - since < quiet_s:
        assert time.monotonic() < deadline, "the flood did not end"
        time.sleep(0.05)
        if (now := count()) != last:
            last, since = now, time.monotonic()


def _cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# ------------------------------------------------------------------------------------ the caller misbehaves


class TestCaller:
    @pytest.mark.parametrize(
        ("typed", "login_timeout_s", "outcome"),
        [(b"A" * (1024 * 1024), 20.0, "carrier-lost"), (b"", 0.5, "login-timeout")],
        ids=["flood-1-MiB-then-hang-up", "nothing"],
    )
    def test_a_caller_who_floods_or_sends_nothing_at_the_prompt_runs_no_program(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path, typed: bytes, login_timeout_s: float,
        outcome: str,
    ) -> None:  # fmt: skip
        """1 MiB typed without Enter, then a hang-up: carrier-lost, RSS grows < 4 MiB. Nothing typed: the caller
        is hung up at the login timeout. Either way no program runs and the line is ready again."""
        login = make_program(tmp_path / "bin", "login")
        bench = make_bench(lock_dir=str(locks), login_program=[str(login), "--", "{user}"],
                           login_timeout_s=login_timeout_s)  # fmt: skip
        before = vitals(bench, locks)
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"login: ")
        if typed:
            caller.send(typed)
            caller.hang_up()
        else:
            caller.wait_dropped()
        ended = bench.ended(mark, timeout=30)
        assert (outcome, None) == (ended["outcome"], ended["user"])
        assert not ran(login)
        assert_recovered(bench, locks, before)

    def test_a_ppp_frame_then_carrier_loss_runs_nothing(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
    ) -> None:
        """pppd's first frame at a prompt with no PPP rule, then the line drops: no-ppp-rule, nothing leaked."""
        login = make_program(tmp_path / "bin", "login")
        bench = make_bench(lock_dir=str(locks), login_program=[str(login), "--", "{user}"])
        before = vitals(bench, locks)
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.send(LCP_CONFIGURE_REQUEST)
        caller.hang_up()
        assert "no-ppp-rule" == bench.ended(mark)["outcome"]
        assert not ran(login)
        assert_recovered(bench, locks, before)


# ------------------------------------------------------------------------------------ the program misbehaves


def holding_bench(make_bench: Callable[..., Bench], tmp_path: Path, locks: Path) -> tuple[Bench, Path]:
    """Direct mode with a stand-in program that says RECORDED and holds the line until hang-up."""
    program = make_program(tmp_path / "bin", "session", hold=1)
    return fault_bench(make_bench, locks, [], direct_program=[str(program)]), program


class TestProgramSignals:
    @pytest.mark.parametrize(
        ("sig", "outcome"),
        [(signal.SIGTERM, "program-error"), (signal.SIGKILL, "program-error"), (signal.SIGHUP, "carrier-lost")],
    )
    def test_the_program_killed_mid_session_ends_the_call(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path, sig: signal.Signals, outcome: str
    ) -> None:
        """The program dies of a signal mid-session: the record names it (SIGHUP is a hang-up), the line is ready."""
        bench, program = holding_bench(make_bench, tmp_path, locks)
        before = vitals(bench, locks)
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"RECORDED")
        pid = record_of(program)["pid"]
        os.kill(pid, sig)
        ended = bench.ended(mark)
        caller.wait_dropped()
        assert (outcome, sig.name) == (ended["outcome"], ended["signal"])
        assert not alive(pid)
        assert_recovered(bench, locks, before)

    def test_a_stopped_program_is_ended_when_the_caller_hangs_up(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
    ) -> None:
        """SIGSTOP on the program, then the caller hangs up: answerd still ends the session, no orphan remains."""
        bench, program = holding_bench(make_bench, tmp_path, locks)
        before = vitals(bench, locks)
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"RECORDED")
        pid = record_of(program)["pid"]
        os.kill(pid, signal.SIGSTOP)
        caller.hang_up()
        ended = bench.ended(mark, timeout=30)
        assert "carrier-lost" == ended["outcome"]
        wait_until(lambda: not alive(pid), 10, "the stopped program to be gone")
        assert_recovered(bench, locks, before)


# ------------------------------------------------------------------------------------ the device goes away


class TestDeviceGoneMidCall:
    def test_the_modem_vanishing_mid_call_then_coming_back_is_answered_again(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
    ) -> None:
        """The sim dies mid-call (EIO, then the pty gone): the call ends, answerd waits, reopens a new one."""
        bench, program = holding_bench(make_bench, tmp_path, locks)
        assert bench.sim is not None
        before = vitals(bench, locks)
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"RECORDED")
        pid = record_of(program)["pid"]
        bench.sim.kill()
        bench.sim.wait()
        wait_until(lambda: not alive(pid), 10, "the program to be hung up")
        bench.link.unlink(missing_ok=True)  # SIGKILL left the sim's link dangling
        bench.start_sim()  # the device comes back within REOPEN_PATIENCE_S (a new pty under the same link)
        _, ended = bench.wait_event("call.ended", start=mark, timeout=30)
        assert "carrier-lost" == ended["outcome"], ended
        bench.wait_event("port.status", start=mark, status="waiting for RING", timeout=30)
        caller.hang_up()
        second = bench.dial()
        second.read_until(b"RECORDED")
        second.hang_up()
        bench.wait_event("call.ended", call_id=ended["call_id"] + 1)
        bench.wait_event("port.status", start=bench.mark() - 1, status="waiting for RING")
        assert_recovered(bench, locks, before)


# ------------------------------------------------------------------------------------ answerd itself dies


def killed_mid_call(make_bench: Callable[..., Bench], tmp_path: Path, locks: Path) -> tuple[Bench, Any, int]:
    """A call up with a program holding the tty; answerd SIGKILLed, its lock left behind (not restarted).

    Returns the bench, the caller still on the line, and the pid of the call's program (the leftover session).
    """
    bench, program = holding_bench(make_bench, tmp_path, locks)
    assert bench.daemon is not None
    caller = bench.dial()
    caller.read_until(b"RECORDED")
    leftover = record_of(program)["pid"]
    bench.daemon.kill()
    bench.daemon.wait()
    return bench, caller, leftover


def killed_mid_call_and_restarted(
    make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
) -> tuple[Bench, Any, int]:
    """:func:`killed_mid_call`, the lock checked to name the leftover session, then answerd started again."""
    bench, caller, leftover = killed_mid_call(make_bench, tmp_path, locks)
    assert bench.notify is not None
    assert [f"{leftover:10d}\n"] == [(locks / name).read_text() for name in os.listdir(locks)]  # the session's
    bench.notify.close()
    bench.notify.path.unlink()
    bench.start_daemon()
    bench.notify.wait_for("READY=1", 30)
    return bench, caller, leftover


class TestDaemonKilledMidCall:
    def test_the_restarted_daemon_hangs_up_the_leftover_session(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
    ) -> None:
        """The killed answerd's call's program still holds the tty: the restart hangs it up, reclaims the stale
        lock, sets the device's owner and mode from the configuration and answers the next call."""
        bench, caller, leftover = killed_mid_call_and_restarted(make_bench, tmp_path, locks)
        try:
            _, record = bench.wait_event("port.leftover_session_hung_up", pid=leftover, timeout=20)
        finally:
            if alive(leftover):
                os.kill(leftover, signal.SIGKILL)
        assert (False, False) == (record["killed"], alive(leftover))  # SIGHUP was enough, no SIGKILL needed
        assert "done" == record["vhangup"]  # root, as the unit runs it
        assert [] == bench.events("port.line_in_use")  # never waited for as a dial-out
        caller.wait_dropped(timeout=30)  # the re-initialisation hangs the modem up
        bench.wait_event("port.status", status="waiting for RING", timeout=30)
        device = os.stat(os.path.realpath(bench.link))
        assert (0o660, 0, grp.getgrnam("dialout").gr_gid) == (device.st_mode & 0o7777, device.st_uid, device.st_gid)
        second = bench.dial()
        second.read_until(b"RECORDED")
        second.hang_up()
        bench.wait_event("call.ended")
        after = vitals(bench, locks)
        assert ((), ()) == (after.locks, after.children)

    def test_a_dial_out_holding_the_line_at_restart_is_waited_for_not_hung_up(
        self, make_bench: Callable[..., Bench], tmp_path: Path, locks: Path
    ) -> None:
        """The killed answerd's call ended by itself and a dial-out (cu) took the line before the restart: its
        lock is honoured, although the dead daemon's state file still names the call's program."""
        bench, caller, leftover = killed_mid_call(make_bench, tmp_path, locks)
        assert bench.notify is not None
        caller.hang_up()  # the carrier drops: the leftover session ends by itself
        wait_until(lambda: not alive(leftover), 15, "the leftover session to end")
        device = os.path.realpath(bench.link)
        with open(device, "rb", buffering=0) as _dialout_tty:  # a cu: the tty open, its lock written
            dialout = subprocess.Popen(["sleep", "600"])
            try:
                lock = locks / f"LCK..{Path(device).name}"
                lock.write_text(f"{dialout.pid:10d}\n")
                bench.notify.close()
                bench.notify.path.unlink()
                bench.start_daemon()
                bench.wait_event("port.line_in_use", holder=dialout.pid, timeout=20)
                bench.notify.wait_for(f"STATUS=line in use by pid {dialout.pid} (dial-out), waiting", 10)
                assert alive(dialout.pid)
                assert [] == bench.events("port.leftover_session_hung_up")
                assert [] == bench.events("modem.send")  # the modem is the dial-out's
            finally:
                dialout.kill()
                dialout.wait()
        lock.unlink(missing_ok=True)  # cu removes its lock on the way out
        bench.wait_event("modem.init.ok", timeout=30)
        second = bench.dial()
        second.read_until(b"RECORDED")
        second.hang_up()
        bench.wait_event("call.ended")


# ------------------------------------------------------------------------------------ in-process, clock jumped


class InProcessLine:
    """The real PortDaemon on the sim's core with a manual clock (tests/simline.py): deadlines are jumped."""

    def __init__(self, tmp: Path) -> None:
        self.locks = tmp / "locks-inproc"
        self.locks.mkdir()
        config = tmp / "inproc.toml"
        settings = {"lock_dir": str(self.locks), "nologin_file": str(tmp / "nologin"), "modem_control": "none",
                    "dtr_drop_ms": 50, "rings": 2, "chat_timeout_s": 3.0}  # fmt: skip
        config.write_text("[ports.sim0]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in settings.items()))
        self.clock = ManualClock()
        self.line = SimLine(self.clock)
        self.notifier = RecordingNotifier()
        self.daemon = PortDaemon(
            "sim0", load_config(str(config)).port("sim0"), notifier=self.notifier, config_path=str(config),
            port_factory=self.line.open, clock=self.clock, verdict_dir=str(tmp),
        )  # fmt: skip


class TestDeviceGoneForGood:
    def test_a_device_gone_past_the_reopen_patience_exits_69_and_frees_the_lock(self, tmp_path: Path) -> None:
        """The device vanishes mid-ring and stays away: after REOPEN_PATIENCE_S one port.open_failed, exit 69."""

        async def scenario() -> None:
            bench = InProcessLine(tmp_path)
            task = asyncio.get_running_loop().create_task(bench.daemon.run())
            await bench.clock.advance(1.0)
            assert "READY=1" in bench.notifier.messages
            with structlog.testing.capture_logs() as logs:
                bench.line.present = False
                bench.line.call()
                await bench.clock.advance(1.0)
                assert "waiting for /dev/sim0 to come back" in bench.notifier.statuses
                await bench.clock.advance(REOPEN_PATIENCE_S + 5.0)
                code = await asyncio.wait_for(task, 10)
            assert 69 == code
            assert ["port.open_failed"] == [e["event"] for e in logs if e["log_level"] == "error"]
            assert [] == os.listdir(bench.locks)

        asyncio.run(scenario())
