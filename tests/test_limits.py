"""Session limits during a call (issue 12.10): the watcher on a manual clock, and the tty's activity times."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import structlog

from answerd.call.limits import enforce_limits, tty_activity
from answerd.call.stage import CallLine
from answerd.core import Outcome, SessionLimits

from .simline import ManualClock

LOG = structlog.get_logger("test")


async def watch(clock: ManualClock, limits: SessionLimits, line: CallLine, activity: list[float]) -> asyncio.Task[None]:
    """Start the watcher; ``activity`` holds the last activity time it will read (empty: none seen)."""
    task = asyncio.get_running_loop().create_task(
        enforce_limits(limits, line, clock=clock, log=LOG, activity=lambda: activity[-1] if activity else None)
    )
    await clock.advance(0)
    return task


def test_max_session_ends_the_call_at_the_limit_not_before() -> None:
    """max_session_s = 60: the line is still up at 59.9 s and dropped at 60 s with outcome session-limit."""

    async def scenario() -> None:
        clock, line = ManualClock(0.0), CallLine()
        await watch(clock, SessionLimits(started_at=0.0, max_session_s=60), line, [])
        await clock.advance(59.9)
        assert not line.lost.is_set()
        await clock.advance(0.1)
        assert (Outcome.SESSION_LIMIT, "session lasted 60 s (max_session_s)") == (line.lost_outcome, line.lost_detail)

    asyncio.run(scenario())


def test_activity_moves_the_idle_deadline() -> None:
    """max_idle_s = 30 and traffic seen at 20 s: still up at 49 s, dropped at 50 s for idleness."""

    async def scenario() -> None:
        clock, line = ManualClock(0.0), CallLine()
        activity: list[float] = []
        await watch(clock, SessionLimits(started_at=0.0, max_idle_s=30), line, activity)
        await clock.advance(20.0)
        activity.append(20.0)
        await clock.advance(29.0)
        assert not line.lost.is_set()
        await clock.advance(1.0)
        assert "no traffic for 30 s (max_idle_s)" == line.lost_detail

    asyncio.run(scenario())


def test_bytes_from_the_caller_count_as_activity() -> None:
    """Before the program starts, every byte the caller sends resets the idle time (CallLine.on_activity)."""

    async def scenario() -> None:
        clock, line = ManualClock(0.0), CallLine()
        limits = SessionLimits(started_at=0.0, max_idle_s=10)
        line.on_activity = lambda: limits.activity(clock.now())
        await watch(clock, limits, line, [])
        await clock.advance(8.0)
        line.receive(b"a")
        await clock.advance(9.0)
        assert not line.lost.is_set()
        await clock.advance(1.0)
        assert line.lost.is_set()

    asyncio.run(scenario())


def test_the_tty_times_are_read_on_the_clocks_time_line(tmp_path: Path) -> None:
    """A tty last used 12 s ago (the later of its read and write times) reads as clock.now() - 12 on the clock."""
    device = tmp_path / "tty"
    device.write_bytes(b"")
    os.utime(device, (1000.0, 988.0))  # read at 1000, written at 988: the later one counts
    last = tty_activity(str(device), ManualClock(500.0), wall=lambda: 1012.0)
    assert 488.0 == last()
    assert tty_activity(str(tmp_path / "gone"), ManualClock(500.0))() is None
