"""The settings themselves: every key, its type, its default and its rules, as plain frozen dataclasses.

This module is the one place where a setting is declared. It imports no validation library on purpose:
the daemon (one long-running process per modem port) lives on these objects, and pydantic costs each of
those processes about 14 MiB and 130 ms at start (measured, ``docs/benchmarks.md``). The rules are
written here as ``Annotated`` metadata that only the configuration gate, :mod:`answerd.config.gate`,
hands to pydantic; the daemon gets a verdict from that gate (run in a child process) and then builds
these objects from the same TOML document with :meth:`Config.from_document`, which does no checking.

Two kinds of rule markers:

- :class:`Bounds` adds pydantic-core constraints (``ge``, ``gt``, ``le``, ``max_length``, ``pattern``) to
  the field's type, so the messages are pydantic's ("Input should be greater than or equal to 1");
- :class:`Check` runs a function after the type check; its ``ValueError`` becomes the message.

Cross-field rules live in ``__post_init__``, which pydantic runs after the fields are valid.
"""

from __future__ import annotations

import copy
import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, ClassVar, Literal

from answerd import core as hayes
from answerd.core import DEFAULT_FORCE_INIT_CHAT, DEFAULT_INIT_CHAT, ChatError, Profile, parse_chat

__all__ = [
    "STANDARD_SPEEDS",
    "Bounds",
    "CallerInit",
    "Check",
    "Config",
    "ConfigError",
    "DispatchRule",
    "LogLevel",
    "PortSettings",
    "parse_toml",
    "port_tables",
    "read_config_text",
    "read_document",
]

#: Speeds the Linux termios interface can set.
STANDARD_SPEEDS = frozenset({300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600})

#: pydantic's options for every settings class: unknown keys are errors (a misspelt key must not be
#: silently ignored, as mgetty does), and values are never coerced ("2" is not 2, "yes" is not true).
_GATE_OPTIONS: dict[str, Any] = {"extra": "forbid", "strict": True}


class ConfigError(Exception):
    """The configuration cannot be used. ``errors`` holds one ``path: message`` line per problem."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: " + "; ".join(errors))


def read_config_text(path: str | os.PathLike[str]) -> str:
    """The text of a config file.

    Raises:
        ConfigError: the file is missing, unreadable or not UTF-8; one line, never a traceback.
    """
    source = str(path)
    try:
        with open(path, "rb") as file:
            return file.read().decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(source, ["no such file"]) from None
    except IsADirectoryError:
        raise ConfigError(source, ["is a directory, not a config file"]) from None
    except PermissionError:
        raise ConfigError(source, ["permission denied"]) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(source, [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    except OSError as exc:
        raise ConfigError(source, [exc.strerror or str(exc)]) from None


def parse_toml(text: str, source: str) -> dict[str, Any]:
    """A TOML document (not yet checked: see :mod:`answerd.config.gate`).

    Raises:
        ConfigError: not TOML; the message says where.
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None


def read_document(path: str | os.PathLike[str]) -> dict[str, Any]:
    """:func:`read_config_text` and :func:`parse_toml` in one."""
    return parse_toml(read_config_text(path), str(path))


class Bounds:
    """Annotated metadata: pydantic-core constraints (``ge``, ``gt``, ``le``, ``max_length``, ``pattern``).

    The core schema is a plain dict (pydantic-core's documented format), so no import is needed here.
    """

    __slots__ = ("constraints",)

    def __init__(self, **constraints: object) -> None:
        self.constraints = constraints

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        return {**handler(source), **self.constraints}


class Check:
    """Annotated metadata: a rule run after the type check; a ``ValueError`` it raises is the message."""

    __slots__ = ("rule",)

    def __init__(self, rule: Callable[[Any], None]) -> None:
        self.rule = rule

    def _run(self, value: Any) -> Any:
        self.rule(value)
        return value

    def __get_pydantic_core_schema__(self, source: Any, handler: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:
        # pydantic_core.core_schema.no_info_after_validator_function(self._run, handler(source)), spelt out.
        after = {"type": "no-info", "function": self._run}
        return {"type": "function-after", "function": after, "schema": handler(source)}


# ---------------------------------------------------------------------------------------------- the rules


def _absolute_path(value: str | None) -> None:
    if value is not None and (not value.startswith("/") or "\0" in value):
        raise ValueError(f"must be an absolute path such as /dev/ttyUSB0 (got {value!r})")


def _program(argv: list[str] | None) -> None:
    if argv is None:
        return
    if not argv:
        raise ValueError("the program argv must not be empty")
    if not argv[0].startswith("/"):
        raise ValueError(f"the program must be an absolute path (got {argv[0]!r}); no shell is used to find it")
    # The rest (placeholders, braces, NULs) is the core's one check of argv templates.
    hayes.DispatchRule("*", tuple(argv))


def _chat(script: list[str]) -> None:
    try:
        parse_chat(script)
    except ChatError as exc:
        raise ValueError(str(exc)) from None


def _optional_chat(script: list[str]) -> None:
    if script:  # empty means "none" (init_chat_extra, statistics_chat)
        _chat(script)


def _standard_speed(value: int) -> None:
    if value not in STANDARD_SPEEDS:
        raise ValueError(f"speed {value} is not a termios speed (one of {sorted(STANDARD_SPEEDS)})")


def _health_interval(value: float) -> None:
    if 0 < value < 10:
        raise ValueError("health_check_s must be 0 (no check) or at least 10 seconds")


def _filter_tokens(value: list[str]) -> None:
    hayes.parse_rules(value)  # the core's parser: its ValueError names the bad token


def _answer_command(value: str) -> None:
    if not re.fullmatch(r"AT[\x20-\x7e]{0,60}", value, flags=re.IGNORECASE):
        raise ValueError(f"answer_command must be one AT command line such as 'ATA' (got {value!r})")


_MATCH_RE = re.compile(r"^(/AutoPPP/|\*|\*?[\x21-\x7e]{1,64}\*?)$")
_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\$?$")


def _dispatch_match(value: str) -> None:
    if not _MATCH_RE.match(value) or "**" in value:
        raise ValueError(f"match {value!r} must be a name, prefix*, *suffix, *infix*, * or /AutoPPP/")


def _user_name(value: str | None) -> None:
    if value is not None and not _USER_RE.match(value):
        raise ValueError(f"user {value!r} is not a valid user name")


def _caller_init_match(value: str) -> None:
    hayes.CallerInitRule(value, ())  # the core's check: a number prefix, none, private, out-of-area, all


def _none() -> list[Any]:
    """An empty list, for ``default_factory``.

    Not ``list`` itself: pydantic inspects a factory's signature, and for a builtin that means parsing its
    text signature with the tokenize module (10 ms of every configuration check, measured).
    """
    return []


Seconds = Annotated[float, Bounds(gt=0, le=86400)]
Milliseconds = Annotated[int, Bounds(ge=0, le=600_000)]
AbsolutePath = Annotated[str, Check(_absolute_path)]
Program = Annotated[list[str], Check(_program)]
Chat = Annotated[list[str], Check(_optional_chat)]


# ---------------------------------------------------------------------------------------------- the objects


@dataclass(frozen=True)
class DispatchRule:
    """One line of the dispatch table (mgetty's login.config): who gets which program."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _GATE_OPTIONS

    #: The login name to match: exact, ``prefix*``, ``*suffix``, ``*infix*``, ``*``, or ``/AutoPPP/``
    #: (only matched when PPP is detected, never by a typed name).
    match: Annotated[str, Check(_dispatch_match)]
    #: argv with placeholders {user} {connect} {caller_id} {caller_name} {device} {port}.
    program: Program
    #: Run the program as this user (with that user's groups); absent: as root, like mgetty's "-".
    user: Annotated[str | None, Check(_user_name)] = None
    #: Write utmp/wtmp entries for the session (for programs that do not, like pppd).
    utmp: bool = True
    #: Exit statuses that are normal ends of a call (default: 0; for pppd: 0, 5, 15 and 16).
    ok_exit_codes: list[int] | None = None

    def __post_init__(self) -> None:
        self.to_rule()  # the core's own checks of the whole rule (its ValueError is the message)

    def to_rule(self) -> hayes.DispatchRule:
        """The core's form of this rule; pppd gets its normal exit statuses (0, 5, 15, 16) by default."""
        codes = self.ok_exit_codes
        if codes is None:
            codes = sorted(hayes.PPPD_NORMAL_EXITS) if self.program[0].endswith("/pppd") else [0]
        return hayes.DispatchRule(
            self.match, tuple(self.program), user=self.user, utmp=self.utmp, ok_exit_codes=tuple(codes)
        )


@dataclass(frozen=True)
class CallerInit:
    """An extra chat for calls from matching callers, run after RING and before ATA."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _GATE_OPTIONS

    #: A caller number prefix, ``none`` (no caller ID), ``private``, ``out-of-area`` or ``all``.
    match: Annotated[str, Check(_caller_init_match)]
    #: Expect/send chat, e.g. ``["", "AT+MS=V34,1,9600,14400", "OK"]``.
    chat: Annotated[list[str], Check(_chat)]


@dataclass(frozen=True)
class PortSettings:
    """Every per-port setting, with its default. See ``config.example.toml`` for the prose."""

    __pydantic_config__: ClassVar[dict[str, Any]] = _GATE_OPTIONS

    # --- the device
    device: Annotated[str | None, Check(_absolute_path)] = None
    speed: Annotated[int, Check(_standard_speed)] = 38400
    flow_control: Literal["rtscts", "none"] = "rtscts"
    modem_control: Literal["auto", "tiocm", "none"] = "auto"
    toggle_dtr: bool = True
    dtr_drop_ms: Annotated[int, Bounds(ge=10, le=10_000)] = 500
    open_delay_ms: Milliseconds = 0
    close_timeout_s: Seconds = 5.0
    # --- init
    init_chat: Chat = field(default_factory=lambda: list(DEFAULT_INIT_CHAT))
    init_chat_extra: Chat = field(default_factory=_none)
    force_init_chat: Chat = field(default_factory=lambda: list(DEFAULT_FORCE_INIT_CHAT))
    chat_timeout_s: Seconds = 20.0
    init_retries: Annotated[int, Bounds(ge=1, le=1000)] = 5
    retry_backoff_s: Annotated[float, Bounds(ge=0, le=3600)] = 2.0
    # --- answering
    rings: Annotated[int, Bounds(ge=1, le=100)] = 1
    ring_gap_s: Seconds = 10.0
    answer_command: Annotated[str, Check(_answer_command)] = "ATA"
    answer_timeout_s: Seconds = 80.0
    # --- policy, locks, busy-out, health
    caller_filter: Annotated[list[str], Check(_filter_tokens)] = field(default_factory=_none)
    decision_program: Annotated[list[str] | None, Check(_program)] = None
    decision_timeout_s: Seconds = 10.0
    decision_user: Annotated[str, Bounds(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")] = "nobody"
    decision_on_error: Literal["accept", "reject"] = "accept"
    caller_init: list[CallerInit] = field(default_factory=_none)
    locking: bool = True
    lock_dir: AbsolutePath = "/run/lock"
    nologin_file: AbsolutePath = "/etc/nologin.{port}"
    health_check_s: Annotated[float, Bounds(ge=0, le=86400), Check(_health_interval)] = 300.0
    statistics_chat: Chat = field(default_factory=_none)
    # --- after CONNECT
    ignore_carrier: bool = False
    settle_ms: Milliseconds = 500
    mode: Literal["login", "direct"] = "login"
    issue: Annotated[str, Bounds(max_length=2000)] = r"\nanswerd on @ (\P, \I)\n"
    issue_file: Annotated[str | None, Check(_absolute_path)] = None
    autoppp: bool = True
    ppp_wait_ms: Annotated[int, Bounds(ge=0, le=30_000)] = 0
    login_prompt: Annotated[str, Bounds(max_length=300)] = "@ login: "
    login_timeout_s: Seconds = 240.0
    login_program: Program = field(default_factory=lambda: ["/bin/login", "--", "{user}"])
    direct_program: Annotated[list[str] | None, Check(_program)] = None
    dispatch: list[DispatchRule] = field(default_factory=_none)
    utmp: bool = True
    term: Annotated[str, Bounds(pattern=r"^[A-Za-z0-9._+-]{1,64}$")] | None = "vt100"
    stop_grace_s: Seconds = 3.0

    def __post_init__(self) -> None:
        if self.mode == "direct" and self.direct_program is None:
            raise ValueError("mode = 'direct' needs direct_program (the argv to run after CONNECT)")

    @classmethod
    def from_table(cls, table: Mapping[str, Any]) -> PortSettings:
        """Build from a (merged) TOML table that the gate accepted; nested tables become their classes.

        The values are copied: ports that inherit a list from ``[defaults]`` must not share it.
        """
        values = copy.deepcopy(dict(table))
        if "dispatch" in values:
            values["dispatch"] = [DispatchRule(**rule) for rule in values["dispatch"]]
        if "caller_init" in values:
            values["caller_init"] = [CallerInit(**rule) for rule in values["caller_init"]]
        return cls(**values)

    def device_path(self, port: str) -> str:
        """The device to open for ``port``: ``device`` if set, else ``/dev/<port>``."""
        return self.device or f"/dev/{port}"

    def to_profile(self) -> Profile:
        """The answer machine's view of these settings (the only bridge into the core)."""
        return Profile(
            init_chat=parse_chat(self.init_chat) + (parse_chat(self.init_chat_extra) if self.init_chat_extra else ()),
            force_init_chat=parse_chat(self.force_init_chat),
            toggle_dtr=self.toggle_dtr,
            dtr_drop_s=self.dtr_drop_ms / 1000,
            chat_timeout_s=self.chat_timeout_s,
            init_retries=self.init_retries,
            retry_backoff_s=self.retry_backoff_s,
            retry_backoff_max_s=max(60.0, self.retry_backoff_s),
            rings=self.rings,
            ring_gap_s=self.ring_gap_s,
            answer_command=self.answer_command,
            answer_timeout_s=self.answer_timeout_s,
            answer_gate=True,
            health_check_s=self.health_check_s or None,
            statistics_chat=parse_chat(self.statistics_chat) if self.statistics_chat else (),
        )


def port_tables(document: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The ``[defaults]`` table and each port's table merged over it, key by key (mgetty's model).

    Tables that are not tables are left out here; the gate reports them.
    """
    defaults = document.get("defaults", {})
    defaults = dict(defaults) if isinstance(defaults, dict) else {}
    ports = document.get("ports", {})
    merged = {
        name: {**defaults, **table}
        for name, table in (ports.items() if isinstance(ports, dict) else ())
        if isinstance(table, dict)
    }
    return defaults, merged


LogLevel = Literal["debug", "info", "warning", "error"]


@dataclass(frozen=True)
class Config:
    """The whole file: global settings, defaults, and per-port settings already merged with them."""

    log_level: LogLevel = "info"
    defaults: PortSettings = field(default_factory=PortSettings)
    ports: dict[str, PortSettings] = field(default_factory=dict)

    @classmethod
    def from_document(cls, document: Mapping[str, Any]) -> Config:
        """Build from a parsed TOML document that the gate (:func:`answerd.config.gate.validate_document`) accepted.

        Checks nothing: an unchecked document may raise ``TypeError`` or ``ValueError`` here, or worse, build
        settings that are wrong. Use :func:`answerd.config.gate.parse_config` unless a verdict is already in hand.
        """
        defaults, merged = port_tables(document)
        return cls(
            log_level=document.get("log_level", "info"),
            defaults=PortSettings.from_table(defaults),
            ports={name: PortSettings.from_table(table) for name, table in merged.items()},
        )

    def port(self, name: str) -> PortSettings:
        """Settings for ``name``: its own table merged over the defaults, or just the defaults."""
        return self.ports.get(name, self.defaults)
