"""The daemon in-process: a clock moved by hand and a fake port wired to the simulated modem's sans-IO core.

zigpy-znp's way: the real client (here :class:`~answerd.service.daemon.PortDaemon`) talks to a fake device
object, which feeds the real device logic (:class:`~answerd.sim.SimModem`). Deadlines are jumped with
:meth:`ManualClock.advance`; nothing waits in real time, and no test reaches into the daemon.
"""

from __future__ import annotations

import asyncio
import errno
import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from answerd.line.port import LineSettings, PortOpenError
from answerd.service.notify import NullNotifier
from answerd.sim import Action, CarrierLost, CarrierUp, DropCaller, Log, SimModem, SimSettings, ToCaller, ToDte

__all__ = ["ManualClock", "RecordingNotifier", "SimLine", "settle"]


async def settle(rounds: int = 30) -> None:
    """Let every ready task and callback run (the loop also polls real fds, such as a pidfd, each round)."""
    for _ in range(rounds):
        await asyncio.sleep(0)


@dataclass(order=True)
class _Timer:
    when: float
    seq: int
    callback: Callable[[], None] = field(compare=False)
    cancelled: bool = field(default=False, compare=False)

    def cancel(self) -> None:
        self.cancelled = True


class ManualClock:
    """A :class:`~answerd.clock.Clock` whose time moves only in :meth:`advance`."""

    def __init__(self, start: float = 1000.0) -> None:
        self._now = start
        self._timers: list[_Timer] = []
        self._seq = itertools.count()

    def now(self) -> float:
        """The current (manual) time."""
        return self._now

    def call_at(self, when: float, callback: Callable[[], None]) -> _Timer:
        """Schedule ``callback`` for ``when``."""
        timer = _Timer(when, next(self._seq), callback)
        heapq.heappush(self._timers, timer)
        return timer

    async def sleep(self, seconds: float) -> None:
        """Return once the clock has been advanced by ``seconds``."""
        woken: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        self.call_at(self._now + seconds, wake)
        await woken

    async def advance(self, seconds: float = 0.0) -> None:
        """Move time forward, firing every timer due on the way, in order, letting tasks run in between."""
        target = self._now + seconds
        await settle()
        while self._timers and self._timers[0].when <= target:
            timer = heapq.heappop(self._timers)
            if timer.cancelled:
                continue
            self._now = max(self._now, timer.when)
            timer.callback()
            await settle()
        self._now = target
        await settle()


class RecordingNotifier(NullNotifier):
    """Keeps what would go to systemd."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    def ready(self) -> None:
        self.messages.append("READY=1")

    def status(self, text: str) -> None:
        self.messages.append(f"STATUS={text}")

    def reloading(self) -> None:
        self.messages.append("RELOADING=1")

    def stopping(self) -> None:
        self.messages.append("STOPPING=1")

    @property
    def statuses(self) -> list[str]:
        """The STATUS= texts, in order."""
        return [m.removeprefix("STATUS=") for m in self.messages if m.startswith("STATUS=")]


class _Lines:
    """No modem-control lines (as on a pty): "DTR" is the speed B0, which the modem sees.

    With ``SimLine(dcd=True)``: real lines (``tiocm``), DCD following the modem's carrier.
    """

    def __init__(self, line: SimLine) -> None:
        self._line = line
        self.kind = "tiocm" if line.has_dcd else "none"

    def set_dtr(self, high: bool) -> None:
        if self._line.dead:
            raise OSError(errno.EIO, "Input/output error")
        self._line.run(self._line.modem.dtr_changed(high, self._line.clock.now()))

    def carrier(self) -> bool | None:
        if self._line.dead:
            raise OSError(errno.EIO, "Input/output error")
        return self._line.dcd if self._line.has_dcd else None


class SimPort:
    """One open of the simulated line: what :class:`~answerd.line.port.Port` promises, over :class:`SimModem`."""

    def __init__(
        self, line: SimLine, on_data: Callable[[bytes], None], on_lost: Callable[[Exception | None], None]
    ) -> None:
        self.lines = _Lines(line)
        self._line = line
        self._on_data = on_data
        self._on_lost = on_lost
        self._unread = bytearray()
        self._reading = True
        self._on_readable: Callable[[], None] | None = None
        self.closed = False
        #: The call hung this open file up (a carrier loss, login's vhangup()): only a new open works.
        self.hung_up = False

    def write(self, data: bytes) -> None:
        if self.closed or self._line.dead:
            return
        self._line.written.append(data)
        self._line.run(self._line.modem.dte_data(data, self._line.clock.now()))

    def flush_input(self) -> None:
        self._unread.clear()

    def pause_until_readable(self, on_readable: Callable[[], None]) -> None:
        self._reading = False
        self._on_readable = on_readable
        if self._unread:
            self._readable()

    def resume_reading(self) -> None:
        self._reading = True
        self._on_readable = None
        self._deliver()

    def still_the_device(self) -> bool:
        return self._line.present and self._line.port is self

    def after_call(self) -> bool:
        if self.closed or self._line.dead or self.hung_up:
            return False
        self.resume_reading()
        return True

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._on_readable = None
            if not self._line.dead:  # HUPCL: closing drops DTR
                self._line.run(self._line.modem.dtr_changed(False, self._line.clock.now()))

    def receive(self, data: bytes) -> None:
        """Bytes from the modem (delivered on the loop, as a real read would be)."""
        if self.closed:
            return
        self._unread += data
        if self._reading:
            asyncio.get_running_loop().call_soon(self._deliver)
        elif self._on_readable is not None:
            self._readable()

    def _readable(self) -> None:
        callback, self._on_readable = self._on_readable, None
        if callback is not None:
            asyncio.get_running_loop().call_soon(callback)

    def _deliver(self) -> None:
        if self._reading and self._unread and not self.closed:
            data = bytes(self._unread)
            self._unread.clear()
            self._on_data(data)


class SimLine:
    """The simulated modem, its device node and its phone line, for one in-process test."""

    def __init__(self, clock: ManualClock, settings: SimSettings | None = None, *, dcd: bool = False) -> None:
        self.clock = clock
        #: The port has real modem-control lines whose DCD follows the modem's carrier.
        self.has_dcd = dcd
        #: DCD as the modem drives it (with ``&C1``: up from CONNECT until the carrier goes).
        self.dcd = False
        self.modem = SimModem(settings or SimSettings(ring_interval=3.0, answer_delay=0.5))
        self.port: SimPort | None = None
        #: Every write answerd made, in order.
        self.written: list[bytes] = []
        #: What the caller received.
        self.caller_screen = bytearray()
        #: Whether the device node exists (False: unplugged, or its link removed).
        self.present = True
        #: Whether the device is dead under an open port (ioctls fail with EIO).
        self.dead = False
        self._timer: _Timer | None = None

    async def open(
        self,
        settings: LineSettings,
        *,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[Exception | None], None],
        on_fallback: Callable[[str], None] | None = None,
    ) -> SimPort:
        """The port factory handed to the daemon."""
        if not self.present:
            raise PortOpenError(settings.path, "no such device", errno.ENOENT)
        self.port = SimPort(self, on_data, on_lost)
        self.run(self.modem.dtr_changed(True, self.clock.now()))
        return self.port

    def call(self) -> None:
        """A caller dials in."""
        self.run(self.modem.caller_arrived(self.clock.now()))

    def caller_hangs_up(self) -> None:
        """The caller puts the phone down."""
        self.run(self.modem.caller_left(self.clock.now()))

    def writes_since(self, start: int) -> list[bytes]:
        """What answerd wrote from index ``start`` on."""
        return self.written[start:]

    def run(self, actions: list[Action]) -> None:
        """Carry out the modem's actions and keep its timer on the clock."""
        for action in actions:
            match action:
                case ToDte(data=data):
                    if self.port is not None:
                        self.port.receive(data)
                case ToCaller(data=data):
                    self.caller_screen += data
                case CarrierUp():
                    self.dcd = True
                case CarrierLost():
                    self.dcd = False
                case DropCaller() | Log():
                    pass
        if self._timer is not None:
            self._timer.cancel()
        due = self.modem.get_timer()
        self._timer = None if due is None else self.clock.call_at(due, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self.run(self.modem.handle_timer(self.clock.now()))
