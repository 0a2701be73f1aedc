"""``answerd sim --serve TTY``: the simulated modem on an existing tty instead of a pty of its own.

Made for the gadget side of a USB ACM gadget (``/dev/ttyGS0``), whose other end is ``/dev/ttyACM0`` on the
same machine: the kernel driver USB modems use, with real modem-control lines. What that makes real and what
it does not (vbench/README.md has the whole list):

* **DCD** on ttyACM0 is high while this side holds ttyGS0 open, so it is high in command mode too, as with
  ``&C0``. **Carrier loss** is this side *closing* ttyGS0: DCD falls, and the kernel hangs ttyACM0 up (SIGHUP
  to the session that has it as controlling tty, EIO afterwards) -- the real thing, not the pty sim's
  emulation of it. The tty is opened again :data:`REOPEN_DELAY_S` later (the modem is back on-hook, DCD
  high); what the modem said meanwhile (``NO CARRIER``) is delivered then, as a modem says it after DCD fell.
* **DTR** cannot be seen from the gadget side (ttyGS0 has no TIOCMGET): the modem takes DTR as always high,
  so it never hangs up on a DTR drop, like a modem set to ``&D0``. The computer hangs up with escape + ATH.
* The phone line is the same TCP listener as the pty sim's.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import termios
import tty
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Protocol, TextIO

from answerd.sim._profile import ModemProfile
from answerd.sim._pty import PtyLine, SimError
from answerd.sim._server import ServerConfig, SimServer

__all__ = ["REOPEN_DELAY_S", "Servable", "TtyLine", "TtyServer", "run_until_stopped", "serve_tty"]

#: How long the tty stays closed after a carrier loss: long enough for the far side to see DCD fall.
REOPEN_DELAY_S = 0.5
#: What is kept for the computer while the tty is closed (``NO CARRIER`` and the like); more is dropped.
_PENDING_LIMIT = 1024


class TtyLine(PtyLine):
    """The computer's side on an existing tty instead of a pty of its own; what :class:`SimServer` needs of
    :class:`PtyLine`, with carrier loss played as closing the tty (see the module docstring)."""

    def __init__(
        self,
        path: Path,
        *,
        on_data: Callable[[bytes], None],
        on_dtr: Callable[[bool], None],
        log: Callable[[str], None],
    ) -> None:
        super().__init__(path, poll_interval=1.0, on_data=on_data, on_dtr=on_dtr, log=log)
        self._active = False
        self._pending = bytearray()
        self._reopen: asyncio.TimerHandle | None = None

    @property
    def slave_path(self) -> str:
        """The tty served."""
        return str(self.link)

    @property
    def is_open(self) -> bool:
        """Between :meth:`open` and :meth:`close`, also while the tty is shut for a carrier loss."""
        return self._active

    @property
    def dtr(self) -> bool:
        """Always high while serving: the gadget side cannot see DTR."""
        return self._active

    @property
    def speed(self) -> int | None:
        """Unknown: this side's termios are not the computer's."""
        return None

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        """Open the tty (raw); raises :class:`SimError` if it cannot."""
        self._loop = loop
        self._open_tty()
        self._active = True

    def publish(self) -> None:
        """Nothing to publish: the tty has its own name."""

    def start(self) -> None:
        """Report DTR high for good (nothing to watch)."""
        self._on_dtr(True)

    def close(self) -> None:
        """Stop reopening and close the tty."""
        self._active = False
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        self._shut("closing")

    def write(self, data: bytes) -> None:
        """Send bytes to the computer; while the tty is shut they wait (bounded) for it to open again."""
        if self._master >= 0:
            super().write(data)
            return
        keep = data[: max(0, _PENDING_LIMIT - len(self._pending))]
        self._pending += keep
        if len(keep) < len(data):
            self._log(f"dropped {len(data) - len(keep)} byte(s) for the DTE: the tty is closed")

    def hang_up_tty(self) -> None:
        """Carrier loss: close the tty, so that DCD falls and the kernel hangs the computer's side up."""
        self._shut("carrier lost: closing the tty (DCD falls, the kernel hangs the other side up)")
        self._schedule_reopen()

    def _set_closed(self) -> None:
        """A read or write failed (the tty was hung up, e.g. the gadget was unbound): open it again later."""
        self._shut("the tty failed")
        self._schedule_reopen()

    def _open_tty(self) -> None:
        try:
            fd = os.open(self.link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise SimError(f"cannot open {self.link}: {exc.strerror or exc}") from None
        try:
            tty.setraw(fd, termios.TCSANOW)
            attrs = termios.tcgetattr(fd)
            attrs[2] = (attrs[2] & ~termios.CRTSCTS) | termios.CLOCAL | termios.CREAD
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        except termios.error as exc:
            os.close(fd)
            raise SimError(f"{self.link} is not a terminal: {exc}") from None
        self._master = fd
        self._slave_open = True
        self._start_reading()
        self._log(f"opened {self.link}")

    def _shut(self, why: str) -> None:
        if self._master < 0:
            return
        self._log(why)
        self._stop_reading()
        self._stop_writing()
        with contextlib.suppress(OSError):
            os.close(self._master)
        self._master = -1
        self._slave_open = False
        self._pending += self._out[:_PENDING_LIMIT]
        self._out.clear()

    def _schedule_reopen(self) -> None:
        if self._active and self._reopen is None and self._loop is not None:
            self._reopen = self._loop.call_later(REOPEN_DELAY_S, self._try_reopen)

    def _try_reopen(self) -> None:
        self._reopen = None
        if not self._active:
            return
        try:
            self._open_tty()
        except SimError as exc:
            self._log(f"{exc}; trying again in {REOPEN_DELAY_S}s")
            self._schedule_reopen()
            return
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            super().write(data)


class TtyServer(SimServer):
    """The simulated modem serving an existing tty (see the module docstring); use like :class:`SimServer`."""

    def __init__(
        self, settings: ModemProfile, config: ServerConfig, tty_path: Path, *, log: TextIO | None = None
    ) -> None:
        super().__init__(settings, config, log=log)
        self._pty = TtyLine(
            tty_path,
            on_data=self._dte_data,
            on_dtr=lambda high: self._dispatch(self._modem.dtr_changed(high, self._now())),
            log=self._log,
        )

    @property
    def ready_line(self) -> str:
        """``answerd-sim: ready serve=<tty> listen=<host>:<port>``."""
        return f"answerd-sim: ready serve={self._pty.link} listen={self._format_address()}"


class Servable(Protocol):
    """What :func:`run_until_stopped` runs: a started sim (single modem, served tty or bench)."""

    @property
    def ready_line(self) -> str: ...

    def toggle_silent(self) -> object: ...


async def run_until_stopped(server: AbstractAsyncContextManager[Servable]) -> None:
    """Enter ``server``, print its ready line, run until SIGTERM/SIGINT (SIGUSR1 toggles a silent modem).

    The one loop behind ``answerd sim``, ``--serve`` and ``--bench``, so that they stop, print and toggle alike.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    async with server as sim:
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        loop.add_signal_handler(signal.SIGUSR1, sim.toggle_silent)
        try:
            with contextlib.suppress(BrokenPipeError):
                print(sim.ready_line, flush=True)
            await stop.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1):
                loop.remove_signal_handler(sig)


async def serve_tty(settings: ModemProfile, config: ServerConfig, tty_path: Path) -> None:
    """Run ``answerd sim --serve TTY`` until SIGTERM/SIGINT (SIGUSR1 toggles a silent modem)."""
    await run_until_stopped(TtyServer(settings, config, tty_path))
