r"""The syntax of mgetty's files, read as mgetty 1.2.1 reads them (``config.c``, ``login.c``).

* :func:`text_lines` — bytes to lines; anything that is not text is an error with its line number.
* :func:`logical_lines` — mgetty's ``fgetline``: a line ending in ``\`` continues on the next one, a line
  whose first non-blank character is ``#`` is a comment (a ``#`` later in a line is not).
* :func:`split_keyword` — ``norm_line``: every run of blanks becomes one space (inside quotes too), the first
  word is the keyword, the rest its value.
* :func:`parse_sections` — ``mgetty.config``: the global section, then one section per ``port NAME`` line.
* :func:`split_chat`, :func:`parse_int`, :func:`parse_bool` — the value types (``CT_CHAT``, ``CT_INT``,
  ``CT_BOOL``) with mgetty's quirks: ``strtol(..., 0)`` reads ``0660`` as octal, and a boolean is true only
  for an empty value or one starting with ``y``, ``t`` or ``on`` (so ``1`` is false).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from answerd.mgetty.errors import MgettyImportError

__all__ = [
    "Entry",
    "Section",
    "logical_lines",
    "parse_bool",
    "parse_int",
    "parse_sections",
    "split_chat",
    "split_keyword",
    "text_lines",
]

#: C's isspace(): what mgetty treats as blanks.
_C_SPACE: Final = " \t\n\v\f\r"
#: strtol(value, NULL, 0) after mgetty's check that the value starts with a digit or "-digit".
_STRTOL: Final = re.compile(r"-?(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)")


@dataclass(frozen=True, slots=True)
class Entry:
    """One ``keyword value`` line; ``where`` is ``file:line`` for messages and comments."""

    keyword: str
    value: str
    where: str


@dataclass(slots=True)
class Section:
    """The global section (``name`` None) or a ``port NAME`` section, with its lines in order."""

    name: str | None
    where: str
    entries: list[Entry] = field(default_factory=list)


def text_lines(path: str, data: bytes) -> list[str]:
    """Split ``data`` into lines of text.

    Raises:
        MgettyImportError: ``path:line`` for a line that is not UTF-8 or holds a control character other
            than the blanks mgetty accepts (binary junk, a NUL): mgetty would read garbage there.
    """
    lines = data.split(b"\n")
    for number, raw in enumerate(lines, start=1):
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise MgettyImportError(
                f"{path}:{number}", f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})"
            ) from None
        for column, char in enumerate(line, start=1):
            if (ord(char) < 32 and char not in _C_SPACE) or ord(char) == 127:
                raise MgettyImportError(
                    f"{path}:{number}", f"control character 0x{ord(char):02x} at column {column}: not a text file?"
                )
    return [raw.decode("utf-8") for raw in lines]


def logical_lines(lines: list[str]) -> list[tuple[int, str]]:
    """mgetty's ``fgetline``: ``(first line number, text)`` for every line that is not a comment.

    A trailing backslash joins the next line (without the backslash and newline); the comment test is made
    on the joined line, so a comment can be continued too. Empty lines are kept (the caller skips them).
    """
    out: list[tuple[int, str]] = []
    buffer = ""
    start = 0
    for number, line in enumerate(lines, start=1):
        if not buffer:
            start = number
        if line.endswith("\\"):
            buffer += line[:-1]
            continue
        buffer += line
        if not buffer.lstrip(_C_SPACE).startswith("#"):
            out.append((start, buffer))
        buffer = ""
    if buffer and not buffer.lstrip(_C_SPACE).startswith("#"):
        out.append((start, buffer))
    return out


def split_keyword(line: str) -> tuple[str, str]:
    """mgetty's ``norm_line``: ``(keyword, value)`` with every run of blanks made one space.

    >>> split_keyword("  init-chat   \\"\\"  ATZ\\tOK  ")
    ('init-chat', '"" ATZ OK')
    """
    words = re.split(f"[{re.escape(_C_SPACE)}]+", line.strip(_C_SPACE))
    if words == [""]:
        return "", ""
    return words[0], " ".join(words[1:])


def parse_sections(path: str, lines: list[str], *, section_key: str = "port") -> list[Section]:
    """The sections of an ``mgetty.config``: the global one first (possibly empty), then each ``port``."""
    sections = [Section(None, f"{path}:1")]
    for number, line in logical_lines(lines):
        keyword, value = split_keyword(line)
        if not keyword:
            continue
        where = f"{path}:{number}"
        if keyword == section_key:
            sections.append(Section(value, where))
        else:
            sections[-1].entries.append(Entry(keyword, value, where))
    return sections


def split_chat(value: str, where: str) -> list[str]:
    r"""mgetty's ``conf_get_chat``: split a chat value into its strings.

    A space outside double quotes separates strings; quotes group and are removed; ``\r``, ``\n``, ``\t``,
    ``\\`` and ``\"`` become the character, every other backslash pair is kept for the chat sender
    (``\d``, ``\c``). Blanks were already squeezed by :func:`split_keyword`, so two spaces in quotes are one.

    >>> split_chat(r'"" ATZ OK AT&F\r OK', "x")
    ['', 'ATZ', 'OK', 'AT&F\r', 'OK']

    Raises:
        MgettyImportError: a double quote is never closed (mgetty would take the rest of the line, spaces
            and all, as one string: certainly not what was meant).
    """
    strings = [""]
    quoted = False
    i = 0
    while i < len(value):
        char = value[i]
        if char == '"':
            quoted = not quoted
        elif char == " " and not quoted:
            strings.append("")
        elif char == "\\" and i + 1 < len(value):
            i += 1
            escaped = value[i]
            strings[-1] += {"r": "\r", "n": "\n", "t": "\t", "\\": "\\", '"': '"'}.get(escaped, "\\" + escaped)
        else:
            strings[-1] += char
        i += 1
    if quoted:
        raise MgettyImportError(where, f"a double quote is not closed in {value!r}")
    return strings


def parse_int(value: str) -> int | None:
    """``strtol(value, NULL, 0)`` as mgetty applies it, or ``None`` where mgetty reports a syntax error.

    >>> parse_int("0660"), parse_int("0x10"), parse_int("12s"), parse_int("ten")
    (432, 16, 12, None)
    """
    match = _STRTOL.match(value)
    if match is None:
        return None
    text = match.group()
    negative = text.startswith("-")
    digits = text.lstrip("-")
    if digits[:2] in ("0x", "0X"):
        number = int(digits[2:], 16)
    elif digits.startswith("0"):
        number = int(digits, 8)
    else:
        number = int(digits)
    return -number if negative else number


def parse_bool(value: str) -> bool:
    """mgetty's ``CT_BOOL``: true for an empty value or one starting with ``y``, ``t`` or ``on``.

    >>> [parse_bool(v) for v in ("", "yes", "Y", "true", "on", "no", "off", "1")]
    [True, True, True, True, True, False, False, False]
    """
    return value == "" or value[:1].lower() in ("y", "t") or value.startswith("on")
