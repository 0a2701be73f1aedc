"""The per-port state file: what each daemon is doing now, for ``answerd status``.

Every ``answerd run`` keeps one small JSON file, ``<runtime dir>/<port>.state`` (the directory of the reload
verdicts, :func:`answerd.service.reload.runtime_dir`: ``/run/answerd``, or ``$RUNTIME_DIRECTORY`` when it is
set). It is replaced atomically (a new file in the same directory, then ``rename``) whenever the line's state
or its status text changes, never for a byte: a reader sees the old file or the new one, never half of one.

A daemon that is gone must show as gone, not as its last state, and a crash (SIGKILL, the watchdog) writes
nothing. So the daemon holds an exclusive ``flock`` on the file for its whole life: it locks each new file
*before* renaming it into place and only then closes the previous one, so the file at the path is always
locked while the daemon lives. The lock goes with the last descriptor: the files are opened close-on-exec,
so no program started for a caller (login, pppd) inherits it and keeps a dead daemon looking alive. A reader
(:func:`read_port`) asks for a shared lock without waiting: refused means alive. The file stays behind when
the daemon ends, with its last words (``stopped``, or ``failed`` and why), shown as what they are: history.

Values from the line (caller ID, name, CONNECT text, a login name) are hostile: each is cut to
:data:`MAX_TEXT` printable characters when written, and again when read, so a file that is not ours (or is
damaged) cannot put control characters on a terminal either.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import json
import math
import os
import stat
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Final

from answerd.line.leftover import ProcessIdentity
from answerd.service.notify import Notifier

__all__ = [
    "MAX_STATE_BYTES",
    "MAX_TEXT",
    "STATE_SUFFIX",
    "PortView",
    "StateKeeper",
    "list_ports",
    "printable",
    "read_port",
    "state_path",
]

#: The file name ending of a state file.
STATE_SUFFIX: Final = ".state"
#: A state file is well under a kilobyte; a longer one is not ours and is not read past this.
MAX_STATE_BYTES: Final = 16 * 1024
#: The longest text kept for one value (a caller's name, a CONNECT line, a status line).
MAX_TEXT: Final = 120
#: The format of the file (``"version"``), raised when a field changes meaning.
STATE_VERSION: Final = 1

#: The machine's phases as the states a person reads (``answerd.core.Phase`` values on the left).
_STATES: Final = {
    "opening": "starting",
    "resetting": "initialising",
    "initializing": "initialising",
    "retry-wait": "initialising",
    "idle": "idle",
    "claiming": "idle",
    "probing": "idle",
    "ringing": "ringing",
    "preparing": "answering",
    "answering": "answering",
    "connected": "connected",
    "reopening": "hanging-up",
    "stopped": "stopping",
    "failed": "failing",
}


def printable(value: object, limit: int = MAX_TEXT) -> str | None:
    """``value`` as at most ``limit`` printable characters (others become ``?``), or ``None`` for ``None``."""
    if value is None:
        return None
    text = str(value)[: limit + 1]
    cleaned = text if text.isprintable() else "".join(ch if ch.isprintable() else "?" for ch in text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 3] + "..."


def state_path(directory: str, port: str) -> str:
    """The state file of ``port`` (a port name may hold ``/``, as for the reload verdicts)."""
    return os.path.join(directory, port.replace("/", "-") + STATE_SUFFIX)


def _connected_user_program(text: str) -> tuple[str | None, str | None]:
    """User and program from the call stage's status (``connected <CONNECT> user=<u> program=<p>``)."""
    if not text.startswith("connected ") or " program=" not in text or " user=" not in text:
        return None, None
    head, _, program = text.rpartition(" program=")
    user = head.rpartition(" user=")[2]
    return (None if user == "-" else user), program


class StateKeeper:
    """The daemon's end: a :class:`~answerd.service.notify.Notifier` that also keeps the state file.

    Every STATUS= text answerd sends (the core's, the call stage's, the line owner's, the reload's) passes
    through :meth:`status`, so the file says what ``systemctl status`` says; the structured facts come from
    :meth:`caller`, :meth:`connected`, :meth:`call_ended` and :meth:`stopped`. A file that cannot be written
    costs only ``answerd status`` (one warning), never the line.
    """

    def __init__(
        self,
        port: str,
        notifier: Notifier,
        *,
        directory: str,
        phase: Callable[[], str],
        busy_file: Callable[[], str],
        log: Any,
        wall: Callable[[], float] = time.time,
    ) -> None:
        """Describe it; nothing is written until :meth:`start`.

        Args:
            phase: the answer machine's phase now (``Phase.value``).
            busy_file: the busy-out file of the port now (``/etc/nologin.<port>``; it follows reloads).
            wall: wall-clock time for the file (seconds since the epoch; a reader in another process shows it).
        """
        self.path = state_path(directory, port)
        self._port = port
        self._notifier = notifier
        self._phase = phase
        self._busy_file = busy_file
        self._log = log
        self._wall = wall
        self._fd: int | None = None
        self._broken = False
        self._closed = False
        self._flush_due = False  # a replacement is scheduled for the event loop's next iteration
        self._started_at = 0.0
        self._state = "starting"
        self._since = 0.0
        self._status = "starting"
        self._call: dict[str, Any] = {}
        self._counts: dict[str, int] = {}
        self._last: dict[str, Any] | None = None
        self._exit: dict[str, Any] | None = None
        self._program: ProcessIdentity | None = None

    # ------------------------------------------------------------------ Notifier (passed through)

    def ready(self) -> None:
        """READY=1 (passed on)."""
        self._notifier.ready()

    def stopping(self) -> None:
        """STOPPING=1 (passed on)."""
        self._notifier.stopping()

    def reloading(self) -> None:
        """RELOADING=1 (passed on)."""
        self._notifier.reloading()

    def watchdog(self) -> None:
        """WATCHDOG=1 (passed on)."""
        self._notifier.watchdog()

    @property
    def watchdog_interval_s(self) -> float | None:
        """The wrapped notifier's."""
        return self._notifier.watchdog_interval_s

    def status(self, text: str) -> None:
        """STATUS=: say what is true (an idle line that is busied out says so), and keep the file current."""
        self.say(text)

    def say(self, text: str) -> str:
        """:meth:`status`, returning the text it sent (for the log: the journal says the same)."""
        state = _STATES.get(self._phase(), "starting")
        if state == "idle" and os.path.exists(busy := self._busy_file()):
            state, text = "busied-out", f"busied out ({busy} exists), not answering"
        if state in {"idle", "busied-out", "initialising", "starting"}:
            self._call = {}  # between calls: the last call's caller and CONNECT are history, in "last"
        elif state == "connected":
            user, program = _connected_user_program(text)
            if program is not None:
                self._call.update(user=printable(user), program=printable(program))
        self._notifier.status(text)
        self._set(state, text)
        return text

    # ------------------------------------------------------------------ the facts

    def left_behind(self) -> ProcessIdentity | None:
        """The call's program a dead daemon's file names: still on the line if it runs (before :meth:`start`).

        ``None`` when the file is locked: its daemon is alive (a second answerd on the port touches nothing).
        """
        view = read_port(os.path.dirname(self.path), self._port)
        return None if view.alive else ProcessIdentity.from_json(view.data.get("program_process"))

    def start(self) -> None:
        """The daemon starts: the first file, locked for the life of this process."""
        self._started_at = self._since = self._wall()
        self._write()

    def caller(self, number: str | None, name: str | None) -> None:
        """A call rings and its caller ID is known."""
        self._call = {"caller": printable(number), "caller_name": printable(name)}
        self._write()

    def connected(self, connect: str, rate: int | None, carrier: Iterable[tuple[str, str]]) -> None:
        """CONNECT: the rate the modem reported and, when it said, the line's own (``CARRIER``) rate."""
        line_rate = next((value for key, value in carrier if key.upper() == "CARRIER"), None)
        self._call.update(connect=printable(connect), connect_rate=rate, line_rate=printable(line_rate, 20))
        self._write()

    def program(self, identity: ProcessIdentity | None) -> None:
        """The call's program started (``None``: it ended): the file names it, for a restart after a crash."""
        self._program = identity
        self._write()

    def call_ended(self, outcome: str, caller: str | None, detail: str | None) -> None:
        """One call's record: counted by outcome, and kept as the last one."""
        outcome = printable(outcome, 40) or "?"
        self._counts[outcome] = self._counts.get(outcome, 0) + 1
        self._last = {"outcome": outcome, "at": self._wall(), "caller": printable(caller),
                      "detail": printable(detail)}  # fmt: skip
        self._write()

    def stopped(self, exit_code: int, why: str | None) -> None:
        """The daemon's last words: ``stopped``, or ``failed`` with why; the lock goes with the process.

        The same words go to STATUS=, which systemd keeps showing for a failed unit: "failed (exit 69): the
        modem did not initialise ...", not the "stopping" of the way out.
        """
        state = "stopped" if exit_code == 0 else "failed"
        text = "stopped" if exit_code == 0 else f"failed (exit {exit_code}): {why or 'see the journal'}"
        self._exit = {"code": exit_code, "reason": printable(why)}
        self._call, self._program = {}, None
        self._notifier.status(text)
        self._set(state, text)
        self._flush()  # now, not on a loop iteration that may never come
        self.close()

    def close(self) -> None:
        """Let go of the lock (the file stays: ``answerd status`` shows it as gone)."""
        self._closed = True
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # ------------------------------------------------------------------ the file

    def _set(self, state: str, text: str) -> None:
        text = printable(text) or ""
        if (state, text) == (self._state, self._status):
            return
        if state != self._state:
            self._since = self._wall()
        self._state, self._status = state, text
        self._write()

    def snapshot(self) -> dict[str, Any]:
        """What the file holds (also for tests)."""
        return {
            "version": STATE_VERSION, "port": printable(self._port), "pid": os.getpid(),
            "started_at": self._started_at, "state": self._state, "since": self._since, "status": self._status,
            "caller": self._call.get("caller"), "caller_name": self._call.get("caller_name"),
            "connect": self._call.get("connect"), "connect_rate": self._call.get("connect_rate"),
            "line_rate": self._call.get("line_rate"), "user": self._call.get("user"),
            "program": self._call.get("program"), "calls": dict(self._counts), "last_call": self._last,
            "exit": self._exit, "busy_file": self._busy_file(),
            "program_process": None if self._program is None else self._program.to_json(),
        }  # fmt: skip

    def _write(self) -> None:
        """The file is out of date: replace it now, or (in the event loop) once at the loop's next iteration.

        One call changes the state several times within one iteration (``call.ended`` with "hanging up";
        CONNECT with its caller and rate): the soak (``python -m bench.soak``) made 13 replacements per
        answered call, 5 of them of a file no reader could have seen. A replacement costs a new inode and
        freeing the old one: 0.04 ms of CPU on tmpfs (/run on a systemd host), 0.2 ms and 1.4 ms of blocking
        on ext4. The file still changes before the loop waits for anything (the next iteration polls with a
        zero timeout); only states that lasted less than one iteration are never written.
        """
        if self._broken or self._started_at == 0.0 or self._flush_due:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no event loop (a one-shot use, a test): now
            self._flush()
            return
        self._flush_due = True
        loop.call_soon(self._flush)

    def _flush(self) -> None:
        """Replace the file: a new one, locked, then renamed over the old; the old one's lock goes last."""
        self._flush_due = False
        if self._broken or self._closed or self._started_at == 0.0:
            return
        body = json.dumps(self.snapshot(), ensure_ascii=True).encode()
        tmp = os.path.join(os.path.dirname(self.path), f".{os.path.basename(self.path)}.{os.getpid()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = -1
        try:
            try:
                fd = os.open(tmp, flags, 0o644)
            except FileNotFoundError:  # the first write, or the directory was removed: make it (once per loss)
                os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
                fd = os.open(tmp, flags, 0o644)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new inode: nobody else can hold it
            os.write(fd, body)
            os.replace(tmp, self.path)
        except OSError as exc:
            if fd >= 0:
                os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            self._broken = True  # one warning, then the line goes on without a state file
            self._log.warning("port.state_unwritable", path=self.path, error=exc.strerror or str(exc))
            return
        old, self._fd = self._fd, fd
        if old is not None:
            os.close(old)


# ---------------------------------------------------------------------- the reader's end


@dataclass(frozen=True, slots=True)
class PortView:
    """One port as ``answerd status`` sees it: its last file, and whether its daemon still holds it."""

    port: str
    #: The daemon holds the file's lock: the state is current.
    alive: bool
    #: The file's values, cleaned (empty when there is no readable file).
    data: dict[str, Any] = field(default_factory=dict)
    #: Why there is nothing to show (no file, unreadable, not a state file), or ``None``.
    problem: str | None = None

    @property
    def state(self) -> str:
        """The state to show: the daemon's own while it runs, else ``gone`` (or why it cannot be known)."""
        if self.problem is not None:
            return "unknown"
        return str(self.data.get("state")) if self.alive else "gone"


_TEXT_FIELDS: Final = (
    "port", "state", "status", "caller", "caller_name", "connect", "line_rate", "user", "program", "busy_file"
)  # fmt: skip
_NUMBER_FIELDS: Final = ("pid", "started_at", "since", "connect_rate")


def _number(value: object) -> float | int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or abs(value) > 1e15:
        return None
    return value


def _clean(raw: object) -> dict[str, Any]:
    """Only the fields answerd writes, each of its type and cut to printable text: the file is input too."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    data: dict[str, Any] = {name: printable(raw.get(name)) if isinstance(raw.get(name), str) else None
                            for name in _TEXT_FIELDS}  # fmt: skip
    data.update({name: _number(raw.get(name)) for name in _NUMBER_FIELDS})
    calls = raw.get("calls")
    data["calls"] = {
        printable(k, 40): int(v) for k, v in (calls.items() if isinstance(calls, dict) else ())
        if isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 1 << 53
    }  # fmt: skip
    last = raw.get("last_call")
    data["last_call"] = None if not isinstance(last, dict) else {
        "outcome": printable(last.get("outcome"), 40), "at": _number(last.get("at")),
        "caller": printable(last.get("caller")) if isinstance(last.get("caller"), str) else None,
        "detail": printable(last.get("detail")) if isinstance(last.get("detail"), str) else None,
    }  # fmt: skip
    program = ProcessIdentity.from_json(raw.get("program_process"))
    data["program_process"] = None if program is None else program.to_json()
    end = raw.get("exit")
    data["exit"] = None if not isinstance(end, dict) else {
        "code": _number(end.get("code")),
        "reason": printable(end.get("reason")) if isinstance(end.get("reason"), str) else None,
    }  # fmt: skip
    return data


def _open_locked_test(path: str) -> tuple[int, bool]:
    """Open the file at ``path`` and tell whether its daemon holds it: (fd, alive). Retried if replaced."""
    for _ in range(10):
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EINVAL, "not a regular file")
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                return fd, True
            # Unlocked: gone, unless the daemon replaced the file between our open and our lock (it closes the
            # old one, and with it that one's lock, right after the rename). Then look again.
            try:
                now = os.stat(path, follow_symlinks=False)
            except FileNotFoundError:
                return fd, False
            if (now.st_dev, now.st_ino) == (info.st_dev, info.st_ino):
                return fd, False
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    raise OSError(errno.EAGAIN, "the file keeps being replaced")


def read_port(directory: str, port: str) -> PortView:
    """The state of ``port``: its file's values, cleaned, and whether its daemon is alive."""
    path = state_path(directory, port)
    try:
        fd, alive = _open_locked_test(path)
    except FileNotFoundError:
        return PortView(port, alive=False, problem=f"no state file {path}: no answerd has run on it since boot")
    except OSError as exc:
        return PortView(port, alive=False, problem=f"cannot read {path}: {exc.strerror or exc}")
    try:
        with open(fd, "rb") as file:
            body = file.read(MAX_STATE_BYTES + 1)
        if len(body) > MAX_STATE_BYTES:
            raise ValueError("too long")
        data = _clean(json.loads(body))
    except (OSError, ValueError, RecursionError) as exc:
        return PortView(port, alive=alive, problem=f"{path} is not an answerd state file ({exc})")
    if alive:
        _busy_now(data)
    return PortView(port, alive=alive, data=data)


def _busy_now(data: dict[str, Any]) -> None:
    """An idle line's busy-out as it is now: the daemon only looks at the file when its own state changes."""
    busy_file = data.get("busy_file")
    if data.get("state") not in {"idle", "busied-out"} or not busy_file:
        return
    if os.path.exists(busy_file):
        data.update(state="busied-out", status=f"busied out ({busy_file} exists), not answering")
    elif data["state"] == "busied-out":
        data.update(state="idle", status="waiting for RING")


def list_ports(directory: str) -> Iterator[str]:
    """The ports with a state file in ``directory`` (sorted; none if there is no directory)."""
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return
    for name in names:
        if name.endswith(STATE_SUFFIX) and not name.startswith("."):
            yield name.removesuffix(STATE_SUFFIX)
