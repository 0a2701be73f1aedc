"""The answer gate (busy-out, caller-ID policy), answer-now, the idle health check and post-call statistics."""

from __future__ import annotations

import pytest

from answerd.core import (
    Answered,
    AnswerMachine,
    AnswerPending,
    CallEnded,
    Decision,
    Effect,
    Fatal,
    FatalReason,
    Outcome,
    Phase,
    Profile,
    Reopen,
    Report,
    parse_chat,
)

from .effects import of, writes

INIT_OK = b"OK\r\nOK\r\n"


def events(effects: list[Effect]) -> list[str]:
    """Names of the reports (debug transcript lines left out)."""
    return [e.event for e in of(Report, effects) if e.event != "modem.line"]


def idle(**profile: object) -> AnswerMachine:
    """A machine initialised at t=0, waiting for RING."""
    machine = AnswerMachine(Profile(toggle_dtr=False, **profile))  # type: ignore[arg-type]
    machine.port_opened(0.0)
    machine.receive_data(INIT_OK, 0.0)
    assert Phase.IDLE == machine.phase
    return machine


class TestAnswerGate:
    def test_gate_asks_before_answering(self) -> None:
        """With the gate on, reaching the ring count asks the shell instead of writing ATA."""
        machine = idle(answer_gate=True, rings=2)
        assert [] == of(AnswerPending, machine.receive_data(b"RING\r\n", 1.0))
        effects = machine.receive_data(b"RING\r\n", 2.0)
        assert [] == writes(effects)
        assert (1, 2) == (of(AnswerPending, effects)[0].call.call_id, of(AnswerPending, effects)[0].call.rings)
        assert 1 == machine.awaiting_decision

    def test_accept_answers(self) -> None:
        """ACCEPT writes ATA."""
        machine = idle(answer_gate=True)
        machine.receive_data(b"RING\r\n", 1.0)
        assert [b"ATA\r"] == writes(machine.decide(1.1, 1, Decision.ACCEPT))
        assert Phase.ANSWERING == machine.phase

    def test_accept_with_caller_chat_runs_it_before_ata(self) -> None:
        """A per-caller init chat (e.g. holding the speed down) runs first, then ATA."""
        machine = idle(answer_gate=True)
        machine.receive_data(b"RING\r\n", 1.0)
        chat = parse_chat(["", "AT+MS=V34,1,9600,14400", "OK"])
        assert [b"AT+MS=V34,1,9600,14400\r"] == writes(machine.decide(1.1, 1, Decision.ACCEPT, chat=chat))
        assert Phase.PREPARING == machine.phase
        assert [b"ATA\r"] == writes(machine.receive_data(b"OK\r\n", 1.2))

    def test_failing_caller_chat_still_answers(self) -> None:
        """ERROR to the per-caller chat is reported, and the call is answered anyway."""
        machine = idle(answer_gate=True)
        machine.receive_data(b"RING\r\n", 1.0)
        machine.decide(1.1, 1, Decision.ACCEPT, chat=parse_chat(["", "AT&N4", "OK"]))
        effects = machine.receive_data(b"ERROR\r\n", 1.2)
        assert ["call.caller_init.failed"] == events(effects)
        assert [b"ATA\r"] == writes(effects)

    def test_reject_is_never_answered_and_ends_rejected(self) -> None:
        """REJECT: further RINGs are counted but not answered; the ring gap ends the call as rejected."""
        machine = idle(answer_gate=True)
        machine.receive_data(b"RING\r\n", 1.0)
        assert ["call.rejected"] == events(machine.decide(1.1, 1, Decision.REJECT, reason="denied by rule !555"))
        assert [] == writes(machine.receive_data(b"RING\r\n", 7.0)) + writes(machine.receive_data(b"RING\r\n", 13.0))
        record = of(CallEnded, machine.handle_timer(23.0))[0].record
        assert (Outcome.REJECTED, 3, "denied by rule !555") == (record.outcome, record.rings, record.detail)
        assert Phase.IDLE == machine.phase

    def test_busy_asks_again_at_the_next_ring(self) -> None:
        """BUSY (busy-out): the next RING asks again, so removing the nologin file mid-ring answers."""
        machine = idle(answer_gate=True)
        machine.receive_data(b"RING\r\n", 1.0)
        machine.decide(1.1, 1, Decision.BUSY, reason="/etc/nologin.ttyS0 exists")
        effects = machine.receive_data(b"RING\r\n", 7.0)
        assert 1 == len(of(AnswerPending, effects))
        assert [b"ATA\r"] == writes(machine.decide(7.1, 1, Decision.ACCEPT))

    def test_busy_until_the_caller_gives_up_ends_busy_out(self) -> None:
        """A call busied out at every RING ends with outcome busy-out."""
        machine = idle(answer_gate=True)
        machine.receive_data(b"RING\r\n", 1.0)
        machine.decide(1.1, 1, Decision.BUSY, reason="nologin")
        assert Outcome.BUSY_OUT == of(CallEnded, machine.handle_timer(11.0))[0].record.outcome

    def test_rings_while_deciding_do_not_ask_twice(self) -> None:
        """While a decision program runs, more RINGs are counted without a second AnswerPending."""
        machine = idle(answer_gate=True)
        machine.receive_data(b"RING\r\n", 1.0)
        assert [] == of(AnswerPending, machine.receive_data(b"RING\r\n", 7.0))

    def test_late_decision_is_dropped(self) -> None:
        """A decision for a call that already ended is reported, not applied and not an error."""
        machine = idle(answer_gate=True)
        machine.receive_data(b"RING\r\n", 1.0)
        machine.handle_timer(11.0)
        assert ["call.decision_late"] == events(machine.decide(12.0, 1, Decision.ACCEPT))
        assert Phase.IDLE == machine.phase


class TestAnswerNow:
    def test_while_ringing_answers_at_once(self) -> None:
        """SIGUSR1 during ring 1 of 4 answers now, past the ring count and the gate."""
        machine = idle(answer_gate=True, rings=4)
        machine.receive_data(b"RING\r\n", 1.0)
        assert [b"ATA\r"] == writes(machine.answer_now(2.0))

    def test_while_idle_answers_the_next_call_at_its_first_ring(self) -> None:
        """SIGUSR1 while idle: the next call is answered at its first RING, without asking."""
        machine = idle(answer_gate=True, rings=4)
        assert ["call.answer_next"] == events(machine.answer_now(0.5))
        effects = machine.receive_data(b"RING\r\n", 1.0)
        assert [b"ATA\r"] == writes(effects)
        assert [] == of(AnswerPending, effects)


class TestHealthCheck:
    def test_idle_sends_at_after_the_interval(self) -> None:
        """Idle for health_check_s: AT is sent and OK brings it back to idle with a new deadline."""
        machine = idle(health_check_s=300.0)
        assert 300.0 == machine.get_timer()
        assert [] == writes(machine.handle_timer(300.0))
        assert [b"AT\r"] == writes(machine.line_claimed(300.0))
        assert Phase.PROBING == machine.phase
        machine.receive_data(b"OK\r\n", 300.1)
        assert (Phase.IDLE, 600.1) == (machine.phase, machine.get_timer())

    def test_ring_during_the_check_wins(self) -> None:
        """A RING that arrives while the check waits for OK starts the call."""
        machine = idle(health_check_s=300.0)
        machine.handle_timer(300.0)
        machine.line_claimed(300.0)
        assert [b"ATA\r"] == writes(machine.receive_data(b"RING\r\n", 300.1))

    def test_no_answer_reopens_and_marks_unhealthy(self) -> None:
        """No OK within the timeout: recovery (reopen, DTR drop, re-init), and the line is unhealthy."""
        machine = idle(health_check_s=300.0, health_timeout_s=5.0)
        machine.handle_timer(300.0)
        machine.line_claimed(300.0)
        effects = machine.handle_timer(305.0)
        assert ["modem.health.failed"] == events(effects)
        assert 1 == len(of(Reopen, effects))
        assert not machine.healthy
        machine.port_opened(305.5)
        effects = machine.receive_data(INIT_OK, 305.6)
        assert ["modem.init.ok", "modem.recovered"] == events(effects)
        assert machine.healthy

    def test_recovery_that_fails_is_modem_dead(self) -> None:
        """If re-init after a failed check fails too, the port gives up with MODEM_DEAD."""
        machine = idle(health_check_s=300.0, init_retries=1)
        machine.handle_timer(300.0)
        machine.line_claimed(300.0)
        machine.handle_timer(machine.get_timer() or 0.0)
        machine.port_opened(306.0)
        fatal = of(Fatal, machine.receive_data(b"ERROR\r\n", 306.1))
        assert [FatalReason.MODEM_DEAD] == [f.reason for f in fatal]

    def test_no_check_without_interval(self) -> None:
        """Without health_check_s there is no idle deadline at all (no wake-ups while idle)."""
        assert idle().get_timer() is None


class TestStatistics:
    @pytest.fixture(name="connected")
    def _connected(self) -> AnswerMachine:
        machine = idle(statistics_chat=parse_chat(["", "ATI6", "OK"]))
        machine.receive_data(b"RING\r\nCONNECT 28800\r\n", 1.0)
        return machine

    def test_record_waits_for_the_statistics(self, connected: AnswerMachine) -> None:
        """The call's record comes after the re-init, with the lines the statistics chat returned."""
        assert [] == of(CallEnded, connected.call_finished(60.0, outcome=Outcome.ANSWERED, user="u"))
        connected.port_opened(60.5)
        assert b"ATI6\r" == writes(connected.receive_data(INIT_OK, 60.6))[-1]
        effects = connected.receive_data(b"Chars sent 1234\r\nBlers 0\r\nOK\r\n", 60.7)
        record = of(CallEnded, effects)[0].record
        assert ("Chars sent 1234", "Blers 0") == record.statistics
        assert ("u", Outcome.ANSWERED) == (record.user, record.outcome)
        assert Phase.IDLE == connected.phase

    def test_failed_statistics_still_give_the_record(self, connected: AnswerMachine) -> None:
        """ERROR to the statistics chat: the record is logged without statistics."""
        connected.call_finished(60.0, outcome=Outcome.CARRIER_LOST)
        connected.port_opened(60.5)
        connected.receive_data(INIT_OK, 60.6)
        record = of(CallEnded, connected.receive_data(b"ERROR\r\n", 60.7))[0].record
        assert ((), Outcome.CARRIER_LOST) == (record.statistics, record.outcome)

    def test_shutdown_before_statistics_flushes_the_record(self, connected: AnswerMachine) -> None:
        """Stopping between the call and its statistics still logs the call."""
        connected.call_finished(60.0, outcome=Outcome.ANSWERED)
        assert 1 == len(of(CallEnded, connected.shutdown(60.1)))


class TestEarlyCallerId:
    def test_fresh_early_caller_id_belongs_to_the_call(self) -> None:
        """Caller ID sent just before the first RING is kept for that call."""
        machine = idle(rings=2)
        machine.receive_data(b"NMBR = 5551234\r\n", 1.0)
        machine.receive_data(b"RING\r\nRING\r\n", 2.0)
        effects = machine.receive_data(b"CONNECT\r\n", 3.0)
        assert "5551234" == of(Answered, effects)[0].call.caller_id

    def test_stale_early_caller_id_is_dropped(self) -> None:
        """Caller ID from long before a RING (a call that never rang) does not stick to the next call."""
        machine = idle(rings=1)
        machine.receive_data(b"NMBR = 5551234\r\n", 1.0)
        machine.receive_data(b"RING\r\n", 100.0)
        effects = machine.receive_data(b"CONNECT\r\n", 101.0)
        assert of(Answered, effects)[0].call.caller_id is None
