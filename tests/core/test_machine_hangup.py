"""The hang-up after a connected call (``answerd.core._hangup``): DTR held low, DCD watched, escape last.

Facts: &D2 hangs up when DTR drops, after it has been low for S25 (personalities note §0, §7.9); DCD follows
the carrier with &C1 (§0); the escape is ``+++`` with the S12 guard time of silence around it (§0, §7.11).
"""

from __future__ import annotations

import pytest

from answerd.core import (
    AnswerMachine,
    CheckCarrier,
    Effect,
    LocalProtocolError,
    Outcome,
    Phase,
    Profile,
    Reopen,
    Report,
    SetDtr,
)

from .effects import of, writes

HOLD = 0.5


def connected(*, dtr_hangs_up: bool = True, dcd_readable: bool | None = None, **profile: object) -> AnswerMachine:
    """A machine with the hang-up sequence on, connected at t=2 (opened with these line capabilities)."""
    machine = AnswerMachine(Profile(**{"toggle_dtr": False, "hangup_dtr_s": HOLD, **profile}))  # type: ignore[arg-type]
    machine.port_opened(0.0, dtr_hangs_up=dtr_hangs_up, dcd_readable=dcd_readable)
    machine.receive_data(b"OK\r\nOK\r\n", 0.0)
    if not dtr_hangs_up:  # the probe chat ("AT") ran first on a line without DTR
        machine.receive_data(b"OK\r\nOK\r\n", 0.0)
    machine.receive_data(b"RING\r\n", 1.0)
    machine.receive_data(b"CONNECT 9600\r\n", 2.0)
    assert Phase.CONNECTED == machine.phase
    return machine


def jump(machine: AnswerMachine) -> tuple[float, list[Effect]]:
    """Jump to the machine's deadline and handle it."""
    now = machine.get_timer()
    assert now is not None
    return now, machine.handle_timer(now)


def until_written(machine: AnswerMachine, data: bytes) -> tuple[float, list[Effect]]:
    """Jump from deadline to deadline until the machine writes ``data``; all effects on the way."""
    effects: list[Effect] = []
    now = 0.0
    while data not in writes(effects):
        now, more = jump(machine)
        effects += more
    return now, effects


class TestDtrHold:
    """DTR goes low first and stays low for ``hangup_dtr_s``, whatever else happens."""

    def test_dtr_low_and_nothing_written(self) -> None:
        """call_finished lowers DTR, writes nothing and waits hangup_dtr_s."""
        machine = connected()
        effects = machine.call_finished(10.0, outcome=Outcome.ANSWERED)
        assert ([SetDtr(high=False)], [], 10.0 + HOLD) == (of(SetDtr, effects), writes(effects), machine.get_timer())
        assert Phase.HANGING_UP == machine.phase

    def test_off_reopens_at_once(self) -> None:
        """``hangup_dtr_s = 0`` keeps the old way: Reopen straight away."""
        machine = connected(hangup_dtr_s=0.0)
        assert [Reopen()] == of(Reopen, machine.call_finished(10.0, outcome=Outcome.ANSWERED))

    def test_caller_hung_up_reopens_after_the_hold(self) -> None:
        """Carrier already lost: the modem is offline; after the hold, Reopen, no DCD check, no escape."""
        machine = connected()
        machine.call_finished(10.0, outcome=Outcome.CARRIER_LOST)
        _, effects = jump(machine)
        assert ([Reopen()], [], []) == (of(Reopen, effects), of(CheckCarrier, effects), writes(effects))


class TestWithDcd:
    """DCD readable: wait (bounded) for it to fall; never an AT while it is up."""

    def test_dcd_falls_reopen(self) -> None:
        """CheckCarrier after the hold; DCD down → Reopen, and nothing was ever written."""
        machine = connected()
        seen = machine.call_finished(10.0, outcome=Outcome.ANSWERED)
        now, effects = jump(machine)
        seen += effects
        assert [CheckCarrier()] == of(CheckCarrier, effects)
        seen += machine.carrier_changed(now, up=True)
        now, effects = jump(machine)  # still up: asked again
        seen += effects
        done = machine.carrier_changed(now, up=False)
        assert ([Reopen()], [], 2) == (of(Reopen, done), writes(seen + done), len(of(CheckCarrier, seen)))

    def test_dcd_stays_up_escape_before_any_command(self) -> None:
        """DCD up for the whole wait: DTR back up, then +++ is the first byte written and ATH0 follows."""
        machine = connected(hangup_dcd_wait_s=1.0)
        machine.call_finished(10.0, outcome=Outcome.ANSWERED)
        now, effects = until_written(machine, b"ATH0\r")
        assert [b"+++", b"ATH0\r"] == writes(effects)
        assert SetDtr(high=True) in effects
        assert now >= 10.0 + HOLD + 1.0
        assert [Reopen()] == of(Reopen, machine.receive_data(b"\r\nOK\r\n", now))

    def test_wait_is_bounded(self) -> None:
        """The polls stop at the bound: a shell that never answers CheckCarrier gets the escape."""
        machine = connected(hangup_dcd_wait_s=1.0, carrier_poll_s=0.25)
        machine.call_finished(10.0, outcome=Outcome.ANSWERED)
        _, effects = until_written(machine, b"+++")
        assert 1 == len([r for r in of(Report, effects) if r.event == "call.hangup.escape"])
        assert 4 == len(of(CheckCarrier, effects))  # at 0, 0.25, 0.5 and 0.75 s; at the bound, the escape

    def test_modem_text_mode_does_not_trust_dcd(self) -> None:
        """``dcd = False`` (carrier = "modem-text"): no CheckCarrier even on a port with DCD."""
        machine = connected(dcd=False)
        machine.call_finished(10.0, outcome=Outcome.ANSWERED)
        _, effects = jump(machine)
        assert ([], True) == (of(CheckCarrier, effects), SetDtr(high=True) in effects)


class TestWithoutDcd:
    """No DCD to read: only the escape sequence may reach a caller, never a command before it."""

    def test_escape_first(self) -> None:
        """After the hold the first bytes written are +++, and ATH0 only after the guard time."""
        machine = connected(dtr_hangs_up=False)
        machine.call_finished(10.0, outcome=Outcome.ANSWERED)
        _, effects = until_written(machine, b"ATH0\r")
        assert ([b"+++", b"ATH0\r"], []) == (writes(effects), of(CheckCarrier, effects))

    def test_no_answer_to_ath0_still_reopens(self) -> None:
        """A modem that says nothing: a warning, then Reopen (the next init deals with it)."""
        machine = connected(dtr_hangs_up=False)
        machine.call_finished(10.0, outcome=Outcome.ANSWERED)
        until_written(machine, b"ATH0\r")
        _, effects = jump(machine)
        failed = [r for r in of(Report, effects) if r.event == "call.hangup.escape_failed"]
        assert ([Reopen()], ["warning"]) == (of(Reopen, effects), [r.level for r in failed])


class TestCarrierChangedInput:
    """``carrier_changed`` is an input of the hang-up only."""

    def test_illegal_outside_hanging_up(self) -> None:
        """While connected it raises LocalProtocolError."""
        with pytest.raises(LocalProtocolError):
            connected().carrier_changed(5.0, up=False)

    def test_ignored_while_escaping(self) -> None:
        """Once the escape has begun, a late DCD report changes nothing."""
        machine = connected(dtr_hangs_up=False)
        machine.call_finished(10.0, outcome=Outcome.ANSWERED)
        now, _ = jump(machine)
        assert ([], Phase.HANGING_UP) == (machine.carrier_changed(now, up=False), machine.phase)
