"""The whole environment of a program answerd starts: a fixed PATH, TERM, and what the call provides.

Nothing of answerd's own leaks through, in particular not ``NOTIFY_SOCKET``, ``WATCHDOG_*`` or
``JOURNAL_STREAM``, which belong to answerd's unit and would let a child speak for the service.
"""

from __future__ import annotations

from collections.abc import Mapping

from answerd.core import Answered

__all__ = ["SAFE_PATH", "call_environment", "clean_environment"]

#: PATH for handed-off programs: the usual system one, never the daemon's.
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def clean_environment(call_vars: Mapping[str, str | None], term: str | None) -> dict[str, str]:
    """The child's whole environment: PATH, TERM and the call's variables whose value is known."""
    env = {"PATH": SAFE_PATH}
    if term:
        env["TERM"] = term
    for key, value in call_vars.items():
        if value is not None:
            env[key] = value
    return env


def call_environment(answered: Answered, *, connect: str, device: str, term: str | None) -> dict[str, str]:
    """The handed-off program's environment: the call's details as mgetty names them."""
    call = answered.call
    return clean_environment(
        {
            # mgetty's $CALLER_ID says "none" when no caller ID came.
            "CALLER_ID": call.caller_id or "none",
            "CALLER_NAME": call.caller_name,
            "CALLED_ID": call.called_id,
            "CONNECT": connect,
            # The link as the modem described it, where it did (answerd's own; mgetty has only CONNECT).
            "CONNECT_LINE_RATE": None if call.line_rate is None else str(call.line_rate),
            "CONNECT_DTE_RATE": None if call.dte_rate is None else str(call.dte_rate),
            "CONNECT_MODULATION": call.modulation,
            "CONNECT_PROTOCOL": call.protocol,
            "CONNECT_COMPRESSION": call.compression,
            "DEVICE": device,
        },
        term,
    )
