"""Hypothesis properties of the answer machine: a stateful model of its invariants, and chunking invariance."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from answerd.core import (
    Answered,
    AnswerMachine,
    CallEnded,
    Effect,
    Outcome,
    Phase,
    Profile,
    Ready,
    Report,
    SetDtr,
    Write,
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

    # ------------------------------------------------------------------ bookkeeping

    def apply(self, effects: list[Effect], phase_before: Phase) -> None:
        """Check one input's effects against the invariants and update the model."""
        if phase_before is Phase.CONNECTED:
            assert [] == [e for e in effects if isinstance(e, Write)], "Write while CONNECTED"
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
                case Answered(call=call):
                    seen_answered = True
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
                case _:
                    pass

    def feed(self, line: bytes) -> list[Effect]:
        """Send one terminated line to the machine at the current time."""
        phase = self.machine.phase
        effects = self.machine.receive_data(line, self.now)
        self.apply(effects, phase)
        return effects

    # ------------------------------------------------------------------ rules

    @initialize(
        rings=st.integers(min_value=1, max_value=3),
        toggle_dtr=st.booleans(),
        retries=st.integers(min_value=1, max_value=3),
        dtr_hangs_up=st.booleans(),
        settle=st.booleans(),
    )
    def open_port(self, rings: int, toggle_dtr: bool, retries: int, dtr_hangs_up: bool, settle: bool) -> None:
        """Start with a fresh machine and open the port; with ``settle`` the modem answers OK until IDLE.

        Random lines rarely get through a whole init chat, so half the runs start from IDLE to reach calls.
        """
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
        """The phone rings; ATA goes out exactly when the count reaches profile.rings."""
        counting = self.machine.phase in (Phase.IDLE, Phase.RINGING)
        if counting:
            self.rings += 1
        effects = self.feed(line.encode() + end)
        if counting:
            wrote_ata = b"ATA\r" in [e.data for e in effects if isinstance(e, Write)]
            assert wrote_ata == (self.rings >= self.machine.profile.rings)

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
        if phase in (Phase.IDLE, Phase.RINGING, Phase.ANSWERING):
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
        assert [0] == [e.call.rings - self.machine.profile.rings for e in effects if isinstance(e, Answered)]

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
    def answered_call_open_only_while_connected(self) -> None:
        """An answered call is open exactly while the phase is CONNECTED."""
        assert (self.open_call is not None) == (self.machine.phase is Phase.CONNECTED)

    def teardown(self) -> None:
        """Finish a call still connected; then no answered call is left without its CallEnded."""
        if self.machine.phase is Phase.CONNECTED:
            self.call_finished(Outcome.ANSWERED)
        assert self.open_call is None


AnswerMachineRules.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
TestAnswerMachineRules = AnswerMachineRules.TestCase


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
    """Split off Answered.trailing_data (and its count in call.connected) so chunkings that cut it compare."""
    rest = b""
    out: list[Effect] = []
    for effect in effects:
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
