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
from pathlib import Path
from typing import TextIO

from answerd.sim._profile import ModemProfile
from answerd.sim._server import ServerConfig, SimError, SimServer

__all__ = ["REOPEN_DELAY_S", "TtyServer", "serve_tty"]

#: How long the tty stays closed after a carrier loss: long enough for the far side to see DCD fall.
REOPEN_DELAY_S = 0.5
#: What is kept for the DTE while the tty is closed (``NO CARRIER`` and the like); more is dropped.
_PENDING_LIMIT = 1024


class TtyServer(SimServer):
    """The simulated modem serving an existing tty (see the module docstring); use like :class:`SimServer`."""

    def __init__(
        self, settings: ModemProfile, config: ServerConfig, tty_path: Path, *, log: TextIO | None = None
    ) -> None:
        super().__init__(settings, config, log=log)
        self._tty_path = tty_path
        self._pending = bytearray()
        self._reopen: asyncio.TimerHandle | None = None

    @property
    def ready_line(self) -> str:
        """``answerd-sim: ready serve=<tty> listen=<host>:<port>``."""
        return f"answerd-sim: ready serve={self._tty_path} listen={self._format_address()}"

    async def start(self) -> None:
        """Open the tty and listen on TCP; raises :class:`SimError` if either cannot be done."""
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._open_tty()
        try:
            self._tcp = await asyncio.start_server(self._on_client, self._config.host, self._config.port)
        except OSError as exc:
            await self.close()
            raise SimError(f"cannot listen on {self._config.host}:{self._config.port}: {exc.strerror or exc}") from None
        sockname = self._tcp.sockets[0].getsockname()
        self._address = (str(sockname[0]), int(sockname[1]))
        self._log(f"serving {self._tty_path}; phone line on {self._format_address()}")
        # The gadget side cannot see DTR: it is high for good (a modem set to &D0 behaves the same).
        self._dispatch(self._modem.dtr_changed(True, self._now()))

    async def close(self) -> None:
        """Stop reopening, then close the tty and the listener."""
        if self._reopen is not None:
            self._reopen.cancel()
            self._reopen = None
        await super().close()

    def _open_tty(self) -> None:
        try:
            fd = os.open(self._tty_path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        except OSError as exc:
            raise SimError(f"cannot open {self._tty_path}: {exc.strerror or exc}") from None
        try:
            tty.setraw(fd, termios.TCSANOW)
            attrs = termios.tcgetattr(fd)
            attrs[2] = (attrs[2] & ~termios.CRTSCTS) | termios.CLOCAL | termios.CREAD
            termios.tcsetattr(fd, termios.TCSANOW, attrs)
        except termios.error as exc:
            os.close(fd)
            raise SimError(f"{self._tty_path} is not a terminal: {exc}") from None
        self._master = fd
        self._slave_open = True
        self._start_reading()
        self._log(f"opened {self._tty_path}")

    # --- the DTE side: overrides of the pty shell's -----------------------------------------------------

    def _update_dtr(self) -> None:
        """Nothing to watch: the gadget side has no DTR to read."""

    def _poll_lines(self) -> None:
        """Nothing to poll (see :meth:`_update_dtr`)."""

    def _write_dte(self, data: bytes) -> None:
        if self._master < 0:
            keep = data[: max(0, _PENDING_LIMIT - len(self._pending))]
            self._pending += keep
            if len(keep) < len(data):
                self._log(f"dropped {len(data) - len(keep)} byte(s) for the DTE: the tty is closed")
            return
        super()._write_dte(data)

    def _set_closed(self) -> None:
        """A read or write failed (e.g. the gadget was unbound and the tty hung up): close, open again later."""
        self._close_tty("the tty failed")

    def _hang_up_tty(self) -> None:
        """Carrier loss: close the tty, so that DCD falls and the kernel hangs the computer's side up."""
        self._close_tty("carrier lost: closing the tty (DCD falls, the kernel hangs the other side up)")

    def _close_tty(self, why: str) -> None:
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
        if self._loop is not None:
            self._reopen = self._loop.call_later(REOPEN_DELAY_S, self._try_reopen)

    def _try_reopen(self) -> None:
        self._reopen = None
        try:
            self._open_tty()
        except SimError as exc:
            self._log(f"{exc}; trying again in {REOPEN_DELAY_S}s")
            if self._loop is not None:
                self._reopen = self._loop.call_later(REOPEN_DELAY_S, self._try_reopen)
            return
        if self._pending:
            data = bytes(self._pending)
            self._pending.clear()
            super()._write_dte(data)
        self._rearm()


async def serve_tty(settings: ModemProfile, config: ServerConfig, tty_path: Path) -> None:
    """Run ``answerd sim --serve TTY`` until SIGTERM/SIGINT (SIGUSR1 toggles a silent modem)."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    async with TtyServer(settings, config, tty_path) as sim:
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
