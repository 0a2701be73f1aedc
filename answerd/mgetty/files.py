"""Reading an mgetty file safely: bounded size, regular files only, never blocking on a FIFO.

``answerd.config.files.read_user_file`` does the same for answerd's own files (on the config branch); this
small copy keeps ``answerd.mgetty`` independent of the configuration package until the two are unified.
The importer also needs the owner and mode of what it read: mgetty ignores a ``login.config`` that is not
root-owned with no group or other permissions.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Final

from answerd.mgetty.errors import MgettyImportError

__all__ = ["MAX_FILE_SIZE", "FileContents", "read_file"]

#: No mgetty file is anywhere near this; a bigger one is a mistake (a log file, /dev/zero, a disk image).
MAX_FILE_SIZE: Final = 1 << 20

_KINDS: Final = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


@dataclass(frozen=True, slots=True)
class FileContents:
    """What was read, and from what: the bytes plus the owner and permission bits of the open file."""

    path: str
    data: bytes
    uid: int
    mode: int


def read_file(path: str, *, limit: int = MAX_FILE_SIZE) -> FileContents | None:
    """Read the regular file ``path``: at most ``limit`` bytes, or ``None`` if it does not exist.

    The file is opened with ``O_NONBLOCK | O_NOCTTY`` (a FIFO or a tty must not block or become our
    terminal) and checked with ``fstat`` on the open descriptor (a ``stat`` before the ``open`` could look
    at another file than the one opened).

    Raises:
        MgettyImportError: the path is not a regular file, cannot be read, or is larger than ``limit``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise MgettyImportError(path, f"cannot open: {getattr(exc, 'strerror', None) or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
            raise MgettyImportError(path, f"is {kind}, not a regular file: refused")
        too_big = MgettyImportError(path, f"larger than the {limit} bytes an mgetty file may have: refused")
        if info.st_size > limit:
            raise too_big
        chunks: list[bytes] = []
        size = 0
        # The file may grow after the fstat: read at most one byte past the limit.
        while size <= limit and (chunk := os.read(fd, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise too_big
        return FileContents(path, b"".join(chunks), info.st_uid, stat.S_IMODE(info.st_mode))
    except OSError as exc:
        raise MgettyImportError(path, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
