"""mgetty's file syntax as mgetty 1.2.1 reads it: lines, comments, keywords, chats, numbers and booleans."""

# The style guide puts the expected value first (``assert expected == actual``); ruff's SIM300 wants the
# opposite, so it is off for tests.

from __future__ import annotations

import pytest

from answerd.mgetty.errors import MgettyImportError
from answerd.mgetty.syntax import (
    logical_lines,
    parse_bool,
    parse_int,
    parse_sections,
    split_chat,
    split_keyword,
    text_lines,
)


def test_continuation_joins_lines_and_comments_are_whole_lines() -> None:
    """A trailing backslash joins the next line; only a line starting with # (after blanks) is a comment."""
    lines = ['init-chat "" ATZ \\', "OK", "  # a comment", "speed 9600 # not a comment", "#x \\", "still comment"]
    assert [(1, 'init-chat "" ATZ OK'), (4, "speed 9600 # not a comment")] == logical_lines(lines)


def test_blanks_are_squeezed_even_inside_quotes() -> None:
    """norm_line: every run of blanks is one space, the first word is the keyword."""
    assert ("login-prompt", '"a b" c') == split_keyword('\tlogin-prompt   "a   b"\t c  ')


def test_sections_split_at_port_lines() -> None:
    """Lines before the first ``port`` are global; each ``port NAME`` opens a section."""
    sections = parse_sections("m", ["debug 4", "port ttyS0", " rings 2", "port ttyS?", "speed 9600"])
    assert [(None, ["debug"]), ("ttyS0", ["rings"]), ("ttyS?", ["speed"])] == [
        (s.name, [e.keyword for e in s.entries]) for s in sections
    ]
    assert "m:3" == sections[1].entries[0].where


def test_chat_quotes_group_and_escapes_are_mgettys() -> None:
    r"""Quotes group and vanish; \r \n \t \\ \" become characters, other escapes stay for the sender."""
    assert ["", "AT&F\r", 'say "hi"', "\\d\\dATZ\\c"] == split_chat(r'"" AT&F\r "say \"hi\"" \d\dATZ\c', "f:1")


def test_unclosed_quote_is_an_error_with_its_line() -> None:
    """mgetty would take the rest of the line as one string; the importer refuses it, naming the line."""
    with pytest.raises(MgettyImportError, match=r"^f:7: a double quote is not closed"):
        split_chat('"" "ATZ OK', "f:7")


@pytest.mark.parametrize(
    ("text", "expected"),
    [("9600", 9600), ("0660", 0o660), ("0x1F", 31), ("-1", -1), ("12s", 12), ("08", 0), ("ten", None), ("", None)],
)
def test_numbers_are_read_like_strtol_base_0(text: str, expected: int | None) -> None:
    """Octal with a leading 0, hex with 0x, trailing junk ignored, no leading digit: mgetty's syntax error."""
    assert expected == parse_int(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("", True), ("y", True), ("Yes", True), ("true", True), ("on", True), ("no", False), ("1", False)],
)
def test_booleans_are_true_only_for_y_t_on_or_empty(text: str, expected: bool) -> None:
    """mgetty's CT_BOOL: "1" is false, an empty value is true."""
    assert expected == parse_bool(text)


def test_nul_byte_is_an_error_with_line_and_column() -> None:
    """Binary junk is named by line and column instead of being imported as garbage."""
    with pytest.raises(MgettyImportError, match=r"^f:2: control character 0x00 at column 3"):
        text_lines("f", b"speed 9600\nab\x00c\n")


def test_invalid_utf8_is_an_error_with_line() -> None:
    """A line that is not UTF-8 is named by its line number."""
    with pytest.raises(MgettyImportError, match=r"^f:1: not UTF-8 text \(byte 0xff"):
        text_lines("f", b"login-prompt \xff\n")
