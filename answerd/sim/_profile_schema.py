"""The modem profile's schema: one frozen dataclass per table, each field a key, each check in ``__post_init__``.

A profile has one table per concern; every key is optional and falls back to the default modem's value
(``answerd/sim/profiles/default.toml`` spells every one of them out):

``[identity]``
    ``ident``: the ``ATI0``/``+GMM`` text; ``manufacturer`` (``+GMI``), ``revision`` (``+GMR``).
``[defaults]``
    The factory settings (``&F``), which are also the power-on and stored (``&W``) ones: ``echo`` (E),
    ``verbose`` (V; false: numeric result codes), ``quiet`` (Q), ``result_level`` (X), ``dcd`` (&C),
    ``dtr`` (&D), ``w`` (W), and ``[defaults.registers]`` (``S0 = 0``, ...) over the Hayes factory table.
``[results]``
    ``connect``: the text after ``CONNECT`` (its leading number is the rate for numeric codes);
    ``ring``: the ``RING`` text; ``error``: the ``ERROR`` text; ``[results.connect_codes]``: the numeric
    CONNECT codes by rate (``"28800" = 64``), replacing the generic table whole; ``connect_rate``
    (``"dte"``: W0 reports the computer's port rate, as Rockwell/Conexant do); ``cring_type``: the call type
    ``+CRING: <type>`` reports instead of ``RING`` once the computer sets ``AT+CRC=1`` (one of
    :data:`CRING_TYPES`).
``[caller_id]``
    ``format`` (:class:`~answerd.sim._caller_id.CidFormat` name), ``force`` (send it even when the computer
    did not enable it), ``commands`` (which of ``+VCID``, ``#CID``, ``+CLIP`` switch it on; the others are
    ``ERROR``), ``every_ring`` (after every RING, as GSM ``+CLIP``), ``delivered`` (false: switched on, never
    sent), ``number``, ``name``, ``date`` (MMDD), ``time`` (HHMM).
``[speed]``
    The speed-cap commands beyond V.250's ``+MS`` (which every profile takes): ``[speed.fixed_rates]``, the
    fixed link rate of each ``&Nn`` (``"6" = 9600``, USR), none by default (``&N`` is then ``ERROR``).
``[timings]``
    ``ring_interval_s``, ``answer_delay_s`` (ATA to CONNECT), ``idle_answer_timeout_s`` (ATA with nobody
    calling to NO CARRIER), ``max_rings`` (the caller gives up after that many; 0 never).
``[faults]``
    The modem misbehaving on purpose: ``error_first``, ``silent``, ``never_connect``, ``unsolicited_connect``,
    ``answer_result``, ``echo_stuck``, ``dtr_ignored``, ``[[faults.online_reports]]`` (text the modem itself
    sends while online) and ``[[faults.line_noise]]`` (any bytes on the serial line, in any state). A new
    fault is a new key or table here, with its check in :class:`Faults`.

Rules: each table is a frozen dataclass whose fields are the keys (type and default) and whose
``__post_init__`` holds the checks, so a profile built in Python is checked exactly like one read from a
file. A failed check is a :class:`FieldError` naming the key; :mod:`answerd.sim._profile` (the TOML walker)
turns it into a ``ProfileError`` with the key's TOML path (``faults.online_reports[0].repeat: ...``).
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import ClassVar

from answerd.sim._caller_id import CidFormat
from answerd.sim._commands import CONNECT_CODES, HAYES_REGISTERS, Settings

__all__ = [
    "CRING_TYPES",
    "CallerIdProfile",
    "Defaults",
    "Faults",
    "FieldError",
    "Identity",
    "LineNoise",
    "ModemProfile",
    "OnlineReport",
    "Results",
    "SimSettings",
    "Speed",
    "Timings",
    "shown",
]

# Texts the modem sends are bounded: a profile must not make it write a megabyte per RING. 16 KiB, not less:
# the hostile-input tests send caller-ID names and CONNECT texts of 10 kB to see answerd cut them.
_MAX_TEXT = 16384
_MAX_REPORTS = 64
_MAX_REPEAT = 100_000
_MAX_COUNT = 1_000_000
# One noise burst may be big (a 1 MiB line with no terminator is a fault answerd must survive), not unbounded.
_MAX_NOISE = 16 * 1024 * 1024
_CID_COMMANDS = frozenset({"+VCID", "#CID", "+CLIP"})

#: The call types of ``+CRING: <type>`` (3GPP TS 27.007 §6.11 ``+CRC``, after V.250's cellular result codes):
#: the first four are data calls; the rest are not (``ALT`` ones alternate voice and data or fax).
CRING_TYPES = (
    "ASYNC",
    "SYNC",
    "REL ASYNC",
    "REL SYNC",
    "FAX",
    "VOICE",
    "VOICE/ASYNC",
    "VOICE/SYNC",
    "ALT VOICE/ASYNC",
    "ALT VOICE/SYNC",
    "ALT ASYNC/VOICE",
    "ALT SYNC/VOICE",
    "ALT VOICE/FAX",
    "ALT FAX/VOICE",
)


class FieldError(ValueError):
    """A field's check failed; the TOML walker (``parse_profile``) puts the table's path in front of the key."""

    def __init__(self, key: str, problem: str, value: object) -> None:
        super().__init__(f"{key}: {problem} (got {shown(value)})")
        self.key = key
        self.problem = problem
        self.value = value


def shown(value: object) -> str:
    """``value`` as an error message shows it: its repr, cut to 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _text(key: str, value: str | None, *, empty: bool = False) -> None:
    if value is None:
        return
    if not value and not empty:
        raise FieldError(key, "must not be empty", value)
    if len(value) > _MAX_TEXT:
        raise FieldError(key, f"must be at most {_MAX_TEXT} characters", value)
    if any(not 32 <= ord(c) < 127 for c in value):
        raise FieldError(key, "must be printable ASCII (no CR, LF or control characters)", value)


def _seconds(key: str, value: float, *, positive: bool = False) -> None:
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise FieldError(key, f"must be a number of seconds {'> 0' if positive else '>= 0'}", value)


def _count(key: str, value: int, low: int, high: int) -> None:
    if not low <= value <= high:
        raise FieldError(key, f"must be {low}..{high}", value)


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """``[identity]``: what the modem says it is."""

    ident: str = "answerd simulated modem"
    manufacturer: str = "answerd"
    revision: str = "answerd-sim 1.0"

    def __post_init__(self) -> None:
        _text("ident", self.ident)
        _text("manufacturer", self.manufacturer)
        _text("revision", self.revision)


@dataclass(frozen=True, slots=True, kw_only=True)
class Defaults:
    """``[defaults]``: the factory (``&F``) settings, also the power-on and stored (``&W``) ones."""

    echo: bool = True
    verbose: bool = True
    quiet: bool = False
    result_level: int = 4
    dcd: int = 1
    dtr: int = 2
    w: int = 0
    #: Listed registers replace the Hayes factory value; the others keep it.
    registers: Mapping[int, int] = field(default_factory=lambda: types.MappingProxyType(dict(HAYES_REGISTERS)))

    def __post_init__(self) -> None:
        _count("result_level", self.result_level, 0, 4)
        _count("dcd", self.dcd, 0, 1)
        _count("dtr", self.dtr, 0, 3)
        _count("w", self.w, 0, 2)
        for n, value in self.registers.items():
            _count("registers", n, 0, 255)
            _count(f"registers.S{n}", value, 0, 255)
        merged = {**HAYES_REGISTERS, **self.registers}
        object.__setattr__(self, "registers", types.MappingProxyType(dict(sorted(merged.items()))))

    def settings(self) -> Settings:
        """The command-mode settings this table describes (a fresh, mutable copy)."""
        return Settings(
            echo=self.echo,
            quiet=self.quiet,
            verbose=self.verbose,
            x=self.result_level,
            dcd=self.dcd,
            dtr=self.dtr,
            w=self.w,
            regs=dict(self.registers),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Results:
    """``[results]``: the text of the results that differ between modems."""

    connect: str = "33600/ARQ/V34/LAPM/V42BIS"
    ring: str = "RING"
    error: str = "ERROR"
    #: ``"line"``: CONNECT reports the rate of ``connect``; ``"dte"``: in W0, the computer's port rate
    #: instead (Rockwell/Conexant W0), ``connect``'s rate only when the port's rate is not known.
    connect_rate: str = "line"
    #: Numeric (V0) CONNECT codes by rate; a rate not listed is plain 1. Replaces the generic table whole.
    connect_codes: Mapping[str, int] = field(
        default_factory=lambda: types.MappingProxyType({str(k): v for k, v in CONNECT_CODES.items()})
    )
    #: What ``+CRING: <type>`` says the call is, when ``AT+CRC=1`` asks for extended ring reports.
    cring_type: str = "ASYNC"

    def __post_init__(self) -> None:
        _text("connect", self.connect, empty=True)
        _text("ring", self.ring)
        _text("error", self.error)
        if self.connect_rate not in ("line", "dte"):
            raise FieldError("connect_rate", "must be 'line' or 'dte'", self.connect_rate)
        if self.cring_type not in CRING_TYPES:
            raise FieldError("cring_type", f"must be one of {', '.join(CRING_TYPES)}", self.cring_type)
        for rate, code in self.connect_codes.items():
            if not rate.isascii() or not rate.isdigit() or len(rate) > 7:
                raise FieldError("connect_codes", 'keys must be rates in digits ("28800")', rate)
            _count(f"connect_codes.{rate}", code, 1, 255)
        object.__setattr__(self, "connect_codes", types.MappingProxyType(dict(self.connect_codes)))


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerIdProfile:
    """``[caller_id]``: what the network tells about the caller, and how the modem presents it.

    ``date``/``time`` left out: ``answerd sim`` uses the moment it started; a modem built in Python sends
    ``0101``/``1200`` (the pure modem reads no clock).
    """

    format: CidFormat = CidFormat.ROCKWELL
    force: bool = False
    #: The commands that switch caller ID on (any of ``+VCID``, ``#CID``, ``+CLIP``); others are ERROR.
    commands: tuple[str, ...] = ("+VCID", "#CID")
    #: Send the caller-ID lines after every RING (GSM ``+CLIP``), not once between the first two.
    every_ring: bool = False
    #: ``False``: the switch answers OK but no caller ID ever comes (a board without the caller-ID circuit).
    delivered: bool = True
    number: str | None = None
    name: str | None = None
    date: str | None = None
    time: str | None = None

    def __post_init__(self) -> None:
        _text("number", self.number)
        _text("name", self.name)
        for command in self.commands:
            if command not in _CID_COMMANDS:
                raise FieldError("commands", f"each must be one of {', '.join(sorted(_CID_COMMANDS))}", command)
        for key, value in (("date", self.date), ("time", self.time)):
            if value is not None and (len(value) != 4 or not value.isascii() or not value.isdigit()):
                raise FieldError(key, "must be four digits (MMDD for date, HHMM for time)", value)
        number = self.number
        if self.format is CidFormat.DIGITS and number is not None and (len(number) < 3 or not number.isdigit()):
            # One or two digits alone on a line are numeric result codes, not a caller.
            raise FieldError("number", "must be 3 or more digits with format = 'digits'", number)


@dataclass(frozen=True, slots=True, kw_only=True)
class Speed:
    """``[speed]``: speed caps a vendor sets with its own command (V.250 ``+MS`` needs no key: all take it)."""

    #: ``&Nn`` fixed link rates by ``n`` (``"6" = 9600``): with ``&Nn`` the modem connects only at that rate
    #: and hangs up when the line cannot carry it; ``&N0`` (always known once a table is given) is variable.
    #: Empty: the modem has no ``&N`` command, it is ``ERROR``.
    fixed_rates: Mapping[str, int] = field(default_factory=lambda: types.MappingProxyType({}))

    def __post_init__(self) -> None:
        for number, rate in self.fixed_rates.items():
            if not number.isascii() or not number.isdigit() or not 1 <= int(number) <= 255:
                raise FieldError("fixed_rates", 'keys must be the n of &Nn, 1..255 ("6"; &N0 is variable)', number)
            _count(f"fixed_rates.{number}", rate, 300, 115200)
        object.__setattr__(self, "fixed_rates", types.MappingProxyType(dict(self.fixed_rates)))

    def rates(self) -> dict[int, int]:
        """The table by ``n`` as a number (what the command parser looks up)."""
        return {int(number): rate for number, rate in self.fixed_rates.items()}


@dataclass(frozen=True, slots=True, kw_only=True)
class Timings:
    """``[timings]``: the ring cadence, the handshake, and the caller's patience."""

    ring_interval_s: float = 6.0
    answer_delay_s: float = 1.0
    idle_answer_timeout_s: float = 2.0
    max_rings: int = 0

    def __post_init__(self) -> None:
        _seconds("ring_interval_s", self.ring_interval_s, positive=True)
        _seconds("answer_delay_s", self.answer_delay_s)
        _seconds("idle_answer_timeout_s", self.idle_answer_timeout_s)
        _count("max_rings", self.max_rings, 0, _MAX_COUNT)


@dataclass(frozen=True, slots=True, kw_only=True)
class OnlineReport:
    """``[[faults.online_reports]]``: text the modem itself sends to the computer while online.

    ``text`` goes out framed as a verbose result, ``\\r\\n<text>\\r\\n``, ``after_s`` seconds after
    ``CONNECT``, ``repeat`` times, ``interval_s`` apart; whatever ``Q``/``V`` say (it is a fault, not a
    result). A modem that resets itself at the login prompt is ``text = "OK"``; a RING storm after CONNECT is
    ``text = "RING"``, ``repeat = 200``, ``interval_s = 0.005``. Reports stop when the call ends, and one
    due while the modem is not in data mode (escaped with ``+++``) is skipped.
    """

    after_s: float
    text: str
    repeat: int = 1
    interval_s: float = 0.0

    def __post_init__(self) -> None:
        _seconds("after_s", self.after_s)
        _text("text", self.text)
        _count("repeat", self.repeat, 1, _MAX_REPEAT)
        _seconds("interval_s", self.interval_s)


@dataclass(frozen=True, slots=True, kw_only=True)
class LineNoise:
    """``[[faults.line_noise]]``: bytes on the serial line that no modem state explains.

    ``data`` is sent as its bytes (each character U+0000..U+00FF is one byte, so TOML's ``\\u0000`` is a NUL
    and ``\\u00ff`` an 8-bit byte), with no framing, ``after_s`` seconds after the computer first writes to
    the modem, then ``repeat`` times in all, ``interval_s`` apart; in every mode (noise does not care whether
    a call is up), silenced only while the modem is ``silent``. ``length`` (0: ``len(data)``) repeats or cuts
    ``data`` to that many bytes: a 1 MiB line with no terminator is ``data = "X"``, ``length = 1048576``;
    a RING storm of 3,000 a second for 10 s is ``data = "\\r\\nRING\\r\\n"``, ``length = 240`` (30 RINGs),
    ``repeat = 1000``, ``interval_s = 0.01``.
    """

    after_s: float
    data: str
    length: int = 0
    repeat: int = 1
    interval_s: float = 0.0

    def __post_init__(self) -> None:
        _seconds("after_s", self.after_s)
        if not self.data:
            raise FieldError("data", "must not be empty", self.data)
        if len(self.data) > _MAX_TEXT or any(ord(c) > 0xFF for c in self.data):
            raise FieldError(
                "data", f"must be at most {_MAX_TEXT} characters U+0000..U+00FF (one byte each)", self.data
            )
        _count("length", self.length, 0, _MAX_NOISE)
        _count("repeat", self.repeat, 1, _MAX_REPEAT)
        _seconds("interval_s", self.interval_s)

    def burst(self) -> bytes:
        """The bytes of one send."""
        pattern = self.data.encode("latin-1")
        size = self.length or len(pattern)
        return (pattern * (size // len(pattern) + 1))[:size]


@dataclass(frozen=True, slots=True, kw_only=True)
class Faults:
    """``[faults]``: the modem misbehaving on purpose (all off in the default profile).

    ``error_first``: the first N command lines get ``ERROR`` without being run. ``silent``: a dead modem at
    start (no echo, no results, no RING; ``SimModem.set_silent`` revives it). ``never_connect``: ``ATA`` gets
    no result at all. ``unsolicited_connect``: a caller gets ``CONNECT`` at once, with no RING.
    ``answer_result``: answer with this result instead of ``CONNECT ...`` (e.g. ``"NO CARRIER"``; a text
    starting with ``CONNECT`` is a successful connect with that exact line). ``echo_stuck``: ``ATE0`` answers
    OK but the modem goes on echoing. ``dtr_ignored``: a DTR drop does nothing whatever ``&D`` says (a modem
    strapped to ignore DTR, or a cable without it). ``online_reports``: see :class:`OnlineReport`;
    ``line_noise``: see :class:`LineNoise`.
    """

    error_first: int = 0
    silent: bool = False
    never_connect: bool = False
    unsolicited_connect: bool = False
    answer_result: str | None = None
    echo_stuck: bool = False
    dtr_ignored: bool = False
    online_reports: tuple[OnlineReport, ...] = ()
    line_noise: tuple[LineNoise, ...] = ()

    def __post_init__(self) -> None:
        _count("error_first", self.error_first, 0, _MAX_COUNT)
        _text("answer_result", self.answer_result)
        if len(self.online_reports) > _MAX_REPORTS:
            raise FieldError("online_reports", f"at most {_MAX_REPORTS} entries", len(self.online_reports))
        if len(self.line_noise) > _MAX_REPORTS:
            raise FieldError("line_noise", f"at most {_MAX_REPORTS} entries", len(self.line_noise))


@dataclass(frozen=True, slots=True, kw_only=True)
class ModemProfile:
    """How the simulated modem behaves: one table per concern (see the module docstring)."""

    name: str = "default"
    identity: Identity = field(default_factory=Identity)
    defaults: Defaults = field(default_factory=Defaults)
    results: Results = field(default_factory=Results)
    caller_id: CallerIdProfile = field(default_factory=CallerIdProfile)
    speed: Speed = field(default_factory=Speed)
    timings: Timings = field(default_factory=Timings)
    faults: Faults = field(default_factory=Faults)

    #: The flat names of the old ``SimSettings`` (and of ``answerd sim``'s flags): (table, key).
    FLAT: ClassVar[Mapping[str, tuple[str, str]]] = types.MappingProxyType(
        {
            "ring_interval": ("timings", "ring_interval_s"),
            "max_rings": ("timings", "max_rings"),
            "answer_delay": ("timings", "answer_delay_s"),
            "idle_answer_timeout": ("timings", "idle_answer_timeout_s"),
            "connect_text": ("results", "connect"),
            "cring_type": ("results", "cring_type"),
            "caller_number": ("caller_id", "number"),
            "caller_name": ("caller_id", "name"),
            "force_cid": ("caller_id", "force"),
            "cid_date": ("caller_id", "date"),
            "cid_time": ("caller_id", "time"),
            "cid_format": ("caller_id", "format"),
            "ident": ("identity", "ident"),
            "answer_result": ("faults", "answer_result"),
            "never_connect": ("faults", "never_connect"),
            "error_first": ("faults", "error_first"),
            "silent": ("faults", "silent"),
            "unsolicited_connect": ("faults", "unsolicited_connect"),
            "echo_stuck": ("faults", "echo_stuck"),
            "dtr_ignored": ("faults", "dtr_ignored"),
        }
    )

    def __post_init__(self) -> None:
        _text("name", self.name)

    def factory_settings(self) -> Settings:
        """The ``&F`` settings: ``[defaults]``, with the result tables of ``[results]`` attached."""
        settings = self.defaults.settings()
        settings.connect_codes = {int(rate): code for rate, code in self.results.connect_codes.items()}
        settings.error_text = self.results.error
        return settings

    def override(self, **flat: object) -> ModemProfile:
        """This profile with some fields replaced, named the flat way (``ring_interval=0.3``, ``silent=True``).

        Raises:
            TypeError: a name that is not in :attr:`FLAT`.
            ValueError: a value the field's check refuses.
        """
        tables: dict[str, dict[str, object]] = {}
        for name, value in flat.items():
            if name not in self.FLAT:
                raise TypeError(f"unknown modem setting {name!r}")
            table, key = self.FLAT[name]
            tables.setdefault(table, {})[key] = value
        changed = {table: replace(getattr(self, table), **keys) for table, keys in tables.items()}
        return replace(self, **changed)


def SimSettings(**flat: object) -> ModemProfile:  # the old class's name, kept for its callers
    """The default profile with fields named the old flat way (``SimSettings(error_first=2)``).

    Every old field name keeps its meaning (see :attr:`ModemProfile.FLAT`); new code uses
    :class:`ModemProfile` and its tables.
    """
    return ModemProfile().override(**flat)
