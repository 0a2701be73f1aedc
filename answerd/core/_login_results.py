"""What the login dialog gives back, and its defaults: the names the shell matches on.

:class:`~._login.LoginDialog` ends with exactly one :class:`NameEntered`, :class:`LoginFailed` or
:class:`~._ppp.PppDetected`. :meth:`LoginFailed.call_outcome` says what a failed dialog means for the
call's record, so every shell stage reports it the same way.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from answerd.core._effects import Outcome, Write
from answerd.core._ppp import PppDetected

__all__ = [
    "DEFAULT_MAX_NAME",
    "DEFAULT_RESULT_GUARD_S",
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_WARNING_S",
    "DialogOutput",
    "DialogResult",
    "FailReason",
    "LineEnd",
    "LoginFailed",
    "LoginPhase",
    "NameEntered",
]

#: mgetty's default ``login-time``.
DEFAULT_TIMEOUT_S = 240.0
#: How long before the end mgetty warns ("You have one minute left").
DEFAULT_WARNING_S = 60.0
#: agetty's limit on a login name (util-linux 2.39); mgetty has no documented one.
DEFAULT_MAX_NAME = 42
#: How long an entered name is held for a framed modem result. After the CR that ended the name, the rest of
#: ``CR LF NO CARRIER CR LF`` is 13 bytes: 14 ms at 9600 bit/s (10 bits a byte), 54 ms at 2400, so 100 ms
#: covers every DTE rate from 1300 bit/s up, with room for the modem's own latency at the usual 38400+.
DEFAULT_RESULT_GUARD_S = 0.1


class LineEnd(enum.Enum):
    """How the caller's terminal ended the name, which decides the child's CR/NL mapping."""

    #: The name ended with CR: set ICRNL and ONLCR on the tty (a terminal that sends CR for Enter).
    CR = "cr"
    #: The name ended with LF: leave CR/NL unmapped.
    LF = "lf"


class FailReason(enum.Enum):
    """Why the dialog ended without a login name."""

    #: Nobody entered a name within ``timeout_s``.
    TIMEOUT = "timeout"
    #: The modem spoke at the prompt (``NO CARRIER``, ``OK``, ``RING``...): the call is over or the modem
    #: is confused. ``detail`` holds its words.
    MODEM_ERROR = "modem-error"
    #: The caller pressed Ctrl-D on an empty name.
    ABORTED = "aborted"


class LoginPhase(enum.Enum):
    """Where the dialog is."""

    #: Created; waiting for :meth:`LoginDialog.start`.
    NEW = "new"
    #: The prompt is up; bytes are read and timers run.
    READING = "reading"
    #: A name was entered and is held for ``result_guard_s``, in case its CR began a modem result.
    CONFIRMING = "confirming"
    #: A :class:`NameEntered`, :class:`LoginFailed` or :class:`PppDetected` was produced; no more input.
    DONE = "done"


@dataclass(frozen=True, slots=True, kw_only=True)
class NameEntered:
    """The caller entered an acceptable login name (printable, not ``-``-led, within the length limit)."""

    name: str
    line_end: LineEnd


@dataclass(frozen=True, slots=True, kw_only=True)
class LoginFailed:
    """The dialog ended without a name. ``detail`` carries the modem text for ``MODEM_ERROR``."""

    reason: FailReason
    detail: str = ""

    def call_outcome(self) -> tuple[Outcome, str]:
        """How the call ended, for its record: the outcome and a one-line detail.

        ``NO CARRIER`` at the prompt is the caller hanging up (``CARRIER_LOST``); any other modem text means
        the modem was reset or is confused (``MODEM_ERROR``), and the detail says what it said.
        """
        match self.reason:
            case FailReason.TIMEOUT:
                return Outcome.LOGIN_TIMEOUT, "login dialog: timeout"
            case FailReason.ABORTED:
                return Outcome.LOGIN_ABORTED, "login dialog: aborted"
        if self.detail == "NO CARRIER":
            return Outcome.CARRIER_LOST, "NO CARRIER at the login prompt"
        return Outcome.MODEM_ERROR, f"modem said {self.detail!r} at the login prompt"


#: How the dialog ends: a name, a failure, or a PPP peer.
DialogResult = NameEntered | LoginFailed | PppDetected
#: Everything an input of :class:`LoginDialog` can return.
DialogOutput = Write | NameEntered | LoginFailed | PppDetected
