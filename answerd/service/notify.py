"""sd_notify: tell systemd when the port is ready and what it is doing.

Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op. Under systemd, messages go over one datagram
socket that answerd keeps connected (see :class:`SystemdNotifier` for why not libsystemd's per-message
socket); addresses it cannot reach itself go through systemd-python's ``systemd.daemon.notify``.
"""

from __future__ import annotations

import contextlib
import os
import socket
import time
from collections.abc import Callable
from typing import Protocol

__all__ = ["Notifier", "NullNotifier", "SystemdNotifier", "make_notifier"]


class Notifier(Protocol):
    """What the daemon tells the service manager."""

    def ready(self) -> None:
        """The port is initialised and answering."""

    def status(self, text: str) -> None:
        """A one-line status for ``systemctl status``."""

    def stopping(self) -> None:
        """Shutdown has begun."""

    def reloading(self) -> None:
        """A configuration reload has begun; ``ready()`` follows when it is done."""

    def watchdog(self) -> None:
        """The line is healthy (keep-alive for ``WatchdogSec=``)."""

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to call ``watchdog()``: half of ``WATCHDOG_USEC``, or ``None`` when not asked for."""


class NullNotifier:
    """Not under systemd: say nothing."""

    def ready(self) -> None:
        """Do nothing."""

    def status(self, text: str) -> None:
        """Do nothing."""

    def stopping(self) -> None:
        """Do nothing."""

    def reloading(self) -> None:
        """Do nothing."""

    def watchdog(self) -> None:
        """Do nothing."""

    @property
    def watchdog_interval_s(self) -> float | None:
        """No watchdog outside systemd."""
        return None


class SystemdNotifier:
    """Send sd_notify messages to ``socket_path`` (as found in ``$NOTIFY_SOCKET``).

    One datagram socket, connected once and kept: libsystemd's ``sd_notify`` makes a new socket for every
    message (socket, four setsockopt calls, sendmsg, close), and answerd sends several per call, two of them
    between RING and ATA. If the manager's socket goes away (``systemctl daemon-reexec`` makes a new one),
    the next message reconnects. Addresses that are not a path or an abstract name (``vsock:`` in a VM) go
    through libsystemd, which knows them.
    """

    def __init__(self, socket_path: str) -> None:
        self._path = socket_path
        self._sock: socket.socket | None = None
        self._address: str | None = None
        self._daemon_notify: Callable[[str], object] | None = None
        if socket_path.startswith("@"):
            self._address = "\0" + socket_path[1:]
        elif socket_path.startswith("/"):
            self._address = socket_path
        else:
            try:
                from systemd import daemon  # noqa: PLC0415  (only for addresses answerd cannot reach itself)

                self._daemon_notify = daemon.notify
            except ImportError:
                pass

    def _connected(self) -> socket.socket:
        if self._sock is None:
            assert self._address is not None
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC)
            try:
                sock.connect(self._address)
            except OSError:
                sock.close()
                raise
            self._sock = sock
        return self._sock

    def _drop(self) -> None:
        if self._sock is not None:
            self._sock.close()
            self._sock = None

    def _send(self, message: str) -> None:
        # A service manager that went away (or a test that closed its socket) must never take the daemon
        # down with it: sd_notify is advisory, so failures are swallowed.
        data = message.encode("utf-8", "replace")
        if self._address is None:
            if self._daemon_notify is not None and os.environ.get("NOTIFY_SOCKET") == self._path:
                with contextlib.suppress(OSError, ValueError):  # ValueError: libsystemd refuses a NUL byte
                    self._daemon_notify(message)
            return
        for _ in range(2):  # the kept socket may be stale: one reconnect
            try:
                self._connected().send(data)
                return
            except OSError:
                self._drop()

    def close(self) -> None:
        """Close the kept socket (a later message opens a new one)."""
        self._drop()

    def ready(self) -> None:
        """READY=1."""
        self._send("READY=1")

    def status(self, text: str) -> None:
        """STATUS=<text> (one line)."""
        self._send("STATUS=" + text.replace("\n", " ").replace("\0", " ")[:200])

    def stopping(self) -> None:
        """STOPPING=1."""
        self._send("STOPPING=1")

    def reloading(self) -> None:
        """RELOADING=1 with MONOTONIC_USEC (what systemd >= 253 checks for Type=notify-reload)."""
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self._send(f"RELOADING=1\nMONOTONIC_USEC={usec}")

    def watchdog(self) -> None:
        """WATCHDOG=1."""
        self._send("WATCHDOG=1")

    @property
    def watchdog_interval_s(self) -> float | None:
        """Half of ``$WATCHDOG_USEC`` if it is meant for this process (``$WATCHDOG_PID`` unset or ours)."""
        usec = os.environ.get("WATCHDOG_USEC", "")
        pid = os.environ.get("WATCHDOG_PID", "")
        if not usec.isdigit() or int(usec) == 0 or (pid and pid != str(os.getpid())):
            return None
        return int(usec) / 2_000_000


def make_notifier() -> Notifier:
    """A notifier for ``$NOTIFY_SOCKET``, or one that says nothing when it is not set."""
    path = os.environ.get("NOTIFY_SOCKET")
    return SystemdNotifier(path) if path else NullNotifier()
