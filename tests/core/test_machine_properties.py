"""Hypothesis properties of the answer machine: a stateful model of its invariants, and chunking invariance.

The stateful model runs the production path as well as the test profile: half the runs have the answer gate
on (``AnswerPending``, then the shell's decision, possibly late) and an idle health check (``ClaimLine``,
then ``line_claimed`` or a dial-out's ``suspend``), as ``answerd run`` configures them.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from answerd.core import (
    Answered,
    AnswerMachine,
    AnswerPending,
    CallEnded,
    ClaimLine,
    Decision,
    Effect,
    Outcome,
    Phase,
    Profile,
    Ready,
    ReleaseLine,
    Report,
    SetDtr,
    Write,
    parse_chat,
)

TERMINATORS = [b"\r\n", b"\r", b"\n", b"\r\r\n", b"\n\r"]
terminators = st.sampled_from(TERMINATORS)

#: Every spelling here classifies as a RING (verbose, numeric, distinctive, ELSA with caller ID).
RING_LINES = ["RING", "2", "RING 2", "RING;5551234;999"]
CONNECT_LINES = ["CONNECT", "CONNECT 28800/ARQ/V34", "1", "12"]
CALLER_ID_LINES = ["NMBR = 5551234", "NAME = SMITH", "DATE = 0101", "TIME = 1200"]
#: Noise that can never spell a result code: no letters or digits. It always ends with its own terminator.
NOISE_BYTES = b"x#~-_ !?.\x00\x07\x1b\x7f\xff\t"
#: Caller bytes after CONNECT. A leading CR/LF could not be told apart from the modem's own line ending.
caller_bytes = st.binary(max_size=12).filter(lambda b: b[:1] not in (b"\r", b"\n", b"\x8d", b"\x8a"))
noise = st.one_of(
    st.lists(st.sampled_from(NOISE_BYTES), max_size=60).map(bytes),
    st.integers(min_value=257, max_value=700).map(lambda n: b"~" * n),
)


class AnswerMachineRules(RuleBasedStateMachine):
    """Drives an AnswerMachine with modem lines, timer jumps and shell inputs, checking its promises."""

    #: Always start idle on the production path (gate and health check on); see ProductionRules.
    production_only = False

    def __init__(self) -> None:
        super().__init__()
        self.machine = AnswerMachine(Profile())
        self.now = 0.0
        self.ready = 0
        self.dtr_high = True
        #: RINGs fed while IDLE/RINGING since the current call began (the model's own count).
        self.rings = 0
        #: call_id of an Answered call that has not ended yet.
        self.open_call: int | None = None
        self.last_answered = 0
        self.ended: set[int] = set()
        #: The current call is waiting for the shell's decision / the decision it got.
        self.awaiting = False
        self.verdict: Decision | None = None
        self.screen_now: Decision | None = None

    # ------------------------------------------------------------------ bookkeeping

    def apply(self, effects: list[Effect], phase_before: Phase, *, claimed: bool = False, data: bool = False) -> None:
        """Check one input's effects against the invariants and update the model.

        Args:
            claimed: the input was ``line_claimed``, the one that may write after CLAIMING.
            data: the input was ``receive_data`` (the shell took the line to read it, even while idle).
        """
        writes = [e for e in effects if isinstance(e, Write)]
        if phase_before is Phase.CONNECTED:
            assert [] == writes, "Write while CONNECTED"
        if phase_before is Phase.CLAIMING and not claimed:
            assert [] == writes, "Write while the line is being claimed"
        phase_after = self.machine.phase
        released = any(isinstance(e, ReleaseLine) for e in effects)
        settled = phase_after is Phase.IDLE and (phase_before is not Phase.IDLE or data)
        assert released == settled, "ReleaseLine exactly when the input left the machine settled idle"
        assert sum(isinstance(e, ReleaseLine) for e in effects) <= 1, "ReleaseLine twice"
        claim = any(isinstance(e, ClaimLine) for e in effects)
        assert claim == (phase_after is Phase.CLAIMING and phase_before is not Phase.CLAIMING), "ClaimLine"
        assert not (claim and writes), "Write together with ClaimLine"
        seen_answered = False
        for effect in effects:
            match effect:
                case Write(data=data):
                    assert not seen_answered, "Write after Answered in the same input"
                    if data == self.machine.profile.answer_command.encode() + b"\r":
                        assert self.rings >= self.machine.profile.rings, "ATA before the ring count"
                case SetDtr(high=high):
                    self.dtr_high = high
                case Ready():
                    self.ready += 1
                case AnswerPending(call=call):
                    assert self.machine.profile.answer_gate, "AnswerPending without the gate"
                    assert not self.awaiting, "asked twice for one call"
                    assert call.rings >= self.machine.profile.rings
                    self.awaiting = True
                case Answered(call=call):
                    seen_answered = True
                    self.awaiting, self.verdict = False, None
                    assert self.open_call is None, "Answered while an answered call is still open"
                    assert call.call_id > self.last_answered
                    self.open_call = self.last_answered = call.call_id
                    self.rings = 0
                case CallEnded(record=record):
                    assert record.call_id not in self.ended, "a call ended twice"
                    self.ended.add(record.call_id)
                    if record.call_id == self.open_call:
                        self.open_call = None
                    self.rings = 0
                    self.awaiting, self.verdict = False, None
                case _:
                    pass

    def feed(self, line: bytes) -> list[Effect]:
        """Send one terminated line to the machine at the current time."""
        phase = self.machine.phase
        effects = self.machine.receive_data(line, self.now)
        self.apply(effects, phase, data=True)
        if self.awaiting and self.screen_now is not None:
            # The shell's quick screening (no decision program) answers in the same step, as the daemon does.
            self.decide_now(self.screen_now, with_chat=False)
        return effects

    # ------------------------------------------------------------------ rules

    @initialize(
        rings=st.integers(min_value=1, max_value=3),
        toggle_dtr=st.booleans(),
        retries=st.integers(min_value=1, max_value=3),
        dtr_hangs_up=st.booleans(),
        # Weighted to start idle: random lines rarely get a whole init chat through, and calls come after it.
        settle=st.integers(min_value=0, max_value=3).map(bool),
        production=st.booleans(),
        screen_now=st.sampled_from([None, *Decision]),
    )
    def open_port(
        self,
        rings: int,
        toggle_dtr: bool,
        retries: int,
        dtr_hangs_up: bool,
        settle: bool,
        production: bool,
        screen_now: Decision | None,
    ) -> None:
        """Start with a fresh machine and open the port; with ``settle`` the modem answers OK until IDLE.

        Random lines rarely get through a whole init chat, so half the runs start from IDLE to reach calls.
        ``production``: the answer gate and the health check are on, as ``answerd run`` sets them.
        ``screen_now``: the shell decides every AnswerPending at once, this way (``None``: only the
        ``decide`` rule does, later, as a decision program would).
        """
        self.screen_now = screen_now
        production = production or self.production_only
        settle = settle or self.production_only
        self.machine = AnswerMachine(
            Profile(
                rings=rings,
                toggle_dtr=toggle_dtr,
                init_retries=retries,
                chat_timeout_s=5.0,
                probe_timeout_s=1.0,
                retry_backoff_s=1.0,
                retry_backoff_max_s=4.0,
                ring_gap_s=10.0,
                answer_timeout_s=30.0,
                answer_gate=production,
                health_check_s=20.0 if production else None,
                health_timeout_s=2.0,
            )
        )
        self.apply(self.machine.port_opened(self.now, dtr_hangs_up=dtr_hangs_up), Phase.OPENING)
        while settle and self.machine.phase is not Phase.IDLE:
            if self.machine.phase is Phase.RESETTING:
                self.jump_to_timer()
            else:
                self.feed(b"OK\r\n")

    @precondition(lambda self: self.machine.reading)
    @rule(line=st.sampled_from(RING_LINES), end=terminators)
    def ring(self, line: str, end: bytes) -> None:
        """The phone rings; at the ring count ATA goes out, or, with the gate, the shell is asked once."""
        counting = self.machine.phase in (Phase.IDLE, Phase.RINGING, Phase.PROBING)
        gate = self.machine.profile.answer_gate
        if counting:
            self.rings += 1
        enough = self.rings >= self.machine.profile.rings
        ask = counting and gate and enough and not self.awaiting and self.verdict is not Decision.REJECT
        effects = self.feed(line.encode() + end)
        if counting:
            wrote_ata = b"ATA\r" in [e.data for e in effects if isinstance(e, Write)]
            assert wrote_ata == (enough and not gate)
            assert ask == any(isinstance(e, AnswerPending) for e in effects)

    @precondition(lambda self: self.machine.phase is Phase.IDLE)
    @rule(end=terminators)
    def call_rings_in(self, end: bytes) -> None:
        """A call rings the count in one read: one ATA, or with the gate one AnswerPending and no ATA."""
        count = self.machine.profile.rings
        self.rings += count
        effects = self.feed((b"RING" + end) * count)
        ata = [e for e in effects if isinstance(e, Write) and e.data == b"ATA\r"]
        pending = [e for e in effects if isinstance(e, AnswerPending)]
        gate = self.machine.profile.answer_gate
        assert (len(ata), len(pending)) == ((0, 1) if gate else (1, 0))

    @precondition(lambda self: self.machine.reading)
    @rule(line=st.sampled_from(["OK", "0"]), end=terminators)
    def ok(self, line: str, end: bytes) -> None:
        """The modem says OK."""
        self.feed(line.encode() + end)

    @precondition(lambda self: self.machine.reading)
    @rule(line=st.sampled_from(["ERROR", "4", "BUSY"]), end=terminators)
    def error(self, line: str, end: bytes) -> None:
        """The modem says ERROR (or BUSY)."""
        self.feed(line.encode() + end)

    @precondition(lambda self: self.machine.reading)
    @rule(line=st.sampled_from(["NO CARRIER", "3"]), end=terminators)
    def no_carrier(self, line: str, end: bytes) -> None:
        """The modem says NO CARRIER."""
        self.feed(line.encode() + end)

    @precondition(lambda self: self.machine.reading)
    @rule(line=st.sampled_from(CONNECT_LINES), end=terminators, trailing=caller_bytes)
    def connect(self, line: str, end: bytes, trailing: bytes) -> None:
        """The modem says CONNECT, maybe with the caller's first bytes behind it."""
        phase = self.machine.phase
        effects = self.feed(line.encode() + end + trailing)
        answered = [e for e in effects if isinstance(e, Answered)]
        if phase in (Phase.IDLE, Phase.RINGING, Phase.ANSWERING, Phase.PROBING):
            assert 1 == len(answered)
            assert Phase.CONNECTED == self.machine.phase
            assert trailing == answered[0].trailing_data
        else:
            assert [] == answered

    @precondition(lambda self: self.machine.phase is Phase.ANSWERING)
    @rule(data=st.sampled_from([b"CONNECT 33600\r\n", b"CARRIER 28800\r\nCONNECT 28800/ARQ\r\n", b"12\r"]))
    def modem_connects_after_ata(self, data: bytes) -> None:
        """The usual end of ANSWERING (a rule of its own, so that answered calls are common in the runs)."""
        effects = self.feed(data)
        extra = [e.call.rings - self.machine.profile.rings for e in effects if isinstance(e, Answered)]
        # Without the gate ATA goes at the count; with it, RINGs go on being counted while the shell decides.
        assert 1 == len(extra)
        assert extra[0] == 0 if not self.machine.profile.answer_gate else extra[0] >= 0

    @precondition(lambda self: self.machine.reading)
    @rule(line=st.sampled_from(CALLER_ID_LINES), end=terminators)
    def caller_id(self, line: str, end: bytes) -> None:
        """A caller-ID line arrives."""
        self.feed(line.encode() + end)

    @precondition(lambda self: self.machine.reading)
    @rule(junk=noise, end=terminators)
    def line_noise(self, junk: bytes, end: bytes) -> None:
        """Line noise never moves the phase."""
        phase = self.machine.phase
        self.feed(junk + end)
        assert phase == self.machine.phase

    @precondition(lambda self: self.machine.get_timer() is not None)
    @rule()
    def jump_to_timer(self) -> None:
        """Time jumps to the machine's deadline."""
        timer = self.machine.get_timer()
        assert timer is not None
        self.now = max(self.now, timer)
        phase = self.machine.phase
        self.apply(self.machine.handle_timer(self.now), phase)

    @rule(seconds=st.floats(min_value=0.0, max_value=5.0))
    def wait(self, seconds: float) -> None:
        """Some time passes, never beyond the next deadline (the shell never oversleeps)."""
        timer = self.machine.get_timer()
        self.now = self.now + seconds if timer is None else min(self.now + seconds, max(self.now, timer))

    @precondition(lambda self: self.machine.awaiting_decision is not None)
    @rule(verdict=st.sampled_from(list(Decision)), with_chat=st.booleans())
    def decide(self, verdict: Decision, with_chat: bool) -> None:
        """The shell's screening decides: ACCEPT answers (after a caller's init chat), the others do not."""
        self.decide_now(verdict, with_chat=with_chat)

    def decide_now(self, verdict: Decision, *, with_chat: bool) -> None:
        """Give the machine the decision for the call that waits, and check what it did with it."""
        call_id = self.machine.awaiting_decision
        assert call_id is not None
        chat = parse_chat(["", "AT+MS=V34", "OK"]) if with_chat else ()
        effects = self.machine.decide(self.now, call_id, verdict, reason="model", chat=chat)
        self.apply(effects, Phase.RINGING)
        self.awaiting, self.verdict = False, verdict
        wrote = [e.data for e in effects if isinstance(e, Write)]
        if verdict is Decision.ACCEPT:
            assert ([b"AT+MS=V34\r"] if with_chat else [b"ATA\r"]) == wrote
        else:
            assert ([], Phase.RINGING) == (wrote, self.machine.phase)

    @rule(verdict=st.sampled_from(list(Decision)))
    def decide_late(self, verdict: Decision) -> None:
        """A decision for a call that is not waiting (it ended while the program ran) changes nothing."""
        phase, timer = self.machine.phase, self.machine.get_timer()
        stale = self.last_answered + 1000
        effects = self.machine.decide(self.now, stale, verdict)
        assert ["call.decision_late"] == [e.event for e in effects if isinstance(e, Report)]
        assert (len(effects), phase, timer) == (1, self.machine.phase, self.machine.get_timer())

    @precondition(lambda self: self.machine.phase is Phase.CLAIMING)
    @rule()
    def line_claimed(self) -> None:
        """The shell holds the line again: the machine does what it claimed it for."""
        self.apply(self.machine.line_claimed(self.now), Phase.CLAIMING, claimed=True)
        assert self.machine.phase in (Phase.PROBING, Phase.REOPENING)

    @precondition(lambda self: self.machine.phase in (Phase.IDLE, Phase.CLAIMING, Phase.PROBING))
    @rule()
    def dial_out(self) -> None:
        """A dial-out program took the line while idle: the machine lets go and waits for port_opened."""
        self.apply(self.machine.suspend(self.now, "dial-out"), self.machine.phase)
        assert Phase.REOPENING == self.machine.phase

    @precondition(lambda self: self.machine.phase in (Phase.IDLE, Phase.CLAIMING))
    @rule()
    def reload(self) -> None:
        """A reload while idle: the machine claims the line (or keeps claiming it) to re-initialise."""
        phase = self.machine.phase
        self.apply(self.machine.reinitialize(self.now), phase)
        assert Phase.CLAIMING == self.machine.phase

    @precondition(lambda self: self.machine.phase is Phase.CONNECTED)
    @rule(outcome=st.sampled_from(list(Outcome)))
    def call_finished(self, outcome: Outcome) -> None:
        """The shell's part of the call ends; the answered call gets its one CallEnded."""
        call_id = self.open_call
        effects = self.machine.call_finished(self.now, outcome=outcome, user="u", exit_status=0)
        self.apply(effects, Phase.CONNECTED)
        assert [call_id] == [e.record.call_id for e in effects if isinstance(e, CallEnded)]

    @precondition(lambda self: self.machine.phase in (Phase.OPENING, Phase.REOPENING))
    @rule(dtr_hangs_up=st.booleans())
    def port_opened(self, dtr_hangs_up: bool) -> None:
        """The shell reopened the port."""
        self.apply(self.machine.port_opened(self.now, dtr_hangs_up=dtr_hangs_up), self.machine.phase)

    @precondition(lambda self: self.machine.reading)
    @rule()
    def port_lost(self) -> None:
        """The device hung up under the machine."""
        self.apply(self.machine.port_lost(self.now), self.machine.phase)
        assert Phase.REOPENING == self.machine.phase

    # ------------------------------------------------------------------ invariants

    @invariant()
    def timer_is_not_in_the_past(self) -> None:
        """get_timer() is never before the last input's now."""
        timer = self.machine.get_timer()
        assert timer is None or timer >= self.now

    @invariant()
    def ready_at_most_once(self) -> None:
        """Ready is sent at most once in the machine's life."""
        assert self.ready <= 1

    @invariant()
    def dtr_high_when_idle(self) -> None:
        """DTR is up whenever the machine waits for RING."""
        assert self.dtr_high or self.machine.phase is not Phase.IDLE

    @invariant()
    def awaiting_matches_the_machine(self) -> None:
        """The model and the machine agree on whether a decision is outstanding."""
        assert self.awaiting == (self.machine.awaiting_decision is not None)

    @invariant()
    def answered_call_open_only_while_connected(self) -> None:
        """An answered call is open exactly while the phase is CONNECTED."""
        assert (self.open_call is not None) == (self.machine.phase is Phase.CONNECTED)

    def teardown(self) -> None:
        """Finish a call still connected; then no answered call is left without its CallEnded."""
        if self.machine.phase is Phase.CONNECTED:
            self.call_finished(Outcome.ANSWERED)
        assert self.open_call is None


class ProductionRules(AnswerMachineRules):
    """The same model, every run from IDLE with the gate and the health check on.

    Swarm testing switches rules off per run and many rules need a phase, so runs that mix profiles reach
    ``AnswerPending`` and the decision rarely; this one spends its budget there.
    """

    production_only = True


AnswerMachineRules.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
TestAnswerMachineRules = AnswerMachineRules.TestCase
ProductionRules.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
TestProductionRules = ProductionRules.TestCase


# --------------------------------------------------------------------------------------------- chunking


@st.composite
def transcripts(draw: st.DrawFn) -> tuple[bytes, bytes, bytes]:
    """A whole session as the modem sends it: init, two RINGs with caller ID, carrier reports, CONNECT.

    Returns the bytes, the CONNECT line's terminator and the caller bytes that follow it.
    """
    echo = draw(st.booleans())
    texts: list[str] = []
    texts += ["ATZ"] if echo else []
    texts += [draw(st.sampled_from(["OK", "0"]))]
    texts += ["ATE0Q0V1&C1&D2S0=0"] if echo else []
    texts += ["OK", "RING"]
    texts += draw(st.lists(st.sampled_from(CALLER_ID_LINES), max_size=4))
    texts += [draw(st.sampled_from(RING_LINES))]
    texts += draw(st.lists(st.sampled_from(["CARRIER 28800", "PROTOCOL: LAP-M", "COMPRESSION: V.42BIS"]), max_size=3))
    data = b"".join(text.encode() + draw(terminators) for text in texts)
    end = draw(terminators)
    trailing = draw(caller_bytes)
    return data + draw(st.sampled_from(CONNECT_LINES)).encode() + end + trailing, end, trailing


def cut(data: bytes, cuts: list[int]) -> list[bytes]:
    """Split ``data`` at the given offsets (sorted, deduplicated, clipped to the data)."""
    points = sorted({min(c, len(data)) for c in cuts})
    return [data[a:b] for a, b in zip([0, *points], [*points, len(data)], strict=True) if a < b]


def run(chunks: list[bytes]) -> tuple[list[Effect], bytes]:
    """Feed the chunks to a fresh machine while it reads; return its effects and the bytes it never read."""
    machine = AnswerMachine(Profile(toggle_dtr=False, rings=2))
    effects = machine.port_opened(0.0)
    unread = b""
    for chunk in chunks:
        if machine.reading:
            effects += machine.receive_data(chunk, 1.0)
        else:
            unread += chunk
    assert Phase.CONNECTED == machine.phase
    return effects, unread


def without_trailing(effects: list[Effect]) -> tuple[list[Effect], bytes]:
    """Split off what depends on the reads, so chunkings compare.

    That is Answered.trailing_data (and its count in call.connected), and the ReleaseLine after each read
    that leaves the machine idle (the shell took the line for that read; the stateful model checks those).
    """
    rest = b""
    out: list[Effect] = []
    for effect in effects:
        if isinstance(effect, ReleaseLine):
            continue
        if isinstance(effect, Answered):
            rest = effect.trailing_data
            out.append(Answered(connect=effect.connect, call=effect.call, carrier_details=effect.carrier_details))
        elif isinstance(effect, Report) and effect.event == "call.connected":
            out.append(Report(event=effect.event, fields=tuple(f for f in effect.fields if f[0] != "trailing_bytes")))
        else:
            out.append(effect)
    return out, rest


@settings(max_examples=200, deadline=None)
@given(transcript=transcripts(), cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=30))
def test_chunking_does_not_change_the_effects(transcript: tuple[bytes, bytes, bytes], cuts: list[int]) -> None:
    """The same modem output in any chunking gives the same effects; the caller's bytes reach the shell."""
    data, end, trailing = transcript
    whole, whole_rest = without_trailing(run([data])[0])
    chunked_effects, unread = run(cut(data, cuts))
    chunked, chunked_rest = without_trailing(chunked_effects)
    assert whole == chunked
    assert trailing == whole_rest
    # Chunked: the caller's bytes are split between trailing_data and later reads, possibly behind the rest
    # of the modem's own line ending (which only take_rest can drop when it is in the same read).
    joined = chunked_rest + unread
    assert joined.endswith(trailing)
    assert end[1:].endswith(joined[: len(joined) - len(trailing)])


@settings(max_examples=100, deadline=None)
@given(transcript=transcripts())
def test_one_byte_at_a_time_is_the_same_as_whole(transcript: tuple[bytes, bytes, bytes]) -> None:
    """The extreme chunking, one byte per read, changes nothing but where trailing bytes are delivered."""
    data, _, _ = transcript
    whole = without_trailing(run([data])[0])[0]
    assert whole == without_trailing(run([bytes([b]) for b in data])[0])[0]
