"""The settings: every key, declared once with its type, default, rule and description (pydantic models).

The models are strict (``"2"`` is not 2, ``"yes"`` is not true), refuse unknown keys (mgetty silently ignores
a misspelt keyword, and its users debug a setting that never took effect) and are frozen. The rules are the
types of :mod:`answerd.config.rules`; a rule that involves several keys is a validator here. How a file
becomes a :class:`Config`, with every problem named by its TOML path, is :mod:`answerd.config.load`.

``config.example.toml`` documents every key with its default, and a test compares each documented default
with the models, so the two cannot drift apart.
"""

from __future__ import annotations

import grp
import pwd
import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from answerd import core
from answerd.config.rules import (
    AbsolutePath,
    AccountName,
    AnswerCommand,
    CallerFilter,
    CallerInitMatch,
    Chat,
    DispatchMatch,
    HealthInterval,
    Milliseconds,
    OptionalAbsolutePath,
    OptionalChat,
    OptionalProgram,
    PortName,
    Program,
    Seconds,
    Speed,
    UserName,
)

__all__ = ["CallerInit", "Config", "DispatchRule", "LogLevel", "PortSettings", "numeric_results_of"]

#: For every settings class: strict types, unknown keys refused, values frozen once loaded.
_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)

LogLevel = Literal["debug", "info", "warning", "error"]
ModemFamilyName = Literal["auto", "usr", "rockwell", "agere", "multitech", "xecom", "huawei", "v250"]
Modulation = Literal["v21", "v22", "v22b", "v32", "v32b", "v34", "v90", "v92"]
#: A line (modem-to-modem) rate in bit/s.
LineRate = Annotated[int, Field(ge=300, le=56000)]

#: ``speed_preset`` values → the cap they stand for. "voip": over G.711 VoIP the V.34/V.90 training often
#: fails where V.32bis holds, so the highest modulation is V.32bis and the rate at most 14400.
SPEED_PRESETS: dict[str, core.SpeedCap] = {"voip": core.SpeedCap(max_speed=14400, modulation="v32b")}

#: A ``V0``/``V1`` in an AT command line: ``V`` not part of ``&V``, ``\V``, ``%V``, ``#V`` or ``+V...``.
_V_SETTING = re.compile(r"(?<![&\\%#+])V([01])(?![0-9])", re.IGNORECASE)


def numeric_results_of(*chats: list[str]) -> bool:
    """Whether the init chats leave the modem in ``V0`` (numeric result codes): the last ``V0``/``V1`` wins.

    No ``V`` at all: verbose, the factory default of every family in the modem-personalities note (§2 [CPQ-CNX]).
    Only the send strings (every second string, from the second on) that are AT commands are read.

    >>> numeric_results_of(["", "ATZ", "OK", "ATE0Q0V0&C1", "0"]), numeric_results_of(["", "AT&V1", "OK"])
    (True, False)
    """
    numeric = False
    for chat in chats:
        for send in chat[1::2]:
            if not send.upper().startswith("AT"):
                continue
            for found in _V_SETTING.finditer(send[2:]):
                numeric = found[1] == "0"
    return numeric


class DispatchRule(BaseModel):
    """One line of the dispatch table (mgetty's login.config): who gets which program."""

    model_config = _STRICT

    match: DispatchMatch = Field(
        description="the login name to match: exact, prefix*, *suffix, *infix*, *, or /AutoPPP/ (only "
        "matched when PPP is detected, never by a typed name)"
    )
    # user before program: the program's check accepts a program owned by the rule's user.
    user: UserName = Field(default=None, description="run the program as this user (with that user's groups); "
                           "absent: as root, like mgetty's '-'")  # fmt: skip
    program: Program = Field(description="argv with placeholders {user} {connect} {caller_id} {caller_name} "
                             "{device} {port}")  # fmt: skip
    utmp: bool = Field(default=True, description="write utmp/wtmp entries for the session (for programs that do "
                       "not, like pppd)")  # fmt: skip
    ok_exit_codes: list[int] | None = Field(
        default=None, description="exit statuses that are normal ends of a call (default: 0; for pppd: 0, 5, 15, 16)"
    )

    @model_validator(mode="after")
    def _core_accepts(self) -> DispatchRule:
        self.to_rule()  # the core's own checks of the whole rule (its ValueError is the message)
        return self

    def to_rule(self) -> core.DispatchRule:
        """The core's form of this rule; pppd gets its normal exit statuses (0, 5, 15, 16) by default."""
        codes = self.ok_exit_codes
        if codes is None:
            codes = sorted(core.PPPD_NORMAL_EXITS) if self.program[0].endswith("/pppd") else [0]
        return core.DispatchRule(
            self.match, tuple(self.program), user=self.user, utmp=self.utmp, ok_exit_codes=tuple(codes)
        )


class CallerInit(BaseModel):
    """An extra chat and/or speed cap for calls from matching callers, run after RING and before ATA."""

    model_config = _STRICT

    match: CallerInitMatch = Field(description="a caller number prefix, none (no caller ID), private, "
                                   "out-of-area or all")  # fmt: skip
    chat: OptionalChat = Field(default=[], description='expect/send chat, e.g. ["", "ATS7=90", "OK"]')
    max_speed: LineRate | None = Field(default=None, description="cap the line rate for these callers")
    min_speed: LineRate | None = Field(default=None, description="refuse a lower line rate for these callers")
    modulation: Modulation | None = Field(default=None, description="the highest modulation for these callers")

    @model_validator(mode="after")
    def _does_something(self) -> CallerInit:
        if not self.chat and self.speed_cap() is None:
            raise ValueError("a caller_init rule needs a chat or a speed cap (max_speed, min_speed, modulation)")
        return self

    def speed_cap(self) -> core.SpeedCap | None:
        """The rule's cap for the core, or ``None`` if it sets none."""
        cap = core.SpeedCap(max_speed=self.max_speed, min_speed=self.min_speed, modulation=self.modulation)
        return None if cap.empty else cap


class PortSettings(BaseModel):
    """Every per-port setting, with its default. ``config.example.toml`` has the longer prose."""

    model_config = _STRICT

    # --- the device
    device: OptionalAbsolutePath = Field(default=None, description="the serial device; default /dev/<port name>")
    speed: Speed = Field(
        default=38400, description="DTE speed (computer to modem), locked: never changed after CONNECT"
    )
    flow_control: Literal["rtscts", "none"] = Field(default="rtscts", description="hardware flow control, or none")
    modem_control: Literal["auto", "tiocm", "none"] = Field(
        default="auto", description="how DTR is driven and DCD read: tiocm (real lines), none (a pty, 3-wire), auto"
    )
    toggle_dtr: bool = Field(default=True, description="drop DTR for dtr_drop_ms before every init")
    dtr_drop_ms: int = Field(default=500, ge=10, le=10_000, description="how long DTR stays low")
    open_delay_ms: Milliseconds = Field(default=0, description="wait after opening, then discard what the modem said")
    close_timeout_s: Seconds = Field(default=5.0, description="closing the device never blocks longer than this")
    trace_line: OptionalAbsolutePath = Field(
        default=None, description="debug: append every byte read from and written to the modem to this file "
        "(JSON lines, {port}: the port name); off by default"
    )  # fmt: skip
    port_owner: AccountName = Field(default="root", description="the device's owner between calls, set at every "
                                    "open and after each call (mgetty port-owner)")  # fmt: skip
    port_group: AccountName = Field(default="dialout", description="the device's group between calls "
                                    "(mgetty port-group)")  # fmt: skip
    port_mode: int = Field(default=0o660, ge=0, le=0o770, description="the device's permission bits between "
                           "calls, in octal (0o660; mgetty port-mode); none for others")  # fmt: skip
    # --- init
    init_chat: Chat = Field(
        default=list(core.DEFAULT_INIT_CHAT), description="expect/send chat that initialises the modem"
    )
    init_chat_extra: OptionalChat = Field(default=[], description="appended to init_chat (per-port additions)")
    force_init_chat: Chat = Field(
        default=list(core.DEFAULT_FORCE_INIT_CHAT), description="tried before every init retry: a modem stuck online"
    )
    chat_timeout_s: Seconds = Field(default=20.0, description="how long each expect may wait")
    modem_family: ModemFamilyName = Field(
        default="auto", description="which vendor commands the modem takes; auto: ask it (ATI, AT+GMI) at every open"
    )
    caller_id: Literal["auto", "off"] | Chat = Field(
        default="auto", description="switch caller ID on after init: auto (the family's command), off, or a chat"
    )
    max_speed: LineRate | None = Field(default=None, description="cap the line rate (modem-to-modem), in bit/s")
    min_speed: LineRate | None = Field(default=None, description="refuse calls below this line rate, in bit/s")
    modulation: Modulation | None = Field(default=None, description="the highest modulation, e.g. v32b")
    speed_preset: Literal["none", "voip"] = Field(
        default="none", description="voip: V.32bis at most 14400 (max_speed/modulation, if set, win)"
    )
    init_retries: int = Field(default=5, ge=1, le=1000, description="init attempts before giving up (exit 69)")
    retry_backoff_s: float = Field(default=2.0, ge=0, le=3600, description="pause before a retry; doubles, up to 60 s")
    # --- answering
    rings: int = Field(default=1, ge=1, le=100, description="answer on this RING (2 or more for caller ID)")
    ring_gap_s: Seconds = Field(default=10.0, description="no RING for this long means the caller gave up")
    answer_command: AnswerCommand = Field(default="ATA", description="the command that picks up")
    answer_timeout_s: Seconds = Field(default=80.0, description="how long CONNECT may take after answer_command")
    # --- policy, locks, busy-out, health
    caller_filter: CallerFilter = Field(
        default=[], description="caller-ID rules: prefix, all, none, each may be negated"
    )
    decision_program: OptionalProgram = Field(
        default=None, description="a program that decides: exit 0 answers, 1 rejects"
    )
    decision_timeout_s: Seconds = Field(default=10.0, description="how long the decision program may take")
    decision_user: AccountName = Field(default="nobody", description="the user the decision program runs as")
    decision_on_error: Literal["accept", "reject"] = Field(default="accept", description="when the decision fails")
    caller_init: list[CallerInit] = Field(default=[], description="extra chats for matching callers, before ATA")
    locking: bool = Field(default=True, description="honour and write UUCP lock files")
    lock_dir: AbsolutePath = Field(default="/run/lock", description="where the UUCP lock files are")
    nologin_file: AbsolutePath = Field(
        default="/etc/nologin.{port}", description="while it exists, calls are not answered"
    )
    health_check_s: HealthInterval = Field(
        default=300.0, description="idle check of the modem with AT (0: off, else >= 10)"
    )
    statistics_chat: OptionalChat = Field(
        default=[], description="run after every connected call; lines go to the record"
    )
    # --- after CONNECT
    ignore_carrier: bool = Field(default=False, description="ignore DCD during the call (broken cables only)")
    carrier: Literal["dcd", "modem-text"] = Field(
        default="dcd", description="how the caller's hang-up is seen: DCD, or the modem's NO CARRIER (no DCD)"
    )
    carrier_quiet_ms: int = Field(
        default=1000, ge=100, le=30_000, description="modem-text: silence after NO CARRIER that ends the session"
    )
    max_session_s: float = Field(default=0.0, ge=0, le=604_800, description="end a session after this long (0: off)")
    max_idle_s: float = Field(default=0.0, ge=0, le=604_800, description="end a session after this long without "
                              "traffic either way (0: off)")  # fmt: skip
    hangup_dtr_ms: int = Field(
        default=500, ge=0, le=10_000, description="after a call, hold DTR low this long (0: just close the port)"
    )
    hangup_dcd_wait_s: Seconds = Field(
        default=2.0, description="after the DTR hold, wait this long for DCD to fall before escaping (+++ ATH0)"
    )
    settle_ms: Milliseconds = Field(default=500, description="wait after CONNECT before printing anything")
    mode: Literal["login", "direct"] = Field(
        default="login", description="login: issue, prompt, name; direct: a program"
    )
    issue: str = Field(
        default=r"\nanswerd on @ (\P, \I)\n", max_length=2000, description="issue text, with mgetty's escapes"
    )
    issue_file: OptionalAbsolutePath = Field(default=None, description="read the issue text from this file instead")
    autoppp: bool = Field(default=True, description="hand callers that send PPP frames to the /AutoPPP/ rule")
    ppp_wait_ms: int = Field(default=0, ge=0, le=30_000, description="wait for PPP after CONNECT before printing")
    login_prompt: str = Field(
        default="@ login: ", max_length=300, description="the login prompt, with mgetty's escapes"
    )
    login_timeout_s: Seconds = Field(default=240.0, description="the caller must enter a name within this time")
    result_guard_ms: int = Field(
        default=100,
        ge=0,
        le=5000,
        validate_default=True,  # a low speed with the default guard must be refused too
        description="after CR/LF ends a login name, wait this long for a framed modem result such as NO CARRIER "
        r"before the name is accepted; must be longer than `\r\nNO CARRIER\r\n` takes at the slowest DTE rate",
    )
    login_program: Program = Field(
        default=["/bin/login", "--", "{user}"], validate_default=True, description="the program for a login, as an argv"
    )
    direct_program: OptionalProgram = Field(
        default=None, validate_default=True, description="mode = 'direct': the argv to run right after CONNECT"
    )
    dispatch: list[DispatchRule] = Field(default=[], description="rules tried in order against the entered name")
    utmp: bool = Field(default=True, description="write utmp/wtmp entries for sessions whose program does not")
    term: str | None = Field(default="vt100", pattern=r"^[A-Za-z0-9._+-]{1,64}$", description="TERM for the program")
    stop_grace_s: Seconds = Field(
        default=3.0, description="ending a session: SIGHUP, then SIGTERM after this, then SIGKILL"
    )

    @field_validator("port_owner")
    @classmethod
    def _owner_exists(cls, value: str) -> str:
        # Given explicitly, a name must exist here (a typo would leave the device as login left it); the
        # default is looked up at start, and a host without it keeps the device's owner, with a warning.
        try:
            pwd.getpwnam(value)
        except KeyError:
            raise ValueError(f"no user {value!r} on this host") from None
        return value

    @field_validator("port_group")
    @classmethod
    def _group_exists(cls, value: str) -> str:
        try:
            grp.getgrnam(value)
        except KeyError:
            raise ValueError(f"no group {value!r} on this host") from None
        return value

    @field_validator("port_mode")
    @classmethod
    def _mode_for_owner_and_group_only(cls, value: int) -> int:
        if value & 0o007:
            raise ValueError(f"0o{value:o} gives others access to the modem: every local user could read what "
                             "callers type (passwords) or write to them; use 0o660 or 0o600")  # fmt: skip
        return value

    @field_validator("result_guard_ms")
    @classmethod
    def _guard_outlasts_a_result(cls, value: int, info: ValidationInfo) -> int:
        speed = info.data.get("speed")
        # "\r\nNO CARRIER\r\n" is 14 characters of 10 bits (start, 8 data, stop) on the DTE line.
        needed_ms = 14 * 10 * 1000 / speed if speed else 0
        if 0 < value <= needed_ms:
            raise ValueError(
                f"{value} ms is not longer than a modem's NO CARRIER takes at speed {speed} ({needed_ms:.0f} ms): "
                "raise it, or 0 turns the guard off"
            )
        return value

    @field_validator("direct_program")
    @classmethod
    def _direct_needs_a_program(cls, value: list[str] | None, info: ValidationInfo) -> list[str] | None:
        # A field validator, not a model validator: pydantic runs it even when other keys are invalid, so
        # one run of check-config shows this problem with the others.
        if value is None and info.data.get("mode") == "direct":
            raise ValueError("mode = 'direct' needs direct_program (the argv to run after CONNECT)")
        return value

    @model_validator(mode="after")
    def _core_accepts(self) -> PortSettings:
        try:
            self.to_profile()  # the answer machine's own checks: what passes here cannot crash the daemon
        except ValueError as exc:
            raise ValueError(f"the answer machine refuses these settings: {exc}") from None
        return self

    def speed_cap(self) -> core.SpeedCap | None:
        """The port's speed cap: the preset, overridden by max_speed/min_speed/modulation; ``None`` if none."""
        preset = SPEED_PRESETS.get(self.speed_preset, core.SpeedCap())
        cap = core.SpeedCap(
            max_speed=self.max_speed if self.max_speed is not None else preset.max_speed,
            min_speed=self.min_speed if self.min_speed is not None else preset.min_speed,
            modulation=self.modulation if self.modulation is not None else preset.modulation,
        )
        return None if cap.empty else cap

    def start_warnings(self) -> list[str]:
        """What the daemon should warn about at start: caller ID used for decisions but not available."""
        policy_in_use = bool(self.caller_filter or self.decision_program or self.caller_init)
        warnings = [
            core.cid_needs_rings(self.rings, policy_in_use),
            core.cid_switched_off(self.caller_id == "off", policy_in_use),
        ]
        return [warning for warning in warnings if warning is not None]

    def device_path(self, port: str) -> str:
        """The device to open for ``port``: ``device`` if set, else ``/dev/<port>``."""
        return self.device or f"/dev/{port}"

    def to_profile(self) -> core.Profile:
        """The answer machine's view of these settings (the only bridge into the core)."""
        return core.Profile(
            # Parsed apart: each chat pairs its own expects and sends (init_chat has an odd length).
            init_chat=core.parse_chat(self.init_chat)
            + (core.parse_chat(self.init_chat_extra) if self.init_chat_extra else ()),
            force_init_chat=core.parse_chat(self.force_init_chat),
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
            statistics_chat=core.parse_chat(self.statistics_chat) if self.statistics_chat else (),
            result_guard_s=self.result_guard_ms / 1000,
            numeric_results=numeric_results_of(self.init_chat, self.init_chat_extra),
            family=None if self.modem_family == "auto" else core.ModemFamily(self.modem_family),
            caller_id=self.caller_id if isinstance(self.caller_id, str) else core.parse_chat(self.caller_id),
            speed_cap=self.speed_cap(),
            caller_caps=tuple((core.CallerInitRule(rule.match, ()), rule.speed_cap()) for rule in self.caller_init),
            hangup_dtr_s=self.hangup_dtr_ms / 1000,
            hangup_dcd_wait_s=self.hangup_dcd_wait_s,
            dcd=self.carrier == "dcd",
        )


def _built_in_defaults() -> PortSettings:
    return PortSettings()  # a function, not the class itself: mypy cannot type a model class as a factory


class Config(BaseModel):
    """The whole file: global settings, ``[defaults]``, and each ``[ports.NAME]`` merged over the defaults.

    A port table overrides the defaults key by key (mgetty's "global section, then ``port ttyS0``" model). A
    port that has no table of its own runs on the defaults with ``device = "/dev/NAME"``, so
    ``answerd@ttyUSB1.service`` works with a config that only sets defaults.
    """

    model_config = _STRICT

    log_level: LogLevel = Field(default="info", description="debug (every modem line), info, warning or error")
    defaults: PortSettings = Field(default_factory=_built_in_defaults, description="what every port inherits")
    ports: dict[PortName, PortSettings] = Field(
        default={}, description="one table per port: what differs from [defaults]"
    )

    @model_validator(mode="before")
    @classmethod
    def _merge_defaults_into_ports(cls, data: Any) -> Any:
        # A file without [defaults] still has its defaults validated, as an empty table: the default
        # login_program must exist too. Tables only: anything else is left for the field types to refuse.
        if not isinstance(data, dict):
            return data
        defaults = data.get("defaults", {})
        data = {**data, "defaults": defaults}
        if isinstance(defaults, dict) and isinstance(data.get("ports"), dict):
            ports = data["ports"].items()
            data["ports"] = {name: {**defaults, **table} if isinstance(table, dict) else table for name, table in ports}
        return data

    def port(self, name: str) -> PortSettings:
        """Settings for ``name``: its own table merged over the defaults, or just the defaults."""
        return self.ports.get(name, self.defaults)
