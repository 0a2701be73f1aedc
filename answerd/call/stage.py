"""The caller's bytes during a call, and how a sans-IO stage of the call (the silent PPP window, the login
dialog) is run on them until it has a result or the line drops.

The daemon owns the port's callbacks; it hands every byte from the caller to :meth:`CallLine.receive` and
says :meth:`CallLine.drop` when the carrier drops or answerd stops. The stages of the call read from there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from answerd.core import Outcome

__all__ = ["MAX_EARLY_INPUT", "PROGRAM_HANGUP", "CallLine", "drive", "wait_or_lost"]

T = TypeVar("T")

#: Bytes of caller input held while nothing reads them yet (settle wait): bounded.
MAX_EARLY_INPUT = 4096
#: :meth:`CallLine.drop`'s reason when the program hung up (speed B0 on a relayed line).
PROGRAM_HANGUP = "program-hangup"


@dataclass
class CallLine:
    """What the daemon's data and hang-up callbacks share with the running call."""

    #: Where bytes from the caller go now (the silent window, the dialog), or ``None`` to buffer them.
    sink: Callable[[bytes], None] | None = None
    early: bytearray = field(default_factory=bytearray)
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    #: ``"carrier"`` (the line dropped), ``"shutdown"`` (answerd is stopping), ``"session-limit"``, or
    #: ``"program-hangup"`` (the program asked for a hang-up with speed B0 on a relayed line).
    lost_reason: str = ""
    #: Why, in words, where the reason alone does not say (which limit was reached).
    lost_detail: str | None = None
    #: Called for every byte the caller sends (the session limits count it as activity).
    on_activity: Callable[[], None] | None = None

    def receive(self, data: bytes) -> None:
        """Bytes from the caller: to the current sink, or kept (bounded) until one is set."""
        if self.on_activity is not None and data:
            self.on_activity()
        if self.sink is not None:
            self.sink(data)
        else:
            self.early += data[: MAX_EARLY_INPUT - len(self.early)]

    def take_early(self) -> bytes:
        """The buffered bytes, removed."""
        data = bytes(self.early)
        self.early.clear()
        return data

    def drop(self, reason: str, detail: str | None = None) -> None:
        """The call is over from outside: the carrier dropped, answerd is stopping, or a limit was reached."""
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost_detail = detail
            self.lost.set()

    @property
    def lost_outcome(self) -> Outcome:
        """The outcome for a call that ended because of :meth:`drop`.

        A program that hung up (speed B0) ended its call the normal way, as pppd does: ``answered``.
        """
        return {
            "shutdown": Outcome.SHUTDOWN,
            "session-limit": Outcome.SESSION_LIMIT,
            PROGRAM_HANGUP: Outcome.ANSWERED,
        }.get(self.lost_reason, Outcome.CARRIER_LOST)


async def wait_or_lost(line: CallLine, seconds: float) -> bool:
    """Sleep ``seconds`` unless the line drops first; return whether it dropped."""
    if seconds > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(line.lost.wait(), seconds)
    return line.lost.is_set()


async def drive(
    line: CallLine,
    feed: Callable[[bytes], None],
    result: asyncio.Future[T],
    get_timer: Callable[[], float | None],
    on_timer: Callable[[float], None],
) -> T | None:
    """Run one sans-IO stage on the line until it sets ``result``; ``None`` if the line dropped first.

    The caller's bytes go to ``feed`` (those buffered so far first), and the stage's deadline from
    ``get_timer`` is handed to ``on_timer`` when it comes. The deadline is read again after every feed:
    bytes can set a new one (the login dialog holds an entered name for its guard time).
    """
    loop = asyncio.get_running_loop()
    fed = asyncio.Event()

    def sink(data: bytes) -> None:
        feed(data)
        fed.set()

    early = line.take_early()
    line.sink = sink
    if early:
        feed(early)
    try:
        while not result.done():
            fed.clear()
            deadline = get_timer()
            timeout = None if deadline is None else max(0.0, deadline - loop.time())
            if not await _first(line, result, fed, timeout):
                return None
            if not result.done() and deadline is not None and loop.time() >= deadline:
                on_timer(loop.time())
        return result.result()
    finally:
        line.sink = None


async def _first(line: CallLine, future: asyncio.Future[Any], fed: asyncio.Event, timeout: float | None) -> bool:
    """Wait for ``future``, new bytes, the line dropping or ``timeout``: ``False`` if the line dropped first."""
    loop = asyncio.get_running_loop()
    lost = loop.create_task(line.lost.wait())
    new_bytes = loop.create_task(fed.wait())
    try:
        waitables: set[asyncio.Future[Any]] = {future, lost, new_bytes}
        done, _ = await asyncio.wait(waitables, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        lost.cancel()
        new_bytes.cancel()
    return not (lost in done and not future.done())
