"""Caller-ID values: the one sanitiser, SDMF/MDMF decoding, and merging classified lines into a call's record.

Everything here came over a phone line, so it is hostile until cleaned. There is exactly one cleaning path:
:func:`clean_number` and :func:`clean_text` (plus :func:`absence_marker` for the private/out-of-area
markers). The classifier (:mod:`.codes`) uses them for every value it takes from a line, the MESG decoder
uses them for every value it takes from a packet, and :class:`CallerInfo` applies them again when it is
built, so a ``CallerInfo`` is clean however it was made (they are idempotent).

* numbers keep only ``0-9 + * #`` and at most :data:`MAX_NUMBER_LENGTH` of them, after every terminal escape
  sequence has been removed *whole* (:func:`strip_escape_sequences`): the ``31`` of ``ESC [31m`` is not part
  of the number, and keeping it would fabricate a number that a caller filter such as ``!31`` then matches;
* text (names) is printable ASCII without quotes, whitespace collapsed, at most :data:`MAX_NAME_LENGTH`;
* ``P``/``O`` (and spelled-out forms such as ``PRIVATE``, ``OUT_OF_AREA``) are not numbers: they become
  ``number=None`` with :attr:`CallerInfo.reason_number` set, so the policy keyword ``none`` matches them.

  mgetty differs here: it stores the modem's text as it is (``NMBR = P`` gives ``CallerId = "P"``,
  cnd.c v4.25 lines 67 and 159; ``REASON FOR NO CALLER NUMBER:`` also writes ``CallerId``, line 46), and its
  ``none`` only matches the default value ``"none"`` (line 15), i.e. a call with no caller-ID line at all.
  A private caller therefore slips past mgetty's ``!none`` unless the operator also lists ``!P``. answerd
  folds all three cases into ``none`` and offers the ``private``/``out-of-area`` keywords for finer rules
  (see :mod:`._policy`).

SDMF and MDMF (Telcordia GR-30-CORE) as V.253 ``+VCID=2`` / Rockwell ``#CID=2`` present them, the whole
packet in hex after ``MESG = ``:

* byte 0: message type, ``0x04`` SDMF or ``0x80`` MDMF (others, e.g. message-waiting ``0x06``/``0x82``, carry
  no caller and are not decoded); byte 1: the length of the body; then the body; then one checksum byte,
  the two's complement of the sum of everything before it, so all bytes sum to 0 modulo 256;
* SDMF body: 8 ASCII digits ``MMDDHHMM``, then the number, or a single ``P`` (private) / ``O`` (out of area);
* MDMF body: parameters ``type, length, value``: ``0x01`` date/time (``MMDDHHMM``), ``0x02`` number,
  ``0x03`` dialable directory number (used as the number if there is no ``0x02``), ``0x04`` reason for
  absence of number (``P``/``O``), ``0x07`` name, ``0x08`` reason for absence of name; unknown types are
  skipped.

Rockwell's *formatted* mode prints a parameter it has no keyword for as ``MESG = <type><len><value>``
without header or checksum (Bell Canada's ``MESG = 030735353531323132`` is parameter ``0x03``, 7 bytes,
``5551212``; mgetty cnd.c v4.25 lines 178-222 decode only that case). :func:`decode_mesg` accepts such a lone
parameter too, but only when its length byte accounts for every byte exactly.

>>> decode_mesg("030735353531323132").number
'5551212'
>>> decode_mesg("040F303332313134303535353531323334F4")
CallerInfo(number='5551234', name=None, date='0321', time='1405', called=None, reason_number=None, reason_name=None)
>>> decode_mesg("040F303332313134303535353531323334F5") is None  # checksum off by one
True
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, fields, replace
from typing import Final

from answerd.core.hayes.events import CallerIdField, Ring

__all__ = [
    "MAX_NAME_LENGTH",
    "MAX_NUMBER_LENGTH",
    "AbsenceReason",
    "CallerInfo",
    "absence_marker",
    "caller_id_text",
    "clean_number",
    "clean_text",
    "decode_mesg",
    "merge_caller_id",
    "strip_escape_sequences",
]

#: Longest caller or called number kept (E.164 allows 15 digits; ISDN subaddress forms are longer).
MAX_NUMBER_LENGTH: Final = 32
#: Longest name or other text value kept (MDMF names are at most 15 characters).
MAX_NAME_LENGTH: Final = 64
#: Longest ``MESG`` hex text decoded: a full packet is type + length + 255 body bytes + checksum.
MAX_MESG_HEX: Final = 2 * (2 + 255 + 1)


class AbsenceReason(enum.StrEnum):
    """Why a number or name is missing (GR-30-CORE "reason for absence"; Rockwell ``NMBR = P``/``O``)."""

    #: The caller withheld it (``P``).
    PRIVATE = "P"
    #: The network could not deliver it (``O``, "out of area" / unavailable).
    OUT_OF_AREA = "O"


# --- the sanitiser ------------------------------------------------------------------------------------

_NOT_PHONE: Final = re.compile(r"[^0-9+*#]")
#: C0 controls and DEL other than ESC: ignored inside an escape sequence, as a terminal ignores them.
_CONTROLS_BUT_ESC: Final = re.compile(r"[\x00-\x1a\x1c-\x1f\x7f]")
#: ECMA-48 escape sequences, parameters and all: CSI (``ESC [``, or the 8-bit ``0x9B``) and ``ESC`` + a
#: parameter byte (``ESC 7``; with the parity bit masked, an 8-bit CSI reads as this) run over parameter
#: and intermediate bytes to their final byte (or the end, if cut off); ``ESC`` + intermediates + final
#: (``ESC ( 0``). ``ESC`` + a letter is left to the control-character rule (only the ESC goes): line noise
#: before a word must not eat its first letter.
_ESCAPE_SEQUENCE: Final = re.compile(
    r"(?:\x1b[\[\x30-\x3f]|\x9b)[\x30-\x3f]*[\x20-\x2f]*[\x40-\x7e]?|\x1b[\x20-\x2f]+[\x30-\x7e]?"
)
_NOT_PRINTABLE_ASCII: Final = re.compile(r"[^\x20-\x7e]")
_QUOTES: Final = re.compile(r"[\"'`]")
_NOT_DIGIT: Final = re.compile(r"[^0-9]")
_HEX: Final = re.compile(r"[0-9A-Fa-f]*")

#: Spellings of the markers seen from modems (Rockwell ``P``/``O``, ZyXEL ``OUT_OF_AREA``, GSM-ish words).
_MARKERS: Final[dict[str, AbsenceReason]] = {
    "P": AbsenceReason.PRIVATE,
    "PRIVATE": AbsenceReason.PRIVATE,
    "ANONYMOUS": AbsenceReason.PRIVATE,
    "WITHHELD": AbsenceReason.PRIVATE,
    "RESTRICTED": AbsenceReason.PRIVATE,
    "O": AbsenceReason.OUT_OF_AREA,
    "OUT OF AREA": AbsenceReason.OUT_OF_AREA,
    "OUT_OF_AREA": AbsenceReason.OUT_OF_AREA,
    "OUT-OF-AREA": AbsenceReason.OUT_OF_AREA,
    "UNAVAILABLE": AbsenceReason.OUT_OF_AREA,
    "UNKNOWN": AbsenceReason.OUT_OF_AREA,
}


def clean_text(value: str, cap: int = MAX_NAME_LENGTH) -> str:
    """Make ``value`` printable ASCII without quotes, whitespace collapsed, at most ``cap`` characters.

    >>> clean_text("'; rm -rf /\\x1b[2J")
    '; rm -rf / [2J'
    """
    cleaned = _QUOTES.sub("", _NOT_PRINTABLE_ASCII.sub(" ", value))
    return " ".join(cleaned.split())[:cap].rstrip()


def strip_escape_sequences(value: str) -> str:
    """Remove every terminal escape sequence from ``value`` whole, and the other control characters with it.

    What remains of ``ESC [31m`` must not be mistaken for data (the splitter applies this to every line).

    >>> strip_escape_sequences("\\x1b[31m555\\x1b[0m1234\\x1b7")
    '5551234'
    """
    if "\x1b" not in value and "\x9b" not in value:
        return _CONTROLS_BUT_ESC.sub("", value)
    return _ESCAPE_SEQUENCE.sub("", _CONTROLS_BUT_ESC.sub("", value)).replace("\x1b", "")


def clean_number(value: str) -> str:
    """Keep only ``0-9 + * #`` of ``value``, at most :data:`MAX_NUMBER_LENGTH` of them; escape sequences go whole.

    >>> clean_number("+1 (555) 123-4567; reboot")
    '+15551234567'
    >>> clean_number("\\x1b[31m5551234")
    '5551234'
    """
    return _NOT_PHONE.sub("", strip_escape_sequences(value[: 16 * MAX_NUMBER_LENGTH]))[:MAX_NUMBER_LENGTH]


def absence_marker(value: str) -> AbsenceReason | None:
    """The reason ``value`` stands for (``"P"``, ``"private"``, ``"OUT OF AREA"``…), else ``None``.

    >>> absence_marker(" out_of_area "), absence_marker("5551234")
    (<AbsenceReason.OUT_OF_AREA: 'O'>, None)
    """
    return _MARKERS.get(clean_text(value[:256]).upper())


def _digits(value: str | None, *lengths: int) -> str | None:
    """The digits of ``value`` if there are exactly one of ``lengths`` of them, else ``None``."""
    if value is None:
        return None
    digits = _NOT_DIGIT.sub("", value[:64])
    return digits if len(digits) in lengths else None


# --- the record ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerInfo:
    """What caller ID said about one call; every field is clean (see the module docstring).

    Building one cleans its arguments, so hostile values cannot get in through the constructor either: a
    number that is a marker (``"P"``) becomes ``number=None`` plus ``reason_number``, a number or name that
    cleans to nothing becomes ``None``, and a date or time that is not four digits is dropped. A present
    number clears ``reason_number`` (a number is not absent); likewise for the name.

    Args:
        number: the caller's number, or ``None`` if absent, withheld or unavailable.
        name: the caller's name, or ``None``.
        date: ``MMDD`` as the network sent it (the modem's clock is not involved), or ``None``.
        time: ``HHMM``, or ``None``.
        called: the number that was dialled (ISDN MSN, ``RING;<from>;<to>``), or ``None``.
        reason_number: why ``number`` is missing, if the network said so.
        reason_name: why ``name`` is missing, if the network said so.

    >>> CallerInfo(number="P").number, CallerInfo(number="P").reason_number
    (None, <AbsenceReason.PRIVATE: 'P'>)
    """

    number: str | None = None
    name: str | None = None
    date: str | None = None
    time: str | None = None
    called: str | None = None
    reason_number: AbsenceReason | None = None
    reason_name: AbsenceReason | None = None

    def __post_init__(self) -> None:
        number, reason_number = self.number, self.reason_number
        if reason_number is not None:
            reason_number = AbsenceReason(reason_number)
        if number is not None:
            marker = absence_marker(number)
            number = None if marker else clean_number(number) or None
            reason_number = None if number else marker or reason_number
        name, reason_name = self.name, self.reason_name
        if reason_name is not None:
            reason_name = AbsenceReason(reason_name)
        if name is not None:
            cleaned = clean_text(name)
            marker = _MARKERS.get(cleaned.upper()) if len(cleaned) == 1 else None
            name = None if marker else cleaned or None
            reason_name = None if name else marker or reason_name
        called = None if self.called is None else clean_number(self.called) or None
        object.__setattr__(self, "number", number)
        object.__setattr__(self, "reason_number", reason_number)
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "reason_name", reason_name)
        object.__setattr__(self, "called", called)
        object.__setattr__(self, "date", _digits(self.date, 4))
        object.__setattr__(self, "time", _digits(self.time, 4))

    @property
    def number_or_reason(self) -> str | None:
        """The number; else the reason marker ``P``/``O``; else ``None`` (the call record's ``caller_id``)."""
        if self.number is not None:
            return self.number
        return None if self.reason_number is None else self.reason_number.value

    @property
    def identified(self) -> bool:
        """Whether a caller number is known (``False`` is what the policy keyword ``none`` matches)."""
        return self.number is not None


def caller_id_text(caller: CallerInfo | None) -> str:
    """The caller ID as mgetty shows it (``\\Y``, ``CALLER_ID``, the decision program's 2nd argument).

    The number; else the reason marker ``P``/``O`` (what mgetty passes after ``NMBR = P``); else ``none``,
    mgetty's value for "no caller ID" (cnd.c v4.25 line 15).

    >>> caller_id_text(None), caller_id_text(CallerInfo(number="O")), caller_id_text(CallerInfo(number="42"))
    ('none', 'O', '42')
    """
    text = None if caller is None else caller.number_or_reason
    return "none" if text is None else text


# --- MESG (SDMF / MDMF) -------------------------------------------------------------------------------

_SDMF: Final = 0x04
_MDMF: Final = 0x80
_P_DATETIME: Final = 0x01
_P_NUMBER: Final = 0x02
_P_DIALABLE: Final = 0x03
_P_REASON_NUMBER: Final = 0x04
_P_NAME: Final = 0x07
_P_REASON_NAME: Final = 0x08
_KNOWN_PARAMETERS: Final = frozenset({_P_DATETIME, _P_NUMBER, _P_DIALABLE, _P_REASON_NUMBER, _P_NAME, _P_REASON_NAME})


def _ascii(raw: bytes) -> str:
    """Bytes from a packet as text; every byte maps to one character, the sanitiser does the rest."""
    return raw.decode("latin-1")


def _datetime(raw: bytes) -> tuple[str | None, str | None]:
    """``(MMDD, HHMM)`` from an 8-byte ``MMDDHHMM`` field; ``(None, None)`` unless it is exactly 8 digits."""
    text = _ascii(raw)
    if len(text) != 8 or _NOT_DIGIT.search(text):
        return None, None
    return text[:4], text[4:]


def _reason(raw: bytes) -> AbsenceReason | None:
    """A reason-for-absence value: ``P`` or ``O``; anything else means unavailable."""
    if not raw:
        return None
    return absence_marker(_ascii(raw)) or AbsenceReason.OUT_OF_AREA


def _from_parameters(parameters: list[tuple[int, bytes]]) -> CallerInfo | None:
    """Build a record from MDMF parameters (the first of each type wins; unknown types are ignored)."""
    seen: dict[int, bytes] = {}
    for kind, value in parameters:
        seen.setdefault(kind, value)
    number_raw = seen.get(_P_NUMBER, seen.get(_P_DIALABLE))
    date, time = _datetime(seen.get(_P_DATETIME, b""))
    info = CallerInfo(
        number=None if number_raw is None else _ascii(number_raw),
        name=None if _P_NAME not in seen else _ascii(seen[_P_NAME]),
        date=date,
        time=time,
        reason_number=_reason(seen.get(_P_REASON_NUMBER, b"")),
        reason_name=_reason(seen.get(_P_REASON_NAME, b"")),
    )
    return None if info == CallerInfo() else info


def _split_parameters(body: bytes) -> list[tuple[int, bytes]] | None:
    """Split an MDMF body into ``(type, value)`` pairs; ``None`` if a length runs past the end."""
    parameters: list[tuple[int, bytes]] = []
    index = 0
    while index < len(body):
        if index + 2 > len(body):
            return None
        kind, length = body[index], body[index + 1]
        end = index + 2 + length
        if end > len(body):
            return None
        parameters.append((kind, body[index + 2 : end]))
        index = end
    return parameters


def decode_mesg(hex_text: str) -> CallerInfo | None:
    """Decode the hex of a ``MESG = `` line (a whole SDMF/MDMF packet, or one lone MDMF parameter).

    Args:
        hex_text: hex digits, blanks allowed between them (what :func:`~.codes.classify` puts in a
            ``message`` field).

    Returns:
        The caller information, cleaned; ``None`` for anything that is not a well-formed packet with a
        correct checksum (odd length, non-hex, longer than :data:`MAX_MESG_HEX`, truncated, a bad
        checksum, an unknown message type) or that carries nothing about the caller. Never raises.

    >>> decode_mesg("80 0F 01 08 30 33 32 31 31 34 30 35 02 03 31 32 33 3D").number
    '123'
    """
    text = "".join(hex_text[: 2 * MAX_MESG_HEX].split())
    if not text or len(text) > MAX_MESG_HEX or len(text) % 2 or not _HEX.fullmatch(text):
        return None
    data = bytes.fromhex(text)
    kind = data[0]
    if kind in (_SDMF, _MDMF):
        if len(data) < 3 or len(data) != data[1] + 3 or sum(data) % 256:
            return None
        body = data[2:-1]
        if kind == _MDMF:
            parameters = _split_parameters(body)
            return None if parameters is None else _from_parameters(parameters)
        date, time = _datetime(body[:8])
        if date is None:
            return None
        return CallerInfo(number=_ascii(body[8:]) or None, date=date, time=time)
    if kind in _KNOWN_PARAMETERS and len(data) >= 2 and len(data) == data[1] + 2:
        return _from_parameters([(kind, data[2:])])
    return None


# --- merging classified lines -------------------------------------------------------------------------


def _overlay(base: CallerInfo, extra: CallerInfo) -> CallerInfo:
    """``base`` with every field that ``extra`` knows replaced (a number replaces a reason and back)."""
    changes: dict[str, object] = {}
    for spec in fields(extra):
        value = getattr(extra, spec.name)
        if value is not None:
            changes[spec.name] = value
    if extra.number is not None:
        changes["reason_number"] = None
    elif extra.reason_number is not None:
        changes["number"] = None
    if extra.name is not None:
        changes["reason_name"] = None
    elif extra.reason_name is not None:
        changes["name"] = None
    return replace(base, **changes) if changes else base  # type: ignore[arg-type]


def _field_info(field: CallerIdField) -> CallerInfo | None:
    """What one caller-ID line says, as a partial record (``None`` if it says nothing usable)."""
    value = field.value
    match field.key:
        case "number":
            return CallerInfo(number=value, name=field.name)  # +CLIP carries the name on the same line
        case "name":
            return CallerInfo(name=value)
        case "called":
            return CallerInfo(called=value)
        case "reason":
            if not clean_text(value):
                return None
            return CallerInfo(reason_number=absence_marker(value) or AbsenceReason.OUT_OF_AREA)
        case "date" | "time":
            both = _digits(value, 8)
            if both is not None:  # "TIME: 03-21 14:05" style: MMDDHHMM
                return CallerInfo(date=both[:4], time=both[4:])
            return CallerInfo(date=value) if field.key == "date" else CallerInfo(time=value)
        case "message":
            return decode_mesg(value)
        case _:
            return None


def merge_caller_id(info: CallerInfo | None, event: CallerIdField | Ring) -> CallerInfo:
    """Fold one caller-ID line (or a RING carrying numbers) into the call's record.

    Later lines win, as in mgetty (each line overwrites its variable, cnd.c v4.25 lines 156-168). A line
    whose value cleans to nothing (``NMBR = '; rm -rf /``) changes nothing; a ``MESG`` that does not decode
    changes nothing; ``P``/``O`` numbers and ``REASON FOR NO CALLER NUMBER:`` clear the number and set
    :attr:`CallerInfo.reason_number` (an unrecognised reason text counts as out of area / unavailable).

    Args:
        info: the record so far, or ``None`` at the first line of a call.
        event: a :class:`~.events.CallerIdField` from :func:`~.codes.classify`, or a
            :class:`~.events.Ring` (``RING;<from>;<to>`` and friends carry numbers).

    Returns:
        The updated record (``CallerInfo()`` if nothing is known yet).

    >>> from answerd.core.hayes.codes import classify
    >>> info = merge_caller_id(None, classify("NMBR = 5551234"))
    >>> merge_caller_id(info, classify("NAME = SMITH")).name
    'SMITH'
    """
    base = info if info is not None else CallerInfo()
    if isinstance(event, Ring):
        extra: CallerInfo | None = CallerInfo(number=event.caller, called=event.called)
    else:
        extra = _field_info(event)
    return base if extra is None else _overlay(base, extra)
