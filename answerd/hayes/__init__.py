"""The sans-IO Hayes core: bytes and ``now`` in, events and effects out.

Nothing in this package does I/O, reads a clock, logs, or imports asyncio: the shell (``answerd.daemon``)
feeds it and carries out what it returns. That keeps every RING dialect, every timer and every state
transition testable as plain function calls (see ``tests/hayes``), and lets the same core drive a real
modem, the simulated one, or a recorded transcript.

Everything public is re-exported here (h11 style); the ``_`` modules are private.
"""

from __future__ import annotations

from ._chat import ChatError, ChatStep, Pause, parse_chat
from ._codes import classify
from ._effects import (
    Answered,
    AnswerPending,
    CallEnded,
    CallRecord,
    Decision,
    Effect,
    Fatal,
    FatalReason,
    FlushInput,
    Outcome,
    Ready,
    Reopen,
    Report,
    SetDtr,
    Status,
    Write,
)
from ._errors import HayesError, LocalProtocolError
from ._escapes import MAX_EXPANDED_LENGTH, EscapeContext, expand_escapes, to_line_bytes
from ._events import (
    CallerIdField,
    CarrierReport,
    Connect,
    Echo,
    Garbage,
    ModemEvent,
    Ok,
    Ring,
    RingCadence,
    Unknown,
    Verdict,
)
from ._lines import LineSplitter
from ._login import FailReason, LineEnd, LoginDialog, LoginFailed, LoginPhase, NameEntered
from ._machine import AnswerMachine, Phase
from ._profile import DEFAULT_FORCE_INIT_CHAT, DEFAULT_INIT_CHAT, Profile

__all__ = [
    "DEFAULT_FORCE_INIT_CHAT",
    "DEFAULT_INIT_CHAT",
    "MAX_EXPANDED_LENGTH",
    "AnswerMachine",
    "AnswerPending",
    "Answered",
    "CallEnded",
    "CallRecord",
    "CallerIdField",
    "CarrierReport",
    "ChatError",
    "ChatStep",
    "Connect",
    "Decision",
    "Echo",
    "Effect",
    "EscapeContext",
    "FailReason",
    "Fatal",
    "FatalReason",
    "FlushInput",
    "Garbage",
    "HayesError",
    "LineEnd",
    "LineSplitter",
    "LocalProtocolError",
    "LoginDialog",
    "LoginFailed",
    "LoginPhase",
    "ModemEvent",
    "NameEntered",
    "Ok",
    "Outcome",
    "Pause",
    "Phase",
    "Profile",
    "Ready",
    "Reopen",
    "Report",
    "Ring",
    "RingCadence",
    "SetDtr",
    "Status",
    "Unknown",
    "Verdict",
    "Write",
    "classify",
    "expand_escapes",
    "parse_chat",
    "to_line_bytes",
]
