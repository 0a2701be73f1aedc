"""Reading an mgetty file safely: bounded size, regular files only, never blocking on a FIFO.

The reading itself is answerd's one reader for files read on a user's behalf
(:func:`answerd.config.files.read_regular_file`); this module adds what the importer needs beside the bytes:
the owner and mode of what was read, because mgetty ignores a ``login.config`` that is not root-owned with
no group or other permissions.
"""

from __future__ import annotations

import stat
from dataclasses import dataclass
from typing import Final

from answerd.config.files import MAX_USER_FILE, UnreadableFile, read_regular_file
from answerd.mgetty.errors import MgettyImportError

__all__ = ["MAX_FILE_SIZE", "FileContents", "read_file"]

#: No mgetty file is anywhere near this; a bigger one is a mistake (a log file, /dev/zero, a disk image).
MAX_FILE_SIZE: Final = MAX_USER_FILE


@dataclass(frozen=True, slots=True)
class FileContents:
    """What was read, and from what: the bytes plus the owner and permission bits of the open file."""

    path: str
    data: bytes
    uid: int
    mode: int


def read_file(path: str, *, limit: int = MAX_FILE_SIZE) -> FileContents | None:
    """Read the regular file ``path``: at most ``limit`` bytes, or ``None`` if it does not exist.

    Raises:
        MgettyImportError: the path is not a regular file, cannot be read, or is larger than ``limit``.
    """
    try:
        data, info = read_regular_file(path, limit=limit)
    except UnreadableFile as exc:
        if exc.missing:
            return None
        raise MgettyImportError(path, exc.reason) from None
    return FileContents(path, data, info.st_uid, stat.S_IMODE(info.st_mode))
