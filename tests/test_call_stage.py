"""Driving a sans-IO stage of a call on the line: bytes in order, deadlines as the stage sets them, a drop."""

from __future__ import annotations

import asyncio

from answerd.call.stage import MAX_EARLY_INPUT, CallLine, drive
from answerd.core import Outcome

#: Long enough that a test waiting for it would fail on its own deadline instead.
FAR_S = 3600.0
#: Every test's own deadline: far shorter than FAR_S.
DEADLINE_S = 5.0


class Stage:
    """A stage that keeps what it is fed, ends at its deadline, and sets a deadline of "now" on ``!``."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.got = b""
        self.deadline: float | None = loop.time() + FAR_S
        self.result: asyncio.Future[str] = loop.create_future()

    def feed(self, data: bytes) -> None:
        """Keep the bytes; ``!`` asks for the timer at once (as an entered name starts the guard time)."""
        self.got += data
        if b"!" in data:
            self.deadline = self.loop.time()

    def on_timer(self, now: float) -> None:
        """The deadline came: the stage is over."""
        self.result.set_result(f"timer after {self.got!r}")

    async def run(self, line: CallLine) -> str | None:
        """Drive this stage on ``line``."""
        return await drive(line, self.feed, self.result, lambda: self.deadline, self.on_timer)


def test_a_deadline_set_by_bytes_is_kept() -> None:
    """Bytes that move the stage's deadline closer wake the driver for the new deadline, not the old one."""

    async def main() -> str | None:
        line = CallLine()
        stage = Stage(asyncio.get_running_loop())
        task = asyncio.create_task(stage.run(line))
        await asyncio.sleep(0)  # the driver is waiting with the far deadline
        line.receive(b"bob!")
        return await asyncio.wait_for(task, DEADLINE_S)

    assert "timer after b'bob!'" == asyncio.run(main())


def test_early_bytes_come_first_and_in_order() -> None:
    """Bytes kept before the stage started are fed before later ones, in order; the early buffer is bounded."""

    async def main() -> tuple[str | None, int]:
        line = CallLine()
        line.receive(b"a" * (MAX_EARLY_INPUT + 10))
        kept = len(line.early)
        line.early[-1:] = b"b"
        stage = Stage(asyncio.get_running_loop())
        task = asyncio.create_task(stage.run(line))
        await asyncio.sleep(0)
        line.receive(b"c!")
        await asyncio.wait_for(task, DEADLINE_S)
        return stage.got[-3:].decode(), kept

    assert ("bc!", MAX_EARLY_INPUT) == asyncio.run(main())


def test_a_drop_ends_the_stage_without_a_result() -> None:
    """The line dropping while the stage waits gives None, and the outcome the drop's reason says."""

    async def main() -> tuple[str | None, Outcome, bool]:
        line = CallLine()
        stage = Stage(asyncio.get_running_loop())
        task = asyncio.create_task(stage.run(line))
        await asyncio.sleep(0)
        line.drop("shutdown")
        return await asyncio.wait_for(task, DEADLINE_S), line.lost_outcome, line.sink is None

    assert (None, Outcome.SHUTDOWN, True) == asyncio.run(main())
