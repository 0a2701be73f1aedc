"""UUCP lock files: format, stale takeover, atomicity, and agreement with cu and minicom.

The real-tool tests run Taylor ``cu`` and minicom against a pty slave in the system lock directory (their
lock directory is compiled in: ``/var/lock`` = ``/run/lock``). Observed on Debian bookworm: cu locks the
basename of the name it is given (``/dev/pts/3`` → ``LCK..3``, a symlink ``…/modem`` → ``LCK..modem``),
drops root to the ``uucp`` user first (so the pty slave is made world-accessible), and refuses a live lock
with "Line in use"; minicom 2.8 locks ``LCK..pts_3`` for ``/dev/pts/3`` and refuses with "Device … is
locked.". pppd cannot be run here: it exits before locking because there is no ``/dev/ppp``.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import multiprocessing
import multiprocessing.synchronize
import os
import pty
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import answerd.line.lock as lock_module
from answerd.line.lock import (
    UNKNOWN_PID,
    LockBusyError,
    LockError,
    UucpLock,
    lock_names,
    parse_lock_pid,
)
from tests.helpers import wait_until

SYSTEM_LOCK_DIR = "/run/lock"


def dead_pid() -> int:
    """A pid that existed a moment ago and has been reaped."""
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def write_lock(path: Path, content: bytes, *, age_s: float = 0.0) -> Path:
    """Write a lock file as another program would, optionally back-dated by ``age_s`` seconds."""
    path.write_bytes(content)
    if age_s:
        past = time.time() - age_s
        os.utime(path, (past, past))
    return path


def hdb(pid: int) -> bytes:
    """A lock's content in the HDB format mgetty, cu and pppd write."""
    return b"%10d\n" % pid


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live child process to act as a foreign lock holder."""
    proc = subprocess.Popen(["sleep", "60"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def lock(tmp_path: Path) -> UucpLock:
    """A lock for ``/dev/ttyS0`` in a private lock directory."""
    return UucpLock("/dev/ttyS0", lock_dir=str(tmp_path))


class TestParseLockPid:
    """Reading every lock format in the wild."""

    @pytest.mark.parametrize(
        ("content", "expected"),
        [
            (b"      1234\n", 1234),  # HDB, mgetty/cu/pppd
            (b"1234\n", 1234),  # unpadded
            (b"1234", 1234),  # no newline, four bytes of text
            (b"      1234 minicom root\n", 1234),  # old minicom
            (struct.pack("=i", 1234), 1234),  # binary (kermit, mgetty LOCKS_BINARY)
            (struct.pack("=i", 0x0A3031), 0x0A3031),  # binary whose bytes look like "10\n"
            (b"", None),
            (b"garbage\n", None),
            (b"         0\n", None),
            (struct.pack("=i", 0), None),
            (b"\xff\xfe\xfd\xfc\xfb", None),
        ],
    )
    def test_content(self, content: bytes, expected: int | None) -> None:
        """Each content yields its pid, or None when it names no process."""
        assert expected == parse_lock_pid(content)


class TestLockNames:
    """Which file names mean "this line is in use"."""

    def test_plain_device(self) -> None:
        """A real node's name is its basename, with no aliases."""
        assert ("ttyS0", ()) == lock_names("/dev/ttyS0")

    def test_name_without_dev(self) -> None:
        """A bare name is taken relative to /dev, as mgetty does."""
        assert ("ttyS0", ()) == lock_names("ttyS0")

    def test_symlink_locks_resolved_name_and_checks_link_name(self, tmp_path: Path) -> None:
        """A symlink locks the target's basename and checks the link's basename."""
        target = tmp_path / "ttyUSB7"
        target.touch()
        (tmp_path / "modem").symlink_to(target)
        assert ("ttyUSB7", ("modem",)) == lock_names(str(tmp_path / "modem"))

    def test_pts_includes_minicom_name(self) -> None:
        """A device in a /dev subdirectory also checks minicom's underscore form."""
        assert ("5", ("pts_5",)) == lock_names("/dev/pts/5")

    def test_path_property(self, tmp_path: Path) -> None:
        """The lock file lives in the lock directory under LCK..<name>."""
        assert str(tmp_path / "LCK..ttyS0") == UucpLock("/dev/ttyS0", lock_dir=str(tmp_path)).path


class TestAcquireRelease:
    """Taking and giving back a free line."""

    def test_file_content_is_hdb_pid(self, lock: UucpLock) -> None:
        """The lock file holds exactly "%10d\\n" of our pid and is world-readable."""
        assert lock.acquire()
        assert hdb(os.getpid()) == Path(lock.path).read_bytes()
        assert 0o644 == os.stat(lock.path).st_mode & 0o777

    def test_no_temp_files_left(self, lock: UucpLock, tmp_path: Path) -> None:
        """Only the lock itself remains after acquire."""
        assert lock.acquire()
        assert ["LCK..ttyS0"] == sorted(p.name for p in tmp_path.iterdir())

    def test_release_removes(self, lock: UucpLock) -> None:
        """Release removes our lock."""
        lock.acquire()
        lock.release()
        assert not os.path.exists(lock.path)

    def test_acquire_is_idempotent(self, lock: UucpLock) -> None:
        """A lock holding our pid is ours: acquiring again succeeds."""
        assert lock.acquire()
        assert UucpLock("/dev/ttyS0", lock_dir=lock.lock_dir).acquire()
        assert lock.holder() is None

    def test_acquiring_a_lock_already_ours_makes_no_temp_file(self, tmp_path: Path) -> None:
        """The reopen after a call claims a lock it holds: nothing is created (one temp name drawn in all)."""
        draws: list[int] = []

        def random_bytes(count: int) -> bytes:
            draws.append(count)
            return os.urandom(count)

        lock = UucpLock("/dev/ttyS0", lock_dir=str(tmp_path), random_bytes=random_bytes)
        assert lock.acquire()
        assert lock.acquire()
        assert (1, hdb(os.getpid())) == (len(draws), Path(lock.path).read_bytes())

    def test_release_of_foreign_lock_does_nothing(self, lock: UucpLock, sleeper: subprocess.Popen[bytes]) -> None:
        """A lock with another pid survives our release."""
        write_lock(Path(lock.path), hdb(sleeper.pid))
        lock.release()
        assert hdb(sleeper.pid) == Path(lock.path).read_bytes()

    def test_release_of_garbage_does_nothing(self, lock: UucpLock) -> None:
        """A lock we cannot read is not ours to remove."""
        write_lock(Path(lock.path), b"")
        lock.release()
        assert os.path.exists(lock.path)

    def test_release_when_free(self, lock: UucpLock) -> None:
        """Releasing a free line is harmless."""
        lock.release()
        assert not os.path.exists(lock.path)

    def test_context_manager(self, lock: UucpLock) -> None:
        """The with-block holds the line and releases it on exit."""
        with lock:
            assert os.path.exists(lock.path)
        assert not os.path.exists(lock.path)

    def test_context_manager_busy(self, lock: UucpLock, sleeper: subprocess.Popen[bytes]) -> None:
        """Entering a held line raises LockBusyError naming the holder."""
        write_lock(Path(lock.path), hdb(sleeper.pid))
        with pytest.raises(LockBusyError) as info, lock:
            pass
        assert sleeper.pid == info.value.pid
        assert lock.path == info.value.path


class TestTempFile:
    """The temp file a lock is written to before it is linked: mkstemp's guarantees, without tempfile."""

    @staticmethod
    def drawing(tmp_path: Path, *draws: bytes) -> tuple[UucpLock, list[int]]:
        """A lock whose temp names come from ``draws`` in turn (the last one forever); and the draw sizes."""
        calls: list[int] = []

        def random_bytes(n: int) -> bytes:
            calls.append(n)
            return draws[min(len(calls), len(draws)) - 1][:n]

        return UucpLock("/dev/ttyS0", lock_dir=str(tmp_path), random_bytes=random_bytes), calls

    def test_created_new_private_write_only_and_close_on_exec(self, tmp_path: Path) -> None:
        """LTMP.<pid>.<12 hex digits>, mode 0600 (before the lock's own chmod), write-only, not inherited."""
        old_umask = os.umask(0o022)
        try:
            fd, path = lock_module._create_temp(str(tmp_path), f"LTMP.{os.getpid()}.")
        finally:
            os.umask(old_umask)
        try:
            assert str(tmp_path) == os.path.dirname(path)
            prefix, pid, suffix = os.path.basename(path).split(".")
            assert ("LTMP", str(os.getpid()), 12) == (prefix, pid, len(suffix))
            int(suffix, 16)
            assert 0o600 == os.fstat(fd).st_mode & 0o777
            assert os.O_WRONLY == fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_ACCMODE
            assert not os.get_inheritable(fd)
        finally:
            os.close(fd)

    def test_taken_name_is_retried(self, tmp_path: Path) -> None:
        """A temp name that exists already is left alone and another random name is drawn."""
        taken = tmp_path / f"LTMP.{os.getpid()}.{'00' * 6}"
        taken.write_bytes(b"someone else's")
        lock, calls = self.drawing(tmp_path, b"\0" * 6, b"\1" * 6)
        assert lock.acquire()
        assert [6, 6] == calls
        assert b"someone else's" == taken.read_bytes()
        assert hdb(os.getpid()) == Path(lock.path).read_bytes()
        assert sorted(["LCK..ttyS0", taken.name]) == sorted(p.name for p in tmp_path.iterdir())

    def test_symlink_under_the_name_is_not_followed(self, tmp_path: Path) -> None:
        """A symlink planted under the temp name (even a dangling one) is never written through."""
        (tmp_path / f"LTMP.{os.getpid()}.{'00' * 6}").symlink_to(tmp_path / "target")
        lock, _ = self.drawing(tmp_path, b"\0" * 6, b"\1" * 6)
        assert lock.acquire()
        assert not (tmp_path / "target").exists()

    def test_every_name_taken(self, tmp_path: Path) -> None:
        """After a bounded number of taken names acquire gives up with a LockError naming the directory."""
        (tmp_path / f"LTMP.{os.getpid()}.{'00' * 6}").touch()
        lock, calls = self.drawing(tmp_path, b"\0" * 6)
        with pytest.raises(LockError) as info:
            lock.acquire()
        assert (str(tmp_path), errno.EEXIST) == (info.value.path, info.value.errno)
        assert lock_module._TEMP_ATTEMPTS == len(calls)
        assert not Path(lock.path).exists()


class TestStale:
    """Locks whose owner is gone are taken over; live ones never are."""

    def test_dead_pid_taken_over(self, lock: UucpLock) -> None:
        """A lock naming a reaped process is replaced by ours."""
        write_lock(Path(lock.path), hdb(dead_pid()))
        assert lock.acquire()
        assert hdb(os.getpid()) == Path(lock.path).read_bytes()

    def test_zombie_pid_taken_over(self, lock: UucpLock) -> None:
        """A lock naming a process that exited but was never reaped (kill(pid, 0) still succeeds) is stale."""
        zombie = subprocess.Popen(["true"])
        try:
            wait_until(lambda: Path(f"/proc/{zombie.pid}/stat").read_bytes().rsplit(b")", 1)[1][1:2] == b"Z")
            write_lock(Path(lock.path), hdb(zombie.pid))
            assert lock.acquire()
            assert hdb(os.getpid()) == Path(lock.path).read_bytes()
        finally:
            zombie.wait()

    def test_dead_pid_cleaned_by_holder(self, lock: UucpLock) -> None:
        """holder() reports a stale lock as free and removes it."""
        write_lock(Path(lock.path), hdb(dead_pid()))
        assert lock.holder() is None
        assert not os.path.exists(lock.path)

    def test_binary_dead_pid_taken_over(self, lock: UucpLock) -> None:
        """A binary lock naming a reaped process is stale too."""
        write_lock(Path(lock.path), struct.pack("=i", dead_pid()))
        assert lock.acquire()

    def test_binary_live_pid_is_holder(self, lock: UucpLock, sleeper: subprocess.Popen[bytes]) -> None:
        """A binary lock of a live process is respected."""
        write_lock(Path(lock.path), struct.pack("=i", sleeper.pid))
        assert sleeper.pid == lock.holder()
        assert not lock.acquire()

    @pytest.mark.parametrize("content", [b"", b"garbage\n", b"         0\n"])
    def test_old_garbage_taken_over(self, lock: UucpLock, content: bytes) -> None:
        """An unreadable lock older than the grace period is stale."""
        write_lock(Path(lock.path), content, age_s=60)
        assert lock.acquire()

    def test_young_garbage_respected(self, lock: UucpLock) -> None:
        """A fresh empty lock may still be being written: it is busy with an unknown holder."""
        write_lock(Path(lock.path), b"")
        assert UNKNOWN_PID == lock.holder()
        assert not lock.acquire()
        assert b"" == Path(lock.path).read_bytes()


class TestForeignLock:
    """A line held by another live process."""

    def test_live_holder(self, lock: UucpLock, sleeper: subprocess.Popen[bytes]) -> None:
        """acquire fails, holder names the process, and its lock is untouched."""
        write_lock(Path(lock.path), hdb(sleeper.pid))
        assert not lock.acquire()
        assert sleeper.pid == lock.holder()
        assert hdb(sleeper.pid) == Path(lock.path).read_bytes()

    def test_holder_under_symlink_name(self, tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
        """A live lock under the symlink's name blocks us, and we leave no lock of our own behind."""
        (tmp_path / "ttyUSB7").touch()
        (tmp_path / "modem").symlink_to(tmp_path / "ttyUSB7")
        locks = tmp_path / "locks"
        locks.mkdir()
        write_lock(locks / "LCK..modem", hdb(sleeper.pid))
        lock = UucpLock(str(tmp_path / "modem"), lock_dir=str(locks))
        assert sleeper.pid == lock.holder()
        assert not lock.acquire()
        assert ["LCK..modem"] == sorted(p.name for p in locks.iterdir())

    def test_stale_alias_cleaned(self, tmp_path: Path) -> None:
        """A stale lock under an alias name does not block us and is removed."""
        write_lock(tmp_path / "LCK..pts_5", hdb(dead_pid()))
        lock = UucpLock("/dev/pts/5", lock_dir=str(tmp_path))
        assert lock.acquire()
        assert ["LCK..5"] == sorted(p.name for p in tmp_path.iterdir())


class TestHandOver:
    """Passing the lock to the child that gets the line (pppd accepts a lock holding its own pid)."""

    def test_hand_over_rewrites_pid(self, lock: UucpLock, sleeper: subprocess.Popen[bytes]) -> None:
        """After hand_over the file names the child, who is now the holder."""
        lock.acquire()
        lock.hand_over(sleeper.pid)
        assert hdb(sleeper.pid) == Path(lock.path).read_bytes()
        assert sleeper.pid == lock.holder()

    def test_release_after_hand_over(self, lock: UucpLock, sleeper: subprocess.Popen[bytes]) -> None:
        """We still remove the lock we handed to our child."""
        lock.acquire()
        lock.hand_over(sleeper.pid)
        lock.release()
        assert not os.path.exists(lock.path)

    def test_hand_over_without_holding(self, lock: UucpLock, sleeper: subprocess.Popen[bytes]) -> None:
        """Handing over a lock we do not hold is an error."""
        with pytest.raises(LockError):
            lock.hand_over(sleeper.pid)
        assert not os.path.exists(lock.path)


class TestErrors:
    """Unusable lock directories give a LockError with the path, never a bare traceback."""

    def test_missing_directory(self, tmp_path: Path) -> None:
        """A missing lock directory is reported with its path."""
        missing = tmp_path / "nope"
        with pytest.raises(LockError) as info:
            UucpLock("/dev/ttyS0", lock_dir=str(missing)).acquire()
        assert str(missing) == info.value.path
        assert str(missing) in str(info.value)

    def test_not_a_directory(self, tmp_path: Path) -> None:
        """A file given as lock directory is reported."""
        (tmp_path / "file").touch()
        with pytest.raises(LockError):
            UucpLock("/dev/ttyS0", lock_dir=str(tmp_path / "file")).acquire()

    @pytest.mark.parametrize(
        ("setup", "expected"),
        [
            ("none", "LockError 13 {dir}"),  # directory not writable
            ("stale", "LockError 1 {dir}/LCK..ttyS0"),  # sticky directory, someone else's stale lock
            ("private", "LockError 13 {dir}/LCK..ttyS0"),  # a lock we may not read
        ],
    )
    def test_permission_denied(self, setup: str, expected: str) -> None:
        """Permission problems raise LockError with errno and path (checked as user nobody)."""
        if os.geteuid() != 0 or shutil.which("setpriv") is None:
            pytest.skip("needs root and setpriv to act as another user")
        with tempfile.TemporaryDirectory() as locks:
            os.chmod(locks, 0o755)
            if setup != "none":
                os.chmod(locks, 0o1777)
                write_lock(Path(locks, "LCK..ttyS0"), hdb(dead_pid()))
                os.chmod(Path(locks, "LCK..ttyS0"), 0o644 if setup == "stale" else 0o600)
            code = (
                "from answerd.line.lock import UucpLock, LockError\n"
                f"try:\n    UucpLock('/dev/ttyS0', lock_dir={locks!r}).acquire()\n"
                "except LockError as e:\n    print(type(e).__name__, e.errno, e.path)\n"
            )
            argv = ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", sys.executable, "-c", code]
            env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
            out = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=30, check=False)
        assert expected.format(dir=locks) + "\n" == out.stdout, out.stderr


def _race(lock_dir: str, start: multiprocessing.synchronize.Barrier, done: multiprocessing.synchronize.Barrier) -> None:
    """Child of the race test: acquire at the barrier, report, and stay alive until everyone has tried."""
    start.wait()
    won = UucpLock("/dev/ttyS0", lock_dir=lock_dir).acquire()
    done.wait()
    sys.exit(0 if won else 1)


class TestAtomicity:
    """Concurrent acquirers: exactly one wins."""

    @pytest.mark.parametrize("stale", [False, True], ids=["free", "stale"])
    def test_race(self, tmp_path: Path, stale: bool) -> None:
        """Eight processes racing for the same line, five rounds: one winner each round, and the file is its."""
        ctx = multiprocessing.get_context("fork")
        for round_ in range(5):
            lock_dir = tmp_path / str(round_)
            lock_dir.mkdir()
            if stale:
                write_lock(lock_dir / "LCK..ttyS0", hdb(dead_pid()))
            start, done = ctx.Barrier(8), ctx.Barrier(8)
            procs = [ctx.Process(target=_race, args=(str(lock_dir), start, done)) for _ in range(8)]
            for proc in procs:
                proc.start()
            for proc in procs:
                proc.join(timeout=30)
            winners = [proc.pid or 0 for proc in procs if proc.exitcode == 0]
            assert 1 == len(winners), [proc.exitcode for proc in procs]
            assert hdb(winners[0]) == (lock_dir / "LCK..ttyS0").read_bytes()
            assert ["LCK..ttyS0"] == sorted(p.name for p in lock_dir.iterdir())


# --- real tools --------------------------------------------------------------------------------------------


def _system_lock_dir_usable() -> bool:
    """Whether cu and minicom can lock here: they run as uucp (or the user), so root's access is not enough.

    Debian makes /run/lock mode 1777 at boot (systemd-tmpfiles, legacy.conf); a root that never booted (a
    bare container) has it 0755, and cu then fails with "creat ... Permission denied".
    """
    mode = os.stat(SYSTEM_LOCK_DIR).st_mode
    return bool(mode & stat.S_IWOTH) and bool(mode & stat.S_IXOTH)


needs_cu = pytest.mark.skipif(
    shutil.which("cu") is None or not _system_lock_dir_usable(),
    reason="needs cu and a /run/lock that others can write (mode 1777, as systemd-tmpfiles sets it at boot)",
)
needs_minicom = pytest.mark.skipif(
    shutil.which("minicom") is None or not _system_lock_dir_usable(), reason="needs minicom and a writable /run/lock"
)


@pytest.fixture
def pty_line() -> Iterator[str]:
    """A pty slave path usable by cu (which drops root to uucp) and minicom, with no lock left behind."""
    master, slave = pty.openpty()
    path = os.ttyname(slave)
    os.chmod(path, 0o666)
    names = [os.path.join(SYSTEM_LOCK_DIR, name) for name in UucpLock(path).names]
    if any(os.path.exists(name) for name in names):
        os.close(master)
        os.close(slave)
        pytest.skip(f"a lock for {path} already exists")
    try:
        yield path
    finally:
        for name in names:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)
        os.close(master)
        os.close(slave)


def wait_for_lock(name: str, pid: int, timeout_s: float = 10.0) -> None:
    """Wait (with a deadline) until ``SYSTEM_LOCK_DIR/name`` names ``pid``: cu locks a moment after it starts."""
    path = os.path.join(SYSTEM_LOCK_DIR, name)
    deadline = time.monotonic() + timeout_s
    while True:
        with contextlib.suppress(FileNotFoundError):
            if pid == parse_lock_pid(Path(path).read_bytes()):
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"{path} never named pid {pid}")
        time.sleep(0.01)


def start_cu(line: str) -> subprocess.Popen[bytes]:
    """Start ``cu -l LINE`` with its own process group (cu forks a second process)."""
    return subprocess.Popen(
        ["cu", "-l", line, "-s", "9600"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )


def quit_cu(proc: subprocess.Popen[bytes]) -> tuple[bytes, bytes]:
    """Type cu's escape "~." and wait for it to hang up."""
    try:
        return proc.communicate(b"\r~.\r", timeout=10)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def run_cu_once(line: str) -> subprocess.CompletedProcess[bytes]:
    """Run ``cu -l LINE`` with no input: it exits at once, after locking (or failing to)."""
    return subprocess.run(
        ["cu", "-l", line, "-s", "9600"], stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False
    )


@needs_cu
class TestCu:
    """Taylor cu (Debian ``cu``) and answerd honour each other's locks."""

    def test_cu_lock_blocks_us(self, pty_line: str) -> None:
        """While cu holds the line we cannot take it and see cu's pid; after cu hangs up we can."""
        lock = UucpLock(pty_line, lock_dir=SYSTEM_LOCK_DIR)
        cu = start_cu(pty_line)
        try:
            wait_for_lock(lock.name, cu.pid)
            assert cu.pid == lock.holder()
            assert not lock.acquire()
        finally:
            quit_cu(cu)
        assert 0 == cu.returncode
        assert lock.acquire()
        lock.release()

    def test_our_lock_blocks_cu(self, pty_line: str) -> None:
        """While we hold the line cu refuses it with "Line in use" and leaves our lock alone."""
        with UucpLock(pty_line, lock_dir=SYSTEM_LOCK_DIR) as lock:
            out = run_cu_once(pty_line)
            assert 0 != out.returncode
            assert b"Line in use" in out.stderr
            assert hdb(os.getpid()) == Path(lock.path).read_bytes()

    def test_killed_cu_lock_taken_over(self, pty_line: str) -> None:
        """A lock left by a cu killed with SIGKILL is stale and ours to take."""
        lock = UucpLock(pty_line, lock_dir=SYSTEM_LOCK_DIR)
        cu = start_cu(pty_line)
        wait_for_lock(lock.name, cu.pid)
        os.killpg(cu.pid, signal.SIGKILL)
        cu.communicate(timeout=10)
        assert os.path.exists(lock.path)
        assert lock.acquire()
        lock.release()

    def test_cu_reads_our_stale_lock(self, pty_line: str) -> None:
        """cu parses our stale lock and names its pid; as root's file in sticky /run/lock, only we can remove it."""
        lock = UucpLock(pty_line, lock_dir=SYSTEM_LOCK_DIR)
        pid = dead_pid()
        write_lock(Path(lock.path), hdb(pid))
        out = run_cu_once(pty_line)
        assert f"Stale lock {lock.path.replace('/run/', '/var/')} held by process {pid}".encode() in out.stderr
        if os.geteuid() == 0 and os.stat(SYSTEM_LOCK_DIR).st_mode & stat.S_ISVTX:
            assert b"Operation not permitted" in out.stderr  # cu runs as uucp: the sticky bit protects root's file
            assert lock.acquire()  # ...but answerd, restarted as root, clears it

    def test_cu_via_symlink_seen(self, pty_line: str) -> None:
        """cu given a symlink locks the link's name; we check that name and back off."""
        with tempfile.TemporaryDirectory() as tmp:
            os.chmod(tmp, 0o755)  # cu runs as uucp and must reach the link
            modem = os.path.join(tmp, f"answerd-test-modem-{os.getpid()}")
            os.symlink(pty_line, modem)
            lock = UucpLock(modem, lock_dir=SYSTEM_LOCK_DIR)
            alias = os.path.join(SYSTEM_LOCK_DIR, lock.alias_names[0])
            cu = start_cu(modem)
            try:
                wait_for_lock(lock.alias_names[0], cu.pid)
                assert cu.pid == lock.holder()
                assert not lock.acquire()
                assert not os.path.exists(lock.path)
            finally:
                quit_cu(cu)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(alias)


def start_minicom(line: str) -> tuple[subprocess.Popen[bytes], int]:
    """Start minicom on ``line`` with a pty of its own as terminal; return it and that terminal's master fd."""
    term_master, term_slave = pty.openpty()
    proc = subprocess.Popen(
        ["minicom", "-D", line, "-b", "9600"],
        stdin=term_slave,
        stdout=term_slave,
        stderr=term_slave,
        env={**os.environ, "TERM": "vt100"},
        start_new_session=True,
    )
    os.close(term_slave)
    return proc, term_master


@needs_minicom
class TestMinicom:
    """minicom 2.8 locks /dev/pts/N as LCK..pts_N, which answerd checks as an alias."""

    def test_minicom_lock_blocks_us(self, pty_line: str) -> None:
        """While minicom holds the line we see its pid; once it is killed its stale lock is cleared."""
        lock = UucpLock(pty_line, lock_dir=SYSTEM_LOCK_DIR)
        minicom, term = start_minicom(pty_line)
        try:
            wait_for_lock(f"LCK..pts_{os.path.basename(pty_line)}", minicom.pid)
            assert minicom.pid == lock.holder()
            assert not lock.acquire()
        finally:
            minicom.kill()
            minicom.wait()
            os.close(term)
        assert lock.acquire()
        lock.release()
        assert [] == [n for n in lock.names if os.path.exists(os.path.join(SYSTEM_LOCK_DIR, n))]

    def test_minicom_honours_our_format(self, pty_line: str) -> None:
        """A lock written by UucpLock under minicom's name makes minicom refuse the line."""
        minicom_name = UucpLock(f"pts_{os.path.basename(pty_line)}", lock_dir=SYSTEM_LOCK_DIR)
        with minicom_name:
            minicom, term = start_minicom(pty_line)
            try:
                assert 1 == minicom.wait(timeout=10)
                assert b"is locked" in os.read(term, 4096)
            finally:
                if minicom.poll() is None:
                    minicom.kill()
                    minicom.wait()
                os.close(term)


class TestMgettyAndPppdFormat:
    """What mgetty's and pppd's readers make of our lock (their code paths, reproduced)."""

    def test_mgetty_readlock(self, lock: UucpLock) -> None:
        """mgetty reads 16 bytes, takes 4-byte files as binary, else sscanf("%d"): our file is 11 bytes of text."""
        lock.acquire()
        data = Path(lock.path).read_bytes()[:16]
        assert 4 != len(data)
        assert os.getpid() == int(data.split()[0])

    def test_pppd_reads_11_bytes(self, lock: UucpLock) -> None:
        """pppd reads 11 bytes and atoi()s them; our lock is exactly those 11 bytes."""
        lock.acquire()
        assert 11 == len(Path(lock.path).read_bytes())

    def test_mgetty_binary_lock_read(self, lock: UucpLock, sleeper: subprocess.Popen[bytes]) -> None:
        """A binary lock as mgetty writes with LOCKS_BINARY (native 4-byte int) names its holder."""
        write_lock(Path(lock.path), struct.pack("i", sleeper.pid))
        assert sleeper.pid == lock.holder()
