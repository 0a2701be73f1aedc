"""What a HIL test drives: answerd started the way its systemd unit starts it, and the calling modem.

:class:`Daemon` runs ``answerd run --config FILE --port NAME`` (the unit's ExecStart) with a notify socket the
test binds (``NOTIFY_SOCKET``, as systemd gives a Type=notify service) and the log as JSON on stderr (the one
difference from the unit, whose log goes to journald; the JSON records carry the same fields).
:class:`CallingModem` is the second modem, on a serial port opened with pyserial: it dials, reads, types and
hangs up. Every wait has a deadline and polls nothing faster than the data comes in.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import subprocess
import sys
import termios
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import serial

from hil.bench import CALLER_ID_ON, Bench

__all__ = ["PPPD", "PPP_ANSWER_ADDRESS", "PPP_CALLER_ADDRESS", "CallResult", "CallingModem", "Daemon", "login_program"]

STANDIN = Path(__file__).with_name("login_standin.py")
PORT_NAME = "hil0"
PPPD = "/usr/sbin/pppd"
#: The PPP link's two ends (config.example.toml's): answerd's pppd and the calling side's.
PPP_ANSWER_ADDRESS, PPP_CALLER_ADDRESS = "192.168.32.1", "192.168.32.105"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string is a valid TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    raise TypeError(f"no TOML for {value!r}")


def login_program(bench: Bench, workdir: Path) -> list[str]:
    """``/bin/login`` where a real account can log in; else the stand-in, which checks the bench's password."""
    if bench.real_login:
        return ["/bin/login", "--", "{user}"]
    secret = workdir / "standin-password"
    secret.write_text(bench.password)
    secret.chmod(0o600)
    return [sys.executable, str(STANDIN), "--password-file", str(secret), "--", "{user}"]


class Daemon:
    """``answerd run`` on the bench's answering port, as its systemd unit starts it."""

    def __init__(self, bench: Bench, workdir: Path) -> None:
        self.bench = bench
        settings: dict[str, object] = {
            "device": str(bench.answer_port),
            "speed": bench.speed,
            "rings": 2,  # caller ID comes between the first and the second RING
            "init_chat_extra": ["", CALLER_ID_ON[bench.answer_family], "OK"],
            "login_program": login_program(bench, workdir),
            **bench.extra_port_settings,
        }
        config = workdir / "answerd.toml"
        body = "\n".join(f"{key} = {_toml(value)}" for key, value in settings.items())
        self.pppd_log = workdir / "answering-pppd.log"
        ppp_rule = ""
        if bench.ppp:  # config.example.toml's PPP server: AutoPPP hands the line to pppd, PAP against the system
            argv = [PPPD, *([] if bench.simulated else ["modem", "crtscts"]), "auth", "+pap", "login",
                    f"{PPP_ANSWER_ADDRESS}:{PPP_CALLER_ADDRESS}", "debug", "logfile", str(self.pppd_log)]  # fmt: skip
            ppp_rule = f'\n[[ports.{PORT_NAME}.dispatch]]\nmatch = "/AutoPPP/"\nprogram = {_toml(argv)}\n'
        config.write_text(f'log_level = "debug"\n\n[ports.{PORT_NAME}]\n{body}\n{ppp_rule}')
        self.notify_path = workdir / "notify.sock"
        self._notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._notify.bind(str(self.notify_path))
        self.notifications: list[str] = []
        self.records: list[dict[str, Any]] = []
        self._cond = threading.Condition()
        env = {**os.environ, "NOTIFY_SOCKET": str(self.notify_path)}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "answerd", "run", "--config", str(config), "--port", PORT_NAME,
             "--log-format", "json"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        threading.Thread(target=self._read_log, daemon=True).start()
        threading.Thread(target=self._read_notify, daemon=True).start()

    def _read_log(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            try:
                record = json.loads(line)
            except ValueError:
                record = {"event": "<not json>", "line": line.rstrip()}
            with self._cond:
                self.records.append(record if isinstance(record, dict) else {"event": "<not a record>"})
                self._cond.notify_all()

    def _read_notify(self) -> None:
        while True:
            try:
                data = self._notify.recv(4096)
            except OSError:
                return
            with self._cond:
                self.notifications.extend(data.decode("utf-8", "replace").splitlines())
                self._cond.notify_all()

    def _wait(self, found: Callable[[], Any], what: str, timeout: float) -> Any:
        deadline = time.monotonic() + timeout
        with self._cond:
            while (result := found()) is None:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or self.proc.poll() is not None:
                    tail = "\n".join(json.dumps(r) for r in self.records[-40:])
                    raise AssertionError(f"no {what} within {timeout} s; answerd's last records:\n{tail}")
                self._cond.wait(min(remaining, 1.0))
            return result

    def wait_notify(self, message: str, timeout: float) -> None:
        """Wait for ``message`` (``READY=1``) on the notify socket."""
        self._wait(lambda: True if message in self.notifications else None, message, timeout)

    def mark(self) -> int:
        """The index the next log record will get."""
        with self._cond:
            return len(self.records)

    def wait_event(self, event: str, timeout: float, start: int = 0, **fields: object) -> tuple[int, dict[str, Any]]:
        """Wait for a record ``event`` (from index ``start``) whose fields include ``fields``."""

        def found() -> tuple[int, dict[str, Any]] | None:
            for index in range(start, len(self.records)):
                record = self.records[index]
                if record.get("event") == event and all(record.get(k) == v for k, v in fields.items()):
                    return index, record
            return None

        result: tuple[int, dict[str, Any]] = self._wait(found, f"{event} {fields or ''}", timeout)
        return result

    def wait_ready(self, timeout: float, start: int = 0) -> int:
        """Wait until answerd waits for the next RING (after ``start``); the record's index."""
        return self.wait_event("port.status", timeout, start, status="waiting for RING")[0]

    def stop(self) -> int:
        """SIGTERM, as systemd stops the unit; the exit status."""
        if self.proc.poll() is None:
            self.proc.terminate()
        try:
            code = self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            code = self.proc.wait()
        self._notify.close()
        return code


@dataclass(frozen=True, slots=True)
class CallResult:
    """One call of a run, for the results table: reported, not asserted."""

    bench: str
    family: str
    index: int
    ok: bool
    seconds_to_connect: float | None
    #: The calling modem's result line (``CONNECT 28800/ARQ/...``).
    connect: str
    #: What answerd recorded as the answering modem's CONNECT text.
    answered: str = ""
    failure: str = ""


class CallingModem:
    """The modem that dials in, on the bench's calling port."""

    def __init__(self, bench: Bench) -> None:
        self.bench = bench
        self.port = serial.Serial(str(bench.call_port), bench.speed, rtscts=not bench.simulated, timeout=0.2)
        self.seen = b""

    def close(self) -> None:
        self.port.close()

    def send(self, text: str) -> None:
        self.port.write(text.encode())

    def expect(self, *needles: bytes, timeout: float) -> bytes:
        """Read until one of ``needles`` has come (after what earlier calls consumed); return it and what was
        before it. Raises AssertionError with what did come when the deadline passes first."""
        deadline = time.monotonic() + timeout
        while True:
            hits = [(self.seen.find(n), n) for n in needles if n in self.seen]
            if hits:
                at, needle = min(hits)
                head, self.seen = self.seen[: at + len(needle)], self.seen[at + len(needle) :]
                return head
            if time.monotonic() > deadline:
                raise AssertionError(f"none of {needles} within {timeout} s; the calling modem said {self.seen!r}")
            self.seen += self.port.read(256)

    def command(self, line: str, timeout: float = 10.0) -> bytes:
        """A command line; waits for OK or ERROR; returns the reply."""
        self.send(line + "\r")
        return self.expect(b"OK\r\n", b"ERROR\r\n", timeout=timeout)

    def wait_for_carrier_s(self) -> int:
        """S7 of the calling modem: how long it waits for carrier after dialling (its own answer timeout)."""
        reply = self.command("ATS7?")
        digits = [int(tok) for tok in reply.split() if tok.isdigit()]
        return digits[0] if digits else 60

    def dial(self, number: str, timeout: float) -> tuple[bytes, float]:
        """ATDT ``number``: the result line (CONNECT ..., BUSY, NO CARRIER ...) and the seconds it took."""
        self.seen = b""
        started = time.monotonic()
        self.send(f"ATDT{number}\r")
        text = self.expect(b"CONNECT", b"BUSY", b"NO CARRIER", b"NO ANSWER", b"NO DIALTONE", b"ERROR", timeout=timeout)
        elapsed = time.monotonic() - started
        if text.endswith(b"CONNECT"):
            text += self.expect(b"\r\n", timeout=5)
        return text.strip().splitlines()[-1], elapsed

    @property
    def has_modem_lines(self) -> bool:
        """Whether the calling port has modem-control lines (a serial port or USB modem; a pty has none)."""
        try:
            fcntl.ioctl(self.port.fd, termios.TIOCMGET, b"\0\0\0\0")
        except OSError:
            return False
        return True

    def hang_up(self) -> None:
        """Drop DTR (the modem's &D2 hangs up); on a pty, which has no DTR, set the speed to B0 as a DTE does."""
        try:
            fcntl.ioctl(self.port.fd, termios.TIOCMGET, b"\0\0\0\0")
        except OSError:
            attrs = termios.tcgetattr(self.port.fd)
            speed = attrs[5]
            attrs[4] = attrs[5] = termios.B0
            termios.tcsetattr(self.port.fd, termios.TCSANOW, attrs)
            time.sleep(0.2)  # the sim polls the line every 50 ms; hold "DTR low" long enough to be seen
            attrs[4] = attrs[5] = speed
            termios.tcsetattr(self.port.fd, termios.TCSANOW, attrs)
        else:
            self.port.dtr = False
            time.sleep(1.0)  # S25: DTR must stay low a while before the modem acts on it
            self.port.dtr = True
        with contextlib.suppress(AssertionError):
            self.expect(b"NO CARRIER", b"OK", timeout=3)
        self.seen = b""
