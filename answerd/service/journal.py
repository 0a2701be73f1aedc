"""Logging: structlog configured once, for a terminal, a log collector or the systemd journal.

Event names are stable dotted identifiers (``call.ring``, ``call.ended``, ``modem.init.retry``); values are
keyword arguments, never formatted into the message. ``port`` and ``call_id`` are bound with contextvars,
so every record of a call carries them. ``call.ended`` is the canonical record: one per call, with
everything known about it.

Bytes from the line are hostile. The :func:`sanitize` processor runs on every record, whatever renders it:
strings are reduced to printable ASCII with ``\\xNN`` escapes and capped in length, so a caller cannot
inject terminal escape sequences, fake log lines, fake journal fields or megabytes into the log.

Under systemd (stderr is the journal stream named by ``JOURNAL_STREAM``) records go to journald natively:
:func:`to_journal_fields` turns each record into journal fields (``MESSAGE``, ``PRIORITY``, ``EVENT``,
``PORT``, ``CALL_ID``, ``CALLER_ID``, ``CONNECT_RATE`` ...) and :class:`JournalLogger` sends them, so
``journalctl -u answerd@ttyS0 CALLER_ID=5551234`` or ``journalctl MESSAGE_ID=<id>`` find calls. The key
events carry a ``MESSAGE_ID`` explained in ``answerd/catalog/answerd.catalog`` (``journalctl -x``).
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Callable, Mapping, MutableMapping
from types import MappingProxyType
from typing import Any, Literal

import structlog

from answerd.service.journal_message import MAX_VALUE_CHARS, bounded_text, journal_message, printable

__all__ = [
    "CATALOG_FILE",
    "MAX_VALUE_CHARS",
    "MESSAGE_IDS",
    "MESSAGE_ID_CALL_CONNECTED",
    "MESSAGE_ID_CALL_ENDED",
    "MESSAGE_ID_CALL_REJECTED",
    "MESSAGE_ID_MODEM_FAILED",
    "PRIORITIES",
    "SYSLOG_IDENTIFIER",
    "JournalLogger",
    "LogFormat",
    "configure_logging",
    "detect_format",
    "journal_field_name",
    "printable",
    "sanitize",
    "stderr_is_journal",
    "to_journal_fields",
]

LogFormat = Literal["console", "json", "journal"]
#: Longest traceback line, and most lines, kept in a journal ``EXCEPTION`` field.
MAX_TRACEBACK_LINE_CHARS = 1024
MAX_TRACEBACK_LINES = 200
#: journald field names: at most this long.
MAX_FIELD_NAME_CHARS = 64

SYSLOG_IDENTIFIER = "answerd"

# 128-bit message IDs (``uuid.uuid4().hex``, generated once; never change them: they are an interface).
#: A call was answered and the modem reported CONNECT.
MESSAGE_ID_CALL_CONNECTED = "21a14217bc6940018c486987e18fe4b9"
#: A call ended (the canonical per-call record, whatever the outcome).
MESSAGE_ID_CALL_ENDED = "286052dd595046669a620717f4bdac52"
#: A call was rejected before it was answered.
MESSAGE_ID_CALL_REJECTED = "66b552a4713e4572b15b39e33f33be3f"
#: The modem failed for good (the port's service exits).
MESSAGE_ID_MODEM_FAILED = "e8e31255ed384c418fcad8b068f2f6c7"

#: Event name → journal ``MESSAGE_ID``; every ID has an entry in ``answerd/catalog/answerd.catalog``.
MESSAGE_IDS: Mapping[str, str] = MappingProxyType(
    {
        "call.connected": MESSAGE_ID_CALL_CONNECTED,
        "call.ended": MESSAGE_ID_CALL_ENDED,
        "call.rejected": MESSAGE_ID_CALL_REJECTED,
        "modem.failed": MESSAGE_ID_MODEM_FAILED,
    }
)

#: The journald message catalog explaining :data:`MESSAGE_IDS` (install into ``/usr/lib/systemd/catalog/``).
CATALOG_FILE = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "catalog", "answerd.catalog")

#: structlog level name → syslog priority (``PRIORITY=``).
PRIORITIES: Mapping[str, int] = MappingProxyType(
    {
        "debug": 7,
        "info": 6,
        "warning": 4,
        "warn": 4,
        "error": 3,
        "exception": 3,
        "critical": 2,
        "fatal": 2,
    }
)

# Fields this module sets itself; a record key that maps onto one of them is renamed to ``X_<NAME>``
# (the caller-ID "message" key must not replace MESSAGE).
_RESERVED_FIELDS = frozenset(
    {
        "MESSAGE",
        "MESSAGE_ID",
        "PRIORITY",
        "EVENT",
        "EXCEPTION",
        "CODE_FILE",
        "CODE_LINE",
        "CODE_FUNC",
        "ERRNO",
        "TID",
        "DOCUMENTATION",
        "SYSLOG_IDENTIFIER",
        "SYSLOG_FACILITY",
        "SYSLOG_PID",
        "SYSLOG_TIMESTAMP",
        "SYSLOG_RAW",
    }
)
# Record keys that are not fields of their own.
_NOT_FIELDS = frozenset({"event", "level", "timestamp", "exc_info", "exception", "pathname", "lineno", "func_name"})
# Record keys left out of the MESSAGE summary (context, or shown elsewhere).
_NOT_FIELD_CHAR = re.compile(r"[^A-Z0-9_]")
_CONNECT_RATE = re.compile(r"\s*([0-9]+)\s*(.*)")


def sanitize(_logger: Any, _method: str, event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """structlog processor: make every string (and bytes) value printable and bounded."""
    for key, value in list(event_dict.items()):
        if isinstance(value, bytes):
            event_dict[key] = printable(value.decode("latin-1"))
        elif isinstance(value, str):
            event_dict[key] = printable(value)
    return event_dict


# ---------------------------------------------------------------------------------------------- journald


def journal_field_name(key: str) -> str:
    """The journald field name for record key ``key``: upper case, ``A-Z 0-9 _``, at most 64 characters.

    Invalid characters become ``_``; leading underscores (reserved for fields journald adds itself) are
    dropped; a name that would start with a digit, be empty, or clash with a field this module sets
    (``MESSAGE``, ``PRIORITY``, ``EVENT`` ...) gets an ``X_`` prefix.

    >>> journal_field_name("caller_id"), journal_field_name("_pid"), journal_field_name("message")
    ('CALLER_ID', 'PID', 'X_MESSAGE')
    """
    name = _NOT_FIELD_CHAR.sub("_", key.upper()).lstrip("_")
    if not name or name[0].isdigit() or name in _RESERVED_FIELDS:
        name = "X_" + name
    return name[:MAX_FIELD_NAME_CHARS]


def _traceback_text(text: str) -> str:
    lines = text.splitlines()
    kept = [printable(line, MAX_TRACEBACK_LINE_CHARS) for line in lines[:MAX_TRACEBACK_LINES]]
    if len(lines) > MAX_TRACEBACK_LINES:
        kept.append("...")
    return "\n".join(kept)


def to_journal_fields(_logger: Any, method_name: str, event_dict: MutableMapping[str, Any]) -> dict[str, Any]:
    """structlog processor (the last one): the record as a dict of journald fields, for :class:`JournalLogger`.

    * ``MESSAGE``: one readable line. For the key events a sentence with the key facts first, so plain
      ``journalctl`` shows what happened (``call 12 on ttyUSB0 from 5551234 ended: carrier-lost after 63 s
      (user demo, /bin/login)``); for a warning its text; for other events the event name and its values
      (``modem.init.retry attempt=2 reason="no answer"``). Values in it are capped; the fields carry all;
    * ``PRIORITY``: the syslog priority of the level (:data:`PRIORITIES`; debug 7 … critical 2);
    * ``SYSLOG_IDENTIFIER=answerd``, ``EVENT=<event name>`` and, for the key events, ``MESSAGE_ID``
      (:data:`MESSAGE_IDS`);
    * every other key as a field named by :func:`journal_field_name` (``port`` → ``PORT``, ``caller_id``
      → ``CALLER_ID``), its value as a printable, bounded ``str``; ``None`` values are left out;
    * ``connect`` (``33600/ARQ/V34/LAPM/V42BIS``) also gives ``CONNECT_RATE=33600`` and
      ``PROTOCOL=ARQ/V34/LAPM/V42BIS``;
    * ``pathname``/``lineno``/``func_name`` (from ``CallsiteParameterAdder``) become ``CODE_FILE``,
      ``CODE_LINE``, ``CODE_FUNC``; an ``exception`` (from ``format_exc_info``) becomes ``EXCEPTION``, one
      escaped line per traceback line.

    Values that are not printable ASCII yet are escaped here too (values :func:`sanitize` handled are only
    capped), so a value that is not a ``str`` cannot smuggle control characters or newlines in through its
    ``str()`` either.

    >>> fields = to_journal_fields(None, "info", {"event": "modem.init.retry", "port": "ttyS0", "backoff_s": 2.0})
    >>> fields["MESSAGE"], fields["PRIORITY"], fields["PORT"], fields["BACKOFF_S"]
    ('modem.init.retry backoff=2.0s', '6', 'ttyS0', '2.0')
    """
    event = bounded_text(event_dict.get("event", ""))
    level = str(event_dict.get("level", method_name))
    fields: dict[str, Any] = {
        "MESSAGE": journal_message(event, event_dict),
        "PRIORITY": str(PRIORITIES.get(level, PRIORITIES["info"])),
        "SYSLOG_IDENTIFIER": SYSLOG_IDENTIFIER,
        "EVENT": event,
    }
    message_id = MESSAGE_IDS.get(event)
    if message_id is not None:
        fields["MESSAGE_ID"] = message_id
    for key, value in event_dict.items():
        if value is None or key in _NOT_FIELDS:
            continue
        name = journal_field_name(key)
        if name in fields:
            continue  # two keys that sanitise to one name: the first wins
        fields[name] = bounded_text(value)
    connect = fields.get("CONNECT")
    if connect:
        match = _CONNECT_RATE.fullmatch(connect)
        rate, rest = (match[1], match[2]) if match else (None, connect)
        protocol = "/".join(part.strip() for part in rest.split("/") if part.strip())
        if rate is not None:
            fields.setdefault("CONNECT_RATE", rate)
        if protocol:
            fields.setdefault("PROTOCOL", protocol)
    if event_dict.get("pathname") is not None:
        fields["CODE_FILE"] = bounded_text(event_dict["pathname"])
    if isinstance(event_dict.get("lineno"), int):
        fields["CODE_LINE"] = event_dict["lineno"]
    if event_dict.get("func_name") is not None:
        fields["CODE_FUNC"] = bounded_text(event_dict["func_name"])
    exception = event_dict.get("exception")
    if isinstance(exception, str) and exception:
        fields["EXCEPTION"] = _traceback_text(exception)
    return fields


def _journal_send() -> Callable[..., Any]:
    from systemd import journal  # noqa: PLC0415  (optional at import time: console/json work without it)

    send: Callable[..., Any] = journal.send
    return send


class JournalLogger:
    """A structlog logger that sends the fields dict built by :func:`to_journal_fields` to journald.

    structlog calls the method named like the level with the last processor's dict as keyword arguments;
    every level method is :meth:`msg`. Use the class itself as ``logger_factory``.

    Args:
        *_names: ignored (``structlog.get_logger("answerd")`` passes the logger name).
        send: the function to call with the fields (default ``systemd.journal.send``, looked up on every
            call so tests can replace it).
    """

    def __init__(self, *_names: Any, send: Callable[..., Any] | None = None) -> None:
        self._send = send

    def msg(self, **fields: Any) -> None:
        """Send one journal entry; ``fields`` must include ``MESSAGE``."""
        send = self._send if self._send is not None else _journal_send()
        send(**fields)

    log = debug = info = warn = warning = msg
    fatal = failure = err = error = critical = exception = msg


def stderr_is_journal(environ: Mapping[str, str] | None = None, fd: int = 2) -> bool:
    """Whether ``fd`` (stderr) is the journal stream systemd named in ``$JOURNAL_STREAM`` (``device:inode``).

    systemd sets ``JOURNAL_STREAM`` for a service whose stderr goes to the journal; a child whose stderr
    was redirected inherits the variable but not the stream, hence the ``fstat`` comparison.
    """
    value = (os.environ if environ is None else environ).get("JOURNAL_STREAM", "")
    device, _, inode = value.partition(":")
    try:
        st = os.fstat(fd)
        return (int(device), int(inode)) == (st.st_dev, st.st_ino)
    except (OSError, ValueError):
        return False


def _journal_available() -> bool:
    try:
        _journal_send()
    except ImportError:
        return False
    return True


def detect_format(environ: Mapping[str, str] | None = None) -> LogFormat:
    """``journal`` when stderr is the journal stream and ``systemd.journal`` imports, else ``console``."""
    return "journal" if stderr_is_journal(environ) and _journal_available() else "console"


def configure_logging(level: str = "info", fmt: LogFormat | None = None) -> None:
    """Configure structlog for the process (call once, at start).

    Args:
        level: ``debug``, ``info``, ``warning`` or ``error``.
        fmt: ``console`` (readable, coloured on a terminal), ``json`` (one object per line for
            collectors), ``journal`` (native journald fields, see :func:`to_journal_fields`) or ``None``
            (default): ``journal`` when stderr is systemd's journal stream, else ``console``
            (:func:`detect_format`). ``journal`` without systemd-python falls back to ``console`` with a
            ``log.journal_unavailable`` warning.
    """
    numeric = logging.getLevelNamesMapping()[level.upper()]
    chosen = detect_format() if fmt is None else fmt
    fallback = chosen == "journal" and not _journal_available()
    if fallback:
        chosen = "console"
    processors: list[Any] = [structlog.contextvars.merge_contextvars, structlog.processors.add_log_level]
    logger_factory: Callable[..., Any]
    if chosen == "journal":
        callsite = structlog.processors.CallsiteParameter
        processors += [
            structlog.processors.CallsiteParameterAdder({callsite.PATHNAME, callsite.LINENO, callsite.FUNC_NAME}),
            sanitize,
            structlog.processors.format_exc_info,
            to_journal_fields,
        ]
        logger_factory = JournalLogger
    else:
        processors += [sanitize, structlog.processors.TimeStamper(fmt="iso", utc=True)]
        if chosen == "json":
            processors += [structlog.processors.format_exc_info, structlog.processors.JSONRenderer(sort_keys=False)]
        else:
            processors.append(structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty()))
        logger_factory = structlog.PrintLoggerFactory(file=sys.stderr)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=logger_factory,
        cache_logger_on_first_use=True,
    )
    if fallback:
        structlog.get_logger("answerd").warning("log.journal_unavailable", reason="systemd.journal does not import")
