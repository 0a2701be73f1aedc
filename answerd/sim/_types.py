"""What the simulated modem's modules share: the actions it returns, its result codes, and its modes.

Every input of :class:`~answerd.sim.SimModem` returns a list of :data:`Action` for the shell to carry out
in order; nothing here does I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "Action",
    "CarrierLost",
    "CarrierUp",
    "Dial",
    "DropCaller",
    "Log",
    "ModemMode",
    "ResultCode",
    "ToCaller",
    "ToDte",
    "merge_dte_writes",
    "mute_dte",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class ToDte:
    """Bytes the modem sends to the computer (results, echo, caller data while online)."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ToCaller:
    """Bytes the modem sends down the phone line (DTE data while online)."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class DropCaller:
    """The modem went on-hook: close the caller's connection."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CarrierLost:
    """DCD fell while it was asserted: the shell must hang up the tty's session (SIGHUP) like the kernel."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CarrierUp:
    """The modem reached data mode (``CONNECT``); an exchange tells the calling modem its call was answered."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Dial:
    """The modem went off-hook and dialled ``number`` (only a modem on an exchange dials; see ``_exchange``)."""

    number: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Log:
    """A readable note for the transcript; changes nothing."""

    text: str


Action = ToDte | ToCaller | DropCaller | CarrierLost | CarrierUp | Dial | Log


class ResultCode(enum.IntEnum):
    """Hayes result codes and their numeric (``V0``) values."""

    OK = 0
    CONNECT = 1
    RING = 2
    NO_CARRIER = 3
    ERROR = 4
    NO_DIALTONE = 6
    BUSY = 7
    NO_ANSWER = 8

    @property
    def text(self) -> str:
        """The verbose (``V1``) text: ``NO CARRIER`` for ``NO_CARRIER``."""
        return self.name.replace("_", " ")


class ModemMode(enum.Enum):
    """Where the modem is in a call (see :mod:`answerd.sim._modem` for the transitions)."""

    IDLE = "idle"
    RINGING = "ringing"
    ANSWERING = "answering"
    DIALING = "dialing"
    ONLINE = "online"
    ONLINE_COMMAND = "online-command"


def merge_dte_writes(actions: list[Action]) -> list[Action]:
    """Join adjacent :class:`ToDte` actions so echo and results reach the pty in as few writes as possible."""
    out: list[Action] = []
    for action in actions:
        if isinstance(action, ToDte) and out and isinstance(out[-1], ToDte):
            out[-1] = ToDte(data=out[-1].data + action.data)
        else:
            out.append(action)
    return out


def mute_dte(actions: list[Action]) -> list[Action]:
    """Drop what a silent modem would have sent to the DTE (a RING, caller ID, a result), with a note."""
    return [
        Log(text=f"silent: swallowed {len(a.data)} byte(s) for the DTE") if isinstance(a, ToDte) else a for a in actions
    ]
