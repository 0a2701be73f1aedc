"""``answerd.sim``: a simulated Hayes data modem on a pty, with a TCP connection as the phone line.

:class:`SimModem` is the pure (sans-IO) emulator; :class:`SimServer` is the asyncio shell that puts it
behind a pseudo-terminal and a TCP listener; :func:`answerd.sim.cli.main` is ``answerd sim``.
"""

from __future__ import annotations

from answerd.sim._modem import (
    Action,
    CarrierLost,
    DropCaller,
    Log,
    ModemMode,
    ResultCode,
    SimModem,
    SimSettings,
    ToCaller,
    ToDte,
)
from answerd.sim._server import ServerConfig, SimError, SimServer, escape_bytes

__all__ = [
    "Action",
    "CarrierLost",
    "DropCaller",
    "Log",
    "ModemMode",
    "ResultCode",
    "ServerConfig",
    "SimError",
    "SimModem",
    "SimServer",
    "SimSettings",
    "ToCaller",
    "ToDte",
    "escape_bytes",
]
