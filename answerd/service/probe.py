r"""``answerd probe PORT``: what modem is on this line, what works on it, and the settings to start from.

The probe talks to the modem in command mode only, and only the way answerd itself would:

1. **The line must be free.** It takes the line's UUCP lock (a dial-out program's live lock refuses the
   probe) and the same exclusive ``flock`` that ``answerd run`` holds on its open port (so an idle answerd,
   which gives its UUCP lock back, is found too). Both are released at the end, whatever happens.
2. **Identification** (``ATI0``-``ATI7``, ``AT+GMI``/``AT+GMM``/``AT+GMR``, ``AT&V``): the family is named by
   the core's :func:`~answerd.core.identify_family`, asked in the order the init sequence asks
   (:data:`~answerd.core.IDENTIFY_COMMANDS`) and then with everything else the modem said; a modem no answer
   names is ``v250`` (V.250 commands only).
3. **Caller ID**: the family's own commands (:func:`~answerd.core.caller_id_commands`), in order, until
   one is accepted; a vendor command never goes to another family.
4. **Control lines**: whether DCD, DSR, CTS and RI can be read at all (a pty or a three-wire cable has
   none); whether DCD follows ``&C`` (``AT&C0`` forces it on, ``AT&C1`` off while idle); whether a DTR drop
   reaches the modem (``AT&D3``: a drop resets it, which ``ATS7?`` shows).
5. **The modem is left reset** (``ATZ``) and the port closed.

What it prints is a report and a ``[ports.NAME]`` snippet that ``answerd check-config`` accepts:
``modem_family``, ``caller_id``, ``modem_control``/``carrier`` (``"modem-text"`` where DCD cannot be read),
and the VoIP speed cap as a commented line where the family can say it.
"""

from __future__ import annotations

import errno
import fcntl
import os
import select
import struct
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

from answerd.core import (
    DEFAULT_INIT_CHAT,
    IDENTIFY_COMMANDS,
    ModemFamily,
    SpeedCap,
    SpeedCapUnsupported,
    caller_id_commands,
    identify_family,
    speed_cap_command,
)
from answerd.line.lock import DEFAULT_LOCK_DIR, LockError, UucpLock
from answerd.line.modem_lines import SPEEDS, NoLines, TiocmLines

__all__ = ["LineTest", "ProbeError", "ProbeReport", "probe", "read_control_lines", "render_report", "render_snippet"]

#: Every identification question the probe asks, in order.
PROBE_IDENTIFY: tuple[str, ...] = (
    *(f"ATI{n}" for n in range(8)),
    "AT+GMI",
    "AT+GMM",
    "AT+GMR",
    "AT&V",
)
#: Lines kept per answer, and characters per line: the modem's text is hostile and only shown.
_MAX_LINES = 40
_MAX_LINE = 200
#: The register the DTR test sets and reads back: S7 (wait for carrier) exists on every family, and a reset
#: puts back a stored value that is not this one.
_TEST_REGISTER = 7
_TEST_VALUE = 47


class ProbeError(Exception):
    """The line cannot be probed (in use, missing, not a modem); the message says why."""


@dataclass(frozen=True, slots=True)
class LineTest:
    """One control line: can it be read, what it read, and what the probe concluded."""

    name: str
    readable: bool
    state: bool | None = None
    verdict: str = ""


@dataclass
class ProbeReport:
    """Everything the probe learnt about the modem and the line."""

    device: str
    speed: int
    answers: dict[str, list[str]] = field(default_factory=dict)
    family: ModemFamily = ModemFamily.V250
    identified_by: str | None = None
    caller_id_tried: list[tuple[str, bool]] = field(default_factory=list)
    lines: list[LineTest] = field(default_factory=list)
    modem_lines: bool = False
    dcd_works: bool = False
    dtr_works: bool | None = None

    @property
    def caller_id_command(self) -> str | None:
        """The caller-ID command the modem accepted, or ``None``."""
        return next((command for command, ok in self.caller_id_tried if ok), None)


# --- talking to the modem ---------------------------------------------------------------------------------


class _Modem:
    """Command mode on an open tty: one command, its information lines and its final result."""

    def __init__(self, fd: int, timeout_s: float) -> None:
        self._fd = fd
        self._timeout_s = timeout_s
        self._pending = b""

    def command(self, command: str) -> tuple[list[str], str | None]:
        """Send ``command``; return the information lines and ``"OK"``/``"ERROR"`` (``None``: no answer)."""
        termios.tcflush(self._fd, termios.TCIFLUSH)
        self._pending = b""
        os.write(self._fd, command.encode("ascii") + b"\r")
        lines: list[str] = []
        deadline = time.monotonic() + self._timeout_s
        while (line := self._line(deadline)) is not None:
            if line in ("OK", "0"):
                return lines, "OK"
            if line in ("ERROR", "4"):
                return lines, "ERROR"
            if line and line != command and len(lines) < _MAX_LINES:  # echo is not an answer
                lines.append(line[:_MAX_LINE])
        return lines, None

    def _line(self, deadline: float) -> str | None:
        while b"\r" not in self._pending and b"\n" not in self._pending:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([self._fd], [], [], left)
            if ready:
                try:
                    chunk = os.read(self._fd, 4096)
                except BlockingIOError:
                    continue
                except OSError:
                    return None
                self._pending = (self._pending + chunk)[-65536:]
        cut = min(i for i in (self._pending.find(b"\r"), self._pending.find(b"\n")) if i >= 0)
        raw, self._pending = self._pending[:cut], self._pending[cut + 1 :]
        return "".join(ch if ch.isprintable() else "?" for ch in raw.decode("latin-1")).strip()


def _open_line(device: str, speed: int) -> int:
    """Open the tty raw 8N1 at ``speed``, CLOCAL (DCD ignored) and HUPCL, with the same flock answerd holds."""
    try:
        fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        raise ProbeError(f"{device}: cannot open: {exc.strerror}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                raise ProbeError(f"{device}: in use by a running answerd (it holds the port open)") from None
            raise
        attrs = termios.tcgetattr(fd)
        attrs[0] = attrs[1] = attrs[3] = 0
        cflag = attrs[2] & ~(termios.CSIZE | termios.PARENB | termios.CSTOPB | termios.CRTSCTS)
        attrs[2] = cflag | termios.CS8 | termios.CREAD | termios.CLOCAL | termios.HUPCL
        attrs[4] = attrs[5] = SPEEDS[speed]
        attrs[6][termios.VMIN] = 1
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(fd, termios.TCSANOW, attrs)
    except ProbeError:
        os.close(fd)
        raise
    except (OSError, termios.error) as exc:
        os.close(fd)
        raise ProbeError(f"{device}: not a usable serial line: {exc}") from None
    return fd


# --- the probe ----------------------------------------------------------------------------------------------


def probe(
    device: str,
    *,
    speed: int = 38400,
    lock_dir: str = DEFAULT_LOCK_DIR,
    timeout_s: float = 2.0,
    dtr_hold_s: float = 0.5,
    sleep: Callable[[float], None] = time.sleep,
) -> ProbeReport:
    """Probe the modem on ``device``; see the module's description for what is asked and in which order.

    Raises:
        ProbeError: the line is in use (UUCP lock or a running answerd), cannot be opened, or the modem
            does not answer ``AT``.
    """
    if speed not in SPEEDS:
        raise ProbeError(f"speed {speed} is not one of {', '.join(map(str, SPEEDS))}")
    lock = UucpLock(device, lock_dir=lock_dir)
    try:
        if not lock.acquire():
            raise ProbeError(f"{device}: in use by pid {lock.holder()} (its UUCP lock {lock.path})")
    except LockError as exc:
        raise ProbeError(f"cannot lock {device}: {exc}") from None
    try:
        fd = _open_line(device, speed)
        try:
            return _probe_open(fd, device, speed, timeout_s=timeout_s, dtr_hold_s=dtr_hold_s, sleep=sleep)
        finally:
            os.close(fd)
    finally:
        lock.release()


def _probe_open(
    fd: int, device: str, speed: int, *, timeout_s: float, dtr_hold_s: float, sleep: Callable[[float], None]
) -> ProbeReport:
    modem = _Modem(fd, timeout_s)
    report = ProbeReport(device=device, speed=speed)
    if modem.command("AT")[1] is None and modem.command("AT")[1] is None:
        raise ProbeError(f"{device}: no answer to AT at {speed} bit/s (not a modem, off, or another speed)")
    try:
        modem.command("ATZ")
        modem.command("ATE0V1Q0")  # known modes for the questions: no echo, verbose results
        _identify(modem, report)
        for command in caller_id_commands(report.family):
            ok = modem.command(command)[1] == "OK"
            report.caller_id_tried.append((command, ok))
            if ok:
                break
        _test_lines(fd, modem, report, speed=speed, dtr_hold_s=dtr_hold_s, sleep=sleep)
    finally:
        modem.command("ATZ")  # leave it reset, whatever the tests changed
    return report


def _identify(modem: _Modem, report: ProbeReport) -> None:
    for command in PROBE_IDENTIFY:
        lines, result = modem.command(command)
        if result is not None:
            report.answers[command] = lines
    for command in IDENTIFY_COMMANDS:  # the init sequence's order: the same answer as modem_family = "auto"
        family = identify_family(report.answers.get(command, []))
        if family is not None:
            report.family, report.identified_by = family, command
            return
    family = identify_family(line for lines in report.answers.values() for line in lines)
    if family is not None:
        report.family, report.identified_by = family, "the other answers"


def _modem_bits(fd: int) -> int | None:
    try:
        return int(struct.unpack("I", fcntl.ioctl(fd, termios.TIOCMGET, struct.pack("I", 0)))[0])
    except OSError:
        return None


def _test_lines(
    fd: int, modem: _Modem, report: ProbeReport, *, speed: int, dtr_hold_s: float, sleep: Callable[[float], None]
) -> None:
    read_control_lines(lambda: _modem_bits(fd), modem, report)
    report.dtr_works = _dtr_resets(fd, modem, speed=speed, hold_s=dtr_hold_s, real=report.modem_lines, sleep=sleep)


class _Commands(Protocol):
    def command(self, command: str) -> tuple[list[str], str | None]: ...


def read_control_lines(read_bits: Callable[[], int | None], modem: _Commands, report: ProbeReport) -> None:
    """DCD, DSR, CTS and RI: readable at all (``read_bits``: TIOCMGET, ``None`` where there are no lines),
    and whether DCD follows ``&C`` (on with ``&C0``, off with ``&C1`` while idle)."""
    bits = read_bits()
    report.modem_lines = bits is not None
    if bits is None:
        why = "no modem-control lines (a pty or a three-wire cable)"
        report.lines = [LineTest(name, False, verdict=why) for name in ("DCD", "DSR", "CTS", "RI")]
    else:

        def dcd() -> bool | None:
            now = read_bits()
            return None if now is None else bool(now & termios.TIOCM_CAR)

        forced_on = modem.command("AT&C0")[1] == "OK" and dcd() is True
        follows = modem.command("AT&C1")[1] == "OK" and dcd() is False
        report.dcd_works = forced_on and follows
        if report.dcd_works:
            dcd_verdict = "follows &C (on with &C0, off with &C1 while idle)"
        elif forced_on:
            # Carried, but held high: a DIP switch or adapter forcing it, or a USB modem (cdc_acm) reporting it
            # whenever the port is open. Blaming the cable here sent people looking for a wire that is fine.
            dcd_verdict = ("stays on with &C1 (held high: a DIP switch, the adapter, or a USB modem that reports it "
                           "whenever the port is open): it cannot show the carrier dropping")  # fmt: skip
        else:
            dcd_verdict = "does not follow &C: the cable or adapter does not carry it"
        report.lines = [
            LineTest("DCD", True, bool(bits & termios.TIOCM_CAR), dcd_verdict),
            LineTest("DSR", True, bool(bits & termios.TIOCM_DSR), "modem ready" if bits & termios.TIOCM_DSR else
                     "low: the modem is off, or the cable does not carry DSR"),
            LineTest("CTS", True, bool(bits & termios.TIOCM_CTS), "flow_control = \"rtscts\" works" if
                     bits & termios.TIOCM_CTS else "low: use flow_control = \"none\" or check the cable"),
            LineTest("RI", True, bool(bits & termios.TIOCM_RI), "readable (rings only during a call)"),
        ]  # fmt: skip


def _dtr_resets(
    fd: int, modem: _Modem, *, speed: int, hold_s: float, real: bool, sleep: Callable[[float], None]
) -> bool | None:
    """Whether a DTR drop reaches the modem: with ``&D3`` it resets, which puts S7 back. ``None``: untested."""
    if modem.command(f"ATS{_TEST_REGISTER}={_TEST_VALUE}&D3")[1] != "OK":
        return None
    lines = TiocmLines(fd) if real else NoLines(fd, speed)
    try:
        lines.set_dtr(False)
        sleep(hold_s)
        lines.set_dtr(True)
    except OSError:
        return None
    sleep(0.1)  # a modem that reset may still be busy with it
    answer, result = modem.command(f"ATS{_TEST_REGISTER}?")
    if result != "OK" or not answer:
        return None
    return answer[-1].lstrip("0") != str(_TEST_VALUE)


# --- output -----------------------------------------------------------------------------------------------


def render_report(report: ProbeReport) -> str:
    """The human part: what the modem said, and what works."""
    out = [f"# answerd probe {report.device} at {report.speed} bit/s"]
    for command, lines in report.answers.items():
        shown = " | ".join(lines[:6]) + (" | ..." if len(lines) > 6 else "")
        out.append(f"#   {command:<7} {shown}")
    how = f"named by {report.identified_by}" if report.identified_by else "no answer names one: V.250 commands only"
    out.append(f"# family: {report.family.value} ({how})")
    for command, ok in report.caller_id_tried:
        out.append(f"# caller ID: {command} {'accepted' if ok else 'refused'}")
    if not report.caller_id_tried:
        out.append("# caller ID: the family has no command to try")
    for line in report.lines:
        state = "" if line.state is None else (" on" if line.state else " off")
        out.append(f"# {line.name}:{state} {line.verdict}")
    dtr = {True: "a DTR drop reaches the modem (it hangs up and resets)",
           False: "a DTR drop does NOT reach the modem: set &D2 in the init chat, or rely on the escape",
           None: "DTR drop not tested (the modem refused &D3 or the register read)"}[report.dtr_works]  # fmt: skip
    out.append(f"# DTR: {dtr}")
    return "\n".join(out) + "\n"


def render_snippet(report: ProbeReport, name: str) -> str:
    """The suggested ``[ports.NAME]`` table (TOML that ``answerd check-config`` accepts)."""
    out = [f"[ports.{_toml_key(name)}]"]
    if report.device != f"/dev/{name}":
        out.append(f"device = {_toml_str(report.device)}")
    out.append(f"speed = {report.speed}")
    out.append(f"modem_family = {_toml_str(report.family.value)}")
    if report.caller_id_command is not None:
        out.append(f'caller_id = "auto"                 # sends {report.caller_id_command}')
    else:
        out.append('caller_id = "off"                  # the modem accepted no caller-ID command')
    if not report.modem_lines:
        out.append('modem_control = "none"             # no modem-control lines: DTR is dropped by speed B0')
        out.append('flow_control = "none"')
    if not report.dcd_works:
        why = "DCD stays high" if report.modem_lines and _dcd_on(report) else "DCD cannot be read"
        out.append(f'carrier = "modem-text"             # {why}: the modem\'s NO CARRIER ends a call')
    out.append(f"init_chat = [{', '.join(_toml_str(step) for step in DEFAULT_INIT_CHAT)}]")
    out.append("hangup_dtr_ms = 500")
    try:
        cap = speed_cap_command(report.family, SpeedCap(max_speed=14400, modulation="v32b"))
        out.append(f'# speed_preset = "voip"           # over a VoIP line: {cap}')
    except SpeedCapUnsupported as exc:
        out.append(f"# no VoIP speed cap: {exc}")
    return "\n".join(out) + "\n"


def _dcd_on(report: ProbeReport) -> bool:
    return any(line.name == "DCD" and line.state for line in report.lines)


def _toml_str(text: str) -> str:
    escaped = "".join(ch if ch.isprintable() and ch not in '"\\' else f"\\u{ord(ch):04x}" for ch in text)
    return f'"{escaped}"'


def _toml_key(name: str) -> str:
    bare = name and all(ch.isascii() and (ch.isalnum() or ch in "-_") for ch in name)
    return name if bare else _toml_str(name)
