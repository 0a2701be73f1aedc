"""The session a killed answerd left on its line: proving that it is answerd's own, and hanging it up.

answerd SIGKILLed mid-call (the OOM killer, the watchdog, ``kill -9``) leaves the call's program running
when something keeps it alive (``login``'s session moved into a logind session scope escapes the unit's
cgroup kill). The lock names that program, because answerd handed the lock to it, so by the UUCP rules the
line is in use. A dial-out program's lock is honoured; this one must not be, or the restarted answerd waits
for a session that may never end, with a caller on the line.

**Proof, not guesswork.** The only session answerd hangs up is one it can prove its own: the dead daemon's
state file (:mod:`answerd.service.state`) is unlocked (a live daemon holds its file locked for its whole
life) and names the call's program by pid, start time (``/proc/PID/stat`` field 22, clock ticks after boot)
and boot id. A pid reused since by another process has another start time; a start time of another boot
means nothing. A lock holder is never judged by the lock alone: a ``cu`` started after the crash is waited
for like any dial-out.

**Hang-up**, as the line's own hang-up would do it: ``TIOCVHANGUP`` on the device where permitted
(``CAP_SYS_ADMIN``; every open file of the tty then fails with EIO and the tty's session gets SIGHUP,
whatever process holds it) unless someone else holds the line now; SIGHUP and SIGCONT to the program's
process group (``setsid`` made it a session and group leader); SIGKILL after the grace time. One record,
``port.leftover_session_hung_up``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import signal
import termios
from dataclasses import dataclass
from typing import Any, Final

from answerd.clock import Clock

__all__ = ["TIOCVHANGUP", "ProcessIdentity", "hang_up", "vhangup"]

#: ``TIOCVHANGUP`` of asm-generic/ioctls.h (x86, arm, arm64, riscv, s390, powerpc); Python's termios lacks it.
#: Architectures with their own numbering (mips, sparc, alpha) have another TIOCSCTTY too: no vhangup there.
TIOCVHANGUP: Final = 0x5437 if termios.TIOCSCTTY == 0x540E else None
#: How often a leftover without a pidfd (old kernel, seccomp) is looked at while it is waited for.
_POLL_S: Final = 0.05


def _boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as file:
            return file.read(64).strip() or None
    except OSError:
        return None


def _stat_fields(pid: int) -> list[str] | None:
    """``/proc/PID/stat`` after the command name (which may hold spaces and parentheses): state first."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as file:
            line = file.read(4096)
    except OSError:
        return None
    return line[line.rfind(b")") + 2 :].decode("ascii", "replace").split()


@dataclass(frozen=True, slots=True)
class ProcessIdentity:
    """One process, for as long as this boot lasts: its pid, when it started, and the boot's id."""

    pid: int
    start_ticks: int
    boot_id: str

    @classmethod
    def of(cls, pid: int) -> ProcessIdentity | None:
        """The identity of the running process ``pid`` (``None`` without ``/proc``, or when it is gone)."""
        fields, boot = _stat_fields(pid), _boot_id()
        if fields is None or boot is None or len(fields) < 20 or not fields[19].isdigit():
            return None
        return cls(pid, int(fields[19]), boot)

    def running(self) -> bool:
        """Whether this very process still runs: not exited (a zombie), not another process under its pid."""
        fields = _stat_fields(self.pid)
        return fields is not None and fields[0] not in ("Z", "X") and ProcessIdentity.of(self.pid) == self

    def to_json(self) -> dict[str, Any]:
        """For the state file."""
        return {"pid": self.pid, "start_ticks": self.start_ticks, "boot_id": self.boot_id}

    @classmethod
    def from_json(cls, raw: object) -> ProcessIdentity | None:
        """From a state file (input like any other: anything but exactly the right types is ``None``)."""
        if not isinstance(raw, dict):
            return None
        pid, ticks, boot = raw.get("pid"), raw.get("start_ticks"), raw.get("boot_id")
        if type(pid) is not int or type(ticks) is not int or not isinstance(boot, str):
            return None
        if not (1 < pid < 1 << 22 and 0 <= ticks < 1 << 62 and 0 < len(boot) <= 64):
            return None
        return cls(pid, ticks, boot)


def vhangup(device: str) -> str:
    """Hang the tty ``device`` up for everyone who has it open; what came of it, for the log."""
    if TIOCVHANGUP is None:
        return "not available on this architecture"
    try:
        fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        return f"cannot open the device: {exc.strerror or exc}"
    try:
        fcntl.ioctl(fd, TIOCVHANGUP)
    except OSError as exc:
        return "not permitted" if exc.errno == errno.EPERM else f"failed: {exc.strerror or exc}"
    finally:
        os.close(fd)
    return "done"


async def hang_up(leftover: ProcessIdentity, *, device: str | None, grace_s: float, clock: Clock, log: Any) -> bool:
    """Hang up ``leftover``'s session (the tty ``device`` too, unless ``None``); ``False`` if it was not running.

    Waits at most twice ``grace_s``: after SIGHUP, and after SIGKILL (a process in uninterruptible sleep).
    """
    try:
        pidfd: int | None = os.pidfd_open(leftover.pid)
    except ProcessLookupError:
        return False
    except (OSError, AttributeError):
        pidfd = None  # no pidfd: signals by pid, checked against the start time just before
    try:
        if not leftover.running():  # checked with the pidfd open: from here on the pid cannot be another's
            return False
        hung_up = "not done: someone else holds the line" if device is None else vhangup(device)
        _signal(leftover, pidfd, (signal.SIGHUP, signal.SIGCONT))
        killed = not await _ended_within(leftover, pidfd, grace_s, clock)
        if killed:
            _signal(leftover, pidfd, (signal.SIGKILL,))
            await _ended_within(leftover, pidfd, grace_s, clock)
    finally:
        if pidfd is not None:
            os.close(pidfd)
    log.warning("port.leftover_session_hung_up", pid=leftover.pid, vhangup=hung_up, killed=killed,
                gone=not leftover.running())  # fmt: skip
    return True


def _signal(leftover: ProcessIdentity, pidfd: int | None, signals: tuple[int, ...]) -> None:
    for sig in signals:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            if pidfd is not None:
                signal.pidfd_send_signal(pidfd, sig)
            elif leftover.running():
                os.kill(leftover.pid, sig)
        # Its process group: what it started on the line. The group's id is the leader's pid, which stays
        # reserved while the leader or any member is left (a session leader cannot leave its group).
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(leftover.pid, sig)


async def _ended_within(leftover: ProcessIdentity, pidfd: int | None, grace_s: float, clock: Clock) -> bool:
    """Wait up to ``grace_s`` on ``clock`` for the leftover to exit: on its pidfd, else by looking."""
    deadline = clock.now() + grace_s
    if pidfd is None:
        while leftover.running() and clock.now() < deadline:
            await clock.sleep(_POLL_S)
        return not leftover.running()
    loop = asyncio.get_running_loop()
    exited: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not exited.done():
            exited.set_result(None)

    loop.add_reader(pidfd, wake)
    timer = clock.call_at(deadline, wake)
    try:
        await exited
    finally:
        timer.cancel()
        loop.remove_reader(pidfd)
    return not leftover.running()
