"""Line ownership: the machine says when it lets go of the line (``ReleaseLine``) and when it wants it back
(``ClaimLine`` → ``CLAIMING`` → ``line_claimed``), so the shell keeps no phase checks of its own."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from answerd.core import (
    AnswerMachine,
    ClaimLine,
    Decision,
    Effect,
    Outcome,
    Phase,
    Profile,
    ReleaseLine,
    Reopen,
    parse_chat,
)

from .effects import of, writes

INIT_OK = b"OK\r\nOK\r\n"


def idle(**profile: object) -> AnswerMachine:
    """A machine initialised at t=0, waiting for RING."""
    machine = AnswerMachine(Profile(toggle_dtr=False, **profile))  # type: ignore[arg-type]
    machine.port_opened(0.0)
    machine.receive_data(INIT_OK, 0.0)
    assert Phase.IDLE == machine.phase
    return machine


def claiming_for_health() -> AnswerMachine:
    """Idle with a health check due: the timer fired and the machine asked for the line."""
    machine = idle(health_check_s=60.0)
    machine.handle_timer(60.0)
    return machine


def claiming_for_reinit() -> AnswerMachine:
    """Idle, asked to re-initialise (a reload): the machine asked for the line."""
    machine = idle()
    machine.reinitialize(5.0)
    return machine


def probing() -> AnswerMachine:
    """The health check's ``AT`` is out, waiting for OK."""
    machine = claiming_for_health()
    machine.line_claimed(60.0)
    return machine


def last_init_step() -> AnswerMachine:
    """The init chat's last command is out, waiting for its OK."""
    machine = AnswerMachine(Profile(toggle_dtr=False))
    machine.port_opened(0.0)
    machine.receive_data(b"OK\r\n", 0.0)
    return machine


def after_call_with_statistics() -> AnswerMachine:
    """A call ended and the modem is re-initialised; the statistics chat's ``ATI6`` is out."""
    machine = idle(statistics_chat=parse_chat(["", "ATI6", "OK"]))
    machine.receive_data(b"RING\r\nCONNECT\r\n", 1.0)
    machine.call_finished(10.0, outcome=Outcome.ANSWERED)
    machine.port_opened(10.5)
    machine.receive_data(INIT_OK, 10.6)
    return machine


def ringing_three() -> AnswerMachine:
    """One RING of three counted."""
    machine = idle(rings=3)
    machine.receive_data(b"RING\r\n", 1.0)
    return machine


def rejected() -> AnswerMachine:
    """A call the screening refused, still ringing."""
    machine = idle(answer_gate=True)
    machine.receive_data(b"RING\r\n", 1.0)
    machine.decide(1.1, 1, Decision.REJECT, reason="blocked")
    return machine


@dataclass(frozen=True)
class Row:
    """One transition: from a machine built by ``start``, ``step`` gives these ownership effects."""

    name: str
    start: Callable[[], AnswerMachine]
    step: Callable[[AnswerMachine], list[Effect]]
    #: ``ClaimLine`` / ``ReleaseLine`` in the order emitted (other effects left out).
    ownership: tuple[str, ...]
    phase: Phase
    #: Whether the step writes to the line (it must not while the line is not claimed).
    writes: bool


ROWS = [
    Row("init-done-releases", last_init_step, lambda m: m.receive_data(b"OK\r\n", 0.1), ("ReleaseLine",),
        Phase.IDLE, False),
    Row("health-timer-claims", lambda: idle(health_check_s=60.0), lambda m: m.handle_timer(60.0), ("ClaimLine",),
        Phase.CLAIMING, False),
    Row("health-claimed-probes", claiming_for_health, lambda m: m.line_claimed(60.1), (), Phase.PROBING, True),
    Row("health-ok-releases", probing, lambda m: m.receive_data(b"OK\r\n", 60.2), ("ReleaseLine",), Phase.IDLE,
        False),
    Row("reinitialize-claims", idle, lambda m: m.reinitialize(5.0), ("ClaimLine",), Phase.CLAIMING, False),
    Row("reinit-claimed-reopens", claiming_for_reinit, lambda m: m.line_claimed(5.1), (), Phase.REOPENING, False),
    Row("reinit-takes-over-health-claim", claiming_for_health, lambda m: m.reinitialize(60.1), (), Phase.CLAIMING,
        False),
    Row("claim-refused-suspends", claiming_for_health, lambda m: m.suspend(60.1, "dial-out"), (), Phase.REOPENING,
        False),
    Row("ring-while-idle-needs-no-claim", idle, lambda m: m.receive_data(b"RING\r\n", 1.0), (), Phase.ANSWERING,
        True),
    Row("answer-now-while-idle-needs-no-claim", idle, lambda m: m.answer_now(1.0), (), Phase.IDLE, False),
    Row("answer-now-while-claiming-waits", claiming_for_health, lambda m: m.answer_now(60.1), (), Phase.CLAIMING,
        False),
    Row("abandoned-call-releases", ringing_three, lambda m: m.handle_timer(11.0), ("ReleaseLine",), Phase.IDLE,
        False),
    Row("rejected-call-releases", rejected, lambda m: m.handle_timer(11.0), ("ReleaseLine",), Phase.IDLE, False),
    Row("statistics-done-releases", after_call_with_statistics, lambda m: m.receive_data(b"OK\r\n", 10.7),
        ("ReleaseLine",), Phase.IDLE, False),
    Row("ring-counted-keeps-the-line", ringing_three, lambda m: m.receive_data(b"RING\r\n", 2.0), (), Phase.RINGING,
        False),
]  # fmt: skip


class TestOwnershipTransitions:
    """Each row: the ownership effects, the phase after, and whether the step wrote to the line."""

    @pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
    def test_transition(self, row: Row) -> None:
        """The step emits exactly the listed ClaimLine/ReleaseLine, lands in the phase, and writes only if allowed."""
        machine = row.start()
        effects = row.step(machine)
        ownership = tuple(type(e).__name__ for e in effects if isinstance(e, ClaimLine | ReleaseLine))
        assert (row.ownership, row.phase, row.writes) == (ownership, machine.phase, bool(writes(effects)))


class TestClaiming:
    """What the machine does while it waits for the line, and once it has it."""

    def test_no_deadline_while_claiming(self) -> None:
        """The health-check deadline is gone until the line is claimed: nothing fires while the shell waits."""
        assert None is claiming_for_health().get_timer()

    def test_not_reading_while_claiming(self) -> None:
        """The shell feeds no bytes until it holds the line and said so."""
        assert not claiming_for_health().reading

    def test_answer_now_while_claiming_answers_the_next_ring(self) -> None:
        """SIGUSR1 during a claim: once the check is done, the next call's first RING is answered."""
        machine = idle(health_check_s=60.0, rings=4)
        machine.handle_timer(60.0)
        machine.answer_now(60.05)
        machine.line_claimed(60.1)
        machine.receive_data(b"OK\r\n", 60.2)
        assert [b"ATA\r"] == writes(machine.receive_data(b"RING\r\n", 61.0))

    def test_reinit_after_claim_reopens(self) -> None:
        """The re-init asked for while idle reopens the device only after the claim."""
        machine = claiming_for_reinit()
        assert 1 == len(of(Reopen, machine.line_claimed(5.1)))

    def test_health_check_after_suspend_needs_a_new_claim(self) -> None:
        """A refused claim (dial-out) drops the health check; after the reopen the cycle starts afresh."""
        machine = claiming_for_health()
        machine.suspend(60.1, "dial-out")
        machine.port_opened(100.0)
        effects = machine.receive_data(INIT_OK, 100.1)
        assert ([ReleaseLine()], 160.1) == (of(ReleaseLine, effects), machine.get_timer())

    def test_set_profile_while_claiming_applies_to_the_reinit(self) -> None:
        """A reload's settings can be put in while the line is being claimed for the re-init."""
        machine = claiming_for_reinit()
        machine.set_profile(Profile(toggle_dtr=False, rings=2))
        machine.line_claimed(5.1)
        machine.port_opened(6.0)
        machine.receive_data(INIT_OK, 6.1)
        assert [] == writes(machine.receive_data(b"RING\r\n", 7.0))
