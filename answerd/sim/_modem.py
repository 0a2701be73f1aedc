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

from answerd.sim._announce import connect_lines
from answerd.sim._call import CallMachine, Timer
from answerd.sim._commands import CommandError, Cursor, ranged
from answerd.sim._types import (
    Action,
    Dial,
    DropCaller,
    Log,
    ModemMode,
    ResultCode,
    ToCaller,
    ToDte,
    merge_dte_writes,
)

__all__ = ["SimModem"]


class SimModem(CallMachine):
    """A Hayes data modem with a simulated phone line; every input returns the actions it causes.

    Args:
        settings: the modem profile (default: :class:`ModemProfile`'s default modem).
        line_out: the modem is on an exchange and can dial (``ATD`` gives :class:`Dial`); without one,
            ``ATD`` finds no dial tone, as on a line that only takes calls in.

    >>> m = SimModem(ModemProfile())
    >>> m.dte_data(b"ATE0\\r", now=0.0)
    [ToDte(data=b'ATE0\\r\\r\\nOK\\r\\n')]
    """

    # --- inputs from the DTE ---------------------------------------------------------------------------

    def dte_data(self, data: bytes, now: float) -> list[Action]:
        """Bytes the computer wrote to the modem."""
        self._start_noise(now)
        if self._silent:
            return [Log(text=f"silent: ignored {len(data)} byte(s) from the DTE")]
        out: list[Action] = []
        i = 0
        while i < len(data):
            if self._mode is ModemMode.ONLINE:
                chunk = data[i:]
                out.append(ToCaller(data=chunk))
                self._escape.scan(chunk, now, escape=self._p.reg(2), guard=self._p.reg(12) / 50)
                self._set_timer(Timer.ESCAPE, self._escape.deadline)
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

    def dtr_changed(self, high: bool, now: float) -> list[Action]:
        """The computer raised or dropped DTR (on a pty: the speed became or left B0, or the port closed).

        A drop counts only once DTR has stayed low for S25 hundredths of a second (the DTR detect time of
        Rockwell-style parts; 0, the default here, counts at once): a shorter drop is not seen at all, which
        is what a close and reopen of the port within a few milliseconds looks like to a real modem.
        """
        if high == self._dtr:
            return []
        self._dtr = high
        out: list[Action] = [Log(text="DTR high" if high else "DTR low")]
        if high:
            if self._timers.pop(Timer.DTR, None) is not None:
                out.append(Log(text=f"DTR drop shorter than S25={self._p.reg(25)}: not seen"))
            return out
        if self._silent:
            return out
        detect_s = self._p.reg(25) / 100
        if detect_s > 0 and self._p.dtr != 0:
            self._timers[Timer.DTR] = now + detect_s
            return out
        return out + self._dtr_dropped()

    def _dtr_dropped(self) -> list[Action]:
        """DTR is low (for S25 where that is set): what ``&D`` says the modem does."""
        out: list[Action] = []
        policy = 0 if self._profile.faults.dtr_ignored else self._p.dtr
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

    # --- command mode ----------------------------------------------------------------------------------

    def _command_byte(self, byte: int, now: float) -> list[Action]:
        echo = self._p.echo or self._profile.faults.echo_stuck
        out: list[Action] = [ToDte(data=bytes([byte]))] if echo else []
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
                return [Log(text="back online"), *connect_lines(self._profile, self._p, self._dte_rate)]
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
        self._timers[Timer.DIAL] = now + self._p.reg(7)
        return [Log(text=f"dialling {number}; carrier within S7={self._p.reg(7)} s"), Dial(number=number)]

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
