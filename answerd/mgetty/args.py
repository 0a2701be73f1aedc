"""An mgetty command line, as written in a unit file, an inittab line or a shell: its options and its line.

mgetty parses its options with ``getopt(argc, argv, "c:x:s:rp:n:R:i:DC:FS:k:m:I:baV")`` (``conf_mg.c``),
glibc's getopt that also finds options after the line name. Its real behaviour is kept, including the
trap of a published unit: in ``mgetty -n -r ttyS0`` the ``-r`` is the *argument* of ``-n`` (rings =
``atoi("-r")`` = 0, raised to 1), so direct mode is never switched on. A program named ``getty`` implies
``-b -r``, as in mgetty.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Final

from answerd.mgetty.errors import MgettyImportError

__all__ = ["CommandLine", "Option", "parse_command_line"]

#: Options taking an argument, and options that do not (mgetty 1.2.1's getopt string).
_WITH_ARG: Final = frozenset("cxspnRiCSkmI")
_FLAGS: Final = frozenset("rDFbaV")
_PROGRAMS: Final = frozenset({"mgetty", "getty", "vgetty"})
#: ``id:runlevels:action:process`` (inittab(5)).
_INITTAB: Final = re.compile(r"^[^:\s]{1,4}:[0-9a-zA-Z]*:[a-z]+:(.*)$")
_WHERE: Final = "--args"


@dataclass(frozen=True, slots=True)
class Option:
    """One option as getopt returned it: ``flag`` is the letter, ``value`` its argument (or ``None``)."""

    flag: str
    value: str | None
    text: str


@dataclass(slots=True)
class CommandLine:
    """What a command line says: its options in order, the line (port) name and the notes worth a comment."""

    text: str
    options: list[Option] = field(default_factory=list)
    line: str | None = None
    notes: list[str] = field(default_factory=list)


def _program_part(text: str) -> str:
    text = text.strip()
    if text.startswith("ExecStart="):
        text = text.removeprefix("ExecStart=").lstrip()
        text = text.lstrip("-@:+!")  # systemd's prefixes: ignore failure, argv[0], privileges
    match = _INITTAB.match(text)
    return match.group(1).strip() if match else text


def parse_command_line(text: str) -> CommandLine:
    """Parse ``text``: ``/sbin/mgetty -s 57600 ttyS0``, an ``ExecStart=`` line, an inittab line, or only
    the options and line.

    Raises:
        MgettyImportError: (at ``--args``) unbalanced quotes, another program than mgetty, an option mgetty
            does not know or one without its argument (mgetty would exit with its usage message).
    """
    try:
        words = shlex.split(_program_part(text))
    except ValueError as exc:
        raise MgettyImportError(_WHERE, f"cannot split {text!r}: {exc}") from None
    result = CommandLine(text)
    if words and not words[0].startswith("-"):
        program = words[0].rsplit("/", 1)[-1]
        if program in _PROGRAMS:
            words = words[1:]
            if program == "getty":
                result.options += [Option("b", None, "getty"), Option("r", None, "getty")]
                result.notes.append("called as 'getty': mgetty then behaves as with -b -r")
            elif program == "vgetty":
                result.notes.append("vgetty: the voice part has no answerd equivalent; the data part is imported")
        elif "/" in words[0]:
            raise MgettyImportError(_WHERE, f"{words[0]!r} is not mgetty: give the mgetty command line")
    positional = _getopt(words, result)
    if len(positional) > 2:
        raise MgettyImportError(_WHERE, f"mgetty takes a line and an optional gettydefs tag, not {positional!r}")
    if positional:
        result.line = positional[0].removeprefix("/dev/")
    if len(positional) == 2:
        result.notes.append(f"gettydefs tag {positional[1]!r}: SysV gettydefs are not used by answerd")
    return result


def _getopt(words: list[str], result: CommandLine) -> list[str]:
    """glibc getopt with argument permutation; returns the words that are not options."""
    positional: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        i += 1
        if word == "--":
            positional += words[i:]
            break
        if not word.startswith("-") or word == "-":
            positional.append(word)
            continue
        j = 1
        while j < len(word):
            flag = word[j]
            j += 1
            if flag in _FLAGS:
                result.options.append(Option(flag, None, f"-{flag}"))
                continue
            if flag not in _WITH_ARG:
                raise MgettyImportError(_WHERE, f"mgetty has no option -{flag} (it would exit with its usage)")
            if j < len(word):
                value = word[j:]
            elif i < len(words):
                value = words[i]
                i += 1
                if value.startswith("-"):
                    result.notes.append(
                        f"-{flag} {value}: mgetty takes {value!r} as the argument of -{flag}, not as an option"
                    )
            else:
                raise MgettyImportError(_WHERE, f"-{flag} needs an argument (mgetty would exit with its usage)")
            result.options.append(Option(flag, value, f"-{flag} {value}"))
            break
    return positional
