"""The modem-control lines, DTR out and DCD in, behind one interface (a pty and a 3-wire cable have none).

:class:`TiocmLines` uses the real ioctls; :class:`NoLines` lowers "DTR" by setting the speed to B0, which
POSIX defines as "hang up" and which the simulated modem watches for. Both raise only :class:`OSError` when
the device is gone, so that callers handle one exception type for a dead line.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import termios
from collections.abc import Callable
from typing import Protocol

#: ``fcntl.ioctl`` with a bytes argument, as used here.
Ioctl = Callable[[int, int, bytes], bytes]

__all__ = ["SPEEDS", "ModemLines", "NoLines", "TiocmLines", "errno_of"]

SPEEDS = {
    300: termios.B300,
    600: termios.B600,
    1200: termios.B1200,
    2400: termios.B2400,
    4800: termios.B4800,
    9600: termios.B9600,
    19200: termios.B19200,
    38400: termios.B38400,
    57600: termios.B57600,
    115200: termios.B115200,
    230400: termios.B230400,
    460800: termios.B460800,
    921600: termios.B921600,
}
# termios index names, for readability
_ISPEED, _OSPEED = 4, 5


class ModemLines(Protocol):
    """DTR out, DCD in. Implementations may not have real lines (``carrier()`` then returns ``None``)."""

    kind: str

    def set_dtr(self, high: bool) -> None:
        """Raise or lower DTR (on a line without it: speed B0 and back)."""

    def carrier(self) -> bool | None:
        """DCD: ``True``/``False``, or ``None`` where the line has no DCD to read."""


class TiocmLines:
    """Real modem-control lines through TIOCMGET / TIOCMBIS / TIOCMBIC."""

    kind = "tiocm"

    def __init__(self, fd: int, *, ioctl: Ioctl = fcntl.ioctl) -> None:
        """Use the lines of ``fd``; ``ioctl`` is injected by tests (a pty has none of these ioctls)."""
        self._fd = fd
        self._ioctl = ioctl

    def set_dtr(self, high: bool) -> None:
        """Raise or lower DTR."""
        request = termios.TIOCMBIS if high else termios.TIOCMBIC
        self._ioctl(self._fd, request, struct.pack("I", termios.TIOCM_DTR))

    def carrier(self) -> bool | None:
        """DCD from TIOCMGET. EIO (the tty was hung up) reads as "no carrier"."""
        try:
            bits = struct.unpack("I", self._ioctl(self._fd, termios.TIOCMGET, struct.pack("I", 0)))[0]
        except OSError as exc:
            if exc.errno == errno.EIO:
                return False
            raise
        return bool(bits & termios.TIOCM_CAR)

    @staticmethod
    def supported(fd: int, *, ioctl: Ioctl = fcntl.ioctl) -> bool:
        """Whether the device answers TIOCMGET (a pty or a plain file does not)."""
        try:
            ioctl(fd, termios.TIOCMGET, struct.pack("I", 0))
        except OSError as exc:
            if exc.errno in (errno.ENOTTY, errno.EINVAL, errno.ENOTSUP):
                return False
            raise
        return True


class NoLines:
    """A line without modem control: "DTR low" is speed B0 (POSIX hang-up); no carrier to read."""

    kind = "none"

    def __init__(self, fd: int, speed: int) -> None:
        self._fd = fd
        self._speed = SPEEDS[speed]

    def set_dtr(self, high: bool) -> None:
        """Set speed B0 to drop "DTR", restore the configured speed to raise it.

        Raises:
            OSError: the tty refuses (EIO once it has been hung up or its device is gone). termios raises its
                own ``termios.error``, which is no ``OSError``: converted here, so that every caller can rely on
                one exception type for "the line is dead" (an uncaught one crashed the shutdown: issue 10.9).
        """
        try:
            attrs = termios.tcgetattr(self._fd)
            attrs[_ISPEED] = attrs[_OSPEED] = self._speed if high else termios.B0
            termios.tcsetattr(self._fd, termios.TCSANOW, attrs)
        except termios.error as exc:
            err = errno_of(exc) or errno.EIO
            raise OSError(err, os.strerror(err)) from None

    def carrier(self) -> bool | None:
        """Unknown: there is no DCD line."""
        return None


def errno_of(exc: BaseException) -> int | None:
    """The errno of an OSError or a termios.error, if it has one."""
    if isinstance(exc, OSError):
        return exc.errno
    if isinstance(exc, termios.error) and exc.args and isinstance(exc.args[0], int):
        return exc.args[0]
    return None
