"""The phone-line half of the simulated modem: ringing, answering, dialling out, data mode, hang-ups, time.

:class:`CallMachine` holds the modem's whole state and reacts to the phone line (a caller arriving, its
data, its hang-up, the exchange's answer or busy signal) and to time; :class:`~answerd.sim.SimModem` adds the
computer's side (command mode, DTR) on top of it. The theory of operation is in :mod:`answerd.sim._modem`.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import dataclass

from answerd.sim._announce import (
    caller_id_burst,
    caller_id_enabled,
    connect_lines,
    fixed_rate_refusal,
    framed_reports,
)
from answerd.sim._caller_id import CidFormat
from answerd.sim._commands import Commands, Settings
from answerd.sim._escape import EscapeDetector
from answerd.sim._profile import ModemProfile
from answerd.sim._types import (
    Action,
    CarrierLost,
    CarrierUp,
    DropCaller,
    Log,
    ModemMode,
    ResultCode,
    ToDte,
    mute_dte,
)

__all__ = ["CallMachine", "NoiseTimer", "ReportTimer", "Timer"]

_RESULT_BY_TEXT = {code.text: code for code in ResultCode}


class Timer(enum.Enum):
    """The modem's own deadlines (at most one of each is pending)."""

    RING = "ring"
    CALLER_ID = "caller-id"
    ANSWER = "answer"
    DIAL = "dial"
    ESCAPE = "escape"
    #: DTR has been low since this deadline minus S25: now the drop counts (``SimModem.dtr_changed``).
    DTR = "dtr"


@dataclass(frozen=True, slots=True)
class ReportTimer:
    """The next send of ``faults.online_reports[index]``."""

    index: int


@dataclass(frozen=True, slots=True)
class NoiseTimer:
    """The next burst of ``faults.line_noise[index]``."""

    index: int


class CallMachine(abc.ABC):
    """The modem's state and its phone-line side; see :class:`~answerd.sim.SimModem` for the arguments."""

    def __init__(self, settings: ModemProfile | None = None, *, line_out: bool = False) -> None:
        self._profile = settings or ModemProfile()
        self._line_out = line_out
        self._call_number = self._profile.caller_id.number
        self._dte_rate: int | None = None
        self._quiet_answer = False
        identity = self._profile.identity
        self._commands = Commands(
            self._profile.factory_settings(),
            identity.ident,
            manufacturer=identity.manufacturer,
            revision=identity.revision,
            cid_commands=frozenset(self._profile.caller_id.commands),
            fixed_rates=self._profile.speed.rates(),
        )
        self._mode = ModemMode.IDLE
        self._caller = False
        self._off_hook = False
        self._dtr = True
        self._timers: dict[Timer | ReportTimer | NoiseTimer, float] = {}
        self._rings = 0
        self._reports_left: dict[int, int] = {}
        self._noise_left: dict[int, int] = {}
        self._noise_started = False
        self._errors_left = self._profile.faults.error_first
        self._silent = self._profile.faults.silent
        self._escape = EscapeDetector()

    @property
    def _p(self) -> Settings:
        return self._commands.active

    # --- observers -------------------------------------------------------------------------------------

    @property
    def profile(self) -> ModemProfile:
        """The profile the modem was built with."""
        return self._profile

    @property
    def mode(self) -> ModemMode:
        """Where the modem is in a call."""
        return self._mode

    @property
    def silent(self) -> bool:
        """Whether the modem is dead right now (see :meth:`set_silent`)."""
        return self._silent

    @property
    def caller_present(self) -> bool:
        """Whether a caller is on the line (as far as the modem knows)."""
        return self._caller

    @property
    def accepts_call(self) -> bool:
        """Whether a new caller would ring; otherwise the line is busy (a caller or the modem off-hook)."""
        return not self._caller and not self._off_hook and self._mode is ModemMode.IDLE

    def register(self, n: int) -> int:
        """The current value of S register ``n`` (0 for one never set)."""
        return self._p.reg(n)

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must be called next, or ``None`` if nothing is pending."""
        return min(self._timers.values(), default=None)

    # --- inputs from the phone line --------------------------------------------------------------------

    def caller_arrived(self, now: float, *, number: str | None = None) -> list[Action]:
        """Someone calls in (a TCP client, or a modem on the exchange); the shell checks :attr:`accepts_call`.

        ``number`` is the caller's number for caller ID (an exchange passes the calling line's); ``None``
        keeps the profile's ``caller_id.number``.
        """
        if not self.accepts_call:
            return [Log(text="caller arrived on a busy line; ignored")]
        self._caller = True
        self._call_number = number if number is not None else self._profile.caller_id.number
        if self._silent:
            return [Log(text="caller arrived; silent modem does not ring")]
        out: list[Action] = [Log(text="caller arrived")]
        self._p.regs[1] = 0
        self._rings = 0
        if self._profile.faults.unsolicited_connect:
            out.append(Log(text="unsolicited CONNECT (auto-answering modem)"))
            out.extend(self._connect(now))
            return out
        self._mode = ModemMode.RINGING
        out.extend(self._ring(now))
        if (
            self._mode is ModemMode.RINGING
            and self._cid_enabled()
            and self._profile.caller_id.format is not CidFormat.ELSA
        ):
            if self._profile.caller_id.every_ring:
                out.extend(self._caller_id())  # a GSM modem sends +CLIP right after each RING
            else:
                # The caller-ID burst comes in the silence after the first ring (Bellcore: 0.5 s after it).
                self._timers[Timer.CALLER_ID] = now + self._profile.timings.ring_interval_s / 2
        return out

    def caller_data(self, data: bytes, now: float) -> list[Action]:  # noqa: ARG002 (uniform input signature)
        """Bytes from the caller; only reach the DTE while online."""
        if self._mode is ModemMode.ONLINE and not self._silent:
            return [ToDte(data=data)]
        return [Log(text=f"discarded {len(data)} byte(s) from the caller ({self._mode.value})")]

    def caller_left(self, now: float) -> list[Action]:  # noqa: ARG002 (uniform input signature)
        """The caller hung up (the shell's TCP client closed)."""
        if not self._caller:
            return []
        self._caller = False
        out: list[Action] = [Log(text="caller left")]
        if self._silent:
            return out
        match self._mode:
            case ModemMode.RINGING:
                self._stop_ringing()
                self._p.regs[1] = 0
                self._mode = ModemMode.IDLE
            case ModemMode.ANSWERING:
                self._timers.pop(Timer.ANSWER, None)
                self._mode = ModemMode.IDLE
                out.extend(self._p.result(ResultCode.NO_CARRIER))
            case ModemMode.DIALING:
                pass  # the far end put the phone down before answering: wait for carrier until S7 runs out
            case ModemMode.ONLINE | ModemMode.ONLINE_COMMAND:
                out.extend(self._carrier_gone())
                self._mode = ModemMode.IDLE
                out.extend(self._p.result(ResultCode.NO_CARRIER))
            case ModemMode.IDLE:
                pass
        return out

    def remote_answered(self, now: float) -> list[Action]:
        """The modem this one dialled answered and reached carrier: this side connects too."""
        if self._mode is not ModemMode.DIALING or not self._caller:
            return [Log(text=f"remote answered, but this modem is {self._mode.value}; ignored")]
        self._timers.pop(Timer.DIAL, None)
        if refused := fixed_rate_refusal(self._profile, self._p):
            return [Log(text=refused), *self._hang_up_unconnected()]
        return self._connect(now)

    def remote_busy(self, now: float) -> list[Action]:  # noqa: ARG002 (uniform input signature)
        """The number this modem dialled is in a call: ``BUSY`` from X3 on, ``NO CARRIER`` below.

        modem-personalities: §6 generic V.250, X0-X5 row (Nokia D211 V.25ter manual): X3 adds BUSY; a code the
        X level does not enable is sent as NO CARRIER.
        """
        if self._mode is not ModemMode.DIALING:
            return []
        code = ResultCode.BUSY if self._p.x >= 3 else ResultCode.NO_CARRIER
        return [Log(text="the dialled number is busy"), *self._fail_call(code)]

    # --- time ------------------------------------------------------------------------------------------

    def handle_timer(self, now: float) -> list[Action]:
        """Run every timer due at ``now`` (earliest first); while silent, nothing of it reaches the DTE."""
        out: list[Action] = []
        while True:
            due = [(t, k) for k, t in self._timers.items() if t <= now]
            if not due:
                return mute_dte(out) if self._silent else out
            when, kind = min(due, key=lambda item: item[0])
            del self._timers[kind]
            out.extend(self._fire(kind, when))

    def set_dte_rate(self, rate: int | None) -> None:
        """The computer's port rate as the shell last read it (for ``results.connect_rate = "dte"``)."""
        self._dte_rate = rate if rate and rate > 0 else None

    def set_silent(self, silent: bool, now: float) -> list[Action]:  # noqa: ARG002 (uniform input signature)
        """Make the modem die (``True``: it answers nothing, echoes nothing, reports no RING) or come back.

        The state it was in is kept: a modem that comes back answers ``AT`` with ``OK`` at once. A caller who
        arrived while it was silent hears nothing until they call again (the line never rang).
        """
        if silent == self._silent:
            return []
        self._silent = silent
        text = "silent: the modem stops answering" if silent else "silent: off, the modem answers again"
        return [Log(text=text)]

    def _fire(self, kind: Timer | ReportTimer | NoiseTimer, when: float) -> list[Action]:
        match kind:
            case ReportTimer(index=index):
                return self._online_report(index, when)
            case NoiseTimer(index=index):
                return self._noise(index, when)
            case Timer.RING:
                limit = self._profile.timings.max_rings
                if limit and self._rings >= limit:
                    self._stop_ringing()
                    self._caller = False
                    self._mode = ModemMode.IDLE
                    self._p.regs[1] = 0
                    return [Log(text=f"caller gave up after {self._rings} ring(s)"), DropCaller()]
                return self._ring(when)
            case Timer.CALLER_ID:
                return self._caller_id()
            case Timer.ANSWER:
                return self._answer_done(when)
            case Timer.DIAL:
                return self._dial_timed_out()
            case Timer.DTR:
                return self._dtr_dropped()
            case Timer.ESCAPE:
                if not self._escape.complete() or self._mode is not ModemMode.ONLINE:
                    return []
                self._mode = ModemMode.ONLINE_COMMAND
                return [Log(text="escape: command mode, call stays up"), *self._p.result(ResultCode.OK)]
        return []

    @abc.abstractmethod
    def _dtr_dropped(self) -> list[Action]:
        """DTR went low and stayed low for S25: act on it (the modem's ``SimModem.dtr_changed``)."""

    # --- ringing and answering -------------------------------------------------------------------------

    def _ring(self, now: float) -> list[Action]:
        self._rings += 1
        self._p.regs[1] = min(255, self._p.reg(1) + 1)
        text = self._profile.results.ring
        if self._p.crc:
            # AT+CRC=1: the extended ring report says what kind of call it is (numeric mode still sends 2,
            # as +CRING has no numeric code in 3GPP TS 27.007).
            text = f"+CRING: {self._profile.results.cring_type}"
        elif self._profile.caller_id.format is CidFormat.ELSA and self._cid_enabled():
            text = f"{text};{self._call_number}"
        out: list[Action] = [Log(text=f"ring {self._rings}"), *self._p.result(ResultCode.RING, text)]
        if self._rings > 1 and self._profile.caller_id.every_ring:
            out.extend(self._caller_id())  # GSM +CLIP follows every RING, not only the first
        self._timers[Timer.RING] = now + self._profile.timings.ring_interval_s
        s0 = self._p.reg(0)
        if s0 and self._p.reg(1) >= s0 and (self._dtr or self._p.dtr == 0):
            out.append(Log(text=f"auto-answer after {self._p.reg(1)} ring(s) (S0={s0})"))
            out.extend(self._start_answer(now))
        return out

    def _set_timer(self, kind: Timer, when: float | None) -> None:
        if when is None:
            self._timers.pop(kind, None)
        else:
            self._timers[kind] = when

    def _stop_ringing(self) -> None:
        self._timers.pop(Timer.RING, None)
        self._timers.pop(Timer.CALLER_ID, None)

    def _cid_enabled(self) -> bool:
        return caller_id_enabled(self._profile, self._p, self._call_number)

    def _caller_id(self) -> list[Action]:
        if self._mode is not ModemMode.RINGING or not self._cid_enabled():
            return []
        data = caller_id_burst(self._profile, self._p, self._call_number)
        return [Log(text=f"caller ID sent ({self._profile.caller_id.format.value})"), ToDte(data=data)] if data else []

    def _start_answer(self, now: float) -> list[Action]:
        self._stop_ringing()
        self._mode = ModemMode.ANSWERING
        if self._caller:
            if self._profile.faults.never_connect:
                return [Log(text="answering; never_connect: no result will come")]
            self._timers[Timer.ANSWER] = now + self._profile.timings.answer_delay_s
            return [Log(text="answering")]
        self._timers[Timer.ANSWER] = now + self._profile.timings.idle_answer_timeout_s
        return [Log(text="off-hook to answer, but nobody is calling")]

    def _answer_done(self, now: float) -> list[Action]:
        if self._mode is not ModemMode.ANSWERING:
            return []
        if not self._caller:
            self._mode = ModemMode.IDLE
            return self._p.result(ResultCode.NO_CARRIER)
        forced = self._profile.faults.answer_result
        if forced is not None and not forced.startswith("CONNECT"):
            out: list[Action] = [Log(text=f"answer fails on purpose: {forced}")]
            out.extend(self._fail_call(_RESULT_BY_TEXT.get(forced, ResultCode.NO_CARRIER), text=forced))
            return out
        if refused := fixed_rate_refusal(self._profile, self._p):
            return [Log(text=refused), *self._hang_up_unconnected()]
        return self._connect(now)

    def _connect(self, now: float) -> list[Action]:
        self._mode = ModemMode.ONLINE
        self._escape.reset(now)
        out: list[Action] = [Log(text="carrier up: online"), CarrierUp()]
        out.extend(framed_reports(self._profile, self._p, self._dte_rate))
        out.extend(connect_lines(self._profile, self._p, self._dte_rate))
        for index, report in enumerate(self._profile.faults.online_reports):
            self._reports_left[index] = report.repeat
            self._timers[ReportTimer(index)] = now + report.after_s
        return out

    def _online_report(self, index: int, when: float) -> list[Action]:
        """Send ``faults.online_reports[index]`` once (if in data mode) and schedule its next repeat."""
        report = self._profile.faults.online_reports[index]
        self._reports_left[index] -= 1
        if self._reports_left[index] > 0:
            self._timers[ReportTimer(index)] = when + report.interval_s
        if self._mode is not ModemMode.ONLINE:
            return [Log(text=f"online report {report.text!r} skipped: not in data mode")]
        return [
            Log(text=f"fault: the modem says {report.text!r} while online"),
            ToDte(data=b"\r\n" + report.text.encode() + b"\r\n"),
        ]

    def _start_noise(self, now: float) -> None:
        """The computer wrote for the first time: ``faults.line_noise`` counts from here."""
        if self._noise_started:
            return
        self._noise_started = True
        for index, noise in enumerate(self._profile.faults.line_noise):
            self._noise_left[index] = noise.repeat
            self._timers[NoiseTimer(index)] = now + noise.after_s

    def _noise(self, index: int, when: float) -> list[Action]:
        """Send ``faults.line_noise[index]`` once, whatever the mode, and schedule its next repeat."""
        noise = self._profile.faults.line_noise[index]
        self._noise_left[index] -= 1
        if self._noise_left[index] > 0:
            self._timers[NoiseTimer(index)] = when + noise.interval_s
        data = noise.burst()
        return [Log(text=f"fault: {len(data)} byte(s) of line noise"), ToDte(data=data)]

    def _fail_call(self, code: ResultCode, text: str | None = None) -> list[Action]:
        """End a call that never reached carrier: on-hook, drop the caller, report ``code``."""
        self._timers.pop(Timer.ANSWER, None)
        self._timers.pop(Timer.DIAL, None)
        self._stop_ringing()
        self._mode = ModemMode.IDLE
        out: list[Action] = []
        if self._caller:
            self._caller = False
            out.append(DropCaller())
        out.extend(self._p.result(code, text=text))
        return out

    def _hang_up_unconnected(self) -> list[Action]:
        """A fixed rate (``&Nn``) the line cannot carry: "the modem hangs up" ([USR-C34] p.4-22), which the
        DTE sees as ``NO CARRIER`` (modem-personalities: §7 item 8)."""
        return self._fail_call(ResultCode.NO_CARRIER)

    def _carrier_gone(self) -> list[Action]:
        self._timers.pop(Timer.ESCAPE, None)
        for key in [k for k in self._timers if isinstance(k, ReportTimer)]:
            del self._timers[key]  # what a modem says in a call ends with the call
        self._escape.complete()
        return [CarrierLost()] if self._p.dcd == 1 else []

    def _hang_up(self, *, report: bool) -> list[Action]:
        """Go on-hook from a call with carrier: DCD falls first, then the caller is dropped."""
        out = self._carrier_gone()
        self._mode = ModemMode.IDLE
        if self._caller:
            self._caller = False
            out.append(DropCaller())
        if report:
            out.extend(self._p.result(ResultCode.NO_CARRIER))
        return out

    def _dial_timed_out(self) -> list[Action]:
        """S7 ran out before carrier: ``NO CARRIER`` (``NO ANSWER`` after an ``@`` dial from X4 on).

        modem-personalities: §6 generic V.250, X0-X5 row (Nokia D211 V.25ter manual): X4 adds NO ANSWER.
        """
        if self._mode is not ModemMode.DIALING:
            return []
        code = ResultCode.NO_ANSWER if self._quiet_answer and self._p.x >= 4 else ResultCode.NO_CARRIER
        return [Log(text=f"no carrier within S7={self._p.reg(7)} s"), *self._fail_call(code)]
