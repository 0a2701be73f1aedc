"""A bench on one machine: ``answerd sim`` on a pty, the real ``answerd run`` on it, a TCP caller.

Both are separate processes started exactly as a user starts them. The test watches the daemon the way
systemd and journald would: sd_notify datagrams on a real ``NOTIFY_SOCKET`` it binds, and the JSON log on
stderr. Every wait is for an event with a deadline (a condition variable), never a fixed sleep, so the tests
are as fast as the daemon and fail with the full log when something does not happen.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.common import toml_value
from tests.helpers import FAST_PORT

SIM_READY = re.compile(r"answerd-sim: ready tty=(\S+) pty=(\S+) listen=([\d.]+):(\d+)")


class Collector:
    """Lines from a process stream, collected by a thread; waitable with a deadline."""

    def __init__(self, stream: Any, parse: Callable[[str], Any]) -> None:
        self.items: list[Any] = []
        self.raw: list[str] = []
        self._cond = threading.Condition()
        self._parse = parse
        self._thread = threading.Thread(target=self._run, args=(stream,), daemon=True)
        self._thread.start()

    def _run(self, stream: Any) -> None:
        for line in iter(stream.readline, ""):
            with self._cond:
                self.raw.append(line.rstrip("\n"))
                item = self._parse(line)
                if item is not None:
                    self.items.append(item)
                self._cond.notify_all()

    def wait_for(self, match: Callable[[Any], bool], timeout: float, start: int = 0) -> tuple[int, Any]:
        """Wait for an item (at index >= start) that ``match`` accepts; return (index, item)."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(start, len(self.items)):
                    if match(self.items[index]):
                        return index, self.items[index]
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError("timed out; output so far:\n" + "\n".join(self.raw[-80:]))
                self._cond.wait(remaining)


def _parse_json(line: str) -> dict[str, Any] | None:
    try:
        item = json.loads(line)
    except ValueError:
        return {"event": "<non-json>", "line": line.rstrip()}
    return item if isinstance(item, dict) else None


class NotifySocket:
    """A datagram socket standing in for systemd's notify socket."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.messages: list[str] = []
        self._cond = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            try:
                data = self.sock.recv(4096)
            except OSError:
                return
            with self._cond:
                self.messages.extend(data.decode("utf-8", "replace").splitlines())
                self._cond.notify_all()

    def wait_for(self, message: str, timeout: float, start: int = 0) -> int:
        """Wait for exactly ``message`` at index >= start; return its index."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for index in range(start, len(self.messages)):
                    if self.messages[index] == message:
                        return index
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise AssertionError(f"no {message!r}; got {self.messages[start:]}")
                self._cond.wait(remaining)

    def close(self) -> None:
        """Stop listening."""
        self.sock.close()


class Caller:
    """A caller on the TCP phone line: a socket with read-until helpers."""

    def __init__(self, host: str, port: int) -> None:
        self.sock = socket.create_connection((host, port), timeout=10)
        self.screen = b""

    def read_until(self, marker: bytes, timeout: float = 15.0) -> bytes:
        """Read until ``marker`` has been seen since the last call; return what was read."""
        deadline = time.monotonic() + timeout
        start = len(self.screen)
        while marker not in self.screen[start:]:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"caller did not see {marker!r}; screen: {self.screen[start:]!r}")
            self.sock.settimeout(remaining)
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not chunk:
                raise AssertionError(f"line dropped before {marker!r}; screen: {self.screen[start:]!r}")
            self.screen += chunk
        return self.screen[start:]

    def send(self, data: bytes) -> None:
        """Type bytes."""
        self.sock.sendall(data)

    def hang_up(self) -> None:
        """Close the TCP connection: the caller puts the phone down."""
        self.sock.close()

    def wait_dropped(self, timeout: float = 15.0) -> bytes:
        """Wait for the far end (the modem) to hang up; return what arrived meanwhile."""
        deadline = time.monotonic() + timeout
        got = b""
        while time.monotonic() < deadline:
            self.sock.settimeout(max(0.01, deadline - time.monotonic()))
            try:
                chunk = self.sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionError:
                return got
            if not chunk:
                return got
            got += chunk
        raise AssertionError(f"the modem did not hang up; got {got!r}")


@dataclass
class Bench:
    """The simulated modem and the daemon under test, with ways to watch and call them."""

    tmp: Path
    sim_args: list[str] = field(default_factory=list)
    port_settings: dict[str, Any] = field(default_factory=dict)
    sim: subprocess.Popen[str] | None = None
    daemon: subprocess.Popen[str] | None = None
    host: str = "127.0.0.1"
    tcp_port: int = 0
    link: Path = field(init=False)
    notify: NotifySocket | None = None
    log: Collector | None = None
    #: Arrays of tables for the port: ``("dispatch", {...})`` becomes a ``[[ports.sim0.dispatch]]`` block.
    tables: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: argv put before the daemon's own (e.g. a helper that runs it in a mount namespace of its own).
    daemon_wrapper: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.link = self.tmp / "ttySIM0"

    def start_sim(self) -> None:
        """Start ``answerd sim`` and wait for its ready line; if it does not come, fail with what the sim said."""
        # stderr goes to a file, not a pipe nobody reads: a chatty sim must never block on it.
        errors = self.tmp / "sim.stderr"
        with errors.open("w") as stderr:
            self.sim = subprocess.Popen(
                [sys.executable, "-m", "answerd", "sim", "--link", str(self.link), "--listen", "127.0.0.1:0",
                 "--ring-interval", "0.3", "--answer-delay", "0.05", *self.sim_args],
                stdout=subprocess.PIPE, stderr=stderr, text=True,
            )  # fmt: skip
        assert self.sim.stdout is not None
        line = self.sim.stdout.readline()
        match = SIM_READY.search(line)
        if match is None:
            self.sim.wait(10)
        assert match is not None, f"sim did not start: {line!r}; it said: {errors.read_text()[-2000:]}"
        self.host, self.tcp_port = match.group(3), int(match.group(4))

    def write_config(self) -> Path:
        """Write the daemon's config for port ``sim0`` on the sim's pty."""
        settings = {"device": str(self.link), **FAST_PORT, **self.port_settings}
        body = "\n".join(f"{key} = {toml_value(value)}" for key, value in settings.items())
        blocks = [
            f"[[ports.sim0.{kind}]]\n" + "".join(f"{key} = {toml_value(value)}\n" for key, value in table.items())
            for kind, table in self.tables
        ]
        path = self.tmp / "answerd.toml"
        path.write_text(f'log_level = "debug"\n\n[ports.sim0]\n{body}\n\n' + "\n".join(blocks))
        return path

    def mark(self) -> int:
        """The index the next log record will get."""
        assert self.log is not None
        return len(self.log.items)

    def ended(self, start: int = 0, timeout: float = 15.0) -> dict[str, Any]:
        """Wait for the next ``call.ended`` after ``start`` and for the port to be idle again; return the record."""
        index, ended = self.wait_event("call.ended", start=start, timeout=timeout)
        assert self.log is not None
        self.log.wait_for(
            lambda r: r.get("event") == "port.status"
            and (r.get("status") == "waiting for RING" or str(r.get("status")).startswith("busied out (")),
            timeout, index,
        )  # fmt: skip
        return ended

    def since(self, event: str, start: int) -> list[dict[str, Any]]:
        """Every ``event`` record from index ``start`` on."""
        assert self.log is not None
        return [r for r in self.log.items[start:] if r.get("event") == event]

    def sends(self, start: int = 0) -> list[str]:
        """What answerd wrote to the modem in command mode (``modem.send``), from ``start`` on."""
        assert self.log is not None
        return [r["data"] for r in self.log.items[start:] if r.get("event") == "modem.send"]

    def start_daemon(self, extra_env: dict[str, str] | None = None) -> None:
        """Start ``answerd run`` with JSON logs and a notify socket."""
        config = self.write_config()
        self.notify = NotifySocket(self.tmp / "notify.sock")
        env = {**os.environ, "NOTIFY_SOCKET": str(self.notify.path), "RUNTIME_DIRECTORY": str(self.tmp),
               **(extra_env or {})}  # fmt: skip
        self.daemon = subprocess.Popen(
            [*self.daemon_wrapper, sys.executable, "-m", "answerd", "run", "--config", str(config), "--port", "sim0",
             "--log-format", "json"],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
        self.log = Collector(self.daemon.stderr, _parse_json)

    def start(self) -> Bench:
        """Start both and wait until the daemon says READY=1."""
        self.start_sim()
        self.start_daemon()
        assert self.notify is not None
        self.notify.wait_for("READY=1", 20)
        return self

    def dial(self) -> Caller:
        """Call in."""
        return Caller(self.host, self.tcp_port)

    def wait_event(
        self, event: str, timeout: float = 15.0, start: int = 0, **fields: Any
    ) -> tuple[int, dict[str, Any]]:
        """Wait for a log record ``event`` whose fields include ``fields``."""
        assert self.log is not None
        return self.log.wait_for(
            lambda r: r.get("event") == event and all(r.get(k) == v for k, v in fields.items()),
            timeout,
            start,
        )

    def events(self, event: str) -> list[dict[str, Any]]:
        """Every log record named ``event`` so far."""
        assert self.log is not None
        return [r for r in self.log.items if r.get("event") == event]

    def stop(self) -> int | None:
        """SIGTERM both; return the daemon's exit code."""
        code = None
        if self.daemon is not None:
            if self.daemon.poll() is None:
                self.daemon.terminate()
            try:
                code = self.daemon.wait(15)
            except subprocess.TimeoutExpired:
                self.daemon.kill()
                code = self.daemon.wait()
        if self.sim is not None:
            self.sim.terminate()
            try:
                self.sim.wait(10)
            except subprocess.TimeoutExpired:
                self.sim.kill()
                self.sim.wait()
        if self.notify is not None:
            self.notify.close()
        return code
