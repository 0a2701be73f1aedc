"""Dial-out coexistence: a real `cu` takes the line from an idle answerd and gives it back.

answerd holds no UUCP lock while idle and does not read the port, so `cu -l` (Taylor UUCP, Debian's `cu`)
can lock the line at any moment. answerd does not watch /run/lock: it looks at the lock when the idle port
becomes readable (here: the modem answering cu), before reading a byte, as mgetty does; then it closes the
port, waits for cu to exit (a pidfd), reopens and re-initialises the modem. Both use the real /run/lock: cu's lock
directory is compiled in. The pty's lock name is its number (``LCK..N``), so tests do not collide.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import Bench

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("cu") is None, reason="cu (Debian package cu) is not installed"),
    # cu runs as uucp: /run/lock must be writable by others (1777, as Debian's systemd-tmpfiles makes it at
    # boot; a root that never booted, such as a bare container, has 0755 and cu cannot lock at all).
    pytest.mark.skipif(
        not os.stat("/run/lock").st_mode & 0o002, reason="/run/lock is not mode 1777 (systemd-tmpfiles has not run)"
    ),
]
LOCK_DIR = Path("/run/lock")


def lock_name(bench: Bench) -> str:
    """The UUCP lock name of the sim's pty."""
    return f"LCK..{Path(os.path.realpath(bench.link)).name}"


def read_until(stream: Any, marker: bytes, timeout: float = 10.0) -> bytes:
    """Read a pipe until ``marker`` arrives (with a deadline)."""
    got = b""
    deadline = time.monotonic() + timeout
    while marker not in got:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([stream], [], [], remaining)[0]:
            raise AssertionError(f"no {marker!r}; got {got!r}")
        chunk = os.read(stream.fileno(), 4096)
        if not chunk:
            raise AssertionError(f"EOF before {marker!r}; got {got!r}")
        got += chunk
    return got


@pytest.fixture(name="cu_on")
def _cu_on() -> Iterator[Callable[[str], subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []

    def start(line: str) -> subprocess.Popen[bytes]:
        os.chmod(line, 0o666)  # cu started as root switches to the uucp user before opening the line
        proc = subprocess.Popen(
            ["cu", "-l", line, "-s", "38400"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
        started.append(proc)
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


class TestDialOut:
    def test_cu_takes_the_idle_line_and_gives_it_back(
        self, make_bench: Callable[..., Bench], cu_on: Callable[[str], subprocess.Popen[bytes]]
    ) -> None:
        """answerd yields to cu, does not steal the modem's answers, and answers calls again afterwards."""
        bench = make_bench()
        line = os.path.realpath(bench.link)
        assert bench.notify is not None
        cu = cu_on(line)
        assert cu.stdin is not None
        assert cu.stdout is not None
        # cu's own "Connected." is stdio-buffered until it exits; the modem's answer comes through at once.
        cu.stdin.write(b"ATI\r")
        cu.stdin.flush()
        assert b"answerd simulated modem" in read_until(cu.stdout, b"OK")  # answerd did not read it
        # The answer makes the idle port readable, which wakes answerd: it sees cu's lock and yields. cu may
        # have read the answer before answerd's loop looked (the kernel then reports nothing, as to mgetty's
        # select): the next answer is another chance, so cu talks until answerd has noticed.
        for _ in range(20):
            if bench.events("port.dialout"):
                break
            cu.stdin.write(b"AT\r")
            cu.stdin.flush()
            read_until(cu.stdout, b"OK")
        _, dialout = bench.wait_event("port.dialout")
        assert cu.pid == dialout["holder"]
        bench.notify.wait_for(f"STATUS=line in use by pid {cu.pid} (dial-out)", 5)
        mark = len(bench.log.items)  # type: ignore[union-attr]
        cu.communicate(b"\r~.\r", timeout=10)
        assert 0 == cu.returncode
        bench.wait_event("port.dialout_ended", start=mark)
        bench.wait_event("modem.init.ok", start=mark)
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.hang_up()
        bench.wait_event("call.ended", call_id=1)

    def test_cu_is_refused_while_a_call_is_up(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """While answerd (or the call's program) has the line, cu says "Line in use" and leaves."""
        program = tmp_path / "hold"
        program.write_text("#!/bin/sh\nread line\n")
        program.chmod(0o755)
        bench = make_bench(mode="direct", direct_program=[str(program)])
        caller = bench.dial()
        bench.wait_event("call.program_started")
        line = os.path.realpath(bench.link)
        os.chmod(line, 0o666)
        cu = subprocess.run(["cu", "-l", line, "-s", "38400"], stdin=subprocess.DEVNULL, capture_output=True,
                            timeout=30, check=False)  # fmt: skip
        assert 0 != cu.returncode
        assert b"Line in use" in cu.stderr
        caller.send(b"bye\n")  # direct mode is raw: no CR-to-NL mapping
        _, ended = bench.wait_event("call.ended", call_id=1)
        assert "answered" == ended["outcome"], str(ended)

    def test_stale_lock_from_a_dead_pid_is_taken_over(self, make_bench: Callable[..., Bench]) -> None:
        """A lock left by a process that died does not keep answerd from starting."""
        bench = make_bench(start=False)
        bench.start_sim()
        dead = subprocess.Popen(["/bin/true"])
        dead.wait()
        lock = LOCK_DIR / f"LCK..{Path(os.path.realpath(bench.link)).name}"
        lock.write_text(f"{dead.pid:10d}\n")
        try:
            bench.start_daemon()
            assert bench.notify is not None
            bench.notify.wait_for("READY=1", 20)
            assert [] == bench.events("port.line_in_use")
        finally:
            lock.unlink(missing_ok=True)


def voluntary_switches(pid: int) -> int:
    """Times the process (every thread) went to sleep: each one follows a wake-up."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        for line in Path(f"/proc/{pid}/task/{task}/status").read_text().splitlines():
            if line.startswith("voluntary_ctxt_switches:"):
                total += int(line.split()[1])
    return total


def asleep_in_its_loop(pid: int, timeout: float = 10.0) -> None:
    """Wait (with a deadline) until the daemon's main thread sleeps in its event loop's epoll_wait."""
    deadline = time.monotonic() + timeout
    while (Path(f"/proc/{pid}/wchan").read_text(), Path(f"/proc/{pid}/stat").read_text().split()[2]) != (
        "do_epoll_wait",
        "S",
    ):
        assert time.monotonic() < deadline, "the daemon never went to sleep"
        time.sleep(0.01)


def test_lock_churn_beside_the_idle_line_wakes_it_not_once(make_bench: Callable[..., Bench], tmp_path: Path) -> None:
    """Issue 11: no watch on the lock directory: 1,000 lock files come and go beside an idle line, 0 wake-ups."""
    locks = tmp_path / "locks"
    locks.mkdir()
    bench = make_bench(health_check_s=0, lock_dir=str(locks))  # no timer of its own while idle
    bench.wait_event("port.status", status="waiting for RING")
    assert bench.daemon is not None
    asleep_in_its_loop(bench.daemon.pid)
    before = voluntary_switches(bench.daemon.pid)
    for number in range(500):  # other lines of a pool locking and unlocking, and our line's own name too
        for name in (f"LCK..ttyS{number % 8}", f"LTMP.{number}", lock_name(bench)):
            (locks / name).write_text(f"{os.getpid():10d}\n")
            (locks / name).unlink()
    asleep_in_its_loop(bench.daemon.pid)  # had anything woken it, it would be running or back asleep by now
    assert before == voluntary_switches(bench.daemon.pid)
