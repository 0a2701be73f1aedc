"""The pure simulated modem: commands, results, ringing, answering, data mode, escape, DTR, faults.

Time is injected: a test jumps to the next deadline with ``handle_timer(get_timer())``; nothing sleeps.
"""

from __future__ import annotations

import ast
import itertools
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

import answerd.sim
from answerd.core.hayes.cid import AbsenceReason, CallerInfo, merge_caller_id
from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import CallerIdField, Ring
from answerd.core.hayes.lines import LineSplitter
from answerd.sim import (
    Action,
    CarrierLost,
    CidFormat,
    Defaults,
    DropCaller,
    Identity,
    Log,
    ModemMode,
    ModemProfile,
    ResultCode,
    Results,
    SimModem,
    ToCaller,
    ToDte,
)
from answerd.sim.cli import build_parser, build_profile

OK = b"\r\nOK\r\n"
ERROR = b"\r\nERROR\r\n"
RING = b"\r\nRING\r\n"
NO_CARRIER = b"\r\nNO CARRIER\r\n"
CONNECT = b"\r\nCONNECT 33600/ARQ/V34/LAPM/V42BIS\r\n"


def to_dte(actions: list[Action]) -> bytes:
    """All bytes the actions send to the DTE, joined."""
    return b"".join(a.data for a in actions if isinstance(a, ToDte))


def effects(actions: list[Action]) -> list[Action]:
    """The actions without the transcript notes."""
    return [a for a in actions if not isinstance(a, Log)]


def advance(modem: SimModem) -> tuple[float, list[Action]]:
    """Jump to the modem's next deadline and fire it."""
    when = modem.get_timer()
    assert when is not None
    return when, modem.handle_timer(when)


def fire(modem: SimModem) -> tuple[float, bytes]:
    """Jump to the next deadline; return its time and what the DTE got."""
    when, actions = advance(modem)
    return when, to_dte(actions)


def make(**kwargs: object) -> SimModem:
    """A modem with echo off, so outputs are results only; ``kwargs`` are profile fields by flat name."""
    modem = SimModem(ModemProfile().override(**kwargs))
    assert OK == to_dte(modem.dte_data(b"ATE0\r", 0.0))[-len(OK) :]
    return modem


def cmd(modem: SimModem, line: str, now: float = 0.0) -> bytes:
    """Send one command line; return what the DTE gets back."""
    return to_dte(modem.dte_data(line.encode() + b"\r", now))


def online(**kwargs: object) -> SimModem:
    """A modem with a call up (answered with ATA at t=0, CONNECT at t=answer_delay)."""
    modem = make(**kwargs)
    modem.caller_arrived(0.0)
    cmd(modem, "ATA", 0.5)
    _, actions = advance(modem)
    assert CONNECT == to_dte(actions)
    assert ModemMode.ONLINE == modem.mode
    return modem


def escape(modem: SimModem, start: float = 100.0) -> list[Action]:
    """Type ``+++`` with guard times around it; return the actions up to the trailing guard."""
    modem.dte_data(b"+", start)
    modem.dte_data(b"+", start + 0.1)
    modem.dte_data(b"+", start + 0.2)
    return advance(modem)[1]


@pytest.fixture(name="modem")
def _modem() -> SimModem:
    return make()


class TestCommandLine:
    def test_echo_is_on_by_default(self) -> None:
        """A fresh modem echoes the command line before the result."""
        assert b"AT\r" + OK == to_dte(SimModem().dte_data(b"AT\r", 0.0))

    def test_e0_stops_echo(self, modem: SimModem) -> None:
        """After ATE0 only the result comes back."""
        assert OK == cmd(modem, "AT")

    @pytest.mark.parametrize("line", [b"xyzAT\r", b"at\r", b"aT\r", b"AT\r\n", b"\r\nAT\r", b"AAT\r"])
    def test_line_framing(self, modem: SimModem, line: bytes) -> None:
        """Junk before AT and LFs are ignored; lowercase works; each line gets one result."""
        assert OK == to_dte(modem.dte_data(line, 0.0))

    def test_bytes_without_at_are_ignored(self, modem: SimModem) -> None:
        """A line that never says AT gets no answer."""
        assert b"" == to_dte(modem.dte_data(b"hello\r", 0.0))

    def test_backspace_edits_the_line(self, modem: SimModem) -> None:
        """S5 (backspace) removes the last character: ATX\\b -> AT."""
        assert OK == to_dte(modem.dte_data(b"ATQ9\x08\r", 0.0))

    def test_backspace_over_t_needs_a_new_t(self, modem: SimModem) -> None:
        """Backspacing over the T of AT goes back to waiting for it."""
        assert OK == to_dte(modem.dte_data(b"AT\x08T\r", 0.0))

    def test_a_slash_repeats_last_line(self, modem: SimModem) -> None:
        """A/ runs the previous command line again without a CR."""
        first = cmd(modem, "ATI0")
        assert first == to_dte(modem.dte_data(b"A/", 1.0))

    def test_overlong_line_is_an_error(self, modem: SimModem) -> None:
        """A command line longer than 255 characters gets ERROR."""
        assert ERROR == cmd(modem, "AT" + "E0" * 200)

    def test_custom_terminator(self, modem: SimModem) -> None:
        """S3 sets the character that ends a command line."""
        cmd(modem, "ATS3=33")
        assert OK == to_dte(modem.dte_data(b"AT!", 0.0))

    @given(cuts=st.lists(st.integers(min_value=0, max_value=40), max_size=10))
    def test_chunking_does_not_matter(self, cuts: list[int]) -> None:
        """The DTE's bytes give the same output however they are split into writes."""
        script = b"ATE1\rxxATS0=2\rAT S0?\rATI3\rAT&V\r"
        whole = to_dte(SimModem().dte_data(script, 0.0))
        modem = SimModem()
        out = b""
        points = sorted({0, len(script), *(c for c in cuts if c < len(script))})
        for a, b in itertools.pairwise(points):
            out += to_dte(modem.dte_data(script[a:b], 0.0))
        assert whole == out


class TestResultCodes:
    @pytest.mark.parametrize(
        ("setup", "line", "expected"),
        [
            ("ATV0", "AT", b"0\r"),
            ("ATV0", "ATFOO", b"4\r"),
            ("ATQ1", "AT", b""),
            ("ATQ1", "ATFOO", b""),
            ("ATV0", "ATD123", b"6\r"),
            ("ATX0", "ATD123", NO_CARRIER),
            ("ATV0Q0", "ATI0", b"answerd simulated modem\r\n0\r"),
            ("ATQ1", "ATI0", b"\r\nanswerd simulated modem\r\n"),
        ],
    )
    def test_format(self, modem: SimModem, setup: str, line: str, expected: bytes) -> None:
        """Q and V choose quiet, numeric or verbose results; information text ignores Q1."""
        cmd(modem, setup)
        assert expected == cmd(modem, line)

    @pytest.mark.parametrize(
        ("code", "text"), [(ResultCode.NO_CARRIER, "NO CARRIER"), (ResultCode.NO_DIALTONE, "NO DIALTONE")]
    )
    def test_code_text(self, code: ResultCode, text: str) -> None:
        """Verbose text is the code name with spaces."""
        assert text == code.text


class TestCommands:
    @pytest.mark.parametrize(
        "line",
        [
            "AT",
            "ATZ",
            "AT&F",
            "ATE0Q0V1&C1&D2S0=0",
            "ATX0X1X2X3X4",
            "ATL0L3M0M3",
            "ATH",
            "ATH0",
            "AT&K0&K3&K6",
            "AT&W",
            "ATW0W1W2",
            "AT+VCID=0;+VCID=2",
            "AT#CID=1",
            "AT+MS=V34,1,300,33600",
            "AT+FCLASS=0",
            "AT&S1",
            "AT S7=30 S12 = 20",
        ],
    )
    def test_accepted(self, modem: SimModem, line: str) -> None:
        """Every supported command (and chains of them) answers OK."""
        assert OK == cmd(modem, line)

    @pytest.mark.parametrize(
        "line",
        [
            "ATE2",
            "ATX5",
            "ATG",
            "AT&Z",
            "AT+FOO=1",
            "AT+VCID=3",
            "AT#XYZ",
            "ATS0=256",
            "ATS0",
            "AT&D4",
            "AT\\N3",
        ],
    )
    def test_rejected(self, modem: SimModem, line: str) -> None:
        """Unknown commands and out-of-range values answer ERROR."""
        assert ERROR == cmd(modem, line)

    def test_commands_before_an_error_stay_done(self, modem: SimModem) -> None:
        """A line runs left to right: settings before the bad command are kept."""
        assert ERROR == cmd(modem, "ATS0=3XYZ")
        assert 3 == modem.register(0)

    @pytest.mark.parametrize(
        ("line", "info"),
        [
            ("ATS2?", b"043"),
            ("ATS3?", b"013"),
            ("ATS7?", b"050"),
            ("ATS12?", b"050"),
            ("AT+VCID?", b"0"),
            ("AT+VCID=?", b"(0-2)"),
            ("AT#CID?", b"0"),
            ("ATI", b"answerd simulated modem"),
            ("AT+FCLASS?", b"0"),
        ],
    )
    def test_queries(self, modem: SimModem, line: str, info: bytes) -> None:
        """Queries answer an information line, then OK."""
        assert b"\r\n" + info + b"\r\n" + OK == cmd(modem, line)

    def test_s_register_round_trip(self, modem: SimModem) -> None:
        """S<n>=<v> is read back by S<n>?."""
        assert b"\r\n002\r\n" + OK == cmd(modem, "ATS0=2S0?")

    def test_ms_is_stored(self, modem: SimModem) -> None:
        """+MS= is stored and shown by +MS?."""
        cmd(modem, "AT+MS=V34,1")
        assert b"\r\n+MS: V34,1\r\n" + OK == cmd(modem, "AT+MS?")

    @pytest.mark.parametrize("n", range(10))
    def test_identification(self, modem: SimModem, n: int) -> None:
        """I0..I9 each answer some text and OK."""
        out = cmd(modem, f"ATI{n}")
        assert out.endswith(OK)
        assert len(out) > len(OK) + 4

    def test_z_restores_the_stored_profile(self, modem: SimModem) -> None:
        """ATZ goes back to what AT&W stored (here echo off), not to factory settings."""
        cmd(modem, "ATS0=2&W")
        cmd(modem, "ATS0=5")
        cmd(modem, "ATZ")
        assert 2 == modem.register(0)
        assert OK == cmd(modem, "AT")

    def test_f_restores_factory_settings(self, modem: SimModem) -> None:
        """AT&F brings echo back on and S0 to 0."""
        cmd(modem, "ATS0=2&F")
        assert 0 == modem.register(0)
        assert b"AT\r" + OK == cmd(modem, "AT")

    def test_o_without_a_call(self, modem: SimModem) -> None:
        """ATO with no call up answers NO CARRIER."""
        assert NO_CARRIER == cmd(modem, "ATO")

    def test_h1_makes_the_line_busy(self, modem: SimModem) -> None:
        """Off-hook (ATH1), the modem takes no call until ATH0."""
        cmd(modem, "ATH1")
        assert not modem.accepts_call
        cmd(modem, "ATH0")
        assert modem.accepts_call


class TestRinging:
    def test_first_ring_comes_at_once(self, modem: SimModem) -> None:
        """A caller makes the modem report RING right away."""
        assert RING == to_dte(modem.caller_arrived(10.0))
        assert ModemMode.RINGING == modem.mode

    def test_rings_follow_the_cadence(self) -> None:
        """Later RINGs come every ring_interval seconds and count up S1."""
        modem = make(ring_interval=6.0)
        modem.caller_arrived(10.0)
        times = []
        for _ in range(3):
            when, actions = advance(modem)
            assert RING == to_dte(actions)
            times.append(when)
        assert [16.0, 22.0, 28.0] == times
        assert 4 == modem.register(1)

    def test_caller_leaving_stops_the_rings_quietly(self, modem: SimModem) -> None:
        """When the caller hangs up during ringing, rings stop with no result."""
        modem.caller_arrived(0.0)
        assert b"" == to_dte(modem.caller_left(1.0))
        assert None is modem.get_timer()
        assert modem.accepts_call

    def test_max_rings_then_the_caller_gives_up(self) -> None:
        """After max_rings unanswered rings the caller is dropped at the next ring time."""
        modem = make(max_rings=2, ring_interval=5.0)
        modem.caller_arrived(0.0)
        advance(modem)
        when, actions = advance(modem)
        assert (10.0, [DropCaller()]) == (when, effects(actions))
        assert ModemMode.IDLE == modem.mode

    @pytest.mark.parametrize("enable", ["AT+VCID=1", "AT#CID=1"])
    def test_caller_id_between_first_and_second_ring(self, enable: str) -> None:
        """With caller ID on, DATE/TIME/NMBR/NAME lines come after the first RING, before the second."""
        modem = make(caller_number="5551234", caller_name="SMITH", cid_date="1123", cid_time="0915")
        cmd(modem, enable)
        modem.caller_arrived(0.0)
        when, actions = advance(modem)
        expected = b"\r\nDATE = 1123\r\n\r\nTIME = 0915\r\n\r\nNMBR = 5551234\r\n\r\nNAME = SMITH\r\n"
        assert (3.0, expected) == (when, to_dte(actions))
        assert RING == to_dte(advance(modem)[1])

    @pytest.mark.parametrize(
        ("kwargs", "enable"),
        [({"caller_number": "5551234"}, "AT"), ({"force_cid": True}, "AT+VCID=1")],
    )
    def test_no_caller_id(self, kwargs: dict[str, object], enable: str) -> None:
        """Caller ID needs both a number and being enabled (by the DTE or forced)."""
        modem = make(**kwargs)
        cmd(modem, enable)
        modem.caller_arrived(0.0)
        assert RING == to_dte(advance(modem)[1])

    def test_forced_caller_id(self) -> None:
        """The force_cid setting sends caller ID without +VCID."""
        modem = make(caller_number="42", force_cid=True)
        modem.caller_arrived(0.0)
        assert b"NMBR = 42" in to_dte(advance(modem)[1])

    def test_unformatted_caller_id_is_a_valid_mdmf_packet(self) -> None:
        """+VCID=2 presents the raw MDMF message in hex, with a checksum that sums to zero."""
        modem = make(caller_number="5551234", cid_date="0101", cid_time="1200")
        cmd(modem, "AT+VCID=2")
        modem.caller_arrived(0.0)
        line = to_dte(advance(modem)[1]).strip().decode()
        packet = bytes.fromhex(line.removeprefix("MESG = "))
        assert (0x80, 0) == (packet[0], sum(packet) & 0xFF)
        assert b"\x02\x075551234" in packet

    def test_auto_answer_after_s0_rings(self) -> None:
        """With S0=2 the modem answers on the second ring and connects answer_delay later."""
        modem = make(answer_delay=1.0)
        cmd(modem, "ATS0=2")
        modem.caller_arrived(0.0)
        advance(modem)
        assert ModemMode.ANSWERING == modem.mode
        assert (7.0, CONNECT) == fire(modem)

    def test_no_auto_answer_while_dtr_is_low(self) -> None:
        """With &D2 and DTR low, S0 does not answer: rings go on."""
        modem = make()
        cmd(modem, "ATS0=1")
        modem.dtr_changed(False, 0.0)
        modem.caller_arrived(0.0)
        assert ModemMode.RINGING == modem.mode


class TestAnswering:
    def test_ata_connects_after_answer_delay(self) -> None:
        """ATA while ringing gives CONNECT <text> answer_delay later and goes online."""
        modem = make(answer_delay=1.5)
        modem.caller_arrived(0.0)
        assert b"" == cmd(modem, "ATA", 2.0)
        when, actions = advance(modem)
        assert (3.5, CONNECT, ModemMode.ONLINE) == (when, to_dte(actions), modem.mode)

    def test_w1_reports_before_connect(self) -> None:
        """W1 adds CARRIER/PROTOCOL/COMPRESSION lines before CONNECT (Rockwell; W2 would not)."""
        modem = make()
        cmd(modem, "ATW1")
        modem.caller_arrived(0.0)
        cmd(modem, "ATA")
        reports = b"\r\nCARRIER 33600\r\n\r\nPROTOCOL: LAP-M\r\n\r\nCOMPRESSION: V.42BIS\r\n"
        assert reports + CONNECT == to_dte(advance(modem)[1])

    @pytest.mark.parametrize(
        ("connect_text", "setup", "expected"),
        [
            ("2400", "ATV0", b"10\r"),
            ("115200/V42", "ATV0", b"19\r"),
            ("33600/ARQ", "ATV0", b"1\r"),
            ("9600", "ATV0X0", b"1\r"),
            ("9600", "ATX0", b"\r\nCONNECT\r\n"),
            ("14400/ARQ", "AT", b"\r\nCONNECT 14400/ARQ\r\n"),
        ],
    )
    def test_connect_result(self, connect_text: str, setup: str, expected: bytes) -> None:
        """CONNECT carries the configured text; numeric mode maps the rate to its code (unknown: 1)."""
        modem = make(connect_text=connect_text)
        cmd(modem, setup)
        modem.caller_arrived(0.0)
        cmd(modem, "ATA")
        assert expected == to_dte(advance(modem)[1])

    def test_ata_with_nobody_calling(self) -> None:
        """ATA on a quiet line answers NO CARRIER after idle_answer_timeout."""
        modem = make(idle_answer_timeout=2.0)
        cmd(modem, "ATA", 1.0)
        assert not modem.accepts_call
        assert (3.0, NO_CARRIER) == fire(modem)

    def test_a_character_aborts_the_answer(self) -> None:
        """A byte from the DTE during the handshake aborts it: the caller is dropped, NO CARRIER."""
        modem = make()
        modem.caller_arrived(0.0)
        cmd(modem, "ATA")
        assert [DropCaller(), ToDte(data=NO_CARRIER)] == effects(modem.dte_data(b"x", 0.5))
        assert None is modem.get_timer()

    def test_crlf_after_ata_does_not_abort(self) -> None:
        """The LF of an ATA<CR><LF> does not count as an abort key."""
        modem = make()
        modem.caller_arrived(0.0)
        modem.dte_data(b"ATA\r\n", 0.0)
        assert CONNECT == to_dte(advance(modem)[1])

    def test_caller_leaving_during_the_handshake(self) -> None:
        """If the caller hangs up while the modem answers, the DTE gets NO CARRIER at once."""
        modem = make()
        modem.caller_arrived(0.0)
        cmd(modem, "ATA")
        assert [ToDte(data=NO_CARRIER)] == effects(modem.caller_left(0.5))


class TestFaults:
    def test_answer_result_replaces_connect(self) -> None:
        """answer_result answers the call with that result and drops the caller."""
        modem = make(answer_result="NO CARRIER")
        modem.caller_arrived(0.0)
        cmd(modem, "ATA")
        assert [DropCaller(), ToDte(data=NO_CARRIER)] == effects(advance(modem)[1])
        assert ModemMode.IDLE == modem.mode

    def test_answer_result_can_be_another_connect(self) -> None:
        """An answer_result starting with CONNECT is a successful connect with that line."""
        modem = make(answer_result="CONNECT 2400")
        modem.caller_arrived(0.0)
        cmd(modem, "ATA")
        assert b"\r\nCONNECT 2400\r\n" == to_dte(advance(modem)[1])

    def test_never_connect(self) -> None:
        """never_connect: ATA gets no result and no timer."""
        modem = make(never_connect=True)
        modem.caller_arrived(0.0)
        cmd(modem, "ATA")
        assert (None, ModemMode.ANSWERING) == (modem.get_timer(), modem.mode)

    def test_error_first(self) -> None:
        """error_first=2: the first two command lines get ERROR, then commands work."""
        modem = SimModem(ModemProfile().override(error_first=2))
        outputs = [to_dte(modem.dte_data(b"ATE0\r", 0.0)) for _ in range(3)]
        assert [b"ATE0\r" + ERROR, b"ATE0\r" + ERROR, b"ATE0\r" + OK] == outputs

    def test_silent(self) -> None:
        """A silent modem neither echoes, nor answers, nor rings."""
        modem = SimModem(ModemProfile().override(silent=True))
        actions = modem.dte_data(b"AT\r", 0.0) + modem.caller_arrived(0.0)
        assert ([], None) == (effects(actions), modem.get_timer())
        assert not modem.accepts_call

    def test_set_silent_kills_and_revives_the_modem(self) -> None:
        """set_silent(True): AT gets nothing and RINGs go unreported; set_silent(False): OK and RINGs again."""
        modem = make(ring_interval=1.0)
        assert RING == to_dte(modem.caller_arrived(0.0))
        assert [Log(text="silent: the modem stops answering")] == modem.set_silent(True, 0.5)
        assert (True, [], b"") == (modem.silent, modem.set_silent(True, 0.5), cmd(modem, "AT", 0.5))
        assert b"" == fire(modem)[1]  # the line still rings, but the DTE is not told
        modem.set_silent(False, 1.5)
        assert (False, OK) == (modem.silent, cmd(modem, "AT", 1.5))
        assert RING == fire(modem)[1]

    def test_unsolicited_connect(self) -> None:
        """unsolicited_connect: a caller gets CONNECT at once, with no RING."""
        modem = make(unsolicited_connect=True)
        assert (CONNECT, ModemMode.ONLINE) == (to_dte(modem.caller_arrived(0.0)), modem.mode)


class TestOnline:
    def test_data_flows_both_ways_byte_exact(self) -> None:
        """Online, every byte value passes unchanged in both directions."""
        modem = online()
        data = bytes(range(256))
        assert [ToCaller(data=data)] == effects(modem.dte_data(data, 10.0))
        assert [ToDte(data=data)] == effects(modem.caller_data(data, 10.0))

    def test_caller_bytes_before_connect_are_discarded(self, modem: SimModem) -> None:
        """Before CONNECT nothing from the caller reaches the DTE."""
        modem.caller_arrived(0.0)
        assert [] == effects(modem.caller_data(b"hello", 0.1))

    def test_escape_to_command_mode(self) -> None:
        """+++ framed by guard times gives OK and command mode; the call stays up."""
        modem = online()
        assert OK == to_dte(escape(modem))
        assert (ModemMode.ONLINE_COMMAND, True) == (modem.mode, modem.caller_present)

    def test_plus_signs_still_reach_the_caller(self) -> None:
        """The + characters are data until proven an escape, so the caller gets them."""
        modem = online()
        assert [ToCaller(data=b"+++")] == effects(modem.dte_data(b"+++", 100.0))

    @pytest.mark.parametrize(
        "script",
        [
            [(1.5, b"x+++")],  # no guard time before
            [(100.0, b"+++"), (100.5, b"x")],  # data inside the trailing guard time
            [(100.0, b"+"), (102.0, b"+"), (102.1, b"+")],  # too slow between the +
            [(100.0, b"++++")],  # four is not three
        ],
    )
    def test_not_an_escape(self, script: list[tuple[float, bytes]]) -> None:
        """Without both guard times and exactly three quick S2 characters, it is just data."""
        modem = online()
        for now, data in script:
            modem.dte_data(data, now)
        modem.handle_timer(200.0)
        assert ModemMode.ONLINE == modem.mode

    def test_custom_escape_character_and_guard(self) -> None:
        """S2 and S12 set the escape character and guard time (1/50 s)."""
        modem = make()
        cmd(modem, "ATS2=42S12=10")
        modem.caller_arrived(0.0)
        cmd(modem, "ATA")
        advance(modem)
        modem.dte_data(b"***", 1.5)
        assert (1.7, OK) == fire(modem)

    def test_ato_returns_online(self) -> None:
        """ATO after an escape resumes data mode with CONNECT."""
        modem = online()
        escape(modem)
        assert CONNECT == cmd(modem, "ATO", 110.0)
        assert [ToCaller(data=b"AT\r")] == effects(modem.dte_data(b"AT\r", 111.0))

    def test_caller_data_in_online_command_mode_is_dropped(self) -> None:
        """While escaped to command mode, caller bytes do not reach the DTE."""
        modem = online()
        escape(modem)
        assert [] == effects(modem.caller_data(b"hi", 110.0))

    def test_ath_hangs_up(self) -> None:
        """ATH in online command mode drops DCD and the caller, then OK."""
        modem = online()
        escape(modem)
        assert [CarrierLost(), DropCaller(), ToDte(data=OK)] == effects(modem.dte_data(b"ATH\r", 110.0))
        assert modem.accepts_call

    @pytest.mark.parametrize("escaped", [False, True])
    def test_caller_leaving_is_carrier_loss(self, escaped: bool) -> None:
        """The caller hanging up gives CarrierLost first, then NO CARRIER, and command mode."""
        modem = online()
        if escaped:
            escape(modem)
        assert [CarrierLost(), ToDte(data=NO_CARRIER)] == effects(modem.caller_left(120.0))
        assert ModemMode.IDLE == modem.mode

    def test_c0_keeps_dcd_up(self) -> None:
        """With &C0 DCD is always on, so losing the carrier hangs no tty up."""
        modem = make()
        cmd(modem, "AT&C0")
        modem.caller_arrived(0.0)
        cmd(modem, "ATA")
        advance(modem)
        assert [ToDte(data=NO_CARRIER)] == effects(modem.caller_left(5.0))

    def test_caller_left_after_drop_is_ignored(self) -> None:
        """Once the modem dropped the caller, the connection closing changes nothing."""
        modem = online()
        escape(modem)
        cmd(modem, "ATH", 110.0)
        assert [] == modem.caller_left(111.0)


class TestDtr:
    def test_d0_ignores_dtr(self) -> None:
        """&D0: dropping DTR does nothing."""
        modem = online()
        escape(modem)
        cmd(modem, "AT&D0O", 110.0)
        assert [] == effects(modem.dtr_changed(False, 111.0))
        assert ModemMode.ONLINE == modem.mode

    def test_d1_goes_to_command_mode(self) -> None:
        """&D1: dropping DTR online returns to command mode with OK; the call stays up."""
        modem = online()
        escape(modem)
        cmd(modem, "AT&D1O", 110.0)
        assert [ToDte(data=OK)] == effects(modem.dtr_changed(False, 111.0))
        assert ModemMode.ONLINE_COMMAND == modem.mode

    def test_d2_hangs_up(self) -> None:
        """&D2 (default): dropping DTR online hangs up: CarrierLost, DropCaller, NO CARRIER."""
        modem = online()
        assert [CarrierLost(), DropCaller(), ToDte(data=NO_CARRIER)] == effects(modem.dtr_changed(False, 9.0))
        assert (ModemMode.IDLE, True) == (modem.mode, modem.accepts_call)

    def test_d3_hangs_up_and_resets(self) -> None:
        """&D3: like &D2, then the stored profile is restored (echo back on)."""
        modem = online()
        escape(modem)
        cmd(modem, "AT&D3O", 110.0)
        assert NO_CARRIER == to_dte(modem.dtr_changed(False, 111.0))
        assert b"AT\r" + OK == cmd(modem, "AT", 112.0)

    def test_dtr_drop_aborts_an_answer(self) -> None:
        """&D2: dropping DTR during the handshake aborts it and drops the caller."""
        modem = make()
        modem.caller_arrived(0.0)
        cmd(modem, "ATA")
        assert [DropCaller(), ToDte(data=NO_CARRIER)] == effects(modem.dtr_changed(False, 0.5))

    def test_dtr_drop_while_idle_is_quiet(self, modem: SimModem) -> None:
        """Dropping and raising DTR with no call changes nothing the DTE can see."""
        assert [] == effects(modem.dtr_changed(False, 0.0) + modem.dtr_changed(True, 1.0))


class TestTimers:
    def test_no_timer_when_idle(self, modem: SimModem) -> None:
        """An idle modem has nothing scheduled."""
        assert None is modem.get_timer()

    def test_late_timer_catches_up(self) -> None:
        """handle_timer far past several deadlines fires them all, in order."""
        modem = make(ring_interval=1.0)
        modem.caller_arrived(0.0)
        assert RING * 3 == to_dte(modem.handle_timer(3.5))
        assert 4.0 == modem.get_timer()

    def test_early_call_does_nothing(self) -> None:
        """handle_timer before the deadline fires nothing."""
        modem = make()
        modem.caller_arrived(0.0)
        assert [] == modem.handle_timer(1.0)


def heard_caller(modem: SimModem) -> tuple[CallerInfo, list[str]]:
    """Ring, run the clock to the second ring (6 s); classify and merge everything the DTE got."""
    data = to_dte(modem.caller_arrived(0.0)) + to_dte(modem.handle_timer(6.0))
    splitter = LineSplitter()
    splitter.receive_data(data)
    lines: list[str] = []
    info = CallerInfo()
    while (line := splitter.next_line()) is not None:
        assert isinstance(line, str)
        if not line:
            continue
        lines.append(line)
        event = classify(line)
        if isinstance(event, CallerIdField | Ring):
            info = merge_caller_id(info, event)
    return info, lines


#: (format, settings, the caller-ID lines the DTE sees, what merging them gives)
CID_FORMATS: list[tuple[CidFormat, dict[str, object], list[str], CallerInfo]] = [
    (
        CidFormat.ROCKWELL,
        {"caller_name": "SMITH"},
        ["DATE = 0321", "TIME = 1405", "NMBR = 5551234", "NAME = SMITH"],
        CallerInfo(number="5551234", name="SMITH", date="0321", time="1405"),
    ),
    (
        CidFormat.MDMF,
        {"caller_name": "SMITH"},
        ["MESG = 801A010830333231313430350207353535313233340705534D495448CA"],
        CallerInfo(number="5551234", name="SMITH", date="0321", time="1405"),
    ),
    (
        CidFormat.SDMF,
        {"caller_name": "SMITH"},
        ["MESG = 040F303332313134303535353531323334F4"],
        CallerInfo(number="5551234", date="0321", time="1405"),
    ),
    (CidFormat.ELSA, {}, ["RING;5551234", "RING;5551234"], CallerInfo(number="5551234")),
    (CidFormat.ZYXEL, {}, ["FM:5551234"], CallerInfo(number="5551234")),
    (CidFormat.CLIP, {}, ['+CLIP: "5551234",129'], CallerInfo(number="5551234")),
    (CidFormat.CLIP, {"caller_number": "+4989123"}, ['+CLIP: "+4989123",145'], CallerInfo(number="+4989123")),
    (CidFormat.CLIP_HUAWEI, {}, ['+CLIP: "5551234",129,,,,0'], CallerInfo(number="5551234")),
    (
        CidFormat.CLIP,
        {"caller_name": "SMITH"},
        ['+CLIP: "5551234",129,,,"SMITH"'],
        CallerInfo(number="5551234", name="SMITH"),
    ),
    (
        CidFormat.CLIP_HUAWEI,
        {"caller_name": "SMITH"},
        ['+CLIP: "5551234",129,,,"SMITH",0'],
        CallerInfo(number="5551234", name="SMITH"),
    ),
    (CidFormat.DDN, {}, ["DDN_NMBR= 5551234"], CallerInfo(number="5551234")),
    (CidFormat.US_ROBOTICS, {}, ["DDN_NMBR= 5551234"], CallerInfo(number="5551234")),
    (
        CidFormat.CALLER_NUMBER,
        {"caller_name": "SMITH"},
        ["CALLER NUMBER: 5551234", "CALLER NAME: SMITH"],
        CallerInfo(number="5551234", name="SMITH"),
    ),
    (CidFormat.NBR, {}, ["NBR=5551234"], CallerInfo(number="5551234")),
    (CidFormat.DIGITS, {}, ["5551234"], CallerInfo(number="5551234")),
    (
        CidFormat.PRIVATE,
        {"caller_number": None},
        ["DATE = 0321", "TIME = 1405", "NMBR = P"],
        CallerInfo(reason_number=AbsenceReason.PRIVATE, date="0321", time="1405"),
    ),
    (
        CidFormat.OUT_OF_AREA,
        {"caller_number": None},
        ["DATE = 0321", "TIME = 1405", "NMBR = O"],
        CallerInfo(reason_number=AbsenceReason.OUT_OF_AREA, date="0321", time="1405"),
    ),
]


class TestCallerIdFormats:
    """Each cid_format sends its dialect, and answerd's classifier reads the caller back from it."""

    @pytest.mark.parametrize(
        ("fmt", "kwargs", "lines", "expected"),
        CID_FORMATS,
        ids=[f"{row[0].name}-{i}" for i, row in enumerate(CID_FORMATS)],
    )
    def test_round_trip(
        self, fmt: CidFormat, kwargs: dict[str, object], lines: list[str], expected: CallerInfo
    ) -> None:
        """The format's lines come between the first two rings and classify to the caller."""
        settings: dict[str, object] = {"caller_number": "5551234", "cid_date": "0321", "cid_time": "1405"}
        modem = make(**{**settings, "cid_format": fmt, **kwargs})
        cmd(modem, "AT+VCID=1")

        info, heard = heard_caller(modem)

        assert (lines, expected) == ([line for line in heard if line != "RING"], info)

    def test_every_format_is_covered(self) -> None:
        """The table has a row for every format."""
        assert set(CidFormat) == {row[0] for row in CID_FORMATS}

    def test_vcid_2_turns_rockwell_into_mdmf(self) -> None:
        """+VCID=2 asks for the raw packet; the answer decodes to the caller."""
        modem = make(caller_number="5551234", caller_name="SMITH", cid_date="0101", cid_time="1200")
        cmd(modem, "AT+VCID=2")

        assert CallerInfo(number="5551234", name="SMITH", date="0101", time="1200") == heard_caller(modem)[0]

    def test_vcid_2_keeps_another_format(self) -> None:
        """A non-Rockwell format is sent as configured whatever +VCID says."""
        modem = make(caller_number="5551234", cid_format=CidFormat.ZYXEL)
        cmd(modem, "AT+VCID=2")

        assert ["RING", "FM:5551234", "RING"] == heard_caller(modem)[1]

    def test_disabled_caller_id_sends_nothing(self) -> None:
        """Without +VCID (and not forced) no format sends anything, ELSA rings stay plain."""
        for fmt in CidFormat:
            modem = make(caller_number="5551234", cid_format=fmt)
            assert ["RING", "RING"] == heard_caller(modem)[1], fmt

    def test_elsa_numeric_ring_stays_2(self) -> None:
        """In numeric mode (V0) an ELSA RING is still the code 2."""
        modem = make(caller_number="5551234", cid_format=CidFormat.ELSA, force_cid=True)
        cmd(modem, "ATV0")

        assert b"2\r" == to_dte(modem.caller_arrived(0.0))

    def test_private_without_a_number(self) -> None:
        """PRIVATE and OUT_OF_AREA send caller ID without any caller_number."""
        modem = make(cid_format=CidFormat.PRIVATE, force_cid=True)

        assert "NMBR = P" in heard_caller(modem)[1]

    def test_long_name_still_makes_a_valid_packet(self) -> None:
        """A 200-character name (the most a profile allows) is cut to 80 so the MDMF packet stays valid."""
        modem = make(caller_number="5551234", caller_name="N" * 200, cid_format=CidFormat.MDMF, force_cid=True)

        assert CallerInfo(number="5551234", name="N" * 64, date="0101", time="1200") == heard_caller(modem)[0]


class TestCidFormatOption:
    """answerd sim --cid-format NAME."""

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            ("rockwell", CidFormat.ROCKWELL),
            ("sdmf", CidFormat.SDMF),
            ("ELSA", CidFormat.ELSA),
            ("us-robotics", CidFormat.DDN),
            ("us_robotics", CidFormat.DDN),
            ("caller-number", CidFormat.CALLER_NUMBER),
            ("out_of_area", CidFormat.OUT_OF_AREA),
        ],
    )
    def test_parsed(self, text: str, expected: CidFormat) -> None:
        """Names are case-insensitive and accept '-' for '_'."""
        assert expected == build_parser().parse_args(["--cid-format", text]).cid_format

    def test_without_the_flag_the_profile_decides(self, tmp_path: Path) -> None:
        """No --cid-format keeps the profile's format; the flag replaces it."""
        (tmp_path / "zyxel.toml").write_text('[caller_id]\nformat = "zyxel"\n')
        profile = ["--profile", str(tmp_path / "zyxel.toml")]
        formats = [
            build_profile(build_parser().parse_args(argv), time.localtime(0)).caller_id.format
            for argv in ([], profile, [*profile, "--cid-format", "clip"])
        ]
        assert [CidFormat.ROCKWELL, CidFormat.ZYXEL, CidFormat.CLIP] == formats

    def test_unknown_is_a_usage_error(self, capsys: pytest.CaptureFixture[str]) -> None:
        """An unknown name exits 2 with the list of names."""
        with pytest.raises(SystemExit) as info:
            build_parser().parse_args(["--cid-format", "bogus"])
        assert (2, True) == (info.value.code, "choose one of: rockwell" in capsys.readouterr().err)


def modem_with(**tables: object) -> SimModem:
    """A modem whose profile has these tables (``defaults=Defaults(...)``); echo as the profile says."""
    return SimModem(ModemProfile(**tables))  # type: ignore[arg-type]


class TestProfileTables:
    """Each table of the modem profile changes what the modem does."""

    def test_defaults_echo_off(self) -> None:
        """[defaults] echo = false: a fresh modem does not echo."""
        assert OK == to_dte(modem_with(defaults=Defaults(echo=False)).dte_data(b"AT\r", 0.0))

    def test_defaults_numeric(self) -> None:
        """[defaults] verbose = false: results are numeric from power-on."""
        assert b"0\r" == to_dte(modem_with(defaults=Defaults(echo=False, verbose=False)).dte_data(b"AT\r", 0.0))

    def test_factory_reset_goes_back_to_the_profile(self) -> None:
        """AT&F restores the profile's defaults (echo off here), not the Hayes ones."""
        modem = modem_with(defaults=Defaults(echo=False))
        modem.dte_data(b"ATE1\r", 0.0)
        assert (b"AT&F\r" + OK, OK) == (cmd(modem, "AT&F"), cmd(modem, "AT"))

    def test_registers_auto_answer(self) -> None:
        """[defaults.registers] S0 = 2: the modem answers by itself on the second ring."""
        modem = modem_with(defaults=Defaults(registers={0: 2}))
        modem.caller_arrived(0.0)
        advance(modem)
        assert (ModemMode.ANSWERING, 2, 43) == (modem.mode, modem.register(0), modem.register(2))

    def test_dcd_always_on(self) -> None:
        """[defaults] dcd = 0: losing the carrier hangs no tty up, NO CARRIER still comes."""
        modem = modem_with(defaults=Defaults(dcd=0))
        modem.caller_arrived(0.0)
        modem.dte_data(b"ATA\r", 0.0)
        advance(modem)
        assert [ToDte(data=NO_CARRIER)] == effects(modem.caller_left(5.0))

    def test_dtr_ignored(self) -> None:
        """[defaults] dtr = 0: dropping DTR online keeps the call."""
        modem = modem_with(defaults=Defaults(dtr=0))
        modem.caller_arrived(0.0)
        modem.dte_data(b"ATA\r", 0.0)
        advance(modem)
        assert ([], ModemMode.ONLINE) == (effects(modem.dtr_changed(False, 5.0)), modem.mode)

    def test_result_level_0(self) -> None:
        """[defaults] result_level = 0 (X0): a bare CONNECT."""
        modem = modem_with(defaults=Defaults(echo=False, result_level=0))
        modem.caller_arrived(0.0)
        modem.dte_data(b"ATA\r", 0.0)
        assert b"\r\nCONNECT\r\n" == fire(modem)[1]

    @pytest.mark.parametrize(("setup", "expected"), [("AT", b"\r\nRING 1\r\n"), ("ATV0", b"2\r")])
    def test_ring_text(self, setup: str, expected: bytes) -> None:
        """[results] ring sets the verbose RING text; numeric mode still sends 2."""
        modem = modem_with(defaults=Defaults(echo=False), results=Results(ring="RING 1"))
        cmd(modem, setup)
        assert expected == to_dte(modem.caller_arrived(0.0))

    def test_ident(self) -> None:
        """[identity] ident answers ATI0 and AT+GMM."""
        modem = modem_with(defaults=Defaults(echo=False), identity=Identity(ident="USRobotics Sportster"))
        info = b"\r\nUSRobotics Sportster\r\n"
        assert (info + OK, info + OK) == (cmd(modem, "ATI0"), cmd(modem, "AT+GMM"))


#: The modules that must stay sans-IO (no clock, no I/O): everything but the shell and the CLI.
PURE_MODULES = ["_types", "_commands", "_caller_id", "_escape", "_profile", "_modem"]
IO_MODULES = {"asyncio", "os", "time", "socket", "select", "termios", "fcntl", "subprocess", "threading", "signal"}


@pytest.mark.parametrize("name", PURE_MODULES)
def test_pure_modules_import_no_io(name: str) -> None:
    """The modem's modules import nothing that does I/O or reads the clock."""
    source = (Path(answerd.sim.__file__).parent / f"{name}.py").read_text()
    imported = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    assert set() == imported & IO_MODULES
