"""UUCP lock files: the one cross-program agreement on who owns a serial line.

A tty has no owner the kernel enforces between unrelated programs, so dial-in (mgetty, answerd) and dial-out
programs (pppd ``lock``, Taylor ``cu``, minicom, kermit) agree on a file per line: ``<lock_dir>/LCK..<tty>``
holding the owner's pid as ``"%10d\\n"`` (HDB UUCP, what mgetty, cu and pppd write). Whoever creates it owns
the line; a lock whose pid no longer exists is stale and anyone may remove it.

The protocol as implemented here, following mgetty ``locks.c``:

* **Create atomically** by writing a temp file in the lock directory and ``link()``-ing it to the lock
  name: ``link`` fails with ``EEXIST`` if the lock exists, on every filesystem (``O_EXCL`` did not on old
  NFS), and the lock never appears half-written.
* **Read leniently**: ASCII with or without padding, with trailing words (old minicom wrote
  ``"%10d minicom user\\n"``), or a binary 4-byte native ``int`` (kermit's and mgetty's ``LOCKS_BINARY``).
* **Stale** = the pid is gone (``kill(pid, 0)`` → ``ESRCH``; ``EPERM`` means alive under another uid, as
  cu runs as ``uucp``), or the content is unreadable and older than :data:`STALE_GRACE_S` (a younger empty
  file may be a lock another program is still writing). A stale lock is removed only if the path still names the
  very file judged (checked under ``flock`` on it, so racing answerds cannot remove each other's fresh
  lock), then the link is retried once.
* **Our pid in the lock means we own it** (mgetty: "we *have* the line!"; pppd: "somebody else locked it
  for us"). That is also how the line is handed to a child: :meth:`UucpLock.hand_over` rewrites the pid,
  so ``pppd lock`` started by answerd accepts the lock instead of failing.

Lock names. mgetty, pppd and cu lock the basename of the name they were given (cu: ``/dev/pts/3`` →
``LCK..3``, ``/dev/modem`` → ``LCK..modem``); minicom 2.8 uses the path below ``/dev`` with ``/`` → ``_``
(``LCK..pts_3``). A symlink (``/dev/modem``, ``/dev/serial/by-id/…``) therefore breaks agreement, which
mgetty's manual warns about. answerd locks the basename of the **resolved** device, because that is the name
every tool uses when pointed at the real node, and additionally *checks, but does not create*, the names a
tool would use for the configured path (symlink basename, minicom's form). A tool opened through a symlink
name still cannot see answerd's lock: use the real device name in dial-out tools.

Ownership: ``/run/lock`` is sticky (1777), so a lock left by a root answerd killed with SIGKILL can be
read but not removed by cu (which runs as ``uucp``: "Stale lock … Operation not permitted"); answerd clears
it when systemd restarts it.

Nothing here watches the lock directory: when to look at a lock, and how to wait for its holder, is the
line owner's business (:mod:`answerd.line.owner`), which looks only when the line is wanted, as mgetty does.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import struct
import time
from collections.abc import Callable
from types import TracebackType
from typing import Final, Self

__all__ = [
    "DEFAULT_LOCK_DIR",
    "STALE_GRACE_S",
    "UNKNOWN_PID",
    "LockBusyError",
    "LockError",
    "UucpLock",
    "lock_names",
    "parse_lock_pid",
]

#: FHS lock directory; ``/var/lock`` is a symlink to it on Debian, and cu/pppd/minicom use ``/var/lock``.
DEFAULT_LOCK_DIR: Final = "/run/lock"
#: An unreadable (empty, garbage) lock younger than this may still be being written by its creator.
STALE_GRACE_S: Final = 5.0
#: :meth:`UucpLock.holder` result for a lock that exists but whose pid cannot be read yet.
UNKNOWN_PID: Final = 0

#: How many random temp-file names :func:`_create_temp` tries before giving up (as mkstemp, which tries TMP_MAX).
_TEMP_ATTEMPTS: Final = 100


class LockError(OSError):
    """The lock directory or a lock file cannot be used (missing, permission denied, read-only).

    A subclass of :class:`OSError` carrying the path, so the daemon reports one line instead of a traceback.
    """

    def __init__(self, path: str, reason: str, err: int | None = None) -> None:
        super().__init__(err or 0, f"{path}: {reason}", path)
        self.path = path
        self.reason = reason

    @classmethod
    def wrap(cls, path: str, doing: str, exc: OSError) -> LockError:
        """The error for an :class:`OSError` raised while ``doing`` something with ``path``."""
        return cls(path, f"{doing}: {exc.strerror or exc}", exc.errno)

    def __str__(self) -> str:
        return f"UUCP lock {self.path}: {self.reason}"


class LockBusyError(LockError):
    """The line is locked by another live process (raised by ``with UucpLock(...)``, not by ``acquire``)."""

    def __init__(self, path: str, pid: int) -> None:
        super().__init__(path, f"line in use by pid {pid}", errno.EBUSY)
        self.pid = pid


def parse_lock_pid(data: bytes) -> int | None:
    """The pid in a lock file's content, or ``None`` if it holds none.

    A 4-byte file containing a NUL is a binary native ``int`` (pids are below 2**22, so a binary pid always
    has a NUL byte, and text never does); anything else is ASCII: HDB ``"%10d\\n"``, unpadded, or followed
    by words (old minicom).
    """
    if len(data) == 4 and b"\0" in data:
        (pid,) = struct.unpack("=i", data)
    else:
        words = data.split()
        pid = int(words[0]) if words and words[0].isdigit() else 0
    return pid if pid > 0 else None


def lock_names(device: str) -> tuple[str, tuple[str, ...]]:
    """The lock name answerd creates for ``device`` and the other names tools may use for the same line.

    Returns:
        ``(primary, aliases)`` without the ``LCK..`` prefix: ``primary`` is the basename of the resolved
        device (what cu, pppd and mgetty use when given the real node); ``aliases`` are the symlink's
        basename and minicom's ``pts_3`` form, when they differ. Aliases are checked, never created.
    """
    given = device if device.startswith("/") else os.path.join("/dev", device)
    real = os.path.realpath(given)
    primary = os.path.basename(real)
    aliases: list[str] = []
    for path in (given, real):
        for name in (os.path.basename(path), _minicom_name(path)):
            if name and name != primary and name not in aliases:
                aliases.append(name)
    return primary, tuple(aliases)


def _minicom_name(path: str) -> str:
    # minicom 2.8 names the lock after the path below /dev with "/" replaced by "_" (/dev/pts/3 -> pts_3).
    return path[len("/dev/") :].replace("/", "_") if path.startswith("/dev/") else os.path.basename(path)


def _create_temp(directory: str, prefix: str, random_bytes: Callable[[int], bytes] = os.urandom) -> tuple[int, str]:
    """Create a new file ``<directory>/<prefix><12 random hex digits>``, mode 0600; its write-only fd and path.

    What ``tempfile.mkstemp`` does, without ``tempfile``: importing it pulls ``random``, ``shutil``, ``bz2``
    and ``lzma`` (and their shared libraries) into a process that runs for months, about 0.8 MiB per port.

    Raises:
        FileExistsError: every one of :data:`_TEMP_ATTEMPTS` names was taken.
        OSError: the file cannot be created (missing directory, permission denied, ...).
    """
    # O_EXCL: never open a file someone else made (a temp name is guessable in a sticky /run/lock);
    # O_NOFOLLOW: nor through a symlink planted under that name.
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    for _attempt in range(_TEMP_ATTEMPTS):
        path = os.path.join(directory, prefix + random_bytes(6).hex())
        try:
            return os.open(path, flags, 0o600), path
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, f"no free temporary file name after {_TEMP_ATTEMPTS} attempts", directory)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # exists, under another uid (cu runs as uucp)
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether ``pid`` has exited and only waits to be reaped: it holds no tty, so its lock is stale.

    kill(pid, 0) succeeds on a zombie. A parent that never reaps (an init that does not, in a container) would
    otherwise keep a dead program's lock "held" for ever, and the line with it.
    """
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat_file:
            stat_line = stat_file.read()
    except OSError:
        return False  # no /proc, or the process just went: kill(pid, 0) has the last word
    state = stat_line[stat_line.rfind(b")") + 2 : stat_line.rfind(b")") + 3]
    return state in (b"Z", b"X")


class UucpLock:
    """The UUCP lock of one serial line.

    Keeps no file open: the lock lives in the file system, so every call re-reads it (other programs change
    it behind our back). Calls block only on small local file operations, fine on the event loop.
    """

    def __init__(
        self,
        device: str,
        *,
        lock_dir: str = DEFAULT_LOCK_DIR,
        stale_grace_s: float = STALE_GRACE_S,
        random_bytes: Callable[[int], bytes] = os.urandom,
    ):
        """Describe the lock for ``device`` (a path, or a name below ``/dev``); nothing is touched yet.

        ``random_bytes`` draws the temp files' names (tests inject their own draws).
        """
        self.device = device
        self._random_bytes = random_bytes
        self.lock_dir = lock_dir
        self.stale_grace_s = stale_grace_s
        primary, aliases = lock_names(device)
        self.name = f"LCK..{primary}"
        self.alias_names = tuple(f"LCK..{alias}" for alias in aliases)
        self._handed_to: int | None = None

    @property
    def path(self) -> str:
        """The lock file answerd creates."""
        return os.path.join(self.lock_dir, self.name)

    @property
    def names(self) -> tuple[str, ...]:
        """Every lock file name (in ``lock_dir``) that means this line is in use."""
        return (self.name, *self.alias_names)

    def holder(self) -> int | None:
        """The live process (not us) holding the line, under any of its names.

        Stale locks found on the way are removed. Returns :data:`UNKNOWN_PID` for a lock that exists but is
        still too young to judge, ``None`` when the line is free or ours.
        """
        for name in self.names:
            pid = self._live_pid(os.path.join(self.lock_dir, name))
            if pid is not None and pid != os.getpid():
                return pid
        return None

    def acquire(self) -> bool:
        """Take the lock; ``True`` if we now hold it, ``False`` if another live process does.

        Raises:
            LockError: the lock directory is missing or not writable, or a stale lock cannot be removed.
        """
        # Already ours (the lock handed back after a call, then the reopen's claim): no temp file to make, link
        # and remove. A temp file is a new inode, made and freed: 0.2 ms of CPU each on a disk file system.
        if self._read_pid(self.path) != os.getpid():
            tmp = self._write_temp(os.getpid())
            try:
                owned = self._link(tmp)
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
            if not owned:
                return False
        for alias in self.alias_names:
            pid = self._live_pid(os.path.join(self.lock_dir, alias))
            if pid is not None and pid != os.getpid():
                self._unlink_if_ours()
                return False
        self._handed_to = None
        return True

    def hand_over(self, pid: int) -> None:
        """Rewrite the lock with ``pid`` (the login/pppd child we started) without ever unlocking the line.

        mgetty ``exec``s pppd, so the lock holds pppd's pid and ``pppd lock`` accepts it; answerd supervises
        its child instead, so it hands the lock over explicitly. :meth:`release` still removes it later.

        Raises:
            LockError: we do not hold the lock, or it cannot be rewritten.
        """
        current = self._read_pid(self.path)
        if current is None or current not in self._our_pids():
            raise LockError(self.path, f"cannot hand over a lock we do not hold (holder {current})")
        tmp = self._write_temp(pid)
        try:
            os.replace(tmp, self.path)  # atomic: the lock never disappears
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise LockError.wrap(self.path, "cannot rewrite lock", exc) from exc
        self._handed_to = pid

    def release(self) -> None:
        """Remove the lock if it is ours (or our child's after :meth:`hand_over`); anyone else's is left alone."""
        self._unlink_if_ours()
        self._handed_to = None

    def __enter__(self) -> Self:
        """Hold the line for the block.

        Raises:
            LockBusyError: another live process holds it.
        """
        if not self.acquire():
            raise LockBusyError(self.path, self.holder() or UNKNOWN_PID)
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        """Release the line."""
        self.release()

    # --- internals

    def _write_temp(self, pid: int) -> str:
        try:
            fd, tmp = _create_temp(self.lock_dir, f"LTMP.{os.getpid()}.", self._random_bytes)
        except OSError as exc:
            raise LockError.wrap(self.lock_dir, "cannot create a lock file", exc) from exc
        try:
            os.fchmod(fd, 0o644)  # other tools (cu runs as uucp) must read the pid
            os.write(fd, b"%10d\n" % pid)
        except OSError as exc:
            os.unlink(tmp)
            raise LockError.wrap(tmp, "cannot write lock file", exc) from exc
        finally:
            os.close(fd)
        return tmp

    def _link(self, tmp: str) -> bool:
        for _attempt in range(2):  # the second attempt follows the removal of a stale lock
            try:
                os.link(tmp, self.path)
            except FileExistsError:
                pid = self._live_pid(self.path)
                if pid == os.getpid():
                    return True
                if pid is not None:
                    return False
            except OSError as exc:
                raise LockError.wrap(self.path, "cannot create lock", exc) from exc
            else:
                return True
        return False

    def _read_pid(self, path: str) -> int | None:
        try:
            with open(path, "rb") as f:
                return parse_lock_pid(f.read(64))
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LockError.wrap(path, "cannot read lock", exc) from exc

    def _live_pid(self, path: str) -> int | None:
        """The pid holding ``path``, :data:`UNKNOWN_PID` if unreadable but young, ``None`` if absent or stale."""
        try:
            f = open(path, "rb")  # noqa: SIM115  (kept open through the stale check, see _remove_stale)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise LockError.wrap(path, "cannot read lock", exc) from exc
        with f:
            try:
                pid = parse_lock_pid(f.read(64))
                if pid is not None and (pid == os.getpid() or _pid_alive(pid)):
                    return pid
                if pid is None and time.time() - os.fstat(f.fileno()).st_mtime < self.stale_grace_s:
                    return UNKNOWN_PID
                self._remove_stale(path, f.fileno())
            except FileNotFoundError:
                pass
            except OSError as exc:
                raise LockError.wrap(path, "cannot clear stale lock", exc) from exc
        return None

    @staticmethod
    def _remove_stale(path: str, fd: int) -> None:
        # Remove only the very file judged stale (open as ``fd``): a competitor may have removed it and
        # linked a fresh lock meanwhile, which must survive. flock on the stale file serialises answerd
        # processes removing it, and the open fd keeps its inode number from being reused, so "the path
        # is still this inode" is exact. A competitor busy removing it means it is going away: move on.
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return
        judged, now = os.fstat(fd), os.stat(path)
        if (now.st_dev, now.st_ino) == (judged.st_dev, judged.st_ino):
            os.unlink(path)

    def _our_pids(self) -> set[int]:
        return {os.getpid()} if self._handed_to is None else {os.getpid(), self._handed_to}

    def _unlink_if_ours(self) -> None:
        pid = self._read_pid(self.path)
        if pid is not None and pid in self._our_pids():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.path)
