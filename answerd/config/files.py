"""Files that answerd reads or runs on a user's behalf: the checks that keep a bad path from hurting.

A path in a configuration may name anything: ``/dev/zero`` (endless), a FIFO (blocks until a writer comes),
a directory, a gigabyte log file. :func:`read_user_file` opens without blocking or acquiring a controlling
terminal, looks at what it opened (``fstat`` on the descriptor: a ``stat`` before the ``open`` could see
another file than the one opened), and reads only a regular file of bounded size. :func:`program_problem`
is the one check of a program that answerd will execute (login, dispatch rules, direct, decision).
"""

from __future__ import annotations

import os
import stat

from answerd.config.errors import ConfigError

__all__ = ["MAX_USER_FILE", "UnreadableFile", "program_problem", "read_regular_file", "read_user_file"]

#: Larger than any sensible configuration or issue file; a bigger file is a mistake (or /var/log/...).
MAX_USER_FILE = 1 << 20

_KINDS = {
    stat.S_IFDIR: "a directory",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


class UnreadableFile(Exception):
    """A user's file that cannot be read: ``reason`` is one line; ``missing``: it does not exist."""

    def __init__(self, path: str, reason: str, *, missing: bool = False) -> None:
        self.path = path
        self.reason = reason
        self.missing = missing
        super().__init__(f"{path}: {reason}")


def _size_text(size: int) -> str:
    return f"{size >> 20} MiB" if size % (1 << 20) == 0 else f"{size} bytes"


def read_regular_file(path: str, *, limit: int = MAX_USER_FILE) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file ``path`` (at most ``limit``) and the ``fstat`` of what was opened.

    The one reader for every file answerd reads on a user's behalf (its configuration, an issue file, an
    imported mgetty setup): it never blocks on a FIFO, never reads a device, and never reads without end.

    Raises:
        UnreadableFile: missing, not permitted, a directory, a device or FIFO, or over ``limit``.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise UnreadableFile(path, "no such file", missing=True) from None
    except PermissionError:
        raise UnreadableFile(path, "permission denied") from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise UnreadableFile(path, getattr(exc, "strerror", None) or str(exc)) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a plain file")
            raise UnreadableFile(path, f"is {kind}, not a regular file: refused")
        too_big = UnreadableFile(path, f"larger than the {_size_text(limit)} limit: refused")
        if info.st_size > limit:
            raise too_big
        chunks = []
        size = 0
        # The file may grow after the fstat: read one byte past the limit at most.
        while size <= limit and (chunk := os.read(fd, limit + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:
            raise too_big
        return b"".join(chunks), info
    except OSError as exc:
        raise UnreadableFile(path, exc.strerror or str(exc)) from None
    finally:
        os.close(fd)


def read_user_file(path: str, *, limit: int = MAX_USER_FILE) -> bytes:
    """:func:`read_regular_file` for answerd's own files: its problems as a :class:`ConfigError`.

    Raises:
        ConfigError: one line saying why the file cannot be read.
    """
    try:
        return read_regular_file(path, limit=limit)[0]
    except UnreadableFile as exc:
        raise ConfigError(path, [exc.reason]) from None


def program_problem(path: str) -> str | None:
    """Why the absolute path ``path`` cannot be executed, or None if it can.

    "Can" means a regular file with an execute bit: who runs it (root, or a dispatch rule's user) is the
    kernel's business at exec time, so this check does not depend on who runs ``check-config``.
    """
    try:
        info = os.stat(path)
    except (FileNotFoundError, NotADirectoryError):
        return f"the program {path} does not exist"
    except PermissionError:
        return f"the program {path} cannot be checked: permission denied"
    except (OSError, ValueError) as exc:
        return f"the program {path} cannot be checked: {getattr(exc, 'strerror', None) or exc}"
    if stat.S_ISDIR(info.st_mode):
        return f"the program {path} is a directory"
    if not stat.S_ISREG(info.st_mode):
        return f"the program {path} is not a regular file"
    if not info.st_mode & 0o111:
        return f"the program {path} is not executable (no x permission)"
    return None
