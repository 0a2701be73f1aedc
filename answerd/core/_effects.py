"""What the core asks the shell to do: one frozen dataclass per action, named in the imperative.

Receiving input can produce output (a RING produces ``ATA``), so every input method of a core machine
returns a list of effects, which the shell carries out in order. Effects that only inform (``Status``,
``Report``, ``CallEnded``) exist because the core never logs: the shell logs them, so the journal holds a
full transcript of every decision the core made.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

from answerd.core.hayes.cid import CallerInfo
from answerd.core.hayes.events import Connect

__all__ = [
    "AnswerPending",
    "Answered",
    "CallEnded",
    "CallRecord",
    "CheckCarrier",
    "ClaimLine",
    "Decision",
    "Effect",
    "Fatal",
    "FatalReason",
    "FlushInput",
    "Outcome",
    "Ready",
    "ReleaseLine",
    "Reopen",
    "Report",
    "SetDtr",
    "Status",
    "Write",
]


class Outcome(enum.Enum):
    """How a call ended. The value is what the call record and the journal show."""

    #: The call was answered and the program ran to its end (the user logged out, pppd ended normally).
    ANSWERED = "answered"
    #: The phone stopped ringing before answerd answered (the caller gave up).
    ABANDONED = "abandoned"
    #: ``ATA`` was sent but no CONNECT came within the answer timeout.
    ANSWER_TIMEOUT = "answer-timeout"
    #: ``ATA`` was answered with NO CARRIER, BUSY or ERROR: the modems did not train.
    NO_CONNECT = "no-connect"
    #: The carrier dropped (the caller hung up) after CONNECT.
    CARRIER_LOST = "carrier-lost"
    #: The caller never entered a name within the login timeout.
    LOGIN_TIMEOUT = "login-timeout"
    #: The modem spoke at the login prompt (``OK`` after a reset, a ``RING`` storm, ``ERROR``...): it is
    #: confused or the call is over. (``NO CARRIER`` there is ``CARRIER_LOST``: the caller hung up.)
    MODEM_ERROR = "modem-error"
    #: The caller ended the prompt (Ctrl-D on an empty line).
    LOGIN_ABORTED = "login-aborted"
    #: The handed-off program could not be started.
    PROGRAM_FAILED = "program-failed"
    #: The program ended with a failure status or an unexpected signal.
    PROGRAM_ERROR = "program-error"
    #: answerd was told to stop while the call was up.
    SHUTDOWN = "shutdown"
    #: The call was not answered on purpose: the caller-ID policy or the decision program refused it.
    REJECTED = "rejected"
    #: The call was not answered because the line is busied out (``/etc/nologin.<tty>`` exists).
    BUSY_OUT = "busy-out"
    #: The call was not answered because the modem's ring said it is not a data call (``+CRING: VOICE``).
    NOT_DATA = "not-data"
    #: The shell ended the session at ``max_session_s`` or ``max_idle_s``.
    SESSION_LIMIT = "session-limit"
    #: A PPP peer called (AutoPPP saw its frames at the login prompt) but the port has no ``/AutoPPP/``
    #: dispatch rule: PPP callers cannot work on this port (``check-config`` warns about it).
    NO_PPP_RULE = "no-ppp-rule"


class Decision(enum.Enum):
    """The shell's answer to :class:`AnswerPending`."""

    #: Answer the call now (after the per-caller init chat, if one was given).
    ACCEPT = "accept"
    #: Never answer this call; keep counting its RINGs until the caller gives up.
    REJECT = "reject"
    #: Not now (the line is busied out); ask again at the next RING.
    BUSY = "busy"


class FatalReason(enum.Enum):
    """Why the port cannot go on. The shell maps each to a documented exit code."""

    #: Every init attempt failed (no answer, or ERROR): the modem is off, dead or not a modem.
    MODEM_INIT_FAILED = "modem-init-failed"
    #: The modem stopped answering the idle health check and could not be brought back.
    MODEM_DEAD = "modem-dead"


@dataclass(frozen=True, slots=True, kw_only=True)
class Write:
    """Send these bytes to the modem (or, after CONNECT, to the caller)."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class SetDtr:
    """Raise or lower DTR. On a line without modem control lines the shell sets speed B0 to lower it."""

    high: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckCarrier:
    """Read DCD now and tell the machine: ``carrier_changed(now, up=...)``.

    Asked for during the hang-up after a call, only on a port whose DCD can be read (``port_opened``'s
    ``dcd_readable``). The machine asks again every ``carrier_poll_s`` until DCD is down or its wait is over,
    so the shell needs no watch of its own: one read per request. A shell that cannot read DCD after all
    may skip the request; the machine then escapes when its wait is over, as on a line without DCD.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class FlushInput:
    """Discard whatever the modem sent that has not been read (stale OKs, noise after a DTR toggle)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Reopen:
    """Close the device and open it afresh, then call ``port_opened``.

    Needed after every call: a hang-up (or ``login``'s ``vhangup()``) leaves every open file on the tty
    in hung-up state, where reads return EOF and ioctls fail with EIO. Closing also drops DTR through HUPCL.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class ReleaseLine:
    """The machine has settled in ``IDLE``: nothing to send, nothing pending, waiting for a RING.

    The shell may give the line's UUCP lock back and stop reading the port until it becomes readable. It
    claims the lock again *before* reading a byte (a RING needs no claim from the core), and, whenever the
    core wants the line for its own output, on :class:`ClaimLine`.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class ClaimLine:
    """The idle machine wants the line for its own output (health check, re-init after a reload).

    The machine is in ``CLAIMING`` and writes nothing until the shell answers: ``line_claimed`` once it holds
    the line (the machine then does what it wanted), or ``suspend`` if a dial-out program has it. What the
    line is wanted for is in the ``line.claim`` report that comes with it.
    """


@dataclass(frozen=True, slots=True, kw_only=True)
class Ready:
    """The modem initialised for the first time: the port is ready to answer (sd_notify ``READY=1``)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Status:
    """A one-line human summary of what the line is doing now (sd_notify ``STATUS=``)."""

    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Report:
    """Something worth a log record. ``event`` is a stable dotted name; ``fields`` are its values."""

    event: str
    fields: tuple[tuple[str, str | int | float | None], ...] = ()
    level: str = "info"


@dataclass(frozen=True, slots=True, kw_only=True)
class CallRecord:
    """Everything known about one call, for the canonical ``call.ended`` log record.

    ``caller`` is the core's own :class:`CallerInfo`, as caller ID delivered it from the RING on: screening
    and the record get all of it (the reason a number is missing, the date and time), not a flattened
    string. ``caller_id``, ``caller_name`` and ``called_id`` are the flat views the log and the program's
    environment use.
    """

    call_id: int
    outcome: Outcome
    started_at: float
    ended_at: float
    rings: int = 0
    caller: CallerInfo | None = None
    distinctive_ring: int = 0
    connect: str | None = None
    user: str | None = None
    program: str | None = None
    exit_status: int | None = None
    signal: int | None = None
    detail: str | None = None
    #: Lines the modem gave to the post-call statistics chat (``ATI6``, ``AT&V1``...), printable.
    statistics: tuple[str, ...] = ()
    #: The link as the modem described it (:mod:`.hayes.link`): modem-to-modem rate, computer-to-modem rate,
    #: modulation, error control, compression; ``None`` where it said nothing (a bare ``CONNECT <n>`` does not
    #: say which rate it is).
    line_rate: int | None = None
    dte_rate: int | None = None
    modulation: str | None = None
    protocol: str | None = None
    compression: str | None = None
    #: The CONNECT text in mgetty's form, for ``$CONNECT`` and ``\I``: ``connect``, or with carrier reports
    #: ``<connect>/<carrier> <protocol>`` (``115200/33600 LAP-M``); see :func:`~.hayes.link.mgetty_connect`.
    connect_env: str | None = None

    @property
    def caller_id(self) -> str | None:
        """The caller's number, ``P``/``O`` when withheld or out of area, or ``None`` when unknown."""
        return None if self.caller is None else self.caller.number_or_reason

    @property
    def caller_name(self) -> str | None:
        """The caller's name, or ``None``."""
        return None if self.caller is None else self.caller.name

    @property
    def called_id(self) -> str | None:
        """The number that was dialled (ISDN MSN), or ``None``."""
        return None if self.caller is None else self.caller.called

    @property
    def duration_s(self) -> float:
        """Seconds from the first RING (or CONNECT) to the end of the call."""
        return max(0.0, self.ended_at - self.started_at)


@dataclass(frozen=True, slots=True, kw_only=True)
class Answered:
    """The call is connected: the shell takes the line over (login dialog, then the program).

    The core reads no more bytes until ``call_finished``. ``trailing_data`` holds bytes that arrived in the
    same read after the CONNECT line: they belong to the caller (the first bytes of a PPP frame, or a key
    the user pressed) and are handed to the login stage rather than lost.
    """

    connect: Connect
    call: CallRecord
    trailing_data: bytes = b""
    carrier_details: tuple[tuple[str, str], ...] = field(default_factory=tuple)


@dataclass(frozen=True, slots=True, kw_only=True)
class AnswerPending:
    """The call has rung enough: should it be answered? The shell replies with ``decide``.

    Raised only when the profile's ``answer_gate`` is on. The shell checks busy-out and the caller-ID policy
    (which may run a decision program) and calls :meth:`AnswerMachine.decide` with this call's id. RINGs go
    on being counted meanwhile.
    """

    call: CallRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnded:
    """A call is over: one canonical record per call, whatever happened."""

    record: CallRecord


@dataclass(frozen=True, slots=True, kw_only=True)
class Fatal:
    """The port cannot continue. The shell logs, cleans up and exits with the mapped code."""

    reason: FatalReason
    detail: str = ""


Effect = (
    Write
    | SetDtr
    | CheckCarrier
    | FlushInput
    | Reopen
    | ReleaseLine
    | ClaimLine
    | Ready
    | Status
    | Report
    | Answered
    | AnswerPending
    | CallEnded
    | Fatal
)
