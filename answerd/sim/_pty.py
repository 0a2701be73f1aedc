"""The computer's side of one simulated modem: a pty published at a symlink, with DTR and carrier loss.

Theory of operation
-------------------
The slave of a pseudo-terminal is published at a stable symlink (``/dev/ttySIM0``) for answerd, mgetty or a
terminal program to open. The slave is made raw once, before the sim closes its own slave descriptor:
otherwise the slave's line discipline would echo the modem's own ``RING`` back into the master as if the
computer had typed it. No slave descriptor stays open here, so the computer closing the port is visible.

* **DTR.** A pty has no modem control lines (TIOCMGET fails with ENOTTY). What a computer can do is set the
  speed to B0 (POSIX "hang up") or close the port; both are visible from the master, the first through
  ``tcgetattr(master)``, the second as POLLHUP/EIO. So DTR is *high* exactly when the slave is open and its
  output speed is not B0, and a poll every ``poll_interval`` watches both. While the slave is closed the
  master reports POLLHUP continuously, so its reader is removed (no busy loop) and bytes meant for the
  computer are dropped: a pty would otherwise keep them and hand stale RINGs to the next program.
* **Carrier loss.** When DCD falls the kernel hangs the tty up, which sends SIGHUP (and SIGCONT) to the
  session that has it as controlling tty and to its foreground process group. TIOCSIG on a pty master
  refuses SIGHUP, so :meth:`PtyLine.hang_up_tty` looks both up with TIOCGSID/TIOCGPGRP on the master and
  signals them itself; the caller does it *before* writing ``NO CARRIER``, so the hang-up cannot race it.
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
import termios
import tty
from collections.abc import Callable
from pathlib import Path

__all__ = ["PtyLine", "SimError", "escape_bytes"]

#: termios speed constants and the rate each stands for (B0 is absent: no rate).
_RATES = {
    getattr(termios, f"B{rate}"): rate
    for rate in (300, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
    if hasattr(termios, f"B{rate}")
}

# Linux's TIOCGSID; Python's termios module does not export it.
_TIOCGSID = getattr(termios, "TIOCGSID", 0x5429)
_READ_SIZE = 4096
_LOG_BYTES = 48


class SimError(Exception):
    """A problem the user must fix before the sim can run (bad link path, address in use)."""


def escape_bytes(data: bytes, limit: int = _LOG_BYTES) -> str:
    r"""Printable text for a transcript: ``\r``, ``\n``, ``\\``, ``\xNN`` escapes, cut after ``limit`` bytes.

    >>> escape_bytes(b"AT\r\x00")
    'AT\\r\\x00'
    """
    named = {0x0D: "\\r", 0x0A: "\\n", 0x5C: "\\\\"}
    text = "".join(named.get(b, chr(b) if 0x20 <= b < 0x7F else f"\\x{b:02x}") for b in data[:limit])
    return text + (f"...(+{len(data) - limit} bytes)" if len(data) > limit else "")


class PtyLine:
    """One pty, its published link, and the DTR the computer shows on it.

    Args:
        link: the symlink to publish for the slave.
        poll_interval: seconds between checks of the slave (open/closed, B0).
        on_data: called with the bytes the computer wrote.
        on_dtr: called with the new DTR state whenever it changes (``False`` once at :meth:`open`).
        log: a transcript line (the caller decides whether it is shown).
    """

    def __init__(
        self,
        link: Path,
        *,
        poll_interval: float,
        on_data: Callable[[bytes], None],
        on_dtr: Callable[[bool], None],
        log: Callable[[str], None],
    ) -> None:
        self._link = link
        self._poll_interval = poll_interval
        self._on_data = on_data
        self._on_dtr = on_dtr
        self._log = log
        self._loop: asyncio.AbstractEventLoop | None = None
        self._master = -1
        self._slave_path = ""
        self._poller = select.poll()
        self._slave_open = False
        self._dtr = False
        self._reading = False
        self._writing = False
        self._out = bytearray()
        self._poll_handle: asyncio.TimerHandle | None = None
        self._link_published = False

    @property
    def link(self) -> Path:
        """The published symlink."""
        return self._link

    @property
    def slave_path(self) -> str:
        """The pty slave (``/dev/pts/N``) the link points to."""
        return self._slave_path

    @property
    def is_open(self) -> bool:
        """Whether the pty exists (between :meth:`open` and :meth:`close`)."""
        return self._master >= 0

    @property
    def dtr(self) -> bool:
        """DTR as the sim sees it: the slave is open and its speed is not B0."""
        return self._dtr

    @property
    def speed(self) -> int | None:
        """The output rate the computer set on the port (``None``: B0, closed, or a rate not in the table)."""
        if self._master < 0:
            return None
        try:
            return _RATES.get(termios.tcgetattr(self._master)[5])
        except termios.error:
            return None

    def open(self, loop: asyncio.AbstractEventLoop) -> None:
        """Create the pty (the link is published separately, by :meth:`publish`)."""
        self._loop = loop
        master, slave = os.openpty()
        self._master = master
        self._slave_path = os.ttyname(slave)
        tty.setraw(slave, termios.TCSANOW)
        os.close(slave)
        os.set_blocking(master, False)
        self._poller.register(master, select.POLLIN)

    def publish(self) -> None:
        """Point the link at the slave; raises :class:`SimError` if it cannot."""
        _publish_link(self._link, self._slave_path)
        self._link_published = True

    def start(self) -> None:
        """Report DTR low, then start watching the slave."""
        self._on_dtr(False)
        self._poll_lines()

    def close(self) -> None:
        """Stop watching, close the pty and remove the link (if it still points here)."""
        if self._poll_handle is not None:
            self._poll_handle.cancel()
            self._poll_handle = None
        if self._master >= 0:
            self._stop_reading()
            self._stop_writing()
            with contextlib.suppress(KeyError):
                self._poller.unregister(self._master)
            os.close(self._master)
            self._master = -1
            self._slave_open = self._dtr = False
        if self._link_published:
            _remove_link(self._link, self._slave_path)
            self._link_published = False

    # --- watching the slave ----------------------------------------------------------------------------

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
        self._poll_handle = self._loop.call_later(self._poll_interval, self._poll_lines)

    def _update_dtr(self) -> None:
        high = False
        if self._slave_open:
            try:
                high = termios.tcgetattr(self._master)[5] != termios.B0
            except termios.error:
                high = False
        if high != self._dtr:
            if not high and self._slave_open:
                # What the DTE wrote before it dropped DTR was sent first (a program's last words before
                # answerd hangs up): the poll may see B0 before the reader has seen those bytes.
                self._drain_input()
            self._dtr = high
            self._on_dtr(high)

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

    # --- reading and writing ---------------------------------------------------------------------------

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
            self._on_data(data)

    def _drain_input(self) -> None:
        while data := self._read_master():
            self._on_data(data)

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

    def write(self, data: bytes) -> None:
        """Send bytes to the computer; dropped (with a note) while the port is closed."""
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

    def hang_up_tty(self) -> None:
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
