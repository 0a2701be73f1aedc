"""The systemd watchdog, fed only while the line is healthy.

A modem that stopped answering gets answerd restarted by systemd (``WatchdogSec=``) even though the event
loop itself is fine: so the ping depends on the line's health, not on the loop being alive.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from answerd.clock import Clock, TimerHandle
from answerd.service.notify import Notifier

__all__ = ["Watchdog"]


class Watchdog:
    """Pings ``WATCHDOG=1`` every ``notifier.watchdog_interval_s`` while ``healthy()``; logs when it holds back."""

    def __init__(self, notifier: Notifier, clock: Clock, healthy: Callable[[], bool], describe: Callable[[], str],
                 log: Any) -> None:  # fmt: skip
        """Describe it; nothing happens before :meth:`start`."""
        self._notifier = notifier
        self._clock = clock
        self._healthy = healthy
        self._describe = describe
        self._log = log
        self._timer: TimerHandle | None = None

    def start(self) -> None:
        """Ping now and at every interval (no interval, no watchdog: nothing happens)."""
        if self._notifier.watchdog_interval_s is not None:
            self._notifier.watchdog()
            self._arm()

    def stop(self) -> None:
        """No more pings."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self) -> None:
        interval = self._notifier.watchdog_interval_s
        assert interval is not None
        self._timer = self._clock.call_at(self._clock.now() + interval, self._tick)

    def _tick(self) -> None:
        if self._healthy():
            self._notifier.watchdog()
        else:
            self._log.warning("watchdog.withheld", phase=self._describe())
        self._arm()
