r"""mgetty's escape dialect for the issue text and the login prompt, made safe for values from the line.

Theory of operation: :func:`expand_escapes` walks the template once, left to right. Literal characters are
copied; ``@`` and backslash escapes are replaced by a value from :class:`EscapeContext`. Substituted text is
never scanned again, so a caller ID of ``\n@`` comes out as those three characters, not as a newline and a
host name.

Rules this module enforces:

1. Every *substituted value* is made printable ASCII (anything outside ``0x20`` to ``0x7e`` becomes ``?``)
   before it is inserted. Caller ID and the CONNECT text come from the modem, i.e. from whoever called; the
   uname fields are sanitised too, because nothing guarantees what a host name contains. The *template* is
   trusted configuration: its own control characters and ``\<digits>`` codes pass through, so an operator
   can still clear the screen with ``\033[2J``.
2. The result is at most :data:`MAX_EXPANDED_LENGTH` (300) characters, mgetty's documented limit for an
   expanded line. Expansion stops as soon as the limit is reached, so a 10 kB caller ID costs no more than
   a short one.

The time comes in as ``ctx.when`` (a :class:`datetime.datetime` the shell made); this module never reads a
clock. Use :func:`to_line_bytes` to turn the expanded text into bytes for the raw, unmapped line.

Escapes (mgetty 1.2 ``logname.c``, ``ln_escape_prompt``): ``@`` node name; ``\n \r \g \b \v \f \t`` LF, CR,
BEL, BS, VT, FF, TAB; ``\s \m \R \V`` uname sysname, machine, release, version; ``\P``/``\L`` tty;
``\I`` CONNECT text; ``\Y`` caller ID; ``\S`` port speed; ``\N``/``\U`` number of users; ``\C`` ctime;
``\D`` date; ``\T`` time; ``\<digits>`` a character code; any other ``\x`` is ``x`` (so ``\\`` and ``\@``
give a literal backslash and ``@``).
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass

__all__ = ["MAX_EXPANDED_LENGTH", "EscapeContext", "expand_escapes", "to_line_bytes"]

#: mgetty's limit for an issue or prompt line after expansion; longer results are cut here.
MAX_EXPANDED_LENGTH = 300

_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")
_NEWLINE = re.compile(r"\r?\n")

# mgetty hands the digits to strtol(..., 0), so C's base prefixes apply: "0x41" is hex, "0101" is octal,
# "65" is decimal, and there is no limit on the number of digits (the longest valid run is taken).
_CHAR_CODE = re.compile(r"0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*")

_SIMPLE_ESCAPES = {
    "n": "\n",
    "r": "\r",
    "g": "\a",
    "b": "\b",
    "v": "\v",
    "f": "\f",
    "t": "\t",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class EscapeContext:
    r"""Everything an escape can expand to. The shell gathers it; values may be hostile (see the module).

    Attributes:
        nodename: uname node name, for ``@``.
        sysname: uname system name, for ``\s``.
        release: uname release, for ``\R``.
        version: uname version, for ``\V``.
        machine: uname machine, for ``\m``.
        tty: the port's device name without ``/dev/`` (``ttyUSB0``), for ``\P`` and ``\L``.
        connect: the text after ``CONNECT`` (``33600/ARQ/V34/LAPM/V42BIS``), for ``\I``.
        caller_id: the caller's number, or ``""`` when unknown (shown as ``none``), for ``\Y``.
        speed: the port speed in bit/s, for ``\S``.
        users: the number of logged-in users, for ``\N`` and ``\U``.
        when: the local date and time to show, for ``\C``, ``\D`` and ``\T``.
    """

    nodename: str
    sysname: str
    release: str
    version: str
    machine: str
    tty: str
    connect: str
    caller_id: str
    speed: int
    users: int
    when: datetime.datetime


def expand_escapes(template: str, ctx: EscapeContext) -> str:
    r"""Expand mgetty's ``@`` and backslash escapes in an issue or prompt template.

    Args:
        template: the configured text (trusted), e.g. ``"@ login: "``.
        ctx: the values to substitute (untrusted; each is made printable first).

    Returns:
        The expanded text, at most :data:`MAX_EXPANDED_LENGTH` characters. Newlines are ``"\n"``; pass the
        result through :func:`to_line_bytes` before writing it to the line.
    """
    out: list[str] = []
    room = MAX_EXPANDED_LENGTH
    pos = 0
    end = len(template)
    while pos < end and room > 0:
        char = template[pos]
        pos += 1
        if char == "@":
            piece = _printable(ctx.nodename, room)
        elif char != "\\" or pos == end:
            # A backslash that ends the template has nothing to escape: keep it as written.
            piece = char
        else:
            code = template[pos]
            pos += 1
            if code.isascii() and code.isdigit():
                match = _CHAR_CODE.match(template, pos - 1)
                assert match is not None  # a digit always matches one of the alternatives
                piece = _char_from_code(match.group())
                pos = match.end()
            else:
                piece = _expand_one(code, ctx, room)
        out.append(piece[:room])
        room -= len(out[-1])
    return "".join(out)


def to_line_bytes(text: str) -> bytes:
    r"""Encode expanded text for a raw line: every newline becomes CR LF, non-ASCII becomes ``?``.

    A ``"\n"`` already preceded by ``"\r"`` is not doubled; a lone ``"\r"`` stays as it is.

    >>> to_line_bytes("Welcome\nlogin: ")
    b'Welcome\r\nlogin: '
    >>> to_line_bytes("a\r\nb\rc\u00e9")
    b'a\r\nb\rc?'
    """
    return _NEWLINE.sub("\r\n", text).encode("ascii", errors="replace")


def _expand_one(code: str, ctx: EscapeContext, room: int) -> str:
    """Return the text for the escape ``\\<code>`` (not a digit), at most ``room`` characters of it."""
    simple = _SIMPLE_ESCAPES.get(code)
    if simple is not None:
        return simple
    when = ctx.when
    match code:
        case "s":
            value = ctx.sysname
        case "m":
            value = ctx.machine
        case "R":
            value = ctx.release
        case "V":
            value = ctx.version
        case "P" | "L":
            value = ctx.tty
        case "I":
            value = ctx.connect
        case "Y":
            # mgetty's CallerId is the string "none" until the modem reports a number.
            value = ctx.caller_id or "none"
        case "S":
            value = str(ctx.speed)
        case "N" | "U":
            value = str(ctx.users)
        case "C":
            # C's ctime() without its trailing newline, always in the C locale: "Sun Nov 23 05:13:00 2025".
            value = when.ctime()
        case "D":
            # The mgetty manual says "dd/mm/yy", but logname.c prints "%d/%d/%d" with tm_mon+1, tm_mday,
            # tm_year+1900: month/day/four-digit-year, no zero padding. We follow the code, not the manual.
            value = f"{when.month}/{when.day}/{when.year}"
        case "T":
            value = f"{when.hour:02d}:{when.minute:02d}:{when.second:02d}"
        case _:
            # Unknown escape, "\\" and "\@": the character itself, as mgetty does.
            return code
    return _printable(value, room)


def _char_from_code(digits: str) -> str:
    """Turn strtol-style digits (``0x41``, ``0101``, ``65``) into one character.

    mgetty stores the number into a C ``char``, i.e. modulo 256; reducing as we go keeps a pathological
    run of thousands of digits cheap (and clear of Python's limit on int() of long decimal strings).
    """
    if digits[:2] in ("0x", "0X"):
        base, digits = 16, digits[2:]
    elif digits.startswith("0"):
        base = 8
    else:
        base = 10
    value = 0
    for digit in digits:
        value = (value * base + int(digit, 16)) % 256
    return chr(value)


def _printable(value: str, limit: int) -> str:
    """Return at most ``limit`` characters of ``value``, each outside printable ASCII replaced by ``?``."""
    return _NOT_PRINTABLE.sub("?", value[:limit])
