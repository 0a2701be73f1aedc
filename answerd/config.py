"""Configuration: TOML in, validated pydantic models out, one place for every setting and default.

The file has a ``[defaults]`` table and one ``[ports.NAME]`` table per modem port; a port table overrides
the defaults key by key (mgetty's "global section, then ``port ttyS0``" model). A port that has no table
of its own runs on the defaults with ``device = "/dev/NAME"``, so ``answerd@ttyUSB1.service`` works with a
config that only sets defaults.

Unknown keys are errors, not warnings: mgetty silently ignores a misspelt keyword, and its users debug a
setting that never took effect. Every error names its TOML path (``ports.ttyS0.rings``) and the value that
was refused; :func:`load_config` collects all of them before failing, so one run of ``answerd
check-config`` shows everything to fix.

``config.example.toml`` documents every key with its default, and a test loads it and compares each
documented default with the model, so the two cannot drift apart.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from . import hayes
from .hayes import DEFAULT_FORCE_INIT_CHAT, DEFAULT_INIT_CHAT, ChatError, Profile, parse_chat

__all__ = [
    "Config",
    "ConfigError",
    "PortSettings",
    "load_config",
    "parse_config",
]

#: Speeds the Linux termios interface can set.
STANDARD_SPEEDS = frozenset({300, 600, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400, 460800, 921600})
_PORT_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@:+-]{0,63}$")


class ConfigError(Exception):
    """The configuration cannot be used. ``errors`` holds one ``path: message`` line per problem."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = errors
        super().__init__(f"{source}: " + "; ".join(errors))


def _check_program(argv: list[str]) -> list[str]:
    if not argv:
        raise ValueError("the program argv must not be empty")
    if not argv[0].startswith("/"):
        raise ValueError(f"the program must be an absolute path (got {argv[0]!r}); no shell is used to find it")
    # The rest (placeholders, braces, NULs) is the core's one check of argv templates.
    hayes.DispatchRule("*", tuple(argv))
    return argv


def _check_chat(script: list[str]) -> list[str]:
    try:
        parse_chat(script)
    except ChatError as exc:
        raise ValueError(str(exc)) from None
    return script


Seconds = Annotated[float, Field(gt=0, le=86400)]
Milliseconds = Annotated[int, Field(ge=0, le=600_000)]


_MATCH_RE = re.compile(r"^(/AutoPPP/|\*|\*?[\x21-\x7e]{1,64}\*?)$")
_USER_RE = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\$?$")


class DispatchRule(BaseModel):
    """One line of the dispatch table (mgetty's login.config): who gets which program."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: The login name to match: exact, ``prefix*``, ``*suffix``, ``*infix*``, ``*``, or ``/AutoPPP/``
    #: (only matched when PPP is detected, never by a typed name).
    match: str
    #: argv with placeholders {user} {connect} {caller_id} {caller_name} {device} {port}.
    program: list[str]
    #: Run the program as this user (with that user's groups); absent: as root, like mgetty's "-".
    user: str | None = None
    #: Write utmp/wtmp entries for the session (for programs that do not, like pppd).
    utmp: bool = True
    #: Exit statuses that are normal ends of a call (default: 0; for pppd: 0, 5, 15 and 16).
    ok_exit_codes: list[int] | None = None

    @field_validator("match")
    @classmethod
    def _match_is_pattern(cls, value: str) -> str:
        if not _MATCH_RE.match(value) or "**" in value:
            raise ValueError(f"match {value!r} must be a name, prefix*, *suffix, *infix*, * or /AutoPPP/")
        return value

    @field_validator("program")
    @classmethod
    def _program_is_argv(cls, value: list[str]) -> list[str]:
        return _check_program(value)

    @field_validator("user")
    @classmethod
    def _user_is_name(cls, value: str | None) -> str | None:
        if value is not None and not _USER_RE.match(value):
            raise ValueError(f"user {value!r} is not a valid user name")
        return value

    @model_validator(mode="after")
    def _core_accepts(self) -> DispatchRule:
        try:
            self.to_rule()
        except ValueError as exc:
            raise ValueError(str(exc)) from None
        return self

    def to_rule(self) -> hayes.DispatchRule:
        """The core's form of this rule; pppd gets its normal exit statuses (0, 5, 15, 16) by default."""
        codes = self.ok_exit_codes
        if codes is None:
            codes = sorted(hayes.PPPD_NORMAL_EXITS) if self.program[0].endswith("/pppd") else [0]
        return hayes.DispatchRule(
            self.match, tuple(self.program), user=self.user, utmp=self.utmp, ok_exit_codes=tuple(codes)
        )


class CallerInit(BaseModel):
    """An extra chat for calls from matching callers, run after RING and before ATA."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    #: A caller number prefix, ``none`` (no caller ID), ``private``, ``out-of-area`` or ``all``.
    match: str
    #: Expect/send chat, e.g. ``["", "AT+MS=V34,1,9600,14400", "OK"]``.
    chat: list[str]

    @field_validator("chat")
    @classmethod
    def _chat_parses(cls, value: list[str]) -> list[str]:
        return _check_chat(value)

    @field_validator("match")
    @classmethod
    def _match_is_pattern(cls, value: str) -> str:
        hayes.CallerInitRule(value, ())  # the core's check: a number prefix, none, private, out-of-area, all
        return value


class PortSettings(BaseModel):
    """Every per-port setting, with its default. See ``config.example.toml`` for the prose."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)

    # --- the device
    device: str | None = None
    speed: int = 38400
    flow_control: Literal["rtscts", "none"] = "rtscts"
    modem_control: Literal["auto", "tiocm", "none"] = "auto"
    toggle_dtr: bool = True
    dtr_drop_ms: Annotated[int, Field(ge=10, le=10_000)] = 500
    open_delay_ms: Milliseconds = 0
    close_timeout_s: Seconds = 5.0
    # --- init
    init_chat: list[str] = Field(default_factory=lambda: list(DEFAULT_INIT_CHAT))
    init_chat_extra: list[str] = Field(default_factory=list)
    force_init_chat: list[str] = Field(default_factory=lambda: list(DEFAULT_FORCE_INIT_CHAT))
    chat_timeout_s: Seconds = 20.0
    init_retries: Annotated[int, Field(ge=1, le=1000)] = 5
    retry_backoff_s: Annotated[float, Field(ge=0, le=3600)] = 2.0
    # --- answering
    rings: Annotated[int, Field(ge=1, le=100)] = 1
    ring_gap_s: Seconds = 10.0
    answer_command: str = "ATA"
    answer_timeout_s: Seconds = 80.0
    # --- policy, locks, busy-out, health
    caller_filter: list[str] = Field(default_factory=list)
    decision_program: list[str] | None = None
    decision_timeout_s: Seconds = 10.0
    decision_user: Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_-]{0,31}$")] = "nobody"
    decision_on_error: Literal["accept", "reject"] = "accept"
    caller_init: list[CallerInit] = Field(default_factory=list)
    locking: bool = True
    lock_dir: str = "/run/lock"
    nologin_file: str = "/etc/nologin.{port}"
    health_check_s: Annotated[float, Field(ge=0, le=86400)] = 300.0
    statistics_chat: list[str] = Field(default_factory=list)
    # --- after CONNECT
    ignore_carrier: bool = False
    settle_ms: Milliseconds = 500
    mode: Literal["login", "direct"] = "login"
    issue: Annotated[str, Field(max_length=2000)] = r"\nanswerd on @ (\P, \I)\n"
    issue_file: str | None = None
    autoppp: bool = True
    ppp_wait_ms: Annotated[int, Field(ge=0, le=30_000)] = 0
    login_prompt: Annotated[str, Field(max_length=300)] = "@ login: "
    login_timeout_s: Seconds = 240.0
    login_program: list[str] = Field(default_factory=lambda: ["/bin/login", "--", "{user}"])
    direct_program: list[str] | None = None
    dispatch: list[DispatchRule] = Field(default_factory=list)
    utmp: bool = True
    term: Annotated[str, Field(pattern=r"^[A-Za-z0-9._+-]{1,64}$")] | None = "vt100"
    stop_grace_s: Seconds = 3.0

    @field_validator("device", "issue_file", "lock_dir", "nologin_file")
    @classmethod
    def _path_is_absolute(cls, value: str | None) -> str | None:
        if value is not None and (not value.startswith("/") or "\0" in value):
            raise ValueError(f"must be an absolute path such as /dev/ttyUSB0 (got {value!r})")
        return value

    @field_validator("speed")
    @classmethod
    def _speed_is_standard(cls, value: int) -> int:
        if value not in STANDARD_SPEEDS:
            raise ValueError(f"speed {value} is not a termios speed (one of {sorted(STANDARD_SPEEDS)})")
        return value

    @field_validator("init_chat", "force_init_chat", "init_chat_extra", "statistics_chat")
    @classmethod
    def _chat_parses(cls, value: list[str]) -> list[str]:
        return value if not value else _check_chat(value)

    @field_validator("health_check_s")
    @classmethod
    def _health_interval(cls, value: float) -> float:
        if 0 < value < 10:
            raise ValueError("health_check_s must be 0 (no check) or at least 10 seconds")
        return value

    @field_validator("caller_filter")
    @classmethod
    def _filter_tokens(cls, value: list[str]) -> list[str]:
        hayes.parse_rules(value)  # the core's parser: its ValueError names the bad token
        return value

    @field_validator("answer_command")
    @classmethod
    def _answer_is_at(cls, value: str) -> str:
        if not re.fullmatch(r"AT[\x20-\x7e]{0,60}", value, flags=re.IGNORECASE) or "\r" in value:
            raise ValueError(f"answer_command must be one AT command line such as 'ATA' (got {value!r})")
        return value

    @field_validator("login_program", "direct_program", "decision_program")
    @classmethod
    def _program_is_argv(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else _check_program(value)

    @model_validator(mode="after")
    def _direct_needs_program(self) -> PortSettings:
        if self.mode == "direct" and self.direct_program is None:
            raise ValueError("mode = 'direct' needs direct_program (the argv to run after CONNECT)")
        return self

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


class Config(BaseModel):
    """The whole file: global settings, defaults, and per-port settings already merged with them."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    log_level: Literal["debug", "info", "warning", "error"] = "info"
    defaults: PortSettings = PortSettings()
    ports: dict[str, PortSettings] = Field(default_factory=dict)

    def port(self, name: str) -> PortSettings:
        """Settings for ``name``: its own table merged over the defaults, or just the defaults."""
        return self.ports.get(name, self.defaults)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _format(exc: ValidationError, prefix: str, own_keys: Mapping[str, Any] | None = None) -> list[str]:
    """Turn pydantic errors into ``toml.path: message (got value)`` lines."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if own_keys is not None and loc and loc[0] not in own_keys:
            continue  # an error in an inherited default is reported once, under [defaults]
        path = _loc((*prefix.split("."), *loc)) if prefix else _loc(loc)
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            message = "unknown key (a typo? every key is listed in config.example.toml)"
        elif "input" in err and err["type"] not in {"missing"} and not isinstance(err["input"], dict):
            shown = repr(err["input"])
            message += f" (got {shown[:80]})"
        lines.append(f"{path}: {message}")
    return lines


def parse_config(data: Mapping[str, Any], source: str = "<config>") -> Config:
    """Validate an already-parsed TOML document.

    Raises:
        ConfigError: with every problem found, each with its TOML path.
    """
    errors: list[str] = []
    top_known = {"log_level", "defaults", "ports"}
    errors += [
        f"{key}: unknown top-level key (known: defaults, ports, log_level)" for key in data if key not in top_known
    ]
    raw_defaults = data.get("defaults", {})
    raw_ports = data.get("ports", {})
    if not isinstance(raw_defaults, dict):
        errors.append("defaults: must be a table ([defaults])")
        raw_defaults = {}
    if not isinstance(raw_ports, dict):
        errors.append("ports: must be a table of port tables ([ports.ttyUSB0])")
        raw_ports = {}
    defaults = PortSettings()
    try:
        defaults = PortSettings.model_validate(raw_defaults)
    except ValidationError as exc:
        errors += _format(exc, "defaults")
    ports: dict[str, PortSettings] = {}
    for name, table in raw_ports.items():
        if not _PORT_NAME_RE.match(name):
            errors.append(f"ports.{name}: not a usable port name (letters, digits, _.@:+-; not starting with -)")
            continue
        if not isinstance(table, dict):
            errors.append(f"ports.{name}: must be a table ([ports.{name}])")
            continue
        merged = {**raw_defaults, **table}
        try:
            ports[name] = PortSettings.model_validate(merged)
        except ValidationError as exc:
            errors += _format(exc, f"ports.{name}", own_keys=table)
            # pydantic runs cross-field checks only when every field is valid; say it anyway, so one run
            # of check-config shows every problem.
            if merged.get("mode") == "direct" and merged.get("direct_program") is None:
                errors.append(f"ports.{name}: mode = 'direct' needs direct_program (the argv to run after CONNECT)")
    try:
        log_level = data.get("log_level", "info")
        config = Config(log_level=log_level, defaults=defaults, ports=ports)
    except ValidationError as exc:
        errors += _format(exc, "")
    if errors:
        raise ConfigError(source, list(dict.fromkeys(errors)))
    return config


def load_config(path: str | Path) -> Config:
    """Read and validate a TOML config file.

    Raises:
        ConfigError: the file is missing, unreadable, not TOML, or not valid; the message is one line per
            problem and never a traceback.
    """
    source = str(path)
    try:
        text = Path(path).read_bytes().decode("utf-8")
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
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None
    return parse_config(data, source)
