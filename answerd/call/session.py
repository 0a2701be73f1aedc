"""The handed-off program (login, pppd, a BBS): start it on the tty, supervise it, end it cleanly.

answerd stays the parent instead of exec'ing away (mgetty execs, so under systemd a normal pppd hang-up,
exit 16, shows up as a unit failure). Staying the parent lets answerd log the outcome, hang up, reopen and
re-initialise the modem, and keep talking to systemd while a call is up.

How the child is started, and why:

* argv only, never a shell. The program is an absolute path from the config; placeholders were expanded
  into whole argv elements by the caller.
* ``setsid --ctty`` (util-linux) makes the child a session leader with the tty as its controlling
  terminal, so the kernel's hang-up (SIGHUP on carrier loss) reaches it. Doing this in Python needs
  ``preexec_fn``, which is unsafe in a process with threads (pyserial-asyncio uses an executor). The child is
  not a process-group leader, so setsid does not fork: the pid we hold is the program's.
* fds 0, 1 and 2 are the tty; nothing else is inherited (``close_fds``).
* exactly the environment it is given (:mod:`answerd.call.environment` builds it), plus the account's
  ``HOME``, ``USER`` and ``LOGNAME`` when it runs as another user.

The child inherits the unit's sandbox: pppd needs ``CAP_NET_ADMIN``, ``/dev/ppp`` and ``/etc/ppp``, and
login needs to write utmp and change the tty's owner; the unit's hardening is chosen not to break them.

Ending a session: the program's process group (its pid: ``setsid`` makes it the leader of a new session and
of a new process group, the tty's foreground group) gets SIGHUP and SIGCONT, as a real hang-up does; what is
still alive after the grace time gets SIGTERM, then SIGKILL. After every call, ``killpg(pid, 0)`` tells in one
system call whether the program left anything in that group (:func:`group_alive`).

Why the process group and not the session: the kernel can name a process group's members (``killpg``) but not
a session's; finding a session's members means reading every process's ``/proc/PID/stat``, a per-call cost
that grew with the number of processes on the host (2.4 ms at 110 processes). A subreaper would see every
descendant, but reaping its orphans needs ``waitpid(-1)``, which steals exit statuses from asyncio's child
watcher. What a program deliberately moves out of its process group (``setpgid``: a job-control shell's
background jobs, a daemon) is no longer answerd's to find; what a login starts in a session of its own
never was. Both are reached by the line's hang-up (SIGHUP to the tty's session, EIO on the tty) and, when
answerd's unit stops, by systemd's cgroup.
"""

from __future__ import annotations

import asyncio
import contextlib
import grp
import os
import pwd
import signal
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Session", "SessionResult", "SpawnError", "group_alive", "group_members"]
#: How often the program's process group is looked at while waiting for its leftovers to end.
SESSION_POLL_S = 0.02
#: Where util-linux's setsid is looked for, in this order (never the daemon's PATH).
SETSID_CANDIDATES = ("/usr/bin/setsid", "/bin/setsid")


def _find_setsid() -> str | None:
    """The first of :data:`SETSID_CANDIDATES` that is an executable regular file, or ``None``.

    ``shutil.which("setsid", path="/usr/bin:/bin")`` without ``shutil``: importing it pulls ``bz2`` and
    ``lzma`` (and their shared libraries) into a process that runs for months, about 0.8 MiB per port.
    """
    for path in SETSID_CANDIDATES:
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


class SpawnError(Exception):
    """The program could not be started (missing, not executable, setsid missing)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionResult:
    """How the program ended.

    Args:
        returncode: exit status, or ``None`` if it died by a signal.
        signal: the signal that killed it, or ``None``.
        stopped_by_us: answerd ended it (carrier loss seen by answerd, shutdown), not the program itself.
    """

    pid: int
    returncode: int | None
    signal: int | None
    duration_s: float
    stopped_by_us: bool


def group_members(pgid: int, proc: str | os.PathLike[str] = "/proc") -> list[int]:
    """Pids of every live process in process group ``pgid``: the slow, exact look behind :func:`group_alive`.

    One ``getpgid`` per process (no file opened), then ``/proc/PID/stat`` only for members, to leave zombies
    out: they are already dead and cannot be signalled, and an orphan's zombie stays in the group until init
    reaps it (never, under an init that does not reap, as in some containers).
    """
    members = []
    for name in os.listdir(proc):
        if not name.isdigit():
            continue
        pid = int(name)
        try:
            if os.getpgid(pid) != pgid:
                continue
            with open(os.path.join(proc, name, "stat")) as file:
                stat = file.read()
        except OSError:  # exited meanwhile
            continue
        # The command name (field 2) is in parentheses and may contain spaces: split after the last ')'.
        fields = stat[stat.rfind(")") + 2 :].split()
        if len(fields) > 2 and int(fields[2]) == pgid and fields[0] != "Z":
            members.append(pid)
    return members


def group_alive(pgid: int, proc: str | os.PathLike[str] = "/proc") -> int:
    """How many live processes process group ``pgid`` has; 0 at the cost of one system call in the usual case.

    ``killpg(pgid, 0)`` failing with ESRCH proves the group empty without looking at any other process, so the
    cost after a call does not grow with the number of processes on the host. Only when it succeeds (something
    is left, or only zombies are) does :func:`group_members` look closer.
    """
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return 0
    except PermissionError:  # a member runs as another user and answerd is not root: it exists
        pass
    return len(group_members(pgid, proc))


def _signal_group(pgid: int, signals: tuple[int, ...]) -> None:
    """Send ``signals`` to every process of process group ``pgid`` (one system call each)."""
    for sig in signals:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


class Session:
    """A running handed-off program. Create with :meth:`start`."""

    def __init__(self, process: asyncio.subprocess.Process, started_at: float) -> None:
        self._process = process
        self._started_at = started_at
        self._stopped_by_us = False
        self.pid: int = process.pid

    @classmethod
    async def start(cls, argv: list[str], *, tty_fd: int, env: Mapping[str, str], user: str | None = None) -> Session:
        """Start ``argv`` as a new session with the tty as controlling terminal and fds 0-2.

        Args:
            user: run as this account, with its primary group and supplementary groups (``initgroups``),
                and its home directory as ``HOME``; ``None`` keeps answerd's own identity.

        Raises:
            SpawnError: the program or ``setsid`` cannot be executed, or ``user`` does not exist.
        """
        identity: dict[str, Any] = {}
        env = dict(env)
        if user is not None:
            try:
                account = pwd.getpwnam(user)
            except KeyError:
                raise SpawnError(f"user {user!r} does not exist") from None
            groups = [g.gr_gid for g in grp.getgrall() if user in g.gr_mem]
            identity = {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": groups}
            env.setdefault("HOME", account.pw_dir)
            env.setdefault("USER", user)
            env.setdefault("LOGNAME", user)
        setsid = _find_setsid()
        if setsid is None:
            raise SpawnError("setsid (util-linux) not found in /usr/bin or /bin")
        program = argv[0]
        if not os.access(program, os.X_OK):
            raise SpawnError(f"{program}: not found or not executable")
        loop = asyncio.get_running_loop()
        try:
            process = await asyncio.create_subprocess_exec(
                setsid,
                "--ctty",
                "--",
                *argv,
                stdin=tty_fd,
                stdout=tty_fd,
                stderr=tty_fd,
                env=env,
                cwd="/",
                close_fds=True,
                **identity,
            )
        except OSError as exc:
            raise SpawnError(f"cannot start {program}: {exc.strerror or exc}") from None
        return cls(process, loop.time())

    async def wait(self) -> SessionResult:
        """Wait for the program to end by itself (or by :meth:`stop`)."""
        rc = await self._process.wait()
        return self._result(rc)

    async def stop(self, grace_s: float) -> SessionResult:
        """End the whole session as a hang-up would: SIGHUP, then SIGTERM, then SIGKILL."""
        self._stopped_by_us = self._process.returncode is None
        for signals in ((signal.SIGHUP, signal.SIGCONT), (signal.SIGTERM, signal.SIGCONT), (signal.SIGKILL,)):
            if self._process.returncode is None:
                with contextlib.suppress(ProcessLookupError):
                    self._process.send_signal(signals[0])
            _signal_group(self.pid, signals)
            if await self._ended_within(grace_s):
                break
        rc = await self._process.wait()
        return self._result(rc)

    async def _ended_within(self, grace_s: float) -> bool:
        """Wait up to ``grace_s`` for the program *and* everything else in its process group to end.

        Waiting for the program alone is not enough: once it has exited (or when it exits at once on SIGHUP),
        what it left in the session would get the next signal with no grace time at all.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._process.wait(), grace_s)
        while group_alive(self.pid):
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(SESSION_POLL_S)
        return self._process.returncode is not None

    async def reap_session(self, grace_s: float) -> int:
        """After the program ended: hang up what it left behind in its process group; return how many."""
        left = group_alive(self.pid)
        if left:
            await self.stop(grace_s)
        return left

    def _result(self, rc: int) -> SessionResult:
        duration = asyncio.get_running_loop().time() - self._started_at
        return SessionResult(
            pid=self.pid,
            returncode=rc if rc >= 0 else None,
            signal=-rc if rc < 0 else None,
            duration_s=duration,
            stopped_by_us=self._stopped_by_us,
        )
