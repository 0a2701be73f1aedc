"""The sans-IO core: bytes and ``now`` in, events and effects out.

Nothing in this package does I/O, reads a clock, logs, or imports asyncio: the shell (``answerd.service``,
``answerd.call``) feeds it and carries out what it returns. That keeps every RING dialect, every timer and
every state transition testable as plain function calls (see ``tests/core``), and lets the same core drive
a real modem, the simulated one, or a recorded transcript.

Layout: :mod:`.hayes` is the Hayes protocol itself (lines, result codes, caller ID, chat scripts and their
runner, framed results) and imports nothing else of the core; the ``_`` modules build on it — the answer
machine (``_machine`` with ``_answering`` and ``_upkeep``; its phases and legal inputs in ``_phases``, each
call in ``_call``), the effects it returns, the login dialog (``_login``, ``_login_results``), PPP
detection, dispatch, caller policy, the profile and the issue escapes.

This module exports what the shell uses, and nothing else (h11 style); tests may import the private
modules.
"""

from __future__ import annotations

from answerd.core._dispatch import (
    AUTOPPP,
    DEFAULT_RULE,
    PPPD_NORMAL_EXITS,
    ArgvError,
    DispatchRule,
    NoPppRuleError,
    classify_pppd_exit,
    has_ppp_rule,
    select_rule,
)
from answerd.core._effects import (
    Answered,
    AnswerPending,
    CallEnded,
    CallRecord,
    CheckCarrier,
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
from answerd.core._errors import LocalProtocolError
from answerd.core._escapes import EscapeContext, expand_escapes, to_line_bytes
from answerd.core._hangup import STOP_HANGUP_S
from answerd.core._login import FailReason, LineEnd, LoginDialog, LoginFailed, NameEntered
from answerd.core._machine import AnswerMachine
from answerd.core._phases import Phase
from answerd.core._policy import (
    CallerInitRule,
    cid_needs_rings,
    cid_switched_off,
    decision_program_argv,
    interpret_exit,
    parse_rules,
    select_caller_init,
)
from answerd.core._policy import decide as policy_decide
from answerd.core._ppp import Expired, PppDetected, SilentWindow
from answerd.core._profile import DEFAULT_FORCE_INIT_CHAT, DEFAULT_INIT_CHAT, HANGUP_ESCAPE_CHAT, Profile
from answerd.core._session_end import ModemTextCarrier, SessionLimits
from answerd.core.hayes.chat import ChatError, ChatStep, parse_chat
from answerd.core.hayes.cid import AbsenceReason, CallerInfo
from answerd.core.hayes.family import (
    IDENTIFY_COMMANDS,
    MODULATIONS,
    ModemFamily,
    SpeedCap,
    SpeedCapUnsupported,
    caller_id_commands,
    identify_family,
    speed_cap_command,
)
from answerd.core.hayes.framed import FramedResult, FramedResultDetector, modem_text
from answerd.core.hayes.link import LinkInfo, link_info, mgetty_connect
from answerd.core.hayes.numeric import numeric_codes

__all__ = [
    "AUTOPPP",
    "DEFAULT_FORCE_INIT_CHAT",
    "DEFAULT_INIT_CHAT",
    "DEFAULT_RULE",
    "HANGUP_ESCAPE_CHAT",
    "IDENTIFY_COMMANDS",
    "MODULATIONS",
    "PPPD_NORMAL_EXITS",
    "STOP_HANGUP_S",
    "AbsenceReason",
    "AnswerMachine",
    "AnswerPending",
    "Answered",
    "ArgvError",
    "CallEnded",
    "CallRecord",
    "CallerInfo",
    "CallerInitRule",
    "ChatError",
    "ChatStep",
    "CheckCarrier",
    "ClaimLine",
    "Decision",
    "DispatchRule",
    "Effect",
    "EscapeContext",
    "Expired",
    "FailReason",
    "Fatal",
    "FatalReason",
    "FlushInput",
    "FramedResult",
    "FramedResultDetector",
    "LineEnd",
    "LinkInfo",
    "LocalProtocolError",
    "LoginDialog",
    "LoginFailed",
    "ModemFamily",
    "ModemTextCarrier",
    "NameEntered",
    "NoPppRuleError",
    "Outcome",
    "Phase",
    "PppDetected",
    "Profile",
    "Ready",
    "ReleaseLine",
    "Reopen",
    "Report",
    "SessionLimits",
    "SetDtr",
    "SilentWindow",
    "SpeedCap",
    "SpeedCapUnsupported",
    "Status",
    "Write",
    "caller_id_commands",
    "cid_needs_rings",
    "cid_switched_off",
    "classify_pppd_exit",
    "decision_program_argv",
    "expand_escapes",
    "has_ppp_rule",
    "identify_family",
    "interpret_exit",
    "link_info",
    "mgetty_connect",
    "modem_text",
    "numeric_codes",
    "parse_chat",
    "parse_rules",
    "policy_decide",
    "select_caller_init",
    "select_rule",
    "speed_cap_command",
    "to_line_bytes",
]
