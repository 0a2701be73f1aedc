"""What several test files need and once each wrote for itself: waits with a deadline, PPP frames, stand-in
programs for login/pppd, the port settings that make a cycle fast on the simulated modem.

Waits poll only what gives no notification (a process's state in ``/proc``, another process's file); events
that can be waited for (a log record, a datagram, bytes on a socket) are waited for directly.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "FAST_PORT",
    "LCP_CONFIGURE_REQUEST",
    "POLL_S",
    "STAND_IN",
    "alive",
    "fcs16",
    "hdlc_frame",
    "lcp",
    "make_program",
    "ran",
    "record_of",
    "session_started",
    "wait_until",
    "wait_until_async",
]

#: How often a condition without a notification is looked at again.
POLL_S = 0.01

#: Port settings that make a cycle fast on the simulated modem (a pty has no DTR: B0 is used).
FAST_PORT: dict[str, Any] = {
    "modem_control": "none",
    "dtr_drop_ms": 50,
    "settle_ms": 0,
    "chat_timeout_s": 3.0,
    "retry_backoff_s": 0.1,
    "stop_grace_s": 1.0,
}

# ------------------------------------------------------------------------------------------------- waiting


def wait_until(predicate: Callable[[], bool], timeout_s: float = 5.0, what: str = "the condition") -> None:
    """Poll ``predicate`` until it holds; fail naming ``what`` after ``timeout_s`` (a deadline, not a sleep)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(POLL_S)


async def wait_until_async(predicate: Callable[[], bool], timeout_s: float = 5.0, what: str = "the condition") -> None:
    """:func:`wait_until` for a coroutine: the event loop keeps running between looks."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(POLL_S)


def _stat_fields(pid: int) -> list[str] | None:
    """Fields 3 on of ``/proc/PID/stat`` (after the command name), or ``None`` if the process is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return stat[stat.rfind(")") + 2 :].split()


def alive(pid: int) -> bool:
    """Whether ``pid`` exists and is not a zombie."""
    fields = _stat_fields(pid)
    return fields is not None and fields[0] != "Z"


def session_started(pid: int) -> bool:
    """Whether ``pid`` leads its own session yet: ``setsid`` runs in the child after the fork, not at once."""
    fields = _stat_fields(pid)
    return fields is not None and int(fields[3]) == pid


# ---------------------------------------------------------------------------------------------- PPP frames


def fcs16(data: bytes, fcs: int = 0xFFFF) -> int:
    """RFC 1662 FCS-16 (CRC-16/X-25, reflected polynomial 0x8408) over ``data``, before the final complement."""
    for byte in data:
        fcs ^= byte
        for _ in range(8):
            fcs = (fcs >> 1) ^ 0x8408 if fcs & 1 else fcs >> 1
    return fcs


def hdlc_frame(protocol: int, information: bytes, *, accm: int = 0xFFFFFFFF) -> bytes:
    """One PPP frame as an async line carries it (RFC 1662): FF 03, protocol, information, FCS, escaped, flags."""
    body = b"\xff\x03" + protocol.to_bytes(2, "big") + information
    body += (fcs16(body) ^ 0xFFFF).to_bytes(2, "little")
    assert 0xF0B8 == fcs16(body)  # RFC 1662 section C.2: the FCS over a frame and its FCS is the "good FCS"
    out = bytearray(b"\x7e")
    for byte in body:
        if byte in (0x7D, 0x7E) or (byte < 0x20 and accm >> byte & 1):
            out += bytes((0x7D, byte ^ 0x20))
        else:
            out.append(byte)
    return bytes(out + b"\x7e")


def lcp(code: int, identifier: int, data: bytes) -> bytes:
    """An LCP packet (RFC 1661 section 5): code, identifier, length, data."""
    return bytes((code, identifier)) + (4 + len(data)).to_bytes(2, "big") + data


#: What pppd sends first: LCP Configure-Request (ACCM 0, magic number, PFC, ACFC) under the default ACCM.
LCP_CONFIGURE_REQUEST = hdlc_frame(0xC021, lcp(1, 1, bytes.fromhex("020600000000 05061a2b3c4d 0702 0802")))

# ------------------------------------------------------------------------------------ stand-in programs

#: A stand-in for pppd, login or a BBS: records how it was started (``<program>.json``), says ``RECORDED``,
#: copies ``want`` bytes of stdin to ``<program>.data``, holds the line if told, exits with ``exit``. The
#: controls are files beside the program, so one script serves every test.
STAND_IN = """#!{python}
import json, os, stat, sys, termios
base = os.path.abspath(sys.argv[0])


def control(kind, default):
    try:
        with open(base + "." + kind) as f:
            return int(f.read())
    except FileNotFoundError:
        return default


iflag, oflag, _, lflag = termios.tcgetattr(0)[:4]
tty = os.ttyname(0)
record = {{
    "argv": sys.argv,
    "env": dict(os.environ),
    "uid": os.getuid(),
    "gid": os.getgid(),
    "pid": os.getpid(),
    "sid": os.getsid(0),
    "pgrp": os.getpgrp(),
    "foreground": os.tcgetpgrp(0),
    "tty": tty,
    "tty_mode": oct(stat.S_IMODE(os.stat(tty).st_mode)),
    "fds_are_tty": all(os.path.samestat(os.fstat(0), os.fstat(fd)) for fd in (1, 2)),
    "raw": not (
        lflag & (termios.ICANON | termios.ECHO | termios.ISIG)
        or oflag & termios.OPOST
        or iflag & (termios.ICRNL | termios.IXON | termios.ISTRIP)
    ),
}}
with open(base + ".tmp", "w") as f:
    json.dump(record, f)
os.replace(base + ".tmp", base + ".json")
if {say!r}:
    os.write(1, b"RECORDED\\n")
want, got = control("want", 0), b""
while len(got) < want:
    try:
        chunk = os.read(0, 65536)
    except OSError:
        break
    if not chunk:
        break
    got += chunk
    with open(base + ".data", "wb") as f:
        f.write(got)
if control("hold", 0):
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
sys.exit(control("exit", 0))
"""


def make_program(
    directory: Path, name: str, *, say: bool = True, python: str = sys.executable, **controls: int
) -> Path:
    """Write a stand-in program; ``controls`` (want=bytes to copy, hold=1, exit=status) go in files beside it."""
    directory.mkdir(parents=True, exist_ok=True)
    program = directory / name
    program.write_text(STAND_IN.format(python=python, say=say))
    program.chmod(0o755)
    for kind, value in controls.items():
        Path(f"{program}.{kind}").write_text(str(value))
    return program


def record_of(program: Path) -> dict[str, Any]:
    """What the stand-in recorded about its start."""
    return json.loads(Path(f"{program}.json").read_text())  # type: ignore[no-any-return]


def ran(program: Path) -> bool:
    """Whether the stand-in was started at all."""
    return Path(f"{program}.json").exists()


def installed_example(directory: Path) -> Path:
    """config.example.toml copied as docs/install.md installs it: mode 0644 in ``directory``.

    The checkout's own copy may be group-writable (a umask of 002), and answerd, running as root, rightly
    refuses a configuration file that others could have changed.
    """
    example = Path(__file__).resolve().parent.parent / "config.example.toml"
    installed = directory / "answerd.toml"
    installed.write_bytes(example.read_bytes())
    installed.chmod(0o644)
    return installed
