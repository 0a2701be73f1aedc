"""The decision program's plumbing: its stderr goes to an anonymous memory file, read back bounded for the log.

The verdicts themselves (exit status, timeout, on_error, running as nobody) are checked end to end in
tests/integration/test_screening.py; these tests cover the pieces below them without a modem.
"""

from __future__ import annotations

import asyncio
import errno
import os
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

import answerd.call.screening as screening
from answerd.core import CallerInfo, CallRecord, Outcome

MFD_NOEXEC_SEAL = 0x0008


class RecordingLog:
    """A structlog stand-in that keeps (level, event, fields)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def info(self, event: str, **fields: Any) -> None:
        self.events.append(("info", event, fields))

    def warning(self, event: str, **fields: Any) -> None:
        self.events.append(("warning", event, fields))

    def error(self, event: str, **fields: Any) -> None:
        self.events.append(("error", event, fields))


def open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


class TestAnonymousFile:
    def test_read_write_unnamed_close_on_exec(self) -> None:
        """A read-write file that lives in no directory, not inherited by exec, closed by its with-block."""
        with screening._anonymous_file("answerd-test") as f:
            fd = f.fileno()
            assert os.readlink(f"/proc/self/fd/{fd}").startswith("/memfd:answerd-test")
            assert not os.get_inheritable(fd)
            f.write(b"hello")
            f.flush()
            f.seek(0)
            assert b"hello" == f.read()
        assert f.closed
        with pytest.raises(OSError) as info:
            os.fstat(fd)
        assert errno.EBADF == info.value.errno

    def test_not_executable_where_the_kernel_can_say_so(self) -> None:
        """On Linux 6.3+ it is made with MFD_NOEXEC_SEAL: no execute bits (and no kernel warning)."""
        try:
            os.close(os.memfd_create("probe", os.MFD_CLOEXEC | MFD_NOEXEC_SEAL))
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            pytest.skip("kernel older than 6.3: no MFD_NOEXEC_SEAL")
        with screening._anonymous_file("answerd-test") as f:
            assert 0 == os.fstat(f.fileno()).st_mode & 0o111

    def test_old_kernel_without_noexec_seal(self) -> None:
        """A kernel that rejects MFD_NOEXEC_SEAL (EINVAL, before 6.3) gets a plain close-on-exec memfd."""
        real = os.memfd_create
        flags_seen: list[int] = []

        def memfd_create(name: str, flags: int = os.MFD_CLOEXEC) -> int:
            flags_seen.append(flags)
            if flags & MFD_NOEXEC_SEAL:
                raise OSError(errno.EINVAL, "Invalid argument")
            return real(name, flags)

        with screening._anonymous_file("answerd-test", memfd_create) as f:
            assert not os.get_inheritable(f.fileno())
        assert [os.MFD_CLOEXEC | MFD_NOEXEC_SEAL, os.MFD_CLOEXEC] == flags_seen

    def test_other_errors_are_raised(self) -> None:
        """Only EINVAL means "flag unknown": anything else (out of fds) is not retried."""
        calls: list[int] = []

        def memfd_create(name: str, flags: int = os.MFD_CLOEXEC) -> int:
            calls.append(flags)
            raise OSError(errno.EMFILE, "Too many open files")

        with pytest.raises(OSError) as info:
            screening._anonymous_file("answerd-test", memfd_create)
        assert (errno.EMFILE, 1) == (info.value.errno, len(calls))


def run_decision(script: str, *, timeout_s: float = 10.0) -> tuple[tuple[int | None, bool], RecordingLog]:
    """Run ``sh -c script`` as the decision program; its result and what was logged."""
    settings: Any = SimpleNamespace(
        decision_program=["/bin/sh", "-c", script, "decide"], decision_user="nobody", decision_timeout_s=timeout_s
    )
    record = CallRecord(
        call_id=1, outcome=Outcome.ANSWERED, started_at=0.0, ended_at=0.0, caller=CallerInfo(number="5551234")
    )
    log = RecordingLog()
    result = asyncio.run(screening._run_decision_program(settings, "ttyS0", record, None, log))
    return result, log


class TestDecisionProgramOutput:
    def test_stderr_is_logged_with_the_exit_status(self) -> None:
        """What the program wrote to stderr reaches the log line with its exit status; no fd is left open."""
        before = open_fds()
        result, log = run_decision('echo "caller $CALLER_ID not today" >&2; exit 1')
        assert (1, False) == result
        [(level, event, fields)] = log.events
        assert ("info", "call.decision_program") == (level, event)
        assert (1, "caller 5551234 not today\n") == (fields["exit_status"], fields["output"])
        assert before == open_fds()

    def test_output_is_bounded(self) -> None:
        """Only the first MAX_PROGRAM_OUTPUT bytes are read back, however much the program wrote."""
        result, log = run_decision("i=0; while [ $i -lt 100 ]; do printf '%0100d' 0 >&2; i=$((i+1)); done; exit 0")
        assert (0, False) == result
        assert "0" * screening.MAX_PROGRAM_OUTPUT == log.events[0][2]["output"]

    def test_stdout_is_not_captured(self) -> None:
        """stdout goes to /dev/null: only stderr is kept."""
        _, log = run_decision("echo to-stdout; echo to-stderr >&2")
        assert "to-stderr\n" == log.events[0][2]["output"]

    def test_timeout(self) -> None:
        """A program still running at the deadline is killed: no status, timed out, and nothing is left open."""
        before = open_fds()
        result, log = run_decision("echo thinking >&2; exec sleep 30", timeout_s=0.3)
        assert (None, True) == result
        assert [("warning", "call.decision_program_timeout")] == [(level, event) for level, event, _ in log.events]
        assert before == open_fds()

    def test_program_that_cannot_start(self, tmp_path: Path) -> None:
        """A missing program is logged as failed, and the anonymous file is closed anyway."""
        settings: Any = SimpleNamespace(
            decision_program=[str(tmp_path / "missing")], decision_user="nobody", decision_timeout_s=1.0
        )
        record = CallRecord(call_id=1, outcome=Outcome.ANSWERED, started_at=0.0, ended_at=0.0)
        log = RecordingLog()
        before = open_fds()
        assert (None, False) == asyncio.run(screening._run_decision_program(settings, "ttyS0", record, None, log))
        assert [("error", "call.decision_program_failed")] == [(level, event) for level, event, _ in log.events]
        assert before == open_fds()
