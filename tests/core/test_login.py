"""Tests for the login dialog after CONNECT (``answerd.core._login``)."""

# The style guide puts the expected value first (``assert expected == actual``); ruff's SIM300 wants the
# opposite, so it is off for this file.

from __future__ import annotations

import doctest
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from answerd.core import _login
from answerd.core._effects import Write
from answerd.core._errors import LocalProtocolError
from answerd.core._login import (
    DialogOutput,
    FailReason,
    LineEnd,
    LoginDialog,
    LoginFailed,
    LoginPhase,
    NameEntered,
)
from answerd.core._ppp import PppDetected

PROMPT = b"gate login: "
ISSUE = b"Welcome to gate\r\n"
INVALID = b"\r\nInvalid login name.\r\n" + PROMPT
WARNING = b"\r\n\aHey! Please login now. You have one minute left\r\n"


@pytest.fixture(name="dialog")
def _dialog() -> LoginDialog:
    """A started dialog with mgetty's default timing, at t=0."""
    dialog = LoginDialog(result_guard_s=0.0, issue=ISSUE, prompt=PROMPT)
    dialog.start(now=0.0)
    return dialog


def _echo(outputs: list[DialogOutput]) -> bytes:
    """Join the data of every Write."""
    return b"".join(item.data for item in outputs if isinstance(item, Write))


def _results(outputs: list[DialogOutput]) -> list[NameEntered | LoginFailed]:
    """Everything that is not a Write."""
    return [item for item in outputs if not isinstance(item, Write)]


class TestStart:
    """``start`` prints the issue and the prompt and arms the timers."""

    def test_writes_issue_then_prompt_on_a_fresh_line(self) -> None:
        """The issue comes first, then CR LF and the prompt, as in mgetty."""
        dialog = LoginDialog(result_guard_s=0.0, issue=ISSUE, prompt=PROMPT)
        assert [Write(data=ISSUE + b"\r\n" + PROMPT)] == dialog.start(now=0.0)

    def test_enters_reading(self, dialog: LoginDialog) -> None:
        """After start the dialog reads the name."""
        assert LoginPhase.READING == dialog.phase

    def test_new_dialog_has_no_timer(self) -> None:
        """Before start nothing is armed."""
        assert LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT).get_timer() is None

    def test_start_twice_raises_and_keeps_phase(self, dialog: LoginDialog) -> None:
        """Starting again is a shell bug; the phase does not change."""
        with pytest.raises(LocalProtocolError):
            dialog.start(now=1.0)
        assert LoginPhase.READING == dialog.phase

    def test_data_before_start_raises(self) -> None:
        """Bytes before start are a shell bug; the phase stays NEW."""
        dialog = LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT)
        with pytest.raises(LocalProtocolError):
            dialog.receive_data(b"x", now=0.0)
        assert LoginPhase.NEW == dialog.phase

    def test_timer_before_start_raises(self) -> None:
        """A timer before start is a shell bug; the phase stays NEW."""
        dialog = LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT)
        with pytest.raises(LocalProtocolError):
            dialog.handle_timer(now=0.0)
        assert LoginPhase.NEW == dialog.phase


class TestConstructor:
    """Nonsensical settings are refused up front."""

    @pytest.mark.parametrize(
        "kwargs",
        [{"timeout_s": 0.0}, {"timeout_s": -1.0}, {"warning_s": -1.0}, {"max_name": 0}],
    )
    def test_bad_setting_raises(self, kwargs: dict[str, float]) -> None:
        """A zero timeout, a negative warning or an empty name limit is a ValueError."""
        with pytest.raises(ValueError):
            LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT, **kwargs)  # type: ignore[arg-type]


class TestNameEntry:
    """A name ended with CR or LF is returned with the line end the terminal used."""

    def test_cr_ends_the_name(self, dialog: LoginDialog) -> None:
        """CR gives the name and LineEnd.CR (the child needs ICRNL/ONLCR)."""
        outputs = dialog.receive_data(b"joe\r", now=1.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)

    def test_lf_ends_the_name(self, dialog: LoginDialog) -> None:
        """LF gives the name and LineEnd.LF (no mapping)."""
        outputs = dialog.receive_data(b"joe\n", now=1.0)
        assert [NameEntered(name="joe", line_end=LineEnd.LF)] == _results(outputs)

    def test_name_is_echoed_then_newline(self, dialog: LoginDialog) -> None:
        """Every character is echoed, then CR LF moves to the next line."""
        assert b"joe\r\n" == _echo(dialog.receive_data(b"joe\r", now=1.0))

    def test_result_comes_last(self, dialog: LoginDialog) -> None:
        """The echo is written before the result is reported."""
        outputs = dialog.receive_data(b"joe\r", now=1.0)
        assert isinstance(outputs[-1], NameEntered)

    def test_name_across_chunks(self, dialog: LoginDialog) -> None:
        """A name typed one byte at a time is the same name."""
        for byte in b"jo":
            assert [] == _results(dialog.receive_data(bytes([byte]), now=1.0))
        outputs = dialog.receive_data(b"e\r", now=2.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)

    def test_done_after_name(self, dialog: LoginDialog) -> None:
        """The dialog is done once it returned a name."""
        dialog.receive_data(b"joe\r", now=1.0)
        assert dialog.done

    def test_bytes_after_the_name_are_trailing_data(self, dialog: LoginDialog) -> None:
        """What follows the line end in the same chunk is kept for the next program."""
        dialog.receive_data(b"joe\rsecret\r", now=1.0)
        assert b"secret\r" == dialog.trailing_data

    def test_lf_of_crlf_is_trailing_data(self, dialog: LoginDialog) -> None:
        """A CR LF terminal's LF is not part of the dialog once the name is taken."""
        dialog.receive_data(b"joe\r\n", now=1.0)
        assert b"\n" == dialog.trailing_data

    def test_surrounding_spaces_are_stripped(self, dialog: LoginDialog) -> None:
        """Leading and trailing spaces are not part of the name."""
        outputs = dialog.receive_data(b"  joe  \r", now=1.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)

    def test_inner_space_is_kept(self, dialog: LoginDialog) -> None:
        """A space inside the name is printable and kept."""
        outputs = dialog.receive_data(b"a b\r", now=1.0)
        assert [NameEntered(name="a b", line_end=LineEnd.CR)] == _results(outputs)

    def test_partial_name_shows_typing(self, dialog: LoginDialog) -> None:
        """The name typed so far is visible."""
        dialog.receive_data(b"jo", now=1.0)
        assert "jo" == dialog.partial_name


class TestEditing:
    """Editing keys behave as in mgetty and agetty."""

    @pytest.mark.parametrize("erase", [b"\x08", b"\x7f"])
    def test_erase_removes_one_character(self, dialog: LoginDialog, erase: bytes) -> None:
        """BS and DEL remove the last character."""
        outputs = dialog.receive_data(b"joex" + erase + b"\r", now=1.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)

    def test_erase_echoes_backspace_space_backspace(self, dialog: LoginDialog) -> None:
        """Erasing wipes the character on screen."""
        assert b"x\b \b" == _echo(dialog.receive_data(b"x\x7f", now=1.0))

    def test_erase_on_empty_name_echoes_nothing(self, dialog: LoginDialog) -> None:
        """There is nothing to erase at the start of the name."""
        assert b"" == _echo(dialog.receive_data(b"\x08", now=1.0))

    def test_ctrl_u_kills_the_line(self, dialog: LoginDialog) -> None:
        """Ctrl-U forgets the whole name."""
        outputs = dialog.receive_data(b"root\x15joe\r", now=1.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)

    def test_ctrl_u_erases_on_screen(self, dialog: LoginDialog) -> None:
        """Ctrl-U wipes every typed character on screen."""
        assert b"ab" + b"\b \b" * 2 == _echo(dialog.receive_data(b"ab\x15", now=1.0))

    def test_ctrl_c_restarts_the_prompt(self, dialog: LoginDialog) -> None:
        """Ctrl-C forgets the name and prints the prompt on a new line."""
        outputs = dialog.receive_data(b"ro\x03", now=1.0)
        assert (b"ro\r\n" + PROMPT, "") == (_echo(outputs), dialog.partial_name)

    def test_ctrl_d_on_empty_name_aborts(self, dialog: LoginDialog) -> None:
        """Ctrl-D at the start of the name ends the dialog."""
        outputs = dialog.receive_data(b"\x04", now=1.0)
        assert [LoginFailed(reason=FailReason.ABORTED)] == _results(outputs)

    def test_ctrl_d_inside_a_name_is_ignored(self, dialog: LoginDialog) -> None:
        """Ctrl-D after some characters does nothing."""
        outputs = dialog.receive_data(b"jo\x04e\r", now=1.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)

    @pytest.mark.parametrize("byte", [b"\x00", b"\x01", b"\x11", b"\x13", b"\x1b", b"\t", b"\x1c"])
    def test_control_bytes_are_ignored(self, dialog: LoginDialog, byte: bytes) -> None:
        """NUL, XON/XOFF, ESC and other control codes are neither stored nor echoed."""
        outputs = dialog.receive_data(b"j" + byte + b"oe", now=1.0)
        assert (b"joe", "joe") == (_echo(outputs), dialog.partial_name)

    def test_eighth_bit_is_stripped(self, dialog: LoginDialog) -> None:
        """Parity bits are removed before anything else."""
        outputs = dialog.receive_data(bytes([0x80 | ord("j"), ord("o"), 0x80 | ord("e"), 0x8D]), now=1.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)


class TestEmptyName:
    """An empty line just shows the prompt again."""

    def test_empty_name_reprompts(self, dialog: LoginDialog) -> None:
        """Enter alone prints the prompt on a new line and keeps reading."""
        outputs = dialog.receive_data(b"\r", now=1.0)
        assert [Write(data=b"\r\n" + PROMPT)] == outputs

    def test_spaces_only_is_empty(self, dialog: LoginDialog) -> None:
        """A name of spaces is an empty name."""
        outputs = dialog.receive_data(b"   \n", now=1.0)
        assert ([], False) == (_results(outputs), dialog.done)

    def test_crlf_on_empty_line_prompts_once(self, dialog: LoginDialog) -> None:
        """A CR LF terminal gets one new prompt, not two."""
        assert b"\r\n" + PROMPT == _echo(dialog.receive_data(b"\r\n", now=1.0))

    def test_lf_after_other_input_still_ends_a_name(self, dialog: LoginDialog) -> None:
        """Only an LF straight after a CR is swallowed."""
        outputs = dialog.receive_data(b"\r\x00joe\n", now=1.0)
        assert [NameEntered(name="joe", line_end=LineEnd.LF)] == _results(outputs)

    def test_name_after_empty_lines(self, dialog: LoginDialog) -> None:
        """A name typed after some empty lines is accepted."""
        outputs = dialog.receive_data(b"\r\r\njoe\r", now=1.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)


class TestNameSafety:
    """Names that could be options, or too long, are never returned (the ``-f root`` class)."""

    def test_dash_f_root_is_refused(self, dialog: LoginDialog) -> None:
        """``-f root`` is answered with a message and the prompt, and no result."""
        outputs = dialog.receive_data(b"-f root\r", now=1.0)
        assert ([], b"-f root" + INVALID) == (_results(outputs), _echo(outputs))

    def test_refused_name_keeps_reading(self, dialog: LoginDialog) -> None:
        """After a refusal the dialog waits for another name."""
        dialog.receive_data(b"-f root\r", now=1.0)
        assert (LoginPhase.READING, "") == (dialog.phase, dialog.partial_name)

    def test_dash_after_spaces_is_refused(self, dialog: LoginDialog) -> None:
        """Leading spaces do not hide a leading dash."""
        outputs = dialog.receive_data(b"   -froot\n", now=1.0)
        assert ([], False) == (_results(outputs), dialog.done)

    def test_double_dash_is_refused(self, dialog: LoginDialog) -> None:
        """``--`` is an option-like name too."""
        assert [] == _results(dialog.receive_data(b"--\r", now=1.0))

    def test_good_name_after_refusal(self, dialog: LoginDialog) -> None:
        """A proper name after a refused one is accepted."""
        outputs = dialog.receive_data(b"-f root\rjoe\r", now=1.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)

    def test_dash_inside_is_fine(self, dialog: LoginDialog) -> None:
        """A dash that does not lead is an ordinary character."""
        outputs = dialog.receive_data(b"jo-e\r", now=1.0)
        assert [NameEntered(name="jo-e", line_end=LineEnd.CR)] == _results(outputs)

    def test_name_at_the_limit_is_accepted(self, dialog: LoginDialog) -> None:
        """Exactly 42 characters is allowed."""
        outputs = dialog.receive_data(b"a" * 42 + b"\r", now=1.0)
        assert [NameEntered(name="a" * 42, line_end=LineEnd.CR)] == _results(outputs)

    def test_character_past_the_limit_rings_bell(self, dialog: LoginDialog) -> None:
        """The 43rd character is not stored or echoed; the terminal beeps."""
        outputs = dialog.receive_data(b"a" * 43, now=1.0)
        assert (b"a" * 42 + b"\a", "a" * 42) == (_echo(outputs), dialog.partial_name)

    def test_overlong_name_is_refused(self, dialog: LoginDialog) -> None:
        """A 43-character name is refused, not truncated."""
        outputs = dialog.receive_data(b"a" * 43 + b"\r", now=1.0)
        assert ([], b"a" * 42 + b"\a" + INVALID) == (_results(outputs), _echo(outputs))

    def test_overlong_name_stays_refused_after_erasing(self, dialog: LoginDialog) -> None:
        """Erasing after an overflow does not make the truncated name acceptable."""
        outputs = dialog.receive_data(b"a" * 43 + b"\x7f\r", now=1.0)
        assert [] == _results(outputs)

    def test_kill_clears_the_overflow(self, dialog: LoginDialog) -> None:
        """Ctrl-U starts a fresh name, which may then be accepted."""
        outputs = dialog.receive_data(b"a" * 50 + b"\x15joe\r", now=1.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)

    def test_ten_kilobyte_name_is_refused_and_bounded(self, dialog: LoginDialog) -> None:
        """A 10 kB name stores at most 42 characters and is refused."""
        dialog.receive_data(b"x" * 10_000, now=1.0)
        assert 42 == len(dialog.partial_name)
        assert [] == _results(dialog.receive_data(b"\r", now=1.0))

    def test_megabyte_of_garbage_is_bounded(self, dialog: LoginDialog) -> None:
        """A megabyte of noise keeps the name within its limit and the echo within the input's size."""
        enders = {0x04, 0x0A, 0x0D}  # Ctrl-D, LF, CR end the dialog or the line, in either parity
        noise = bytes(byte for byte in range(256) if byte & 0x7F not in enders) * 4200
        outputs = dialog.receive_data(noise, now=1.0)
        assert len(dialog.partial_name) <= 42
        assert len(_echo(outputs)) <= len(noise)
        assert not dialog.done

    @given(data=st.binary(max_size=300))
    def test_no_unsafe_name_is_ever_returned(self, data: bytes) -> None:
        """Whatever arrives, a returned name is printable, short and never starts with a dash or space."""
        dialog = LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT, max_name=8)
        dialog.start(now=0.0)
        for result in _results(dialog.receive_data(data, now=1.0)):
            if isinstance(result, NameEntered):
                assert 1 <= len(result.name) <= 8
                assert all(" " <= char <= "~" for char in result.name)
                assert result.name[0] not in "- "
                assert result.name[-1] != " "


class TestModemError:
    """Modem result text arriving as a name means the line dropped."""

    @pytest.mark.parametrize("text", ["NO CARRIER", "ERROR"])
    def test_modem_text_fails_the_login(self, dialog: LoginDialog, text: str) -> None:
        """``NO CARRIER`` or ``ERROR`` ends the dialog as MODEM_ERROR with the text."""
        outputs = dialog.receive_data(b"\r\n" + text.encode() + b"\r\n", now=1.0)
        assert [LoginFailed(reason=FailReason.MODEM_ERROR, detail=text)] == _results(outputs)

    def test_no_newline_is_written_to_a_dropped_line(self, dialog: LoginDialog) -> None:
        """After modem text, nothing but the echo already sent goes out."""
        outputs = dialog.receive_data(b"ERROR\r", now=1.0)
        assert b"ERROR" == _echo(outputs)

    def test_lower_case_is_a_name(self, dialog: LoginDialog) -> None:
        """The match is case-sensitive, as in mgetty: ``error`` is an ordinary name."""
        outputs = dialog.receive_data(b"error\r", now=1.0)
        assert [NameEntered(name="error", line_end=LineEnd.CR)] == _results(outputs)


class TestTimers:
    """The login time runs from start: a warning at 180 s and the end at 240 s by default."""

    def test_first_deadline_is_the_warning(self, dialog: LoginDialog) -> None:
        """After start the next timer is the warning, 60 s before the end."""
        assert 180.0 == dialog.get_timer()

    def test_warning_text_prompt_and_partial_name(self, dialog: LoginDialog) -> None:
        """At 180 s mgetty's warning is written, then the prompt and what was typed so far."""
        dialog.receive_data(b"jo", now=10.0)
        assert [Write(data=WARNING + PROMPT + b"jo")] == dialog.handle_timer(now=180.0)

    def test_warning_keeps_the_partial_name(self, dialog: LoginDialog) -> None:
        """The name typed before the warning can be finished after it."""
        dialog.receive_data(b"jo", now=10.0)
        dialog.handle_timer(now=180.0)
        outputs = dialog.receive_data(b"e\r", now=200.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)

    def test_after_warning_the_timer_is_the_end(self, dialog: LoginDialog) -> None:
        """Once warned, the next deadline is the timeout."""
        dialog.handle_timer(now=180.0)
        assert 240.0 == dialog.get_timer()

    def test_timeout_at_240_seconds(self, dialog: LoginDialog) -> None:
        """At 240 s the dialog fails with TIMEOUT."""
        dialog.handle_timer(now=180.0)
        outputs = dialog.handle_timer(now=240.0)
        assert [LoginFailed(reason=FailReason.TIMEOUT)] == _results(outputs)

    def test_timeout_says_goodbye(self, dialog: LoginDialog) -> None:
        """The caller is told the time ran out before the line drops."""
        dialog.handle_timer(now=180.0)
        assert b"\r\n\aYour login time ran out. Goodbye.\r\n" == _echo(dialog.handle_timer(now=240.0))

    def test_no_timer_when_done(self, dialog: LoginDialog) -> None:
        """A finished dialog arms nothing."""
        dialog.handle_timer(now=240.0)
        assert dialog.get_timer() is None

    def test_early_call_does_nothing(self, dialog: LoginDialog) -> None:
        """A spurious wake-up before the deadline writes nothing and changes nothing."""
        assert ([], 180.0) == (dialog.handle_timer(now=100.0), dialog.get_timer())

    def test_jump_past_both_only_times_out(self, dialog: LoginDialog) -> None:
        """If the warning and the end are both due, only the timeout happens."""
        outputs = dialog.handle_timer(now=1000.0)
        assert [LoginFailed(reason=FailReason.TIMEOUT)] == _results(outputs)
        assert WARNING not in _echo(outputs)

    def test_late_data_times_out_first(self, dialog: LoginDialog) -> None:
        """Bytes handed in after the deadline do not beat the timeout; they become trailing data."""
        outputs = dialog.receive_data(b"joe\r", now=250.0)
        assert ([LoginFailed(reason=FailReason.TIMEOUT)], b"joe\r") == (
            _results(outputs),
            dialog.trailing_data,
        )

    def test_late_data_after_warning_time_gets_warning_first(self, dialog: LoginDialog) -> None:
        """Data handed in after the warning time is preceded by the warning."""
        outputs = dialog.receive_data(b"j", now=200.0)
        assert WARNING + PROMPT + b"j" == _echo(outputs)

    def test_no_warning_when_it_would_not_come_first(self) -> None:
        """With a warning as long as the timeout, the only timer is the end."""
        dialog = LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT, timeout_s=60.0, warning_s=60.0)
        dialog.start(now=5.0)
        assert 65.0 == dialog.get_timer()

    def test_zero_warning_disables_it(self) -> None:
        """``warning_s=0`` means no warning."""
        dialog = LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT, timeout_s=30.0, warning_s=0.0)
        dialog.start(now=0.0)
        assert 30.0 == dialog.get_timer()

    def test_other_warning_lengths_are_worded(self) -> None:
        """A warning that is not one minute names the time that is left."""
        dialog = LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT, timeout_s=300.0, warning_s=120.0)
        dialog.start(now=0.0)
        assert b"You have 2 minutes left" in _echo(dialog.handle_timer(now=180.0))

    @given(steps=st.lists(st.tuples(st.floats(min_value=0.0, max_value=100.0), st.binary(max_size=8)), max_size=12))
    def test_timer_is_never_in_the_past(self, steps: list[tuple[float, bytes]]) -> None:
        """After any input at ``now``, the next deadline is later than ``now`` (or there is none)."""
        dialog = LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT)
        dialog.start(now=0.0)
        now = 0.0
        for delta, data in steps:
            if dialog.done:
                break
            now += delta
            dialog.receive_data(data, now=now)
            deadline = dialog.get_timer()
            assert deadline is None or deadline > now


class TestAfterDone:
    """A finished dialog takes no more input; asking is a shell bug."""

    def test_data_after_name_raises(self, dialog: LoginDialog) -> None:
        """Feeding bytes after NameEntered raises and leaves the phase DONE."""
        dialog.receive_data(b"joe\r", now=1.0)
        with pytest.raises(LocalProtocolError):
            dialog.receive_data(b"x", now=2.0)
        assert LoginPhase.DONE == dialog.phase

    def test_timer_after_failure_raises(self, dialog: LoginDialog) -> None:
        """Handling a timer after LoginFailed raises and leaves the phase DONE."""
        dialog.receive_data(b"\x04", now=1.0)
        with pytest.raises(LocalProtocolError):
            dialog.handle_timer(now=300.0)
        assert LoginPhase.DONE == dialog.phase

    def test_empty_data_after_done_raises(self, dialog: LoginDialog) -> None:
        """Even an empty read after the end is refused."""
        dialog.receive_data(b"joe\r", now=1.0)
        with pytest.raises(LocalProtocolError):
            dialog.receive_data(b"", now=2.0)

    def test_trailing_data_is_untouched_by_the_error(self, dialog: LoginDialog) -> None:
        """The refused call does not disturb the trailing data."""
        dialog.receive_data(b"joe\rpw", now=1.0)
        with pytest.raises(LocalProtocolError):
            dialog.receive_data(b"x", now=2.0)
        assert b"pw" == dialog.trailing_data


_PIECES = [
    b"a",
    b"joe",
    b"-",
    b" ",
    b"\r",
    b"\n",
    b"\x08",
    b"\x7f",
    b"\x15",
    b"\x03",
    b"\x04",
    b"\x00",
    b"\x1b",
    b"\xe1",
    b"NO CARRIER",
    b"x" * 10,
]


def _run_chunked(data: bytes, cuts: list[int]) -> tuple[list[NameEntered | LoginFailed], bytes, bytes]:
    """Feed ``data`` split at ``cuts``; return results, all written bytes, and what the dialog did not use."""
    dialog = LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT, max_name=8)
    written = bytearray(_echo(list(dialog.start(now=0.0))))
    results: list[NameEntered | LoginFailed] = []
    unused: list[bytes] = []
    bounds = [0, *sorted(cuts), len(data)]
    for start, end in itertools.pairwise(bounds):
        chunk = data[start:end]
        if dialog.done:
            unused.append(chunk)
            continue
        outputs = dialog.receive_data(chunk, now=1.0)
        written += _echo(outputs)
        results += _results(outputs)
    return results, bytes(written), dialog.trailing_data + b"".join(unused)


class TestChunking:
    """How the bytes are split into reads never changes the outcome."""

    @given(
        data=st.lists(st.sampled_from(_PIECES), max_size=30).map(b"".join),
        cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=20),
    )
    def test_outcome_is_independent_of_chunking(self, data: bytes, cuts: list[int]) -> None:
        """Results, echo and trailing bytes are the same as when everything arrives in one read."""
        cuts = [cut for cut in cuts if cut <= len(data)]
        assert _run_chunked(data, []) == _run_chunked(data, cuts)

    @given(data=st.binary(max_size=200))
    def test_byte_at_a_time_equals_one_read(self, data: bytes) -> None:
        """Arbitrary bytes fed one at a time give what one read gives."""
        assert _run_chunked(data, []) == _run_chunked(data, list(range(len(data))))


class TestDoctests:
    """The module's doctests hold."""

    def test_doctests(self) -> None:
        """Every example in the docstrings passes."""
        assert 0 == doctest.testmod(_login).failed


class TestAutoPppOption:
    """The AutoPPP hook (``autoppp=True`` by default) leaves ordinary typing intact."""

    def test_tilde_is_echoed_with_the_next_key(self, dialog: LoginDialog) -> None:
        """A typed ``~`` might start a PPP frame, so it is held until the next byte shows it is not."""
        held = dialog.receive_data(b"~", now=1.0)
        assert ([], b"~x") == (held, _echo(dialog.receive_data(b"x", now=1.1)))

    def test_tilde_in_a_name(self, dialog: LoginDialog) -> None:
        """A name containing ``~`` is still a name, echoed in full."""
        outputs = dialog.receive_data(b"~joe\r", now=1.0)
        assert (b"~joe\r\n", [NameEntered(name="~joe", line_end=LineEnd.CR)]) == (
            _echo(outputs),
            _results(outputs),
        )

    def test_tilde_then_erase(self, dialog: LoginDialog) -> None:
        """Erasing a held ``~`` echoes it and rubs it out, as without AutoPPP."""
        assert b"~\b \b" == _echo(dialog.receive_data(b"~\x7f", now=1.0))

    def test_false_start_is_edited_in_order(self, dialog: LoginDialog) -> None:
        """Bytes held for a broken frame start are edited in order: ``~``, DEL (erases it), then ``a``."""
        outputs = dialog.receive_data(b"\x7e\xffa\r", now=1.0)
        assert [NameEntered(name="a", line_end=LineEnd.CR)] == _results(outputs)

    def test_autoppp_off_echoes_tilde_at_once(self) -> None:
        """With ``autoppp=False`` a ``~`` is echoed straight away."""
        dialog = LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT, autoppp=False)
        dialog.start(now=0.0)
        assert [Write(data=b"~")] == dialog.receive_data(b"~", now=1.0)

    def test_autoppp_off_never_detects(self) -> None:
        """With ``autoppp=False`` an LCP header is only text: no PppDetected."""
        dialog = LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT, autoppp=False)
        dialog.start(now=0.0)
        outputs = dialog.receive_data(b"\x7e\xff\x7d\x23\xc0\x21\r", now=1.0)
        assert not any(isinstance(item, PppDetected) for item in outputs)

    def test_lcp_header_ends_the_dialog(self, dialog: LoginDialog) -> None:
        """An LCP header ends the dialog with PppDetected holding it and what followed."""
        outputs = dialog.receive_data(b"\x7e\xff\x7d\x23\xc0\x21\x7d\x21", now=1.0)
        assert [PppDetected(trailing=b"\x7e\xff\x7d\x23\xc0\x21\x7d\x21")] == outputs

    @given(
        data=st.lists(st.sampled_from([*_PIECES, b"~", b"\x7e\xff", b"\x7d\x23", b"\xc0\x21"]), max_size=30).map(
            b"".join
        ),
        cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=20),
    )
    def test_outcome_is_independent_of_chunking_with_ppp_pieces(self, data: bytes, cuts: list[int]) -> None:
        """With frame fragments in the stream, results, echo and trailing bytes still ignore chunking."""
        cuts = [cut for cut in cuts if cut <= len(data)]
        assert _run_chunked(data, []) == _run_chunked(data, cuts)

    def test_held_bytes_are_trailing_data_after_a_late_timeout(self, dialog: LoginDialog) -> None:
        """Bytes held as a possible frame start are not lost when the login time runs out."""
        dialog.receive_data(b"\x7e\xff", now=1.0)
        dialog.receive_data(b"\x7d", now=300.0)
        assert b"\x7e\xff\x7d" == dialog.trailing_data
