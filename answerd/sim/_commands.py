"""Command mode: the line editor, the settings and S-registers, and every command that changes only them.

Theory of operation
-------------------
Bytes typed in command mode go through :meth:`Commands.feed`, which frames command lines the Hayes way:
anything before ``AT`` is ignored, ``S3`` ends a line, ``S5`` edits it, ``A/`` repeats the last one, and a
line over 255 characters is an error. The modem (:mod:`answerd.sim._modem`) runs a line left to right with
a :class:`Cursor`; a command that changes only the settings (``E``, ``Q``, ``V``, ``X``, ``S``, ``&C``,
``+VCID``, ``I``, ...) is carried out here by :meth:`Commands.setting_command`, while the ones that move the
call (``A``, ``D``, ``H``, ``O``, ``Z``) belong to the modem. A bad command raises :class:`CommandError`:
the line ends with ``ERROR`` and commands before it stay done, as on real modems.

Three sets of settings exist, as on a real modem: the factory ones (``&F``, from the modem profile's
``[defaults]``), the stored ones (``&W`` writes them, ``Z`` and ``&D3`` restore them) and the active ones.
Results are formatted from the active settings (:meth:`Settings.result`): ``Q``/``V``/``X`` decide between
nothing, ``\\r\\nOK\\r\\n`` and ``0\\r``; information text (``I``, ``S7?``, ``&V``) ignores ``Q1``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace

from answerd.sim._types import Action, Log, ResultCode, ToDte

__all__ = [
    "CONNECT_CODES",
    "HAYES_REGISTERS",
    "CallCommand",
    "CommandError",
    "CommandLine",
    "Commands",
    "Cursor",
    "Settings",
    "ranged",
]

#: The factory S-registers of a Hayes modem; a profile's ``[defaults.registers]`` changes some of them.
HAYES_REGISTERS: dict[int, int] = {
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

#: Numeric CONNECT codes by rate (the common Hayes/Rockwell table); a rate not listed reports plain 1.
#: A modem profile's ``results.connect_codes`` replaces it.
CONNECT_CODES: dict[int, int] = {
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


class CommandError(Exception):
    """Aborts a command line with ``ERROR``; commands before the bad one stay done, as on real modems."""


def ranged(value: int, top: int) -> int:
    """``value`` if it is at most ``top``, else the command is an error."""
    if value > top:
        raise CommandError
    return value


@dataclass(slots=True, kw_only=True)
class Settings:
    """The settings ``&W`` stores and ``Z`` restores (mutable: commands change them in place)."""

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
    #: ``&Nn``'s fixed link rate (``None``: ``&N0``, variable), from the profile's ``[speed.fixed_rates]``.
    fixed_rate: int | None = None
    clip: int = 0
    #: ``+CRC``: 1 rings with ``+CRING: <type>`` instead of ``RING`` (V.250 / 3GPP TS 27.007 §6.11).
    crc: int = 0
    regs: dict[int, int] = field(default_factory=lambda: dict(HAYES_REGISTERS))
    #: Not settings but the modem's own tables (from the profile's ``[results]``); shared, never changed.
    connect_codes: Mapping[int, int] = field(default_factory=lambda: CONNECT_CODES)
    error_text: str = "ERROR"

    def rate_cap(self) -> int | None:
        """The highest rate ``+MS=<mod>,<automode>,<min>,<max>`` allows, if one was set."""
        fields = self.ms.split(",")
        return int(fields[3]) if len(fields) >= 4 and fields[3].isdigit() and int(fields[3]) > 0 else None

    def copy(self) -> Settings:
        """An independent copy (the registers too)."""
        return replace(self, regs=dict(self.regs))

    def reg(self, n: int) -> int:
        """S register ``n`` (0 for one never set)."""
        return self.regs.get(n, 0)

    def result(self, code: ResultCode, text: str | None = None) -> list[Action]:
        """A result code as ``Q``/``V``/``X`` say: nothing, ``\\r\\n<text>\\r\\n`` or ``<number>\\r``."""
        if self.quiet:
            return []
        if self.verbose:
            shown = text or (self.error_text if code is ResultCode.ERROR else code.text)
            return [ToDte(data=b"\r\n" + shown.encode() + b"\r\n")]
        number = int(code)
        if code is ResultCode.CONNECT and text is not None and self.x > 0:
            rate = text.removeprefix("CONNECT").strip().split("/")[0]
            number = self.connect_codes.get(int(rate), 1) if rate.isdigit() else 1
        return [ToDte(data=f"{number}\r".encode())]

    def info(self, text: str) -> ToDte:
        """Information text (not silenced by ``Q1``): framed in ``V1``, only ended in ``V0``."""
        if self.verbose:
            return ToDte(data=b"\r\n" + text.encode() + b"\r\n")
        return ToDte(data=text.encode() + b"\r\n")


@dataclass(slots=True)
class Cursor:
    """A read position in one command line (spaces removed, upper case)."""

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
                raise CommandError
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


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandLine:
    """A finished command line: the text after ``AT`` (``overflow``: it was too long; ``repeat``: ``A/``)."""

    text: str
    overflow: bool = False
    repeat: bool = False


#: How the modem carries out one command of a line: (letter, cursor after it, output so far) -> final result.
CallCommand = Callable[[str, Cursor, list[Action]], list[Action] | None]


class _Lexer(enum.Enum):
    WAIT_A = "wait-a"
    WAIT_T = "wait-t"
    IN_LINE = "in-line"


class Commands:
    """The command-mode half of the modem: the line being typed and the three sets of settings.

    Args:
        factory: the ``&F`` settings (from the profile's ``[defaults]``); the modem starts with them.
        ident: the ``ATI0``/``+GMM`` text.
        manufacturer: the ``+GMI`` text.
        revision: the ``+GMR`` text.
        cid_commands: the caller-ID switches this modem knows (``+VCID``, ``#CID``, ``+CLIP``); the others
            are ``ERROR``, as on a modem that does not have them.
        fixed_rates: the ``&Nn`` fixed link rates by ``n`` (USR); empty: ``&N`` is ``ERROR``.
    """

    def __init__(
        self,
        factory: Settings,
        ident: str,
        *,
        manufacturer: str = "answerd",
        revision: str = "answerd-sim 1.0",
        cid_commands: frozenset[str] = frozenset({"+VCID", "#CID"}),
        fixed_rates: Mapping[int, int] | None = None,
    ) -> None:
        self._factory = factory.copy()
        self.stored = factory.copy()
        self.active = factory.copy()
        self._ident = ident
        self._manufacturer = manufacturer
        self._revision = revision
        self._cid_commands = cid_commands
        self._fixed_rates = dict(fixed_rates or {})
        self._lex = _Lexer.WAIT_A
        self._line = ""
        self._overflow = False
        self._last_line = ""

    def feed(self, byte: int) -> CommandLine | None:
        """One byte typed in command mode (echo is the caller's business); a line when one is complete."""
        c = chr(byte & 0x7F)  # command mode ignores the parity bit
        p = self.active
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
                    return CommandLine(text=self._last_line, repeat=True)
                elif c not in "Aa":
                    self._lex = _Lexer.WAIT_A
            case _Lexer.IN_LINE:
                if ord(c) == p.reg(3):
                    self._lex = _Lexer.WAIT_A
                    if self._overflow:
                        return CommandLine(text="", overflow=True)
                    self._last_line = self._line
                    return CommandLine(text=self._line)
                if ord(c) == p.reg(5):
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
        return None

    def run_line(self, line: CommandLine, call_command: CallCommand) -> list[Action]:
        """Run a command line left to right: its output, then one final result (``OK``, ``ERROR``, ...).

        ``call_command`` carries out the commands that are not settings (``A``, ``D``, ``H``, ``O``, ``Z``)
        and says ``None`` to go on, or gives the result that ends the line; any other command it hands
        back to :meth:`setting_command`.
        """
        out: list[Action] = [Log(text=f"A/ repeats AT{line.text}")] if line.repeat else []
        if line.overflow:
            return self.active.result(ResultCode.ERROR)
        cur = Cursor(line.text.replace(" ", "").upper())
        try:
            while c := cur.take():
                if c == ";":
                    continue
                final = call_command(c, cur, out)
                if final is not None:
                    return out + final
        except CommandError:
            return out + self.active.result(ResultCode.ERROR)
        return out + self.active.result(ResultCode.OK)

    def restore(self, settings: Settings) -> None:
        """Make ``settings`` active (``Z``, ``&F``, ``&D3``); S1 is a counter, not a setting, so it stays."""
        ring_count = self.active.reg(1)
        self.active = settings.copy()
        self.active.regs[1] = ring_count

    def restore_stored(self) -> None:
        """Go back to what ``&W`` stored (``Z``, ``&D3``)."""
        self.restore(self.stored)

    def setting_command(self, c: str, cur: Cursor, out: list[Action]) -> bool:
        """Carry out command ``c`` if it changes only settings; ``False`` if it is not such a command."""
        p = self.active
        match c:
            case "E":
                p.echo = bool(ranged(cur.number(0), 1))
            case "Q":
                p.quiet = bool(ranged(cur.number(0), 1))
            case "V":
                p.verbose = bool(ranged(cur.number(0), 1))
            case "X":
                p.x = ranged(cur.number(0), 4)
            case "L":
                p.speaker_volume = ranged(cur.number(0), 3)
            case "M":
                p.speaker_mode = ranged(cur.number(0), 3)
            case "W":
                p.w = ranged(cur.number(0), 2)
            case "I":
                n = ranged(cur.number(0), 9)
                lines = (self._ident,) if n == 0 else _IDENT_LINES[n]
                out.extend(p.info(text) for text in lines)
            case "S":
                self._s_register(cur, out)
            case "&":
                self._ampersand(cur, out)
            case "+":
                self._extended(cur, out)
            case "#":
                if cur.until("=?;") != "CID" or "#CID" not in self._cid_commands:
                    raise CommandError
                p.cid = self._extended_value(cur, out, p.cid, 2)
            case _:
                return False
        return True

    def _s_register(self, cur: Cursor, out: list[Action]) -> None:
        n = cur.number(0)
        if n > 255:
            raise CommandError
        op = cur.take()
        if op == "=":
            self.active.regs[n] = ranged(cur.number(0), 255)
        elif op == "?":
            out.append(self.active.info(f"{self.active.reg(n):03d}"))
        else:
            raise CommandError

    def _ampersand(self, cur: Cursor, out: list[Action]) -> None:
        p = self.active
        match cur.take():
            case "C":
                p.dcd = ranged(cur.number(0), 1)
            case "D":
                p.dtr = ranged(cur.number(0), 3)
            case "K":
                p.flow = ranged(cur.number(0), 6)
            case "S":
                p.dsr = ranged(cur.number(0), 1)
            case "N" if self._fixed_rates:
                p.fixed_rate = self._fixed_rate(cur.number(0))
            case "F":
                ranged(cur.number(0), 0)
                self.restore(self._factory)
            case "W":
                ranged(cur.number(0), 1)
                self.stored = p.copy()
            case "V":
                ranged(cur.number(0), 0)
                out.extend(p.info(line) for line in self._describe())
            case _:
                raise CommandError

    def _fixed_rate(self, n: int) -> int | None:
        """``&Nn``: ``None`` for ``&N0`` (variable rate), else the table's fixed rate; a number it lacks is an error."""
        if n == 0:
            return None
        if n not in self._fixed_rates:
            raise CommandError
        return self._fixed_rates[n]

    def _describe(self) -> list[str]:
        p = self.active
        flags = (
            f"E{int(p.echo)} Q{int(p.quiet)} V{int(p.verbose)} X{p.x} L{p.speaker_volume} M{p.speaker_mode} "
            f"W{p.w} &C{p.dcd} &D{p.dtr} &K{p.flow} &S{p.dsr} +VCID={p.vcid} #CID={p.cid}"
        )
        regs = " ".join(f"S{n:02d}:{v:03d}" for n, v in sorted(p.regs.items()))
        return ["ACTIVE PROFILE:", flags, regs]

    def _extended(self, cur: Cursor, out: list[Action]) -> None:
        p = self.active
        name = cur.until("=?;")
        match name:
            case "VCID" if "+VCID" in self._cid_commands:
                p.vcid = self._extended_value(cur, out, p.vcid, 2)
            case "CLIP" if "+CLIP" in self._cid_commands:
                if cur.peek() in ("", ";"):
                    p.clip = 0  # AT+CLIP is AT+CLIP=0 (Huawei MU509 §10.3)
                else:
                    p.clip = self._extended_value(cur, out, p.clip, 1)
            case "CRC":
                p.crc = self._crc(cur, out)
            case "FCLASS":
                self._extended_value(cur, out, 0, 0)  # a data-only modem: class 0 is all there is
            case "MS":
                if cur.peek() == "?":
                    cur.take()
                    out.append(p.info(f"+MS: {p.ms}"))
                elif cur.take() == "=":
                    p.ms = cur.until(";")
                else:
                    raise CommandError
            case "GMI" | "GMM" | "GMR" | "CGMI" | "CGMM" | "CGMR":
                text = {"I": self._manufacturer, "M": self._ident, "R": self._revision}[name[-1]]
                out.append(p.info(text))
            case _:
                raise CommandError

    def _crc(self, cur: Cursor, out: list[Action]) -> int:
        """``+CRC``: ``=n`` (0..1; bare ``+CRC`` is 0), ``?`` answers ``+CRC: n``, ``=?`` answers ``+CRC: (0,1)``."""
        p = self.active
        if cur.peek() in ("", ";"):
            return 0  # V.250 +CRC=[<mode>]: the value left out is 0
        op = cur.take()
        if op == "?":
            out.append(p.info(f"+CRC: {p.crc}"))
            return p.crc
        if op != "=":
            raise CommandError
        if cur.peek() == "?":
            cur.take()
            out.append(p.info("+CRC: (0,1)"))
            return p.crc
        return ranged(cur.number(0), 1)

    def _extended_value(self, cur: Cursor, out: list[Action], current: int, top: int) -> int:
        """``=n`` sets (0..top), ``?`` reads, ``=?`` lists the range; returns the new value."""
        op = cur.take()
        if op == "?":
            out.append(self.active.info(str(current)))
            return current
        if op != "=":
            raise CommandError
        if cur.peek() == "?":
            cur.take()
            out.append(self.active.info(f"(0-{top})" if top else "0"))
            return current
        return ranged(cur.number(), top)
