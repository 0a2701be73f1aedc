"""Running Debian's mgetty 1.2.1, unmodified, as the reference peer.

* ``/etc/mgetty`` is compiled into mgetty: the benchmark runs in a private mount namespace with its own
  directory over ``/etc/mgetty`` (:mod:`bench.sandbox`). Every child inherits the namespace, so mgetty is
  started the way init or systemd start it: a plain fork + exec of ``/usr/sbin/mgetty PORT``, no wrapper.
* mgetty prefixes ``/dev/`` to the port name, so the pty is published as a symlink under ``/dev``.
* ``login.config`` must be root-owned and mode 0600, or mgetty ignores it.
* mgetty execs the login program: after a call the process is gone. :class:`Respawner` restarts it at once
  (``Restart=always`` without ``RestartSec``), watching the process through a pidfd in the event loop, so the
  respawn happens in the same loop iteration that sees the exit.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
from pathlib import Path

from .modem import now_ns

__all__ = ["MGETTY", "Respawner", "mgetty_version", "write_mgetty_config"]

MGETTY = Path("/usr/sbin/mgetty")


def mgetty_version() -> str:
    """The installed package version (``dpkg-query``), or ``unknown``."""
    result = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "mgetty"], capture_output=True, text=True, check=False
    )
    return result.stdout.strip() or "unknown"


def write_mgetty_config(confdir: Path, settings: dict[str, str], login_program: list[str]) -> None:
    """Write ``mgetty.config`` (global section only) and a root-owned 0600 ``login.config``.

    ``settings`` maps keywords to their values as written in the file; ``login_program`` is the argv every
    login name (``*``) runs, as root (``-``), without a utmp entry of its own (``-``).
    """
    body = "".join(f"{key} {value}\n" for key, value in settings.items())
    (confdir / "mgetty.config").write_text("# written by the answerd benchmark\n" + body)
    login = confdir / "login.config"
    login.write_text("# written by the answerd benchmark\n* - - " + " ".join(login_program) + "\n")
    os.chown(login, 0, 0)
    login.chmod(0o600)
    (confdir / "dialin.config").write_text("all\n")


class Respawner:
    """Keep one ``mgetty PORT`` running: start it again the moment it exits.

    Attributes:
        starts: monotonic ns of every fork+exec (taken right before ``Popen``).
        exits: monotonic ns of every exit seen (the pidfd became readable), with the exit status.
    """

    def __init__(self, port: str, extra_args: list[str] | None = None) -> None:
        self.argv = [str(MGETTY), *(extra_args or []), port]
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts: list[int] = []
        self.exits: list[tuple[int, int]] = []
        self._pidfd: int | None = None
        self._loop = asyncio.get_running_loop()
        self._stopping = False

    @property
    def pid(self) -> int:
        """The current process id."""
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> None:
        """Fork + exec mgetty and watch its pidfd."""
        self.starts.append(now_ns())
        self.proc = subprocess.Popen(
            self.argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self._pidfd = os.pidfd_open(self.proc.pid)
        self._loop.add_reader(self._pidfd, self._on_exit)

    def _on_exit(self) -> None:
        t = now_ns()
        assert self.proc is not None
        assert self._pidfd is not None
        self._loop.remove_reader(self._pidfd)
        os.close(self._pidfd)
        self._pidfd = None
        status = self.proc.wait()
        self.exits.append((t, status))
        if not self._stopping:
            self.start()

    async def stop(self) -> None:
        """SIGTERM the current process and do not respawn."""
        self._stopping = True
        if self._pidfd is not None:
            self._loop.remove_reader(self._pidfd)
            os.close(self._pidfd)
            self._pidfd = None
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                await asyncio.wait_for(asyncio.to_thread(self.proc.wait), 10)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    self.proc.kill()
                self.proc.wait()
