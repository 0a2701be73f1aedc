"""Files that answerd reads or runs on a user's behalf: the checks that keep a bad path from hurting.

A path in a configuration may name anything: ``/dev/zero`` (endless), a FIFO (blocks until a writer comes),
a directory, a gigabyte log file. :func:`read_user_file` opens without blocking or acquiring a controlling
terminal, looks at what it opened (``fstat`` on the descriptor: a ``stat`` before the ``open`` could see
another file than the one opened), and reads only a regular file of bounded size. :func:`program_problem`
is the one check of a program that answerd will execute (login, dispatch rules, direct, decision).

Trust (:func:`trust_problem`): answerd runs as root, so a file it reads as configuration or shows to callers,
and a program it runs, must be as safe from other users as answerd itself. It is refused unless it is owned
by root (or by the account answerd runs as, the same thing in production; or, for a dispatch rule's program,
by the rule's own user) and neither it nor any directory above it, up to ``/``, is writable by group or
others, the rule OpenSSH applies to ``authorized_keys`` and ``AuthorizedKeysCommand``. One exception, stated
as such: a directory with the sticky bit owned by a trusted account (``/tmp``, mode 1777) counts as not
writable, because in it the kernel lets only an entry's owner (or root) rename or remove that entry, so what
a trusted account put there cannot be replaced by anyone else; the entry itself is still checked, so a file
or directory another user created in ``/tmp`` is refused by its owner.

Symlinks: for a file, what was opened is checked (``fstat`` of the descriptor, its directories from the
descriptor's own path in ``/proc/self/fd``); for a program, every directory of the path as written and of the
resolved path. A directory on the written path that may be replaced (a link in it re-pointed) is refused like
one on the resolved path.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import stat
from collections.abc import Callable, Collection

from answerd.config.errors import ConfigError

__all__ = [
    "MAX_USER_FILE",
    "UnreadableFile",
    "program_problem",
    "read_regular_file",
    "read_user_file",
    "trust_problem",
    "trusted_owners",
]

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


def read_regular_file(
    path: str, *, limit: int = MAX_USER_FILE, on_open: Callable[[int], None] | None = None
) -> tuple[bytes, os.stat_result]:
    """The bytes of the regular file ``path`` (at most ``limit``) and the ``fstat`` of what was opened.

    The one reader for every file answerd reads on a user's behalf (its configuration, an issue file, an
    imported mgetty setup): it never blocks on a FIFO, never reads a device, and never reads without end.
    ``on_open`` is given the open descriptor before anything is read (to learn what was opened).

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
        if on_open is not None:
            on_open(fd)
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


def trusted_owners(user: str | None = None) -> frozenset[int]:
    """The uids that may own what answerd trusts: root, the account answerd runs as, and ``user`` if it exists.

    The account answerd runs as can change its own files anyway (only tests and ``check-config`` by hand
    run it as another account than root); an unknown ``user`` adds nothing (the rule's own check says why).
    """
    owners = {0, os.geteuid()}
    if user is not None:
        with contextlib.suppress(KeyError):
            owners.add(pwd.getpwnam(user).pw_uid)
    return frozenset(owners)


def _mode_text(mode: int) -> str:
    return f"mode {stat.S_IMODE(mode):04o}"


def _writable_by_others(info: os.stat_result, owners: Collection[int], *, directory: bool) -> bool:
    """Group or other write permission, except on a sticky directory a trusted account owns (see above)."""
    if not info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return False
    return not (directory and info.st_mode & stat.S_ISVTX and info.st_uid in owners)


def _directories(path: str) -> list[str]:
    """Every directory above the absolute ``path``, nearest first, ``/`` last."""
    found = []
    parent = os.path.dirname(os.path.normpath(path))
    while True:
        found.append(parent)
        if parent == "/":
            return found
        parent = os.path.dirname(parent)


def trust_problem(
    path: str, info: os.stat_result, owners: Collection[int], *, resolved: str | None = None
) -> str | None:
    """Why answerd must not trust the file ``path`` whose status is ``info``, or None if it may.

    Checks the file's owner and mode, then every directory above ``path`` and above ``resolved`` (the real
    path of what was opened or will be executed, when it differs). The text is one line ending in "refused".
    """
    if info.st_uid not in owners:
        return f"{path} is owned by uid {info.st_uid}, not by root or the user it runs as: refused"
    if _writable_by_others(info, owners, directory=False):
        return f"{path} is writable by group or others ({_mode_text(info.st_mode)}): refused"
    directories = _directories(path)
    if resolved is not None and resolved != os.path.normpath(path):
        directories += [d for d in _directories(resolved) if d not in directories]
    for directory in directories:
        try:
            dir_info = os.stat(directory)
        except OSError as exc:
            return f"{path}: its directory {directory} cannot be checked ({exc.strerror or exc}): refused"
        if dir_info.st_uid not in owners:
            return f"{path}: its directory {directory} is owned by uid {dir_info.st_uid}: refused"
        if _writable_by_others(dir_info, owners, directory=True):
            return (
                f"{path}: its directory {directory} is writable by group or others "
                f"({_mode_text(dir_info.st_mode)}): refused"
            )
    return None


def read_user_file(path: str, *, limit: int = MAX_USER_FILE) -> bytes:
    """:func:`read_regular_file` for answerd's own files (its configuration, an issue file), trusted only as
    :func:`trust_problem` allows: its problems as a :class:`ConfigError`.

    Raises:
        ConfigError: one line saying why the file cannot be read or is not to be trusted.
    """
    try:
        data, info, resolved = _read_with_real_path(path, limit)
    except UnreadableFile as exc:
        raise ConfigError(path, [exc.reason]) from None
    absolute = os.path.abspath(path)
    problem = trust_problem(absolute, info, trusted_owners(), resolved=resolved)
    if problem is not None:  # the error names the path already: "PATH: is writable by ... : refused"
        raise ConfigError(path, [problem.removeprefix(absolute).lstrip(": ")])
    return data


def _read_with_real_path(path: str, limit: int) -> tuple[bytes, os.stat_result, str]:
    """:func:`read_regular_file`, plus the real path of what was opened (from its descriptor, not a lookup)."""
    real: list[str] = []

    def note(fd: int) -> None:
        real.append(os.readlink(f"/proc/self/fd/{fd}"))

    data, info = read_regular_file(path, limit=limit, on_open=note)
    return data, info, real[0]


def program_problem(path: str, *, user: str | None = None) -> str | None:
    """Why answerd must not execute the absolute path ``path``, or None if it may.

    "May" means a regular file with an execute bit that :func:`trust_problem` trusts: owned by root (or by
    ``user``, the account a dispatch rule runs it as), neither it nor a directory above it writable by group
    or others. Who runs it is otherwise the kernel's business at exec time, so this check does not depend on
    who runs ``check-config``. The resolved path's directories are checked as well as the written path's.
    """
    try:
        info = os.stat(path)
        resolved = os.path.realpath(path)
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
    return trust_problem(path, info, trusted_owners(user), resolved=resolved)
