"""utmp/wtmp for one call: the session's login and logout records, and the count of logged-in users.

The records themselves are :mod:`answerd.call.utmp`'s; here is what a call puts in them. Accounting must
never take a call down: a failure is logged and the call goes on.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

from answerd.call import utmp
from answerd.call.session import SessionResult

__all__ = ["logged_users", "utmp_line", "write_login", "write_logout"]


def logged_users(path: str = utmp.UTMP_PATH) -> int:
    """Number of USER_PROCESS records in utmp (for the ``\\U`` escape); 0 if it cannot be read."""
    try:
        records = utmp.read_records(path)
    except OSError:
        return 0
    return sum(1 for record in records if record.type == utmp.UtType.USER_PROCESS)


def utmp_line(device: str) -> str:
    """The ut_line of a device: its real path without ``/dev/`` (a symlink names the tty it points to)."""
    return os.path.realpath(device).removeprefix("/dev/")


async def write_login(*, device: str, ut_id: str, pid: int, user: str, host: str, log: Any) -> None:
    """The session's USER_PROCESS record (off the event loop: the file lock may be held for seconds)."""
    try:
        await asyncio.to_thread(
            utmp.write_login, line=utmp_line(device), pid=pid, user=user, host=host, kind="user", ut_id=ut_id
        )
    except OSError as exc:
        log.warning("utmp.write_failed", error=str(exc))


async def write_logout(*, device: str, ut_id: str, pid: int, result: SessionResult, log: Any) -> None:
    """The session's DEAD_PROCESS record, with how the program ended (a signal as its negative number)."""
    code = -result.signal if result.signal is not None else result.returncode
    try:
        await asyncio.to_thread(utmp.write_logout, line=utmp_line(device), pid=pid, ut_id=ut_id, returncode=code)
    except OSError as exc:
        log.warning("utmp.write_failed", error=str(exc))
