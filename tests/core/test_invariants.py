"""Hypothesis invariants of the core's byte parsers and machines: chunking invariance, and no line input raises.

Two promises hold for every parser that reads bytes from the line (``answerd.core.hayes.lines`` rule 4,
``framed``, ``_ppp``, ``_login``): what it finds depends only on the byte stream, never on how the reads cut
it; and nothing the line sends raises in any phase (``answerd.core._errors``: only the shell's misuse raises
``LocalProtocolError``, h11-style). The second is checked h2-style, for every phase x every input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from answerd.core import (
    AnswerMachine,
    Decision,
    LocalProtocolError,
    Outcome,
    Phase,
    Profile,
    Write,
    parse_chat,
)
from answerd.core._login import LoginDialog
from answerd.core._login_results import LoginPhase, NameEntered
from answerd.core._phases import LEGAL_INPUTS, READING
from answerd.core._ppp import LcpDetector, PppDetected, SilentWindow, WindowPhase
from answerd.core.hayes.cid import CallerInfo, decode_mesg, merge_caller_id
from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import CallerIdField, Garbage, Ring
from answerd.core.hayes.framed import FramedResultDetector
from answerd.core.hayes.lines import LineSplitter

# --- streams and cuts -----------------------------------------------------------------------------------

#: Pieces that matter to some parser: line ends, result codes, caller ID, an LCP frame start, edits.
PIECES = [
    b"\r", b"\n", b"\r\n", b"\x8d", b"OK", b"RING", b"NO CARRIER", b"CONNECT 9600", b"NMBR = 5551234",
    b"MESG = 80 0F 01 08 30 33 32 31 31 34 30 35 02 03 31 32 33 3D", b"joe", b"-f root", b"\x7e", b"\xff",
    b"\x7d\x23", b"\x03", b"\xc0", b"\x21", b"\x7d", b"\x08", b"\x15", b"\x03", b"\x04", b"3", b" ", b"\x00",
]  # fmt: skip
streams = st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=8)), max_size=40).map(b"".join)
cut_lists = st.lists(st.integers(min_value=0, max_value=600), max_size=12)


def cut(stream: bytes, cuts: Sequence[int]) -> list[bytes]:
    """``stream`` cut at the given offsets (clipped and sorted); the pieces join to the stream."""
    points = sorted({min(point, len(stream)) for point in cuts})
    edges = [0, *points, len(stream)]
    return [stream[a:b] for a, b in pairwise(edges)]


# --- what each parser reports, fed chunks -----------------------------------------------------------------


def splitter_items(chunks: list[bytes]) -> list[str | Garbage]:
    """Every line and Garbage the splitter returns, draining after each read."""
    splitter = LineSplitter(max_line=64)
    items: list[str | Garbage] = []
    for chunk in chunks:
        splitter.receive_data(chunk)
        while (item := splitter.next_line()) is not None:
            items.append(item)
    return items


def classified(chunks: list[bytes]) -> list[object]:
    """The classifier's events for the splitter's lines."""
    return [item if isinstance(item, Garbage) else classify(item) for item in splitter_items(chunks)]


def caller_record(chunks: list[bytes]) -> CallerInfo | None:
    """The caller-ID record merged from the classified lines (MESG decoded on the way)."""
    info: CallerInfo | None = None
    for event in classified(chunks):
        if isinstance(event, CallerIdField | Ring):
            info = merge_caller_id(info, event)
    return info


def framed_results(chunks: list[bytes]) -> list[object]:
    """Every framed modem result the detector reports (V0 on, so numeric frames count too)."""
    detector = FramedResultDetector(numeric=True)
    return [result for chunk in chunks for result in detector.feed(chunk)]


def lcp_match(chunks: list[bytes]) -> object:
    """Where the LCP detector finds its frame start, if it does."""
    detector = LcpDetector()
    for chunk in chunks:
        found = detector.feed(chunk)
        if found is not None:
            return found
    return None


def dialog_transcript(chunks: list[bytes]) -> tuple[bytes, object, bytes]:
    """The login dialog's echo, its result, and the bytes it leaves for the program (or not yet fed)."""
    dialog = LoginDialog(issue=b"", prompt=b"login: ", result_guard_s=0.1)
    dialog.start(0.0)
    echo = b""
    result: object = None
    rest = b""
    for index, chunk in enumerate(chunks):
        if dialog.done:
            rest = b"".join(chunks[index:])
            break
        for output in dialog.receive_data(chunk, 0.0):
            if isinstance(output, Write):
                echo += output.data
            else:
                result = output
    if not dialog.done:
        for output in dialog.handle_timer(1.0):  # the guard of a held name ends; the login time does not
            result = output
    if isinstance(result, PppDetected):
        result = PppDetected(trailing=result.trailing + rest)
    return echo, result, dialog.trailing_data + rest


PARSERS: dict[str, Callable[[list[bytes]], object]] = {
    "line splitter": splitter_items,
    "classifier via the splitter": classified,
    "caller ID with MESG": caller_record,
    "framed-result detector": framed_results,
    "PPP detector": lcp_match,
    "login dialog": dialog_transcript,
}


class TestChunkingInvariance:
    """What a byte parser finds depends on the stream only, not on how reads cut it."""

    @pytest.mark.parametrize("parse", PARSERS.values(), ids=PARSERS.keys())
    @given(stream=streams, cuts=cut_lists)
    @settings(max_examples=150, deadline=None)
    def test_any_cuts_give_what_one_read_gives(
        self, parse: Callable[[list[bytes]], Any], stream: bytes, cuts: list[int]
    ) -> None:
        """Fed in arbitrary pieces, the parser reports exactly what it reports for the whole stream."""
        assert parse([stream]) == parse(cut(stream, cuts))

    @pytest.mark.parametrize("parse", PARSERS.values(), ids=PARSERS.keys())
    @given(stream=streams)
    @settings(max_examples=60, deadline=None)
    def test_byte_at_a_time_gives_what_one_read_gives(self, parse: Callable[[list[bytes]], Any], stream: bytes) -> None:
        """Fed one byte per read (a slow line), the parser reports what it reports for the whole stream."""
        assert parse([stream]) == parse([bytes((byte,)) for byte in stream])

    @given(hex_pairs=st.lists(st.integers(min_value=0, max_value=255), max_size=40), spaced=st.booleans())
    def test_mesg_hex_does_not_depend_on_blanks_or_case(self, hex_pairs: list[int], spaced: bool) -> None:
        """A MESG value decodes the same with or without blanks between its hex pairs, in either case."""
        compact = bytes(hex_pairs).hex().upper()
        loose = (" " if spaced else "").join(f"{pair:02x}" for pair in hex_pairs)
        assert decode_mesg(compact) == decode_mesg(loose)


# --- every phase x every input (h2's state-machine test) --------------------------------------------------


def _initialised(profile: Profile) -> AnswerMachine:
    machine = AnswerMachine(profile)
    machine.port_opened(0.0)
    machine.receive_data(b"OK\r\nOK\r\n", 0.1)
    assert machine.phase is Phase.IDLE
    return machine


def _ringing(profile: Profile) -> AnswerMachine:
    machine = _initialised(profile)
    machine.receive_data(b"RING\r\n", 1.0)
    return machine


def _reach(phase: Phase) -> AnswerMachine:
    """A machine in ``phase``, reached through the shell's and the modem's ordinary inputs."""
    quiet = Profile(toggle_dtr=False)
    match phase:
        case Phase.OPENING:
            machine = AnswerMachine(quiet)
        case Phase.RESETTING:
            machine = AnswerMachine(Profile())
            machine.port_opened(0.0)
        case Phase.INITIALIZING:
            machine = AnswerMachine(quiet)
            machine.port_opened(0.0)
        case Phase.RETRY_WAIT:
            machine = AnswerMachine(quiet)
            machine.port_opened(0.0)
            machine.receive_data(b"ERROR\r\n", 0.1)
        case Phase.FAILED:
            machine = AnswerMachine(Profile(toggle_dtr=False, init_retries=1))
            machine.port_opened(0.0)
            machine.receive_data(b"ERROR\r\n", 0.1)
        case Phase.IDLE:
            machine = _initialised(quiet)
        case Phase.CLAIMING | Phase.PROBING:
            machine = _initialised(Profile(toggle_dtr=False, health_check_s=30.0))
            machine.handle_timer(31.0)
            if phase is Phase.PROBING:
                machine.line_claimed(31.0)
        case Phase.RINGING:
            machine = _ringing(Profile(toggle_dtr=False, rings=2))
        case Phase.PREPARING:
            machine = _ringing(Profile(toggle_dtr=False, answer_gate=True))
            call_id = machine.awaiting_decision
            assert call_id is not None
            machine.decide(1.0, call_id, Decision.ACCEPT, chat=parse_chat(["", "AT+MS=V34", "OK"]))
        case Phase.ANSWERING:
            machine = _ringing(quiet)
        case Phase.CONNECTED | Phase.REOPENING:
            machine = _ringing(quiet)
            machine.receive_data(b"CONNECT 9600\r\n", 2.0)
            if phase is Phase.REOPENING:
                machine.call_finished(3.0, outcome=Outcome.ANSWERED)
        case Phase.HANGING_UP:
            machine = _ringing(Profile(toggle_dtr=False, hangup_dtr_s=0.5))
            machine.receive_data(b"CONNECT 9600\r\n", 2.0)
            machine.call_finished(3.0, outcome=Outcome.ANSWERED)
        case Phase.STOPPED:
            machine = _initialised(quiet)
            machine.shutdown(1.0)
    assert machine.phase is phase
    return machine


#: Every input the shell gives the machine, with arguments; the guarded ones are named as in LEGAL_INPUTS.
INPUTS: dict[str, Callable[[AnswerMachine, bytes], object]] = {
    "receive_data": lambda machine, data: machine.receive_data(data, 5.0),
    "port_lost": lambda machine, data: machine.port_lost(5.0),
    "port_opened": lambda machine, data: machine.port_opened(5.0),
    "call_finished": lambda machine, data: machine.call_finished(5.0, outcome=Outcome.ANSWERED),
    "shutdown": lambda machine, data: machine.shutdown(5.0),
    "set_profile": lambda machine, data: machine.set_profile(Profile()),
    "reinitialize": lambda machine, data: machine.reinitialize(5.0),
    "line_claimed": lambda machine, data: machine.line_claimed(5.0),
    "suspend": lambda machine, data: machine.suspend(5.0, "dial-out"),
    "handle_timer": lambda machine, data: machine.handle_timer(1000.0),
    "decide": lambda machine, data: machine.decide(5.0, 1, Decision.ACCEPT),
    "answer_now": lambda machine, data: machine.answer_now(5.0),
}
PAIRS = [(phase, name) for phase in Phase for name in INPUTS]


class TestEveryPhaseEveryInput:
    """h2's state-machine test: each phase x each input either works or is the shell's documented misuse."""

    @pytest.mark.parametrize(("phase", "name"), PAIRS, ids=[f"{p.value}-{n}" for p, n in PAIRS])
    def test_legal_inputs_work_and_others_raise_the_protocol_error(self, phase: Phase, name: str) -> None:
        """An input the phase takes never raises; any other raises LocalProtocolError and changes nothing."""
        machine = _reach(phase)
        legal = phase in LEGAL_INPUTS.get(name, frozenset(Phase))
        if legal:
            INPUTS[name](machine, b"RING\r\n")
        else:
            with pytest.raises(LocalProtocolError):
                INPUTS[name](machine, b"RING\r\n")
            assert machine.phase is phase

    @pytest.mark.parametrize("phase", sorted(READING, key=lambda p: p.value), ids=lambda p: p.value)
    @given(chunks=st.lists(st.one_of(st.sampled_from(PIECES), st.binary(max_size=300)), max_size=12))
    @settings(max_examples=60, deadline=None)
    def test_no_bytes_from_the_line_raise_in_a_reading_phase(self, phase: Phase, chunks: list[bytes]) -> None:
        """In every phase that reads the line, any bytes in any reads never raise (until the phase stops reading)."""
        machine = _reach(phase)
        now = 5.0
        for chunk in chunks:
            if not machine.reading:
                break
            machine.receive_data(chunk + b"\r\n", now)
            now += 0.5

    @pytest.mark.parametrize("phase", sorted(set(Phase) - READING, key=lambda p: p.value), ids=lambda p: p.value)
    @given(data=st.binary(min_size=1, max_size=64))
    @settings(max_examples=20, deadline=None)
    def test_bytes_in_a_phase_that_does_not_read_are_the_shells_misuse(self, phase: Phase, data: bytes) -> None:
        """Feeding bytes where the machine does not read the line raises only LocalProtocolError, phase kept."""
        machine = _reach(phase)
        with pytest.raises(LocalProtocolError):
            machine.receive_data(data, 5.0)
        assert machine.phase is phase


def _dialog_in(phase: LoginPhase) -> LoginDialog:
    dialog = LoginDialog(issue=b"", prompt=b"login: ")
    if phase is not LoginPhase.NEW:
        dialog.start(0.0)
    if phase is LoginPhase.CONFIRMING:
        dialog.receive_data(b"joe\r", 1.0)
    if phase is LoginPhase.DONE:
        dialog.receive_data(b"\x04", 1.0)
    assert dialog.phase is phase
    return dialog


DIALOG_LEGAL = {"start": {LoginPhase.NEW}, "data": {LoginPhase.READING, LoginPhase.CONFIRMING}}
DIALOG_LEGAL["timer"] = DIALOG_LEGAL["data"]


class TestLoginDialogPhases:
    """The login dialog: each phase x each input, and any bytes in the phases that read."""

    @pytest.mark.parametrize("phase", list(LoginPhase), ids=lambda p: p.value)
    @pytest.mark.parametrize("kind", ["start", "data", "timer"])
    def test_each_phase_takes_its_inputs_and_refuses_the_rest(self, phase: LoginPhase, kind: str) -> None:
        """start, data and timer work where the dialog's table allows them and raise LocalProtocolError elsewhere."""
        dialog = _dialog_in(phase)
        call = {
            "start": lambda: dialog.start(2.0),
            "data": lambda: dialog.receive_data(b"x", 2.0),
            "timer": lambda: dialog.handle_timer(2.0),
        }[kind]
        if phase in DIALOG_LEGAL[kind]:
            call()
        else:
            with pytest.raises(LocalProtocolError):
                call()
            assert dialog.phase is phase

    @pytest.mark.parametrize("phase", [LoginPhase.READING, LoginPhase.CONFIRMING], ids=lambda p: p.value)
    @given(chunks=st.lists(st.binary(max_size=200), max_size=10), step=st.floats(min_value=0, max_value=100))
    @settings(max_examples=80, deadline=None)
    def test_no_bytes_from_the_line_raise(self, phase: LoginPhase, chunks: list[bytes], step: float) -> None:
        """Any bytes at any times, while the dialog reads, never raise; any name it hands on is safe."""
        dialog = _dialog_in(phase)
        now = 1.0
        for chunk in chunks:
            if dialog.done:
                break
            for output in dialog.receive_data(chunk, now):
                if isinstance(output, NameEntered):
                    assert output.name.isprintable()
                    assert not output.name.startswith("-")
            now += step


class TestSilentWindowPhases:
    """The silent window: its three phases x its inputs."""

    @given(chunks=st.lists(st.binary(max_size=100), max_size=10))
    @settings(max_examples=50, deadline=None)
    def test_no_bytes_raise_while_waiting(self, chunks: list[bytes]) -> None:
        """Any bytes while the window waits never raise; once done, more input is the shell's misuse."""
        window = SilentWindow(1.0, max_buffer=64)
        window.start(0.0)
        for chunk in chunks:
            if window.phase is WindowPhase.DONE:
                break
            window.receive_data(chunk, 0.5)
        if window.phase is WindowPhase.DONE:
            with pytest.raises(LocalProtocolError):
                window.receive_data(b"x", 0.5)

    def test_input_before_start_is_the_shells_misuse(self) -> None:
        """Data or a timer before start raise LocalProtocolError and leave the window new."""
        window = SilentWindow(1.0)
        for call in (lambda: window.receive_data(b"x", 0.0), lambda: window.handle_timer(0.0)):
            with pytest.raises(LocalProtocolError):
                call()
        assert window.phase is WindowPhase.NEW
