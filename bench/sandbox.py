"""A private mount namespace for the whole benchmark, so it leaves no trace on the machine.

The benchmark process moves itself into a private mount namespace (``unshare(CLONE_NEWNS)`` and ``mount
--make-rprivate /``: what ``unshare -m --propagation private`` does) before it starts any thread, then mounts
its own directories and files over the places both daemons write to. Every child (answerd, mgetty, the
stand-in programs) inherits the namespace. Inside it:

* ``/etc/mgetty`` is a directory of the benchmark (mgetty's configuration directory is compiled in);
* ``/var/log/mgetty`` is one too (mgetty's log);
* ``/run`` is a fresh tmpfs with ``/run/lock`` (UUCP locks of both daemons; ``/var/lock`` links there) and
  an empty ``/run/utmp``: this container has no utmp file, a real system has one, and both daemons write
  login records to it;
* ``/var/log/wtmp`` is an empty file of the benchmark (both daemons append to wtmp).
"""

from __future__ import annotations

import ctypes
import grp
import os
import subprocess
from pathlib import Path

__all__ = ["enter_private_namespace"]

_CLONE_NEWNS = 0x00020000


def _mount(*argv: str) -> None:
    subprocess.run(["mount", *argv], check=True)


def _utmp_file(path: Path) -> None:
    path.touch()
    try:
        gid = grp.getgrnam("utmp").gr_gid
    except KeyError:
        gid = 0
    os.chown(path, 0, gid)
    path.chmod(0o664)


def enter_private_namespace(workdir: Path) -> dict[str, Path]:
    """Enter a private mount namespace and mount the benchmark's own files (see the module text).

    Must run while the process has a single thread (``unshare(CLONE_NEWNS)`` refuses otherwise). Returns the
    directories that now stand in for ``/etc/mgetty`` and ``/var/log/mgetty``.
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(_CLONE_NEWNS) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"unshare(CLONE_NEWNS): {os.strerror(err)}")
    _mount("--make-rprivate", "/")
    places = {"etc_mgetty": workdir / "etc-mgetty", "log_mgetty": workdir / "log-mgetty"}
    for path in places.values():
        path.mkdir(exist_ok=True)
    Path("/etc/mgetty").mkdir(exist_ok=True)
    _mount("--bind", str(places["etc_mgetty"]), "/etc/mgetty")
    Path("/var/log/mgetty").mkdir(parents=True, exist_ok=True)
    _mount("--bind", str(places["log_mgetty"]), "/var/log/mgetty")
    _mount("-t", "tmpfs", "-o", "mode=0755", "tmpfs", "/run")
    Path("/run/lock").mkdir()
    Path("/run/lock").chmod(0o1777)
    _utmp_file(Path("/run/utmp"))
    wtmp = workdir / "wtmp"
    _utmp_file(wtmp)
    if Path("/var/log/wtmp").exists():
        _mount("--bind", str(wtmp), "/var/log/wtmp")
    return places
