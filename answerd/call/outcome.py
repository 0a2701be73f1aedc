"""How a call ended: the record handed back to the answer machine, the judging of the program's exit, and the
fields of the one ``call.ended`` log record every call gets.

The exit status is judged against the rule's normal exit codes (pppd's 0, 5, 15, 16); a SIGHUP that answerd
did not send means the carrier dropped.
"""

from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import Any

from answerd.call.session import SessionResult
from answerd.core import CallRecord, DispatchRule, FailReason, LoginFailed, Outcome, classify_pppd_exit

__all__ = ["CallEnd", "failed_dialog", "judge", "record_fields"]


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnd:
    """How the call ended, for :meth:`AnswerMachine.call_finished`."""

    outcome: Outcome
    user: str | None = None
    program: str | None = None
    exit_status: int | None = None
    signal: int | None = None
    detail: str | None = None

    def fields(self) -> dict[str, Any]:
        """Keyword arguments for ``call_finished``."""
        return {
            "outcome": self.outcome,
            "user": self.user,
            "program": self.program,
            "exit_status": self.exit_status,
            "signal": self.signal,
            "detail": self.detail,
        }


def failed_dialog(result: LoginFailed) -> CallEnd:
    """The end of a call whose login dialog ended without a name."""
    if result.reason is FailReason.MODEM_ERROR and result.detail == "NO CARRIER":
        # The modem's own NO CARRIER arrived as the "name": the caller hung up at the prompt.
        return CallEnd(outcome=Outcome.CARRIER_LOST, detail="NO CARRIER at the login prompt")
    outcome = {
        FailReason.TIMEOUT: Outcome.LOGIN_TIMEOUT,
        FailReason.MODEM_ERROR: Outcome.MODEM_ERROR,
        FailReason.ABORTED: Outcome.LOGIN_ABORTED,
    }[result.reason]
    return CallEnd(outcome=outcome, detail=f"login dialog: {result.reason.value}")


def judge(rule: DispatchRule, result: SessionResult, *, lost_outcome: Outcome, **base: Any) -> CallEnd:
    """The end of a call whose program ran: ``lost_outcome`` if answerd ended it, else by its exit.

    ``base`` are the fields every end of this call carries (user, program).
    """
    ended = {**base, "exit_status": result.returncode, "signal": result.signal}
    if result.stopped_by_us:
        return CallEnd(outcome=lost_outcome, **ended)
    if result.signal == signal.SIGHUP:
        # The kernel's hang-up (carrier drop with CLOCAL clear) or the modem's reached the session.
        return CallEnd(outcome=Outcome.CARRIER_LOST, **ended)
    if result.signal is not None:
        return CallEnd(outcome=Outcome.PROGRAM_ERROR, detail=f"killed by {signal.Signals(result.signal).name}", **ended)
    code = result.returncode
    assert code is not None
    is_pppd = os.path.basename(rule.program[0]) == "pppd"
    detail = classify_pppd_exit(code).meaning if is_pppd else None
    if code in rule.ok_exit_codes:
        # pppd's 16 is "the modem hung up": a normal end of the call, reported as what it was.
        outcome = Outcome.CARRIER_LOST if is_pppd and code == 16 else Outcome.ANSWERED
        return CallEnd(outcome=outcome, detail=detail, **ended)
    return CallEnd(outcome=Outcome.PROGRAM_ERROR, detail=detail or f"exit status {code}", **ended)


def record_fields(record: CallRecord) -> dict[str, Any]:
    """The fields of the ``call.ended`` log record (the per-call audit line, mgetty's L_AUDIT) of ``record``."""
    return {
        "call_id": record.call_id, "outcome": record.outcome.value, "caller_id": record.caller_id,
        "caller_name": record.caller_name, "called_id": record.called_id, "rings": record.rings,
        "connect": record.connect, "line_rate": record.line_rate, "dte_rate": record.dte_rate,
        "modulation": record.modulation, "protocol": record.protocol, "compression": record.compression,
        "user": record.user, "program": record.program, "exit_status": record.exit_status,
        "signal": signal.Signals(record.signal).name if record.signal else None,
        "duration_s": round(record.duration_s, 3), "detail": record.detail,
        "statistics": " | ".join(record.statistics) if record.statistics else None,
    }  # fmt: skip
