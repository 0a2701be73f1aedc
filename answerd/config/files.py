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

__all__ = ["MAX_USER_FILE", "program_problem", "read_user_file"]

#: Larger than any sensible configuration or issue file; a bigger file is a mistake (or /var/log/...).
MAX_USER_FILE = 1 << 20

_KINDS = {
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFIFO: "a FIFO",
    stat.S_IFSOCK: "a socket",
}


def _size_text(size: int) -> str:
    return f"{size >> 20} MiB" if size % (1 << 20) == 0 else f"{size} bytes"


def read_user_file(path: str, *, limit: int = MAX_USER_FILE) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them.

    Raises:
        ConfigError: one line saying why the file cannot be read (missing, not permitted, a directory, a
            device or FIFO, over ``limit``); never blocks on a FIFO or reads a device.
    """
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except FileNotFoundError:
        raise ConfigError(path, ["no such file"]) from None
    except PermissionError:
        raise ConfigError(path, ["permission denied"]) from None
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        raise ConfigError(path, [getattr(exc, "strerror", None) or str(exc)]) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise ConfigError(path, ["is a directory, not a regular file"])
        if not stat.S_ISREG(info.st_mode):
            kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a plain file")
            raise ConfigError(path, [f"not a regular file ({kind}): refused"])
        too_big = ConfigError(path, [f"larger than the {_size_text(limit)} limit: refused"])
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
        return b"".join(chunks)
    except OSError as exc:
        raise ConfigError(path, [exc.strerror or str(exc)]) from None
    finally:
        os.close(fd)


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
