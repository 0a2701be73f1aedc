"""The benchmark's modem: a minimal Hayes modem on the master side of a pty, timestamping every exchange.

Both daemons (answerd and mgetty) talk to this same class, one instance per line, all in the benchmark's own
process, so every timestamp comes from one clock (``time.monotonic_ns()``) and one event loop:

* incoming bytes (pty reads, marker FIFO reads) are stamped right after ``read`` returns;
* outgoing bytes (RING, OK, CONNECT, the typed name) are stamped right before ``write``.

Why not ``answerd sim``: its ``-v`` transcript prints ``loop.time()`` with ``%8.3f`` (1 ms resolution) and
stamps ``DCE< RING`` before the write but ``DTE> ATA`` after an event-loop hop, so a 1 ms quantity would be
mostly quantisation; its phone line is TCP in a second process (a second clock hop for the caller); and its
DTR watcher is a 50 ms poll. This modem is deliberately tiny: ``OK`` to every ``AT`` line (``E0``/``E1``/
``ATZ`` switch its echo) except ``AT+F...`` (fax class commands: ``ERROR``, as from a data-only modem),
``+++`` back to command mode, ``RING`` when told, ``CONNECT`` at once on ``ATA``. It keeps a descriptor on
the pty slave open, so the master never reports a hang-up while a daemon closes and reopens the port (or
while mgetty is being respawned), and it ignores DTR (speed B0), like a modem with ``&D0``; both daemons
run with DTR toggling off anyway.

The stand-in programs report to a FIFO (:attr:`Modem.marker_fifo`): a NUL byte (``dd if=/dev/zero``) means
"the program is running and about to exit", ``s`` means "started", ``e`` means "about to exit". The end of
the program is the end of the call: the modem goes back to command mode, as a modem does when the caller
hangs up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import time
import tty
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CallTimes", "Modem", "ModemError", "now_ns", "open_published_pty"]

RING = b"\r\nRING\r\n"
CONNECT = b"\r\nCONNECT 33600/ARQ/V34/LAPM/V42BIS\r\n"
OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"


def now_ns() -> int:
    """The one clock every timestamp of the benchmark comes from."""
    return time.monotonic_ns()


def open_published_pty(link: Path) -> tuple[int, int, str]:
    """A raw pty whose slave is published at ``link`` (replaced atomically); returns (master, slave, path).

    The modem keeps the slave open itself, so it never sees the DTE close it (nor answerd's B0 "DTR drop").
    """
    master, slave = os.openpty()
    tty.setraw(slave, termios.TCSANOW)
    slave_path = os.ttyname(slave)
    os.set_blocking(master, False)
    tmp = link.with_name(f".{link.name}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    os.symlink(slave_path, tmp)
    os.replace(tmp, link)
    return master, slave, slave_path


class ModemError(Exception):
    """Something did not happen in time; the message says what was seen."""


@dataclass
class CallTimes:
    """Monotonic timestamps (ns) of one call, as seen by the modem."""

    t_ring: int = 0
    rings: int = 0
    t_last_ring: int = 0
    t_ata: int | None = None
    t_connect: int | None = None
    t_first_byte: int | None = None
    t_prompt: int | None = None
    t_name: int | None = None
    t_program: int | None = None
    t_end: int | None = None
    first_bytes: bytes = b""


@dataclass
class _Waiter:
    predicate: Callable[[], bool]
    future: asyncio.Future[None] = field(repr=False)


class Modem:
    """One simulated modem on a fresh pty, published as the symlink ``link``.

    Args:
        link: where to publish the pty slave (answerd's ``device``; for mgetty a path under ``/dev``).
        marker_fifo: FIFO the stand-in program writes to (created here).
        name: what the "caller" types when the prompt ends with ``prompt_end`` (``None``: type nothing,
            for ``mode = "direct"``).
    """

    def __init__(
        self, link: Path, marker_fifo: Path, *, name: bytes | None = b"bench\r", prompt_end: bytes = b"login: "
    ) -> None:
        self.link = link
        self.marker_fifo = marker_fifo
        self.name = name
        self.prompt_end = prompt_end
        self.master, self._slave, self.slave_path = open_published_pty(link)
        self.state = "command"
        self.echo = True
        self._line = bytearray()
        self._screen = bytearray()
        #: Every AT command line received: (t_ns, text).
        self.commands: list[tuple[int, str]] = []
        #: Every final result code written (OK, or ERROR for fax commands): (t_ns, the command it answers).
        self.replies: list[tuple[int, str]] = []
        #: Every call, oldest first.
        self.calls: list[CallTimes] = []
        self.call: CallTimes | None = None
        #: First byte read from the pty at all (start-up: the daemon has opened the port and talks).
        self.t_first_rx: int | None = None
        #: AT commands (other than ATA) received while a call was ringing (e.g. a health check).
        self.commands_while_ringing = 0
        self._waiters: list[_Waiter] = []
        self._loop = asyncio.get_running_loop()
        self._loop.add_reader(self.master, self._on_readable)
        with contextlib.suppress(FileNotFoundError):
            marker_fifo.unlink()
        os.mkfifo(marker_fifo)
        # O_RDWR: this process is a writer too, so the FIFO never reports a hang-up between programs.
        self._marker_fd = os.open(marker_fifo, os.O_RDWR | os.O_NONBLOCK)
        self._loop.add_reader(self._marker_fd, self._on_marker)

    # ------------------------------------------------------------------ control

    def close(self) -> None:
        """Stop reading, close both pty ends and the FIFO, remove the link and the FIFO."""
        self._loop.remove_reader(self.master)
        self._loop.remove_reader(self._marker_fd)
        for fd in (self._marker_fd, self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        for path in (self.link, self.marker_fifo):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def ring(self) -> CallTimes:
        """Send one RING: the first one starts a call, later ones (still ringing) repeat it."""
        t = now_ns()
        if self.state == "ringing" and self.call is not None:
            self.call.rings += 1
            self.call.t_last_ring = t
        elif self.state == "command":
            self.call = CallTimes(t_ring=t, rings=1, t_last_ring=t)
            self.calls.append(self.call)
            self.state = "ringing"
        else:
            raise ModemError(f"ring() while {self.state}")
        os.write(self.master, RING)
        return self.call

    def give_up(self) -> None:
        """The caller stops ringing (an unanswered call)."""
        if self.state == "ringing":
            self.state = "command"

    async def wait_until(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        """Wait until ``predicate()`` holds (checked after every event), or raise :class:`ModemError`."""
        if predicate():
            return
        waiter = _Waiter(predicate, self._loop.create_future())
        self._waiters.append(waiter)
        try:
            await asyncio.wait_for(asyncio.shield(waiter.future), timeout)
        except TimeoutError:
            raise ModemError(
                f"{self.link.name}: no {what} within {timeout} s; state={self.state} call={self.call} "
                f"last commands={[c for _, c in self.commands[-6:]]}"
            ) from None
        finally:
            with contextlib.suppress(ValueError):
                self._waiters.remove(waiter)

    def replies_through(self, after: int, seq: list[str]) -> list[tuple[int, str]] | None:
        """The replies written after ``after`` up to the one that completes the init sequence ``seq``.

        The sequence is complete at the reply to its last command (its n-th occurrence, if that command
        appears n times in ``seq``); replies to anything else in between (a health check) are kept in the
        window but do not count. ``None`` while the sequence is not complete.
        """
        last, needed, seen = seq[-1], seq.count(seq[-1]), 0
        window = []
        for t, command in self.replies:
            if t <= after:
                continue
            window.append((t, command))
            if command == last:
                seen += 1
                if seen == needed:
                    return window
        return None

    # ------------------------------------------------------------------ internals

    def _notify(self) -> None:
        for waiter in list(self._waiters):
            if not waiter.future.done() and waiter.predicate():
                waiter.future.set_result(None)

    def _write(self, data: bytes) -> None:
        with contextlib.suppress(BlockingIOError):
            os.write(self.master, data)

    def _on_marker(self) -> None:
        try:
            data = os.read(self._marker_fd, 64)
        except BlockingIOError:
            return
        t = now_ns()
        call = self.call
        if call is None:
            return
        for byte in data:
            if byte in (0, ord("s")) and call.t_program is None:
                call.t_program = t
            if byte in (0, ord("e")) and call.t_end is None:
                call.t_end = t
                self.state = "command"  # the caller hangs up: carrier gone, back to command mode
                self._line.clear()
        self._notify()

    def _on_readable(self) -> None:
        try:
            data = os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return
        t = now_ns()
        if not data:
            return
        if self.t_first_rx is None:
            self.t_first_rx = t
        if self.state == "online":
            self._online(data, t)
        else:
            self._command_bytes(data, t)
        self._notify()

    def _command_bytes(self, data: bytes, t: int) -> None:
        if self.echo:
            self._write(data)
        for index, byte in enumerate(data):
            if byte == 0x0D:
                line = self._line.decode("ascii", "replace").replace("+++", "").strip().upper()
                self._line.clear()
                self._command(line, t)
                if self.state == "online":
                    rest = data[index + 1 :]
                    if rest:
                        self._online(rest, t)
                    return
            elif byte != 0x0A and len(self._line) < 256:
                self._line.append(byte)

    def _command(self, line: str, t: int) -> None:
        if not line.startswith("AT"):
            return
        self.commands.append((t, line))
        call = self.call
        if line.startswith("ATA") and self.state == "ringing" and call is not None:
            call.t_ata = t
            self.state = "online"
            self._screen.clear()
            call.t_connect = now_ns()
            self._write(CONNECT)
            return
        if self.state == "ringing":
            self.commands_while_ringing += 1  # answered with OK; the phone keeps ringing, as on a real modem
        if line.startswith("ATZ"):
            self.echo = True
        if "E0" in line:
            self.echo = False
        elif "E1" in line:
            self.echo = True
        if line.startswith("AT+F"):  # a data-only modem: no fax class (mgetty's modem-type auto probes for it)
            self.replies.append((now_ns(), line))
            self._write(ERROR)
            return
        self.replies.append((now_ns(), line))
        self._write(OK)

    def _online(self, data: bytes, t: int) -> None:
        call = self.call
        assert call is not None
        if b"+++" in data:  # the escape sequence (guard times are not checked): back to command mode
            self.state = "command"
            self._line.clear()
            self.replies.append((now_ns(), "+++"))
            self._write(OK)
            return
        if call.t_first_byte is None:
            call.t_first_byte = t
        if len(call.first_bytes) < 200:
            call.first_bytes += data[: 200 - len(call.first_bytes)]
        self._screen += data
        if call.t_prompt is None and self._screen.endswith(self.prompt_end):
            call.t_prompt = t
            self._screen.clear()
            if self.name is not None:
                call.t_name = now_ns()
                self._write(self.name)
