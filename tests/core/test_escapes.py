"""Tests for mgetty's issue/prompt escape dialect (``answerd.core._escapes``)."""

# The style guide puts the expected value first (``assert expected == actual``); ruff's SIM300 wants the
# opposite, so it is off for this file.

from __future__ import annotations

import dataclasses
import datetime
import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from answerd.core import _escapes
from answerd.core._escapes import MAX_EXPANDED_LENGTH, EscapeContext, expand_escapes, to_line_bytes

CTX = EscapeContext(
    nodename="gate",
    sysname="Linux",
    release="6.1.0-18-amd64",
    version="#1 SMP Debian 6.1.76-1",
    machine="x86_64",
    tty="ttyUSB0",
    connect="33600/ARQ/V34/LAPM/V42BIS",
    caller_id="0301234567",
    speed=38400,
    users=3,
    when=datetime.datetime(2025, 3, 7, 9, 5, 2),  # a Friday
)


def _with(**changes: object) -> EscapeContext:
    """Return CTX with some fields replaced."""
    return dataclasses.replace(CTX, **changes)  # type: ignore[arg-type]


def _is_printable_ascii(text: str) -> bool:
    """Whether every character is in 0x20..0x7e."""
    return all(" " <= char <= "~" for char in text)


class TestEachEscape:
    """Every escape of mgetty's dialect expands to its documented value."""

    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            ("@", "gate"),
            ("\\n", "\n"),
            ("\\r", "\r"),
            ("\\g", "\a"),
            ("\\b", "\b"),
            ("\\v", "\v"),
            ("\\f", "\f"),
            ("\\t", "\t"),
            ("\\s", "Linux"),
            ("\\m", "x86_64"),
            ("\\V", "#1 SMP Debian 6.1.76-1"),
            ("\\R", "6.1.0-18-amd64"),
            ("\\P", "ttyUSB0"),
            ("\\L", "ttyUSB0"),
            ("\\I", "33600/ARQ/V34/LAPM/V42BIS"),
            ("\\Y", "0301234567"),
            ("\\S", "38400"),
            ("\\N", "3"),
            ("\\U", "3"),
            ("\\C", "Fri Mar  7 09:05:02 2025"),
            ("\\D", "3/7/2025"),
            ("\\T", "09:05:02"),
            ("\\\\", "\\"),
            ("\\@", "@"),
        ],
    )
    def test_escape(self, template: str, expected: str) -> None:
        """Each escape becomes its value from the context."""
        assert expected == expand_escapes(template, CTX)

    def test_literal_text_is_copied(self) -> None:
        """Text around escapes is kept as written."""
        assert "Debian GNU/Linux ttyUSB0 38400 (33600/ARQ/V34/LAPM/V42BIS)\n" == expand_escapes(
            "Debian GNU/\\s \\P \\S (\\I)\\n", CTX
        )

    def test_default_prompt(self) -> None:
        """Debian's default prompt ``@ login: `` shows the node name."""
        assert "gate login: " == expand_escapes("@ login: ", CTX)

    def test_unknown_escape_is_the_character(self) -> None:
        """An escape mgetty does not know (agetty's ``\\l``) gives the character itself."""
        assert "l-x-q" == expand_escapes("\\l-\\x-\\q", CTX)

    def test_trailing_backslash_is_kept(self) -> None:
        """A backslash at the very end of the template has nothing to escape and stays."""
        assert "login\\" == expand_escapes("login\\", CTX)

    def test_empty_caller_id_is_none(self) -> None:
        """Without a caller ID, ``\\Y`` shows ``none``, like mgetty."""
        assert "from none" == expand_escapes("from \\Y", _with(caller_id=""))

    def test_empty_template(self) -> None:
        """An empty template expands to nothing."""
        assert "" == expand_escapes("", CTX)


class TestCharacterCodes:
    """``\\<digits>`` follows C's strtol(…, 0): a leading 0 means octal, 0x hex, otherwise decimal."""

    @pytest.mark.parametrize(
        ("template", "expected"),
        [
            ("\\65", "A"),
            ("\\0101", "A"),
            ("\\0x41", "A"),
            ("\\0X4a", "J"),
            ("\\012", "\n"),
            ("\\033[2J", "\x1b[2J"),
            ("\\0", "\x00"),
            ("\\08", "\x008"),
            ("\\0xg", "\x00xg"),
            ("\\65B", "AB"),
            ("\\1x", "\x01x"),
        ],
    )
    def test_code(self, template: str, expected: str) -> None:
        """The longest valid run of digits in the base C would pick becomes one character."""
        assert expected == expand_escapes(template, CTX)

    def test_value_is_taken_modulo_256(self) -> None:
        """A code above 255 wraps like a store into a C char."""
        assert chr(321 % 256) == expand_escapes("\\321", CTX)

    def test_thousands_of_digits_are_cheap(self) -> None:
        """A pathological run of digits gives one character, without Python's long-int limit tripping."""
        assert 1 == len(expand_escapes("\\" + "9" * 20_000, CTX))


class TestDate:
    """``\\D`` prints month/day/year as mgetty's code does, not dd/mm/yy as its manual says."""

    def test_no_zero_padding(self) -> None:
        """Single-digit month and day are not padded."""
        assert "1/2/2024" == expand_escapes("\\D", _with(when=datetime.datetime(2024, 1, 2)))

    def test_month_comes_first(self) -> None:
        """The month is first and the year has four digits."""
        assert "12/31/1999" == expand_escapes("\\D", _with(when=datetime.datetime(1999, 12, 31, 23, 59)))

    def test_time_is_zero_padded(self) -> None:
        """``\\T`` is HH:MM:SS, zero-padded, 24-hour."""
        assert "23:00:09" == expand_escapes("\\T", _with(when=datetime.datetime(2024, 1, 2, 23, 0, 9)))

    def test_ctime_pads_the_day_with_a_space(self) -> None:
        """``\\C`` is ctime() without its newline; a one-digit day is space-padded."""
        assert "Tue Jan  2 23:00:09 2024" == expand_escapes("\\C", _with(when=datetime.datetime(2024, 1, 2, 23, 0, 9)))


class TestLengthCap:
    """The expanded text never exceeds 300 characters, mgetty's limit."""

    def test_long_literal_template_is_cut(self) -> None:
        """Plain text past 300 characters is dropped."""
        assert "x" * MAX_EXPANDED_LENGTH == expand_escapes("x" * 1000, CTX)

    def test_substitution_is_cut_at_the_limit(self) -> None:
        """A value that crosses the limit is cut where the limit falls."""
        result = expand_escapes("x" * 295 + "\\I", CTX)
        assert "x" * 295 + "33600" == result

    def test_many_substitutions_are_capped(self) -> None:
        """Many escapes together stay within the limit."""
        assert MAX_EXPANDED_LENGTH == len(expand_escapes("\\V@" * 200, CTX))

    def test_limit_is_300(self) -> None:
        """The limit is mgetty's 300 characters."""
        assert 300 == MAX_EXPANDED_LENGTH


class TestHostileValues:
    """Values from the line (caller ID, CONNECT text) come out printable, literal and capped."""

    def test_control_bytes_become_question_marks(self) -> None:
        """Control characters in a caller ID are replaced, so they cannot drive the terminal."""
        assert "from 12?[2J??34" == expand_escapes("from \\Y", _with(caller_id="12\x1b[2J\r\n34"))

    def test_non_ascii_becomes_question_mark(self) -> None:
        """Eight-bit or non-ASCII text in the CONNECT string is replaced."""
        assert "V34?" == expand_escapes("\\I", _with(connect="V34\u00ff"))

    def test_shell_metacharacters_are_plain_text(self) -> None:
        """Shell syntax is printable and passes through as text (it is never given to a shell)."""
        assert "'; rm -rf /" == expand_escapes("\\Y", _with(caller_id="'; rm -rf /"))

    def test_values_are_not_expanded_again(self) -> None:
        """A caller ID that looks like escapes is shown literally, not expanded."""
        assert "\\n@\\Y" == expand_escapes("\\Y", _with(caller_id="\\n@\\Y"))

    def test_huge_caller_id_is_capped(self) -> None:
        """A 10 kB caller ID is cut to the limit."""
        result = expand_escapes("\\Y", _with(caller_id="9" * 10_000))
        assert "9" * MAX_EXPANDED_LENGTH == result

    def test_uname_fields_are_sanitised(self) -> None:
        """Even the host's own names are made printable."""
        assert "a?b" == expand_escapes("@", _with(nodename="a\x07b"))

    @given(
        template=st.text(alphabet=st.sampled_from(list("@\\sYICPDTx ")), max_size=60),
        caller_id=st.text(max_size=400),
        connect=st.text(max_size=400),
    )
    def test_substituted_text_is_always_printable(self, template: str, caller_id: str, connect: str) -> None:
        """With escapes that only substitute values, the result is printable ASCII and capped."""
        result = expand_escapes(template, _with(caller_id=caller_id, connect=connect))
        assert len(result) <= MAX_EXPANDED_LENGTH
        assert _is_printable_ascii(result)


class TestToLineBytes:
    """``to_line_bytes`` makes expanded text ready for a raw line."""

    def test_newline_becomes_crlf(self) -> None:
        """A lone LF becomes CR LF."""
        assert b"a\r\nb\r\n" == to_line_bytes("a\nb\n")

    def test_crlf_is_not_doubled(self) -> None:
        """CR LF stays CR LF."""
        assert b"a\r\nb" == to_line_bytes("a\r\nb")

    def test_lone_cr_stays(self) -> None:
        """A lone CR is kept as it is."""
        assert b"a\rb" == to_line_bytes("a\rb")

    def test_lf_cr_keeps_the_cr(self) -> None:
        """LF CR becomes CR LF CR: the LF is mapped, the CR kept."""
        assert b"\r\n\r" == to_line_bytes("\n\r")

    def test_non_ascii_is_replaced(self) -> None:
        """Characters outside ASCII become ``?``."""
        assert b"caf?" == to_line_bytes("caf\u00e9")

    def test_control_codes_from_the_template_pass(self) -> None:
        """ASCII control codes (BEL, ESC) are kept byte for byte."""
        assert b"\a\x1b[2J" == to_line_bytes("\a\x1b[2J")


class TestDoctests:
    """The module's doctests hold."""

    def test_doctests(self) -> None:
        """Every example in the docstrings passes."""
        assert 0 == doctest.testmod(_escapes).failed
