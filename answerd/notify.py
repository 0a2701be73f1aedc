"""sd_notify: tell systemd when the port is ready and what it is doing.

Outside systemd (no ``NOTIFY_SOCKET``) every call is a no-op. Under systemd, messages go through
systemd-python's ``systemd.daemon.notify`` (imported lazily, so answerd runs where it is not installed),
and through a small datagram sender otherwise.
"""

from __future__ import annotations

import os
import socket
import time
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
    """Send sd_notify messages to ``socket_path`` (as found in ``$NOTIFY_SOCKET``)."""

    def __init__(self, socket_path: str) -> None:
        self._path = socket_path
        try:
            from systemd import daemon  # noqa: PLC0415  (optional: only needed under systemd)

            self._daemon_notify = daemon.notify
        except ImportError:
            self._daemon_notify = None

    def _send(self, message: str) -> None:
        # A service manager that went away (or a test that closed its socket) must never take the daemon
        # down with it: sd_notify is advisory, so failures are swallowed.
        try:
            if self._daemon_notify is not None and os.environ.get("NOTIFY_SOCKET") == self._path:
                self._daemon_notify(message)
                return
            address = "\0" + self._path[1:] if self._path.startswith("@") else self._path
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
                sock.sendto(message.encode("utf-8", "replace"), address)
        except (OSError, ValueError):  # ValueError: libsystemd refuses a NUL byte
            pass

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
