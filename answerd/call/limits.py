"""Session limits during a call (``max_session_s``, ``max_idle_s``): for lines where nothing else can tell
that the caller is gone (issue 12.10).

The arithmetic is the core's :class:`~answerd.core.SessionLimits`; this module feeds it and acts on its
verdict. Activity comes from wherever answerd can see bytes:

* before the program starts, every byte the caller sends (the :class:`~answerd.call.stage.CallLine`);
* with ``carrier = "modem-text"``, every byte the relay passes, either way (exact);
* while a program has the tty to itself, the tty's access and modification times, which the kernel sets
  when the program reads or writes it (what ``w`` shows as IDLE). The kernel moves them in steps of 8 s,
  so ``max_idle_s`` is kept to within 8 s there.

When a limit is reached the line is dropped with the reason ``session-limit``: the program's session gets
the hang-up (SIGHUP) as on a carrier loss, the call ends with outcome ``session-limit`` and the limit's
reason as its detail, and the hang-up sequence after it lowers DTR (and escapes where needed).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from answerd.call.stage import CallLine
from answerd.clock import Clock
from answerd.core import SessionLimits

__all__ = ["SESSION_LIMIT", "enforce_limits", "tty_activity"]

#: The :meth:`CallLine.drop` reason for a limit reached.
SESSION_LIMIT = "session-limit"


def tty_activity(device: str, clock: Clock, wall: Callable[[], float] = time.time) -> Callable[[], float | None]:
    """A reader of the last time the tty was read or written by anyone, on ``clock``'s time line."""

    def last() -> float | None:
        try:
            st = os.stat(device)
        except OSError:
            return None
        return clock.now() - max(0.0, wall() - max(st.st_atime, st.st_mtime))

    return last


async def enforce_limits(
    limits: SessionLimits,
    line: CallLine,
    *,
    clock: Clock,
    log: Any,
    activity: Callable[[], float | None] = lambda: None,
) -> None:
    """Sleep until a limit can be reached, look at the activity, and drop the line when one is.

    Returns once the line is dropped (by this or anything else); the call stage cancels it when the call ends
    first. ``activity`` is asked only at a deadline: a limit cannot be reached in between.
    """
    while not line.lost.is_set():
        seen = activity()
        if seen is not None:
            limits.activity(seen)
        why = limits.expired(clock.now())
        if why is not None:
            log.warning("call.session_limit", reason=why)
            line.drop(SESSION_LIMIT, detail=why)
            return
        deadline = limits.timer
        if deadline is None:
            return
        await clock.sleep(max(0.001, deadline - clock.now()))
