"""Phase-by-phase tests for the answer machine (``answerd.core._machine``): pure calls, explicit time."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from answerd.core import (
    Answered,
    AnswerMachine,
    CallEnded,
    Decision,
    Effect,
    Fatal,
    FatalReason,
    FlushInput,
    LocalProtocolError,
    Outcome,
    Phase,
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
from answerd.core._phases import LEGAL_INPUTS

from .effects import of, one, writes

#: Most tests skip the DTR toggle so ``port_opened`` writes ``ATZ`` at once.
PROFILE = Profile(toggle_dtr=False)
INIT_OK = b"OK\r\nOK\r\n"
INIT_COMMAND = b"ATE0Q0V1&C1&D2S0=0\r"


# --------------------------------------------------------------------------------------------- helpers


def lines(*texts: str) -> bytes:
    """Modem output: each text as a verbose CR LF-terminated line."""
    return b"".join(b"\r\n" + text.encode("ascii") + b"\r\n" for text in texts)


def statuses(effects: list[Effect]) -> list[str]:
    """The text of every ``Status``, in order."""
    return [effect.text for effect in of(Status, effects)]


def reports(effects: list[Effect], event: str) -> list[dict[str, object]]:
    """The fields of every ``Report`` with this event name, as dicts."""
    return [dict(effect.fields) for effect in of(Report, effects) if effect.event == event]


def initialised(profile: Profile = PROFILE, now: float = 0.0) -> AnswerMachine:
    """A machine that has run its init chat (no DTR toggle) and waits for RING."""
    assert not profile.toggle_dtr
    machine = AnswerMachine(profile)
    machine.port_opened(now)
    machine.receive_data(INIT_OK, now)
    assert Phase.IDLE == machine.phase
    return machine


def jump(machine: AnswerMachine) -> tuple[float, list[Effect]]:
    """Jump to the machine's deadline and handle it; return the new ``now`` and the effects."""
    now = machine.get_timer()
    assert now is not None
    return now, machine.handle_timer(now)


def through_force_init(machine: AnswerMachine) -> tuple[float, list[Effect]]:
    """From RETRY_WAIT: wait out the backoff, run the force-init chat, answer its ATH0 with OK."""
    assert Phase.RETRY_WAIT == machine.phase
    effects: list[Effect] = []
    now = 0.0
    while b"ATH0\r" not in writes(effects):
        now, more = jump(machine)
        effects += more
    effects += machine.receive_data(b"OK\r\n", now)
    return now, effects


def answered(machine: AnswerMachine, data: bytes, now: float) -> Answered:
    """Feed ``data`` and return the one ``Answered`` it produced."""
    return one(Answered, machine.receive_data(data, now))


# --------------------------------------------------------------------------------------------- fixtures


@pytest.fixture(name="machine")
def _machine() -> AnswerMachine:
    """A fresh machine (no DTR toggle) in OPENING."""
    return AnswerMachine(PROFILE)


@pytest.fixture(name="idle")
def _idle() -> AnswerMachine:
    """An initialised machine answering on the first RING, idle since t=0."""
    return initialised()


@pytest.fixture(name="three_rings")
def _three_rings() -> AnswerMachine:
    """An initialised machine that answers on the third RING, idle since t=0."""
    return initialised(Profile(toggle_dtr=False, rings=3))


@pytest.fixture(name="answering")
def _answering() -> AnswerMachine:
    """A machine that sent ATA after one RING at t=10."""
    machine = initialised()
    machine.receive_data(b"RING\r\n", 10.0)
    assert Phase.ANSWERING == machine.phase
    return machine


@pytest.fixture(name="connected")
def _connected() -> AnswerMachine:
    """A machine connected at t=12 after one RING at t=10."""
    machine = initialised()
    machine.receive_data(b"RING\r\n", 10.0)
    machine.receive_data(b"CONNECT 28800/ARQ\r\n", 12.0)
    assert Phase.CONNECTED == machine.phase
    return machine


# --------------------------------------------------------------------------------------------- OPENING


class TestPhaseOpening:
    """``port_opened`` resets the modem (optionally by toggling DTR) and starts the init chat."""

    def test_starts_in_opening_without_timer(self, machine: AnswerMachine) -> None:
        """A new machine waits for the port and wants no timer."""
        assert (Phase.OPENING, None, False) == (machine.phase, machine.get_timer(), machine.reading)

    def test_toggle_dtr_drops_dtr_first(self) -> None:
        """With toggle_dtr the first effect lowers DTR and the phase is RESETTING."""
        machine = AnswerMachine(Profile())
        effects = machine.port_opened(now=100.0)
        assert SetDtr(high=False) == effects[0]
        assert Phase.RESETTING == machine.phase

    @pytest.mark.parametrize("dtr_drop_s", [0.5, 0.1, 2.0])
    def test_dtr_stays_low_for_dtr_drop_s(self, dtr_drop_s: float) -> None:
        """The timer is set to now + dtr_drop_s."""
        machine = AnswerMachine(Profile(dtr_drop_s=dtr_drop_s))
        machine.port_opened(now=100.0)
        assert 100.0 + dtr_drop_s == machine.get_timer()

    def test_dtr_timer_raises_dtr_flushes_and_sends_atz(self) -> None:
        """When DTR has been low long enough: DTR up, input flushed, then ATZ."""
        machine = AnswerMachine(Profile())
        machine.port_opened(now=0.0)
        effects = machine.handle_timer(0.5)
        assert [SetDtr(high=True), FlushInput(), Write(data=b"ATZ\r")] == [
            e for e in effects if isinstance(e, SetDtr | FlushInput | Write)
        ]
        assert Phase.INITIALIZING == machine.phase

    def test_without_toggle_goes_straight_to_init(self, machine: AnswerMachine) -> None:
        """Without toggle_dtr, port_opened flushes and writes ATZ at once."""
        effects = machine.port_opened(now=0.0)
        assert [FlushInput(), Status(text="initialising modem"), Write(data=b"ATZ\r")] == effects
        assert Phase.INITIALIZING == machine.phase

    def test_chatter_while_resetting_is_ignored(self) -> None:
        """NO CARRIER from a modem hanging up during the DTR drop changes nothing."""
        machine = AnswerMachine(Profile())
        machine.port_opened(now=0.0)
        effects = machine.receive_data(b"\r\nNO CARRIER\r\n", 0.1)
        assert [] == [e for e in effects if not (isinstance(e, Report) and e.level == "debug")]
        assert (Phase.RESETTING, 0.5) == (machine.phase, machine.get_timer())


# --------------------------------------------------------------------------------------------- INITIALIZING


class TestPhaseInitializing:
    """The init chat: expect/send steps, retries with force-init, and giving up."""

    def test_each_expect_arms_the_chat_timeout(self, machine: AnswerMachine) -> None:
        """After ATZ the machine waits chat_timeout_s for OK."""
        machine.port_opened(now=3.0)
        assert 3.0 + PROFILE.chat_timeout_s == machine.get_timer()

    def test_first_ok_sends_the_init_command(self, machine: AnswerMachine) -> None:
        """OK to ATZ sends the second command of the init chat."""
        machine.port_opened(now=0.0)
        assert [INIT_COMMAND] == writes(machine.receive_data(b"\r\nOK\r\n", 1.0))
        assert 1.0 + PROFILE.chat_timeout_s == machine.get_timer()

    def test_ok_ok_is_ready_and_idle(self, machine: AnswerMachine) -> None:
        """The second OK ends the chat: Ready, 'waiting for RING', IDLE, no timer."""
        machine.port_opened(now=0.0)
        machine.receive_data(b"\r\nOK\r\n", 1.0)
        effects = machine.receive_data(b"\r\nOK\r\n", 2.0)
        assert Ready() == one(Ready, effects)
        assert ["waiting for RING"] == statuses(effects)
        assert (Phase.IDLE, None) == (machine.phase, machine.get_timer())

    def test_init_ok_is_reported_with_attempt(self, machine: AnswerMachine) -> None:
        """A successful init is reported as modem.init.ok with the attempt number."""
        machine.port_opened(now=0.0)
        assert [{"attempt": 1}] == reports(machine.receive_data(INIT_OK, 0.0), "modem.init.ok")

    def test_ready_is_sent_only_once(self, connected: AnswerMachine) -> None:
        """A re-init after a call reaches IDLE again without a second Ready."""
        connected.call_finished(50.0, outcome=Outcome.ANSWERED)
        connected.port_opened(51.0)
        effects = connected.receive_data(INIT_OK, 51.0)
        assert [] == of(Ready, effects)
        assert Phase.IDLE == connected.phase

    def test_echo_lines_do_not_break_the_chat(self, machine: AnswerMachine) -> None:
        """An E1 modem echoing each command still initialises."""
        machine.port_opened(now=0.0)
        machine.receive_data(b"ATZ\r\r\nOK\r\n", 0.1)
        effects = machine.receive_data(INIT_COMMAND + b"\r\nOK\r\n", 0.2)
        assert [Ready()] == of(Ready, effects)
        assert ["Echo", "Ok"] == [dict(r.fields)["kind"] for r in of(Report, effects) if r.event == "modem.line"]

    def test_ok_split_over_reads(self, machine: AnswerMachine) -> None:
        """An OK that arrives one byte at a time still matches."""
        machine.port_opened(now=0.0)
        effects: list[Effect] = []
        for byte in b"\r\nOK\r\n\r\nOK\r\n":
            effects += machine.receive_data(bytes([byte]), 0.0)
        assert [Ready()] == of(Ready, effects)

    @pytest.mark.parametrize("code", ["ERROR", "BUSY", "NO CARRIER", "NO DIALTONE"])
    def test_abort_code_schedules_a_retry(self, machine: AnswerMachine, code: str) -> None:
        """An abort code fails the attempt: modem.init.retry with the reason, RETRY_WAIT, backoff timer."""
        machine.port_opened(now=0.0)
        effects = machine.receive_data(lines(code), 5.0)
        expected = {"attempt": 1, "of": 5, "reason": f"modem answered {code} to ATZ", "backoff_s": 2.0}
        assert [expected] == reports(effects, "modem.init.retry")
        assert ["modem not responding, retry 1"] == statuses(effects)
        assert (Phase.RETRY_WAIT, 7.0) == (machine.phase, machine.get_timer())

    def test_retry_reason_names_the_failing_command(self, machine: AnswerMachine) -> None:
        """ERROR to the second command names that command."""
        machine.port_opened(now=0.0)
        machine.receive_data(b"OK\r\n", 0.0)
        effects = machine.receive_data(b"ERROR\r\n", 0.0)
        assert "modem answered ERROR to ATE0Q0V1&C1&D2S0=0" == reports(effects, "modem.init.retry")[0]["reason"]

    def test_non_abort_verdict_is_ignored(self, machine: AnswerMachine) -> None:
        """NO ANSWER is not an abort code: the chat keeps waiting for OK."""
        machine.port_opened(now=0.0)
        machine.receive_data(b"NO ANSWER\r\n", 1.0)
        assert (Phase.INITIALIZING, PROFILE.chat_timeout_s) == (machine.phase, machine.get_timer())

    def test_backoff_doubles_and_is_capped(self) -> None:
        """Retry waits go 2, 4, 8 ... capped at retry_backoff_max_s."""
        machine = AnswerMachine(Profile(toggle_dtr=False, init_retries=6, retry_backoff_s=2.0, retry_backoff_max_s=5.0))
        machine.port_opened(now=0.0)
        now = 0.0
        waits = []
        for _ in range(5):
            machine.receive_data(b"ERROR\r\n", now)
            timer = machine.get_timer()
            assert timer is not None
            waits.append(timer - now)
            now, _ = through_force_init(machine)
        assert [2.0, 4.0, 5.0, 5.0, 5.0] == waits

    def test_retry_runs_the_force_init_chat_with_its_pauses(self, machine: AnswerMachine) -> None:
        """After the backoff: three 0.5 s pauses, +++ without CR, three more pauses, then ATH0."""
        machine.port_opened(now=0.0)
        machine.receive_data(b"ERROR\r\n", 0.0)
        timeline: list[tuple[float, list[bytes]]] = []
        while not timeline or b"ATH0\r" not in timeline[-1][1]:
            now, effects = jump(machine)
            timeline.append((now, writes(effects)))
        assert [
            (2.0, []),
            (2.5, []),
            (3.0, []),
            (3.5, [b"+++"]),
            (4.0, []),
            (4.5, []),
            (5.0, [b"ATH0\r"]),
        ] == timeline
        assert 5.0 + PROFILE.chat_timeout_s == machine.get_timer()

    def test_force_init_ok_starts_the_next_init_attempt(self, machine: AnswerMachine) -> None:
        """OK to ATH0 ends the force-init; the init chat runs again as attempt 2."""
        machine.port_opened(now=0.0)
        machine.receive_data(b"ERROR\r\n", 0.0)
        _, effects = through_force_init(machine)
        assert ["initialising modem, attempt 2"] == statuses(effects)
        assert b"ATZ\r" == writes(effects)[-1]
        assert [] == reports(effects, "modem.force_init.failed")

    def test_second_attempt_succeeds(self, machine: AnswerMachine) -> None:
        """After one failure and the force-init, OK/OK makes the port ready."""
        machine.port_opened(now=0.0)
        machine.receive_data(b"ERROR\r\n", 0.0)
        now, _ = through_force_init(machine)
        effects = machine.receive_data(INIT_OK, now)
        assert [Ready()] == of(Ready, effects)
        assert [{"attempt": 2}] == reports(effects, "modem.init.ok")

    def test_silent_force_init_falls_through_to_init(self, machine: AnswerMachine) -> None:
        """No OK to ATH0 within chat_timeout_s is only a debug note; the init chat runs anyway."""
        machine.port_opened(now=0.0)
        machine.receive_data(b"ERROR\r\n", 0.0)
        effects: list[Effect] = []
        while b"ATZ\r" not in writes(effects):
            _, more = jump(machine)
            effects += more
        failed = [r for r in of(Report, effects) if r.event == "modem.force_init.failed"]
        assert ["debug"] == [r.level for r in failed]
        assert Phase.INITIALIZING == machine.phase

    def test_chat_timeout_schedules_a_retry(self, machine: AnswerMachine) -> None:
        """No OK within chat_timeout_s fails the attempt like ERROR does."""
        machine.port_opened(now=0.0)
        effects = machine.handle_timer(20.0)
        assert "no 'OK' within 20 s" == reports(effects, "modem.init.retry")[0]["reason"]
        assert (Phase.RETRY_WAIT, 22.0) == (machine.phase, machine.get_timer())

    def test_gives_up_after_init_retries(self) -> None:
        """The init_retries-th failure is Fatal(MODEM_INIT_FAILED) and the phase FAILED."""
        machine = AnswerMachine(Profile(toggle_dtr=False, init_retries=3))
        effects = machine.port_opened(now=0.0)
        while machine.phase is not Phase.FAILED:
            _, more = jump(machine)
            effects += more
        assert 3 == writes(effects).count(b"ATZ\r")
        assert FatalReason.MODEM_INIT_FAILED == one(Fatal, effects).reason
        assert ["modem not responding, giving up"] == statuses(effects)[-1:]
        assert None is machine.get_timer()

    def test_single_attempt_fails_at_once(self) -> None:
        """With init_retries=1 the first ERROR is fatal."""
        machine = AnswerMachine(Profile(toggle_dtr=False, init_retries=1))
        machine.port_opened(now=0.0)
        effects = machine.receive_data(b"ERROR\r\n", 1.0)
        assert "modem did not initialise after 1 attempts: modem answered ERROR to ATZ" == one(Fatal, effects).detail
        assert (Phase.FAILED, False) == (machine.phase, machine.reading)

    def test_ring_during_init_is_reported_and_not_counted(self) -> None:
        """A RING before the modem is initialised is ignored and does not count toward the next call."""
        machine = AnswerMachine(Profile(toggle_dtr=False, rings=3))
        machine.port_opened(now=0.0)
        effects = machine.receive_data(b"RING\r\n", 0.5)
        assert [{"reason": "modem not initialised yet"}] == reports(effects, "call.ring.ignored")
        machine.receive_data(INIT_OK, 1.0)
        assert ["ringing 1/3"] == statuses(machine.receive_data(b"RING\r\n", 2.0))

    def test_modem_output_during_retry_wait_is_ignored(self, machine: AnswerMachine) -> None:
        """Lines arriving while waiting to retry change neither phase nor timer."""
        machine.port_opened(now=0.0)
        machine.receive_data(b"ERROR\r\n", 0.0)
        machine.receive_data(b"OK\r\nRING\r\nCONNECT\r\n", 1.0)
        assert (Phase.RETRY_WAIT, 2.0) == (machine.phase, machine.get_timer())

    def test_custom_chat_sends_each_command(self) -> None:
        """A three-command init chat writes each command after the previous OK."""
        chat = parse_chat(["", "ATZ", "OK", "ATE0", "OK", "AT+VCID=1", "OK"])
        machine = AnswerMachine(Profile(toggle_dtr=False, init_chat=chat))
        effects = machine.port_opened(now=0.0)
        for _ in range(3):
            effects += machine.receive_data(b"OK\r\n", 0.0)
        assert [b"ATZ\r", b"ATE0\r", b"AT+VCID=1\r"] == writes(effects)
        assert Phase.IDLE == machine.phase


# --------------------------------------------------------------------------------------------- IDLE / RINGING


class TestPhaseRinging:
    """RING counting, the ring gap, caller ID and distinctive ring."""

    def test_first_ring_answers_with_rings_1(self, idle: AnswerMachine) -> None:
        """rings=1: the first RING writes ATA and arms the answer timeout."""
        effects = idle.receive_data(b"\r\nRING\r\n", 10.0)
        assert [b"ATA\r"] == writes(effects)
        assert ["answering"] == statuses(effects)
        assert (Phase.ANSWERING, 10.0 + PROFILE.answer_timeout_s) == (idle.phase, idle.get_timer())

    def test_rings_3_counts_then_answers(self, three_rings: AnswerMachine) -> None:
        """rings=3: status 'ringing 1/3', 'ringing 2/3', then ATA on the third RING."""
        seen = [three_rings.receive_data(b"RING\r\n", t) for t in (0.0, 6.0, 12.0)]
        assert [["ringing 1/3"], ["ringing 2/3"], ["answering"]] == [statuses(e) for e in seen]
        assert [[], [], [b"ATA\r"]] == [writes(e) for e in seen]

    def test_first_ring_enters_ringing(self, three_rings: AnswerMachine) -> None:
        """A RING below the ring count moves IDLE to RINGING with the ring-gap timer."""
        three_rings.receive_data(b"RING\r\n", 4.0)
        assert (Phase.RINGING, 14.0) == (three_rings.phase, three_rings.get_timer())

    def test_each_ring_rearms_the_gap_timer(self, three_rings: AnswerMachine) -> None:
        """The ring-gap deadline counts from the latest RING."""
        three_rings.receive_data(b"RING\r\n", 0.0)
        three_rings.receive_data(b"RING\r\n", 6.0)
        assert 16.0 == three_rings.get_timer()

    def test_ring_gap_abandons_the_call(self, three_rings: AnswerMachine) -> None:
        """No RING for ring_gap_s: CallEnded(ABANDONED) with the rings so far, back to IDLE."""
        three_rings.receive_data(b"RING\r\n", 0.0)
        three_rings.receive_data(b"RING\r\n", 6.0)
        effects = three_rings.handle_timer(16.0)
        record = one(CallEnded, effects).record
        assert (Outcome.ABANDONED, 2, 0.0, 16.0) == (record.outcome, record.rings, record.started_at, record.ended_at)
        assert ["waiting for RING"] == statuses(effects)
        assert (Phase.IDLE, None) == (three_rings.phase, three_rings.get_timer())

    def test_ring_after_abandon_is_a_new_call(self, three_rings: AnswerMachine) -> None:
        """After an abandoned call the ring count starts afresh and the call id moves on."""
        three_rings.receive_data(b"RING\r\n", 0.0)
        first = one(CallEnded, three_rings.handle_timer(10.0)).record
        assert ["ringing 1/3"] == statuses(three_rings.receive_data(b"RING\r\n", 30.0))
        second = one(CallEnded, three_rings.handle_timer(40.0)).record
        assert [(1, 1), (2, 1)] == [(first.call_id, first.rings), (second.call_id, second.rings)]

    def test_caller_id_between_rings_reaches_the_call(self) -> None:
        """NMBR and NAME sent between RINGs end up in Answered.call."""
        machine = initialised(Profile(toggle_dtr=False, rings=2))
        machine.receive_data(lines("RING", "DATE = 0101", "TIME = 1200", "NMBR = 5551234", "NAME = SMITH"), 0.0)
        machine.receive_data(lines("RING"), 6.0)
        call = answered(machine, lines("CONNECT 9600"), 8.0).call
        assert ("5551234", "SMITH") == (call.caller_id, call.caller_name)

    def test_caller_id_is_reported(self, three_rings: AnswerMachine) -> None:
        """A caller-ID field during ringing is reported as call.caller_id."""
        three_rings.receive_data(b"RING\r\n", 0.0)
        effects = three_rings.receive_data(b"NMBR = 5551234\r\n", 1.0)
        assert [{"number": "5551234"}] == reports(effects, "call.caller_id")

    def test_caller_id_before_first_ring_is_kept(self, idle: AnswerMachine) -> None:
        """Caller ID that precedes the first RING (some modems) still belongs to that call."""
        idle.receive_data(lines("NMBR = 5551234", "NAME = SMITH"), 0.0)
        idle.receive_data(lines("RING"), 0.5)
        call = answered(idle, lines("CONNECT"), 1.0).call
        assert ("5551234", "SMITH") == (call.caller_id, call.caller_name)

    def test_caller_shows_in_status(self) -> None:
        """Once the number is known the ringing status names it."""
        machine = initialised(Profile(toggle_dtr=False, rings=3))
        machine.receive_data(lines("RING", "NMBR = 5551234"), 0.0)
        assert ["ringing 2/3 caller=5551234"] == statuses(machine.receive_data(lines("RING"), 6.0))

    def test_caller_id_is_in_the_abandoned_record(self, three_rings: AnswerMachine) -> None:
        """An abandoned call's record keeps the number it was rung with."""
        three_rings.receive_data(lines("RING", "NMBR = 5551234"), 0.0)
        assert "5551234" == one(CallEnded, three_rings.handle_timer(10.0)).record.caller_id

    def test_elsa_ring_sets_caller_and_called(self, idle: AnswerMachine) -> None:
        """RING;<from>;<to> carries both numbers."""
        idle.receive_data(b"RING;5551234;999\r\n", 0.0)
        call = answered(idle, b"CONNECT\r\n", 1.0).call
        assert ("5551234", "999") == (call.caller_id, call.called_id)

    @pytest.mark.parametrize(("ring", "expected"), [("RING", 0), ("RING 2", 2), ("RING 3", 3), ("RING B", 2)])
    def test_distinctive_ring_number(self, idle: AnswerMachine, ring: str, expected: int) -> None:
        """RING n (or a letter) is recorded as the distinctive ring."""
        idle.receive_data(lines(ring), 0.0)
        assert expected == answered(idle, lines("CONNECT"), 1.0).call.distinctive_ring

    @pytest.mark.parametrize(
        ("cadence", "expected"),
        [
            (["DRON=5"], 0b1),
            (["DRON=11", "DROF=40"], 0b11),
            (["DRON=5", "DROF=4"], 0b10),
            (["DRON=5", "DROF=40", "DRON=5", "DROF=4"], 0b1100),
            (["DRON=20", "DROF=9", "DRON=10", "DROF=40"], 0b1011),
        ],
    )
    def test_cadence_lines_make_a_bitmask(self, idle: AnswerMachine, cadence: list[str], expected: int) -> None:
        """DRON/DROF before a RING: the first report and every duration over 9 is a 1 bit (mgetty)."""
        idle.receive_data(lines(*cadence, "RING"), 0.0)
        assert expected == answered(idle, lines("CONNECT"), 1.0).call.distinctive_ring

    def test_cadence_is_taken_per_ring(self) -> None:
        """Each RING's distinctive value comes from the cadence lines just before it."""
        machine = initialised(Profile(toggle_dtr=False, rings=2))
        first = machine.receive_data(lines("DRON=5", "DROF=40", "RING"), 0.0)
        second = machine.receive_data(lines("DRON=11", "DROF=4", "RING"), 6.0)
        assert [3, 2] == [reports(e, "call.ring")[0]["distinctive"] for e in (first, second)]

    def test_stray_result_codes_while_idle_are_ignored(self, idle: AnswerMachine) -> None:
        """NO CARRIER, OK or ERROR with no call change nothing: the line is only let go again."""
        effects = idle.receive_data(lines("NO CARRIER", "OK", "ERROR", "garbage text"), 5.0)
        assert [ReleaseLine()] == [e for e in effects if not isinstance(e, Report)]
        assert (Phase.IDLE, None) == (idle.phase, idle.get_timer())

    def test_overlong_line_does_not_hide_the_ring(self, idle: AnswerMachine) -> None:
        """Garbage is reported and the RING after it still answers."""
        effects = idle.receive_data(b"x" * 1000 + b"\r\nRING\r\n", 0.0)
        assert ["modem.garbage"] == [r.event for r in of(Report, effects) if r.level == "warning"]
        assert [b"ATA\r"] == writes(effects)


# --------------------------------------------------------------------------------------------- ANSWERING


class TestPhaseAnswering:
    """ATA is out: CONNECT, a failure code, or the answer timeout."""

    def test_connect_is_answered(self, answering: AnswerMachine) -> None:
        """CONNECT gives Answered with rate, suffixes and text; the phase is CONNECTED."""
        result = answered(answering, lines("CONNECT 28800/ARQ/V34/LAPM/V42BIS"), 20.0)
        assert (28800, ("ARQ", "V34", "LAPM", "V42BIS"), "28800/ARQ/V34/LAPM/V42BIS") == (
            result.connect.rate,
            result.connect.suffixes,
            result.connect.text,
        )
        assert (Phase.CONNECTED, None, False) == (answering.phase, answering.get_timer(), answering.reading)

    def test_answered_call_record(self, answering: AnswerMachine) -> None:
        """Answered.call has the rings, the first RING's time and the connect text."""
        call = answered(answering, lines("CONNECT 9600"), 20.0).call
        assert (1, Outcome.ANSWERED, 10.0, 20.0, "9600", 1) == (
            call.call_id,
            call.outcome,
            call.started_at,
            call.ended_at,
            call.connect,
            call.rings,
        )

    def test_connect_status(self, answering: AnswerMachine) -> None:
        """The status line names the connect text and the carrier details."""
        effects = answering.receive_data(lines("CARRIER 28800", "PROTOCOL: LAP-M", "CONNECT 28800"), 11.0)
        assert ["connected 28800 (28800/LAP-M)"] == statuses(effects)

    def test_call_ids_increase_per_call(self, idle: AnswerMachine) -> None:
        """Every call gets the next call_id, abandoned ones included."""
        ids = []
        for start in (0.0, 100.0):
            idle.receive_data(b"RING\r\n", start)
            ids.append(answered(idle, b"CONNECT\r\n", start + 1).call.call_id)
            idle.call_finished(start + 50, outcome=Outcome.ANSWERED)
            idle.port_opened(start + 51)
            idle.receive_data(INIT_OK, start + 51)
        assert [1, 2] == ids

    def test_carrier_reports_become_details(self, answering: AnswerMachine) -> None:
        """CARRIER/PROTOCOL/COMPRESSION lines before CONNECT are Answered.carrier_details."""
        data = lines("CARRIER 28800", "PROTOCOL: LAP-M", "COMPRESSION: V.42BIS", "CONNECT 28800")
        result = answered(answering, data, 11.0)
        assert (("carrier", "28800"), ("protocol", "LAP-M"), ("compression", "V.42BIS")) == result.carrier_details

    @pytest.mark.parametrize(
        ("data", "trailing"),
        [
            (b"\r\nCONNECT 9600\r\n", b""),
            (b"\r\nCONNECT 9600\r\nhello", b"hello"),
            (b"\r\nCONNECT 9600\r\n\x7e\xff\x7d\x23\x00\r\n", b"\x7e\xff\x7d\x23\x00\r\n"),
            (b"CONNECT 9600\rlogin\r", b"login\r"),
            (b"CONNECT 9600\nRING\r\n", b"RING\r\n"),
        ],
    )
    def test_bytes_after_connect_are_trailing_data(
        self, answering: AnswerMachine, data: bytes, trailing: bytes
    ) -> None:
        """Bytes after the CONNECT line in the same read are handed over exactly, unparsed."""
        assert trailing == answered(answering, data, 11.0).trailing_data

    @pytest.mark.parametrize("code", ["NO CARRIER", "BUSY", "ERROR", "NO DIALTONE", "NO ANSWER"])
    def test_failure_code_ends_the_call(self, answering: AnswerMachine, code: str) -> None:
        """A failure code to ATA: CallEnded(NO_CONNECT), then Reopen; phase REOPENING."""
        effects = answering.receive_data(lines(code), 15.0)
        record = one(CallEnded, effects).record
        assert (Outcome.NO_CONNECT, f"modem answered {code}", 15.0) == (record.outcome, record.detail, record.ended_at)
        assert Reopen() == effects[-1]
        assert (Phase.REOPENING, None) == (answering.phase, answering.get_timer())

    def test_ok_instead_of_connect_ends_the_call(self, answering: AnswerMachine) -> None:
        """An aborted ATA answered with OK is NO_CONNECT too."""
        effects = answering.receive_data(lines("OK"), 15.0)
        assert Outcome.NO_CONNECT == one(CallEnded, effects).record.outcome
        assert Phase.REOPENING == answering.phase

    def test_answer_timeout_aborts_and_reopens(self, answering: AnswerMachine) -> None:
        """No CONNECT within answer_timeout_s: CR to abort, CallEnded(ANSWER_TIMEOUT), Reopen."""
        effects = answering.handle_timer(90.0)
        assert Write(data=b"\r") == effects[0]
        assert Outcome.ANSWER_TIMEOUT == one(CallEnded, effects).record.outcome
        assert Reopen() == effects[-1]
        assert (Phase.REOPENING, None) == (answering.phase, answering.get_timer())

    def test_ring_while_answering_is_ignored(self, answering: AnswerMachine) -> None:
        """A RING that crosses ATA neither re-sends ATA nor counts."""
        effects = answering.receive_data(lines("RING"), 11.0)
        assert [] == writes(effects)
        assert 1 == answered(answering, lines("CONNECT"), 12.0).call.rings

    def test_caller_id_while_answering_is_kept(self, answering: AnswerMachine) -> None:
        """Caller ID that arrives after ATA still lands in the record."""
        answering.receive_data(lines("NMBR = 5551234"), 11.0)
        assert "5551234" == answered(answering, lines("CONNECT"), 12.0).call.caller_id

    def test_custom_answer_command(self) -> None:
        """The answer command comes from the profile."""
        machine = initialised(Profile(toggle_dtr=False, answer_command="ATA0"))
        assert [b"ATA0\r"] == writes(machine.receive_data(b"RING\r\n", 0.0))


# --------------------------------------------------------------------------------------------- auto-answer


class TestAutoAnswer:
    """A CONNECT the machine did not ask for is still a call."""

    def test_connect_in_idle_is_a_call_with_no_rings(self, idle: AnswerMachine) -> None:
        """CONNECT with no RING: Report call.auto_answered and Answered with rings 0."""
        effects = idle.receive_data(lines("CONNECT 33600"), 7.0)
        assert [{"rings": 0}] == reports(effects, "call.auto_answered")
        call = one(Answered, effects).call
        assert (0, 7.0, "33600") == (call.rings, call.started_at, call.connect)
        assert Phase.CONNECTED == idle.phase

    def test_connect_while_ringing_is_taken(self, three_rings: AnswerMachine) -> None:
        """CONNECT after 2 of 3 rings is the same call, with rings 2 and no ATA written."""
        three_rings.receive_data(lines("RING", "NMBR = 5551234"), 0.0)
        three_rings.receive_data(lines("RING"), 6.0)
        effects = three_rings.receive_data(lines("CONNECT 9600"), 7.0)
        call = one(Answered, effects).call
        assert (2, "5551234", 0.0) == (call.rings, call.caller_id, call.started_at)
        assert [] == writes(effects)

    def test_no_stale_carrier_details(self, answering: AnswerMachine) -> None:
        """Carrier details of an earlier call do not leak into an auto-answered one (regression)."""
        answering.receive_data(lines("CARRIER 28800", "CONNECT 28800"), 11.0)
        answering.call_finished(20.0, outcome=Outcome.ANSWERED)
        answering.port_opened(21.0)
        answering.receive_data(INIT_OK, 21.0)
        assert () == answered(answering, lines("CONNECT 9600"), 30.0).carrier_details

    def test_auto_answer_trailing_data(self, idle: AnswerMachine) -> None:
        """Bytes after an unsolicited CONNECT are trailing data too."""
        assert b"\x7e\xff" == answered(idle, b"CONNECT\r\n\x7e\xff", 0.0).trailing_data


# --------------------------------------------------------------------------------------------- CONNECTED


class TestPhaseConnected:
    """The shell owns the line; only call_finished moves on."""

    def test_receive_data_raises_and_phase_is_unchanged(self, connected: AnswerMachine) -> None:
        """Feeding bytes while connected is a shell bug: it raises and the phase stays CONNECTED."""
        with pytest.raises(LocalProtocolError):
            connected.receive_data(b"NO CARRIER\r\n", 20.0)
        assert Phase.CONNECTED == connected.phase

    def test_call_finished_records_the_call(self, connected: AnswerMachine) -> None:
        """One CallEnded with the shell's fields, duration measured from the first RING."""
        effects = connected.call_finished(
            100.0, outcome=Outcome.ANSWERED, user="alice", program="/bin/login", exit_status=0
        )
        record = one(CallEnded, effects).record
        assert (Outcome.ANSWERED, "alice", "/bin/login", 0, 1) == (
            record.outcome,
            record.user,
            record.program,
            record.exit_status,
            record.call_id,
        )
        assert (90.0, "28800/ARQ") == (record.duration_s, record.connect)

    def test_call_finished_hangs_up_and_reopens(self, connected: AnswerMachine) -> None:
        """After the record: 'hanging up' and Reopen; phase REOPENING."""
        effects = connected.call_finished(30.0, outcome=Outcome.LOGIN_TIMEOUT, signal=1, detail="no name")
        assert [CallEnded, Status, Reopen] == [type(e) for e in effects]
        assert (Outcome.LOGIN_TIMEOUT, 1, "no name") == (
            effects[0].record.outcome,  # type: ignore[union-attr]
            effects[0].record.signal,  # type: ignore[union-attr]
            effects[0].record.detail,  # type: ignore[union-attr]
        )
        assert Phase.REOPENING == connected.phase

    def test_port_opened_after_a_call_reinitialises(self) -> None:
        """The reopened port goes through DTR toggle and the full init chat again."""
        machine = AnswerMachine(Profile())
        machine.port_opened(0.0)
        machine.handle_timer(0.5)
        machine.receive_data(INIT_OK, 1.0)
        machine.receive_data(b"RING\r\n", 10.0)
        machine.receive_data(b"CONNECT\r\n", 11.0)
        machine.call_finished(50.0, outcome=Outcome.ANSWERED)
        assert SetDtr(high=False) == machine.port_opened(51.0)[0]
        effects = machine.handle_timer(51.5)
        assert [b"ATZ\r"] == writes(effects)
        assert ["initialising modem"] == statuses(effects)

    def test_no_timer_while_connected(self, connected: AnswerMachine) -> None:
        """The machine wants no deadline while the shell owns the line; handle_timer does nothing."""
        assert None is connected.get_timer()
        assert [] == connected.handle_timer(1e9)
        assert Phase.CONNECTED == connected.phase


# --------------------------------------------------------------------------------------------- port lost, shutdown


class TestPortLostAndShutdown:
    """Losing the port and stopping, in the phases where they are allowed."""

    def test_port_lost_while_idle_reopens(self, idle: AnswerMachine) -> None:
        """EOF while idle: report, status, Reopen; no call record."""
        effects = idle.port_lost(5.0)
        assert [Report, Status, Reopen] == [type(e) for e in effects]
        assert (Phase.REOPENING, None) == (idle.phase, idle.get_timer())

    def test_port_lost_while_ringing_ends_the_call(self, three_rings: AnswerMachine) -> None:
        """EOF while a call rings: CallEnded(CARRIER_LOST) before Reopen."""
        three_rings.receive_data(b"RING\r\n", 0.0)
        effects = three_rings.port_lost(3.0)
        record = one(CallEnded, effects).record
        assert (Outcome.CARRIER_LOST, 1, 3.0) == (record.outcome, record.rings, record.ended_at)
        assert Reopen() == effects[-1]

    def test_port_lost_while_answering_ends_the_call(self, answering: AnswerMachine) -> None:
        """EOF after ATA is CARRIER_LOST too."""
        assert Outcome.CARRIER_LOST == one(CallEnded, answering.port_lost(11.0)).record.outcome

    def test_port_lost_during_init_cancels_the_chat(self, machine: AnswerMachine) -> None:
        """EOF in the middle of the init chat: Reopen and no deadline left."""
        machine.port_opened(0.0)
        assert Reopen() == machine.port_lost(1.0)[-1]
        assert (Phase.REOPENING, None) == (machine.phase, machine.get_timer())

    def test_port_lost_then_reopen_starts_fresh(self, three_rings: AnswerMachine) -> None:
        """After a lost port the next call starts at ring 1 with a new call id."""
        three_rings.receive_data(b"RING\r\n", 0.0)
        three_rings.port_lost(1.0)
        three_rings.port_opened(2.0)
        three_rings.receive_data(INIT_OK, 2.0)
        effects = three_rings.receive_data(b"RING\r\n", 3.0)
        assert ["ringing 1/3"] == statuses(effects)

    def test_shutdown_while_ringing_ends_the_call(self, three_rings: AnswerMachine) -> None:
        """Stopping while a call rings records it as SHUTDOWN; phase STOPPED, no timer."""
        three_rings.receive_data(b"RING\r\n", 0.0)
        effects = three_rings.shutdown(2.0)
        assert Outcome.SHUTDOWN == one(CallEnded, effects).record.outcome
        assert ["stopping"] == statuses(effects)
        assert (Phase.STOPPED, None) == (three_rings.phase, three_rings.get_timer())

    def test_shutdown_while_answering_ends_the_call(self, answering: AnswerMachine) -> None:
        """Stopping after ATA records the call as SHUTDOWN."""
        assert Outcome.SHUTDOWN == one(CallEnded, answering.shutdown(11.0)).record.outcome

    def test_shutdown_while_idle_has_no_record(self, idle: AnswerMachine) -> None:
        """Stopping with no call produces only the status."""
        assert [Status(text="stopping")] == idle.shutdown(1.0)

    def test_shutdown_while_connected_raises(self, connected: AnswerMachine) -> None:
        """The shell must finish a connected call first; the phase stays CONNECTED."""
        with pytest.raises(LocalProtocolError):
            connected.shutdown(20.0)
        assert Phase.CONNECTED == connected.phase


# --------------------------------------------------------------------------------------------- illegal inputs


def _in_phase(phase: Phase) -> AnswerMachine:
    """Build a machine in ``phase`` through public inputs only."""
    match phase:
        case Phase.OPENING:
            return AnswerMachine(PROFILE)
        case Phase.RESETTING:
            machine = AnswerMachine(Profile())
            machine.port_opened(0.0)
        case Phase.INITIALIZING:
            machine = AnswerMachine(PROFILE)
            machine.port_opened(0.0)
        case Phase.RETRY_WAIT:
            machine = AnswerMachine(PROFILE)
            machine.port_opened(0.0)
            machine.receive_data(b"ERROR\r\n", 0.0)
        case Phase.IDLE:
            machine = initialised()
        case Phase.CLAIMING:
            machine = initialised(Profile(toggle_dtr=False, health_check_s=60.0))
            machine.handle_timer(60.0)
        case Phase.PROBING:
            machine = initialised(Profile(toggle_dtr=False, health_check_s=60.0))
            machine.handle_timer(60.0)
            machine.line_claimed(60.0)
        case Phase.PREPARING:
            machine = initialised(Profile(toggle_dtr=False, answer_gate=True))
            machine.receive_data(b"RING\r\n", 0.0)
            machine.decide(0.1, 1, Decision.ACCEPT, chat=parse_chat(["", "AT+MS=V34", "OK"]))
        case Phase.RINGING:
            machine = initialised(Profile(toggle_dtr=False, rings=3))
            machine.receive_data(b"RING\r\n", 0.0)
        case Phase.ANSWERING:
            machine = initialised()
            machine.receive_data(b"RING\r\n", 0.0)
        case Phase.CONNECTED:
            machine = initialised()
            machine.receive_data(b"RING\r\nCONNECT\r\n", 0.0)
        case Phase.REOPENING:
            machine = initialised()
            machine.receive_data(b"RING\r\nCONNECT\r\n", 0.0)
            machine.call_finished(1.0, outcome=Outcome.ANSWERED)
        case Phase.HANGING_UP:
            machine = initialised(Profile(toggle_dtr=False, hangup_dtr_s=0.5))
            machine.receive_data(b"RING\r\nCONNECT\r\n", 0.0)
            machine.call_finished(1.0, outcome=Outcome.ANSWERED)
        case Phase.STOPPED:
            machine = initialised()
            machine.shutdown(0.0)
        case Phase.FAILED:
            machine = AnswerMachine(Profile(toggle_dtr=False, init_retries=1))
            machine.port_opened(0.0)
            machine.receive_data(b"ERROR\r\n", 0.0)
    assert phase == machine.phase
    return machine


_INPUTS: dict[str, Callable[[AnswerMachine], object]] = {
    "receive_data": lambda m: m.receive_data(b"OK\r\n", 1.0),
    "port_opened": lambda m: m.port_opened(1.0),
    "port_lost": lambda m: m.port_lost(1.0),
    "call_finished": lambda m: m.call_finished(1.0, outcome=Outcome.ANSWERED),
    "shutdown": lambda m: m.shutdown(1.0),
    "set_profile": lambda m: m.set_profile(PROFILE),
    "reinitialize": lambda m: m.reinitialize(1.0),
    "line_claimed": lambda m: m.line_claimed(1.0),
    "suspend": lambda m: m.suspend(1.0, "dial-out"),
    "carrier_changed": lambda m: m.carrier_changed(1.0, up=False),
}
_LEGAL = LEGAL_INPUTS
_CASES = [(phase, name) for phase in Phase for name in _INPUTS]


class TestIllegalInputs:
    """Inputs a phase cannot take raise LocalProtocolError and change nothing (h11's test_state pattern)."""

    @pytest.mark.parametrize(
        ("phase", "name"),
        [c for c in _CASES if c[0] not in _LEGAL[c[1]]],
        ids=[f"{p.value}-{n}" for p, n in _CASES if p not in _LEGAL[n]],
    )
    def test_illegal_input_raises_and_leaves_the_phase(self, phase: Phase, name: str) -> None:
        """The input raises; phase, timer and reading are as before."""
        machine = _in_phase(phase)
        before = (machine.phase, machine.get_timer(), machine.reading)
        with pytest.raises(LocalProtocolError):
            _INPUTS[name](machine)
        assert before == (machine.phase, machine.get_timer(), machine.reading)

    @pytest.mark.parametrize(
        ("phase", "name"),
        [c for c in _CASES if c[0] in _LEGAL[c[1]]],
        ids=[f"{p.value}-{n}" for p, n in _CASES if p in _LEGAL[n]],
    )
    def test_legal_input_is_accepted(self, phase: Phase, name: str) -> None:
        """The complement: every other phase/input pair does not raise."""
        _INPUTS[name](_in_phase(phase))

    def test_reading_matches_receive_data_legality(self) -> None:
        """``reading`` is true exactly in the phases where receive_data is legal."""
        assert LEGAL_INPUTS["receive_data"] == {phase for phase in Phase if _in_phase(phase).reading}

    def test_every_guarded_input_is_exercised(self) -> None:
        """The table and the inputs driven here name the same inputs, so no guarded input goes untested."""
        assert set(LEGAL_INPUTS) == set(_INPUTS)


# --------------------------------------------------------------------------------------------- numeric codes


class TestNumericResultCodes:
    """V0 modems (``0\\r``, ``2\\r``, ``1\\r``) work the same as verbose ones."""

    def test_numeric_init(self, machine: AnswerMachine) -> None:
        """``0\\r`` is OK for every chat step."""
        machine.port_opened(0.0)
        assert [Ready()] == of(Ready, machine.receive_data(b"0\r0\r", 0.0))

    def test_numeric_error_retries(self, machine: AnswerMachine) -> None:
        """``4\\r`` is ERROR and fails the attempt."""
        machine.port_opened(0.0)
        machine.receive_data(b"4\r", 0.0)
        assert Phase.RETRY_WAIT == machine.phase

    def test_numeric_ring_answers(self, idle: AnswerMachine) -> None:
        """``2\\r`` is RING."""
        assert [b"ATA\r"] == writes(idle.receive_data(b"2\r", 0.0))

    @pytest.mark.parametrize(
        ("code", "rate", "text"), [(b"1\r", None, "1"), (b"10\r", 2400, "2400"), (b"12\r", 9600, "9600")]
    )
    def test_numeric_connect(self, answering: AnswerMachine, code: bytes, rate: int | None, text: str) -> None:
        """``1\\r`` and the rate codes are CONNECT; the record shows the rate (or the bare code)."""
        result = answered(answering, code, 11.0)
        assert (rate, text) == (result.connect.rate, result.call.connect)

    def test_numeric_no_carrier(self, answering: AnswerMachine) -> None:
        """``3\\r`` after ATA is NO CARRIER."""
        assert Outcome.NO_CONNECT == one(CallEnded, answering.receive_data(b"3\r", 11.0)).record.outcome


# --------------------------------------------------------------------------------------------- timers


def _with_timer(phase: Phase) -> AnswerMachine:
    machine = _in_phase(phase)
    assert machine.get_timer() is not None
    return machine


class TestTimers:
    """``get_timer``/``handle_timer``: time only moves when the shell says so."""

    @pytest.mark.parametrize(
        "phase",
        [Phase.RESETTING, Phase.INITIALIZING, Phase.RETRY_WAIT, Phase.RINGING, Phase.ANSWERING, Phase.HANGING_UP],
    )
    def test_early_handle_timer_does_nothing(self, phase: Phase) -> None:
        """Calling before the deadline returns [] and leaves phase and deadline as they were."""
        machine = _with_timer(phase)
        timer = machine.get_timer()
        assert timer is not None
        assert [] == machine.handle_timer(timer - 0.001)
        assert (phase, timer) == (machine.phase, machine.get_timer())

    @pytest.mark.parametrize(
        "phase", [Phase.OPENING, Phase.IDLE, Phase.CLAIMING, Phase.REOPENING, Phase.STOPPED, Phase.FAILED]
    )
    def test_no_deadline_means_handle_timer_does_nothing(self, phase: Phase) -> None:
        """Phases without a deadline ignore handle_timer whatever ``now`` is."""
        machine = _in_phase(phase)
        assert None is machine.get_timer()
        assert [] == machine.handle_timer(1e6)
        assert phase == machine.phase

    def test_late_timer_counts_from_the_late_now(self, machine: AnswerMachine) -> None:
        """A retry handled late schedules the force-init's first pause from the time it ran."""
        machine.port_opened(0.0)
        machine.receive_data(b"ERROR\r\n", 0.0)
        machine.handle_timer(10.0)
        assert 10.5 == machine.get_timer()

    def test_handled_deadline_is_not_repeated(self, three_rings: AnswerMachine) -> None:
        """Handling the same deadline twice ends the call only once."""
        three_rings.receive_data(b"RING\r\n", 0.0)
        first = three_rings.handle_timer(10.0)
        assert ([1], []) == ([len(of(CallEnded, first))], three_rings.handle_timer(10.0))


class TestSetProfile:
    """A config reload takes effect at the next init."""

    def test_new_rings_apply_to_the_next_call(self, idle: AnswerMachine) -> None:
        """set_profile in IDLE changes how many rings the next call needs."""
        idle.set_profile(Profile(toggle_dtr=False, rings=2))
        assert ["ringing 1/2"] == statuses(idle.receive_data(b"RING\r\n", 0.0))
        assert 2 == idle.profile.rings


class TestProbeReport:
    """The AT probe on lines without DTR (its behaviour is covered in test_machine_probe.py)."""

    def test_probe_timeout_reason_names_the_time_waited(self) -> None:
        """The still-online report says how long the probe really waited for OK."""
        machine = AnswerMachine(Profile(toggle_dtr=False, probe_timeout_s=2.0))
        machine.port_opened(0.0, dtr_hangs_up=False)
        effects = machine.handle_timer(2.0)
        assert [{"reason": "no 'OK' within 2 s"}] == reports(effects, "modem.still_online")
