"""The handed-off program: clean environment, session membership, start on a pty, wait, stop, reap.

Children are small Python scripts run with this interpreter; they report what they see (session, controlling
tty, fds) to a file, and say ``ready`` on the tty once their signal dispositions are in place.
"""

from __future__ import annotations

import asyncio
import json
import os
import select
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import answerd.call.session as session_module
from answerd.call.environment import MAX_VALUE_LENGTH, SAFE_PATH, clean_environment
from answerd.call.session import Session, SpawnError, group_alive, group_members
from tests.helpers import alive, session_started, wait_until, wait_until_async

DEADLINE_S = 3.0
#: Writes a child script to tmp_path: ``script(name, source, *args)`` returns the argv that runs it.
ScriptMaker = Callable[..., list[str]]

FACTS = """
import fcntl, json, os, struct, sys, termios
stat = open("/proc/self/stat").read()
fields = stat[stat.rfind(")") + 2 :].split()
sid_of_tty = struct.unpack("i", fcntl.ioctl(0, getattr(termios, "TIOCGSID", 0x5429), struct.pack("i", 0)))[0]
facts = {
    "pid": os.getpid(),
    "sid": os.getsid(0),
    "pgrp": os.getpgrp(),
    "tty_sid": sid_of_tty,
    "ctty_rdev": int(fields[4]),
    "fd_rdevs": [os.fstat(fd).st_rdev for fd in (0, 1, 2)],
    "foreground": os.tcgetpgrp(0),
    "env": dict(os.environ),
    "cwd": os.getcwd(),
}
with open(sys.argv[1], "w") as out:
    json.dump(facts, out)
"""

IGNORING = """
import signal, sys, time
for name in sys.argv[1:]:
    signal.signal(getattr(signal, name), signal.SIG_IGN)
print("ready", flush=True)
while True:
    signal.pause()
"""

LEAVES_CHILD = """
import signal, subprocess
signal.signal(signal.SIGHUP, signal.SIG_IGN)  # inherited by the grandchild across exec
child = subprocess.Popen(["/bin/sleep", "30"])
print(f"grandchild {child.pid}", flush=True)
"""

LEAVES_POLITE_CHILD = """
import subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE)
child.stdout.readline()  # its handlers are in place
print(f"grandchild {child.pid}", flush=True)
"""

# Starts POLITE_IN_GROUP and waits, in the foreground group, until the hang-up ends it.
LEAVES_POLITE_CHILD_WAITS = """
import signal, subprocess, sys
child = subprocess.Popen([sys.executable, "-c", sys.argv[1], sys.argv[2]], stdout=subprocess.PIPE)
child.stdout.readline()  # its handlers are in place
print(f"grandchild {child.pid} ready", flush=True)
while True:
    signal.pause()
"""

# Stays in the program's process group; ends on SIGHUP after a short cleanup, and notes a SIGTERM in a file.
POLITE_IN_GROUP = """
import os, signal, sys, time
def on_hup(*_):
    time.sleep(0.05)
    os._exit(0)
def on_term(*_):
    open(sys.argv[1], "w").write("TERM")
    os._exit(1)
signal.signal(signal.SIGHUP, on_hup)
signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
while True:
    signal.pause()
"""

# Leaves the tty's foreground group, so the kernel's hang-up when the leader exits does not reach it; then
# behaves as POLITE_IN_GROUP.
POLITE = "import os\nos.setpgid(0, 0)\n" + POLITE_IN_GROUP


# The session leader itself: on SIGHUP it cleans up for a moment and exits 0; a SIGTERM is noted in a file.
SLOW_HANGUP = """
import signal, sys, time
def on_hup(*_):
    time.sleep(0.2)
    sys.exit(0)
def on_term(*_):
    open(sys.argv[1], "w").write("TERM")
    sys.exit(1)
signal.signal(signal.SIGHUP, on_hup)
signal.signal(signal.SIGTERM, on_term)
print("ready", flush=True)
while True:
    signal.pause()
"""


@dataclass
class Pty:
    """A pty pair: the slave fd goes to the child, the master reads what it prints."""

    master: int
    slave: int

    def wait_for(self, marker: bytes, timeout_s: float = DEADLINE_S) -> bytes:
        """Read the master until ``marker`` appears; return everything read."""
        out = b""
        deadline = time.monotonic() + timeout_s
        while marker not in out:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"timed out waiting for {marker!r}, got {out!r}"
            ready, _, _ = select.select([self.master], [], [], remaining)
            if ready:
                try:
                    out += os.read(self.master, 4096)
                except OSError:  # EIO: no slave open any more
                    break
        return out


@pytest.fixture(name="pty")
def _pty() -> Iterator[Pty]:
    master, slave = os.openpty()
    yield Pty(master, slave)
    os.close(slave)
    os.close(master)


@pytest.fixture(name="script")
def _script(tmp_path: Path) -> ScriptMaker:
    """Writes a child script to tmp_path and returns its argv."""

    def make(name: str, source: str, *args: str) -> list[str]:
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        return [sys.executable, str(path), *args]

    return make


@pytest.fixture(name="spare")
def _spare() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts itself; killed at the end."""
    procs: list[subprocess.Popen[bytes]] = []
    yield procs
    for proc in procs:
        proc.kill()
        proc.wait()


class TestCleanEnvironment:
    """The child's whole environment."""

    def test_only_path_term_and_call_vars(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """PATH, TERM and the call's known variables, nothing from the daemon's environment."""
        monkeypatch.setenv("NOTIFY_SOCKET", "/run/systemd/notify")
        monkeypatch.setenv("WATCHDOG_USEC", "1000")
        env = clean_environment({"CALLER_ID": "5551234", "CONNECT": "33600"}, "vt100")
        assert {"PATH": SAFE_PATH, "TERM": "vt100", "CALLER_ID": "5551234", "CONNECT": "33600"} == env

    def test_unknown_values_left_out(self) -> None:
        """A call variable whose value is None is not set at all."""
        env = clean_environment({"CALLER_ID": None, "CALLER_NAME": None, "CONNECT": "2400"}, "vt100")
        assert {"PATH", "TERM", "CONNECT"} == set(env)

    def test_no_term(self) -> None:
        """term=None leaves TERM out."""
        assert {"PATH": SAFE_PATH} == clean_environment({}, None)

    def test_empty_string_is_kept(self) -> None:
        """An empty but known value is kept (only None means unknown)."""
        assert "" == clean_environment({"CALLER_ID": ""}, None)["CALLER_ID"]

    @pytest.mark.parametrize(
        ("value", "cleaned"),
        [
            ("555\x001234", "555?1234"),
            ("555\x1b[31m1", "555?[31m1"),
            ("JOHN\r\nX=1", "JOHN??X=1"),
            ("A\x7f\x9bB", "A??B"),
            ("$(id);`id`'\"", "$(id);`id`'\""),  # no shell reads it: metacharacters are plain text
            ("7" * 10240, "7" * MAX_VALUE_LENGTH),
        ],
    )
    def test_values_from_the_line_are_cleaned(self, value: str, cleaned: str) -> None:
        """Control characters become '?' (never dropped, so nothing runs together) and length is capped."""
        assert cleaned == clean_environment({"CALLER_ID": value}, None)["CALLER_ID"]

    def test_path_is_the_safe_one(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """PATH is the fixed system one, never the daemon's."""
        monkeypatch.setenv("PATH", "/tmp/evil:/usr/bin")
        assert SAFE_PATH == clean_environment({}, "vt100")["PATH"]


class TestGroupMembers:
    """Finding what is left in the program's process group: killpg first, /proc only when something is."""

    def test_finds_group_leader(self, spare: list[subprocess.Popen[bytes]]) -> None:
        """A `setsid sleep` child is the one member of its own process group."""
        proc = subprocess.Popen(["setsid", "sleep", "30"])
        spare.append(proc)
        # setsid() runs in the child after fork: wait (with a deadline) until the group exists.
        wait_until(lambda: session_started(proc.pid), DEADLINE_S, "setsid in the child")
        assert ([proc.pid], 1) == (group_members(proc.pid), group_alive(proc.pid))

    def test_finds_every_member(self, spare: list[subprocess.Popen[bytes]]) -> None:
        """A group with a leader and a background child (no job control: same group) counts both."""
        proc = subprocess.Popen(["setsid", "sh", "-c", "sleep 30 & echo $!; exec sleep 30"], stdout=subprocess.PIPE)
        spare.append(proc)
        assert proc.stdout is not None
        background = int(proc.stdout.readline())
        try:
            wait_until(lambda: group_alive(proc.pid) == 2, DEADLINE_S, "both members")
            assert sorted([proc.pid, background]) == sorted(group_members(proc.pid))
        finally:
            os.kill(background, signal.SIGKILL)

    def test_ignores_other_groups(self, spare: list[subprocess.Popen[bytes]]) -> None:
        """Processes of another group, and our own, are not members."""
        first = subprocess.Popen(["setsid", "sleep", "30"])
        second = subprocess.Popen(["setsid", "sleep", "30"])
        plain = subprocess.Popen(["sleep", "30"])
        spare.extend([first, second, plain])
        # Both groups must exist before the look: a child that has not run setsid() yet is still in ours,
        # and the test would pass or fail by timing, not by what group_members does.
        wait_until(lambda: session_started(first.pid) and session_started(second.pid), DEADLINE_S, "setsid")
        members = group_members(first.pid)
        assert (True, False, False, False) == (
            first.pid in members,
            second.pid in members,
            plain.pid in members,
            os.getpid() in members,
        )

    def test_empty_for_unused_group(self, spare: list[subprocess.Popen[bytes]]) -> None:
        """A process group id no process has counts 0 (killpg's ESRCH, /proc not read)."""
        proc = subprocess.Popen(["sleep", "30"])  # not a group leader: its pid is no group's id
        spare.append(proc)
        assert (0, []) == (group_alive(proc.pid), group_members(proc.pid))

    def test_zombie_left_out(self, spare: list[subprocess.Popen[bytes]]) -> None:
        """A member that has exited but was not reaped yet (a zombie) is not counted, though killpg sees it."""
        proc = subprocess.Popen(["setsid", "true"])
        spare.append(proc)
        wait_until(lambda: not alive(proc.pid), DEADLINE_S, "the child to exit")
        assert Path(f"/proc/{proc.pid}").exists(), "a zombie, not reaped yet"
        os.killpg(proc.pid, 0)  # the kernel still counts the zombie in its group
        assert 0 == group_alive(proc.pid)

    def test_command_name_with_parentheses_and_spaces(
        self, tmp_path: Path, spare: list[subprocess.Popen[bytes]]
    ) -> None:
        """A command name like `a) 1 X (b` does not shift the fields (split after the last ')')."""
        own = os.getpgrp()
        other = subprocess.Popen(["sleep", "30"])  # in our group too: getpgid agrees, the stat text decides
        spare.append(other)
        fake = {os.getpid(): (f"a) 1 {own + 1} (b", own), other.pid: (f"x) {own} {own} {own} (", own + 1)}
        for pid, (comm, group) in fake.items():
            (tmp_path / str(pid)).mkdir()
            (tmp_path / str(pid) / "stat").write_text(f"{pid} ({comm}) S 1 {group} {group} 0 -1 4194560 0 0\n")
        (tmp_path / "self").mkdir()
        assert [os.getpid()] == group_members(own, proc=tmp_path)

    def test_vanished_process_skipped(self, tmp_path: Path) -> None:
        """A /proc entry without a readable stat (process just exited) is skipped."""
        own = os.getpgrp()
        (tmp_path / str(os.getpid())).mkdir()
        assert [] == group_members(own, proc=tmp_path)


class TestStart:
    """Starting the program on the tty."""

    @pytest.fixture(name="facts")
    def _facts(self, pty: Pty, script: ScriptMaker, tmp_path: Path) -> dict[str, object]:
        out = tmp_path / "facts.json"
        argv = script("facts", FACTS, str(out))

        async def main() -> int | None:
            session = await Session.start(argv, tty_fd=pty.slave, env={"PATH": SAFE_PATH, "CONNECT": "9600"})
            return (await session.wait()).returncode

        assert 0 == asyncio.run(main())
        facts: dict[str, object] = json.loads(out.read_text())
        return facts

    def test_child_is_session_leader(self, facts: dict[str, object]) -> None:
        """The program's pid is its session id (setsid did not fork) and its process group."""
        assert (facts["pid"], facts["pid"]) == (facts["sid"], facts["pgrp"])

    def test_pty_is_controlling_tty(self, pty: Pty, facts: dict[str, object]) -> None:
        """The pty is the program's controlling terminal."""
        assert os.fstat(pty.slave).st_rdev == facts["ctty_rdev"]

    def test_tty_belongs_to_child_session(self, facts: dict[str, object]) -> None:
        """The tty's session is the program's, and its foreground group is the program's group."""
        assert (facts["pid"], facts["pgrp"]) == (facts["tty_sid"], facts["foreground"])

    def test_standard_fds_are_the_pty(self, pty: Pty, facts: dict[str, object]) -> None:
        """fds 0, 1 and 2 are the pty."""
        assert [os.fstat(pty.slave).st_rdev] * 3 == facts["fd_rdevs"]

    def test_environment_is_exactly_given(self, facts: dict[str, object]) -> None:
        """The program sees only the given environment (plus what Python adds for itself)."""
        env = dict(facts["env"])  # type: ignore[call-overload]
        env.pop("LC_CTYPE", None)  # Python's C-locale coercion may add it in the child itself
        assert {"PATH": SAFE_PATH, "CONNECT": "9600"} == env

    def test_working_directory_is_root(self, facts: dict[str, object]) -> None:
        """The program starts in /."""
        assert "/" == facts["cwd"]

    def test_missing_program(self, pty: Pty, tmp_path: Path) -> None:
        """A program that does not exist raises SpawnError."""
        with pytest.raises(SpawnError):
            asyncio.run(Session.start([str(tmp_path / "no-such-program")], tty_fd=pty.slave, env={}))

    def test_not_executable(self, pty: Pty, tmp_path: Path) -> None:
        """A file without execute permission raises SpawnError."""
        program = tmp_path / "program"
        program.write_text("#!/bin/sh\n")
        program.chmod(0o644)
        with pytest.raises(SpawnError):
            asyncio.run(Session.start([str(program)], tty_fd=pty.slave, env={}))

    def test_setsid_missing(self, pty: Pty, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without util-linux's setsid in its fixed places the program is not started: SpawnError."""
        monkeypatch.setattr(session_module, "SETSID_CANDIDATES", (str(tmp_path / "setsid"),))
        with pytest.raises(SpawnError, match="setsid"):
            asyncio.run(Session.start(["/bin/true"], tty_fd=pty.slave, env={}))


class TestFindSetsid:
    """setsid is looked up in /usr/bin, then /bin, as shutil.which(path="/usr/bin:/bin") did."""

    def test_system_setsid(self) -> None:
        """On this machine (util-linux installed) it is one of the fixed paths, never found through PATH."""
        assert session_module._find_setsid() in ("/usr/bin/setsid", "/bin/setsid")

    def test_first_executable_regular_file_wins(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """Missing paths, directories and files without execute permission are skipped, in order."""
        for name in ("dir", "found-dir"):
            (tmp_path / name).mkdir()
        (tmp_path / "dir" / "setsid").mkdir()
        (tmp_path / "plain").write_text("#!/bin/sh\n")
        (tmp_path / "plain").chmod(0o644)  # no x bit at all: not executable even for root
        for name in ("first", "second"):
            (tmp_path / name).write_text("#!/bin/sh\n")
            (tmp_path / name).chmod(0o755)
        candidates = [tmp_path / "missing", tmp_path / "dir" / "setsid", tmp_path / "plain", tmp_path / "first"]
        monkeypatch.setattr(session_module, "SETSID_CANDIDATES", (*map(str, candidates), str(tmp_path / "second")))
        assert str(tmp_path / "first") == session_module._find_setsid()

    def test_symlink_to_executable_counts(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A symlink (/bin -> usr/bin on merged-/usr systems) is followed; its own path is returned."""
        (tmp_path / "real").write_text("#!/bin/sh\n")
        (tmp_path / "real").chmod(0o755)
        (tmp_path / "link").symlink_to(tmp_path / "real")
        monkeypatch.setattr(session_module, "SETSID_CANDIDATES", (str(tmp_path / "link"),))
        assert str(tmp_path / "link") == session_module._find_setsid()

    def test_none_found(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """None when no candidate qualifies."""
        (tmp_path / "setsid").mkdir()
        monkeypatch.setattr(session_module, "SETSID_CANDIDATES", (str(tmp_path / "setsid"), str(tmp_path / "no")))
        assert session_module._find_setsid() is None


class TestWait:
    """A program that ends by itself."""

    def test_returncode(self, pty: Pty, script: ScriptMaker) -> None:
        """wait() reports the exit status; not stopped by us, no signal."""
        argv = script("exit7", "import sys; sys.exit(7)")

        async def main() -> tuple[int | None, int | None, bool]:
            session = await Session.start(argv, tty_fd=pty.slave, env={})
            result = await session.wait()
            return result.returncode, result.signal, result.stopped_by_us

        assert (7, None, False) == asyncio.run(main())

    def test_pid_reported(self, pty: Pty, script: ScriptMaker) -> None:
        """The result carries the program's pid and a non-negative duration."""
        argv = script("exit0", "pass")

        async def main() -> tuple[int, int, float]:
            session = await Session.start(argv, tty_fd=pty.slave, env={})
            result = await session.wait()
            return session.pid, result.pid, result.duration_s

        pid, result_pid, duration = asyncio.run(main())
        assert (pid, True) == (result_pid, duration >= 0)


class TestStop:
    """Ending the session: SIGHUP, then SIGTERM, then SIGKILL."""

    def stop_after_ready(self, pty: Pty, argv: list[str], grace_s: float = 0.2) -> tuple[int | None, bool, int]:
        """Start ``argv``, wait for its ``ready``, stop it; return (signal, stopped_by_us, members left).

        A program that exits with a status rather than by a signal gives ``None`` as its signal.
        """

        async def main() -> tuple[int | None, bool, int]:
            session = await Session.start(argv, tty_fd=pty.slave, env={})
            await asyncio.get_running_loop().run_in_executor(None, pty.wait_for, b"ready")
            result = await session.stop(grace_s)
            return result.signal, result.stopped_by_us, group_alive(session.pid)

        return asyncio.run(main())

    def test_hangup_ends_plain_program(self, pty: Pty, script: ScriptMaker) -> None:
        """A program with default dispositions ends on SIGHUP."""
        argv = script("plain", IGNORING)
        assert (signal.SIGHUP, True, 0) == self.stop_after_ready(pty, argv)

    def test_term_after_ignored_hangup(self, pty: Pty, script: ScriptMaker) -> None:
        """A program ignoring SIGHUP gets SIGTERM after the grace time."""
        argv = script("nohup", IGNORING, "SIGHUP")
        assert (signal.SIGTERM, True, 0) == self.stop_after_ready(pty, argv)

    def test_kill_after_ignored_term(self, pty: Pty, script: ScriptMaker) -> None:
        """A program ignoring SIGHUP and SIGTERM gets SIGKILL."""
        argv = script("stubborn", IGNORING, "SIGHUP", "SIGTERM")
        assert (signal.SIGKILL, True, 0) == self.stop_after_ready(pty, argv)

    def test_slow_hangup_handler_gets_its_grace(self, pty: Pty, script: ScriptMaker, tmp_path: Path) -> None:
        """A program that takes a moment to end after SIGHUP ends by itself: no SIGTERM within the grace time."""
        marker = tmp_path / "term"
        argv = script("slow", SLOW_HANGUP, str(marker))
        assert (None, True, 0) == self.stop_after_ready(pty, argv, grace_s=DEADLINE_S)
        assert not marker.exists(), "SIGTERM came before the program had its grace time after SIGHUP"

    def test_stop_after_exit_is_not_ours(self, pty: Pty, script: ScriptMaker) -> None:
        """stop() on a program that already ended keeps its status and stopped_by_us False."""
        argv = script("exit3", "import sys; sys.exit(3)")

        async def main() -> tuple[int | None, bool]:
            session = await Session.start(argv, tty_fd=pty.slave, env={})
            await session.wait()
            result = await session.stop(0.2)
            return result.returncode, result.stopped_by_us

        assert (3, False) == asyncio.run(main())


class TestReapSession:
    """What the program leaves behind in its session."""

    def test_grandchild_found_and_killed(self, pty: Pty, script: ScriptMaker) -> None:
        """A grandchild still in the session after the leader exits is counted and ended."""
        argv = script("leaves", LEAVES_CHILD)

        async def main() -> tuple[bool, int, bool]:
            session = await Session.start(argv, tty_fd=pty.slave, env={})
            out = await asyncio.get_running_loop().run_in_executor(None, pty.wait_for, b"\n")
            grandchild = int(out.split()[1])
            await session.wait()
            member = grandchild in group_members(session.pid)
            left = await session.reap_session(0.2)
            await wait_until_async(lambda: not alive(grandchild), DEADLINE_S, "the leftover to end")
            return member, left, alive(grandchild)

        assert (True, 1, False) == asyncio.run(main())

    def test_nothing_left(self, pty: Pty, script: ScriptMaker) -> None:
        """After a program that leaves nothing behind, reap_session returns 0."""
        argv = script("exit0", "pass")

        async def main() -> int:
            session = await Session.start(argv, tty_fd=pty.slave, env={})
            await session.wait()
            return await session.reap_session(0.2)

        assert 0 == asyncio.run(main())

    def test_leftover_in_group_gets_grace_after_hangup(self, pty: Pty, script: ScriptMaker, tmp_path: Path) -> None:
        """A process left in the program's group that ends promptly on SIGHUP gets no SIGTERM within the grace."""
        marker = tmp_path / "term"
        argv = script("polite", LEAVES_POLITE_CHILD_WAITS, textwrap.dedent(POLITE_IN_GROUP), str(marker))

        async def main() -> tuple[int | None, bool]:
            session = await Session.start(argv, tty_fd=pty.slave, env={})
            out = await asyncio.get_running_loop().run_in_executor(None, pty.wait_for, b"ready")
            grandchild = int(out.split()[1])
            result = await session.stop(DEADLINE_S)
            return result.signal, alive(grandchild)

        assert (signal.SIGHUP, False) == asyncio.run(main())
        assert not marker.exists(), "the leftover got SIGTERM right after SIGHUP, without any grace"

    def test_process_that_left_the_group_is_not_counted(self, pty: Pty, script: ScriptMaker, tmp_path: Path) -> None:
        """A leftover that moved to a process group of its own (setpgid) is outside what answerd looks at."""
        argv = script("polite", LEAVES_POLITE_CHILD, textwrap.dedent(POLITE), str(tmp_path / "term"))

        async def main() -> tuple[int, int]:
            session = await Session.start(argv, tty_fd=pty.slave, env={})
            out = await asyncio.get_running_loop().run_in_executor(None, pty.wait_for, b"\n")
            grandchild = int(out.split()[1])
            try:
                await session.wait()
                return await session.reap_session(0.2), os.getpgid(grandchild) - grandchild
            finally:
                os.kill(grandchild, signal.SIGKILL)

        assert (0, 0) == asyncio.run(main())
