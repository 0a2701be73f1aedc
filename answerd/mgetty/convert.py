r"""One mgetty keyword with its value → answerd settings, or a comment that says why there is none.

Each converter gets the raw value (as :func:`~answerd.mgetty.syntax.split_keyword` left it, or a
command-line argument) and returns :class:`Setting` and :class:`Comment` items. mgetty's real behaviour is
what is converted, where its manual says otherwise: ``modem-check-time`` under 900 s was raised to 900,
``data-flow`` was never read, ``rings 0`` is 1, a boolean ``1`` is false.

Chat strings are rewritten into answerd's escape set: mgetty's ``\d`` and ``\c`` stay, a ``\c`` anywhere
moves to the end (mgetty's meaning), control characters become ``\r``/``\n``/``\xHH``, any other ``\X`` is
mgetty's "send X", and an empty send string (mgetty sends a bare CR) becomes ``\r\c``.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from answerd.mgetty.errors import MgettyImportError
from answerd.mgetty.keywords import Fate, Keyword
from answerd.mgetty.syntax import parse_bool, parse_int, split_chat

__all__ = [
    "STANDARD_SPEEDS",
    "Comment",
    "Context",
    "FileMode",
    "Line",
    "Setting",
    "Value",
    "convert",
    "to_answerd_chat",
]

#: Speeds termios can set (what answerd's speed key accepts).
STANDARD_SPEEDS: Final = frozenset(
    {300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600}
)
_SHELL_CHARS: Final = re.compile(r"""[;&|<>$`'"\\*?()\[\]{}~#!\n]""")
_TERM: Final = re.compile(r"^[A-Za-z0-9._+-]{1,64}$")
_ANSWER_TAIL: Final = frozenset({"", "\\c", "\n", "\r"})


class FileMode(int):
    """Permission bits, written in octal in the TOML (``0o660``), as mgetty's file has them (``0660``)."""

    def __repr__(self) -> str:
        return f"0o{int(self):o}"


Value = bool | int | float | str | list[str]


@dataclass(frozen=True, slots=True)
class Setting:
    """``key = value`` for the table being built; ``origin`` (``file:line text``) and ``note`` are its comment.

    ``append_to_init`` marks a post-init-chat: the table appends it to whatever init_chat is in force.
    """

    key: str
    value: Value
    origin: str
    note: str = ""
    append_to_init: bool = False


@dataclass(frozen=True, slots=True)
class Comment:
    """A line that has no answerd key: ``# origin: text``."""

    origin: str
    text: str


Item = Setting | Comment


@dataclass(slots=True)
class Context:
    """What a converter needs besides the value: where it is, whether it is the global section, and how to
    report a warning (stderr) and to ask whether a program exists (injected so tests need no real files)."""

    is_global: bool
    warn: Callable[[str], None]
    program_exists: Callable[[str], bool]


@dataclass(frozen=True, slots=True)
class Line:
    """One value to convert: ``where`` (``file:line`` or ``--args``) for errors, ``origin`` for comments,
    and the context's facts and callbacks."""

    value: str
    where: str
    origin: str
    is_global: bool
    warn: Callable[[str], None]
    program_exists: Callable[[str], bool]


class _Unconvertible(ValueError):
    """A chat or value answerd cannot express; the message becomes the comment."""


def to_answerd_chat(strings: list[str]) -> list[str]:
    """Rewrite mgetty chat strings (as ``conf_get_chat`` left them) in answerd's chat syntax."""
    out: list[str] = []
    for index, text in enumerate(strings):
        if index % 2 == 0:  # an expect: plain text, compared with the modem's output
            if any(not (32 <= ord(char) < 127) for char in text):
                raise _Unconvertible(f"expect string {text!r} has characters answerd cannot expect")
            out.append(text)
        else:
            out.append(_send_string(text))
    return out


def _send_string(text: str) -> str:
    if text == "":
        return "\\r\\c"  # mgetty sends CR for an empty string; answerd sends nothing for ""
    pieces: list[str] = []
    no_cr = False
    i = 0
    while i < len(text):
        char = text[i]
        i += 1
        if char == "\\" and i < len(text):
            escaped = text[i]
            i += 1
            if escaped == "d":
                pieces.append("\\d")
            elif escaped == "c":
                no_cr = True
            else:
                pieces.append(_literal(escaped))
        else:
            pieces.append(_literal(char))
    return "".join(pieces) + ("\\c" if no_cr else "")


def _literal(char: str) -> str:
    if char == "\\":
        return "\\\\"
    if char == "\r":
        return "\\r"
    if char == "\n":
        return "\\n"
    if ord(char) < 32 or ord(char) == 127:
        return f"\\x{ord(char):02x}"
    if ord(char) > 127:
        raise _Unconvertible(f"non-ASCII character {char!r} in a send string")
    return char


def convert(entry: Keyword, value: str, where: str, ctx: Context) -> list[Item]:
    """Convert one keyword line (or command-line option) of ``entry`` with ``value``.

    Raises:
        MgettyImportError: for a value with which mgetty itself refuses to start (an invalid speed), or a
            chat with an unclosed quote.
    """
    line = Line(value, where, f"{where} {entry.name} {value}".rstrip(), ctx.is_global, ctx.warn, ctx.program_exists)
    if entry.fate is not Fate.MAPPED:
        if entry.name in _WARN_WHEN_ON and parse_bool(value):
            ctx.warn(f"{line.origin}: {entry.name} is on: {entry.note}")
        return [Comment(line.origin, f"{entry.fate.value}: {entry.note}")]
    try:
        return _CONVERTERS[entry.name](line)
    except _Unconvertible as exc:
        ctx.warn(f"{line.origin}: not imported: {exc}")
        return [Comment(line.origin, f"not imported: {exc}")]


#: Features whose being switched on matters: the imported port will behave differently, so say so.
_WARN_WHEN_ON: Final = frozenset({"direct", "fax-only", "autobauding", "ringback", "need-dsr", "blocking"})


def _number(line: Line) -> int:
    number = parse_int(line.value)
    if number is None:
        # mgetty logs "something foul in config line" and ignores the line.
        raise _Unconvertible(f"{line.value!r} is not a number (mgetty ignores this line)")
    return number


def _speed(line: Line) -> list[Item]:
    speed = _number(line)
    if speed not in STANDARD_SPEEDS:
        raise MgettyImportError(line.where, f"invalid port speed {speed} (mgetty exits on it too)")
    return [Setting("speed", speed, line.origin)]


def _bool_key(key: str) -> Callable[[Line], list[Item]]:
    def convert_bool(line: Line) -> list[Item]:
        on = parse_bool(line.value)
        note = "mgetty reads only y/t/on/empty as true" if line.value and line.value[:1] in "0123456789" else ""
        return [Setting(key, on, line.origin, note)]

    return convert_bool


def _dtr_wait(line: Line) -> list[Item]:
    wait = _number(line)
    clamped = min(max(wait, 10), 10_000)
    return [Setting("dtr_drop_ms", clamped, line.origin, "" if clamped == wait else f"{wait} is outside 10..10000")]


def _chat_key(key: str) -> Callable[[Line], list[Item]]:
    def convert_chat(line: Line) -> list[Item]:
        strings = split_chat(line.value, line.where)
        return [Setting(key, to_answerd_chat(strings), line.origin)]

    return convert_chat


def _post_init(line: Line) -> list[Item]:
    strings = to_answerd_chat(split_chat(line.value, line.where))
    return [Setting("init_chat", strings, line.origin, "appended to init_chat", append_to_init=True)]


def _data_flow(line: Line) -> list[Item]:
    if line.value.startswith(("rts", "hard")) or line.value == "both":
        return [Setting("flow_control", "rtscts", line.origin)]
    text = (
        "mgetty 1.2.1 never reads data-flow and always used RTS/CTS, so answerd keeps flow_control = "
        '"rtscts"; if this line really has no RTS/CTS, set flow_control = "none"'
    )
    line.warn(f"{line.origin}: {text}")
    return [Comment(line.origin, text)]


def _check_time(line: Line) -> list[Item]:
    seconds = _number(line)
    if seconds < 0:
        return [Setting("health_check_s", 0.0, line.origin, "negative: mgetty does not check the modem")]
    if seconds < 900:
        note = (
            f"mgetty silently raised {seconds} s to 900 s, an undocumented floor; answerd would check every "
            f"{max(seconds, 10)} s if you set that"
        )
        return [Setting("health_check_s", 900.0, line.origin, note)]
    return [Setting("health_check_s", float(min(seconds, 86_400)), line.origin)]


def _rings(line: Line) -> list[Item]:
    rings = _number(line)
    if rings <= 0:
        return [Setting("rings", 1, line.origin, f"mgetty answers rings {rings} on the first RING")]
    return [Setting("rings", min(rings, 100), line.origin, "" if rings <= 100 else "answerd counts at most 100")]


def _cnd_program(line: Line) -> list[Item]:
    if _SHELL_CHARS.search(line.value):
        raise _Unconvertible("mgetty runs cnd-program through a shell; answerd never does: put it in a script")
    argv = line.value.split(" ")
    if not argv[0].startswith("/"):
        raise _Unconvertible(f"{argv[0]!r} is not an absolute path (mgetty's shell searched PATH)")
    if not line.program_exists(argv[0]):
        raise _Unconvertible(f"the program {argv[0]} does not exist or is not executable here")
    return [
        Setting(
            "decision_program",
            argv,
            line.origin,
            "same arguments and exit codes; runs as decision_user (nobody), where mgetty ran it as root",
        )
    ]


def _answer_chat(line: Line) -> list[Item]:
    strings = split_chat(line.value, line.where)
    command = strings[1] if len(strings) > 1 else ""
    if (
        len(strings) >= 3
        and strings[0] == ""
        and re.fullmatch(r"AT[\x20-\x5b\x5d-\x7e]{0,60}", command, flags=re.IGNORECASE)
        and strings[2].startswith("CONNECT")
        and set(strings[3:]) <= _ANSWER_TAIL
    ):
        return [Setting("answer_command", command, line.origin, "answerd waits for CONNECT itself")]
    raise _Unconvertible('answerd sends one answer command and waits for CONNECT; only "" ATxx CONNECT converts')


def _seconds_key(key: str, *, zero: float | None = None) -> Callable[[Line], list[Item]]:
    def convert_seconds(line: Line) -> list[Item]:
        seconds = _number(line)
        if seconds <= 0:
            if zero is None:
                raise _Unconvertible(f"{seconds} s is not a timeout answerd can use")
            return [
                Setting(key, zero, line.origin, f"{seconds}: no limit in mgetty; answerd's longest is {zero:.0f} s")
            ]
        return [Setting(key, float(min(seconds, 86_400)), line.origin)]

    return convert_seconds


def _issue_file(line: Line) -> list[Item]:
    if line.value.startswith("!"):
        raise _Unconvertible("mgetty runs '!command' through a shell for the issue; answerd never runs one")
    if not line.value.startswith("/"):
        return [
            Setting("issue", line.value, line.origin, "mgetty prints a value not starting with '/' as the text itself")
        ]
    if not os.path.isfile(line.value):
        raise _Unconvertible(f"{line.value} does not exist here (mgetty prints no issue then); answerd would fail")
    return [Setting("issue_file", line.value, line.origin)]


def _open_delay(line: Line) -> list[Item]:
    wait = _number(line)
    return [Setting("open_delay_ms", min(max(wait, 0), 600_000), line.origin)]


def _settle(line: Line) -> list[Item]:
    wait = _number(line)
    return [Setting("settle_ms", min(max(wait, 0), 600_000), line.origin)]


def _login_prompt(line: Line) -> list[Item]:
    if len(line.value) > 300:
        raise _Unconvertible("longer than the 300 characters mgetty (and answerd) allow")
    return [Setting("login_prompt", line.value, line.origin)]


def _debug(line: Line) -> list[Item]:
    level = _number(line)
    name = "error" if level <= 1 else "warning" if level <= 3 else "info" if level == 4 else "debug"
    if line.is_global:
        return [Setting("log_level", name, line.origin)]
    return [Comment(line.origin, f"log_level is for the whole file: run this port with --log-level {name}")]


def _term(line: Line) -> list[Item]:
    if not _TERM.match(line.value):
        raise _Unconvertible(f"{line.value!r} is not a terminal type answerd accepts")
    return [Setting("term", line.value, line.origin)]


def _account(key: str, kind: str) -> Callable[[Line], list[Item]]:
    """port-owner / port-group: a name, or a number that this host's name for it replaces (answerd takes names)."""

    def convert_account(line: Line) -> list[Item]:
        name = line.value
        if name.isdigit():
            try:
                name = pwd.getpwuid(int(name)).pw_name if kind == "user" else grp.getgrgid(int(name)).gr_name
            except (KeyError, OverflowError):
                raise _Unconvertible(f"no {kind} with id {line.value} on this host") from None
        elif not re.fullmatch(r"[a-z_][a-z0-9_-]{0,31}", name):
            raise _Unconvertible(f"{name!r} is not a {kind} name answerd accepts")
        try:
            pwd.getpwnam(name) if kind == "user" else grp.getgrnam(name)
        except KeyError:
            raise _Unconvertible(f"no {kind} {name!r} on this host (answerd would refuse the file)") from None
        return [Setting(key, name, line.origin)]

    return convert_account


def _port_mode(line: Line) -> list[Item]:
    mode = _number(line)  # strtol(value, NULL, 0), as mgetty reads it: "0660" is octal
    if not 0 <= mode <= 0o777:
        raise _Unconvertible(f"{line.value} is not a set of permission bits")
    if mode & 0o007:
        kept = mode & 0o770
        note = f"mgetty's 0{mode:o} gave others access to the modem; answerd refuses that: 0{kept:o}"
        line.warn(f"{line.origin}: {note}")
        return [Setting("port_mode", FileMode(kept), line.origin, note)]
    return [Setting("port_mode", FileMode(mode), line.origin)]


def _login_conf(line: Line) -> list[Item]:
    return [Comment(line.origin, "its rules are the dispatch table below")]


_CONVERTERS: Final[dict[str, Callable[[Line], list[Item]]]] = {
    "speed": _speed,
    "port-owner": _account("port_owner", "user"),
    "port-group": _account("port_group", "group"),
    "port-mode": _port_mode,
    "toggle-dtr": _bool_key("toggle_dtr"),
    "toggle-dtr-waittime": _dtr_wait,
    "open-delay": _open_delay,
    "init-chat": _chat_key("init_chat"),
    "force-init-chat": _chat_key("force_init_chat"),
    "post-init-chat": _post_init,
    "data-flow": _data_flow,
    "modem-check-time": _check_time,
    "rings": _rings,
    "cnd-program": _cnd_program,
    "answer-chat": _answer_chat,
    "answer-chat-timeout": _seconds_key("answer_timeout_s"),
    "ignore-carrier": _bool_key("ignore_carrier"),
    "issue-file": _issue_file,
    "prompt-waittime": _settle,
    "login-prompt": _login_prompt,
    "login-time": _seconds_key("login_timeout_s", zero=86_400.0),
    "login-conf-file": _login_conf,
    "debug": _debug,
    "statistics-chat": _chat_key("statistics_chat"),
    "term": _term,
}
