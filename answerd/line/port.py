"""The serial port: open the device afresh for every cycle, set termios ourselves, modem lines behind an interface.

Why each choice (facts in ../shared/design/architecture.md §3):

* **Open afresh for every call.** A hang-up (DCD drop with CLOCAL clear, or ``login``'s ``vhangup()``)
  leaves *every* open file on the tty hung up: reads return EOF, ioctls fail with EIO. So after each call
  the device is closed and opened again by path; the path may be a symlink that moved (USB re-enumeration,
  ``/dev/serial/by-path/...``), which is why it is resolved at every open, never cached.
* **termios set explicitly.** pyserial opens with ``O_NOCTTY|O_NONBLOCK``, makes the line raw and sets
  ``CLOCAL``, but never touches ``HUPCL``. answerd wants raw 8N1 at a fixed speed, RTS/CTS per config,
  ``HUPCL`` (closing drops DTR, so the modem hangs up even if answerd dies), and ``CLOCAL`` only while idle:
  after CONNECT it is cleared so that a carrier drop hangs the tty up (mgetty does the same).
* **Modem control lines behind an interface** (:mod:`answerd.line.modem_lines`). A pty (and a 3-wire
  cable) has no DTR/DCD: ``TIOCMGET`` fails with ENOTTY. ``auto`` tries the ioctls and falls back to
  ``none`` (speed B0 for "DTR low") with one warning.
* **Never block the loop on close.** ``tcdrain`` can wait forever after a carrier loss with RTS/CTS (CTS
  stays low), and pyserial-asyncio drains on close. So output still queued is discarded (``TCOFLUSH``) before closing,
  and the close runs in an executor under a timeout.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import errno
import fcntl
import os
import stat
import struct
import termios
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import serial
import serial_asyncio

from answerd.line.modem_lines import SPEEDS, ModemLines, NoLines, TiocmLines, errno_of

# termios index names, for readability
_IFLAG, _OFLAG, _CFLAG, _LFLAG, _ISPEED, _OSPEED, _CC = range(7)

__all__ = [
    "LineSettings",
    "ModemControl",
    "ModemLines",
    "NoLines",
    "Port",
    "PortFactory",
    "PortOpenError",
    "SerialPort",
    "TiocmLines",
    "set_raw",
    "set_session_mode",
]


class PortOpenError(Exception):
    """The device could not be opened or set up. ``errno`` is kept to tell "missing" from "busy"."""

    def __init__(self, path: str, message: str, err: int | None = None) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path
        self.errno = err


class ModemControl(enum.Enum):
    """Which modem-control implementation to use."""

    AUTO = "auto"
    TIOCM = "tiocm"
    NONE = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class LineSettings:
    """How to open and set up the device."""

    path: str
    speed: int = 38400
    rtscts: bool = True
    modem_control: ModemControl = ModemControl.AUTO
    close_timeout_s: float = 5.0


class Port(Protocol):
    """What the daemon needs of an open line (:class:`SerialPort`; in tests, a fake wired to the sim's core)."""

    @property
    def lines(self) -> ModemLines:
        """DTR and DCD."""

    def write(self, data: bytes) -> None:
        """Send bytes to the modem, never blocking."""

    def flush_input(self) -> None:
        """Discard what the modem sent and nobody read."""

    def pause_until_readable(self, on_readable: Callable[[], None]) -> None:
        """Stop reading; call ``on_readable`` once, without reading a byte, when the line has input."""

    def resume_reading(self) -> None:
        """Read the line again (and stop waiting for it to become readable)."""

    def still_the_device(self) -> bool:
        """Whether the configured path still names the device that is open (it may have been unplugged)."""

    def after_call(self) -> bool:
        """Back to command mode after a call (CLOCAL, raw, read again); ``False``: the tty was hung up."""

    async def close(self) -> None:
        """Close the line, never blocking for long and never raising."""


class PortFactory(Protocol):
    """Opens a line: :meth:`SerialPort.open`, or a test's fake."""

    async def __call__(
        self,
        settings: LineSettings,
        *,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[Exception | None], None],
        on_fallback: Callable[[str], None] | None = None,
    ) -> Port:
        """Open the line described by ``settings``; raise :class:`PortOpenError` if it cannot be used."""


class _Protocol(asyncio.Protocol):
    def __init__(self, on_data: Callable[[bytes], None], on_lost: Callable[[Exception | None], None]) -> None:
        self._on_data = on_data
        self._on_lost = on_lost
        self.closed = asyncio.get_running_loop().create_future()
        #: Set by :meth:`SerialPort.close`: the coming connection_lost is ours, not a hang-up.
        self.close_requested = False

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)
        if not self.close_requested:
            self._on_lost(exc)


class SerialPort:
    """One open of the modem device, read through pyserial-asyncio.

    Use :meth:`open`; then ``write``, ``lines``, the termios helpers, and :meth:`close`. ``on_data`` gets
    every chunk read; ``on_lost`` is called once if the device hangs up or vanishes while open (not when
    :meth:`close` is called).
    """

    def __init__(
        self,
        settings: LineSettings,
        ser: serial.Serial,
        transport: serial_asyncio.SerialTransport,
        protocol: _Protocol,
        lines: ModemLines,
    ) -> None:
        self.settings = settings
        self._serial = ser
        self._transport = transport
        self._protocol = protocol
        self.lines = lines
        self.fd: int = ser.fd
        self._closing = False
        self._watching = False

    @classmethod
    async def open(
        cls,
        settings: LineSettings,
        *,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[Exception | None], None],
        on_fallback: Callable[[str], None] | None = None,
    ) -> SerialPort:
        """Open ``settings.path`` and set it up for talking to the modem (raw, CLOCAL, HUPCL).

        Args:
            on_fallback: called with a reason when ``auto`` modem control falls back to ``none``.

        Raises:
            PortOpenError: the device is missing, busy, not a tty, or refuses the requested setup.
        """
        loop = asyncio.get_running_loop()
        ser = await loop.run_in_executor(None, _open_serial, settings)
        try:
            lines = _choose_lines(ser.fd, settings, on_fallback)
            _set_command_mode(ser.fd, settings)
            termios.tcflush(ser.fd, termios.TCIFLUSH)  # stale modem output; ours was drained or flushed
        except PortOpenError:
            ser.close()
            raise
        except (OSError, termios.error) as exc:
            ser.close()
            raise PortOpenError(settings.path, f"cannot set up the line: {exc}", errno_of(exc)) from None
        protocol = _Protocol(on_data, on_lost)
        transport, _ = await serial_asyncio.connection_for_serial(loop, lambda: protocol, ser)
        # The transport starts reading from a call_soon: let it run, so that a pause right after this open
        # is not undone by it (the idle watch would then lose the line's input to the transport).
        await asyncio.sleep(0)
        return cls(settings, ser, transport, protocol, lines)

    # ------------------------------------------------------------------ data

    def write(self, data: bytes) -> None:
        """Send bytes to the modem now if the tty takes them; queue the rest (never blocks).

        pyserial-asyncio's ``write`` always queues and writes one event-loop iteration later (after two
        ``epoll_ctl`` calls), which puts every wake-up of a busy machine between RING and ``ATA``. asyncio's
        own transports try the write at once when nothing is queued; so does this. With something queued,
        order demands the queue.
        """
        if self._transport.get_write_buffer_size() == 0 and not self._transport.is_closing():
            try:
                sent = os.write(self.fd, data)
            except OSError:  # EAGAIN, or an error the transport will meet and report in its usual way
                sent = 0
            data = data[sent:]
            if not data:
                return
        self._transport.write(data)

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait until what was written has left answerd's buffer and the kernel's output queue."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        while self._transport.get_write_buffer_size() and loop.time() < deadline:
            await asyncio.sleep(0.01)
        with contextlib.suppress(OSError):
            if not _output_queued(self.fd):  # the usual case at a call's start: no thread hand-off for nothing
                return
        # tcdrain in a thread with a timeout: it can block forever when CTS is held low.
        with contextlib.suppress(TimeoutError, termios.error, OSError):
            await asyncio.wait_for(
                loop.run_in_executor(None, termios.tcdrain, self.fd), max(0.1, deadline - loop.time())
            )

    def pause_reading(self) -> None:
        """Stop reading the tty: from now on it belongs to the handed-off program."""
        self._transport.pause_reading()

    def pause_until_readable(self, on_readable: Callable[[], None]) -> None:
        """Stop reading, and call ``on_readable`` once when the tty has input, which stays unread.

        mgetty's "wait without reading": an idle line is not read, so the answer to a dial-out program's
        command goes to that program; whoever wakes up here looks at the line's lock before reading a byte.
        """
        loop = asyncio.get_running_loop()
        self._transport.pause_reading()
        self._stop_watching()

        def readable() -> None:
            self._stop_watching()  # once: the input stays unread, so the fd stays readable
            on_readable()

        loop.add_reader(self.fd, readable)
        self._watching = True

    def resume_reading(self) -> None:
        """Read the tty again."""
        self._stop_watching()
        self._transport.resume_reading()

    def _stop_watching(self) -> None:
        if self._watching:
            self._watching = False
            asyncio.get_running_loop().remove_reader(self.fd)

    def still_the_device(self) -> bool:
        """Whether the configured path still names the open device (same ``st_rdev``, a character device).

        A device unplugged (or its symlink removed) while the port is open leaves answerd holding a file
        that no program started by path can open: answering a call on it connects the caller to nothing.
        """
        try:
            named = os.stat(self.settings.path)
            opened = os.fstat(self.fd)
        except (OSError, ValueError):
            return False
        return stat.S_ISCHR(named.st_mode) and named.st_rdev == opened.st_rdev

    def after_call(self) -> bool:
        """Back to command mode after a call, for the hang-up: CLOCAL set, raw 8N1, the port read again.

        CLOCAL first: the hang-up waits for DCD to fall, and with CLOCAL clear that fall would hang this
        very file up. Returns ``False`` where the tty was hung up already (the carrier dropped during the
        call, or ``login`` called ``vhangup()``): every ioctl and write on it fails, so the caller must open
        the device afresh before it can lower DTR, read DCD or send the escape.
        """
        if self._closing or self._transport.is_closing():
            return False
        try:
            _set_command_mode(self.fd, self.settings)
        except (OSError, termios.error):
            return False
        self.resume_reading()
        return True

    def flush_input(self) -> None:
        """Discard bytes received but not read."""
        with contextlib.suppress(termios.error, OSError):
            termios.tcflush(self.fd, termios.TCIFLUSH)

    def discard_output(self) -> None:
        """Drop what is queued for the modem: answerd's buffer, then the kernel's output queue (``TCOFLUSH``).

        The relay's answer to a program that flushed its own output (:mod:`answerd.call.relay`).

        Raises:
            termios.error: the tty refuses the flush (it was hung up).
        """
        self._transport.flush()  # pyserial-asyncio: the buffer emptied, its writer removed, writes go on
        termios.tcflush(self.fd, termios.TCOFLUSH)

    # ------------------------------------------------------------------ termios for the phases of a call

    def set_carrier_sensitive(self, sensitive: bool) -> None:
        """Clear CLOCAL (a carrier drop hangs the tty up and SIGHUPs its session) or set it (ignore DCD)."""
        attrs = termios.tcgetattr(self.fd)
        if sensitive:
            attrs[_CFLAG] &= ~termios.CLOCAL
        else:
            attrs[_CFLAG] |= termios.CLOCAL
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    def set_session_mode(self, *, map_crlf: bool) -> None:
        """A sane cooked mode for a terminal session (:func:`set_session_mode` on this port)."""
        set_session_mode(self.fd, map_crlf=map_crlf)

    def write_buffer_size(self) -> int:
        """Bytes written to this port and still queued in answerd (not yet taken by the kernel)."""
        return int(self._transport.get_write_buffer_size())

    def set_raw_mode(self) -> None:
        """Back to raw (for a direct program that wants the bytes as they come)."""
        _set_raw(self.fd)

    # ------------------------------------------------------------------ close

    async def close(self) -> None:
        """Discard output still queued, close without draining, never longer than ``close_timeout_s``.

        Output is discarded only if some is still queued (``TIOCOUTQ``): callers drain first when the
        output matters (a program's last screen). On a pty the "output queue" is the master's input, and
        flushing it would throw away what the far side simply has not read yet.
        """
        if self._closing:
            return
        self._closing = True
        self._protocol.close_requested = True
        with contextlib.suppress(OSError, RuntimeError):  # RuntimeError: the loop is closing already
            self._stop_watching()
        with contextlib.suppress(termios.error, OSError):
            if _output_queued(self.fd):
                termios.tcflush(self.fd, termios.TCOFLUSH)
        # abort(): no graceful drain of our buffer. pyserial-asyncio then calls tcdrain (instant: the
        # kernel queue was just flushed) and close() on the loop. After a hang-up pyserial-asyncio is
        # already closing by itself (on_lost has run or is scheduled): a second abort would schedule a
        # second connection_lost, or fail outright once the transport has dropped its loop.
        # A device that is gone makes pyserial's close raise too (termios.error, OSError): nothing is left
        # to close then, and a close must never raise (issue 10.9: a crashed shutdown left the lock behind).
        with contextlib.suppress(termios.error, OSError, serial.SerialException):
            if not self._transport.is_closing() or (
                not self._protocol.closed.done() and self._transport.get_write_buffer_size()
            ):
                self._transport.abort()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._protocol.closed), self.settings.close_timeout_s)


def set_session_mode(fd: int, *, map_crlf: bool) -> None:
    """A sane cooked mode for a terminal session (``stty sane``), with CR mapping as the user's terminal needs.

    Args:
        map_crlf: the user ended the name with CR, so map input CR to NL and output NL to CR NL
            (mgetty's rule); with LF, the terminal does its own line ends.
    """
    attrs = termios.tcgetattr(fd)
    iflag = termios.BRKINT | termios.IMAXBEL
    oflag = termios.OPOST
    if map_crlf:
        iflag |= termios.ICRNL
        oflag |= termios.ONLCR
    attrs[_IFLAG] = iflag
    attrs[_OFLAG] = oflag
    attrs[_LFLAG] = (
        termios.ISIG
        | termios.ICANON
        | termios.ECHO
        | termios.ECHOE
        | termios.ECHOK
        | termios.IEXTEN
        | termios.ECHOCTL
        | termios.ECHOKE
    )
    cc = list(attrs[_CC])
    cc[termios.VINTR] = b"\x03"
    cc[termios.VQUIT] = b"\x1c"
    cc[termios.VERASE] = b"\x7f"
    cc[termios.VKILL] = b"\x15"
    cc[termios.VEOF] = b"\x04"
    cc[termios.VSUSP] = b"\x1a"
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    attrs[_CC] = cc
    termios.tcsetattr(fd, termios.TCSADRAIN, attrs)


def set_raw(fd: int) -> None:
    """Raw mode (no echo, no line editing, no output processing), one byte at a time."""
    _set_raw(fd)


def _output_queued(fd: int) -> int:
    """Bytes written to the tty and not yet sent (``TIOCOUTQ``)."""
    return int(struct.unpack("i", fcntl.ioctl(fd, termios.TIOCOUTQ, struct.pack("i", 0)))[0])


def _open_serial(settings: LineSettings) -> serial.Serial:
    """Open the device with pyserial (blocking; runs in an executor)."""
    path = settings.path
    try:
        st = os.stat(path)  # follows a symlink: resolved afresh at every open
    except FileNotFoundError:
        raise PortOpenError(path, "no such device", errno.ENOENT) from None
    except ValueError:  # a NUL byte: TOML strings may contain one (\u0000), no path can
        raise PortOpenError(path, "not a usable device path (contains a NUL byte)", errno.EINVAL) from None
    except OSError as exc:
        raise PortOpenError(path, exc.strerror or str(exc), exc.errno) from None
    if not stat.S_ISCHR(st.st_mode):
        raise PortOpenError(path, "not a character device (a serial port or pty)", errno.ENOTTY)
    ser = serial.Serial()
    ser.port = path
    ser.baudrate = settings.speed
    ser.rtscts = settings.rtscts
    ser.timeout = 0
    ser.write_timeout = 0
    ser.exclusive = True
    ser.dsrdtr = False
    try:
        ser.open()
    except serial.SerialException as exc:
        err = exc.errno if isinstance(exc.errno, int) else None
        if err in (errno.EAGAIN, errno.EWOULDBLOCK):
            raise PortOpenError(path, "device is in use by another answerd (flock)", errno.EBUSY) from None
        raise PortOpenError(path, f"cannot open: {exc.strerror or exc}", err) from None
    return ser


def _choose_lines(fd: int, settings: LineSettings, on_fallback: Callable[[str], None] | None) -> ModemLines:
    if settings.modem_control is ModemControl.NONE:
        return NoLines(fd, settings.speed)
    if TiocmLines.supported(fd):
        return TiocmLines(fd)
    if settings.modem_control is ModemControl.TIOCM:
        raise PortOpenError(
            settings.path, "modem_control = 'tiocm' but the device has no modem control lines", errno.ENOTTY
        )
    if on_fallback is not None:
        on_fallback("the device refuses TIOCMGET (a pty or a 3-wire line): using modem_control = 'none'")
    return NoLines(fd, settings.speed)


def _set_raw(fd: int) -> None:
    attrs = termios.tcgetattr(fd)
    attrs[_IFLAG] = 0
    attrs[_OFLAG] = 0
    attrs[_LFLAG] = 0
    cc = list(attrs[_CC])
    cc[termios.VMIN] = 1
    cc[termios.VTIME] = 0
    attrs[_CC] = cc
    termios.tcsetattr(fd, termios.TCSANOW, attrs)


def _set_command_mode(fd: int, settings: LineSettings) -> None:
    """Raw 8N1 at the fixed speed, CLOCAL (ignore DCD while idle), HUPCL, RTS/CTS per config."""
    attrs = termios.tcgetattr(fd)
    cflag = attrs[_CFLAG]
    cflag &= ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | termios.CRTSCTS)
    cflag |= termios.CS8 | termios.CREAD | termios.CLOCAL | termios.HUPCL
    if settings.rtscts:
        cflag |= termios.CRTSCTS
    attrs[_CFLAG] = cflag
    attrs[_ISPEED] = attrs[_OSPEED] = SPEEDS[settings.speed]
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    _set_raw(fd)
