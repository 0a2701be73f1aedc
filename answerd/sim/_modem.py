"""A sans-IO Hayes data modem: what a real modem does, with the phone line played by a caller object.

Theory of operation
-------------------
``SimModem`` is a pure state machine. It never reads a clock and does no I/O: every input carries ``now``
(seconds, any monotonic origin) and returns a list of actions for the shell to carry out in order. Time
only moves when the shell calls :meth:`SimModem.handle_timer` at (or after) :meth:`SimModem.get_timer`.
That keeps the unit tests exact (no sleeps) and lets the same object sit behind a pty in ``answerd sim``.
How it behaves (defaults, result texts, caller ID, timings, faults) is one
:class:`~answerd.sim._profile.ModemProfile`; command mode lives in :mod:`answerd.sim._commands` and caller-ID
encoding in :mod:`answerd.sim._caller_id`. This module is the call: ringing, answering, data mode.

Two sides talk to it:

* the DTE (the computer, i.e. answerd) through :meth:`~SimModem.dte_data` and
  :meth:`~SimModem.dtr_changed`; the modem answers with :class:`ToDte`;
* the phone line (one TCP client in the shell) through :meth:`~SimModem.caller_arrived`,
  :meth:`~SimModem.caller_data` and :meth:`~SimModem.caller_left`; the modem answers with
  :class:`ToCaller` and :class:`DropCaller`.

The call goes through :class:`ModemMode`::

    IDLE --caller_arrived--> RINGING --ATA / S0 rings--> ANSWERING --answer_delay--> ONLINE
     ^                          |                            |                    |   ^
     |   caller left / gave up  |      abort / no caller     |       +++ (guard)  |   | ATO
     +--------------------------+----------------------------+             ONLINE_COMMAND
     +--------- caller left (CarrierLost, NO CARRIER), ATH, DTR drop (&D2/&D3) ----+

Rules the module keeps, because answerd relies on them the way it relies on a real modem:

1. Command mode and data mode never mix: in ``ONLINE`` every DTE byte goes to the caller and every
   caller byte to the DTE, byte-exact; outside ``ONLINE`` caller bytes are discarded (and logged). The one
   exception is a fault: ``[[faults.online_reports]]`` make the modem itself talk in data mode.
2. When the carrier goes away while DCD was asserted (``&C1``), :class:`CarrierLost` comes *before* the
   ``NO CARRIER`` text, so the shell can hang the tty up the way the kernel would before the DTE reads it.
3. After :class:`DropCaller` the caller is gone for the modem; a later ``caller_left`` is ignored.
4. Result codes follow ``Q``/``V``/``X``: verbose ``\\r\\nOK\\r\\n``, numeric ``0\\r``; information text
   (``I``, ``S7?``, ``&V``) is not silenced by ``Q1``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from answerd.sim._caller_id import CidFormat, caller_id_lines
from answerd.sim._commands import CommandError, Commands, Cursor, Settings, capped, connect_reports, ranged
from answerd.sim._escape import EscapeDetector
from answerd.sim._profile import ModemProfile
from answerd.sim._types import (
    Action,
    CarrierLost,
    CarrierUp,
    Dial,
    DropCaller,
    Log,
    ModemMode,
    ResultCode,
    ToCaller,
    ToDte,
    merge_dte_writes,
    mute_dte,
)

__all__ = ["SimModem"]

_RESULT_BY_TEXT = {code.text: code for code in ResultCode}

# What caller ID sends as date and time when the profile leaves them to the shell (the modem reads no clock).
_DEFAULT_CID_DATE = "0101"
_DEFAULT_CID_TIME = "1200"


class _Timer(enum.Enum):
    RING = "ring"
    CALLER_ID = "caller-id"
    ANSWER = "answer"
    DIAL = "dial"
    ESCAPE = "escape"


@dataclass(frozen=True, slots=True)
class _ReportTimer:
    """The next send of ``faults.online_reports[index]``."""

    index: int


class SimModem:
    """A Hayes data modem with a simulated phone line; every input returns the actions it causes.

    Args:
        settings: the modem profile (default: :class:`ModemProfile`'s default modem).
        line_out: the modem is on an exchange and can dial (``ATD`` gives :class:`Dial`); without one,
            ``ATD`` finds no dial tone, as on a line that only takes calls in.

    >>> m = SimModem(ModemProfile())
    >>> m.dte_data(b"ATE0\\r", now=0.0)
    [ToDte(data=b'ATE0\\r\\r\\nOK\\r\\n')]
    """

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
        )
        self._mode = ModemMode.IDLE
        self._caller = False
        self._off_hook = False
        self._dtr = True
        self._timers: dict[_Timer | _ReportTimer, float] = {}
        self._rings = 0
        self._reports_left: dict[int, int] = {}
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

    # --- inputs from the DTE ---------------------------------------------------------------------------

    def dte_data(self, data: bytes, now: float) -> list[Action]:
        """Bytes the computer wrote to the modem."""
        if self._silent:
            return [Log(text=f"silent: ignored {len(data)} byte(s) from the DTE")]
        out: list[Action] = []
        i = 0
        while i < len(data):
            if self._mode is ModemMode.ONLINE:
                chunk = data[i:]
                out.append(ToCaller(data=chunk))
                self._escape.scan(chunk, now, escape=self._p.reg(2), guard=self._p.reg(12) / 50)
                self._set_timer(_Timer.ESCAPE, self._escape.deadline)
                break
            if self._mode in (ModemMode.ANSWERING, ModemMode.DIALING):
                if data[i] == 10:
                    # The LF of a DTE that ends lines with CRLF must not abort the ATA it just sent.
                    i += 1
                    continue
                # Any other character aborts the handshake, as on Hayes-compatible modems.
                out.append(Log(text=f"{self._mode.value} aborted by a character from the DTE"))
                out.extend(self._fail_call(ResultCode.NO_CARRIER))
                i += 1
                continue
            out.extend(self._command_byte(data[i], now))
            i += 1
        return merge_dte_writes(out)

    def dtr_changed(self, high: bool, now: float) -> list[Action]:  # noqa: ARG002 (uniform input signature)
        """The computer raised or dropped DTR (on a pty: the speed became or left B0, or the port closed)."""
        if high == self._dtr:
            return []
        self._dtr = high
        out: list[Action] = [Log(text="DTR high" if high else "DTR low")]
        if high or self._silent:
            return out
        policy = self._p.dtr
        if policy == 0:
            return out
        if policy == 1:
            if self._mode is ModemMode.ONLINE:
                self._mode = ModemMode.ONLINE_COMMAND
                out.append(Log(text="&D1: DTR drop, back to command mode"))
                out.extend(self._p.result(ResultCode.OK))
            return out
        if self._mode in (ModemMode.ONLINE, ModemMode.ONLINE_COMMAND):
            out.append(Log(text=f"&D{policy}: DTR drop hangs up"))
            out.extend(self._hang_up(report=True))
        elif self._mode in (ModemMode.ANSWERING, ModemMode.DIALING):
            out.append(Log(text=f"&D{policy}: DTR drop aborts the {self._mode.value}"))
            out.extend(self._fail_call(ResultCode.NO_CARRIER))
        self._off_hook = False
        if policy == 3:
            self._commands.restore_stored()
            out.append(Log(text="&D3: reset to the stored profile"))
        return out

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
                self._timers[_Timer.CALLER_ID] = now + self._profile.timings.ring_interval_s / 2
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
                self._timers.pop(_Timer.ANSWER, None)
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
        self._timers.pop(_Timer.DIAL, None)
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

    def _fire(self, kind: _Timer | _ReportTimer, when: float) -> list[Action]:
        match kind:
            case _ReportTimer(index=index):
                return self._online_report(index, when)
            case _Timer.RING:
                limit = self._profile.timings.max_rings
                if limit and self._rings >= limit:
                    self._stop_ringing()
                    self._caller = False
                    self._mode = ModemMode.IDLE
                    self._p.regs[1] = 0
                    return [Log(text=f"caller gave up after {self._rings} ring(s)"), DropCaller()]
                return self._ring(when)
            case _Timer.CALLER_ID:
                return self._caller_id()
            case _Timer.ANSWER:
                return self._answer_done(when)
            case _Timer.DIAL:
                return self._dial_timed_out()
            case _Timer.ESCAPE:
                if not self._escape.complete() or self._mode is not ModemMode.ONLINE:
                    return []
                self._mode = ModemMode.ONLINE_COMMAND
                return [Log(text="escape: command mode, call stays up"), *self._p.result(ResultCode.OK)]
        return []

    # --- ringing and answering -------------------------------------------------------------------------

    def _ring(self, now: float) -> list[Action]:
        self._rings += 1
        self._p.regs[1] = min(255, self._p.reg(1) + 1)
        text = self._profile.results.ring
        if self._profile.caller_id.format is CidFormat.ELSA and self._cid_enabled():
            text = f"{text};{self._call_number}"
        out: list[Action] = [Log(text=f"ring {self._rings}"), *self._p.result(ResultCode.RING, text)]
        if self._rings > 1 and self._profile.caller_id.every_ring:
            out.extend(self._caller_id())  # GSM +CLIP follows every RING, not only the first
        self._timers[_Timer.RING] = now + self._profile.timings.ring_interval_s
        s0 = self._p.reg(0)
        if s0 and self._p.reg(1) >= s0 and (self._dtr or self._p.dtr == 0):
            out.append(Log(text=f"auto-answer after {self._p.reg(1)} ring(s) (S0={s0})"))
            out.extend(self._start_answer(now))
        return out

    def _set_timer(self, kind: _Timer, when: float | None) -> None:
        if when is None:
            self._timers.pop(kind, None)
        else:
            self._timers[kind] = when

    def _stop_ringing(self) -> None:
        self._timers.pop(_Timer.RING, None)
        self._timers.pop(_Timer.CALLER_ID, None)

    def _cid_enabled(self) -> bool:
        cid = self._profile.caller_id
        enabled = cid.delivered and (cid.force or self._p.vcid or self._p.cid or self._p.clip)
        return bool(enabled and (self._call_number or cid.format.withheld))

    def _caller_id(self) -> list[Action]:
        if self._mode is not ModemMode.RINGING or not self._cid_enabled():
            return []
        cid = self._profile.caller_id
        # +VCID=2/#CID=2 ask a Rockwell chip for the unformatted (MDMF) packet; a forced burst stays formatted.
        unformatted = 2 in (self._p.vcid, self._p.cid) and not cid.force
        fmt = CidFormat.MDMF if cid.format is CidFormat.ROCKWELL and unformatted else cid.format
        date, time = cid.date or _DEFAULT_CID_DATE, cid.time or _DEFAULT_CID_TIME
        lines = caller_id_lines(fmt, number=self._call_number or "", name=cid.name, date=date, time=time)
        data = b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines)
        return [Log(text=f"caller ID sent ({cid.format.value})"), ToDte(data=data)] if lines else []

    def _start_answer(self, now: float) -> list[Action]:
        self._stop_ringing()
        self._mode = ModemMode.ANSWERING
        if self._caller:
            if self._profile.faults.never_connect:
                return [Log(text="answering; never_connect: no result will come")]
            self._timers[_Timer.ANSWER] = now + self._profile.timings.answer_delay_s
            return [Log(text="answering")]
        self._timers[_Timer.ANSWER] = now + self._profile.timings.idle_answer_timeout_s
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
        return self._connect(now)

    def _connect(self, now: float) -> list[Action]:
        self._mode = ModemMode.ONLINE
        self._escape.reset(now)
        out: list[Action] = [Log(text="carrier up: online"), CarrierUp()]
        if self._p.w == 1 and not self._p.quiet:
            out.extend(self._p.info(line) for line in connect_reports(self._connect_text()))
        out.extend(self._connect_result())
        for index, report in enumerate(self._profile.faults.online_reports):
            self._reports_left[index] = report.repeat
            self._timers[_ReportTimer(index)] = now + report.after_s
        return out

    def _connect_result(self) -> list[Action]:
        forced = self._profile.faults.answer_result
        text = forced if forced is not None and forced.startswith("CONNECT") else None
        if text is None:
            connect = self._connect_text()
            text = "CONNECT" if self._p.x == 0 or not connect else f"CONNECT {connect}"
        return self._p.result(ResultCode.CONNECT, text=text)

    def _connect_text(self) -> str:
        """The CONNECT text: the profile's, its rate held to ``+MS``'s cap, or the DTE rate (``connect_rate``)."""
        connect = self._profile.results.connect
        if self._profile.results.connect_rate == "dte" and self._p.w == 0 and self._dte_rate:
            return f"{self._dte_rate}{connect[len(connect.split('/')[0]) :]}"
        return capped(connect, self._p.rate_cap())

    def _online_report(self, index: int, when: float) -> list[Action]:
        """Send ``faults.online_reports[index]`` once (if in data mode) and schedule its next repeat."""
        report = self._profile.faults.online_reports[index]
        self._reports_left[index] -= 1
        if self._reports_left[index] > 0:
            self._timers[_ReportTimer(index)] = when + report.interval_s
        if self._mode is not ModemMode.ONLINE:
            return [Log(text=f"online report {report.text!r} skipped: not in data mode")]
        return [
            Log(text=f"fault: the modem says {report.text!r} while online"),
            ToDte(data=b"\r\n" + report.text.encode() + b"\r\n"),
        ]

    def _fail_call(self, code: ResultCode, text: str | None = None) -> list[Action]:
        """End a call that never reached carrier: on-hook, drop the caller, report ``code``."""
        self._timers.pop(_Timer.ANSWER, None)
        self._timers.pop(_Timer.DIAL, None)
        self._stop_ringing()
        self._mode = ModemMode.IDLE
        out: list[Action] = []
        if self._caller:
            self._caller = False
            out.append(DropCaller())
        out.extend(self._p.result(code, text=text))
        return out

    def _carrier_gone(self) -> list[Action]:
        self._timers.pop(_Timer.ESCAPE, None)
        for key in [k for k in self._timers if isinstance(k, _ReportTimer)]:
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

    # --- command mode ----------------------------------------------------------------------------------

    def _command_byte(self, byte: int, now: float) -> list[Action]:
        out: list[Action] = [ToDte(data=bytes([byte]))] if self._p.echo else []
        line = self._commands.feed(byte)
        if line is None:
            return out
        if self._errors_left and not line.overflow:
            self._errors_left -= 1
            return [*out, Log(text=f"error_first: ERROR for AT{line.text}"), *self._p.result(ResultCode.ERROR)]
        return out + self._commands.run_line(line, lambda c, cur, done: self._command(c, cur, done, now))

    def _command(self, c: str, cur: Cursor, out: list[Action], now: float) -> list[Action] | None:
        """Carry out command ``c`` (a call command, or any other); a final result ends the line, else ``None``."""
        match c:
            case "A":
                if self._mode not in (ModemMode.IDLE, ModemMode.RINGING) or self._off_hook:
                    raise CommandError
                cur.rest()  # anything after A is ignored: the modem is busy answering
                return self._start_answer(now)
            case "D":
                dial_string = cur.rest()
                if self._mode is not ModemMode.IDLE or self._off_hook:
                    raise CommandError
                if self._line_out:
                    return self._dial(dial_string, now)
                # A modem without an exchange has a line for calls in only: there is never a dial tone.
                code = ResultCode.NO_DIALTONE if self._p.x >= 2 else ResultCode.NO_CARRIER
                return [Log(text="dial attempt: no outgoing line"), *self._p.result(code)]
            case "H":
                return self._hook(ranged(cur.number(0), 1), out)
            case "O":
                ranged(cur.number(0), 1)
                cur.rest()
                if self._mode is not ModemMode.ONLINE_COMMAND:
                    return self._p.result(ResultCode.NO_CARRIER)
                self._mode = ModemMode.ONLINE
                self._escape.reset(now)
                return [Log(text="back online"), *self._connect_result()]
            case "Z":
                ranged(cur.number(0), 1)
                cur.rest()
                return self._reset_command()
        factory_reset = c == "&" and cur.peek() == "F"
        if not self._commands.setting_command(c, cur, out):
            raise CommandError
        if factory_reset:
            self._off_hook = False  # &F puts the hook back too, as Z does
        return None

    def _dial(self, dial_string: str, now: float) -> list[Action]:
        """Go off-hook and dial: the exchange rings the number; carrier must come within S7 seconds.

        Dial modifiers (``T``, ``P``, ``W``, ``,``, ``!``, ``;``) are accepted and ignored: an exchange has no
        dial tone to wait for and no pauses to keep. ``@`` (wait for quiet answer) makes the S7 time-out report
        ``NO ANSWER`` (from X4 on) instead of ``NO CARRIER``.
        """
        number = "".join(c for c in dial_string if c.isdigit() or c in "*#")
        if not number:
            raise CommandError
        self._mode = ModemMode.DIALING
        self._caller = True  # the far end of the call, once the exchange connects it
        self._quiet_answer = "@" in dial_string
        self._timers[_Timer.DIAL] = now + self._p.reg(7)
        return [Log(text=f"dialling {number}; carrier within S7={self._p.reg(7)} s"), Dial(number=number)]

    def _dial_timed_out(self) -> list[Action]:
        """S7 ran out before carrier: ``NO CARRIER`` (``NO ANSWER`` after an ``@`` dial from X4 on).

        modem-personalities: §6 generic V.250, X0-X5 row (Nokia D211 V.25ter manual): X4 adds NO ANSWER.
        """
        if self._mode is not ModemMode.DIALING:
            return []
        code = ResultCode.NO_ANSWER if self._quiet_answer and self._p.x >= 4 else ResultCode.NO_CARRIER
        return [Log(text=f"no carrier within S7={self._p.reg(7)} s"), *self._fail_call(code)]

    def _hook(self, n: int, out: list[Action]) -> list[Action] | None:
        if n == 0:
            self._off_hook = False
            if self._mode in (ModemMode.ONLINE_COMMAND, ModemMode.ANSWERING):
                out.append(Log(text="ATH: hang up"))
                out.extend(self._hang_up(report=False))
            return None
        if self._mode is ModemMode.ONLINE_COMMAND:
            raise CommandError
        self._off_hook = True
        if self._mode is ModemMode.RINGING:
            # Picking the line up without a carrier seizes it: the caller hears silence and is cut off.
            out.append(Log(text="ATH1 while ringing: line seized, caller dropped"))
            self._stop_ringing()
            self._mode = ModemMode.IDLE
            self._caller = False
            out.append(DropCaller())
        return None

    def _reset_command(self) -> list[Action]:
        out: list[Action] = [Log(text="reset")]
        if self._mode in (ModemMode.ONLINE_COMMAND, ModemMode.ANSWERING):
            out.extend(self._hang_up(report=False))
        self._commands.restore_stored()
        self._off_hook = False
        out.extend(self._p.result(ResultCode.OK))
        return out
