"""``answerd demo``: one call, end to end, on the simulated modem, with both sides shown.

It runs exactly what a user would run, as separate processes: ``answerd sim`` (a modem on a pty with a TCP
phone line) and ``answerd run`` on that pty, with a real ``NOTIFY_SOCKET`` so the demo sees what systemd
would see. Then it dials in over TCP like ``telnet`` would, shows the caller's screen (banner, login prompt,
``Password:`` from the real ``/bin/login``), hangs up, and waits for answerd to report it is waiting for the
next RING. Every step has a deadline; the demo exits non-zero, saying which step failed, if one passes.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import socket
import sys
import tempfile
from pathlib import Path

__all__ = ["run_demo"]

#: The port name the demo configures.
PORT = "sim0"
_READY_RE = re.compile(rb"answerd-sim: ready tty=(\S+) pty=(\S+) listen=([\d.]+):(\d+)")


class DemoError(Exception):
    """A step of the demo did not happen in time."""


def _say(text: str) -> None:
    print(f"demo    │ {text}", flush=True)


def _show_screen(raw: bytes) -> None:
    text = raw.decode("ascii", "replace").replace("\r\n", "\n").replace("\r", "\n")
    for line in text.split("\n"):
        shown = "".join(ch if ch.isprintable() else "?" for ch in line)
        print(f"caller  │ {shown}", flush=True)


class _NotifyListener(asyncio.DatagramProtocol):
    """Receives the daemon's sd_notify datagrams, as systemd would."""

    def __init__(self) -> None:
        self.messages: list[str] = []
        self.changed = asyncio.Event()

    def datagram_received(self, data: bytes, _addr: object) -> None:
        for line in data.decode("utf-8", "replace").splitlines():
            self.messages.append(line)
        self.changed.set()

    async def wait_for(self, predicate: str, start: int, timeout: float) -> int:
        """Wait until a message equal to ``predicate`` arrives at index >= start; return its index."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            for index in range(start, len(self.messages)):
                if self.messages[index] == predicate:
                    return index
            self.changed.clear()
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise DemoError(f"answerd did not send {predicate!r} within {timeout:g} s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.changed.wait(), remaining)


async def _pump(stream: asyncio.StreamReader, prefix: str) -> None:
    while line := await stream.readline():
        print(f"{prefix} │ {line.decode('utf-8', 'replace').rstrip()}", flush=True)


async def _read_until(reader: asyncio.StreamReader, marker: bytes, timeout: float, what: str) -> bytes:
    buf = b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while marker not in buf:
        remaining = deadline - loop.time()
        if remaining <= 0:
            _show_screen(buf)
            raise DemoError(f"the caller did not see {what} within {timeout:g} s")
        try:
            chunk = await asyncio.wait_for(reader.read(4096), remaining)
        except TimeoutError:
            continue
        if not chunk:
            _show_screen(buf)
            raise DemoError(f"the line dropped before the caller saw {what}")
        buf += chunk
    return buf


async def _stop(process: asyncio.subprocess.Process, timeout: float = 10.0) -> int:
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), timeout)
        except TimeoutError:
            process.kill()
            await process.wait()
    return process.returncode if process.returncode is not None else -1


async def _demo(workdir: Path, verbose: bool) -> None:
    loop = asyncio.get_running_loop()
    link = workdir / "ttySIM0"
    _say("starting the simulated modem: answerd sim (a pty, and a TCP socket as the phone line)")
    sim = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "answerd.sim",
        "--link", str(link), "--listen", "127.0.0.1:0",
        "--ring-interval", "1.5", "--answer-delay", "0.5",
        "--caller-id", "5551234", "--caller-name", "DEMO CALLER", "--cid",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    tasks: list[asyncio.Task[None]] = []
    daemon: asyncio.subprocess.Process | None = None
    try:
        assert sim.stdout is not None
        assert sim.stderr is not None
        tasks.append(loop.create_task(_pump(sim.stderr, "sim    ")))
        ready_line = await asyncio.wait_for(sim.stdout.readline(), 15)
        match = _READY_RE.search(ready_line)
        if match is None:
            raise DemoError(f"the simulated modem did not start: {ready_line!r}")
        host, tcp_port = match.group(3).decode(), int(match.group(4))
        _say(f"modem at {link} -> {match.group(2).decode()}, phone line at {host}:{tcp_port}")

        config = workdir / "answerd.toml"
        # The demo's own lock directory: a machine that never booted (a container, a chroot) has no /run/lock,
        # and answerd does not answer a line it cannot lock.
        lock_dir = workdir / "lock"
        lock_dir.mkdir()
        config.write_text(
            f"""log_level = "{"debug" if verbose else "info"}"

[ports.{PORT}]
device = "{link}"
modem_control = "none"   # a pty has no DTR/DCD: DTR is dropped by setting speed B0
rings = 2
dtr_drop_ms = 200
settle_ms = 200
lock_dir = "{lock_dir}"
autoppp = false          # no pppd in the demo: a PPP caller would have nowhere to go
issue = "\\nWelcome to the answerd demo on @ (line \\\\P, CONNECT \\\\I, caller \\\\Y)\\n"
"""
        )
        notify_path = workdir / "notify.sock"
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        sock.bind(str(notify_path))
        transport, listener = await loop.create_datagram_endpoint(_NotifyListener, sock=sock)
        env = {**os.environ, "NOTIFY_SOCKET": str(notify_path)}
        _say(f"starting the daemon: answerd run --config {config} --port {PORT}")
        daemon = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "answerd", "run", "--config", str(config), "--port", PORT,
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, env=env,
        )  # fmt: skip
        assert daemon.stderr is not None
        tasks.append(loop.create_task(_pump(daemon.stderr, "answerd")))
        await listener.wait_for("READY=1", 0, 30)
        _say("answerd sent READY=1: the modem is initialised and answerd waits for RING")

        _say(f"the caller dials in: connecting to the phone line {host}:{tcp_port}")
        reader, writer = await asyncio.open_connection(host, tcp_port)
        screen = await _read_until(reader, b"login: ", 40, "the login prompt")
        _say("the caller's screen after CONNECT:")
        _show_screen(screen)
        _say("the caller types the name 'demo'")
        writer.write(b"demo\r")
        await writer.drain()
        screen = await _read_until(reader, b"Password:", 20, "'Password:' from /bin/login")
        _show_screen(screen)
        _say("/bin/login is asking for a password: the line was handed off. The caller hangs up.")
        mark = len(listener.messages)
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        await listener.wait_for("STATUS=waiting for RING", mark, 40)
        _say("answerd hung up, re-initialised the modem and is waiting for the next RING")
        mark = len(listener.messages)
        code = await _stop(daemon)
        daemon = None
        transport.close()
        if code != 0:
            raise DemoError(f"answerd exited with {code} on SIGTERM (expected 0)")
        stopping = "sent STOPPING=1, " if "STOPPING=1" in listener.messages[mark:] else ""
        _say(f"answerd {stopping}stopped cleanly on SIGTERM (exit 0)")
    finally:
        if daemon is not None:
            await _stop(daemon)
        await _stop(sim)
        for task in tasks:
            with contextlib.suppress(TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(task, 2)


def run_demo(*, verbose: bool = False) -> int:
    """Run the demo; return 0 if every step happened."""
    if os.geteuid() != 0:
        print(
            "answerd demo: run it as root: /bin/login only prompts for a password when run by root",
            file=sys.stderr,
        )
        return 1
    with tempfile.TemporaryDirectory(prefix="answerd-demo-") as tmp:
        try:
            asyncio.run(_demo(Path(tmp), verbose))
        except DemoError as exc:
            _say(f"FAILED: {exc}")
            return 1
    _say("OK: call answered, login prompted for a password, caller hung up, answerd ready again")
    return 0
