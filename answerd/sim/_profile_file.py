"""Reading a modem profile from a file (``answerd sim --profile FILE``), safely.

The file is named by a user and may be anything: it is opened without blocking and without becoming a
controlling tty (a FIFO or a tty must not hang the sim), checked on the open descriptor (a ``stat`` before
the ``open`` could be raced), and must be a regular file of at most :data:`MAX_PROFILE_BYTES`. Every problem
is a :class:`~answerd.sim._profile.ProfileError` of one line that starts with the file's name.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from answerd.sim._profile import ModemProfile, ProfileError, parse_profile

__all__ = ["DEFAULT_PROFILE", "MAX_PROFILE_BYTES", "PROFILES", "find_profile", "load_profile", "profile_names"]

#: A profile is a few dozen lines; anything this big is the wrong file.
MAX_PROFILE_BYTES = 64 * 1024

#: The default modem, spelt out key by key (a test checks it equals ``ModemProfile()``).
DEFAULT_PROFILE = Path(__file__).parent / "profiles" / "default.toml"

#: The shipped profiles: the default modem and one personality per modem family.
PROFILES = DEFAULT_PROFILE.parent


def profile_names() -> list[str]:
    """The names of the shipped profiles (``default``, ``usr``, ``rockwell``, ...), sorted."""
    return sorted(path.stem for path in PROFILES.glob("*.toml"))


def find_profile(name_or_path: str, base: Path | None = None) -> Path:
    """The file of a shipped profile's name (``usr``), or ``name_or_path`` as a path (relative to ``base``).

    A word of letters, digits, ``_`` and ``-`` is a name; anything else (a ``/``, a ``.toml``) is a path.

    Raises:
        ProfileError: a name that no shipped profile has (the message lists them).
    """
    if name_or_path and all(c.isalnum() or c in "_-" for c in name_or_path):
        path = PROFILES / f"{name_or_path}.toml"
        if not path.is_file():
            raise ProfileError(f"no shipped profile {name_or_path!r} (known: {', '.join(profile_names())})")
        return path
    path = Path(name_or_path)
    return path if base is None or path.is_absolute() else base / path


def load_profile(path: str | os.PathLike[str]) -> ModemProfile:
    """Read, check and build the profile in ``path``.

    Raises:
        ProfileError: the file cannot be read, is not a regular file, is too big, is not UTF-8 TOML, or has
            an unknown key or a bad value; one line, ``<path>: <toml.path>: <problem>``.
    """
    try:
        return parse_profile(_read_text(path))
    except ProfileError as exc:
        raise ProfileError(f"{os.fspath(path)}: {exc}") from None


def _read_text(path: str | os.PathLike[str]) -> str:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
    except OSError as exc:
        raise ProfileError(f"cannot open: {exc.strerror or exc}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise ProfileError("not a regular file")
        if info.st_size > MAX_PROFILE_BYTES:
            raise ProfileError(f"too big ({info.st_size} bytes; a profile is at most {MAX_PROFILE_BYTES})")
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_PROFILE_BYTES and (chunk := os.read(fd, MAX_PROFILE_BYTES + 1 - size)):
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise ProfileError(f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size > MAX_PROFILE_BYTES:  # it grew after the fstat
        raise ProfileError(f"too big (more than {MAX_PROFILE_BYTES} bytes)")
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ProfileError(f"not UTF-8 text (byte {exc.start})") from None
