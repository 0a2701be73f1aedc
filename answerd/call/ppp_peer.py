"""Who a PPP caller authenticated as: pppd's PAP/CHAP peer name, handed to answerd through a file.

answerd starts pppd on the line but never sees the authentication: pppd does it. pppd gives the name it
accepted to its ``ip-up`` scripts as ``PEERNAME`` (only once the peer has authenticated; never for
``noauth``). ``answerd-ppp-peer``, installed as ``/etc/ppp/ip-up.d/answerd`` (docs/install.md), writes that
name into ``<runtime dir>/<tty>.ppp-peer``; when pppd has exited, the call runner reads it (and removes it)
and the call record's ``user`` is the peer's name instead of ``/AutoPPP/``.

The file's content is hostile input twice over (a caller chose the name; the file is in a directory other
programs could write if it were misconfigured): it is read without following a symlink, at most
:data:`MAX_FILE_BYTES`, only printable ASCII is kept and at most :data:`MAX_PEER_CHARS` of it. The runner
removes any file left from an earlier call before pppd starts, so a name is never a stale one.

The hook never fails pppd: whatever goes wrong (no runtime directory because answerd is not running, no
``PEERNAME``, a device name that is not a plain tty name), it writes nothing and exits 0.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Mapping

__all__ = ["MAX_FILE_BYTES", "MAX_PEER_CHARS", "clear_peer", "hook_main", "peer_path", "read_peer", "write_peer"]

#: The most of the file that is read; a peer name is far shorter.
MAX_FILE_BYTES = 256
#: The most of a name kept: utmp's ut_user holds 32, Linux user names are at most 32.
MAX_PEER_CHARS = 64
#: Where answerd keeps its per-port files (answerd.service.reload's DEFAULT_RUNTIME_DIR: the hook runs from
#: pppd, with none of answerd's environment, so it uses the default).
DEFAULT_DIRECTORY = "/run/answerd"
_SUFFIX = ".ppp-peer"
_NAME_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


def _tty_name(device: str) -> str | None:
    """``ttyACM0`` for ``/dev/ttyACM0`` (or a symlink to it); ``None`` for anything that is not a tty name."""
    name = os.path.basename(os.path.realpath(device)) if device.startswith("/") else device
    if not name or len(name) > 64 or name.startswith(".") or not set(name) <= _NAME_CHARS:
        return None
    return name


def peer_path(directory: str, device: str) -> str | None:
    """The peer file of the tty ``device`` in ``directory``; ``None`` if ``device`` names no plain tty."""
    name = _tty_name(device)
    return None if name is None else os.path.join(directory, name + _SUFFIX)


def _printable(raw: bytes) -> str:
    return "".join(chr(b) for b in raw if 32 < b < 127)[:MAX_PEER_CHARS]


def clear_peer(directory: str, device: str) -> None:
    """Remove the peer file of ``device`` (before pppd starts: a name left from an earlier call is stale)."""
    path = peer_path(directory, device)
    if path is not None:
        with contextlib.suppress(OSError):
            os.unlink(path)


def read_peer(directory: str, device: str) -> str | None:
    """The peer name pppd's ip-up hook left for ``device``, and remove the file; ``None`` if there is none.

    Bounded and printable only (see the module docstring); a symlink or an unreadable file counts as none.
    """
    path = peer_path(directory, device)
    if path is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        raw = os.read(fd, MAX_FILE_BYTES)
    except OSError:
        raw = b""
    finally:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(path)
    return _printable(raw) or None


def write_peer(directory: str, device: str, peer: str) -> bool:
    """Write ``peer`` as ``device``'s peer name (atomically: a temporary file renamed); whether it was written.

    Nothing is written when the directory does not exist (answerd is not running here), the device is no
    plain tty name, or the name has nothing printable.
    """
    path = peer_path(directory, device)
    name = _printable(peer.encode("ascii", "replace"))
    if path is None or not name or not os.path.isdir(directory):
        return False
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        try:
            os.write(fd, name.encode("ascii") + b"\n")
        finally:
            os.close(fd)
        os.replace(temporary, path)
    except OSError:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        return False
    return True


def hook_main(environ: Mapping[str, str] | None = None, directory: str = DEFAULT_DIRECTORY) -> int:
    """``answerd-ppp-peer``: pppd's ip-up hook. Reads ``PEERNAME`` and ``DEVICE`` (or Debian's ``PPP_TTY``)
    from the environment pppd gives its scripts; always exits 0 (see the module docstring)."""
    env = os.environ if environ is None else environ
    peer = env.get("PEERNAME", "")
    device = env.get("DEVICE") or env.get("PPP_TTY", "")
    if peer and device:
        write_peer(directory, device, peer)
    return 0


if __name__ == "__main__":  # pragma: no cover - the console script is the way in
    sys.exit(hook_main())
