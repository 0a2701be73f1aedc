"""The line owner: what a look at the lock finds, and waiting for a holder on a pidfd (never on the directory)."""

from __future__ import annotations

import asyncio
import errno
import os
import subprocess
from pathlib import Path
from typing import cast

import pytest
import structlog

from answerd.line.lock import UNKNOWN_PID
from answerd.line.owner import (
    HANGUP_PATIENCE_S,
    HOLDER_RECHECK_S,
    LOCK_RECHECK_S,
    DeviceGone,
    HeldBy,
    LineOwner,
    Ours,
    PortCallbacks,
    Unlockable,
)
from answerd.line.port import LineSettings, Port, PortFactory, PortOpenError

from .simline import ManualClock, settle


def owner_in(lock_dir: Path, clock: ManualClock | None = None) -> LineOwner:
    return LineOwner("/dev/ttyS9", lock_dir=str(lock_dir), locking=True, clock=clock or ManualClock(),
                     log=structlog.get_logger(), show=lambda status: None)  # fmt: skip


def hold(lock_dir: Path, pid: int) -> None:
    (lock_dir / "LCK..ttyS9").write_text(f"{pid:10d}\n")


class _Port:
    """Just enough of a port for take_back."""

    def __init__(self, present: bool) -> None:
        self.present = present
        self.reading = False

    def still_the_device(self) -> bool:
        return self.present

    def resume_reading(self) -> None:
        self.reading = True


class TestClaim:
    def test_a_free_line_is_ours(self, tmp_path: Path) -> None:
        """Nobody holds the line: the claim takes the lock."""
        assert Ours() == owner_in(tmp_path).claim()
        assert f"{os.getpid():10d}\n" == (tmp_path / "LCK..ttyS9").read_text()

    def test_a_live_lock_is_its_holders(self, tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
        """A live process's lock: the claim names it and leaves its lock alone."""
        hold(tmp_path, sleeper.pid)
        assert HeldBy(sleeper.pid) == owner_in(tmp_path).claim()
        assert f"{sleeper.pid:10d}\n" == (tmp_path / "LCK..ttyS9").read_text()

    def test_a_directory_that_cannot_take_a_lock_is_unlockable(self, tmp_path: Path) -> None:
        """No lock directory (nor a lock in it): the line is not ours, and the reason says why."""
        claim = owner_in(tmp_path / "missing").claim()
        assert isinstance(claim, Unlockable)
        assert "No such file or directory" in claim.reason

    def test_without_locking_every_claim_succeeds(self, tmp_path: Path) -> None:
        """locking = false: no lock file is made."""
        owner = LineOwner("/dev/ttyS9", lock_dir=str(tmp_path), locking=False, clock=ManualClock(),
                          log=structlog.get_logger(), show=lambda status: None)  # fmt: skip
        assert Ours() == owner.claim()
        assert [] == list(tmp_path.iterdir())

    @pytest.mark.parametrize(("present", "expected"), [(True, Ours()), (False, DeviceGone("/dev/ttyS9"))])
    def test_take_back_checks_the_device_first(self, tmp_path: Path, present: bool, expected: object) -> None:
        """Before the idle line is used again, a device that is gone is reported, not locked or read."""
        port = _Port(present)
        assert expected == owner_in(tmp_path).take_back(port)  # type: ignore[arg-type]
        assert present == port.reading
        assert present == (tmp_path / "LCK..ttyS9").exists()


class TestWait:
    def test_the_holders_exit_ends_the_wait_without_the_clock(
        self, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        """The pidfd wakes the wait when the holder exits: no timer has to fire (the clock never moves)."""

        async def scenario() -> None:
            waiting = asyncio.ensure_future(owner_in(tmp_path).wait(HeldBy(sleeper.pid)))
            await settle()
            assert not waiting.done()
            sleeper.kill()
            sleeper.wait()
            await asyncio.wait_for(waiting, 10)

        asyncio.run(scenario())

    def test_a_zombie_holder_is_rechecked_on_the_timer_not_spun_on(
        self, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        """A holder that exited but is not reaped still looks alive: the next wait is the timer's, not the pidfd's."""
        clock = ManualClock()
        owner = owner_in(tmp_path, clock)

        async def scenario() -> None:
            first = asyncio.ensure_future(owner.wait(HeldBy(sleeper.pid)))
            sleeper.kill()  # a zombie until reaped: kill(pid, 0) still succeeds
            await asyncio.wait_for(first, 10)
            second = asyncio.ensure_future(owner.wait(HeldBy(sleeper.pid)))
            await settle()
            assert not second.done()
            await clock.advance(LOCK_RECHECK_S)
            assert second.done()

        asyncio.run(scenario())

    def test_a_live_holder_is_rechecked_only_rarely(self, tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
        """A holder may remove its lock and live on: a safety re-check after HOLDER_RECHECK_S, not sooner."""
        clock = ManualClock()

        async def scenario() -> None:
            waiting = asyncio.ensure_future(owner_in(tmp_path, clock).wait(HeldBy(sleeper.pid)))
            await clock.advance(HOLDER_RECHECK_S - 0.1)
            assert not waiting.done()
            await clock.advance(0.1)
            assert waiting.done()

        asyncio.run(scenario())

    @pytest.mark.parametrize("claim", [Unlockable("read-only"), HeldBy(UNKNOWN_PID)], ids=["unlockable", "young"])
    def test_what_no_pidfd_can_see_is_rechecked_on_the_clock(self, tmp_path: Path, claim: Unlockable | HeldBy) -> None:
        """An unwritable directory or an unreadable young lock: re-checked every LOCK_RECHECK_S, not before."""
        clock = ManualClock()

        async def scenario() -> None:
            waiting = asyncio.ensure_future(owner_in(tmp_path, clock).wait(claim))
            await clock.advance(LOCK_RECHECK_S - 0.1)
            assert not waiting.done()
            await clock.advance(0.1)
            assert waiting.done()

        asyncio.run(scenario())

    def test_interrupt_ends_a_wait_and_every_later_one(self, tmp_path: Path) -> None:
        """Stopping must not wait for a dial-out program: interrupt() ends the wait at once."""
        owner = owner_in(tmp_path)

        async def scenario() -> None:
            waiting = asyncio.ensure_future(owner.wait(Unlockable("read-only")))
            await settle()
            owner.interrupt()
            await settle()
            assert waiting.done()
            await asyncio.wait_for(owner.wait(Unlockable("read-only")), 1)

        asyncio.run(scenario())


class TestOpenDevice:
    """Opening the device: which failures are waited out, and for how long (on the manual clock)."""

    @staticmethod
    def failing(errors: list[int]) -> tuple[list[float], PortFactory, ManualClock]:
        """A port factory that fails with each errno in ``errors`` in turn, then opens; and when it was called."""
        clock = ManualClock()
        calls: list[float] = []

        async def factory(settings: LineSettings, **_: object) -> Port:
            calls.append(clock.now())
            if errors:
                raise PortOpenError(settings.path, "failed", errors.pop(0))
            return cast(Port, object())

        return calls, factory, clock

    @staticmethod
    def open_on(owner: LineOwner, factory: PortFactory, clock: ManualClock, patience_s: float) -> asyncio.Task[Port]:
        callbacks = PortCallbacks(on_data=lambda data: None, on_lost=lambda exc: None, on_fallback=lambda why: None)
        return asyncio.ensure_future(
            owner.open_device(factory, LineSettings(path="/dev/ttyS9"), patience_s=patience_s, callbacks=callbacks)
        )

    def test_a_tty_finishing_its_hang_up_is_waited_for_even_at_start(self, tmp_path: Path) -> None:
        """EIO (a tty still hanging up after its last user) is retried within HANGUP_PATIENCE_S, patience 0."""
        calls, factory, clock = self.failing([errno.EIO, errno.EIO])

        async def scenario() -> None:
            opening = self.open_on(owner_in(tmp_path, clock), factory, clock, patience_s=0.0)
            await clock.advance(HANGUP_PATIENCE_S)
            assert opening.done()
            opening.result()

        asyncio.run(scenario())
        assert 3 == len(calls)

    def test_a_tty_that_keeps_failing_with_eio_is_an_error(self, tmp_path: Path) -> None:
        """EIO for longer than HANGUP_PATIENCE_S is the open's failure, with its errno."""
        calls, factory, clock = self.failing([errno.EIO] * 100)

        async def scenario() -> None:
            opening = self.open_on(owner_in(tmp_path, clock), factory, clock, patience_s=0.0)
            await clock.advance(HANGUP_PATIENCE_S + 5)
            with pytest.raises(PortOpenError) as failed:
                opening.result()
            assert errno.EIO == failed.value.errno

        asyncio.run(scenario())
        assert max(calls) <= calls[0] + HANGUP_PATIENCE_S

    def test_a_busy_device_is_not_retried(self, tmp_path: Path) -> None:
        """EBUSY is not a hang-up in progress: the open fails at once."""
        calls, factory, clock = self.failing([errno.EBUSY])

        async def scenario() -> None:
            opening = self.open_on(owner_in(tmp_path, clock), factory, clock, patience_s=10.0)
            await clock.advance(0)
            with pytest.raises(PortOpenError):
                opening.result()

        asyncio.run(scenario())
        assert 1 == len(calls)
