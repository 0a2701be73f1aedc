"""The asyncio shell around :class:`~answerd.sim.SimModem`: a pty for the computer, TCP for the phone line.

Theory of operation
-------------------
The modem itself is pure (:mod:`answerd.sim._modem`, its behaviour one :class:`~answerd.sim.ModemProfile`);
this module owns every file descriptor and clock and turns them into the modem's inputs, then carries out
the actions it returns, in order:

* **The DTE side** is the master of a pseudo-terminal. The slave is published at a stable symlink
  (``/dev/ttySIM0`` by default) for answerd, mgetty or a terminal program to open. The slave is made raw
  once, before the sim closes its own slave descriptor: otherwise the slave's line discipline would echo
  the modem's own ``RING`` back into the master as if the computer had typed it. The sim keeps no slave
  descriptor open, so it can see the computer close the port.
* **DTR.** A pty has no modem control lines (TIOCMGET fails with ENOTTY). What a computer can do is set the
  speed to B0 (POSIX "hang up") or close the port; both are visible from the master, the first through
  ``tcgetattr(master)``, the second as POLLHUP/EIO. So DTR is *high* exactly when the slave is open and its
  output speed is not B0, and a 50 ms poll watches both. While the slave is closed the master reports
  POLLHUP continuously, so its reader is removed (no busy loop) and bytes meant for the DTE are dropped:
  a pty would otherwise keep them and hand stale RINGs to the next program that opens the port.
* **Carrier loss.** When DCD falls the kernel hangs the tty up, which sends SIGHUP (and SIGCONT) to the
  session that has it as controlling tty and to its foreground process group. TIOCSIG on a pty master
  refuses SIGHUP, so the sim looks both up with TIOCGSID/TIOCGPGRP on the master and signals them itself,
  *before* writing ``NO CARRIER``, so the hang-up cannot race the text.
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
import errno
import fcntl
import os
import select
import signal
import struct
import sys
import termios
import tty
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from answerd.sim._modem import SimModem
from answerd.sim._profile import ModemProfile
from answerd.sim._types import Action, CarrierLost, DropCaller, Log, ModemMode, ToCaller, ToDte

__all__ = ["ServerConfig", "SimError", "SimServer", "escape_bytes"]

# Linux's TIOCGSID; Python's termios module does not export it.
_TIOCGSID = getattr(termios, "TIOCGSID", 0x5429)
_READ_SIZE = 4096
_LOG_BYTES = 48


class SimError(Exception):
    """A problem the user must fix before the sim can run (bad link path, address in use)."""


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


def escape_bytes(data: bytes, limit: int = _LOG_BYTES) -> str:
    r"""Printable text for a transcript: ``\r``, ``\n``, ``\\``, ``\xNN`` escapes, cut after ``limit`` bytes.

    >>> escape_bytes(b"AT\r\x00")
    'AT\\r\\x00'
    """
    named = {0x0D: "\\r", 0x0A: "\\n", 0x5C: "\\\\"}
    text = "".join(named.get(b, chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in data[:limit])
    return text + (f"...(+{len(data) - limit} bytes)" if len(data) > limit else "")


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
        self._master = -1
        self._slave_path = ""
        self._poller = select.poll()
        self._slave_open = False
        self._dtr = False
        self._reading = False
        self._writing = False
        self._out = bytearray()
        self._timer: asyncio.TimerHandle | None = None
        self._poll_handle: asyncio.TimerHandle | None = None
        self._tcp: asyncio.Server | None = None
        self._address: tuple[str, int] = (config.host, config.port)
        self._caller: asyncio.StreamWriter | None = None
        self._clients: set[asyncio.Task[None]] = set()
        self._link_published = False

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
        master, slave = os.openpty()
        self._master = master
        self._slave_path = os.ttyname(slave)
        tty.setraw(slave, termios.TCSANOW)
        os.close(slave)
        os.set_blocking(master, False)
        self._poller.register(master, select.POLLIN)
        try:
            try:
                self._tcp = await asyncio.start_server(self._on_client, self._config.host, self._config.port)
            except OSError as exc:
                where = f"{self._config.host}:{self._config.port}"
                raise SimError(f"cannot listen on {where}: {exc.strerror or exc}") from None
            sockname = self._tcp.sockets[0].getsockname()
            self._address = (str(sockname[0]), int(sockname[1]))
            _publish_link(self._config.link, self._slave_path)
            self._link_published = True
        except BaseException:
            await self.close()
            raise
        self._log(f"pty {self._slave_path} at {self._config.link}; phone line on {self._format_address()}")
        self._dispatch(self._modem.dtr_changed(False, self._now()))
        self._poll_lines()

    async def close(self) -> None:
        """Hang everything up, close the pty and the listener, and remove the link."""
        for handle in (self._timer, self._poll_handle):
            if handle is not None:
                handle.cancel()
        self._timer = self._poll_handle = None
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
        if self._master >= 0:
            self._stop_reading()
            self._stop_writing()
            with contextlib.suppress(KeyError):
                self._poller.unregister(self._master)
            os.close(self._master)
            self._master = -1
            self._slave_open = self._dtr = False
        if self._link_published:
            _remove_link(self._config.link, self._slave_path)
            self._link_published = False

    # --- observers -------------------------------------------------------------------------------------

    @property
    def modem(self) -> SimModem:
        """The pure modem inside (read its state in tests; do not feed it directly)."""
        return self._modem

    @property
    def slave_path(self) -> str:
        """The pty slave (``/dev/pts/N``) the link points to."""
        return self._slave_path

    @property
    def address(self) -> tuple[str, int]:
        """The TCP address the phone line listens on (the real port when 0 was asked for)."""
        return self._address

    @property
    def dtr(self) -> bool:
        """DTR as the sim sees it: the slave is open and its speed is not B0."""
        return self._dtr

    @property
    def ready_line(self) -> str:
        """``answerd-sim: ready tty=<link> pty=<slave> listen=<host>:<port>``."""
        return f"answerd-sim: ready tty={self._config.link} pty={self._slave_path} listen={self._format_address()}"

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

    def _poll_lines(self) -> None:
        """Watch the slave: opened/closed (POLLHUP) and B0 (tcgetattr on the master)."""
        self._poll_handle = None
        if self._master < 0 or self._loop is None:
            return
        hung_up = any(events & select.POLLHUP for _, events in self._poller.poll(0))
        if hung_up and self._slave_open:
            self._drain_input()  # what the DTE wrote just before closing still counts
            self._set_closed()
        elif not hung_up and not self._slave_open:
            self._slave_open = True
            self._log("DTE opened the port")
            self._start_reading()
        self._update_dtr()
        self._poll_handle = self._loop.call_later(self._config.poll_interval, self._poll_lines)

    def _update_dtr(self) -> None:
        high = False
        if self._slave_open:
            try:
                high = termios.tcgetattr(self._master)[5] != termios.B0
            except termios.error:
                high = False
        if high != self._dtr:
            self._dtr = high
            self._dispatch(self._modem.dtr_changed(high, self._now()))

    def _set_closed(self) -> None:
        if not self._slave_open:
            return
        self._slave_open = False
        self._stop_reading()
        self._stop_writing()
        if self._out:
            self._log(f"dropped {len(self._out)} unsent byte(s): the DTE closed the port")
            self._out.clear()
        self._log("DTE closed the port")
        self._update_dtr()

    def _start_reading(self) -> None:
        if not self._reading and self._loop is not None:
            self._loop.add_reader(self._master, self._on_readable)
            self._reading = True

    def _stop_reading(self) -> None:
        if self._reading and self._loop is not None:
            self._loop.remove_reader(self._master)
            self._reading = False

    def _on_readable(self) -> None:
        data = self._read_master()
        if data:
            self._dte_data(data)

    def _drain_input(self) -> None:
        while data := self._read_master():
            self._dte_data(data)

    def _read_master(self) -> bytes:
        try:
            data = os.read(self._master, _READ_SIZE)
        except BlockingIOError:
            return b""
        except OSError as exc:
            if exc.errno != errno.EIO:
                self._log(f"pty read failed: {exc}")
            self._set_closed()
            return b""
        if not data:
            self._set_closed()
        return data

    def _dte_data(self, data: bytes) -> None:
        if self._modem.mode is ModemMode.ONLINE:
            self._log(f"DTE> data {len(data)} byte(s): {escape_bytes(data)}")
        else:
            self._log(f"DTE> {escape_bytes(data)}")
        self._dispatch(self._modem.dte_data(data, self._now()))

    def _write_dte(self, data: bytes) -> None:
        if not self._slave_open:
            self._log(f"dropped {len(data)} byte(s) for the DTE: port closed: {escape_bytes(data)}")
            return
        self._out += data
        self._flush()

    def _flush(self) -> None:
        while self._out:
            try:
                n = os.write(self._master, self._out)
            except BlockingIOError:
                self._start_writing()
                return
            except OSError as exc:
                self._log(f"pty write failed: {exc}")
                self._set_closed()
                return
            del self._out[:n]
        self._stop_writing()

    def _start_writing(self) -> None:
        if not self._writing and self._loop is not None:
            self._loop.add_writer(self._master, self._flush)
            self._writing = True

    def _stop_writing(self) -> None:
        if self._writing and self._loop is not None:
            self._loop.remove_writer(self._master)
            self._writing = False

    def _hang_up_tty(self) -> None:
        """Do what the kernel does when DCD falls: SIGHUP, then SIGCONT, to the tty's session and group."""
        own = {os.getpgrp(), os.getsid(0)}
        targets: list[int] = []
        for request in (_TIOCGSID, termios.TIOCGPGRP):
            try:
                (pid,) = struct.unpack("i", fcntl.ioctl(self._master, request, b"\0" * 4))
            except OSError:
                continue  # ENOTTY: no session has the tty as its controlling terminal
            if pid > 0 and pid not in targets and pid not in own:
                targets.append(pid)
        if not targets:
            self._log("carrier lost: no session on the tty to hang up")
            return
        self._log(f"carrier lost: SIGHUP to process group(s) {', '.join(map(str, targets))}")
        for sig in (signal.SIGHUP, signal.SIGCONT):
            for pgid in targets:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pgid, sig)

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
                    self._log_dce(data)
                    self._write_dte(data)
                case ToCaller(data=data):
                    if self._caller is not None:
                        self._log(f"CALLER< {len(data)} byte(s): {escape_bytes(data)}")
                        self._caller.write(data)
                case DropCaller():
                    self._drop_caller()
                case CarrierLost():
                    self._hang_up_tty()
                case Log(text=text):
                    self._log(text)
        self._rearm()

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        when = self._modem.get_timer()
        if when is not None and self._loop is not None and self._master >= 0:
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

    def _log_dce(self, data: bytes) -> None:
        if not self._config.verbose:
            return
        text = data.replace(b"\r", b"\n").split(b"\n")
        if all(0x20 <= b < 0x7F for line in text for b in line) and len(data) <= 4 * _LOG_BYTES:
            for line in text:
                if line:
                    self._log(f"DCE< {line.decode('ascii')}")
        else:
            self._log(f"DCE< {len(data)} byte(s): {escape_bytes(data)}")


def _publish_link(link: Path, target: str) -> None:
    """Point ``link`` at ``target`` atomically; refuse to replace anything but a symlink."""
    if os.path.lexists(link) and not link.is_symlink():
        raise SimError(f"{link} exists and is not a symlink; refusing to replace it")
    if not link.parent.is_dir():
        raise SimError(f"cannot create {link}: directory {link.parent} does not exist")
    tmp = link.with_name(f".{link.name}.{os.getpid()}.tmp")
    try:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        os.symlink(target, tmp)
        os.replace(tmp, link)
    except OSError as exc:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise SimError(f"cannot create {link}: {exc.strerror or exc}") from None


def _remove_link(link: Path, target: str) -> None:
    """Remove ``link`` if it still points at ``target`` (another sim may have taken it over)."""
    with contextlib.suppress(OSError):
        if link.is_symlink() and os.readlink(link) == target:
            link.unlink()
