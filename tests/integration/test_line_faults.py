"""The line going wrong under a running `answerd run` (issue 10, defects 3, 8, 9), on the simulated modem.

3: a lock directory that cannot be written (read-only, or a full tmpfs, in a mount namespace of the
daemon's own); 8: the device link removed while idle; 9: SIGTERM while the device vanishes. Issue 14's fault
matrix: ``/run/utmp`` missing or unwritable (the same way: ``/run`` replaced in the daemon's namespace).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from answerd.line.owner import LOCK_RECHECK_S

from .harness import Bench

pytestmark = pytest.mark.integration

UNUSABLE_DIR = Path(__file__).with_name("unusable_dir.py")
#: How each way of breaking the lock directory shows (the lock's error), and how it is repaired.
BREAKAGES = {
    "read-only": ("cannot create a lock file: Read-only file system",
                  ["mount", "-o", "remount,rw,bind", "{dir}", "{dir}"]),
    "full": ("cannot write lock file: No space left on device", ["rm", "{dir}/filler"]),
}  # fmt: skip


def lock_name(bench: Bench) -> str:
    """The UUCP lock file name of the sim's pty (its resolved basename)."""
    return f"LCK..{Path(os.path.realpath(bench.link)).name}"


def lock_holder(lock: Path) -> int | None:
    """The pid in a UUCP lock file (ASCII, as answerd and mgetty write it), or None if there is none."""
    try:
        return int(lock.read_text().split()[0])
    except (FileNotFoundError, IndexError, ValueError):
        return None


def in_broken_namespace(breakage: str, directory: Path, *files: str) -> list[str]:
    """A daemon wrapper: the daemon runs in a mount namespace of its own where ``directory`` is broken."""
    return ["unshare", "--mount", "--propagation", "private", "--", sys.executable, str(UNUSABLE_DIR), breakage,
            str(directory), *files, "--"]  # fmt: skip


def repair(bench: Bench, breakage: str, directory: Path) -> None:
    """Make ``directory`` usable again inside the daemon's mount namespace."""
    assert bench.daemon is not None
    command = [part.format(dir=directory) for part in BREAKAGES[breakage][1]]
    subprocess.run(["nsenter", "--target", str(bench.daemon.pid), "--mount", "--", *command], check=True)


@pytest.fixture(name="needs_namespaces")
def _needs_namespaces() -> None:
    if os.geteuid() != 0:
        pytest.skip("mount namespaces need root")


class TestUnwritableLockDir:
    """Defect 3: a live lock is honoured whatever state the lock directory is in."""

    @pytest.mark.parametrize("breakage", sorted(BREAKAGES))
    def test_a_live_foreign_lock_is_honoured_when_the_lock_dir_cannot_be_written(
        self,
        make_bench: Callable[..., Bench],
        tmp_path: Path,
        sleeper: subprocess.Popen[bytes],
        needs_namespaces: None,
        breakage: str,
    ) -> None:
        """A read-only or full lock dir holding a live dial-out's lock: answerd waits, not touching the modem."""
        locks = tmp_path / "locks"
        locks.mkdir()
        bench = make_bench(start=False, lock_dir=str(locks))
        bench.start_sim()
        bench.daemon_wrapper = in_broken_namespace(breakage, locks, f"{lock_name(bench)}={sleeper.pid:10d}\n")
        bench.start_daemon()
        assert bench.notify is not None
        waiting = bench.notify.wait_for(f"STATUS=line in use by pid {sleeper.pid} (dial-out), waiting", 20)
        bench.notify.wait_for("READY=1", 5, start=waiting)  # started (waiting is its job now), not timed out
        assert [] == bench.events("modem.send")

    @pytest.mark.parametrize("breakage", sorted(BREAKAGES))
    def test_no_answer_until_its_own_lock_can_be_written(
        self, make_bench: Callable[..., Bench], tmp_path: Path, needs_namespaces: None, breakage: str
    ) -> None:
        """No lock can be written: status says why, no call is answered; once it can, it carries on by itself."""
        reason = BREAKAGES[breakage][0]
        locks = tmp_path / "locks"
        locks.mkdir()
        bench = make_bench(start=False, lock_dir=str(locks), mode="direct", direct_program=["/bin/true"], rings=1)
        bench.daemon_wrapper = in_broken_namespace(breakage, locks)
        bench.start_sim()
        bench.start_daemon()
        assert bench.notify is not None
        bench.notify.wait_for(
            f"STATUS=not answering: cannot create the UUCP lock: {reason}; retrying every {LOCK_RECHECK_S:g} s", 20
        )
        caller = bench.dial()
        repair(bench, breakage, locks)
        _, ended = bench.wait_event("call.ended", call_id=1)
        caller.hang_up()
        assert "answered" == ended["outcome"]
        assert bench.daemon is not None
        assert bench.daemon.poll() is None  # it never exited for this
        unusable_at, unusable = bench.wait_event("lock.unusable")
        assert reason in unusable["error"]
        taken_at, _ = bench.wait_event("lock.usable")
        ring_at, _ = bench.wait_event("call.ring")
        assert unusable_at < taken_at < ring_at


class TestUtmpUnusable:
    """Accounting never takes a call down: /run/utmp missing or on a read-only file system costs a warning."""

    @pytest.mark.parametrize(
        ("breakage", "files", "reason"),
        [("empty", [], "No such file or directory"), ("empty-read-only", ["utmp="], "Read-only file system")],
        ids=["missing", "unwritable"],
    )
    def test_calls_are_answered_with_one_warning_per_record_and_no_file_made(
        self, make_bench: Callable[..., Bench], tmp_path: Path, needs_namespaces: None, breakage: str,
        files: list[str], reason: str,
    ) -> None:  # fmt: skip
        """Two calls answered; each record it cannot write (login, logout) is one utmp.write_failed warning
        naming the file and why; no traceback, no error, and a missing utmp is not created."""
        locks = tmp_path / "locks"
        locks.mkdir()
        bench = make_bench(start=False, lock_dir=str(locks), mode="direct", direct_program=["/bin/true"], rings=1)
        bench.daemon_wrapper = in_broken_namespace(breakage, Path("/run"), *files)
        bench.start_sim()
        bench.start_daemon()
        assert bench.notify is not None
        bench.notify.wait_for("READY=1", 20)
        for call_id in (1, 2):
            mark = bench.mark()
            caller = bench.dial()
            _, ended = bench.wait_event("call.ended", call_id=call_id, start=mark, timeout=20)
            caller.hang_up()
            assert "answered" == ended["outcome"]
            bench.wait_event("port.status", start=mark, status="waiting for RING")
        assert bench.daemon is not None
        assert bench.daemon.poll() is None
        warnings = bench.events("utmp.write_failed")
        assert 4 == len(warnings), warnings  # the login and the logout record of each call
        assert all(w["level"] == "warning" and "/run/utmp" in w["error"] and reason in w["error"] for w in warnings)
        assert bench.log is not None
        assert [] == [r["event"] for r in bench.log.items if r.get("level") == "error"]
        assert not any("Traceback" in line for line in bench.log.raw)
        in_namespace = ["nsenter", "--target", str(bench.daemon.pid), "--mount", "--", "stat", "/run/utmp"]
        there = subprocess.run(in_namespace, check=False, capture_output=True).returncode == 0
        assert (breakage == "empty-read-only") == there  # a missing utmp is not created


class TestDeviceLinkRemoved:
    def test_a_ring_on_a_removed_device_is_not_answered_and_the_line_waits_for_it(
        self, make_bench: Callable[..., Bench]
    ) -> None:
        """Defect 8: link gone while idle: no ATA on the stale fd, status says what it waits for, reopened later."""
        bench = make_bench(mode="direct", direct_program=["/bin/true"], rings=1)
        target = os.readlink(bench.link)
        bench.link.unlink()
        mark = bench.mark()
        caller = bench.dial()
        assert bench.notify is not None
        bench.notify.wait_for(f"STATUS=waiting for {bench.link} to come back", 15)
        _, gone = bench.wait_event("port.device_gone", start=mark)
        assert str(bench.link) == gone["device"]
        assert [] == bench.sends(mark)  # nothing was written to the modem through the stale fd
        os.symlink(target, bench.link)
        _, ended = bench.wait_event("call.ended", call_id=1, start=mark)
        caller.hang_up()
        assert "answered" == ended["outcome"], str(ended)


class TestShutdownWhileTheDeviceVanishes:
    def test_sigterm_as_the_device_goes_exits_0_and_leaves_no_lock(self, make_bench: Callable[..., Bench]) -> None:
        """Defect 9: the pty vanishes (the modem dies) as SIGTERM arrives: exit 0, no traceback, lock removed."""
        bench = make_bench(rings=20)
        lock = Path("/run/lock") / lock_name(bench)
        assert bench.daemon is not None
        assert bench.sim is not None
        os.kill(bench.daemon.pid, signal.SIGSTOP)
        try:
            bench.sim.kill()  # the pty's master closes: the line is hung up under answerd
            bench.sim.wait()
            os.kill(bench.daemon.pid, signal.SIGTERM)
        finally:
            os.kill(bench.daemon.pid, signal.SIGCONT)
        assert 0 == bench.daemon.wait(30)
        assert bench.log is not None
        assert not any("Traceback" in line for line in bench.log.raw), "\n".join(bench.log.raw[-40:])
        # The pts number (and so the lock's name) is free once the sim is gone: a parallel test's sim may hold
        # a lock of the same name by now, so what must be gone is a lock naming this daemon.
        assert bench.daemon.pid != lock_holder(lock)
