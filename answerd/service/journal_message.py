"""The journal ``MESSAGE`` of a log record: what plain ``journalctl`` shows, one readable line.

For the key events it is a sentence with the key facts first -- ``call 12 on ttyUSB0 from 5551234 ended:
carrier-lost after 63 s (user demo, /bin/login)`` -- so the line says what happened even where a value is
long; for a warning it is the warning's text; for every other event the event name and its values
(``modem.init.retry attempt=2 reason="no answer"``). Values in it are printable and capped: the record's
fields (:func:`answerd.service.journal.to_journal_fields`) carry every value in full.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

__all__ = [
    "MAX_SUMMARY_DETAIL_CHARS",
    "MAX_SUMMARY_PATH_CHARS",
    "MAX_SUMMARY_VALUE_CHARS",
    "MAX_VALUE_CHARS",
    "bounded_text",
    "journal_message",
    "printable",
]

#: Longest string value a log record keeps (after escaping).
MAX_VALUE_CHARS = 512
#: Longest value quoted in a journal ``MESSAGE`` summary (the full value is in its own field).
MAX_SUMMARY_VALUE_CHARS = 64
#: Longest program path and longest explanation (``detail``, ``reason``) in a ``MESSAGE`` sentence.
MAX_SUMMARY_PATH_CHARS = 128
MAX_SUMMARY_DETAIL_CHARS = 160
# Record keys left out of the MESSAGE summary (context, or shown elsewhere).
_NOT_SUMMARISED = frozenset(
    {"event", "level", "timestamp", "exc_info", "exception", "pathname", "lineno", "func_name", "port", "call_id"}
    | {"stack"}
)
_SUMMARY_NAMES: Mapping[str, str] = MappingProxyType(
    {"caller_id": "caller", "caller_name": "name", "exit_status": "exit", "duration_s": "duration"}
)
#: How a call record's caller ID says the number was not sent.
_WITHHELD: Mapping[str, str] = MappingProxyType({"P": "a withheld number", "O": "out of area"})
_PRINTABLE = re.compile(r"[ -~]*")
#: Printable ASCII without the backslash: text :func:`printable` returns as it is (when short enough).
_UNCHANGED = re.compile(r"[ -\[\]-~]*")


def printable(text: str, limit: int = MAX_VALUE_CHARS) -> str:
    r"""``text`` with every non-printable or non-ASCII character escaped, capped at ``limit`` characters.

    >>> printable("NO CARRIER\r\n\x1b[2J")
    'NO CARRIER\\r\\n\\x1b[2J'
    """
    if len(text) <= limit and _UNCHANGED.fullmatch(text):
        # The usual value (an event's port, status, CONNECT): nothing to escape or cut. sanitize() runs this on
        # every string of every record, about 60 a call: the loop below took 7 us for a 60-character status.
        return text
    out = []
    size = 0
    for ch in text:
        if ch == "\\":
            piece = "\\\\"  # escaped, so a typed "\x1b" cannot pass for a real escape sequence
        elif " " <= ch <= "~":
            piece = ch
        elif ch == "\r":
            piece = "\\r"
        elif ch == "\n":
            piece = "\\n"
        else:
            code = ord(ch)
            if code < 0x100:
                piece = f"\\x{code:02x}"
            elif code < 0x10000:
                piece = f"\\u{code:04x}"
            else:
                piece = f"\\U{code:08x}"
        size += len(piece)
        if size > limit:
            out.append("...")
            break
        out.append(piece)
    return "".join(out)


def bounded_text(value: Any, limit: int = MAX_VALUE_CHARS) -> str:
    """``value`` as printable text of at most ``limit`` characters (and ``...``); escaped only if needed."""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = value if isinstance(value, str) else str(value)
    if _PRINTABLE.fullmatch(text):
        # Already printable (sanitize() ran, or nothing to escape): only cap it, never escape twice.
        return text if len(text) <= limit + len("...") else text[:limit] + "..."
    return printable(text, limit)


def _summary_value(key: str, value: Any) -> str:
    if key.endswith("_s") and isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.1f}s" if isinstance(value, float) else f"{value}s"
    text = bounded_text(value, MAX_SUMMARY_VALUE_CHARS)
    if not text or any(ch in text for ch in ' "='):
        return '"' + text.replace('"', '\\"') + '"'
    return text


def _summary(event: str, event_dict: Mapping[str, Any]) -> str:
    keys = [k for k in event_dict if k not in _NOT_SUMMARISED]
    parts = [event]
    for key in keys:
        value = event_dict.get(key)
        if value is None:
            continue
        name = _SUMMARY_NAMES.get(key, key.removesuffix("_s") if key.endswith("_s") else key)
        parts.append(f"{bounded_text(name, MAX_SUMMARY_VALUE_CHARS)}={_summary_value(key, value)}")
    return " ".join(parts)


def _fact(event_dict: Mapping[str, Any], key: str, limit: int = MAX_SUMMARY_VALUE_CHARS) -> str | None:
    value = event_dict.get(key)
    return None if value is None or value == "" else bounded_text(value, limit)


def _which_call(event_dict: Mapping[str, Any], *, caller: bool = True) -> str:
    """``call 12 on ttyUSB0 from 5551234 (JOHN DOE)``: the call, as far as the record knows it."""
    words = ["call"]
    call_id, port = _fact(event_dict, "call_id"), _fact(event_dict, "port")
    if call_id is not None:
        words.append(call_id)
    if port is not None:
        words.append(f"on {port}")
    number = _fact(event_dict, "caller_id") if caller else None
    if number is not None:
        words.append("from " + _WITHHELD.get(number, number))
    name = _fact(event_dict, "caller_name") if caller else None
    if name is not None:
        words.append(f"({name})")
    return " ".join(words)


def _duration(value: Any) -> str:
    if not isinstance(value, int | float) or isinstance(value, bool):
        return bounded_text(value, MAX_SUMMARY_VALUE_CHARS)
    return f"{value:.1f} s" if value < 10 else f"{value:.0f} s"


def _call_ended(event_dict: Mapping[str, Any]) -> str:
    text = f"{_which_call(event_dict)} ended: {_fact(event_dict, 'outcome') or 'unknown outcome'}"
    if event_dict.get("duration_s") is not None:
        text += f" after {_duration(event_dict['duration_s'])}"
    connect = _fact(event_dict, "connect")
    if connect is not None:
        text += f" at {connect}"
    about = []
    user = _fact(event_dict, "user")
    if user is not None:
        about.append(f"user {user}")
    program = _fact(event_dict, "program", MAX_SUMMARY_PATH_CHARS)
    if program is not None:
        about.append(program)
    exit_status = event_dict.get("exit_status")
    if exit_status is not None and exit_status != 0:
        about.append(f"exit status {bounded_text(exit_status, MAX_SUMMARY_VALUE_CHARS)}")
    signal = _fact(event_dict, "signal")
    if signal is not None:
        about.append(f"signal {signal}")
    if about:
        text += f" ({', '.join(about)})"
    detail = _fact(event_dict, "detail", MAX_SUMMARY_DETAIL_CHARS)
    return text + (f"; {detail}" if detail is not None else "")


def _call_connected(event_dict: Mapping[str, Any]) -> str:
    text = f"{_which_call(event_dict, caller=False)} connected"
    connect = _fact(event_dict, "connect")
    if connect is not None:
        text += f" at {connect}"
    rings = event_dict.get("rings")
    if isinstance(rings, int) and rings > 0:
        text += f" after {rings} ring{'s' if rings != 1 else ''}"
    return text


def _not_answered(why: str) -> Callable[[Mapping[str, Any]], str]:
    def sentence(event_dict: Mapping[str, Any]) -> str:
        reason = _fact(event_dict, "reason", MAX_SUMMARY_DETAIL_CHARS)
        return f"{_which_call(event_dict)} {why}" + (f": {reason}" if reason is not None else "")

    return sentence


def _modem_failed(event_dict: Mapping[str, Any]) -> str:
    port = _fact(event_dict, "port")
    text = f"the modem{f' on {port}' if port else ''} failed: {_fact(event_dict, 'reason') or 'unknown reason'}"
    detail = _fact(event_dict, "detail", MAX_SUMMARY_DETAIL_CHARS)
    return text + (f" ({detail})" if detail is not None else "") + "; the port's service stops"


def _warning(event_dict: Mapping[str, Any]) -> str:
    port = _fact(event_dict, "port")
    return (f"port {port}: " if port is not None else "") + bounded_text(event_dict["warning"])


#: The events whose ``MESSAGE`` is a sentence with the key facts first (the fields carry every value).
_SENTENCES: Mapping[str, Callable[[Mapping[str, Any]], str]] = MappingProxyType(
    {
        "call.ended": _call_ended,
        "call.connected": _call_connected,
        "call.rejected": _not_answered("rejected"),
        "call.busy_out": _not_answered("not answered, the line is busied out"),
        "modem.failed": _modem_failed,
    }
)


def journal_message(event: str, event_dict: Mapping[str, Any]) -> str:
    """The journal ``MESSAGE``: a sentence for the key events and warnings, else the event and its values."""
    sentence = _SENTENCES.get(event)
    if sentence is None and isinstance(event_dict.get("warning"), str):
        sentence = _warning
    return sentence(event_dict) if sentence is not None else _summary(event, event_dict)
