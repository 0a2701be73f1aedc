"""The calls, the other half of the answer machine: RINGs counted, the call answered, CONNECT handed over.

Everything between the first RING (or a caller-ID line before it) and CONNECT or the call's end: the
per-call record (:class:`~._call.CallInProgress`), caller-ID lines that came early, answering and its
failures. The modem's upkeep (chats, idle, the line) is the base class, :mod:`._upkeep`; the shell's inputs
and the dispatch of modem events by phase are in :mod:`._machine`, whose class inherits this one.
"""

from __future__ import annotations

from answerd.core._call import CallInProgress
from answerd.core._effects import (
    Answered,
    AnswerPending,
    CallEnded,
    CallRecord,
    Decision,
    Effect,
    Outcome,
    Reopen,
    Report,
    Status,
    Write,
)
from answerd.core._phases import Phase
from answerd.core._setup import ModemSetup
from answerd.core.hayes.events import (
    CallerIdField,
    CarrierReport,
    Connect,
    ModemEvent,
    Ok,
    Ring,
    RingCadence,
    Unknown,
    Verdict,
)
from answerd.core.hayes.lines import LineSplitter
from answerd.core.hayes.link import link_info, mgetty_connect

__all__ = ["UNRECOGNISED_REPORT_INTERVAL_S", "CallHandling", "shown"]

#: Lines the machine does not understand while idle or ringing are reported at info level ("why does it
#: not answer?" must have an answer in the journal), at most once per this many seconds; the report says
#: how many were left out since the last one.
UNRECOGNISED_REPORT_INTERVAL_S = 60.0


class CallHandling(ModemSetup):
    """Ringing, answering and connecting; the answer machine's state that they touch is declared here."""

    _splitter: LineSplitter
    _connect_text: str | None
    _answer_next: bool
    _next_call_id: int
    _early: list[tuple[float, CallerIdField | RingCadence]]
    _carrier: list[CarrierReport]
    _unrecognised_next_at: float
    _unrecognised_left_out: int
    _link: dict[str, str | int | None]

    def _on_event_waiting(self, event: ModemEvent, now: float) -> list[Effect]:
        match event:
            case Ring():
                return self._on_ring(event, now)
            case RingCadence():
                if self._call is None:
                    self._early.append((now, event))
                else:
                    self._call.cadence(event)
                return []
            case CallerIdField():
                if self._call is None:
                    self._early.append((now, event))
                    return []
                self._call.caller_id_line(event)
                fields: tuple[tuple[str, str | int | float | None], ...] = ((event.key, event.value),)
                if event.name:
                    fields += (("name", event.name),)
                return [Report(event="call.caller_id", fields=fields)]
            case Unknown():
                return self._unrecognised(event, now)
            case Connect():
                # The modem answered by itself (S0 > 0, or a collision with our count): take the call.
                call = self._call_or_new(now)
                report = Report(event="call.auto_answered", fields=(("rings", call.rings),), level="warning")
                return [report, *self._connected(event, now)]
            case _:
                return []

    def _unrecognised(self, event: Unknown, now: float) -> list[Effect]:
        """Report a line the machine does not understand, rate-limited on the machine's clock."""
        if now < self._unrecognised_next_at:
            self._unrecognised_left_out += 1
            return []
        fields = (("line", event.line), ("phase", self._phase.value), ("left_out", self._unrecognised_left_out))
        self._unrecognised_next_at = now + UNRECOGNISED_REPORT_INTERVAL_S
        self._unrecognised_left_out = 0
        return [Report(event="modem.unrecognised", fields=fields)]

    def _on_ring(self, ring: Ring, now: float) -> list[Effect]:
        call = self._call_or_new(now)
        call.ring(ring)
        self._phase = Phase.RINGING
        fields = (("ring", call.rings), ("of", self._profile.rings), ("caller_id", call.caller_id))
        effects: list[Effect] = [Report(event="call.ring", fields=(*fields, ("distinctive", call.distinctive)))]
        if ring.data_call is False and not call.not_data:
            # +CRING: VOICE / FAX / ALT ...: ATA would not give a data connection. Count the rings out.
            call.not_data = True
            call.verdict = Decision.REJECT
            call.verdict_reason = f"not a data call ({ring.line})"
            self._timer = now + self._profile.ring_gap_s
            report = Report(event="call.not_data", fields=(("call_id", call.call_id), ("ring", ring.line)))
            return [*effects, report, Status(text=f"not answering{shown(call)}: {call.verdict_reason}")]
        if self._answer_next:
            self._answer_next = False
            report = Report(event="call.answer_now", fields=(("call_id", call.call_id),))
            return [*effects, report, *self._answer(call, now)]
        self._timer = now + self._profile.ring_gap_s
        if call.verdict is Decision.REJECT or call.awaiting_decision:
            return effects  # counted; the decision stands (or is still being made)
        ringing = Status(text=f"ringing {call.rings}/{self._profile.rings}{shown(call)}")
        if call.rings < self._profile.rings:
            return [*effects, ringing]
        if not self._profile.answer_gate:
            return effects + self._answer(call, now)
        call.awaiting_decision = True
        return [*effects, ringing, AnswerPending(call=call.record(Outcome.ANSWERED, now))]

    def _answer(self, call: CallInProgress, now: float) -> list[Effect]:
        """Pick up: send the answer command and wait for CONNECT."""
        self._phase = Phase.ANSWERING
        self._timer = now + self._profile.answer_timeout_s
        self._carrier = []
        # The write comes first: the shell carries effects out in order, and the modem should not wait
        # for a status message or a log record.
        return [
            Write(data=self._profile.answer_command.encode("ascii") + b"\r"),
            Status(text=f"answering{shown(call)}"),
        ]

    def _on_event_answering(self, event: ModemEvent, now: float) -> list[Effect]:
        match event:
            case Connect():
                return self._connected(event, now)
            case CarrierReport():
                self._carrier.append(event)
                return []
            case CallerIdField():
                assert self._call is not None
                self._call.caller_id_line(event)
                return []
            case Verdict():
                return self._hang_up(Outcome.NO_CONNECT, f"modem answered {event.code}", now)
            case Ok():
                # Some modems say OK when ATA is aborted; the call did not connect.
                return self._hang_up(Outcome.NO_CONNECT, "modem answered OK instead of CONNECT", now)
            case _:
                return []

    def _connected(self, connect: Connect, now: float) -> list[Effect]:
        call = self._call
        assert call is not None
        self._phase = Phase.CONNECTED
        self._timer = None
        call.awaiting_decision = False  # the modem answered by itself: a decision still coming is late
        self._connect_text = connect.text or connect.line
        trailing = self._splitter.take_rest()
        link = link_info(self._carrier, connect)
        self._link = {
            "line_rate": link.line_rate,
            "dte_rate": link.dte_rate,
            "modulation": link.modulation,
            "protocol": link.protocol,
            "compression": link.compression,
            "connect_env": mgetty_connect(self._carrier, connect),
        }
        record = call.record(Outcome.ANSWERED, now, connect=self._connect_text, **self._link)
        detail = "/".join(report.value for report in self._carrier)
        text = f"connected {self._connect_text}" + (f" ({detail})" if detail else "") + shown(call)
        fields = (
            ("connect", self._connect_text),
            *((key, value) for key, value in self._link.items() if value is not None and key != "connect_env"),
            ("rings", call.rings),
            ("trailing_bytes", len(trailing)),
        )
        details = tuple((report.key, report.value) for report in self._carrier)
        return [
            Report(event="call.connected", fields=fields),
            Status(text=text),
            Answered(connect=connect, call=record, trailing_data=trailing, carrier_details=details),
        ]

    # ------------------------------------------------------------------ call bookkeeping

    def _call_or_new(self, now: float) -> CallInProgress:
        if self._call is None:
            self._call = CallInProgress(call_id=self._next_call_id, started_at=now)
            self._next_call_id += 1
            self._connect_text = None
            self._carrier = []
            for seen, item in self._early:
                if now - seen > self._profile.ring_gap_s:
                    continue  # stale: it belonged to a call that never rang
                if isinstance(item, RingCadence):
                    self._call.cadence(item)
                else:
                    self._call.caller_id_line(item)
            self._early.clear()
        return self._call

    def _finish_call(self, record: CallRecord) -> list[Effect]:
        self._call = None
        self._early.clear()
        return [CallEnded(record=record)]

    def _end_unanswered(self, outcome: Outcome, detail: str, now: float) -> list[Effect]:
        """The call ended before it was answered; the modem is still initialised, so go straight to IDLE."""
        assert self._call is not None
        effects = self._finish_call(self._call.record(outcome, now, detail=detail))
        return effects + self._enter_idle(now)

    def _hang_up(self, outcome: Outcome, detail: str, now: float) -> list[Effect]:
        """An answer attempt failed: record the call, then reopen (DTR drop) and re-initialise."""
        assert self._call is not None
        effects = self._finish_call(self._call.record(outcome, now, detail=detail))
        self._phase = Phase.REOPENING
        self._timer = None
        return [*effects, Status(text="hanging up"), Reopen()]


def shown(call: CallInProgress) -> str:
    """`` caller=<id>`` for a status line, or nothing when the caller is unknown."""
    return f" caller={call.caller_id}" if call.caller_id else ""
