"""Reload: one contract for ``systemctl reload``, and both of its ends.

``ExecReload=`` runs ``answerd reload --port %I --pid $MAINPID`` (:func:`request_reload`): it sends the
daemon SIGHUP and waits, bounded, for the daemon's verdict on the file, and exits 0 (accepted) or 6
(rejected, with every problem on stderr) so that ``systemctl reload`` fails visibly for a bad file.

The daemon's end (:class:`ConfigReloader`) checks the file in-process with :func:`answerd.config.load_config`,
the very check ``run`` and ``check-config`` use. A rejected file changes nothing (``config.reload_failed``
with its errors is logged, the status says so); an accepted one is applied by the daemon between calls,
never during one. Everything this path needs is imported with this module, before READY=1: a reload after
an upgrade (new files on disk, old process) loads nothing from disk but the configuration file.

The verdict travels as a small JSON file, ``<runtime dir>/<port>.reload`` (``$RUNTIME_DIRECTORY``, else
``/run/answerd``), replaced atomically: ``{"pid": 1234, "generation": 3, "accepted": false, "errors": [...]}``.
The daemon writes generation 0 when it starts and one more for every SIGHUP; the asker reads the generation,
signals, and waits for a higher one from the same pid.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
from dataclasses import dataclass
from typing import Any, Final

from answerd.config import ConfigError, PortSettings, load_config
from answerd.service.notify import Notifier

__all__ = [
    "DEFAULT_RUNTIME_DIR",
    "REPLY_TIMEOUT_S",
    "ConfigReloader",
    "ReloadError",
    "Verdict",
    "request_reload",
    "runtime_dir",
    "verdict_path",
]

#: Where the verdict files live when systemd gives no ``RUNTIME_DIRECTORY``.
DEFAULT_RUNTIME_DIR: Final = "/run/answerd"
#: How long ``answerd reload`` waits for the daemon's verdict (a check takes milliseconds).
REPLY_TIMEOUT_S: Final = 30.0
#: A verdict file is a few hundred bytes; a longer one is not ours.
_MAX_VERDICT_BYTES: Final = 1 << 16


def runtime_dir() -> str:
    """``$RUNTIME_DIRECTORY`` (systemd's, its first entry) or :data:`DEFAULT_RUNTIME_DIR`."""
    given = os.environ.get("RUNTIME_DIRECTORY", "").split(":")[0]
    return given or DEFAULT_RUNTIME_DIR


def verdict_path(directory: str, port: str) -> str:
    """The verdict file of ``port`` (a port name may hold ``/``: ``--port serial/by-id/x``)."""
    return os.path.join(directory, port.replace("/", "-") + ".reload")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The daemon's answer to its last reload (generation 0: none yet, the daemon has just started)."""

    pid: int
    generation: int
    accepted: bool
    errors: tuple[str, ...] = ()


class ReloadError(Exception):
    """No verdict: no daemon, a daemon that died, or one that did not answer in time."""


class ConfigReloader:
    """The daemon's end: check the file on SIGHUP, log and publish the verdict."""

    def __init__(self, port: str, config_path: str, *, directory: str, notifier: Notifier, log: Any) -> None:
        """Describe it; nothing is written until :meth:`publish_start`."""
        self.port = port
        self.config_path = config_path
        self.path = verdict_path(directory, port)
        self._notifier = notifier
        self._log = log
        self._generation = 0
        self._pending: PortSettings | None = None

    @property
    def pending(self) -> bool:
        """Whether accepted settings wait to be applied (between calls)."""
        return self._pending is not None

    def request(self, running: PortSettings, *, idle: bool) -> bool:
        """SIGHUP: check the file; ``True`` if it brought a change, which waits for :meth:`take`.

        An unchanged file is done at once (RELOADING=1, READY=1). A change made while a call is up is only
        announced: RELOADING=1 is sent when it is applied, so the unit does not sit in "reloading" for the
        length of a call.
        """
        new = self.check()
        if new is None:
            return False
        if new == running:
            self._pending = None
            self._log.info("config.reloaded", changed=False)
            self._notifier.reloading()
            self._notifier.ready()
            return False
        self._pending = new
        self._log.info("config.reload_pending", idle=idle)
        if not idle:
            self._notifier.status("configuration reload pending until the line is idle")
        return True

    def take(self) -> PortSettings | None:
        """The accepted settings to apply now (the line is between calls), or ``None``; READY=1 must follow."""
        new, self._pending = self._pending, None
        if new is not None:
            self._notifier.reloading()
            self._log.info("config.reloaded", changed=True)
        return new

    def publish_start(self) -> None:
        """Say that this process takes reloads (generation 0). A failure costs only ``answerd reload``."""
        self._publish(Verdict(pid=os.getpid(), generation=0, accepted=True))

    def check(self) -> PortSettings | None:
        """Read and check the file now: this port's new settings, or ``None`` (logged) if it is rejected."""
        self._generation += 1
        errors: list[str] = []
        settings = None
        try:
            settings = load_config(self.config_path).port(self.port)
        except ConfigError as exc:
            errors = list(exc.errors) or ["invalid"]
            self._log.error("config.reload_failed", source=exc.source, errors="; ".join(errors))
        except Exception as exc:  # a bug must not take a line in use down: keep what works, report it
            errors = [f"internal error: {exc!r}"]
            self._log.error("config.reload_failed", source=self.config_path, errors=errors[0], exc_info=exc)
        if errors:
            self._notifier.status(f"reload failed, keeping the old configuration: {errors[0]}")
        self._publish(Verdict(pid=os.getpid(), generation=self._generation, accepted=not errors, errors=tuple(errors)))
        return settings

    def withdraw(self) -> None:
        """The daemon is stopping: no more verdicts (``answerd reload`` then says nobody runs)."""
        with contextlib.suppress(OSError):
            os.unlink(self.path)

    def _publish(self, verdict: Verdict) -> None:
        body = json.dumps(
            {"pid": verdict.pid, "generation": verdict.generation, "accepted": verdict.accepted,
             "errors": list(verdict.errors)}
        ).encode()  # fmt: skip
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o755, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
            try:
                os.write(fd, body)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)  # atomic: the asker never reads half a verdict
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            self._log.warning("reload.verdict_unpublished", path=self.path, error=exc.strerror or str(exc))


def read_verdict(path: str) -> Verdict | None:
    """The verdict in ``path``, or ``None`` if there is none (or it is not one)."""
    try:
        with open(path, "rb") as file:
            data = json.loads(file.read(_MAX_VERDICT_BYTES))
        errors = tuple(str(line) for line in data.get("errors", ()))
        return Verdict(pid=int(data["pid"]), generation=int(data["generation"]), accepted=bool(data["accepted"]),
                       errors=errors)  # fmt: skip
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def request_reload(port: str, *, pid: int | None, directory: str, timeout_s: float = REPLY_TIMEOUT_S) -> Verdict:
    """The asker's end: SIGHUP the daemon of ``port`` and return its verdict on the file.

    Args:
        pid: the daemon (``$MAINPID``); by default the pid in the verdict file.

    Raises:
        ReloadError: no daemon takes reloads for ``port``, it died, or it gave no verdict in ``timeout_s``.
    """
    path = verdict_path(directory, port)
    before = read_verdict(path)
    if before is None:
        raise ReloadError(f"no answerd for port {port} takes reloads (no verdict file {path})")
    target = pid if pid is not None else before.pid
    if before.pid != target or not _alive(target):
        raise ReloadError(f"answerd pid {target} for port {port} is not running or not ready for reloads")
    os.kill(target, signal.SIGHUP)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        now = read_verdict(path)
        if now is not None and now.pid == target and now.generation > before.generation:
            return now
        if not _alive(target):
            raise ReloadError(f"answerd pid {target} exited before it answered the reload")
        time.sleep(0.02)  # a short-lived command waiting milliseconds; the daemon is not polled
    raise ReloadError(f"answerd pid {target} gave no verdict within {timeout_s:g} s")
