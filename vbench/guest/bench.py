"""The guest side's tools: the ACM gadget, the simulated modem on ttyGS0, the unit, the journal, a caller.

Runs inside the vbench guest as root with the guest's Debian python3 (stdlib only). Every wait has a
deadline and fails with what it waited for and what it saw last.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import select
import signal
import socket
import struct
import subprocess
import termios
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypeVar

__all__ = [
    "OUT",
    "UNIT",
    "Caller",
    "Failed",
    "Gadget",
    "Sim",
    "calls_ended",
    "journal",
    "run",
    "tiocm",
    "unit",
    "wait_unit",
    "wait_until",
]

OUT = Path("/run/vbench")
UNIT = "answerd@ttyACM0.service"
ACM = "/dev/ttyACM0"
GS = "/dev/ttyGS0"
SIM_ADDRESS = ("127.0.0.1", 2323)
T = TypeVar("T")


class Failed(AssertionError):
    """A scenario's check failed; the message says what was expected and what was seen."""


def run(argv: Sequence[str], *, timeout_s: float = 30.0, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` (no shell), return its output; a non-zero exit fails the scenario when ``check``."""
    try:
        result = subprocess.run(list(argv), capture_output=True, text=True, timeout=timeout_s, check=False)
    except subprocess.TimeoutExpired:
        raise Failed(f"{' '.join(argv)}: no result after {timeout_s}s") from None
    if check and result.returncode != 0:
        raise Failed(f"{' '.join(argv)}: exit {result.returncode}: {result.stderr.strip()[-400:]}")
    return result


def wait_until(what: str, probe: Callable[[], T], timeout_s: float, interval_s: float = 0.1) -> T:
    """Call ``probe`` until it returns something truthy; fail after ``timeout_s`` naming ``what``."""
    deadline = time.monotonic() + timeout_s
    last: object = None
    while True:
        try:
            value = probe()
        except (OSError, Failed) as exc:
            last = exc
        else:
            if value:
                return value
            last = value
        if time.monotonic() > deadline:
            raise Failed(f"timed out after {timeout_s}s waiting for: {what} (last probe: {last!r})")
        time.sleep(interval_s)


def wait_unit(what: str, ok: Callable[[dict[str, str]], bool], timeout_s: float, name: str = "") -> dict[str, str]:
    """Wait until the unit's state (ActiveState, SubState, StatusText, Result) satisfies ``ok``; return it."""
    props = ("ActiveState", "SubState", "StatusText", "Result", "MainPID")
    seen: list[dict[str, str]] = []

    def probe() -> dict[str, str] | None:
        p = unit(*props, name=name or UNIT)
        if not seen or seen[-1] != p:
            seen.append(p)
        return p if ok(p) else None

    try:
        return wait_until(what, probe, timeout_s, 0.2)
    except Failed:
        raise Failed(f"timed out after {timeout_s}s waiting for: {what}; states seen: {seen[-5:]}") from None


def unit(*props: str, name: str = UNIT) -> dict[str, str]:
    """``systemctl show`` properties of the unit."""
    out = run(["systemctl", "show", name, *(f"--property={p}" for p in props)]).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def journal(*matches: str, since_cursor: str | None = None) -> list[dict[str, Any]]:
    """Journal entries as dicts (``journalctl -o json``) matching ``FIELD=value`` terms."""
    argv = ["journalctl", "--no-pager", "-o", "json", *matches]
    if since_cursor:
        argv.append(f"--after-cursor={since_cursor}")
    out = run(argv, timeout_s=60).stdout
    return [json.loads(line) for line in out.splitlines() if line.startswith("{")]


def calls_ended() -> list[dict[str, Any]]:
    """Every ``call.ended`` record of ttyACM0 so far, oldest first (the way the docs query them)."""
    return journal("PORT=ttyACM0", "EVENT=call.ended")


def tiocm(fd: int) -> int:
    """The modem-control bits of ``fd`` (TIOCMGET)."""
    return int(struct.unpack("I", fcntl.ioctl(fd, termios.TIOCMGET, struct.pack("I", 0)))[0])


class Gadget:
    """The configfs USB ACM gadget on dummy_hcd: /dev/ttyACM0 (host side) joined to /dev/ttyGS0."""

    path = Path("/sys/kernel/config/usb_gadget/vbench")

    def __init__(self, vendor: str, product: str, serial: str) -> None:
        self.vendor, self.product, self.serial = vendor, product, serial

    def create(self) -> None:
        """Load the modules and make the gadget (unbound); /dev/ttyGS0 exists afterwards."""
        if self.path.is_dir():
            return
        run(["modprobe", "dummy_hcd"])
        run(["modprobe", "libcomposite"])
        run(["modprobe", "usb_f_acm"])
        if not Path("/sys/kernel/config/usb_gadget").is_dir():
            run(["mount", "-t", "configfs", "none", "/sys/kernel/config"])
        self.path.mkdir()
        (self.path / "idVendor").write_text(f"0x{self.vendor}")
        (self.path / "idProduct").write_text(f"0x{self.product}")
        strings = self.path / "strings/0x409"
        strings.mkdir()
        (strings / "serialnumber").write_text(self.serial)
        (strings / "manufacturer").write_text("answerd vbench")
        (strings / "product").write_text("simulated modem")
        config = self.path / "configs/c.1"
        config.mkdir()
        function = self.path / "functions/acm.usb0"
        function.mkdir()
        (config / "acm.usb0").symlink_to(function)
        wait_until(f"{GS} to appear", lambda: Path(GS).exists(), 10)

    @property
    def bound(self) -> bool:
        """Whether the gadget is plugged in (bound to the dummy UDC)."""
        return bool((self.path / "UDC").read_text().strip())

    def plug(self) -> None:
        """Bind the gadget (plug the modem in); /dev/ttyACM0 appears."""
        udc = sorted(os.listdir("/sys/class/udc"))[0]
        (self.path / "UDC").write_text(udc)
        wait_until(f"{ACM} to appear", lambda: Path(ACM).exists(), 30)

    def unplug(self) -> None:
        """Unbind the gadget (``echo "" > UDC``: the modem is unplugged); /dev/ttyACM0 goes away."""
        (self.path / "UDC").write_text("\n")
        wait_until(f"{ACM} to go away", lambda: not Path(ACM).exists(), 30)


class Sim:
    """``answerd sim --serve /dev/ttyGS0``: the simulated modem on the gadget side, phone line on TCP 2323."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.log = OUT / "sim.log"

    @property
    def running(self) -> bool:
        """Whether the sim process is alive."""
        return self.process is not None and self.process.poll() is None

    def start(self) -> None:
        """Start the sim and wait for its ready line."""
        with open(self.log, "a") as log:
            log.write(f"--- sim start {time.monotonic():.1f}\n")
            self.process = subprocess.Popen(
                ["answerd", "sim", "--serve", GS, "--listen", f"{SIM_ADDRESS[0]}:{SIM_ADDRESS[1]}", "-v"],
                stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True,
            )  # fmt: skip
        assert self.process.stdout is not None
        ready, _, _ = select.select([self.process.stdout], [], [], 30)
        line = self.process.stdout.readline() if ready else ""
        if not line.startswith("answerd-sim: ready"):
            raise Failed(f"answerd sim --serve did not get ready (said {line!r}, exit {self.process.poll()})")

    def stop(self) -> None:
        """Stop the sim (it closes ttyGS0: DCD falls on ttyACM0)."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def transcript(self) -> str:
        """What the sim logged so far."""
        return self.log.read_text(errors="replace")


class Caller:
    """A person dialling in: a TCP connection to the simulated phone line."""

    def __init__(self, timeout_s: float = 10.0) -> None:
        self.sock = socket.create_connection(SIM_ADDRESS, timeout=timeout_s)
        self.sock.setblocking(False)
        self.seen = bytearray()

    def expect(self, text: bytes, timeout_s: float) -> bytes:
        """Read until ``text`` arrives; return everything read. Fails with what was seen."""
        deadline = time.monotonic() + timeout_s
        while text not in self.seen:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Failed(f"caller waited {timeout_s}s for {text!r}; saw {bytes(self.seen[-300:])!r}")
            ready, _, _ = select.select([self.sock], [], [], left)
            if ready:
                try:
                    data = self.sock.recv(4096)
                except BlockingIOError:
                    continue
                if not data:
                    raise Failed(f"line dropped while waiting for {text!r}; saw {bytes(self.seen[-300:])!r}")
                self.seen += data
        found = bytes(self.seen)
        del self.seen[: self.seen.index(text) + len(text)]
        return found

    def send(self, text: bytes) -> None:
        """Type ``text`` (slowly enough for a tty in raw mode: all at once is fine for login and bash)."""
        self.sock.setblocking(True)
        self.sock.sendall(text)
        self.sock.setblocking(False)

    def hang_up(self) -> None:
        """Put the phone down (close the connection: the modem loses carrier)."""
        with contextlib.suppress(OSError):
            self.sock.close()

    def log_in(self, user: str, password: str, timeout_s: float = 90.0) -> bytes:
        """Wait for the login prompt, log in, wait for the shell prompt; return what was seen."""
        seen = self.expect(b"login: ", timeout_s)
        self.send(user.encode() + b"\r")
        seen += self.expect(b"assword: ", 30)
        self.send(password.encode() + b"\r")
        seen += self.expect(b"$ ", 60)
        return seen
