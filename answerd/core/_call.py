"""What is known about the call being rung in, until it becomes a :class:`~._effects.CallRecord`.

The answer machine keeps one :class:`CallInProgress` from the first RING (or caller-ID line) to the end of
the call; every caller-ID line, RING and cadence report is folded into it here, so the machine only says
*when* and this module says *how*.
"""

from __future__ import annotations

from dataclasses import dataclass

from answerd.core._effects import CallRecord, Decision, Outcome
from answerd.core.hayes.cid import CallerInfo, merge_caller_id
from answerd.core.hayes.events import CallerIdField, Ring, RingCadence

__all__ = ["CallInProgress"]


@dataclass(slots=True)
class CallInProgress:
    """One call being rung in.

    Args:
        call_id: the machine's number for the call (1, 2, ...).
        started_at: ``now`` at its first RING or caller-ID line.
    """

    call_id: int
    started_at: float
    rings: int = 0
    distinctive: int = 0
    caller: CallerInfo | None = None
    cadence_bits: int = 0
    cadence_count: int = 0
    verdict: Decision | None = None
    verdict_reason: str = ""
    awaiting_decision: bool = False
    #: The modem's ring said this is no data call (``+CRING: VOICE``): it is counted out, never answered.
    not_data: bool = False

    @property
    def caller_id(self) -> str | None:
        """The caller's number, ``P``/``O`` when withheld or out of area, or ``None`` when unknown."""
        return None if self.caller is None else self.caller.number_or_reason

    def ring(self, ring: Ring) -> None:
        """Count one RING, with the numbers it carries and the distinctive ring it (or its cadence) gives."""
        self.rings += 1
        if ring.caller or ring.called:
            self.caller = merge_caller_id(self.caller, ring)
        if self.cadence_count:
            self.distinctive = self.cadence_bits
            self.cadence_bits = self.cadence_count = 0
        elif ring.distinctive:
            self.distinctive = ring.distinctive

    def cadence(self, cadence: RingCadence) -> None:
        """Add one V.253 cadence report to the distinctive-ring bitmask of the next RING."""
        # mgetty's V.253 rule: the first report and any duration over 0.9 s is a 1 bit, the rest 0 bits.
        bit = 1 if self.cadence_count == 0 or cadence.duration_ds > 9 else 0
        self.cadence_bits = (self.cadence_bits << 1) | bit
        self.cadence_count += 1

    def caller_id_line(self, field: CallerIdField) -> None:
        """Fold one caller-ID line in (MESG packets are decoded there); later lines win, as in mgetty."""
        self.caller = merge_caller_id(self.caller, field)

    def record(self, outcome: Outcome, ended_at: float, **more: str | int | None) -> CallRecord:
        """The call's record as it ends (or, for ``AnswerPending``/``Answered``, as it stands)."""
        return CallRecord(
            call_id=self.call_id,
            outcome=outcome,
            started_at=self.started_at,
            ended_at=ended_at,
            rings=self.rings,
            caller=self.caller,
            distinctive_ring=self.distinctive,
            **more,  # type: ignore[arg-type]
        )
