"""``answerd.sim``: a simulated Hayes data modem on a pty, with a TCP connection as the phone line.

:class:`SimModem` is the pure (sans-IO) emulator; :class:`SimServer` is the asyncio shell that puts it
behind a pseudo-terminal and a TCP listener; :class:`Exchange` joins several modems so that one can dial
another (``answerd sim --bench``); :func:`answerd.sim.cli.main` is ``answerd sim``. How the modem
behaves is one :class:`ModemProfile` (defaults, result texts, caller ID, timings, faults), built in Python
or read from TOML with :func:`load_profile` (``answerd sim --profile FILE``).

The modules, one job each: ``_types`` (actions, result codes, modes), ``_commands`` (the command line,
settings and S-registers), ``_caller_id`` (caller-ID dialects), ``_announce`` (the caller-ID burst and the
CONNECT lines), ``_escape`` (``+++``), ``_profile_schema`` (the profile's tables and their checks),
``_profile`` (a profile from TOML), ``_profile_file`` (reading one safely; the shipped personalities),
``_call`` (ringing, answering, dialling, data mode), ``_modem`` (the computer's side: command mode, DTR),
``_exchange`` (modems calling each other), ``_pty`` (a pty published at a link), ``_server`` (one modem with
a TCP phone line), ``_bench`` (the exchange on ptys), ``cli`` (``answerd sim``).
"""

from __future__ import annotations

from answerd.sim._caller_id import CidFormat
from answerd.sim._exchange import Exchange, LineAction
from answerd.sim._modem import SimModem
from answerd.sim._profile import (
    CallerIdProfile,
    Defaults,
    Faults,
    Identity,
    LineNoise,
    ModemProfile,
    OnlineReport,
    ProfileError,
    Results,
    SimSettings,
    Timings,
)
from answerd.sim._profile_file import DEFAULT_PROFILE, load_profile
from answerd.sim._server import ServerConfig, SimError, SimServer, escape_bytes
from answerd.sim._types import (
    Action,
    CarrierLost,
    CarrierUp,
    Dial,
    DropCaller,
    Log,
    ModemMode,
    ResultCode,
    ToCaller,
    ToDte,
)

__all__ = [
    "DEFAULT_PROFILE",
    "Action",
    "CallerIdProfile",
    "CarrierLost",
    "CarrierUp",
    "CidFormat",
    "Defaults",
    "Dial",
    "DropCaller",
    "Exchange",
    "Faults",
    "Identity",
    "LineAction",
    "LineNoise",
    "Log",
    "ModemMode",
    "ModemProfile",
    "OnlineReport",
    "ProfileError",
    "ResultCode",
    "Results",
    "ServerConfig",
    "SimError",
    "SimModem",
    "SimServer",
    "SimSettings",
    "Timings",
    "ToCaller",
    "ToDte",
    "escape_bytes",
    "load_profile",
]
