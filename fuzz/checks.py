"""Invariants shared by several harnesses: what "clean" means for a value that came over the line."""

from __future__ import annotations

import re
from typing import Final

from answerd.core.hayes.cid import MAX_NAME_LENGTH, MAX_NUMBER_LENGTH, AbsenceReason, CallerInfo
from answerd.core.hayes.events import CallerIdField, CarrierReport, Connect, ModemEvent, Ring

__all__ = ["check_caller_info", "check_event", "printable"]

_PRINTABLE: Final = re.compile(r"[\x20-\x7e]*")
_NUMBER: Final = re.compile(rf"[0-9+*#]{{1,{MAX_NUMBER_LENGTH}}}")
_FOUR_DIGITS: Final = re.compile(r"[0-9]{4}")


def printable(text: str) -> bool:
    """Whether ``text`` is printable ASCII only (the rule for anything logged or shown)."""
    return _PRINTABLE.fullmatch(text) is not None


def check_caller_info(info: CallerInfo) -> None:
    """A ``CallerInfo`` is clean whatever built it, and cleaning it again changes nothing."""
    for number in (info.number, info.called):
        assert number is None or _NUMBER.fullmatch(number), number
    if info.name is not None:
        name = info.name
        assert printable(name), name
        assert 0 < len(name) <= MAX_NAME_LENGTH, name
        assert name == name.strip(), name
        assert not set(name) & set("\"'`"), name
    for value in (info.date, info.time):
        assert value is None or _FOUR_DIGITS.fullmatch(value), value
    assert info.number is None or info.reason_number is None, info
    assert info.name is None or info.reason_name is None, info
    for reason in (info.reason_number, info.reason_name):
        assert reason is None or isinstance(reason, AbsenceReason)
    again = CallerInfo(
        number=info.number,
        name=info.name,
        date=info.date,
        time=info.time,
        called=info.called,
        reason_number=info.reason_number,
        reason_name=info.reason_name,
    )
    assert again == info, (again, info)


def check_event(event: ModemEvent, line: str) -> None:
    """An event from ``classify(line)``: every string in it is printable, numbers are numbers."""
    text_line = getattr(event, "line", line)
    assert printable(text_line), event
    match event:
        case Ring(caller=caller, called=called):
            for number in (caller, called):
                assert number is None or number in ("P", "O") or _NUMBER.fullmatch(number), event
        case CallerIdField(key=key, value=value):
            assert key in {"number", "name", "date", "time", "called", "reason", "message"}, event
            assert printable(value), event
            if key in ("number", "called"):
                assert value in ("P", "O") or value == "" or _NUMBER.fullmatch(value), event
        case CarrierReport(value=value):
            assert printable(value), event
        case Connect(text=text, suffixes=suffixes):
            assert printable(text), event
            assert all(printable(s) for s in suffixes), event
        case _:
            pass
