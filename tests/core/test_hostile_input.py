"""Hostile input from the line, as tables: login names never become options, caller ID is cleaned, not invented.

Issue 14 item 3 (the core's part): a caller types ``-f root``, ``$(id)`` or 50 characters at the prompt; a
modem or a spoofed caller-ID source sends quotes, NULs, terminal escapes or 10 kB. The login dialog must
refuse a name or hand it on only as one safe argv element after ``--``; caller ID must come out clean
wherever it goes (record, decision-program argv, issue escapes, argv placeholders) — and cleaning must not
fabricate: the digits of an escape sequence must not become a number that a caller filter matches.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from answerd.core import (
    DEFAULT_RULE,
    CallerInfo,
    LoginDialog,
    LoginFailed,
    NameEntered,
    Write,
    decision_program_argv,
    expand_escapes,
    parse_rules,
    policy_decide,
    select_rule,
)
from answerd.core._dispatch import expand_argv
from answerd.core.hayes.cid import MAX_NAME_LENGTH, MAX_NUMBER_LENGTH, merge_caller_id
from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import CallerIdField, Ring
from answerd.core.hayes.lines import LineSplitter

from .test_escapes import CTX

# --- login names -----------------------------------------------------------------------------------------

#: What a caller may type before Enter that must be refused: option-like after the blanks are stripped, or too long.
REFUSED: list[bytes] = [
    b"-f root",
    b"--",
    b"-",
    b" -h x",
    b"   -f root",
    b"\t -froot",  # TAB is ignored, then blanks, then a dash
    b" \x00-f root",  # a NUL between the blank and the dash is ignored too
    b"\xad" + b"f root",  # "-" with the parity bit set is still a dash
    b"a" * 43,
    b"a" * 200,
]

#: (what the caller types, the name handed on): printable, not option-like, at most 42 characters.
ACCEPTED: list[tuple[bytes, str]] = [
    (b"a" * 42, "a" * 42),
    (b"ro\x00ot", "root"),
    (b"ro\x1b\x07\x01ot", "root"),
    (b"\x1b[2Jroot", "[2Jroot"),  # the ESC is ignored; what is left is printable and not an option
    (b"\xe9l\xe8ve", "ilhve"),  # invalid UTF-8: the 8th bit is stripped, nothing else is guessed
    (b"\xff\xfe", "~"),  # DEL erases nothing; 0xFE is "~" once the 8th bit goes
    (b"$(id)", "$(id)"),
    (b"joe;reboot", "joe;reboot"),
    (b"`id`", "`id`"),
    (b"'; rm -rf / #", "'; rm -rf / #"),
    (b"joe -f root", "joe -f root"),  # one argv element: login sees one (odd) user name, never an option
]


def type_name(typed: bytes) -> tuple[NameEntered | LoginFailed | None, bytes]:
    """Type ``typed`` and Enter at a fresh prompt; return the dialog's result (after the guard) and its echo."""
    dialog = LoginDialog(issue=b"", prompt=b"login: ", max_name=42)
    dialog.start(0.0)
    outputs = [*dialog.receive_data(typed + b"\r", 1.0)]
    timer = dialog.get_timer()
    if timer is not None and not dialog.done:
        outputs += dialog.handle_timer(min(timer, 1.5))
    results = [output for output in outputs if isinstance(output, NameEntered | LoginFailed)]
    assert len(results) <= 1
    echo = b"".join(output.data for output in outputs if isinstance(output, Write))
    return (results[0] if results else None), echo


class TestLoginNames:
    """A login name never reaches a program as an option, nor through a shell."""

    @pytest.mark.parametrize("typed", REFUSED, ids=[repr(typed)[:40] for typed in REFUSED])
    def test_option_like_or_overlong_names_are_refused(self, typed: bytes) -> None:
        """The dialog hands nothing on, says 'Invalid login name.' and prompts again."""
        result, echo = type_name(typed)
        assert result is None
        assert echo.endswith(b"\r\nInvalid login name.\r\nlogin: ")

    @pytest.mark.parametrize(("typed", "expected"), ACCEPTED, ids=[repr(row[0])[:40] for row in ACCEPTED])
    def test_other_names_are_handed_on_clean(self, typed: bytes, expected: str) -> None:
        """The dialog hands on exactly the clean name: printable ASCII, nothing guessed."""
        result, _ = type_name(typed)
        assert isinstance(result, NameEntered)
        assert expected == result.name

    @pytest.mark.parametrize(("typed", "expected"), ACCEPTED, ids=[repr(row[0])[:40] for row in ACCEPTED])
    def test_a_handed_on_name_is_one_argv_element_after_the_separator(self, typed: bytes, expected: str) -> None:
        """The default rule runs ``/bin/login -- NAME``: the name is the last, single element, after ``--``."""
        result, _ = type_name(typed)
        assert isinstance(result, NameEntered)
        rule = select_rule([], result.name, ppp=False)
        assert DEFAULT_RULE is rule
        assert ["/bin/login", "--", expected] == expand_argv(rule.program, {"user": result.name})

    def test_a_name_starting_with_a_dash_never_reaches_argv_even_past_the_dialog(self) -> None:
        """Should a dash-led name get past the dialog, argv expansion refuses it (a second, independent check)."""
        with pytest.raises(ValueError, match="option-like"):
            expand_argv(["/bin/login", "{user}"], {"user": "-f root"})


# --- caller ID -------------------------------------------------------------------------------------------

#: Hostile caller-ID values, as a modem line carries them (bytes, before the splitter).
HOSTILE_VALUES: list[bytes] = [
    b"'; rm -rf / #",
    b'"$(reboot)"',
    b"`id`",
    b"555\x001234",
    b"\x1b[2J\x1b]0;pwned\x07",
    b"\x1b[31m5551234",
    b"-5551234",
    b"555 1234 | mail x@y",
    b"\xff\xfe\x80\x9b31m",
    b"9" * 10_000,
    b"A\x1b" * 5_000,
]


def caller_from_line(keyword: bytes, value: bytes) -> CallerInfo | None:
    """Split, classify and merge one caller-ID line the way the answer machine does."""
    splitter = LineSplitter(max_line=20_000)
    splitter.receive_data(keyword + value + b"\r\n")
    line = splitter.next_line()
    if not isinstance(line, str):
        return None
    event = classify(line)
    assert isinstance(event, CallerIdField | Ring)
    return merge_caller_id(None, event)


class TestCallerIdIsCleaned:
    """Caller ID with metacharacters, quotes, NULs, escapes and 10 kB comes out clean wherever it goes."""

    @pytest.mark.parametrize("value", HOSTILE_VALUES, ids=[repr(v)[:30] for v in HOSTILE_VALUES])
    def test_record_holds_only_clean_bounded_values(self, value: bytes) -> None:
        """The call's record keeps a number of 0-9+*# (at most 32) and a printable, quote-free name (at most 64)."""
        number = caller_from_line(b"NMBR = ", value)
        name = caller_from_line(b"NAME = ", value)
        assert number is not None
        assert name is not None
        if number.number is not None:
            assert len(number.number) <= MAX_NUMBER_LENGTH
            assert set(number.number) <= set("0123456789+*#")
        if name.name is not None:
            assert len(name.name) <= MAX_NAME_LENGTH
            assert name.name.isprintable()
            assert not set(name.name) & set("'\"`\x7f")

    @pytest.mark.parametrize("value", HOSTILE_VALUES, ids=[repr(v)[:30] for v in HOSTILE_VALUES])
    def test_decision_program_argv_is_clean(self, value: bytes) -> None:
        """Each argument the decision program gets is printable, bounded and never option-like."""
        caller = CallerInfo(number=value.decode("latin-1"), name=value.decode("latin-1"))
        argv = decision_program_argv(["/usr/local/bin/check"], tty="ttyS0", caller=caller, distinctive=0)
        for argument in argv[1:]:
            assert argument.isprintable()
            assert not argument.startswith("-")
            assert len(argument) <= MAX_NAME_LENGTH + 1

    @pytest.mark.parametrize("value", HOSTILE_VALUES, ids=[repr(v)[:30] for v in HOSTILE_VALUES])
    def test_issue_escapes_show_it_printable_and_bounded(self, value: bytes) -> None:
        """``\\Y`` and ``\\I`` in the issue show the raw values printable, within the 300-character limit."""
        text = value.decode("latin-1")
        shown = expand_escapes("from \\Y at \\I", replace(CTX, caller_id=text, connect=text))
        assert shown.isprintable()
        assert len(shown) <= 300

    @pytest.mark.parametrize("value", HOSTILE_VALUES, ids=[repr(v)[:30] for v in HOSTILE_VALUES])
    def test_argv_placeholders_hold_it_as_one_printable_element(self, value: bytes) -> None:
        """``{caller_id}`` in a program's argv is one printable element (or refused when too long / a dash)."""
        text = value.decode("latin-1")[:256]
        try:
            argv = expand_argv(["/usr/bin/prog", "--cid", "{caller_id}"], {"caller_id": text})
        except ValueError:
            return
        assert 3 == len(argv)
        assert argv[2].isprintable()


#: (the caller-ID line's value on the wire, the number the record must hold: only digits really sent)
ESCAPE_REMNANTS: list[tuple[bytes, str | None]] = [
    (b"\x1b[31m5551234", "5551234"),
    (b"\x1b[31;1m5551234\x1b[0m", "5551234"),
    (b"\x9b31m5551234", "5551234"),  # 8-bit CSI
    (b"\x1b\x5b31m5551234", "5551234"),
    (b"\x1b(05551234", "5551234"),  # charset designation: its "0" is not a digit of the number
    (b"\x1b[3\x001m5551234", "5551234"),  # a NUL inside the sequence does not end it
    (b"555\x1b[2J1234", "5551234"),
    (b"\x1b[31m", None),
    (b"\x1b7", None),
]


class TestCleaningDoesNotFabricate:
    """Digits left over from an escape sequence never join the caller's number."""

    @pytest.mark.parametrize(("wire", "number"), ESCAPE_REMNANTS, ids=[repr(r[0]) for r in ESCAPE_REMNANTS])
    def test_escape_sequence_digits_are_not_part_of_the_number(self, wire: bytes, number: str | None) -> None:
        """Through the splitter, the classifier and the merge, the number holds only the digits really sent."""
        caller = caller_from_line(b"NMBR = ", wire)
        assert number == (None if caller is None else caller.number)

    @pytest.mark.parametrize(("wire", "number"), ESCAPE_REMNANTS, ids=[repr(r[0]) for r in ESCAPE_REMNANTS])
    def test_a_filter_on_the_escape_digits_does_not_match(self, wire: bytes, number: str | None) -> None:
        """The caller policy ``!31, !0, !2, !7, all`` rejects nobody: 31, 0, 2 and 7 were never sent as a number."""
        caller = caller_from_line(b"NMBR = ", wire)
        decision = policy_decide(parse_rules(["!31", "!0", "!2", "!7", "!3", "!1", "all"]), caller)
        assert (True, "all") == (decision.accept, decision.rule)

    @pytest.mark.parametrize(("wire", "number"), ESCAPE_REMNANTS, ids=[repr(r[0]) for r in ESCAPE_REMNANTS])
    def test_mdmf_packets_do_not_fabricate_either(self, wire: bytes, number: str | None) -> None:
        """An MDMF number parameter holding an escape sequence decodes to the digits really sent."""
        body = bytes((0x02, len(wire))) + wire
        packet = bytes((0x80, len(body))) + body
        hex_text = (packet + bytes(((-sum(packet)) % 256,))).hex()
        caller = merge_caller_id(None, classify("MESG = " + hex_text))
        assert number == caller.number

    def test_a_real_prefix_rule_still_matches_the_real_number(self) -> None:
        """After the escape is removed, the true number is matched by its own prefix rule."""
        caller = caller_from_line(b"NMBR = ", b"\x1b[31m5551234")
        decision = policy_decide(parse_rules(["!555", "all"]), caller)
        assert (False, "!555") == (decision.accept, decision.rule)
