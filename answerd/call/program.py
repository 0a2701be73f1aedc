"""Supervising the handed-off program during a call: its own tty description, waiting for it or ending it
when the line drops, reaping what it left in its session, and letting its last output reach the caller.

Starting and signalling the session itself is :mod:`answerd.call.session`'s job; this module ties it to
the call's line.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import termios
from typing import Any

from answerd.call.session import Session, SessionResult
from answerd.call.stage import CallLine

__all__ = ["DRAIN_TIMEOUT_S", "drain_output", "open_for_program", "supervise"]

#: How long the program's last output may take to drain to the caller before answerd hangs up.
DRAIN_TIMEOUT_S = 5.0


def open_for_program(device: str) -> int:
    """A fresh, blocking file description of the tty for the program's fds 0-2.

    Not answerd's own: pyserial keeps that one ``O_NONBLOCK``, and a program reading its stdin would get
    EAGAIN at once (``read`` in a shell exits 1). A description of its own also keeps the program's file
    status flags from leaking back to answerd. The open itself is non-blocking (with CLOCAL clear, a
    blocking open of a modem tty waits for carrier); the flag is cleared afterwards.
    """
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    except OSError:
        os.close(fd)
        raise
    return fd


async def supervise(session: Session, line: CallLine, *, grace_s: float, log: Any) -> SessionResult:
    """Wait for the program, or end it when the line drops or answerd stops; then reap its session."""
    loop = asyncio.get_running_loop()
    waiter = loop.create_task(session.wait())
    lost = loop.create_task(line.lost.wait())
    try:
        done, _ = await asyncio.wait({waiter, lost}, return_when=asyncio.FIRST_COMPLETED)
        result = waiter.result() if waiter in done else await session.stop(grace_s)
    finally:
        lost.cancel()
        if not waiter.done():
            waiter.cancel()
    leftovers = await session.reap_session(grace_s)
    if leftovers:
        log.info("call.session_reaped", processes=leftovers)
    return result


async def drain_output(device: str) -> None:
    """Let what the program wrote before it exited reach the caller before answerd hangs up.

    A program's last screen (or pppd's last frames) can still sit in the tty's output queue when it
    exits; closing the port would discard it. Waits at most ``DRAIN_TIMEOUT_S``: with RTS/CTS and a
    peer that stopped reading, tcdrain would never return. A line that was hung up returns at once.
    """
    try:
        fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return
    try:
        with contextlib.suppress(TimeoutError, OSError, termios.error):
            await asyncio.wait_for(asyncio.to_thread(termios.tcdrain, fd), DRAIN_TIMEOUT_S)
    finally:
        os.close(fd)
