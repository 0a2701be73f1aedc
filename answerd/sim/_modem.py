"""A sans-IO Hayes data modem: what a real modem does, with the phone line played by a caller object.

Theory of operation
-------------------
``SimModem`` is a pure state machine. It never reads a clock and does no I/O: every input carries ``now``
(seconds, any monotonic origin) and returns a list of actions for the shell to carry out in order. Time
only moves when the shell calls :meth:`SimModem.handle_timer` at (or after) :meth:`SimModem.get_timer`.
That keeps the unit tests exact (no sleeps) and lets the same object sit behind a pty in ``answerd sim``.

Two sides talk to it:

* the DTE (the computer, i.e. answerd) through :meth:`~SimModem.dte_data` and
  :meth:`~SimModem.dtr_changed`; the modem answers with :class:`ToDte`;
* the phone line (one TCP client in the shell) through :meth:`~SimModem.caller_arrived`,
  :meth:`~SimModem.caller_data` and :meth:`~SimModem.caller_left`; the modem answers with
  :class:`ToCaller` and :class:`DropCaller`.

The call goes through :class:`ModemMode`::

    IDLE --caller_arrived--> RINGING --ATA / S0 rings--> ANSWERING --answer_delay--> ONLINE
     ^                          |                            |                    |   ^
     |   caller left / gave up  |      abort / no caller     |       +++ (guard)  |   | ATO
     +--------------------------+----------------------------+             ONLINE_COMMAND
     +--------- caller left (CarrierLost, NO CARRIER), ATH, DTR drop (&D2/&D3) ----+

Rules the module keeps, because answerd relies on them the way it relies on a real modem:

1. Command mode and data mode never mix: in ``ONLINE`` every DTE byte goes to the caller and every
   caller byte to the DTE, byte-exact; outside ``ONLINE`` caller bytes are discarded (and logged).
2. When the carrier goes away while DCD was asserted (``&C1``), :class:`CarrierLost` comes *before* the
   ``NO CARRIER`` text, so the shell can hang the tty up the way the kernel would before the DTE reads it.
3. After :class:`DropCaller` the caller is gone for the modem; a later ``caller_left`` is ignored.
4. Result codes follow ``Q``/``V``/``X``: verbose ``\\r\\nOK\\r\\n``, numeric ``0\\r``; information text
   (``I``, ``S7?``, ``&V``) is not silenced by ``Q1``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field, replace

__all__ = [
    "Action",
    "CarrierLost",
    "CidFormat",
    "DropCaller",
    "Log",
    "ModemMode",
    "ResultCode",
    "SimModem",
    "SimSettings",
    "ToCaller",
    "ToDte",
]


# --- actions -------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class ToDte:
    """Bytes the modem sends to the computer (results, echo, caller data while online)."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class ToCaller:
    """Bytes the modem sends down the phone line (DTE data while online)."""

    data: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class DropCaller:
    """The modem went on-hook: close the caller's connection."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CarrierLost:
    """DCD fell while it was asserted: the shell must hang up the tty's session (SIGHUP) like the kernel."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Log:
    """A readable note for the transcript; changes nothing."""

    text: str


Action = ToDte | ToCaller | DropCaller | CarrierLost | Log


# --- settings ------------------------------------------------------------------------------------------


class CidFormat(enum.Enum):
    """How the simulated modem presents caller ID: one dialect per family answerd must understand.

    The dialects and the modems that send them are mgetty's (``cnd.c``); ``ELSA`` replaces the first
    caller-ID burst with ``RING;<number>`` on every ring instead.
    """

    #: Rockwell ``#CID=1``/V.253 ``+VCID=1``: ``DATE = ``, ``TIME = ``, ``NMBR = ``, ``NAME = `` lines
    #: (``+VCID=2``/``#CID=2`` from the DTE switches it to ``MDMF``, as on the real chips).
    ROCKWELL = "rockwell"
    #: ``MESG = <hex>``: the whole Bellcore MDMF packet (type 0x80, date/time, number, name, checksum).
    MDMF = "mdmf"
    #: ``MESG = <hex>``: the whole Bellcore SDMF packet (type 0x04, ``MMDDHHMM`` + number, checksum).
    SDMF = "sdmf"
    #: ELSA/Diva ``RING;<number>`` instead of ``RING`` (verbose mode), no separate caller-ID lines.
    ELSA = "elsa"
    #: ZyXEL 2864(D)I ``FM:<number>``.
    ZYXEL = "zyxel"
    #: GSM/V.250 ``+CLIP: "<number>",<type>`` (129 national, 145 with a leading ``+``).
    CLIP = "clip"
    #: ``DDN_NMBR= <number>`` (some Rockwell chips; mgetty's table).
    DDN = "ddn"
    #: Alias of ``DDN`` (the name the operator docs use).
    US_ROBOTICS = "ddn"
    #: ZyXEL 1496 ``CALLER NUMBER: `` and ``CALLER NAME: ``.
    CALLER_NUMBER = "caller_number"
    #: Kortex Adaptix ``NBR=<number>``.
    NBR = "nbr"
    #: ELINK 301 ISDN: a line of only the number's digits.
    DIGITS = "digits"
    #: Rockwell lines with ``NMBR = P`` (the caller withheld the number); needs no ``caller_number``.
    PRIVATE = "private"
    #: Rockwell lines with ``NMBR = O`` (out of area / unavailable); needs no ``caller_number``.
    OUT_OF_AREA = "out_of_area"


@dataclass(frozen=True, slots=True, kw_only=True)
class SimSettings:
    """How the simulated modem and its phone line behave; the fault knobs make it misbehave on purpose.

    Args:
        ring_interval: seconds from one ``RING`` to the next (6.0: US cadence, 2 s on, 4 s off).
        max_rings: the caller gives up (the modem drops the line) after this many unanswered rings;
            0 rings until the caller leaves.
        answer_delay: seconds from ``ATA`` (or auto-answer) to ``CONNECT``: the handshake.
        idle_answer_timeout: seconds after ``ATA`` with nobody calling until ``NO CARRIER``.
        connect_text: what follows ``CONNECT``; its leading number is the rate for numeric codes.
        caller_number: caller ID number sent between the first two rings; ``None`` sends no caller ID.
        caller_name: caller ID name (the ``NAME =`` line), if any.
        force_cid: send caller ID even when the DTE did not enable it (``+VCID=1``/``#CID=1``).
        cid_date: the ``DATE =`` value (MMDD); the module reads no clock.
        cid_time: the ``TIME =`` value (HHMM).
        cid_format: how caller ID is presented (:class:`CidFormat`); ``DIGITS`` needs a caller number of
            at least three digits (shorter digit lines are result codes).
        ident: the ``ATI0`` text.
        answer_result: answer with this result instead of ``CONNECT ...`` (e.g. ``"NO CARRIER"``); a text
            starting with ``CONNECT`` is a successful connect with that exact line.
        never_connect: ``ATA`` gets no result at all (for answer-timeout tests).
        error_first: the first N command lines get ``ERROR`` without being executed.
        silent: a dead modem: no echo, no results, no rings. This is only the initial state:
            :meth:`SimModem.set_silent` makes the modem die and come back at run time.
        unsolicited_connect: an auto-answering modem: a caller gets ``CONNECT`` at once, with no ``RING``.
    """

    ring_interval: float = 6.0
    max_rings: int = 0
    answer_delay: float = 1.0
    idle_answer_timeout: float = 2.0
    connect_text: str = "33600/ARQ/V34/LAPM/V42BIS"
    caller_number: str | None = None
    caller_name: str | None = None
    force_cid: bool = False
    cid_date: str = "0101"
    cid_time: str = "1200"
    cid_format: CidFormat = CidFormat.ROCKWELL
    ident: str = "answerd simulated modem"
    answer_result: str | None = None
    never_connect: bool = False
    error_first: int = 0
    silent: bool = False
    unsolicited_connect: bool = False

    def __post_init__(self) -> None:
        if not self.ring_interval > 0:
            raise ValueError(f"ring_interval must be > 0, not {self.ring_interval}")
        for name in ("answer_delay", "idle_answer_timeout"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, not {getattr(self, name)}")
        for name in ("max_rings", "error_first"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, not {getattr(self, name)}")
        for name, value in (("cid_date", self.cid_date), ("cid_time", self.cid_time)):
            if len(value) != 4 or not value.isdigit():
                raise ValueError(f"{name} must be four digits, not {value!r}")
        if self.cid_format is CidFormat.DIGITS and self.caller_number is not None:
            number = self.caller_number
            if len(number) < 3 or not number.isascii() or not number.isdigit():
                raise ValueError(f"cid_format digits needs a caller number of 3 or more digits, not {number!r}")
        for name, text in (("connect_text", self.connect_text), ("answer_result", self.answer_result or "")):
            if any(not 32 <= ord(c) < 127 for c in text):
                raise ValueError(f"{name} must be printable ASCII, not {text!r}")


# --- result codes --------------------------------------------------------------------------------------


class ResultCode(enum.IntEnum):
    """Hayes result codes and their numeric (``V0``) values."""

    OK = 0
    CONNECT = 1
    RING = 2
    NO_CARRIER = 3
    ERROR = 4
    NO_DIALTONE = 6
    BUSY = 7
    NO_ANSWER = 8

    @property
    def text(self) -> str:
        """The verbose (``V1``) text: ``NO CARRIER`` for ``NO_CARRIER``."""
        return self.name.replace("_", " ")


# Numeric CONNECT codes by rate (the common Hayes/Rockwell table); a rate not listed reports plain 1.
_CONNECT_CODES = {
    1200: 5,
    2400: 10,
    4800: 11,
    9600: 12,
    7200: 13,
    12000: 14,
    14400: 15,
    19200: 16,
    38400: 17,
    57600: 18,
    115200: 19,
}

_RESULT_BY_TEXT = {code.text: code for code in ResultCode}


class ModemMode(enum.Enum):
    """Where the modem is in a call (see the module docstring for the transitions)."""

    IDLE = "idle"
    RINGING = "ringing"
    ANSWERING = "answering"
    ONLINE = "online"
    ONLINE_COMMAND = "online-command"


class _Timer(enum.Enum):
    RING = "ring"
    CALLER_ID = "caller-id"
    ANSWER = "answer"
    ESCAPE = "escape"


class _Lexer(enum.Enum):
    WAIT_A = "wait-a"
    WAIT_T = "wait-t"
    IN_LINE = "in-line"


_FACTORY_REGISTERS = {
    0: 0,  # rings before auto-answer; 0 = never
    1: 0,  # ring counter
    2: 43,  # escape character '+'
    3: 13,  # command line terminator CR
    4: 10,  # response formatting LF
    5: 8,  # backspace
    6: 2,  # wait for dial tone (s)
    7: 50,  # wait for carrier (s)
    8: 2,  # comma pause (s)
    10: 14,  # carrier loss delay (1/10 s)
    12: 50,  # escape guard time (1/50 s)
}

# Command lines longer than this are an error, as on most modems (Hayes allowed 40, later chips 255).
_MAX_LINE = 255


@dataclass(slots=True, kw_only=True)
class _Profile:
    """The settings ``&W`` stores and ``Z`` restores (mutable: commands change it in place)."""

    echo: bool = True
    quiet: bool = False
    verbose: bool = True
    x: int = 4
    speaker_volume: int = 1
    speaker_mode: int = 1
    w: int = 0
    dcd: int = 1  # &C1: DCD follows the carrier, so losing it hangs the tty up
    dtr: int = 2
    flow: int = 3
    dsr: int = 0
    vcid: int = 0
    cid: int = 0
    ms: str = ""
    regs: dict[int, int] = field(default_factory=lambda: dict(_FACTORY_REGISTERS))

    def copy(self) -> _Profile:
        return replace(self, regs=dict(self.regs))

    def reg(self, n: int) -> int:
        return self.regs.get(n, 0)


class _CommandError(Exception):
    """Aborts a command line with ``ERROR``; commands before the bad one stay done, as on real modems."""


@dataclass(slots=True)
class _Cursor:
    text: str
    pos: int = 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def take(self) -> str:
        c = self.peek()
        self.pos += 1 if c else 0
        return c

    def number(self, default: int | None = None) -> int:
        start = self.pos
        while self.peek().isdigit():
            self.pos += 1
        if start == self.pos:
            if default is None:
                raise _CommandError
            return default
        return int(self.text[start : self.pos])

    def until(self, stop: str) -> str:
        start = self.pos
        while self.peek() and self.peek() not in stop:
            self.pos += 1
        return self.text[start : self.pos]

    def rest(self) -> str:
        start, self.pos = self.pos, len(self.text)
        return self.text[start:]


_IDENT_LINES: dict[int, tuple[str, ...]] = {
    1: ("000",),
    2: ("ROM checksum OK",),
    3: ("answerd-sim 1.0 (pure software, no data pump)",),
    4: ("Hayes compatible; V.34 V.42 V.42bis; caller ID (+VCID, #CID)",),
    5: ("country code B5 (US)",),
    6: ("link diagnostics: none (simulated line)",),
    7: ("no attached devices",),
    8: ("no extra information",),
    9: ("answerd-sim",),
}


class SimModem:
    """A Hayes data modem with a simulated phone line; every input returns the actions it causes.

    Args:
        settings: line behaviour and fault knobs.

    >>> m = SimModem(SimSettings())
    >>> m.dte_data(b"ATE0\\r", now=0.0)
    [ToDte(data=b'ATE0\\r\\r\\nOK\\r\\n')]
    """

    def __init__(self, settings: SimSettings | None = None) -> None:
        self._settings = settings or SimSettings()
        self._saved = _Profile()
        self._p = self._saved.copy()
        self._mode = ModemMode.IDLE
        self._caller = False
        self._off_hook = False
        self._dtr = True
        self._timers: dict[_Timer, float] = {}
        self._rings = 0
        self._errors_left = self._settings.error_first
        self._silent = self._settings.silent
        # Command-line lexer
        self._lex = _Lexer.WAIT_A
        self._line = ""
        self._overflow = False
        self._last_line = ""
        # Escape (+++) detection: time of the last DTE byte while online, and '+' run length/time.
        self._last_dte = 0.0
        self._plus_count = 0
        self._last_plus = 0.0

    # --- observers -------------------------------------------------------------------------------------

    @property
    def mode(self) -> ModemMode:
        """Where the modem is in a call."""
        return self._mode

    @property
    def silent(self) -> bool:
        """Whether the modem is dead right now (see :meth:`set_silent`)."""
        return self._silent

    @property
    def caller_present(self) -> bool:
        """Whether a caller is on the line (as far as the modem knows)."""
        return self._caller

    @property
    def accepts_call(self) -> bool:
        """Whether a new caller would ring; otherwise the line is busy (a caller or the modem off-hook)."""
        return not self._caller and not self._off_hook and self._mode is ModemMode.IDLE

    def register(self, n: int) -> int:
        """The current value of S register ``n`` (0 for one never set)."""
        return self._p.reg(n)

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must be called next, or ``None`` if nothing is pending."""
        return min(self._timers.values(), default=None)

    # --- inputs from the DTE ---------------------------------------------------------------------------

    def dte_data(self, data: bytes, now: float) -> list[Action]:
        """Bytes the computer wrote to the modem."""
        if self._silent:
            return [Log(text=f"silent: ignored {len(data)} byte(s) from the DTE")]
        out: list[Action] = []
        i = 0
        while i < len(data):
            if self._mode is ModemMode.ONLINE:
                chunk = data[i:]
                out.append(ToCaller(data=chunk))
                self._scan_escape(chunk, now)
                break
            if self._mode is ModemMode.ANSWERING:
                if data[i] == 10:
                    # The LF of a DTE that ends lines with CRLF must not abort the ATA it just sent.
                    i += 1
                    continue
                # Any other character aborts the handshake, as on Hayes-compatible modems.
                out.append(Log(text="answer aborted by a character from the DTE"))
                out.extend(self._fail_call(ResultCode.NO_CARRIER))
                i += 1
                continue
            out.extend(self._command_byte(data[i], now))
            i += 1
        return _merge(out)

    def dtr_changed(self, high: bool, now: float) -> list[Action]:  # noqa: ARG002 (uniform input signature)
        """The computer raised or dropped DTR (on a pty: the speed became or left B0, or the port closed)."""
        if high == self._dtr:
            return []
        self._dtr = high
        out: list[Action] = [Log(text="DTR high" if high else "DTR low")]
        if high or self._silent:
            return out
        policy = self._p.dtr
        if policy == 0:
            return out
        if policy == 1:
            if self._mode is ModemMode.ONLINE:
                self._mode = ModemMode.ONLINE_COMMAND
                out.append(Log(text="&D1: DTR drop, back to command mode"))
                out.extend(self._result(ResultCode.OK))
            return out
        if self._mode in (ModemMode.ONLINE, ModemMode.ONLINE_COMMAND):
            out.append(Log(text=f"&D{policy}: DTR drop hangs up"))
            out.extend(self._hang_up(report=True))
        elif self._mode is ModemMode.ANSWERING:
            out.append(Log(text=f"&D{policy}: DTR drop aborts the answer"))
            out.extend(self._fail_call(ResultCode.NO_CARRIER))
        self._off_hook = False
        if policy == 3:
            self._reset(self._saved)
            out.append(Log(text="&D3: reset to the stored profile"))
        return out

    # --- inputs from the phone line --------------------------------------------------------------------

    def caller_arrived(self, now: float) -> list[Action]:
        """Someone calls in (a TCP client connected); the shell checks :attr:`accepts_call` first."""
        if not self.accepts_call:
            return [Log(text="caller arrived on a busy line; ignored")]
        self._caller = True
        if self._silent:
            return [Log(text="caller arrived; silent modem does not ring")]
        out: list[Action] = [Log(text="caller arrived")]
        self._p.regs[1] = 0
        self._rings = 0
        if self._settings.unsolicited_connect:
            out.append(Log(text="unsolicited CONNECT (auto-answering modem)"))
            out.extend(self._connect(now))
            return out
        self._mode = ModemMode.RINGING
        out.extend(self._ring(now))
        if self._mode is ModemMode.RINGING and self._cid_enabled() and self._settings.cid_format is not CidFormat.ELSA:
            # The caller-ID burst comes in the silence after the first ring (Bellcore: 0.5 s after it).
            self._timers[_Timer.CALLER_ID] = now + self._settings.ring_interval / 2
        return out

    def caller_data(self, data: bytes, now: float) -> list[Action]:  # noqa: ARG002 (uniform input signature)
        """Bytes from the caller; only reach the DTE while online."""
        if self._mode is ModemMode.ONLINE and not self._silent:
            return [ToDte(data=data)]
        return [Log(text=f"discarded {len(data)} byte(s) from the caller ({self._mode.value})")]

    def caller_left(self, now: float) -> list[Action]:  # noqa: ARG002 (uniform input signature)
        """The caller hung up (the shell's TCP client closed)."""
        if not self._caller:
            return []
        self._caller = False
        out: list[Action] = [Log(text="caller left")]
        if self._silent:
            return out
        match self._mode:
            case ModemMode.RINGING:
                self._stop_ringing()
                self._p.regs[1] = 0
                self._mode = ModemMode.IDLE
            case ModemMode.ANSWERING:
                self._timers.pop(_Timer.ANSWER, None)
                self._mode = ModemMode.IDLE
                out.extend(self._result(ResultCode.NO_CARRIER))
            case ModemMode.ONLINE | ModemMode.ONLINE_COMMAND:
                out.extend(self._carrier_gone())
                self._mode = ModemMode.IDLE
                out.extend(self._result(ResultCode.NO_CARRIER))
            case ModemMode.IDLE:
                pass
        return out

    # --- time ------------------------------------------------------------------------------------------

    def handle_timer(self, now: float) -> list[Action]:
        """Run every timer due at ``now`` (earliest first); while silent, nothing of it reaches the DTE."""
        out: list[Action] = []
        while True:
            due = [(t, k) for k, t in self._timers.items() if t <= now]
            if not due:
                return self._mute(out) if self._silent else out
            when, kind = min(due, key=lambda item: item[0])
            del self._timers[kind]
            out.extend(self._fire(kind, when))

    def set_silent(self, silent: bool, now: float) -> list[Action]:  # noqa: ARG002 (uniform input signature)
        """Make the modem die (``True``: it answers nothing, echoes nothing, reports no RING) or come back.

        The state it was in is kept: a modem that comes back answers ``AT`` with ``OK`` at once. A caller who
        arrived while it was silent hears nothing until they call again (the line never rang).
        """
        if silent == self._silent:
            return []
        self._silent = silent
        text = "silent: the modem stops answering" if silent else "silent: off, the modem answers again"
        return [Log(text=text)]

    @staticmethod
    def _mute(actions: list[Action]) -> list[Action]:
        """Drop what a silent modem would have sent to the DTE (a RING, caller ID, a result), with a note."""
        out: list[Action] = []
        for action in actions:
            if isinstance(action, ToDte):
                out.append(Log(text=f"silent: swallowed {len(action.data)} byte(s) for the DTE"))
            else:
                out.append(action)
        return out

    def _fire(self, kind: _Timer, when: float) -> list[Action]:
        match kind:
            case _Timer.RING:
                limit = self._settings.max_rings
                if limit and self._rings >= limit:
                    self._stop_ringing()
                    self._caller = False
                    self._mode = ModemMode.IDLE
                    self._p.regs[1] = 0
                    return [Log(text=f"caller gave up after {self._rings} ring(s)"), DropCaller()]
                return self._ring(when)
            case _Timer.CALLER_ID:
                return self._caller_id()
            case _Timer.ANSWER:
                return self._answer_done(when)
            case _Timer.ESCAPE:
                if self._mode is not ModemMode.ONLINE or self._plus_count != 3:
                    return []
                self._plus_count = 0
                self._mode = ModemMode.ONLINE_COMMAND
                return [Log(text="escape: command mode, call stays up"), *self._result(ResultCode.OK)]

    # --- ringing and answering -------------------------------------------------------------------------

    def _ring(self, now: float) -> list[Action]:
        self._rings += 1
        self._p.regs[1] = min(255, self._p.reg(1) + 1)
        text = None
        if self._settings.cid_format is CidFormat.ELSA and self._cid_enabled():
            text = f"RING;{self._settings.caller_number}"
        out: list[Action] = [Log(text=f"ring {self._rings}"), *self._result(ResultCode.RING, text)]
        self._timers[_Timer.RING] = now + self._settings.ring_interval
        s0 = self._p.reg(0)
        if s0 and self._p.reg(1) >= s0 and (self._dtr or self._p.dtr == 0):
            out.append(Log(text=f"auto-answer after {self._p.reg(1)} ring(s) (S0={s0})"))
            out.extend(self._start_answer(now))
        return out

    def _stop_ringing(self) -> None:
        self._timers.pop(_Timer.RING, None)
        self._timers.pop(_Timer.CALLER_ID, None)

    def _cid_enabled(self) -> bool:
        s = self._settings
        enabled = s.force_cid or self._p.vcid or self._p.cid
        withheld = s.cid_format in (CidFormat.PRIVATE, CidFormat.OUT_OF_AREA)
        return bool(enabled and (s.caller_number or withheld))

    def _caller_id(self) -> list[Action]:
        if self._mode is not ModemMode.RINGING or not self._cid_enabled():
            return []
        lines = self._cid_lines()
        if not lines:
            return []
        data = b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines)
        return [Log(text=f"caller ID sent ({self._settings.cid_format.value})"), ToDte(data=data)]

    def _cid_lines(self) -> list[str]:
        """The caller-ID burst in the configured format (empty for ELSA, which puts it on the RINGs)."""
        s = self._settings
        number = s.caller_number or ""
        fmt = s.cid_format
        if fmt is CidFormat.ROCKWELL and 2 in (self._p.vcid, self._p.cid) and not s.force_cid:
            fmt = CidFormat.MDMF  # unformatted presentation requested by the DTE
        match fmt:
            case CidFormat.ROCKWELL | CidFormat.PRIVATE | CidFormat.OUT_OF_AREA:
                shown = {CidFormat.PRIVATE: "P", CidFormat.OUT_OF_AREA: "O"}.get(fmt, number)
                lines = [f"DATE = {s.cid_date}", f"TIME = {s.cid_time}", f"NMBR = {shown}"]
                if s.caller_name:
                    lines.append(f"NAME = {s.caller_name}")
                return lines
            case CidFormat.MDMF:
                # Unformatted presentation: the raw MDMF packet in hex, checksum included.
                return [f"MESG = {_mdmf(s.cid_date + s.cid_time, number, s.caller_name)}"]
            case CidFormat.SDMF:
                return [f"MESG = {_sdmf(s.cid_date + s.cid_time, number)}"]
            case CidFormat.ELSA:
                return []
            case CidFormat.ZYXEL:
                return [f"FM:{number}"]
            case CidFormat.CLIP:
                return [f'+CLIP: "{number}",{145 if number.startswith("+") else 129}']
            case CidFormat.DDN:
                return [f"DDN_NMBR= {number}"]
            case CidFormat.CALLER_NUMBER:
                lines = [f"CALLER NUMBER: {number}"]
                if s.caller_name:
                    lines.append(f"CALLER NAME: {s.caller_name}")
                return lines
            case CidFormat.NBR:
                return [f"NBR={number}"]
        return [number]  # CidFormat.DIGITS

    def _start_answer(self, now: float) -> list[Action]:
        self._stop_ringing()
        self._mode = ModemMode.ANSWERING
        if self._caller:
            if self._settings.never_connect:
                return [Log(text="answering; never_connect: no result will come")]
            self._timers[_Timer.ANSWER] = now + self._settings.answer_delay
            return [Log(text="answering")]
        self._timers[_Timer.ANSWER] = now + self._settings.idle_answer_timeout
        return [Log(text="off-hook to answer, but nobody is calling")]

    def _answer_done(self, now: float) -> list[Action]:
        if self._mode is not ModemMode.ANSWERING:
            return []
        if not self._caller:
            self._mode = ModemMode.IDLE
            return self._result(ResultCode.NO_CARRIER)
        forced = self._settings.answer_result
        if forced is not None and not forced.startswith("CONNECT"):
            out: list[Action] = [Log(text=f"answer fails on purpose: {forced}")]
            out.extend(self._fail_call(_RESULT_BY_TEXT.get(forced, ResultCode.NO_CARRIER), text=forced))
            return out
        return self._connect(now)

    def _connect(self, now: float) -> list[Action]:
        self._mode = ModemMode.ONLINE
        self._last_dte = now
        self._plus_count = 0
        out: list[Action] = [Log(text="carrier up: online")]
        if self._p.w and not self._p.quiet:
            out.extend(self._info(line) for line in self._reports())
        out.extend(self._connect_result())
        return out

    def _connect_result(self) -> list[Action]:
        forced = self._settings.answer_result
        text = forced if forced is not None and forced.startswith("CONNECT") else None
        if text is None:
            text = (
                "CONNECT"
                if self._p.x == 0 or not self._settings.connect_text
                else (f"CONNECT {self._settings.connect_text}")
            )
        return self._result(ResultCode.CONNECT, text=text)

    def _reports(self) -> list[str]:
        """Rockwell ``W2``-style reports, derived from the connect text (``33600/ARQ/V34/LAPM/V42BIS``)."""
        parts = self._settings.connect_text.upper().split("/")
        rate = parts[0] if parts and parts[0].isdigit() else "33600"
        protocol = "LAP-M" if "LAPM" in parts else "ALT" if "MNP" in parts else "NONE"
        compression = "V.42BIS" if "V42BIS" in parts else "CLASS 5" if "MNP5" in parts else "NONE"
        return [f"CARRIER {rate}", f"PROTOCOL: {protocol}", f"COMPRESSION: {compression}"]

    def _fail_call(self, code: ResultCode, text: str | None = None) -> list[Action]:
        """End a call that never reached carrier: on-hook, drop the caller, report ``code``."""
        self._timers.pop(_Timer.ANSWER, None)
        self._stop_ringing()
        self._mode = ModemMode.IDLE
        out: list[Action] = []
        if self._caller:
            self._caller = False
            out.append(DropCaller())
        out.extend(self._result(code, text=text))
        return out

    def _carrier_gone(self) -> list[Action]:
        self._timers.pop(_Timer.ESCAPE, None)
        self._plus_count = 0
        return [CarrierLost()] if self._p.dcd == 1 else []

    def _hang_up(self, *, report: bool) -> list[Action]:
        """Go on-hook from a call with carrier: DCD falls first, then the caller is dropped."""
        out = self._carrier_gone()
        self._mode = ModemMode.IDLE
        if self._caller:
            self._caller = False
            out.append(DropCaller())
        if report:
            out.extend(self._result(ResultCode.NO_CARRIER))
        return out

    # --- data mode -------------------------------------------------------------------------------------

    def _scan_escape(self, chunk: bytes, now: float) -> None:
        """Track ``+++``: guard-time silence, three S2 characters each within the guard time, silence again.

        The ``+`` characters are data until the trailing guard time proves otherwise, so they have already
        gone to the caller, as on a real modem.
        """
        esc = self._p.reg(2)
        guard = self._p.reg(12) / 50
        for byte in chunk:
            if esc > 127:
                self._plus_count = 0  # S2 > 127 disables the escape sequence (Hayes)
            elif byte == esc and 0 < self._plus_count < 3 and now - self._last_plus <= guard:
                self._plus_count += 1
            elif byte == esc and now - self._last_dte >= guard:
                self._plus_count = 1
            else:
                self._plus_count = 0
            if self._plus_count:
                self._last_plus = now
            self._last_dte = now
        if self._plus_count == 3:
            self._timers[_Timer.ESCAPE] = now + guard
        else:
            self._timers.pop(_Timer.ESCAPE, None)

    # --- command mode ----------------------------------------------------------------------------------

    def _command_byte(self, byte: int, now: float) -> list[Action]:
        out: list[Action] = []
        if self._p.echo:
            out.append(ToDte(data=bytes([byte])))
        c = chr(byte & 0x7F)  # command mode ignores the parity bit
        match self._lex:
            case _Lexer.WAIT_A:
                if c in "Aa":
                    self._lex = _Lexer.WAIT_T
            case _Lexer.WAIT_T:
                if c in "Tt":
                    self._lex = _Lexer.IN_LINE
                    self._line = ""
                    self._overflow = False
                elif c == "/":
                    self._lex = _Lexer.WAIT_A
                    out.append(Log(text=f"A/ repeats AT{self._last_line}"))
                    out.extend(self._execute(self._last_line, now))
                elif c not in "Aa":
                    self._lex = _Lexer.WAIT_A
            case _Lexer.IN_LINE:
                if ord(c) == self._p.reg(3):
                    self._lex = _Lexer.WAIT_A
                    if self._overflow:
                        out.extend(self._result(ResultCode.ERROR))
                    else:
                        self._last_line = self._line
                        out.extend(self._execute(self._line, now))
                elif ord(c) == self._p.reg(5):
                    if self._line:
                        self._line = self._line[:-1]
                    else:
                        self._lex = _Lexer.WAIT_T  # backspace over the T of "AT"
                elif c >= " " and c != "\x7f":
                    if len(self._line) >= _MAX_LINE:
                        self._overflow = True
                    else:
                        self._line += c
                # LF (S4) and other control characters are ignored inside a command line
        return out

    def _execute(self, line: str, now: float) -> list[Action]:
        """Run one command line (the text after ``AT``) and return its output and final result."""
        if self._errors_left:
            self._errors_left -= 1
            return [Log(text=f"error_first: ERROR for AT{line}"), *self._result(ResultCode.ERROR)]
        cur = _Cursor(line.replace(" ", "").upper())
        out: list[Action] = []
        try:
            while cur.peek():
                final = self._command(cur, out, now)
                if final is not None:
                    out.extend(final)
                    return out
        except _CommandError:
            out.extend(self._result(ResultCode.ERROR))
            return out
        out.extend(self._result(ResultCode.OK))
        return out

    def _command(self, cur: _Cursor, out: list[Action], now: float) -> list[Action] | None:
        """Execute the command at the cursor; return a final result that ends the line, else ``None``."""
        p = self._p
        c = cur.take()
        match c:
            case ";":
                return None
            case "A":
                if self._mode not in (ModemMode.IDLE, ModemMode.RINGING) or self._off_hook:
                    raise _CommandError
                cur.rest()  # anything after A is ignored: the modem is busy answering
                return self._start_answer(now)
            case "D":
                cur.rest()
                if self._mode is not ModemMode.IDLE:
                    raise _CommandError
                # answerd-sim has a line for calls in only: there is never a dial tone to dial on.
                return [
                    Log(text="dial attempt: no outgoing line"),
                    *self._result(ResultCode.NO_DIALTONE if p.x >= 2 else ResultCode.NO_CARRIER),
                ]
            case "E":
                p.echo = bool(_ranged(cur.number(0), 1))
            case "Q":
                p.quiet = bool(_ranged(cur.number(0), 1))
            case "V":
                p.verbose = bool(_ranged(cur.number(0), 1))
            case "X":
                p.x = _ranged(cur.number(0), 4)
            case "L":
                p.speaker_volume = _ranged(cur.number(0), 3)
            case "M":
                p.speaker_mode = _ranged(cur.number(0), 3)
            case "W":
                p.w = _ranged(cur.number(0), 2)
            case "H":
                return self._hook(_ranged(cur.number(0), 1), out)
            case "I":
                n = _ranged(cur.number(0), 9)
                lines = (self._settings.ident,) if n == 0 else _IDENT_LINES[n]
                out.extend(self._info(text) for text in lines)
            case "O":
                _ranged(cur.number(0), 1)
                cur.rest()
                if self._mode is not ModemMode.ONLINE_COMMAND:
                    return self._result(ResultCode.NO_CARRIER)
                self._mode = ModemMode.ONLINE
                self._last_dte = now
                self._plus_count = 0
                return [Log(text="back online"), *self._connect_result()]
            case "Z":
                _ranged(cur.number(0), 1)
                cur.rest()
                return self._reset_command(self._saved)
            case "S":
                self._s_register(cur, out)
            case "&":
                self._ampersand(cur, out)
            case "+":
                self._extended(cur, out)
            case "#":
                name = cur.until("=?;")
                if name != "CID":
                    raise _CommandError
                p.cid = self._extended_value(cur, out, p.cid, 2)
            case _:
                raise _CommandError
        return None

    def _hook(self, n: int, out: list[Action]) -> list[Action] | None:
        if n == 0:
            self._off_hook = False
            if self._mode in (ModemMode.ONLINE_COMMAND, ModemMode.ANSWERING):
                out.append(Log(text="ATH: hang up"))
                out.extend(self._hang_up(report=False))
            return None
        if self._mode is ModemMode.ONLINE_COMMAND:
            raise _CommandError
        self._off_hook = True
        if self._mode is ModemMode.RINGING:
            # Picking the line up without a carrier seizes it: the caller hears silence and is cut off.
            out.append(Log(text="ATH1 while ringing: line seized, caller dropped"))
            self._stop_ringing()
            self._mode = ModemMode.IDLE
            self._caller = False
            out.append(DropCaller())
        return None

    def _reset_command(self, profile: _Profile) -> list[Action]:
        out: list[Action] = [Log(text="reset")]
        if self._mode in (ModemMode.ONLINE_COMMAND, ModemMode.ANSWERING):
            out.extend(self._hang_up(report=False))
        self._reset(profile)
        out.extend(self._result(ResultCode.OK))
        return out

    def _reset(self, profile: _Profile) -> None:
        ring_count = self._p.reg(1)
        self._p = profile.copy()
        self._p.regs[1] = ring_count  # S1 is a counter, not a setting
        self._off_hook = False

    def _s_register(self, cur: _Cursor, out: list[Action]) -> None:
        n = cur.number(0)
        if n > 255:
            raise _CommandError
        op = cur.take()
        if op == "=":
            self._p.regs[n] = _ranged(cur.number(0), 255)
        elif op == "?":
            out.append(self._info(f"{self._p.reg(n):03d}"))
        else:
            raise _CommandError

    def _ampersand(self, cur: _Cursor, out: list[Action]) -> None:
        p = self._p
        match cur.take():
            case "C":
                p.dcd = _ranged(cur.number(0), 1)
            case "D":
                p.dtr = _ranged(cur.number(0), 3)
            case "K":
                p.flow = _ranged(cur.number(0), 6)
            case "S":
                p.dsr = _ranged(cur.number(0), 1)
            case "F":
                _ranged(cur.number(0), 0)
                self._reset(_Profile())
            case "W":
                _ranged(cur.number(0), 1)
                self._saved = p.copy()
            case "V":
                _ranged(cur.number(0), 0)
                out.extend(self._info(line) for line in self._describe())
            case _:
                raise _CommandError

    def _describe(self) -> list[str]:
        p = self._p
        flags = (
            f"E{int(p.echo)} Q{int(p.quiet)} V{int(p.verbose)} X{p.x} L{p.speaker_volume} M{p.speaker_mode} "
            f"W{p.w} &C{p.dcd} &D{p.dtr} &K{p.flow} &S{p.dsr} +VCID={p.vcid} #CID={p.cid}"
        )
        regs = " ".join(f"S{n:02d}:{v:03d}" for n, v in sorted(p.regs.items()))
        return ["ACTIVE PROFILE:", flags, regs]

    def _extended(self, cur: _Cursor, out: list[Action]) -> None:
        p = self._p
        name = cur.until("=?;")
        match name:
            case "VCID":
                p.vcid = self._extended_value(cur, out, p.vcid, 2)
            case "FCLASS":
                self._extended_value(cur, out, 0, 0)  # a data-only modem: class 0 is all there is
            case "MS":
                if cur.peek() == "?":
                    cur.take()
                    out.append(self._info(f"+MS: {p.ms}"))
                elif cur.take() == "=":
                    p.ms = cur.until(";")
                else:
                    raise _CommandError
            case "GMI" | "GMM" | "GMR":
                text = {"GMI": "answerd", "GMM": self._settings.ident, "GMR": "answerd-sim 1.0"}[name]
                out.append(self._info(text))
            case _:
                raise _CommandError

    def _extended_value(self, cur: _Cursor, out: list[Action], current: int, top: int) -> int:
        """``=n`` sets (0..top), ``?`` reads, ``=?`` lists the range; returns the new value."""
        op = cur.take()
        if op == "?":
            out.append(self._info(str(current)))
            return current
        if op != "=":
            raise _CommandError
        if cur.peek() == "?":
            cur.take()
            out.append(self._info(f"(0-{top})" if top else "0"))
            return current
        return _ranged(cur.number(), top)

    # --- output formatting -----------------------------------------------------------------------------

    def _result(self, code: ResultCode, text: str | None = None) -> list[Action]:
        if self._p.quiet:
            return []
        if self._p.verbose:
            return [ToDte(data=b"\r\n" + (text or code.text).encode() + b"\r\n")]
        number = int(code)
        if code is ResultCode.CONNECT and text is not None and self._p.x > 0:
            rate = text.removeprefix("CONNECT").strip().split("/")[0]
            number = _CONNECT_CODES.get(int(rate), 1) if rate.isdigit() else 1
        return [ToDte(data=f"{number}\r".encode())]

    def _info(self, text: str) -> ToDte:
        if self._p.verbose:
            return ToDte(data=b"\r\n" + text.encode() + b"\r\n")
        return ToDte(data=text.encode() + b"\r\n")


def _ranged(value: int, top: int) -> int:
    if value > top:
        raise _CommandError
    return value


def _merge(actions: list[Action]) -> list[Action]:
    """Join adjacent :class:`ToDte` actions so echo and results reach the pty in as few writes as possible."""
    out: list[Action] = []
    for action in actions:
        if isinstance(action, ToDte) and out and isinstance(out[-1], ToDte):
            out[-1] = ToDte(data=out[-1].data + action.data)
        else:
            out.append(action)
    return out


def _packet(kind: int, body: bytes) -> str:
    """A Bellcore caller-ID packet in hex: type, length, body (at most 255 bytes), two's-complement checksum."""
    body = body[:255]
    packet = bytes([kind, len(body)]) + body
    return (packet + bytes([(-sum(packet)) & 0xFF])).hex().upper()


def _sdmf(datetime: str, number: str) -> str:
    """Bellcore SDMF caller-ID message (type 0x04): ``MMDDHHMM`` and the number, in hex."""
    return _packet(0x04, (datetime + number).encode("ascii", "replace"))


def _mdmf(datetime: str, number: str, name: str | None) -> str:
    """Bellcore MDMF caller-ID message (type 0x80) in hex, as V.253 ``+VCID=2`` presents it.

    Each value is cut to 80 bytes so the body always fits the one-byte length.
    """
    body = bytearray()
    for tag, value in ((0x01, datetime), (0x02, number), (0x07, name)):
        if value:
            raw = value.encode("ascii", "replace")[:80]
            body += bytes([tag, len(raw)]) + raw
    return _packet(0x80, bytes(body))
