"""utmp and wtmp records for dial-in sessions, so ``who`` and ``last`` show them.

``/bin/login`` writes its own ``USER_PROCESS`` entry, but pppd and BBS programs do not. Like agetty and
mgetty, answerd writes:

* when a call is answered, :func:`write_login`: a ``LOGIN_PROCESS`` entry (``kind="login"``, user
  ``LOGIN``, the entry login looks for by pid and turns into its own), or a ``USER_PROCESS`` entry
  (``kind="user"``, for programs that never call login: the PPP peer or the entered name), with the child's
  pid and the caller ID or CONNECT string as host (mgetty puts the caller ID there);
* when the session ends, :func:`write_logout`: a ``DEAD_PROCESS`` entry for the same ut_id, user and host
  cleared, replacing the entry in utmp.

Both records are also appended to wtmp, so ``last`` shows a closed session (``last`` lists ``USER_PROCESS``
records only; a ``LOGIN_PROCESS`` session shows there once login has written its own entry).

The format is glibc's ``struct utmp`` on Linux: 384 bytes, with 32-bit ``ut_session`` and ``ut_tv`` on every
architecture (``__WORDSIZE_TIME64_COMPAT32``); see :data:`RECORD`. ``ut_tv.tv_sec`` is read and written as
an unsigned 32-bit number, so it lasts until 2106 rather than 2038.

Writing follows glibc (``login/utmp_file.c``): the file is locked as a whole with an ``fcntl`` write lock
(``F_SETLK`` record locks, which interoperate with glibc's ``F_SETLKW``), given up after
:data:`LOCK_TIMEOUT_S` like glibc's 10-second alarm; utmp is updated in place (the entry with the same ut_id,
else a live entry for the same line, else an unused or dead slot, else appended at the last whole record);
wtmp gets one ``O_APPEND`` write, after cutting off any partial record. Neither file is created: a missing
file means accounting is off (systemd-tmpfiles creates both), as for glibc. POSIX record locks belong to the
process, not to the file descriptor, so a process-wide :class:`threading.Lock` also serialises writers
within answerd.

Strings become printable ASCII (anything else is ``?``) cut to the field size: caller IDs come from the
phone line and are hostile.

Errors: every failure to open, lock or write a file raises an :class:`OSError` (a lock timeout is
:class:`UtmpLockTimeout`, a :class:`TimeoutError`). The functions block for up to :data:`LOCK_TIMEOUT_S`; the
daemon calls them through :func:`asyncio.to_thread`, catches ``OSError`` and logs it: accounting must never
take a call down.
"""

from __future__ import annotations

import errno
import fcntl
import os
import struct
import threading
import time
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Literal

__all__ = [
    "LOCK_TIMEOUT_S",
    "RECORD",
    "UTMP_PATH",
    "WTMP_PATH",
    "UtType",
    "UtmpLockTimeout",
    "UtmpRecord",
    "read_records",
    "utmp_id",
    "write_login",
    "write_logout",
]

#: The utmp file (glibc's ``_PATH_UTMP``; ``/var/run`` is a symlink to ``/run``).
UTMP_PATH: Final = "/run/utmp"
#: The wtmp file (glibc's ``_PATH_WTMP``).
WTMP_PATH: Final = "/var/log/wtmp"
#: How long to wait for another writer's lock, as glibc's ``TIMEOUT`` (10 s).
LOCK_TIMEOUT_S: Final = 10.0

#: glibc's ``struct utmp`` on Linux, native byte order, 384 bytes. Offsets (checked with ``offsetof`` against
#: ``<utmp.h>`` on x86_64): ut_type 0, ut_pid 4, ut_line 8, ut_id 40, ut_user 44, ut_host 76, ut_exit 332,
#: ut_session 336, ut_tv 340, ut_addr_v6 348, __glibc_reserved 364.
RECORD: Final = struct.Struct("=h2xi32s4s32s256shhiIi16s20x")
assert RECORD.size == 384

_LINE_SIZE = 32
_ID_SIZE = 4
_USER_SIZE = 32
_HOST_SIZE = 256
_LINE_SLICE = slice(8, 40)
_ID_SLICE = slice(40, 44)
_TYPE_STRUCT = struct.Struct("=h")

#: Serialises writers within this process: fcntl record locks do not exclude threads of one process.
_PROCESS_LOCK = threading.Lock()


class UtType(IntEnum):
    """Values of ``ut_type`` (``<bits/utmp.h>``)."""

    EMPTY = 0
    RUN_LVL = 1
    BOOT_TIME = 2
    NEW_TIME = 3
    OLD_TIME = 4
    INIT_PROCESS = 5
    LOGIN_PROCESS = 6
    USER_PROCESS = 7
    DEAD_PROCESS = 8
    ACCOUNTING = 9


_PROCESS_TYPES = frozenset({UtType.INIT_PROCESS, UtType.LOGIN_PROCESS, UtType.USER_PROCESS, UtType.DEAD_PROCESS})
_LIVE_TYPES = frozenset({UtType.INIT_PROCESS, UtType.LOGIN_PROCESS, UtType.USER_PROCESS})
_FREE_TYPES = frozenset({UtType.EMPTY, UtType.DEAD_PROCESS})


class UtmpLockTimeout(TimeoutError):
    """Another process held the utmp or wtmp lock for longer than the timeout."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UtmpRecord:
    """One ``struct utmp``, with the character fields decoded (up to the first NUL).

    Attributes:
        type: ``ut_type``; a :class:`UtType` value for the types Linux defines (files may hold others).
        pid: ``ut_pid``.
        line: ``ut_line``, the tty name without ``/dev/``.
        id: ``ut_id``, up to 4 characters.
        user: ``ut_user``.
        host: ``ut_host``.
        termination: ``ut_exit.e_termination``: the signal that ended a ``DEAD_PROCESS``, or 0.
        exit: ``ut_exit.e_exit``: the exit status of a ``DEAD_PROCESS``, or 0.
        session: ``ut_session``.
        tv_sec: ``ut_tv.tv_sec``, seconds since the epoch (unsigned 32-bit).
        tv_usec: ``ut_tv.tv_usec``.
        addr_v6: ``ut_addr_v6``, 16 raw bytes.
    """

    type: int
    pid: int = 0
    line: str = ""
    id: str = ""
    user: str = ""
    host: str = ""
    termination: int = 0
    exit: int = 0
    session: int = 0
    tv_sec: int = 0
    tv_usec: int = 0
    addr_v6: bytes = bytes(16)

    @property
    def time(self) -> float:
        """``ut_tv`` as seconds since the epoch."""
        return self.tv_sec + self.tv_usec / 1_000_000

    def pack(self) -> bytes:
        """The 384-byte record; strings are made printable and cut to their field sizes.

        Returns:
            The record as glibc lays it out.
        """
        return RECORD.pack(
            self.type,
            self.pid,
            _field(self.line, _LINE_SIZE),
            _field(self.id, _ID_SIZE),
            _field(self.user, _USER_SIZE),
            _field(self.host, _HOST_SIZE),
            self.termination,
            self.exit,
            self.session,
            self.tv_sec % 2**32,
            self.tv_usec,
            self.addr_v6[:16].ljust(16, b"\0"),
        )

    @classmethod
    def unpack(cls, data: bytes) -> UtmpRecord:
        """Decode one record.

        Args:
            data: exactly :data:`RECORD` ``.size`` bytes.

        Returns:
            The record; character fields undecodable as UTF-8 get U+FFFD.
        """
        (ut_type, pid, line, ut_id, user, host, termination, exit_, session, tv_sec, tv_usec, addr) = RECORD.unpack(
            data
        )
        return cls(
            type=_type(ut_type),
            pid=pid,
            line=_text(line),
            id=_text(ut_id),
            user=_text(user),
            host=_text(host),
            termination=termination,
            exit=exit_,
            session=session,
            tv_sec=tv_sec,
            tv_usec=tv_usec,
            addr_v6=addr,
        )


def utmp_id(name: str) -> str:
    """The ut_id for a tty or port name: its last 4 characters, as agetty and systemd's ``UtmpIdentifier=``.

    >>> utmp_id("/dev/ttyS0"), utmp_id("ttyACM12"), utmp_id("S0")
    ('tyS0', 'CM12', 'S0')

    Args:
        name: the tty name (with or without ``/dev/``) or the unit's port identifier.

    Returns:
        At most 4 printable characters.
    """
    return _printable(name.removeprefix("/dev/"))[-_ID_SIZE:]


def read_records(path: str | os.PathLike[str]) -> list[UtmpRecord]:
    """Every whole record in a utmp or wtmp file (a partial record at the end is ignored, as glibc does).

    Args:
        path: the file.

    Returns:
        The records in file order.

    Raises:
        OSError: the file cannot be read.
    """
    with open(path, "rb") as file:
        data = file.read()
    size = RECORD.size
    return [UtmpRecord.unpack(data[start : start + size]) for start in range(0, len(data) - size + 1, size)]


def write_login(
    *,
    line: str,
    pid: int,
    user: str,
    host: str,
    kind: Literal["login", "user"] = "login",
    ut_id: str | None = None,
    utmp_path: str | os.PathLike[str] | None = UTMP_PATH,
    wtmp_path: str | os.PathLike[str] | None = WTMP_PATH,
    now: float | None = None,
    lock_timeout: float = LOCK_TIMEOUT_S,
) -> UtmpRecord:
    """Record an answered call: put its entry in utmp and append it to wtmp.

    Args:
        line: the tty, ``ttyS0`` or ``/dev/ttyS0``.
        pid: the child's pid; it is a session leader, so it is also ``ut_session``.
        user: ``LOGIN`` for a program that will call login, else the name to show (PPP peer, entered name).
        host: the caller ID, else the CONNECT string (hostile: made printable, cut to 256 bytes).
        kind: ``"login"`` writes a ``LOGIN_PROCESS`` entry, ``"user"`` a ``USER_PROCESS`` entry.
        ut_id: the unit's ``UtmpIdentifier`` (its last 4 characters are used); default :func:`utmp_id` of
            ``line``.
        utmp_path: the utmp file, or None to skip it.
        wtmp_path: the wtmp file, or None to skip it.
        now: the time to record; default the current time.
        lock_timeout: seconds to wait for another writer's lock.

    Returns:
        The record written.

    Raises:
        OSError: a file could not be opened, locked (:class:`UtmpLockTimeout`) or written; the other file was
            still attempted. If both failed, the utmp error is raised, with a note about the wtmp one.
        ValueError: ``line`` is empty.
    """
    record_type = UtType.LOGIN_PROCESS if kind == "login" else UtType.USER_PROCESS
    record = _record(record_type, line=line, ut_id=ut_id, pid=pid, user=user, host=host, now=now)
    _write_both(record, utmp_path, wtmp_path, lock_timeout)
    return record


def write_logout(
    *,
    line: str,
    pid: int,
    ut_id: str | None = None,
    returncode: int | None = None,
    utmp_path: str | os.PathLike[str] | None = UTMP_PATH,
    wtmp_path: str | os.PathLike[str] | None = WTMP_PATH,
    now: float | None = None,
    lock_timeout: float = LOCK_TIMEOUT_S,
) -> UtmpRecord:
    """Record the end of a session: its utmp entry becomes ``DEAD_PROCESS``, and that is appended to wtmp.

    The entry is found by ut_id (whatever login turned it into), else by line; user and host are cleared.

    Args:
        line: the tty, as given to :func:`write_login`.
        pid: the child's pid.
        ut_id: as given to :func:`write_login`.
        returncode: how the child ended, as :attr:`asyncio.subprocess.Process.returncode` (negative: killed
            by that signal); stored in ``ut_exit`` as sysvinit does. None leaves ``ut_exit`` zero.
        utmp_path: the utmp file, or None to skip it.
        wtmp_path: the wtmp file, or None to skip it.
        now: the time to record; default the current time.
        lock_timeout: seconds to wait for another writer's lock.

    Returns:
        The record written.

    Raises:
        OSError: as :func:`write_login`.
        ValueError: ``line`` is empty.
    """
    termination, exit_ = (0, 0) if returncode is None else (-returncode, 0) if returncode < 0 else (0, returncode)
    record = _record(
        UtType.DEAD_PROCESS,
        line=line,
        ut_id=ut_id,
        pid=pid,
        user="",
        host="",
        now=now,
        termination=termination & 0x7FFF,
        exit_=exit_ & 0x7FFF,
    )
    _write_both(record, utmp_path, wtmp_path, lock_timeout)
    return record


def _record(
    record_type: UtType,
    *,
    line: str,
    ut_id: str | None,
    pid: int,
    user: str,
    host: str,
    now: float | None,
    termination: int = 0,
    exit_: int = 0,
) -> UtmpRecord:
    """A record for ``line`` stamped with ``now``, its strings already printable and cut to size."""
    name = _printable(line.removeprefix("/dev/"))[:_LINE_SIZE]
    if not name:
        raise ValueError("utmp: empty tty line")
    stamp = time.time() if now is None else now
    seconds = max(int(stamp), 0)
    micros = min(max(int((stamp - seconds) * 1_000_000), 0), 999_999)
    return UtmpRecord(
        type=record_type,
        pid=pid,
        line=name,
        id=utmp_id(name if ut_id is None else ut_id),
        user=_printable(user[:_USER_SIZE]),
        host=_printable(host[:_HOST_SIZE]),
        termination=termination,
        exit=exit_,
        session=pid,
        tv_sec=seconds,
        tv_usec=micros,
    )


def _write_both(
    record: UtmpRecord,
    utmp_path: str | os.PathLike[str] | None,
    wtmp_path: str | os.PathLike[str] | None,
    lock_timeout: float,
) -> None:
    """Update utmp and append to wtmp, attempting both; raise the first error."""
    data = record.pack()
    errors: list[OSError] = []
    with _PROCESS_LOCK:
        if utmp_path is not None:
            try:
                _update_utmp(os.fspath(utmp_path), data, lock_timeout)
            except OSError as exc:
                errors.append(exc)
        if wtmp_path is not None:
            try:
                _append_wtmp(os.fspath(wtmp_path), data, lock_timeout)
            except OSError as exc:
                errors.append(exc)
    if errors:
        first = errors[0]
        for other in errors[1:]:
            first.add_note(f"also: {other}")
        raise first


def _update_utmp(path: str, data: bytes, lock_timeout: float) -> None:
    """Write ``data`` over the matching slot of utmp, or a free one, or append it; under the file lock."""
    fd = os.open(path, os.O_RDWR | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        _lock(fd, path, lock_timeout)
        try:
            size = os.fstat(fd).st_size
            current = os.pread(fd, size, 0)
            whole = len(current) - len(current) % RECORD.size
            slot = _choose_slot(current[:whole], data)
            offset = whole if slot is None else slot * RECORD.size
            written = os.pwrite(fd, data, offset)
            if written != len(data):
                if slot is None:
                    os.ftruncate(fd, offset)
                raise OSError(errno.ENOSPC, "short write to utmp", path)
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _choose_slot(current: bytes, data: bytes) -> int | None:
    """Index of the slot for ``data`` in ``current`` (whole records), or None to append.

    In order: the process entry with the same ut_id (glibc's ``pututline`` match), a live entry for the same
    line (a stale entry under another id), the first ``EMPTY`` or ``DEAD_PROCESS`` slot.
    """
    want_id = _cstring(data[_ID_SLICE])
    want_line = _cstring(data[_LINE_SLICE])
    size = RECORD.size
    same_line: int | None = None
    free: int | None = None
    for index in range(len(current) // size):
        raw = current[index * size : (index + 1) * size]
        (ut_type,) = _TYPE_STRUCT.unpack_from(raw)
        if ut_type in _PROCESS_TYPES and _cstring(raw[_ID_SLICE]) == want_id:
            return index
        if same_line is None and ut_type in _LIVE_TYPES and _cstring(raw[_LINE_SLICE]) == want_line:
            same_line = index
        if free is None and ut_type in _FREE_TYPES:
            free = index
    return same_line if same_line is not None else free


def _append_wtmp(path: str, data: bytes, lock_timeout: float) -> None:
    """Append ``data`` to wtmp in one ``O_APPEND`` write, after cutting off a partial record; under the lock."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CLOEXEC | os.O_NOCTTY)
    try:
        _lock(fd, path, lock_timeout)
        try:
            size = os.fstat(fd).st_size
            whole = size - size % RECORD.size
            if whole != size:
                os.ftruncate(fd, whole)
            written = os.write(fd, data)
            if written != len(data):
                os.ftruncate(fd, whole)
                raise OSError(errno.ENOSPC, "short write to wtmp", path)
        finally:
            fcntl.lockf(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _lock(fd: int, path: str, timeout: float) -> None:
    """Take a whole-file fcntl write lock on ``fd``, polling so no SIGALRM is needed, for up to ``timeout``."""
    deadline = time.monotonic() + timeout
    delay = 0.002
    while True:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EACCES, errno.EAGAIN):
                raise
        else:
            return
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise UtmpLockTimeout(errno.ETIMEDOUT, f"lock held by another process for {timeout:g} s", path)
        time.sleep(min(delay, remaining))
        delay = min(delay * 2, 0.1)


def _printable(text: str) -> str:
    """``text`` with every character outside printable ASCII replaced by ``?``."""
    return "".join(ch if " " <= ch <= "~" else "?" for ch in text)


def _field(text: str, size: int) -> bytes:
    """``text`` as a NUL-padded field of ``size`` bytes (not NUL-terminated when full)."""
    return _printable(text[:size]).encode("ascii")


def _cstring(raw: bytes) -> bytes:
    """The bytes of a character field up to its first NUL."""
    return raw.split(b"\0", 1)[0]


def _text(raw: bytes) -> str:
    """A character field decoded for display."""
    return _cstring(raw).decode("utf-8", errors="replace")


def _type(value: int) -> int:
    """``value`` as a :class:`UtType` when Linux defines it."""
    try:
        return UtType(value)
    except ValueError:
        return value
