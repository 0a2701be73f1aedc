"""Logging: structlog configured once, for a terminal or for a log collector.

Event names are stable dotted identifiers (``call.ring``, ``call.ended``, ``modem.init.retry``); values are
keyword arguments, never formatted into the message. ``port`` and ``call_id`` are bound with contextvars,
so every record of a call carries them. ``call.ended`` is the canonical record: one per call, with
everything known about it.

Bytes from the line are hostile. The :func:`sanitize` processor runs on every record, whatever renders it:
strings are reduced to printable ASCII with ``\\xNN`` escapes and capped in length, so a caller cannot
inject terminal escape sequences, fake log lines or megabytes into the log.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import MutableMapping
from typing import Any, Literal

import structlog

__all__ = ["LogFormat", "configure_logging", "printable", "sanitize"]

LogFormat = Literal["console", "json"]
#: Longest string value a log record keeps (after escaping).
MAX_VALUE_CHARS = 512


def printable(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    r"""``text`` with every non-printable or non-ASCII character escaped, capped at ``limit`` characters.

    >>> printable("NO CARRIER\r\n\x1b[2J")
    'NO CARRIER\\r\\n\\x1b[2J'
    """
    out = []
    size = 0
    for ch in text:
        if " " <= ch <= "~":
            piece = ch
        elif ch == "\r":
            piece = "\\r"
        elif ch == "\n":
            piece = "\\n"
        else:
            code = ord(ch)
            piece = f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
        size += len(piece)
        if size > limit:
            out.append("...")
            break
        out.append(piece)
    return "".join(out)


def sanitize(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: make every string (and bytes) value printable and bounded."""
    for key, value in list(event_dict.items()):
        if isinstance(value, bytes):
            event_dict[key] = printable(value.decode("latin-1"))
        elif isinstance(value, str):
            event_dict[key] = printable(value)
    return event_dict


def configure_logging(level: str = "info", fmt: LogFormat | None = None) -> None:
    """Configure structlog for the process (call once, at start).

    Args:
        level: ``debug``, ``info``, ``warning`` or ``error``.
        fmt: ``console`` (readable, coloured on a terminal) or ``json`` (one object per line for
            collectors); ``None`` picks console.
    """
    numeric = logging.getLevelNamesMapping()[level.upper()]
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        sanitize,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=False)
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
