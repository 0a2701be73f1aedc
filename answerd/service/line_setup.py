"""The line layer's objects for one port, made from its settings: the device's line settings and its owner.

Kept apart from the daemon so that which settings a reload can apply in place, and which need a new line
owner (another device, lock directory or ownership), is stated once, next to how the owner is made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from answerd.clock import Clock
from answerd.config import PortSettings
from answerd.line.owner import LineOwner, TtyOwnership
from answerd.line.port import LineSettings, ModemControl, Port

__all__ = ["line_kind", "line_settings", "new_owner", "owner_changed"]

#: The settings the line owner is made from: a reload that changes one makes a new owner.
_OWNER_KEYS = ("device", "lock_dir", "locking", "port_owner", "port_group", "port_mode", "open_delay_ms")


def line_settings(name: str, settings: PortSettings) -> LineSettings:
    """How port ``name``'s device is opened."""
    return LineSettings(path=settings.device_path(name), speed=settings.speed,
                        rtscts=settings.flow_control == "rtscts", modem_control=ModemControl(settings.modem_control),
                        close_timeout_s=settings.close_timeout_s)  # fmt: skip


def new_owner(path: str, settings: PortSettings, *, clock: Clock, log: Any, show: Callable[[str], None]) -> LineOwner:
    """The owner of the device at ``path``: its UUCP lock, open delay and ownership between calls."""
    s = settings
    return LineOwner(path, lock_dir=s.lock_dir, locking=s.locking, clock=clock, log=log, show=show,
                     open_delay_s=s.open_delay_ms / 1000,
                     tty=TtyOwnership.named(s.port_owner, s.port_group, s.port_mode, log))  # fmt: skip


def owner_changed(old: PortSettings, new: PortSettings) -> bool:
    """Whether a reload from ``old`` to ``new`` needs a new line owner."""
    return any(getattr(new, key) != getattr(old, key) for key in _OWNER_KEYS)


def line_kind(port: Port | None) -> dict[str, bool]:
    """What the machine's ``port_opened`` needs to know of the lines: DTR hangs up, DCD can be read (real
    modem-control lines only; a pty has neither)."""
    real = port is not None and port.lines.kind == "tiocm"
    return {"dtr_hangs_up": real, "dcd_readable": real}
