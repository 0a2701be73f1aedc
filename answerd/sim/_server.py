"""The asyncio shell around :class:`~answerd.sim.SimModem`: a pty for the computer, TCP for the phone line.

Theory of operation
-------------------
The modem itself is pure (:mod:`answerd.sim._modem`, its behaviour one :class:`~answerd.sim.ModemProfile`);
this module owns every file descriptor and clock and turns them into the modem's inputs, then carries out
the actions it returns, in order:

* **The DTE side** is a :class:`~answerd.sim._pty.PtyLine`: the pty published at a stable symlink, DTR
  read from the slave's state (open, not B0), and carrier loss played out as the kernel's SIGHUP.
* **The phone line** is a TCP listener: a connection is an incoming call, its bytes are the remote modem's
  data once online, its close is the caller hanging up, and :class:`~answerd.sim.DropCaller` closes it.
  While a call is up or ringing, a second caller hears ``BUSY`` and is disconnected.
* **A modem that dies** (:meth:`SimServer.toggle_silent`, SIGUSR1 to ``answerd sim``) stops answering
  the DTE and reporting RINGs until it is toggled back, for tests of answerd's idle health check.
* **Time** is ``loop.time()``. One ``call_at`` handle is re-armed from ``SimModem.get_timer()`` after every
  input, so the modem's timers need nothing else from the shell.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from answerd.sim._modem import SimModem
from answerd.sim._profile import ModemProfile
from answerd.sim._pty import PtyLine, SimError, escape_bytes
from answerd.sim._types import Action, CarrierLost, DropCaller, Log, ModemMode, ToCaller, ToDte

__all__ = ["ServerConfig", "SimError", "SimServer", "escape_bytes", "log_dce"]

_READ_SIZE = 4096
_LOG_BYTES = 48


@dataclass(frozen=True, slots=True, kw_only=True)
class ServerConfig:
    """Where the simulated modem lives.

    Args:
        link: the symlink published for the slave side of the pty (default ``/dev/ttySIM0``).
        host: address the phone line (TCP) listens on.
        port: TCP port; 0 picks a free one (see :attr:`SimServer.address`).
        verbose: write a readable transcript to ``log``.
        poll_interval: seconds between checks of the slave's state (open/closed, B0).
    """

    link: Path = Path("/dev/ttySIM0")
    host: str = "127.0.0.1"
    port: int = 2323
    verbose: bool = False
    poll_interval: float = 0.05


class SimServer:
    """One simulated modem: a pty published at a symlink and a TCP phone line.

    Use as ``async with SimServer(settings, config) as sim:``; :attr:`ready_line` is what ``answerd sim``
    prints once everything is up.
    """

    def __init__(self, settings: ModemProfile, config: ServerConfig, *, log: TextIO | None = None) -> None:
        self._config = config
        self._modem = SimModem(settings)
        self._log_stream = log if log is not None else sys.stderr
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = 0.0
        self._pty = PtyLine(
            config.link,
            poll_interval=config.poll_interval,
            on_data=self._dte_data,
            on_dtr=lambda high: self._dispatch(self._modem.dtr_changed(high, self._now())),
            log=self._log,
        )
        self._timer: asyncio.TimerHandle | None = None
        self._tcp: asyncio.Server | None = None
        self._address: tuple[str, int] = (config.host, config.port)
        self._caller: asyncio.StreamWriter | None = None
        self._clients: set[asyncio.Task[None]] = set()

    # --- lifecycle -------------------------------------------------------------------------------------

    async def __aenter__(self) -> SimServer:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Open the pty, listen on TCP and publish the link; raises :class:`SimError` on bad input."""
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._pty.open(self._loop)
        try:
            try:
                self._tcp = await asyncio.start_server(self._on_client, self._config.host, self._config.port)
            except OSError as exc:
                where = f"{self._config.host}:{self._config.port}"
                raise SimError(f"cannot listen on {where}: {exc.strerror or exc}") from None
            sockname = self._tcp.sockets[0].getsockname()
            self._address = (str(sockname[0]), int(sockname[1]))
            self._pty.publish()
        except BaseException:
            await self.close()
            raise
        self._log(f"pty {self._pty.slave_path} at {self._config.link}; phone line on {self._format_address()}")
        self._pty.start()

    async def close(self) -> None:
        """Hang everything up, close the pty and the listener, and remove the link."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._caller is not None:
            self._caller.close()
            self._caller = None
        if self._tcp is not None:
            self._tcp.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tcp.wait_closed(), 0.5)
            self._tcp = None
        for task in list(self._clients):
            task.cancel()
        if self._clients:
            await asyncio.wait(self._clients, timeout=0.5)
        self._pty.close()

    # --- observers -------------------------------------------------------------------------------------

    @property
    def modem(self) -> SimModem:
        """The pure modem inside (read its state in tests; do not feed it directly)."""
        return self._modem

    @property
    def slave_path(self) -> str:
        """The pty slave (``/dev/pts/N``) the link points to."""
        return self._pty.slave_path

    @property
    def address(self) -> tuple[str, int]:
        """The TCP address the phone line listens on (the real port when 0 was asked for)."""
        return self._address

    @property
    def dtr(self) -> bool:
        """DTR as the sim sees it: the slave is open and its speed is not B0."""
        return self._pty.dtr

    @property
    def ready_line(self) -> str:
        """``answerd-sim: ready tty=<link> pty=<slave> listen=<host>:<port>``."""
        return f"answerd-sim: ready tty={self._config.link} pty={self._pty.slave_path} listen={self._format_address()}"

    def toggle_silent(self) -> bool:
        """Make the modem go dead, or come back if it was (``answerd sim`` does this on SIGUSR1).

        Returns:
            Whether the modem is silent now.
        """
        self._dispatch(self._modem.set_silent(not self._modem.silent, self._now()))
        return self._modem.silent

    def _format_address(self) -> str:
        host, port = self._address
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    # --- the DTE side ----------------------------------------------------------------------------------

    def _dte_data(self, data: bytes) -> None:
        if self._modem.mode is ModemMode.ONLINE:
            self._log(f"DTE> data {len(data)} byte(s): {escape_bytes(data)}")
        else:
            self._log(f"DTE> {escape_bytes(data)}")
        self._modem.set_dte_rate(self._pty.speed)
        self._dispatch(self._modem.dte_data(data, self._now()))

    # --- the phone line --------------------------------------------------------------------------------

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        try:
            await self._serve_client(reader, writer)
        finally:
            self._clients.discard(task)

    async def _serve_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername")
        if self._caller is not None or not self._modem.accepts_call:
            self._log(f"caller {peer} gets BUSY: the line is in use")
            writer.write(b"BUSY\r\n")
            writer.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer.wait_closed(), 0.5)
            return
        self._caller = writer
        self._log(f"caller connected from {peer}")
        self._dispatch(self._modem.caller_arrived(self._now()))
        try:
            while self._caller is writer:
                data = await reader.read(_READ_SIZE)
                if not data or self._caller is not writer:
                    break
                self._log(f"CALLER> {len(data)} byte(s): {escape_bytes(data)}")
                self._dispatch(self._modem.caller_data(data, self._now()))
        except (ConnectionError, OSError):
            pass
        finally:
            if self._caller is writer:
                self._caller = None
                self._log("caller hung up")
                self._dispatch(self._modem.caller_left(self._now()))
            writer.close()

    def _drop_caller(self) -> None:
        if self._caller is not None:
            self._log("modem hung up: closing the caller's connection")
            self._caller.close()
            self._caller = None

    # --- actions and time ------------------------------------------------------------------------------

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _dispatch(self, actions: list[Action]) -> None:
        for action in actions:
            match action:
                case ToDte(data=data):
                    log_dce(self._log, data)
                    self._pty.write(data)
                case ToCaller(data=data):
                    if self._caller is not None:
                        self._log(f"CALLER< {len(data)} byte(s): {escape_bytes(data)}")
                        self._caller.write(data)
                case DropCaller():
                    self._drop_caller()
                case CarrierLost():
                    self._pty.hang_up_tty()
                case Log(text=text):
                    self._log(text)
        self._rearm()

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        when = self._modem.get_timer()
        if when is not None and self._loop is not None and self._pty.is_open:
            self._timer = self._loop.call_at(when, self._on_timer, when)

    def _on_timer(self, when: float) -> None:
        self._timer = None
        # call_at may run a hair early (clock resolution); never hand the modem a time before its deadline.
        self._dispatch(self._modem.handle_timer(max(self._now(), when)))

    # --- transcript ------------------------------------------------------------------------------------

    def _log(self, text: str) -> None:
        if not self._config.verbose:
            return
        elapsed = self._loop.time() - self._started if self._loop is not None else 0.0
        print(f"answerd-sim [{elapsed:8.3f}] {text}", file=self._log_stream, flush=True)


def log_dce(log: Callable[[str], None], data: bytes) -> None:
    """Transcript lines for bytes the modem sent the computer: one per text line, else escaped bytes."""
    text = data.replace(b"\r", b"\n").split(b"\n")
    if all(0x20 <= b < 0x7F for line in text for b in line) and len(data) <= 4 * _LOG_BYTES:
        for line in text:
            if line:
                log(f"DCE< {line.decode('ascii')}")
    else:
        log(f"DCE< {len(data)} byte(s): {escape_bytes(data)}")
