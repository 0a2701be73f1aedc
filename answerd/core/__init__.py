"""The sans-IO Hayes core: bytes and ``now`` in, events and effects out.

Nothing in this package does I/O, reads a clock, logs, or imports asyncio: the shell (``answerd.service.daemon``)
feeds it and carries out what it returns. That keeps every RING dialect, every timer and every state
transition testable as plain function calls (see ``tests/core``), and lets the same core drive a real
modem, the simulated one, or a recorded transcript.

Everything public is re-exported here (h11 style); the ``_`` modules are private.
"""

from __future__ import annotations

from answerd.core._dispatch import (
    AUTOPPP,
    DEFAULT_RULE,
    PPPD_EXIT,
    PPPD_NORMAL_EXITS,
    ArgvError,
    DispatchRule,
    NoPppRuleError,
    classify_pppd_exit,
    expand_argv,
    from_login_config_line,
    has_ppp_rule,
    select_rule,
)
from answerd.core._effects import (
    Answered,
    AnswerPending,
    CallEnded,
    CallRecord,
    ClaimLine,
    Decision,
    Effect,
    Fatal,
    FatalReason,
    FlushInput,
    Outcome,
    Ready,
    ReleaseLine,
    Reopen,
    Report,
    SetDtr,
    Status,
    Write,
)
from answerd.core._errors import HayesError, LocalProtocolError
from answerd.core._escapes import MAX_EXPANDED_LENGTH, EscapeContext, expand_escapes, to_line_bytes
from answerd.core._login import DialogResult, FailReason, LineEnd, LoginDialog, LoginFailed, LoginPhase, NameEntered
from answerd.core._machine import AnswerMachine, Phase
from answerd.core._policy import CallerInitRule, PolicyDecision, decision_program_argv, interpret_exit, parse_rules
from answerd.core._policy import decide as policy_decide
from answerd.core._ppp import Expired, LcpDetector, PppDetected, SilentWindow
from answerd.core._profile import DEFAULT_FORCE_INIT_CHAT, DEFAULT_INIT_CHAT, Profile
from answerd.core.hayes.chat import ChatError, ChatStep, Pause, parse_chat
from answerd.core.hayes.cid import CallerInfo, caller_id_text, decode_mesg
from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import (
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
from answerd.core.hayes.lines import LineSplitter

__all__ = [
    "AUTOPPP",
    "DEFAULT_FORCE_INIT_CHAT",
    "DEFAULT_INIT_CHAT",
    "DEFAULT_RULE",
    "MAX_EXPANDED_LENGTH",
    "PPPD_EXIT",
    "PPPD_NORMAL_EXITS",
    "AnswerMachine",
    "AnswerPending",
    "Answered",
    "ArgvError",
    "CallEnded",
    "CallRecord",
    "CallerIdField",
    "CallerInfo",
    "CallerInitRule",
    "CarrierReport",
    "ChatError",
    "ChatStep",
    "ClaimLine",
    "Connect",
    "Decision",
    "DialogResult",
    "DispatchRule",
    "Echo",
    "Effect",
    "EscapeContext",
    "Expired",
    "FailReason",
    "Fatal",
    "FatalReason",
    "FlushInput",
    "Garbage",
    "HayesError",
    "LcpDetector",
    "LineEnd",
    "LineSplitter",
    "LocalProtocolError",
    "LoginDialog",
    "LoginFailed",
    "LoginPhase",
    "ModemEvent",
    "NameEntered",
    "NoPppRuleError",
    "Ok",
    "Outcome",
    "Pause",
    "Phase",
    "PolicyDecision",
    "PppDetected",
    "Profile",
    "Ready",
    "ReleaseLine",
    "Reopen",
    "Report",
    "Ring",
    "RingCadence",
    "SetDtr",
    "SilentWindow",
    "Status",
    "Unknown",
    "Verdict",
    "Write",
    "caller_id_text",
    "classify",
    "classify_pppd_exit",
    "decision_program_argv",
    "decode_mesg",
    "expand_argv",
    "expand_escapes",
    "from_login_config_line",
    "has_ppp_rule",
    "interpret_exit",
    "parse_chat",
    "parse_rules",
    "policy_decide",
    "select_rule",
    "to_line_bytes",
]
