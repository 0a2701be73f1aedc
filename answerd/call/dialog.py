"""Before the program: the silent PPP window (or the settle wait) and the login dialog, driven on the line.

Both are sans-IO machines of the core; this module gives them the caller's bytes, their deadlines on the
event loop's clock, and writes what they say to the port. Bytes that arrive before a stage reads them are
kept (bounded, :class:`~answerd.call.stage.CallLine`), so a user's first key press is not lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from datetime import datetime
from typing import Any

from answerd.call.accounting import logged_users
from answerd.call.stage import MAX_EARLY_INPUT, CallLine, drive
from answerd.config.errors import ConfigError
from answerd.config.files import read_user_file
from answerd.config.settings import PortSettings, numeric_results_of
from answerd.core import (
    EscapeContext,
    Expired,
    LoginDialog,
    LoginFailed,
    NameEntered,
    PppDetected,
    SilentWindow,
    Write,
    expand_escapes,
    to_line_bytes,
)
from answerd.line.port import SerialPort

__all__ = ["MAX_ISSUE_FILE", "issue_text", "login_dialog", "silent_window"]

#: The longest issue file read (mgetty caps the expanded text at 300 characters anyway).
MAX_ISSUE_FILE = 16384


async def silent_window(line: CallLine, seconds: float) -> PppDetected | Expired | None:
    """Listen for LCP for ``seconds`` before printing anything; ``None`` if the line dropped."""
    loop = asyncio.get_running_loop()
    window = SilentWindow(seconds, max_buffer=MAX_EARLY_INPUT)
    window.start(loop.time())
    result: asyncio.Future[PppDetected | Expired] = loop.create_future()

    def feed(data: bytes) -> None:
        if not result.done() and (got := window.receive_data(data, loop.time())) is not None:
            result.set_result(got)

    def on_timer(now: float) -> None:
        if (expired := window.handle_timer(now)) is not None:
            result.set_result(expired)

    return await drive(line, feed, result, window.get_timer, on_timer)


def issue_text(settings: PortSettings, log: Any) -> str:
    """The issue text: the file's (bounded) when one is set and readable, else the ``issue`` setting."""
    path = settings.issue_file
    if path is None:
        return settings.issue
    try:
        # Never blocks on a FIFO or reads a device: the same limits as the configuration file.
        return read_user_file(path)[:MAX_ISSUE_FILE].decode("utf-8", "replace")
    except ConfigError as exc:
        log.warning("call.issue_file_unreadable", path=path, error=exc.errors[0])
        return settings.issue


async def login_dialog(
    *,
    line: CallLine,
    port: SerialPort,
    settings: PortSettings,
    port_name: str,
    connect: str,
    caller_id: str,
    autoppp: bool,
    log: Any,
) -> NameEntered | LoginFailed | PppDetected | None:
    """Issue, prompt, name (or PPP); ``None`` if the line dropped."""
    loop = asyncio.get_running_loop()
    uname = os.uname()
    ctx = EscapeContext(
        nodename=uname.nodename,
        sysname=uname.sysname,
        release=uname.release,
        version=uname.version,
        machine=uname.machine,
        tty=port_name,
        connect=connect,
        caller_id=caller_id,
        speed=settings.speed,
        users=logged_users(),
        when=datetime.now().astimezone(),
    )
    dialog = LoginDialog(
        issue=to_line_bytes(expand_escapes(issue_text(settings, log), ctx)),
        prompt=to_line_bytes(expand_escapes(settings.login_prompt, ctx)),
        timeout_s=settings.login_timeout_s,
        autoppp=autoppp,
        result_guard_s=settings.result_guard_ms / 1000,
        # A V0 modem's NO CARRIER is "3": never a name (issue 12, item 5).
        numeric_results=numeric_results_of(settings.init_chat, settings.init_chat_extra),
    )
    result: asyncio.Future[NameEntered | LoginFailed | PppDetected] = loop.create_future()

    def handle(outputs: list[Any]) -> None:
        for item in outputs:
            if isinstance(item, Write):
                port.write(item.data)
            elif isinstance(item, NameEntered | LoginFailed | PppDetected) and not result.done():
                if isinstance(item, PppDetected):
                    # Raw at once, like mgetty: the rest of the frame must not be echoed or mangled.
                    with contextlib.suppress(OSError):
                        port.set_raw_mode()
                result.set_result(item)

    def feed(data: bytes) -> None:
        if not dialog.done:
            handle(dialog.receive_data(data, loop.time()))

    def on_timer(now: float) -> None:
        if not dialog.done:
            handle(dialog.handle_timer(now))

    handle(dialog.start(loop.time()))
    outcome = await drive(line, feed, result, dialog.get_timer, on_timer)
    if dialog.trailing_data:
        log.debug("call.dialog_trailing", bytes=len(dialog.trailing_data))
    return outcome
