"""The hang-up after a connected call: DTR held low long enough, DCD watched, the escape only if needed.

Closing and reopening the port drops DTR for a few milliseconds, shorter than a modem needs to notice (S25,
commonly 50 ms or more); a modem that stays online then hands answerd's first ``AT`` to the caller as data.
So after every connected call (``hangup_dtr_s`` > 0):

1. ``SetDtr(high=False)`` and hold it for ``hangup_dtr_s`` (independent of the init-time ``toggle_dtr``).
2. If the caller hung up (the shell finished the call as ``CARRIER_LOST``: DCD fell, or the modem said
   ``NO CARRIER``), the modem is already offline: ``Reopen``.
3. Where DCD can be read (``Profile.dcd`` and ``port_opened(dcd_readable=True)``): ``CheckCarrier`` every
   ``carrier_poll_s`` until :meth:`~HangingUp.carrier_changed` says it is down (→ ``Reopen``), for at most
   ``hangup_dcd_wait_s``. Nothing is written meanwhile: never an ``AT`` while DCD is up.
4. DCD still up after the wait, or no DCD to read: DTR back up, then the fixed escape chat
   (:data:`~._profile.HANGUP_ESCAPE_CHAT`: silence, ``+++``, silence, and only then ``ATH0``), then
   ``Reopen``. The escape is the only thing a caller can receive; no command goes before it.

The same sequence runs when answerd stops during a call (``systemctl stop``): trusting the DTR drop alone
left a modem that ignores DTR (``&D0``) online. The shell lets it run for at most :data:`STOP_HANGUP_S`, then
drops DTR and closes the port whatever stage it has reached.
"""

from __future__ import annotations

import enum

from answerd.core._answering import CallHandling
from answerd.core._effects import CheckCarrier, Effect, Outcome, Reopen, Report, SetDtr, Status
from answerd.core._phases import Phase
from answerd.core._profile import HANGUP_ESCAPE_CHAT
from answerd.core._upkeep import Chat

__all__ = ["STOP_HANGUP_S", "HangingUp"]

#: The longest the hang-up may take when answerd stops. The unit's TimeoutStopSec= (30 s) must also cover
#: ending the session (at most 3 x stop_grace_s: 9 s by default) and closing the port (close_timeout_s, 5 s);
#: 10 s holds the default hang-up (DTR low 0.5 s, DCD wait 2 s, the escape's 3 s of guard time, ATH0 and
#: its OK). A longer configured hang-up is cut there: DTR low and the port closed, as without it.
STOP_HANGUP_S = 10.0


class _Stage(enum.Enum):
    DTR_LOW = "dtr-low"
    WAITING_FOR_DCD = "waiting-for-dcd"
    ESCAPING = "escaping"


class HangingUp(CallHandling):
    """The hang-up sequence; the answer machine's state it touches is declared here."""

    _dcd_readable: bool
    _hangup_stage: _Stage | None
    _hangup_deadline: float
    _hangup_offline: bool

    def _begin_hangup(self, outcome: Outcome, now: float) -> list[Effect]:
        """The call is over: start the hang-up (or, with ``hangup_dtr_s`` 0, reopen at once)."""
        if self._profile.hangup_dtr_s <= 0:
            self._phase = Phase.REOPENING
            return [Status(text="hanging up"), Reopen()]
        self._phase = Phase.HANGING_UP
        self._hangup_stage = _Stage.DTR_LOW
        self._hangup_offline = outcome is Outcome.CARRIER_LOST
        self._timer = now + self._profile.hangup_dtr_s
        return [Status(text="hanging up"), SetDtr(high=False)]

    def _hangup_timer(self, now: float) -> list[Effect]:
        """A deadline of the hang-up has come (the machine's ``handle_timer`` in ``HANGING_UP``)."""
        match self._hangup_stage:
            case _Stage.DTR_LOW if self._hangup_offline:
                return self._hung_up("the caller hung up", now)
            case _Stage.DTR_LOW if self._profile.dcd and self._dcd_readable:
                self._hangup_stage = _Stage.WAITING_FOR_DCD
                self._hangup_deadline = now + self._profile.hangup_dcd_wait_s
                return self._poll_carrier(now)
            case _Stage.DTR_LOW:
                return self._escape("no DCD to watch", now)
            case _Stage.WAITING_FOR_DCD if now >= self._hangup_deadline:
                wait = self._profile.hangup_dcd_wait_s
                return self._escape(f"DCD still up {wait:g} s after DTR went low", now)
            case _Stage.WAITING_FOR_DCD:
                return self._poll_carrier(now)
        return []

    def _poll_carrier(self, now: float) -> list[Effect]:
        self._timer = min(now + self._profile.carrier_poll_s, self._hangup_deadline)
        return [CheckCarrier()]

    def carrier_changed(self, now: float, *, up: bool) -> list[Effect]:
        """What DCD is now, in answer to ``CheckCarrier`` (or because it changed) during the hang-up.

        Raises:
            LocalProtocolError: outside ``HANGING_UP``.
        """
        self._require("carrier_changed")
        if self._hangup_stage is not _Stage.WAITING_FOR_DCD or up:
            return []
        return self._hung_up("DCD went down", now)

    def _escape(self, why: str, now: float) -> list[Effect]:
        self._hangup_stage = _Stage.ESCAPING
        report = Report(
            event="call.hangup.escape", fields=(("reason", why),), level="warning" if "DCD" in why else "info"
        )
        return [report, SetDtr(high=True), *self._run_chat(Chat.HANGUP, HANGUP_ESCAPE_CHAT, now)]

    def _hangup_escaped(self, why: str | None, now: float) -> list[Effect]:
        if why is not None:
            return [
                Report(event="call.hangup.escape_failed", fields=(("reason", why),), level="warning"),
                *self._hung_up("escape sequence sent", now),
            ]
        return self._hung_up("escaped and ATH0", now)

    def _hung_up(self, how: str, now: float) -> list[Effect]:  # noqa: ARG002 (kept with the other steps)
        self._hangup_stage = None
        self._timer = None
        self._phase = Phase.REOPENING
        return [Report(event="call.hangup.done", fields=(("how", how),), level="debug"), Reopen()]
