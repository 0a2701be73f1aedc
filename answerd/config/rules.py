"""The kinds of value a setting can hold, each a type with its rule: a chat, a program, a path, a duration.

Each is an ``Annotated`` type for pydantic: the constraint is pydantic's own (``Field(gt=...)``) or an
``AfterValidator`` whose ``ValueError`` becomes the message the user reads after the setting's TOML path.
Where the core has a check of its own (chat scripts, argv templates, caller-ID rules), the rule calls it,
so there is one definition of what is valid and the configuration refuses what the daemon would fail on.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, Field, ValidationInfo

from answerd import core
from answerd.config.files import program_problem

__all__ = [
    "STANDARD_SPEEDS",
    "AbsolutePath",
    "AccountName",
    "AnswerCommand",
    "CallerFilter",
    "CallerInitMatch",
    "Chat",
    "DispatchMatch",
    "HealthInterval",
    "Milliseconds",
    "OptionalAbsolutePath",
    "OptionalChat",
    "OptionalProgram",
    "PortName",
    "Program",
    "Seconds",
    "Speed",
    "UserName",
    "check_port_name",
    "check_program",
]

#: Speeds the Linux termios interface can set.
STANDARD_SPEEDS = frozenset({300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600})

_MATCH_RE = re.compile(r"^(/AutoPPP/|\*|\*?[\x21-\x7e]{1,64}\*?)$")
_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\$?$")
_PORT_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@:+-]{0,63}$")


def _absolute_path(value: str | None) -> str | None:
    if value is not None and (not value.startswith("/") or "\0" in value):
        raise ValueError(f"must be an absolute path such as /dev/ttyUSB0 (got {value!r})")
    return value


def check_program(argv: list[str] | None, info: ValidationInfo) -> list[str] | None:
    """The one check of every setting that names a program to execute: an argv the core can expand, whose
    program exists, is executable (a missing login program would answer every call and drop it) and is
    trusted (owned by root, or by a dispatch rule's ``user``, validated before ``program`` for this)."""
    if argv is None:
        return None
    if not argv:
        raise ValueError("the program argv must not be empty")
    if not argv[0].startswith("/"):
        raise ValueError(f"the program must be an absolute path (got {argv[0]!r}); no shell is used to find it")
    core.DispatchRule("*", tuple(argv))  # placeholders, braces, NULs: the core's one check of argv templates
    user = info.data.get("user") if info.data else None
    problem = program_problem(argv[0], user=user if isinstance(user, str) else None)
    if problem is not None:
        raise ValueError(problem)
    return argv


def _chat(script: list[str]) -> list[str]:
    try:
        core.parse_chat(script)  # refuses an empty script too: the daemon cannot run one
    except core.ChatError as exc:
        raise ValueError(str(exc)) from None
    return script


def _optional_chat(script: list[str]) -> list[str]:
    return _chat(script) if script else script  # empty means "none" (init_chat_extra, statistics_chat)


def _standard_speed(value: int) -> int:
    if value not in STANDARD_SPEEDS:
        raise ValueError(f"speed {value} is not a termios speed (one of {sorted(STANDARD_SPEEDS)})")
    return value


def _caller_filter(value: list[str]) -> list[str]:
    core.parse_rules(value)  # the core's parser: its ValueError names the bad token
    return value


def _dispatch_match(value: str) -> str:
    if not _MATCH_RE.match(value) or "**" in value:
        raise ValueError(f"match {value!r} must be a name, prefix*, *suffix, *infix*, * or /AutoPPP/")
    return value


def _user_name(value: str | None) -> str | None:
    if value is not None and not _USER_RE.match(value):
        raise ValueError(f"user {value!r} is not a valid user name")
    return value


def _caller_init_match(value: str) -> str:
    core.CallerInitRule(value, ())  # the core's check: a number prefix, none, private, out-of-area, all
    return value


def _health_interval(value: float) -> float:
    if 0 < value < 10:
        raise ValueError("health_check_s must be 0 (no check) or at least 10 seconds")
    return value


def _answer_command(value: str) -> str:
    if not re.fullmatch(r"AT[\x20-\x7e]{0,60}", value, flags=re.IGNORECASE):
        raise ValueError(f"answer_command must be one AT command line such as 'ATA' (got {value!r})")
    return value


def check_port_name(value: str) -> str:
    """The one rule for a port name, in a ``[ports.NAME]`` table and on the command line (``--port``): it
    names the unit instance, the lock and the runtime files, so it is one plain word, never a path."""
    if not _PORT_NAME_RE.match(value):
        message = "not a usable port name (letters, digits, _.@:+-; not starting with -)"
        path = value if value.startswith("/") else f"/dev/{value}"
        example = path.removeprefix("/dev/").replace("/", "")
        if "/" in value and _PORT_NAME_RE.match(example):
            message += f'; for {path} name the port {example!r} and set device = "{path}" in [ports.{example}]'
        raise ValueError(message)
    return value


Seconds = Annotated[float, Field(gt=0, le=86400)]
Milliseconds = Annotated[int, Field(ge=0, le=600_000)]
AbsolutePath = Annotated[str, AfterValidator(_absolute_path)]
OptionalAbsolutePath = Annotated[str | None, AfterValidator(_absolute_path)]
Program = Annotated[list[str], AfterValidator(check_program)]
OptionalProgram = Annotated[list[str] | None, AfterValidator(check_program)]
Chat = Annotated[list[str], AfterValidator(_chat)]
OptionalChat = Annotated[list[str], AfterValidator(_optional_chat)]
Speed = Annotated[int, AfterValidator(_standard_speed)]
CallerFilter = Annotated[list[str], AfterValidator(_caller_filter)]
DispatchMatch = Annotated[str, AfterValidator(_dispatch_match)]
UserName = Annotated[str | None, AfterValidator(_user_name)]
AccountName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")]
CallerInitMatch = Annotated[str, AfterValidator(_caller_init_match)]
PortName = Annotated[str, AfterValidator(check_port_name)]
HealthInterval = Annotated[float, Field(ge=0, le=86400), AfterValidator(_health_interval)]
AnswerCommand = Annotated[str, AfterValidator(_answer_command)]
