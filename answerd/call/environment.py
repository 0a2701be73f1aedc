"""The whole environment of a program answerd starts: a fixed PATH, TERM, and what the call provides.

Nothing of answerd's own leaks through, in particular not ``NOTIFY_SOCKET``, ``WATCHDOG_*`` or
``JOURNAL_STREAM``, which belong to answerd's unit and would let a child speak for the service.

The call's values come from the line (caller ID, CONNECT text). The core already keeps only what it parsed
(digits of a number, printable names, bounded lines); this module does not rely on that: every value is
cut to :data:`MAX_VALUE_LENGTH` characters and each control character (C0, DEL, C1: NUL, ESC, CR...) becomes
``?``. Replacing rather than deleting keeps what is left from running together into text the caller never
sent (``555<ESC>[1m1`` must not become the number ``5551``-something a program then trusts).
"""

from __future__ import annotations

from collections.abc import Mapping

from answerd.core import Answered

__all__ = ["MAX_VALUE_LENGTH", "SAFE_PATH", "call_environment", "clean_environment", "clean_value"]

#: PATH for handed-off programs: the usual system one, never the daemon's.
SAFE_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


#: Longest value of a call variable (the core's limit for an argv placeholder's value).
MAX_VALUE_LENGTH = 256
#: C0 controls, DEL and C1 controls: what a terminal or a log reader could take for a command.
_CONTROLS = dict.fromkeys([*range(0x20), *range(0x7F, 0xA0)], "?")


def clean_value(value: str) -> str:
    """``value`` cut to :data:`MAX_VALUE_LENGTH` characters, each control character replaced by ``?``."""
    return value[:MAX_VALUE_LENGTH].translate(_CONTROLS)


def clean_environment(call_vars: Mapping[str, str | None], term: str | None) -> dict[str, str]:
    """The child's whole environment: PATH, TERM and the call's variables whose value is known, cleaned."""
    env = {"PATH": SAFE_PATH}
    if term:
        env["TERM"] = term
    for key, value in call_vars.items():
        if value is not None:
            env[key] = clean_value(value)
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
