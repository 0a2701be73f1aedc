"""The answer machine wired to the pure simulated modem on a virtual clock (h11's ConnectionPair idea).

Neither side does I/O or reads a clock, so a small driver can play the shell for both: it carries the
machine's effects to the modem and the modem's output back, and moves ``now`` straight to the earliest
deadline of the two. Whole calls, including retries and the +++ guard time, run in microseconds.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import pytest

from answerd.core import (
    Answered,
    AnswerMachine,
    CallEnded,
    Effect,
    Fatal,
    FlushInput,
    Outcome,
    Phase,
    Profile,
    Ready,
    Reopen,
    Report,
    SetDtr,
    Write,
    parse_chat,
)
from answerd.sim import ModemMode, SimModem, SimSettings
from answerd.sim._modem import Action, DropCaller, Log, ToCaller, ToDte

from .effects import T, of, one


@dataclass
class Pair:
    """Plays the shell between an AnswerMachine and a SimModem; ``now`` is virtual and only moves in ``run``.

    Modem output is queued and read after the machine's current effects are all carried out, as a real shell
    would; a ``FlushInput`` or a reopen discards what is queued. On ``Reopen`` the port is closed (DTR drops,
    HUPCL) and opened again at once, then ``port_opened`` is called.
    """

    machine: AnswerMachine
    sim: SimModem
    now: float = 0.0
    dtr_hangs_up: bool = True
    effects: list[Effect] = field(default_factory=list)
    actions: list[Action] = field(default_factory=list)
    #: Every byte the machine wrote to the modem, with the time it was written.
    written: list[tuple[float, bytes]] = field(default_factory=list)
    #: Modem output that arrived while the machine was not reading (the call belongs to the shell then).
    unread: bytearray = field(default_factory=bytearray)
    _inbox: deque[bytes] = field(default_factory=deque)

    def open(self) -> None:
        """The shell opens the port for the first time."""
        self._machine_effects(self.machine.port_opened(self.now, dtr_hangs_up=self.dtr_hangs_up))
        self._drain()

    def modem(self, actions: list[Action]) -> None:
        """Deliver actions of a modem input the test made (``caller_arrived``, ``caller_left``)."""
        self._sim_actions(actions)
        self._drain()

    def carry_out(self, effects: list[Effect]) -> None:
        """Carry out effects of a machine input the test made (``call_finished``)."""
        self._machine_effects(effects)
        self._drain()

    def run(self, until: float, limit: int = 10_000) -> None:
        """Advance virtual time to ``until``, firing every deadline of either side in order."""
        for _ in range(limit):
            self._drain()
            deadlines = [t for t in (self.sim.get_timer(), self.machine.get_timer()) if t is not None]
            if not deadlines or min(deadlines) > until:
                self.now = max(self.now, until)
                return
            self.now = max(self.now, min(deadlines))
            sim_timer = self.sim.get_timer()
            if sim_timer is not None and sim_timer <= self.now:
                self._sim_actions(self.sim.handle_timer(self.now))
                self._drain()
            machine_timer = self.machine.get_timer()
            if machine_timer is not None and machine_timer <= self.now:
                self._machine_effects(self.machine.handle_timer(self.now))
        raise AssertionError(f"no quiet point before t={until}: the two sides loop")

    # ------------------------------------------------------------------ the shell's work

    def _machine_effects(self, effects: list[Effect]) -> None:
        for effect in effects:
            self.effects.append(effect)
            match effect:
                case Write(data=data):
                    self.written.append((self.now, data))
                    self._sim_actions(self.sim.dte_data(data, self.now))
                case SetDtr(high=high):
                    self._sim_actions(self.sim.dtr_changed(high, self.now))
                case FlushInput():
                    self._inbox.clear()
                case Reopen():
                    self._inbox.clear()
                    self._sim_actions(self.sim.dtr_changed(False, self.now))
                    self._sim_actions(self.sim.dtr_changed(True, self.now))
                    self._machine_effects(self.machine.port_opened(self.now, dtr_hangs_up=self.dtr_hangs_up))
                case _:
                    pass

    def _sim_actions(self, actions: list[Action]) -> None:
        for action in actions:
            self.actions.append(action)
            if isinstance(action, ToDte):
                self._inbox.append(action.data)

    def _drain(self) -> None:
        while self._inbox:
            data = self._inbox.popleft()
            if self.machine.reading:
                self._machine_effects(self.machine.receive_data(data, self.now))
            else:
                self.unread += data

    # ------------------------------------------------------------------ what happened

    def of(self, kind: type[T]) -> list[T]:
        """Every machine effect of one type so far."""
        return of(kind, self.effects)

    def one(self, kind: type[T]) -> T:
        """The single machine effect of one type so far (fails if there is none or more than one)."""
        return one(kind, self.effects)

    def reports(self, event: str) -> list[Report]:
        """Every Report with this event name so far."""
        return [e for e in self.effects if isinstance(e, Report) and e.event == event]

    def logs(self) -> list[str]:
        """The modem's transcript notes."""
        return [a.text for a in self.actions if isinstance(a, Log)]


def pair(profile: Profile, settings: SimSettings | None = None, *, dtr_hangs_up: bool = True) -> Pair:
    """A machine and a simulated modem, port opened at t=0 and run to t=1 (a good init is done by then)."""
    result = Pair(machine=AnswerMachine(profile), sim=SimModem(settings or SimSettings()), dtr_hangs_up=dtr_hangs_up)
    result.open()
    result.run(until=1.0)
    return result


class TestInit:
    """The init chat against the simulated modem."""

    @pytest.mark.parametrize("toggle_dtr", [True, False])
    def test_initialises_once(self, toggle_dtr: bool) -> None:
        """The default init chat gets the sim to IDLE with one Ready, echo and all."""
        p = pair(Profile(toggle_dtr=toggle_dtr))
        assert (Phase.IDLE, 1, []) == (p.machine.phase, len(p.of(Ready)), p.reports("modem.init.retry"))

    def test_init_settings_reach_the_modem(self) -> None:
        """After init the modem has echo off and auto-answer off, as the chat asked."""
        p = pair(Profile())
        assert 0 == p.sim.register(0)
        assert [b"ATZ\r", b"ATE0Q0V1&C1&D2S0=0\r"] == [data for _, data in p.written]

    def test_error_first_retries_once_then_ready(self) -> None:
        """A modem that answers the first command with ERROR is ready after one retry."""
        p = pair(Profile(), SimSettings(error_first=1))
        p.run(until=60.0)
        assert 1 == len(p.reports("modem.init.retry"))
        assert (Phase.IDLE, 1, []) == (p.machine.phase, len(p.of(Ready)), p.of(Fatal))
        assert b"ATH0\r" in [data for _, data in p.written]

    def test_silent_modem_is_fatal(self) -> None:
        """A modem that never answers ends in Fatal after init_retries attempts."""
        p = Pair(
            machine=AnswerMachine(Profile(toggle_dtr=False, init_retries=2, chat_timeout_s=2.0)),
            sim=SimModem(SimSettings(silent=True)),
        )
        p.open()
        p.run(until=600.0)
        assert (Phase.FAILED, 1) == (p.machine.phase, len(p.of(Fatal)))


class TestCall:
    """Calls from caller_arrived to Answered or CallEnded."""

    def test_call_with_caller_id_is_answered(self) -> None:
        """RING, caller ID, RING, ATA, CONNECT: Answered with the number and the modem's connect text."""
        p = pair(Profile(rings=2), SimSettings(force_cid=True, caller_number="5551234"))
        p.run(until=5.0)
        p.modem(p.sim.caller_arrived(p.now))
        p.run(until=30.0)
        answered = p.one(Answered)
        assert ("5551234", 2, 5.0) == (answered.call.caller_id, answered.call.rings, answered.call.started_at)
        assert ("33600/ARQ/V34/LAPM/V42BIS", 33600) == (answered.connect.text, answered.connect.rate)
        assert (Phase.CONNECTED, ModemMode.ONLINE) == (p.machine.phase, p.sim.mode)
        assert (11.0, b"ATA\r") == p.written[-1]

    def test_finished_call_hangs_up_and_reinitialises(self) -> None:
        """call_finished: the reopen drops DTR, the modem hangs up, the machine re-inits to IDLE."""
        p = pair(Profile())
        p.modem(p.sim.caller_arrived(p.now))
        p.run(until=10.0)
        assert Phase.CONNECTED == p.machine.phase
        p.carry_out(p.machine.call_finished(p.now, outcome=Outcome.ANSWERED, user="bob"))
        p.run(until=20.0)
        assert (Outcome.ANSWERED, "bob") == (p.one(CallEnded).record.outcome, p.one(CallEnded).record.user)
        assert (Phase.IDLE, ModemMode.IDLE, False) == (p.machine.phase, p.sim.mode, p.sim.caller_present)
        assert any(isinstance(a, DropCaller) for a in p.actions)
        assert 1 == len(p.of(Ready))

    def test_caller_data_after_connect_is_not_read_by_the_machine(self) -> None:
        """While connected, what the caller sends is the shell's, never fed to the machine."""
        p = pair(Profile())
        p.modem(p.sim.caller_arrived(p.now))
        p.run(until=10.0)
        p.modem(p.sim.caller_data(b"RING\r\nhello", p.now))
        assert (Phase.CONNECTED, b"RING\r\nhello") == (p.machine.phase, bytes(p.unread))

    def test_never_connect_is_an_answer_timeout(self) -> None:
        """ATA with no result: after answer_timeout_s the call is ANSWER_TIMEOUT and the line re-inits."""
        p = pair(Profile(answer_timeout_s=30.0), SimSettings(never_connect=True))
        p.modem(p.sim.caller_arrived(p.now))
        p.run(until=100.0)
        record = p.one(CallEnded).record
        assert (Outcome.ANSWER_TIMEOUT, 31.0) == (record.outcome, record.ended_at)
        assert (31.0, b"\r") in p.written
        assert (Phase.IDLE, ModemMode.IDLE, False) == (p.machine.phase, p.sim.mode, p.sim.caller_present)

    def test_failed_training_is_no_connect(self) -> None:
        """A modem answering ATA with NO CARRIER gives NO_CONNECT and a re-init."""
        p = pair(Profile(), SimSettings(answer_result="NO CARRIER"))
        p.modem(p.sim.caller_arrived(p.now))
        p.run(until=100.0)
        assert Outcome.NO_CONNECT == p.one(CallEnded).record.outcome
        assert Phase.IDLE == p.machine.phase

    def test_unsolicited_connect_is_answered_with_no_rings(self) -> None:
        """An auto-answering modem's CONNECT without RING is still a call, with rings 0."""
        p = pair(Profile(), SimSettings(unsolicited_connect=True))
        p.run(until=7.0)
        p.modem(p.sim.caller_arrived(p.now))
        answered = p.one(Answered)
        assert (0, 7.0) == (answered.call.rings, answered.call.started_at)
        assert 1 == len(p.reports("call.auto_answered"))
        assert b"ATA\r" not in [data for _, data in p.written]

    def test_caller_leaving_after_one_ring_is_abandoned(self) -> None:
        """The caller hangs up after one RING: ABANDONED once ring_gap_s has passed, then IDLE."""
        p = pair(Profile(rings=2), SimSettings(ring_interval=100.0))
        p.run(until=1.0)
        p.modem(p.sim.caller_arrived(p.now))
        p.run(until=3.0)
        p.modem(p.sim.caller_left(p.now))
        p.run(until=60.0)
        record = p.one(CallEnded).record
        assert (Outcome.ABANDONED, 1, 11.0) == (record.outcome, record.rings, record.ended_at)
        assert Phase.IDLE == p.machine.phase
        assert b"ATA\r" not in [data for _, data in p.written]

    def test_numeric_modem_is_answered(self) -> None:
        """An init chat that leaves the modem in V0 still answers: 2 is RING, 19 is CONNECT 115200."""
        chat = parse_chat(["", "ATZ", "OK", "ATE0V0&C1&D2S0=0", "0"])
        p = pair(Profile(init_chat=chat), SimSettings(connect_text="115200/ARQ"))
        assert Phase.IDLE == p.machine.phase
        p.modem(p.sim.caller_arrived(p.now))
        p.run(until=10.0)
        assert 115200 == p.one(Answered).connect.rate


def _online_sim() -> SimModem:
    """A simulated modem left online by an earlier call (the caller is still there)."""
    sim = SimModem(SimSettings())
    sim.caller_arrived(-20.0)
    sim.dte_data(b"ATA\r", -20.0)
    sim.handle_timer(-19.0)
    assert ModemMode.ONLINE == sim.mode
    return sim


class TestStuckOnline:
    """A modem still online (DTR could not hang it up) is escaped with +++ and ATH0."""

    def test_force_init_recovers_a_modem_left_online(self) -> None:
        """The first init times out, the force-init escapes after the guard time and hangs up, the next works."""
        p = Pair(machine=AnswerMachine(Profile(toggle_dtr=False, chat_timeout_s=2.0)), sim=_online_sim())
        p.open()
        p.run(until=60.0)
        assert (Phase.IDLE, ModemMode.IDLE, 1) == (p.machine.phase, p.sim.mode, len(p.of(Ready)))
        assert 1 == len(p.reports("modem.init.retry"))
        assert [] == p.reports("modem.force_init.failed")
        # ATZ (t=0) went to the caller as data; the retry waits 2 s after the 2 s timeout; then 1.5 s of
        # silence, +++, 1.5 s more (the modem's 1 s S12 guard time ends inside it), then ATH0.
        assert ToCaller(data=b"ATZ\r") in p.actions
        assert [(0.0, b"ATZ\r"), (5.5, b"+++"), (7.0, b"ATH0\r"), (7.0, b"ATZ\r")] == p.written[:4]
        assert "escape: command mode, call stays up" in p.logs()
        assert any(isinstance(a, DropCaller) for a in p.actions)

    def test_plus_too_soon_is_not_an_escape(self) -> None:
        """+++ followed at once by ATH0 (no trailing guard time) is data: the modem stays online, init fails."""
        hasty = parse_chat(["", r"+++\c", "", "ATH0", "OK"])
        profile = Profile(
            toggle_dtr=False, chat_timeout_s=2.0, init_retries=2, force_init_chat=hasty, retry_backoff_s=0.0
        )
        p = Pair(machine=AnswerMachine(profile), sim=_online_sim())
        p.open()
        p.run(until=60.0)
        assert "escape: command mode, call stays up" not in p.logs()
        assert (Phase.FAILED, ModemMode.ONLINE) == (p.machine.phase, p.sim.mode)

    def test_probe_escapes_without_a_retry_when_dtr_cannot_hang_up(self) -> None:
        """On a line without DTR the AT probe notices the online modem and escapes it before init."""
        p = Pair(
            machine=AnswerMachine(Profile(toggle_dtr=False, probe_timeout_s=1.0)), sim=_online_sim(), dtr_hangs_up=False
        )
        p.open()
        p.run(until=60.0)
        assert (Phase.IDLE, ModemMode.IDLE) == (p.machine.phase, p.sim.mode)
        assert (1, [], 1) == (len(p.reports("modem.still_online")), p.reports("modem.init.retry"), len(p.of(Ready)))
        assert b"+++" in [data for _, data in p.written]
