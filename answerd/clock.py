"""The daemon's one clock: the event loop's monotonic time, with timers and sleeps on it.

:class:`PortDaemon` and the line owner read time and set deadlines only through a :class:`Clock`, so a test
can hand them one it moves by hand (deadlines jumped, never waited for) while the real daemon runs on
``loop.time()``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Protocol

__all__ = ["Clock", "LoopClock", "TimerHandle"]


class TimerHandle(Protocol):
    """A scheduled call that can be called off."""

    def cancel(self) -> None:
        """Do not call it (idempotent)."""


class Clock(Protocol):
    """Monotonic seconds, timers and sleeps."""

    def now(self) -> float:
        """The current time."""

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """Call ``callback`` (on the loop) once the time is ``when``."""

    async def sleep(self, seconds: float) -> None:
        """Return after ``seconds``."""


class LoopClock:
    """The running event loop's clock (``loop.time()``): what a real daemon uses."""

    def now(self) -> float:
        """``loop.time()``."""
        return asyncio.get_running_loop().time()

    def call_at(self, when: float, callback: Callable[[], None]) -> TimerHandle:
        """``loop.call_at``."""
        return asyncio.get_running_loop().call_at(when, callback)

    async def sleep(self, seconds: float) -> None:
        """``asyncio.sleep``."""
        await asyncio.sleep(seconds)
