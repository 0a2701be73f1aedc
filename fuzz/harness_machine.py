"""Harness (g): the answer machine driven by a script of modem bytes, timer jumps and shell inputs.

Like h11's connection fuzzer, but with time as an input. Each step is picked by one byte: modem output
(a token from a table of real result codes, or raw bytes), a timer jump (to the machine's deadline, past
it, or a little), or one of the shell's inputs (``port_opened``, ``port_lost``, ``call_finished``,
``decide``, ``answer_now``, ``set_profile``, ``reinitialize``, ``line_claimed``, ``suspend``,
``shutdown``).

Invariants (``answerd.core._errors``, ``._phases``, ``._machine``): nothing the modem sends ever raises;
a shell input raises ``LocalProtocolError`` exactly when ``LEGAL_INPUTS`` says the phase cannot take it,
and then the phase is unchanged; every effect is an effect; every text meant for a log or the status
line is printable ASCII; a call is answered at most once and ends at most once; the machine reads the line
only in the phases that say so.
"""

from __future__ import annotations

from typing import Any

from answerd.core import (
    Answered,
    AnswerMachine,
    AnswerPending,
    CallEnded,
    CallRecord,
    ClaimLine,
    Decision,
    Fatal,
    FlushInput,
    LocalProtocolError,
    Outcome,
    Profile,
    Ready,
    ReleaseLine,
    Reopen,
    Report,
    SetDtr,
    Status,
    Write,
    parse_chat,
)
from answerd.core._phases import LEGAL_INPUTS, READING
from fuzz.checks import check_caller_info, printable
from fuzz.source import Source

__all__ = ["test_one_input"]

_MODEM = (
    b"OK\r\n", b"\r\nOK\r\n", b"0\r", b"RING\r\n", b"2\r", b"RING 2\r\n", b"RING;5551234;999\r\n",
    b"CONNECT\r\n", b"CONNECT 28800/ARQ/V34\r\n", b"1\r", b"12\r", b"NO CARRIER\r\n", b"3\r", b"ERROR\r\n",
    b"BUSY\r\n", b"NMBR = 5551234\r\n", b"NAME = SMITH\r\n", b"NMBR = P\r\n", b"DATE = 0101\r\n",
    b"MESG = 030735353531323132\r\n", b"CARRIER 28800\r\n", b"PROTOCOL: LAP-M\r\n", b"DRON=5\r\n",
    b"ATZ\r\n", b"ATA\r\n", b"AT\r\n", b"\r", b"\n", b"~" * 300 + b"\r\n", b"NMBR = \x1b[31m555\r\n",
)  # fmt: skip
_EFFECTS = (
    Answered, AnswerPending, CallEnded, ClaimLine, Fatal, FlushInput, Ready, ReleaseLine, Reopen, Report,
    SetDtr, Status, Write,
)  # fmt: skip
_JUMPS = (0.0, 0.05, 0.5, 1.0, 2.0, 6.0, 11.0, 21.0, 81.0, 400.0)


def _profile(source: Source) -> Profile:
    return Profile(
        toggle_dtr=source.flag(),
        rings=source.int_in(1, 3),
        init_retries=source.int_in(1, 3),
        answer_gate=source.flag(),
        health_check_s=source.choice((None, 30.0)),
        statistics_chat=source.choice(((), parse_chat(["", "ATI6", "OK"]))),
        numeric_results=source.flag(),
        result_guard_s=source.choice((0.0, 0.1)),
    )


def _check_record(record: CallRecord) -> None:
    if record.caller is not None:
        check_caller_info(record.caller)
    for text in (record.connect, record.detail, *record.statistics):
        assert text is None or printable(text), record


class _Driver:
    def __init__(self, source: Source) -> None:
        self.source = source
        self.machine = AnswerMachine(_profile(source), max_line=source.choice((256, 32)))
        self.now = 0.0
        self.answered: set[int] = set()
        self.ended: set[int] = set()

    def check(self, effects: list[Any]) -> None:
        for effect in effects:
            assert isinstance(effect, _EFFECTS), effect
            match effect:
                case Status(text=text):
                    assert printable(text), effect
                case Report(event=event, fields=fields):
                    assert printable(event), effect
                    for _, value in fields:
                        assert not isinstance(value, str) or printable(value), effect
                case Fatal(detail=detail):
                    assert printable(detail), effect
                case Answered(call=call):
                    assert call.call_id not in self.answered, "answered twice"
                    self.answered.add(call.call_id)
                    _check_record(call)
                case AnswerPending(call=call):
                    _check_record(call)
                case CallEnded(record=record):
                    assert record.call_id not in self.ended, "ended twice"
                    self.ended.add(record.call_id)
                    _check_record(record)
                case _:
                    pass
        assert self.machine.reading == (self.machine.phase in READING)

    def shell(self, name: str, call: Any) -> None:
        """Give a guarded shell input: legal in this phase must not raise, illegal must raise and change nothing."""
        before = self.machine.phase
        legal = before in LEGAL_INPUTS[name]
        try:
            effects = call()
        except LocalProtocolError:
            assert not legal, f"{name} raised in {before}"
            assert self.machine.phase is before, "a refused input changed the phase"
            return
        assert legal, f"{name} was taken in {before}"
        if effects is not None:
            self.check(effects)

    def step(self) -> None:
        source, machine = self.source, self.machine
        op = source.byte() % 16
        if op < 6:
            data = source.choice(_MODEM) if op < 4 else source.chunk(48)
            self.shell("receive_data", lambda: machine.receive_data(data, self.now))
        elif op < 9:
            timer = machine.get_timer()
            if op == 6 and timer is not None:
                self.now = max(self.now, timer)
            else:
                self.now += source.choice(_JUMPS)
            self.check(machine.handle_timer(self.now))
        elif op == 9:
            self.shell("port_opened", lambda: machine.port_opened(self.now, dtr_hangs_up=source.flag()))
        elif op == 10:
            self.shell("port_lost", lambda: machine.port_lost(self.now))
        elif op == 11:
            outcome = source.choice(list(Outcome))
            self.shell("call_finished", lambda: machine.call_finished(self.now, outcome=outcome, exit_status=0))
        elif op == 12:
            call_id = machine.awaiting_decision
            if call_id is None or source.flag():
                call_id = source.int_in(0, 3)
            verdict = source.choice(list(Decision))
            chat = source.choice(((), parse_chat(["", "AT+MS=V34", "OK"])))
            self.check(machine.decide(self.now, call_id, verdict, reason="fuzz", chat=chat))
        elif op == 13:
            self.check(machine.answer_now(self.now))
        elif op == 14:
            which = source.byte() % 4
            if which == 0:
                self.shell("set_profile", lambda: machine.set_profile(_profile(source), announce_ready=True))
            elif which == 1:
                self.shell("reinitialize", lambda: machine.reinitialize(self.now))
            elif which == 2:
                self.shell("line_claimed", lambda: machine.line_claimed(self.now))
            else:
                self.shell("suspend", lambda: machine.suspend(self.now, "dial-out"))
        else:
            self.shell("shutdown", lambda: machine.shutdown(self.now))


def test_one_input(data: bytes) -> None:
    """Run the script; assert the machine's promises after every step."""
    driver = _Driver(Source(data))
    driver.check(driver.machine.port_opened(driver.now))
    while driver.source.remaining:
        driver.step()
