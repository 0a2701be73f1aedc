"""utmp/wtmp records: layout, in-place update, wtmp append, hostile strings, locking, and the real tools.

Every test writes to files in tmp_path (created empty first: like glibc, answerd never creates them); the real
``/run/utmp`` is never touched. ``utmpdump``, ``last`` (util-linux) and ``who`` (coreutils) read what we wrote.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from answerd.call.utmp import (
    RECORD,
    UtmpLockTimeout,
    UtmpRecord,
    UtType,
    read_records,
    utmp_id,
    write_login,
    write_logout,
)
from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent
T0 = 1_700_000_000.25  # 2023-11-14T22:13:20.25Z
DEADLINE_S = 10.0


@pytest.fixture(name="files")
def _files(tmp_path: Path) -> tuple[Path, Path]:
    utmp = tmp_path / "utmp"
    wtmp = tmp_path / "wtmp"
    utmp.touch()
    wtmp.touch()
    return utmp, wtmp


def login(files: tuple[Path, Path], **kwargs: object) -> UtmpRecord:
    """``write_login`` on the test files, with defaults for a call on ttyS0 answered at T0."""
    args: dict[str, object] = {"line": "ttyS0", "pid": 4242, "user": "LOGIN", "host": "+4930123456", "now": T0}
    args.update(kwargs)
    return write_login(utmp_path=files[0], wtmp_path=files[1], **args)  # type: ignore[arg-type]


def logout(files: tuple[Path, Path], **kwargs: object) -> UtmpRecord:
    """``write_logout`` on the test files, with defaults for the end of the ttyS0 call five minutes after T0."""
    args: dict[str, object] = {"line": "ttyS0", "pid": 4242, "now": T0 + 300}
    args.update(kwargs)
    return write_logout(utmp_path=files[0], wtmp_path=files[1], **args)  # type: ignore[arg-type]


def run_tool(*argv: str) -> str:
    """Run a system tool in UTC and return its stdout; skip the test if the tool is missing."""
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} not installed")
    env = {**os.environ, "TZ": "UTC", "LC_ALL": "C"}
    return subprocess.run(argv, capture_output=True, text=True, check=True, env=env, timeout=DEADLINE_S).stdout


def utmpdump_rows(path: Path) -> list[list[str]]:
    """``utmpdump`` output as rows of [type, pid, id, user, line, host, addr, time], padding stripped."""
    out = run_tool("utmpdump", str(path))
    return [[cell.strip() for cell in re.findall(r"\[(.*?)\]", row)] for row in out.splitlines() if row]


class TestLayout:
    """The record is glibc's ``struct utmp``."""

    def test_size_is_384(self) -> None:
        """A record is 384 bytes, as on every glibc Linux architecture."""
        assert 384 == RECORD.size
        assert 384 == len(UtmpRecord(type=UtType.EMPTY).pack())

    def test_offsets_match_the_c_header(self, tmp_path: Path) -> None:
        """Field offsets and sizes agree with ``offsetof`` in a C program compiled against ``<utmp.h>``."""
        cc = shutil.which("cc") or shutil.which("gcc")
        if cc is None or not Path("/usr/include/utmp.h").exists():
            pytest.skip("no C compiler or libc headers")
        source = tmp_path / "offsets.c"
        source.write_text(
            textwrap.dedent(
                """\
                #include <stdio.h>
                #include <stddef.h>
                #include <utmp.h>
                #define F(f) printf("%s %zu %zu\\n", #f, offsetof(struct utmp, f), sizeof(((struct utmp *)0)->f))
                int main(void) {
                    printf("size %zu 0\\n", sizeof(struct utmp));
                    F(ut_type); F(ut_pid); F(ut_line); F(ut_id); F(ut_user); F(ut_host); F(ut_exit);
                    F(ut_session); F(ut_tv); F(ut_addr_v6);
                    return 0;
                }
                """
            )
        )
        binary = tmp_path / "offsets"
        subprocess.run([cc, str(source), "-o", str(binary)], check=True, timeout=60)
        measured = {
            name: (int(offset), int(size))
            for name, offset, size in (row.split() for row in run_tool(str(binary)).splitlines())
        }
        expected = {
            "size": (384, 0),
            "ut_type": (0, 2),
            "ut_pid": (4, 4),
            "ut_line": (8, 32),
            "ut_id": (40, 4),
            "ut_user": (44, 32),
            "ut_host": (76, 256),
            "ut_exit": (332, 4),
            "ut_session": (336, 4),
            "ut_tv": (340, 8),
            "ut_addr_v6": (348, 16),
        }
        assert expected == measured

    def test_fields_land_at_their_offsets(self) -> None:
        """Each value is packed at the offset the header gives it."""
        data = UtmpRecord(
            type=UtType.USER_PROCESS,
            pid=0x01020304,
            line="ttyS0",
            id="tyS0",
            user="peer",
            host="caller",
            termination=5,
            exit=6,
            session=7,
            tv_sec=8,
            tv_usec=9,
            addr_v6=b"\x7f\0\0\x01" + bytes(12),
        ).pack()
        assert (7, 0x01020304) == (int.from_bytes(data[0:2], sys.byteorder), int.from_bytes(data[4:8], sys.byteorder))
        assert (b"ttyS0", b"tyS0", b"peer", b"caller") == (
            data[8:40].rstrip(b"\0"),
            data[40:44],
            data[44:76].rstrip(b"\0"),
            data[76:332].rstrip(b"\0"),
        )
        numbers = [int.from_bytes(data[start : start + 2], sys.byteorder) for start in (332, 334)]
        numbers += [int.from_bytes(data[start : start + 4], sys.byteorder) for start in (336, 340, 344)]
        assert [5, 6, 7, 8, 9] == numbers
        assert (b"\x7f\0\0\x01", bytes(20)) == (data[348:352], data[364:384])

    def test_glibc_finds_our_entry_by_line(self, files: tuple[Path, Path]) -> None:
        """glibc's own ``getutline`` on our file returns our entry, byte for byte."""
        libc_name = ctypes.util.find_library("c")
        if libc_name is None:
            pytest.skip("no libc")
        libc = ctypes.CDLL(libc_name)
        libc.utmpname.argtypes = [ctypes.c_char_p]
        libc.getutline.argtypes = [ctypes.c_char_p]
        libc.getutline.restype = ctypes.c_void_p
        login(files, line="ttyS1", pid=11, host="other")
        written = login(files, kind="user", user="peer")
        libc.utmpname(os.fsencode(files[0]))
        try:
            libc.setutent()
            key = UtmpRecord(type=UtType.USER_PROCESS, line="ttyS0").pack()
            found = libc.getutline(key)
            raw = ctypes.string_at(found, RECORD.size) if found else b""
        finally:
            libc.endutent()
            libc.utmpname(b"/var/run/utmp")
        assert written.pack() == raw


class TestRoundTrip:
    """What write_login and write_logout put in the files."""

    def test_login_entry_fields(self, files: tuple[Path, Path]) -> None:
        """A login entry carries the line without /dev/, the id suffix, pid, session, user, host and time."""
        login(files, line="/dev/ttyS0", host="CONNECT 33600/ARQ")
        [record] = read_records(files[0])
        assert (
            UtmpRecord(
                type=UtType.LOGIN_PROCESS,
                pid=4242,
                line="ttyS0",
                id="tyS0",
                user="LOGIN",
                host="CONNECT 33600/ARQ",
                session=4242,
                tv_sec=1_700_000_000,
                tv_usec=250_000,
            )
            == record
        )
        assert [record] == read_records(files[1])

    def test_user_kind_writes_user_process(self, files: tuple[Path, Path]) -> None:
        """``kind="user"`` writes a USER_PROCESS entry with the given name."""
        login(files, kind="user", user="peer1")
        [record] = read_records(files[0])
        assert (UtType.USER_PROCESS, "peer1") == (record.type, record.user)

    def test_logout_turns_the_entry_dead_and_appends_to_wtmp(self, files: tuple[Path, Path]) -> None:
        """Logout replaces the utmp entry with DEAD_PROCESS (user and host cleared); wtmp holds both records."""
        opened = login(files)
        closed = logout(files)
        [record] = read_records(files[0])
        assert (UtType.DEAD_PROCESS, "ttyS0", "tyS0", 4242, "", "") == (
            record.type,
            record.line,
            record.id,
            record.pid,
            record.user,
            record.host,
        )
        assert T0 + 300 == pytest.approx(record.time)
        assert [opened, closed] == read_records(files[1])

    def test_logout_closes_the_entry_login_rewrote(self, files: tuple[Path, Path]) -> None:
        """After /bin/login turned our entry into its USER_PROCESS (same id), logout still replaces it."""
        login(files)
        login_entry = UtmpRecord(type=UtType.USER_PROCESS, pid=4242, line="ttyS0", id="tyS0", user="alice")
        files[0].write_bytes(login_entry.pack())
        logout(files)
        assert [UtType.DEAD_PROCESS] == [record.type for record in read_records(files[0])]

    @pytest.mark.parametrize(("returncode", "status"), [(None, (0, 0)), (3, (0, 3)), (-9, (9, 0))])
    def test_exit_status(self, files: tuple[Path, Path], returncode: int | None, status: tuple[int, int]) -> None:
        """The child's return code goes to ut_exit: a signal to e_termination, an exit status to e_exit."""
        login(files)
        logout(files, returncode=returncode)
        [record] = read_records(files[0])
        assert status == (record.termination, record.exit)

    def test_explicit_ut_id_uses_its_suffix(self, files: tuple[Path, Path]) -> None:
        """An explicit ut_id (the unit's UtmpIdentifier) is used, cut to its last four characters."""
        login(files, line="ttyUSB0", ut_id="modem2")
        assert ["dem2"] == [record.id for record in read_records(files[0])]

    def test_utmp_id_is_the_name_suffix(self) -> None:
        """The default id is the last four characters of the tty name, as agetty and systemd choose it."""
        assert ["tyS0", "CM12", "S0"] == [utmp_id("/dev/ttyS0"), utmp_id("ttyACM12"), utmp_id("S0")]

    def test_partial_trailing_record_is_ignored_and_overwritten(self, files: tuple[Path, Path]) -> None:
        """A torn record at the end of either file is not read, and the next write replaces it."""
        files[0].write_bytes(b"\x07" * 100)
        files[1].write_bytes(b"\x07" * 100)
        assert [] == read_records(files[0])
        login(files)
        assert (RECORD.size, RECORD.size) == (files[0].stat().st_size, files[1].stat().st_size)

    def test_skipping_a_file(self, files: tuple[Path, Path]) -> None:
        """A path of None leaves that file alone."""
        write_login(line="ttyS0", pid=1, user="LOGIN", host="", utmp_path=None, wtmp_path=files[1])
        assert (0, RECORD.size) == (files[0].stat().st_size, files[1].stat().st_size)

    def test_empty_line_is_refused(self, files: tuple[Path, Path]) -> None:
        """An empty tty name is a programming error."""
        with pytest.raises(ValueError, match="empty"):
            login(files, line="/dev/")


class TestInPlaceUpdate:
    """utmp is updated in place, never grown by repeated calls on one line."""

    def test_second_login_replaces_the_entry(self, files: tuple[Path, Path]) -> None:
        """A second call on the same line overwrites its slot in utmp, while wtmp grows."""
        login(files)
        logout(files)
        login(files, pid=5000, host="second caller", now=T0 + 600)
        [record] = read_records(files[0])
        assert (UtType.LOGIN_PROCESS, 5000, "second caller") == (record.type, record.pid, record.host)
        assert 3 == len(read_records(files[1]))

    def test_unrelated_entries_are_preserved_byte_for_byte(self, files: tuple[Path, Path]) -> None:
        """Entries for other lines stay exactly as they were, before and after ours."""
        before = UtmpRecord(type=UtType.USER_PROCESS, pid=7, line="pts/0", id="ts/0", user="root", host="h").pack()
        after = UtmpRecord(type=UtType.BOOT_TIME, line="~", id="~~", user="reboot", host="6.1.0", tv_sec=5).pack()
        files[0].write_bytes(before + after)
        login(files)
        logout(files)
        login(files, pid=5000)
        data = files[0].read_bytes()
        assert (before, after) == (data[:384], data[384:768])
        assert 3 * RECORD.size == len(data)

    def test_dead_slot_of_another_line_is_reused(self, files: tuple[Path, Path]) -> None:
        """A DEAD_PROCESS slot is reused before the file grows."""
        login(files, line="ttyS1", pid=11)
        logout(files, line="ttyS1", pid=11)
        login(files)
        assert [("ttyS0", UtType.LOGIN_PROCESS)] == [(record.line, record.type) for record in read_records(files[0])]

    def test_stale_live_entry_for_the_line_is_replaced(self, files: tuple[Path, Path]) -> None:
        """A live entry for the same tty under another id (a previous getty) is replaced, not duplicated."""
        stale = UtmpRecord(type=UtType.LOGIN_PROCESS, pid=9, line="ttyS0", id="S0", user="LOGIN")
        files[0].write_bytes(stale.pack())
        login(files)
        assert [("tyS0", 4242)] == [(record.id, record.pid) for record in read_records(files[0])]


class TestHostileStrings:
    """Caller IDs and names come from the phone line."""

    def test_control_bytes_become_question_marks(self, files: tuple[Path, Path]) -> None:
        """Control and non-ASCII characters are replaced, so the tools print no escape sequences."""
        login(files, user="ev\x1bil\x00", host="+49\r\n\x1b]0;pwned\x07\u00e9\U0001f600")
        [record] = read_records(files[0])
        assert ("ev?il?", "+49???]0;pwned???") == (record.user, record.host)

    def test_long_values_are_truncated_to_the_fields(self, files: tuple[Path, Path]) -> None:
        """10 kB values are cut to 32 (user), 256 (host), 32 (line) and 4 (id) bytes, filling them completely."""
        login(files, line="L" * 10_000, user="U" * 10_000, host="\x01H" * 5_000, ut_id="I" * 10_000)
        data = files[0].read_bytes()
        [record] = read_records(files[0])
        assert RECORD.size == len(data)
        assert ("L" * 32, "IIII", "U" * 32, "?H" * 128) == (record.line, record.id, record.user, record.host)


class TestErrors:
    """Failures are OSErrors the daemon can log."""

    def test_missing_file_is_not_created(self, tmp_path: Path) -> None:
        """A missing utmp raises FileNotFoundError and is not created (accounting is off)."""
        with pytest.raises(FileNotFoundError):
            write_login(line="ttyS0", pid=1, user="LOGIN", host="", utmp_path=tmp_path / "utmp", wtmp_path=None)
        assert not (tmp_path / "utmp").exists()

    def test_missing_directory_still_writes_the_other_file(self, files: tuple[Path, Path], tmp_path: Path) -> None:
        """A utmp in a missing directory raises, but wtmp is still written."""
        with pytest.raises(OSError, match="utmp"):
            write_login(line="ttyS0", pid=1, user="x", host="", utmp_path=tmp_path / "no/utmp", wtmp_path=files[1])
        assert 1 == len(read_records(files[1]))

    def test_both_failures_are_reported(self, tmp_path: Path) -> None:
        """When both files fail, the utmp error is raised with a note naming the wtmp one."""
        with pytest.raises(FileNotFoundError) as caught:
            write_logout(line="ttyS0", pid=1, utmp_path=tmp_path / "u", wtmp_path=tmp_path / "w")
        assert str(tmp_path / "u") == caught.value.filename
        assert str(tmp_path / "w") in " ".join(caught.value.__notes__)


# Holds a write lock until its stdin gets a line (or closes), then says how big the file was while it was
# held, and ends (which releases the lock).
HOLD_LOCK = """
import fcntl, os, sys
fd = os.open(sys.argv[1], os.O_RDWR)
fcntl.lockf(fd, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.readline()
print(os.fstat(fd).st_size, flush=True)
"""

WRITER = """
import sys
from answerd.call.utmp import write_login, write_logout
line, count, utmp, wtmp = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
print("ready", flush=True)
sys.stdin.readline()
for i in range(count):
    write_login(line=line, pid=1000 + i, user="LOGIN", host=f"{line}-{i}", utmp_path=utmp, wtmp_path=wtmp)
    write_logout(line=line, pid=1000 + i, utmp_path=utmp, wtmp_path=wtmp)
write_login(line=line, pid=99, user="LOGIN", host="last", utmp_path=utmp, wtmp_path=wtmp)
"""


def has_open(path: Path) -> bool:
    """Whether this process has ``path`` open (a thread of the test is writing it)."""
    fds = Path("/proc/self/fd")
    return any(os.path.realpath(fds / fd) == str(path) for fd in os.listdir(fds) if (fds / fd).is_symlink())


class TestLocking:
    """Writers in other processes are excluded with the fcntl lock glibc uses."""

    def hold(self, path: Path) -> subprocess.Popen[str]:
        """A process holding a write lock on ``path`` until a line on its stdin, started and locked."""
        holder = subprocess.Popen(
            [sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert holder.stdout is not None
        assert "locked\n" == holder.stdout.readline()
        return holder

    def test_held_lock_times_out(self, files: tuple[Path, Path]) -> None:
        """A lock held too long raises UtmpLockTimeout (an OSError), and wtmp is still written."""
        holder = self.hold(files[0])
        try:
            with pytest.raises(UtmpLockTimeout) as caught:
                login(files, lock_timeout=0.3)
        finally:
            holder.kill()
            holder.wait()
        assert isinstance(caught.value, OSError)
        assert (0, 1) == (files[0].stat().st_size, len(read_records(files[1])))

    def test_waits_for_a_released_lock(self, files: tuple[Path, Path]) -> None:
        """A writer that finds the file locked writes nothing while the lock is held, and writes once it is free."""
        holder = self.hold(files[0])
        assert holder.stdin is not None
        assert holder.stdout is not None
        writer = threading.Thread(target=login, args=(files,), kwargs={"lock_timeout": DEADLINE_S})
        writer.start()
        try:
            # The writer opens the file and then takes the lock: once it has the file open it is at the lock.
            wait_until(lambda: has_open(files[0]), DEADLINE_S, "the writer to open utmp")
            holder.stdin.write("release\n")
            holder.stdin.flush()
            size_while_held = int(holder.stdout.readline())
        finally:
            holder.stdin.close()
            holder.wait(timeout=DEADLINE_S)
            writer.join(DEADLINE_S)
        assert (0, False, 1) == (size_while_held, writer.is_alive(), len(read_records(files[0])))

    def test_concurrent_writers_lose_nothing(self, files: tuple[Path, Path]) -> None:
        """Four processes writing different lines at once all end up in utmp, and wtmp has every record."""
        lines = ["ttyS0", "ttyS1", "ttyS2", "ttyS3"]
        count = 150
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        writers = [
            subprocess.Popen(
                [sys.executable, "-c", WRITER, line, str(count), str(files[0]), str(files[1])],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
                env=env,
            )
            for line in lines
        ]
        for writer in writers:
            assert writer.stdout is not None
            assert "ready\n" == writer.stdout.readline()
        for writer in writers:
            assert writer.stdin is not None
            writer.stdin.write("go\n")
            writer.stdin.close()
        assert [0] * len(lines) == [writer.wait(timeout=DEADLINE_S * 3) for writer in writers]
        utmp = read_records(files[0])
        assert sorted((line, UtType.LOGIN_PROCESS, "last") for line in lines) == sorted(
            (record.line, record.type, record.host) for record in utmp
        )
        wtmp = read_records(files[1])
        assert (2 * count + 1) * len(lines) * RECORD.size == files[1].stat().st_size
        assert dict.fromkeys(lines, 2 * count + 1) == {
            line: sum(record.line == line for record in wtmp) for line in lines
        }


class TestRealTools:
    """The system's own tools read our files."""

    def test_utmpdump_shows_the_entry(self, files: tuple[Path, Path]) -> None:
        """``utmpdump`` prints our type, pid, id, user, line, host and time."""
        login(files, kind="user", user="peer1", host="CONNECT 33600/ARQ")
        rows = utmpdump_rows(files[0])
        assert [["7", "04242", "tyS0", "peer1", "ttyS0", "CONNECT 33600/ARQ", "0.0.0.0"]] == [row[:7] for row in rows]
        assert rows[0][7].startswith("2023-11-14T22:13:20,250000")

    def test_utmpdump_shows_login_and_dead_records_in_wtmp(self, files: tuple[Path, Path]) -> None:
        """``utmpdump`` of wtmp shows the LOGIN_PROCESS then the DEAD_PROCESS record with user and host empty."""
        login(files)
        logout(files)
        rows = utmpdump_rows(files[1])
        assert [["6", "tyS0", "LOGIN", "ttyS0", "+4930123456"], ["8", "tyS0", "", "ttyS0", ""]] == [
            [row[0], row[2], row[3], row[4], row[5]] for row in rows
        ]

    def test_last_lists_the_closed_session(self, files: tuple[Path, Path]) -> None:
        """``last -f wtmp`` lists a USER_PROCESS session with its end time and duration."""
        login(files, kind="user", user="peer1", host="+4930123456")
        logout(files)
        out = run_tool("last", "-w", "-f", str(files[1]))
        [row] = [row for row in out.splitlines() if "ttyS0" in row]
        assert ["peer1", "ttyS0", "+4930123456"] == row.split()[:3]
        assert "22:13 - 22:18" in row
        assert "(00:05)" in row

    def test_last_shows_an_open_session(self, files: tuple[Path, Path]) -> None:
        """Without a logout record, ``last`` shows the session open (live, or gone if its process is)."""
        login(files, kind="user", user="peer1")
        out = run_tool("last", "-w", "-f", str(files[1]))
        [row] = [row for row in out.splitlines() if "ttyS0" in row]
        assert re.search(r"still logged in|gone - no logout", row)

    def test_who_lists_a_user_process(self, files: tuple[Path, Path]) -> None:
        """``who <utmp>`` lists a USER_PROCESS entry with its line and host, and nothing once it is dead."""
        login(files, kind="user", user="peer1", host="+4930123456")
        [row] = run_tool("who", str(files[0])).splitlines()
        assert ["peer1", "ttyS0"] == row.split()[:2]
        assert row.endswith("(+4930123456)")
        logout(files)
        assert "" == run_tool("who", str(files[0]))
