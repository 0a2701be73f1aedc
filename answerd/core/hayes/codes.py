"""One line of modem output → one :data:`~answerd.core.hayes.events.ModemEvent`.

:func:`classify` is a pure function driven by tables. Rules:

1. **Content wins.** A line is recognised by what it says, whatever command is pending: a ``RING`` that
   arrives while ``ATZ`` waits for ``OK`` is a :class:`Ring`, never part of the command's response (the
   flaw python-gsmmodem has). ``pending`` is consulted for exactly one thing, echo detection, and only
   after every content rule has failed (commands start with ``AT`` and no result code does).
2. **Verbose and numeric.** answerd's init forces ``V1`` (verbose), but numeric (``V0``) codes are
   understood too, from the Hayes/Rockwell table every vendor agrees on up to 19 (see ``_NUMERIC_CONNECT``).
   Above 19 vendors disagree, so unknown numbers are :class:`Unknown`, never guessed.
3. **Digit-only lines.** ``"2"`` may be RING or a caller number. A line of 1-2 digits is a result code;
   3 or more digits is an ELINK-style caller number (mgetty ``cnd.c``). Consequently an ``ATI`` product
   code such as ``5601`` also reads as a caller number; the answer machine ignores caller-ID fields
   outside a ringing phase.
4. **Hostile values.** Everything after a keyword came over a phone line. Every value goes through the
   one sanitiser in :mod:`.cid`: numbers (RING caller/called, caller-ID ``number``/``called``) keep only
   ``0-9 + * #`` and are capped at 32 characters, except the private/out-of-area markers, which become
   ``"P"``/``"O"`` (so do the ``reason`` values). Text values are printable ASCII, without quotes,
   whitespace collapsed, capped at 64. The line itself is made printable here too, so even a direct call
   with control characters yields events that are safe to log.
5. **Case.** Keywords match case-insensitively (mgetty's table mixes ``CallerID:`` with ``NMBR =``).

Dialects, with the mgetty source that documents them (``rgwan/mgetty`` ``ring.c`` and ``cnd.c``):

* RING: ``RING``, ``2``; ``RING 1``…``RING 9`` and ``RING A``… (distinctive ring, A=1); ELSA/Diva
  ``RING;<from>[;<to>]``; isdn4linux ``RING/<msn>``; USR ``RING <number>``; Zoom MX ``RING: t DNd <from>``.
  ``RINGING`` (a dial-out progress message) is not a ring.
* V.253 cadence: ``DRON=n`` / ``DROF=n`` → :class:`RingCadence`.
* Caller ID (:class:`CallerIdField`, key ``number``/``name``/``date``/``time``/``message``/``reason``/
  ``called``): Rockwell ``NMBR = `` etc., ZyXEL ``CALLER NUMBER: ``, ``FM:<from> [TO:<to>]`` (only the
  number is returned: one line gives one event; the ``TO:`` part is dropped), ``TO:<msn>``, ``+CLIP:``
  (an empty number with CLI validity 1/2 becomes ``P``/``O``)… ``REASON FOR NO CALLER NAME:`` is a
  ``name`` of ``P``/``O``, as mgetty stores it in the name. ``MESG`` keeps the raw hex digits;
  :func:`~.cid.decode_mesg` decodes them (:func:`~.cid.merge_caller_id` does it on the way).
* Carrier reports before CONNECT (:class:`CarrierReport`): ``CARRIER``/``+MCR:`` → key ``carrier``,
  ``+MRR:`` → key ``rate`` (the V.250 receive rate), ``PROTOCOL:``/``+ER:`` → ``protocol``,
  ``COMPRESSION:``/``+DR:`` → ``compression``.

>>> classify("RING 2")
Ring(line='RING 2', distinctive=2, caller=None, called=None, service=None)
>>> classify("CONNECT 28800/ARQ/V34")
Connect(line='CONNECT 28800/ARQ/V34', rate=28800, suffixes=('ARQ', 'V34'), text='28800/ARQ/V34')
>>> classify("ATZ", pending="ATZ")
Echo(line='ATZ')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Final, TypeAlias

from answerd.core.hayes.cid import (
    MAX_MESG_HEX,
    MAX_NAME_LENGTH,
    MAX_NUMBER_LENGTH,
    absence_marker,
    clean_number,
    clean_text,
    decode_mesg,
)
from answerd.core.hayes.events import (
    CallerIdField,
    CarrierReport,
    Connect,
    Echo,
    Garbage,
    ModemEvent,
    Ok,
    Ring,
    RingCadence,
    Unknown,
    Verdict,
)

__all__ = ["classify"]

_Builder: TypeAlias = Callable[[str, re.Match[str]], ModemEvent]

#: Caps on values taken from a line (the line itself is already bounded by the splitter's ``max_line``).
_MAX_NUMBER: Final = MAX_NUMBER_LENGTH
_MAX_TEXT: Final = MAX_NAME_LENGTH
_MAX_HEX: Final = MAX_MESG_HEX

# --- Result codes -------------------------------------------------------------------------------------

#: Verbose text (whitespace collapsed, upper case) or numeric code → the ``Verdict`` code.
_VERDICTS: Final[dict[str, str]] = {
    "ERROR": "ERROR",
    "4": "ERROR",
    "NO CARRIER": "NO CARRIER",
    "3": "NO CARRIER",
    "BUSY": "BUSY",
    "7": "BUSY",
    "NO DIALTONE": "NO DIALTONE",
    "NO DIAL TONE": "NO DIALTONE",  # MultiTech, ZyXEL and Motorola manuals spell it with a space
    "6": "NO DIALTONE",
    "NO ANSWER": "NO ANSWER",
    "8": "NO ANSWER",
    # V.25ter X5 adds these; Rockwell-style numeric 24, 32 and 83 (personalities note §2, [MT-2456]).
    "DELAYED": "DELAYED",
    "BLACKLISTED": "BLACKLISTED",
    "LINE IN USE": "LINE IN USE",
}

#: Numeric ``CONNECT`` codes → rate (``None`` for plain ``1``). This is the table Hayes and Rockwell
#: chipsets share, e.g. the Archtek/Rockwell 5634RCS user's manual, table 2-1, and Tandy 14,400
#: faxback doc #3252. Codes above 19 differ per vendor (ZyXEL 13 = 14400, MultiTech 9 = 2400, Motorola
#: 9 = 7200), so they are deliberately left out: an unknown number is ``Unknown``, not a wrong rate.
_NUMERIC_CONNECT: Final[dict[str, int | None]] = {
    "1": None,
    "5": 1200,
    "9": 600,
    "10": 2400,
    "11": 4800,
    "12": 9600,
    "13": 7200,
    "14": 12000,
    "15": 14400,
    "16": 19200,
    "17": 38400,
    "18": 57600,
    "19": 115200,
}

# --- Value cleaning (the sanitiser itself lives in .cid, shared with the MESG decoder) ---------------

_NOT_HEX: Final = re.compile(r"[^0-9A-Fa-f]")


def _text(value: str, cap: int = _MAX_TEXT) -> str:
    """Make a text value printable ASCII, without quotes, whitespace collapsed, at most ``cap`` long."""
    return clean_text(value, cap)


def _marker_or(value: str, otherwise: Callable[[str], str]) -> str:
    """``"P"``/``"O"`` if ``value`` is a private/out-of-area marker, else ``otherwise(value)``."""
    marker = absence_marker(value)
    return otherwise(value) if marker is None else marker.value


def _number(value: str) -> str:
    """Clean a caller-ID number; private and out-of-area markers become ``"P"`` and ``"O"``."""
    return _marker_or(value, clean_number)


def _phone_or_none(value: str | None) -> str | None:
    """Like :func:`~.cid.clean_number`, but ``None`` for a missing or empty result."""
    if value is None:
        return None
    return clean_number(value) or None


# --- Builders: (line, match) → event ------------------------------------------------------------------

_RATE: Final = re.compile(r"([0-9]{1,9})(?![0-9])")
_WORD_SPLIT: Final = re.compile(r"[/\s]+")


def _connect(line: str, match: re.Match[str]) -> ModemEvent:
    """``CONNECT [<rate>][/<suffix>…]``; the rate is the leading number, the rest are suffix words."""
    text = match["text"] or ""
    rate: int | None = None
    rest = text
    found = _RATE.match(text)
    if found is not None:
        rate = int(found[1])
        rest = text[found.end() :]
    suffixes = tuple(word for word in _WORD_SPLIT.split(rest) if word)
    return Connect(line=line, rate=rate, suffixes=suffixes, text=text)


def _ring_elsa(line: str, match: re.Match[str]) -> ModemEvent:
    """ELSA/Diva ``RING;<from>[;<to>]``."""
    caller, _, called = match["rest"].partition(";")
    return Ring(line=line, caller=_phone_or_none(caller), called=_phone_or_none(called))


def _ring_msn(line: str, match: re.Match[str]) -> ModemEvent:
    """isdn4linux ``RING/<msn>``: the called number."""
    return Ring(line=line, called=_phone_or_none(match["to"]))


def _ring_zoom(line: str, match: re.Match[str]) -> ModemEvent:
    """Zoom MX ``RING: <t> DN<d> <from>``: distinctive ring ``d`` and the caller."""
    return Ring(line=line, distinctive=int(match["d"]), caller=_phone_or_none(match["from"]))


def _ring_digit(line: str, match: re.Match[str]) -> ModemEvent:
    """``RING 1``…``RING 9``: distinctive ring number."""
    return Ring(line=line, distinctive=int(match["d"]))


def _ring_letter(line: str, match: re.Match[str]) -> ModemEvent:
    """``RING A``…: distinctive ring by letter, A=1."""
    return Ring(line=line, distinctive=ord(match["d"].upper()) - ord("A") + 1)


def _ring_caller(line: str, match: re.Match[str]) -> ModemEvent:
    """USR ``RING <number>`` (two or more characters), or any other ``RING: …``: the caller."""
    return Ring(line=line, caller=_phone_or_none(match["from"]))


def _cadence(line: str, match: re.Match[str]) -> ModemEvent:
    """V.253 ``DRON=n`` / ``DROF=n``: ring on/off time in 100 ms units."""
    return RingCadence(line=line, on=match["which"].upper() == "ON", duration_ds=int(match["n"]))


def _cid(key: str) -> _Builder:
    """Return a builder for a caller-ID line whose ``value`` group holds the value for ``key``."""

    def build(line: str, match: re.Match[str]) -> ModemEvent:
        value = match["value"]
        if key in ("number", "called"):
            cleaned = _number(value)
        elif key == "message":
            cleaned = _NOT_HEX.sub("", value[: 2 * _MAX_HEX])[:_MAX_HEX]
        elif key == "reason":
            cleaned = _marker_or(value, _text)
        else:
            cleaned = _text(value)
        return CallerIdField(line=line, key=key, value=cleaned)

    return build


def _name_reason(line: str, match: re.Match[str]) -> ModemEvent:
    """ZyXEL ``REASON FOR NO CALLER NAME: <why>``: a ``name`` of ``P``/``O`` (mgetty puts it in CallName)."""
    return CallerIdField(line=line, key="name", value=_marker_or(match["value"], _text))


#: GSM 07.07 +CLIP "CLI validity" (6th field): 1 = withheld by the caller, 2 = not available.
_CLIP_VALIDITY: Final = {"1": "P", "2": "O"}


def _clip(line: str, match: re.Match[str]) -> ModemEvent:
    """``+CLIP: "<number>",<type>[,<subaddr>,<satype>[,<alpha>[,<validity>]]]``: the number, and the name.

    An empty number with a CLI validity of 1 or 2 is the private/out-of-area marker. The alpha field, where
    the network fills it, is the caller's name (``name`` of the event).
    """
    number = _number(match["value"])
    if not number:
        number = _CLIP_VALIDITY.get((match["validity"] or "").strip(), "")
    alpha = _text(match["alpha_quoted"] or match["alpha"] or "")
    named = any(char.isalnum() for char in alpha)  # punctuation alone (a line of commas and quotes) is no name
    return CallerIdField(line=line, key="number", value=number, name=alpha if named else None)


def _cring(line: str, match: re.Match[str]) -> ModemEvent:
    """``+CRING: <type>`` (a modem set to ``AT+CRC=1``): a ring that says what kind of call it is."""
    return Ring(line=line, service=" ".join(_text(match["type"]).upper().split()) or "?")


def _carrier(key: str) -> _Builder:
    """Return a builder for a carrier report line whose ``value`` group holds the value for ``key``."""

    def build(line: str, match: re.Match[str]) -> ModemEvent:
        return CarrierReport(line=line, key=key, value=_text(match["value"], _MAX_NUMBER))

    return build


def _row(pattern: str, builder: _Builder) -> tuple[re.Pattern[str], _Builder]:
    """Compile one table row; patterns are matched against the whole line, ASCII, any case."""
    return re.compile(pattern, re.IGNORECASE | re.ASCII), builder


def _cid_row(prefix: str, key: str) -> tuple[re.Pattern[str], _Builder]:
    """A caller-ID row: ``prefix`` (spaces match any whitespace), optional blanks, then the value."""
    return _row(prefix.replace(" ", r"\s+") + r"\s*(?P<value>.*)", _cid(key))


def _carrier_row(prefix: str, key: str) -> tuple[re.Pattern[str], _Builder]:
    """A carrier-report row: ``prefix``, optional blanks, then a non-empty value."""
    return _row(prefix + r"\s*(?P<value>\S.*)", _carrier(key))


#: The content rules, tried in order with ``fullmatch`` on the cleaned line. Plain result codes and
#: digit-only lines are dict lookups in :func:`classify` and never reach this table.
_ROWS: Final[tuple[tuple[re.Pattern[str], _Builder], ...]] = (
    # CONNECT: "CONNECT 28800/ARQ/V34/LAPM/V42BIS", "CONNECT 33600 EC/V42BIS", "CONNECT 9600/REL".
    _row(r"CONNECT(?:(?:\s+|(?=/))(?P<text>.*))?", _connect),  # USR X0 &A1: "CONNECT/ARQ"
    # RING dialects (mgetty ring.c: wait_for_ring, ring_handle_ELSA); "RINGING" matches none of them.
    # 3GPP TS 27.007 extended ring report (AT+CRC=1): "+CRING: REL ASYNC", "+CRING: VOICE" (note §5).
    _row(r"\+CRING:\s*(?P<type>.*)", _cring),
    _row(r"RING\s*;(?P<rest>.*)", _ring_elsa),
    _row(r"RING\s*/(?P<to>.*)", _ring_msn),
    _row(r"RING\s*:\s*(?:[0-9]+\s+)?DN(?P<d>[0-9]{1,3})(?:\s+(?P<from>.*))?", _ring_zoom),
    _row(r"RING\s+(?P<d>[0-9])", _ring_digit),
    _row(r"RING\s+(?P<d>[A-Z])", _ring_letter),
    _row(r"RING(?:\s*:\s*|\s+)(?P<from>.*)", _ring_caller),
    # V.253 distinctive-ring cadence reports.
    _row(r"DR(?P<which>ON|OF)\s*=\s*(?P<n>[0-9]{1,6})", _cadence),
    # Caller ID (mgetty cnd.c: cndtable, with the vendor each line came from).
    _cid_row(r"NMBR\s*=", "number"),  # Rockwell "NMBR = ", Digi/Zoom/ELSA "NMBR="
    _cid_row(r"NAME\s*=", "name"),
    _cid_row(r"DATE\s*=", "date"),
    _cid_row(r"TIME\s*=", "time"),
    _cid_row(r"TIME:", "time"),  # ZyXEL 1496
    _cid_row(r"MESG\s*=", "message"),  # Rockwell/Bell Canada, hex
    _cid_row(r"DDN_NMBR\s*=", "number"),  # some Rockwell chips
    _cid_row(r"CALLER NUMBER:", "number"),  # ZyXEL 1496
    _cid_row(r"CALLER NAME:", "name"),
    _cid_row(r"REASON FOR NO CALLER NUMBER:", "reason"),
    _row(r"REASON FOR NO CALLER NAME:\s*(?P<value>.*)", _name_reason),
    _cid_row(r"CALLED NUMBER:", "called"),  # isdn4linux
    _cid_row(r"CALLER'S NUMBER:", "number"),
    _cid_row(r"NBR\s*=", "number"),  # Kortex Adaptix
    _cid_row(r"CALLER\s*ID:", "number"),  # USR Courier (Russian firmware)
    _cid_row(r"DIVERTING NUMBER:", "number"),  # Telia/ZyXEL Omni; mgetty stores it as the caller
    _cid_row(r"NDID\s*=", "called"),
    # ZyXEL 2864(D)I "FM:<from> [TO:<to>]": the caller number only; "TO:<msn>" alone: the called number.
    _row(r"FM:\s*(?P<value>\S*)(?:\s+TO:.*)?", _cid("number")),
    _cid_row(r"TO:", "called"),
    # GSM/V.250 "+CLIP: "<number>",<type>[,<subaddr>,<satype>[,<alpha>[,<CLI validity>]]]".
    _row(
        r"\+CLIP:\s*\"?(?P<value>[^\",]*)\"?"
        r"(?:,[^,]*(?:,[^,]*,[^,]*(?:,(?:\"(?P<alpha_quoted>[^\"]*)\"|(?P<alpha>[^,]*))(?:,(?P<validity>[^,]*))?)?)?.*)?",
        _clip,
    ),
    # Rockwell "CARRIER/PROTOCOL/COMPRESSION" and V.250 +MR/+ER/+DR reports before CONNECT.
    _carrier_row(r"CARRIER\s", "carrier"),
    _carrier_row(r"PROTOCOL:", "protocol"),
    _carrier_row(r"COMPRESSION:", "compression"),
    _carrier_row(r"\+MCR:", "carrier"),
    _carrier_row(r"\+MRR:", "rate"),
    _carrier_row(r"\+ER:", "protocol"),
    _carrier_row(r"\+DR:", "compression"),
)

_DIGITS: Final = re.compile(r"[0-9]+")
#: An unformatted caller-ID line (V.253 ``+VCID=2``, Rockwell ``#CID=2``): the packet in hex, nothing else.
_HEX_PACKET: Final = re.compile(r"(?:[0-9A-F]{2}){4,}")
_WHITESPACE: Final = re.compile(r"\s+")


def _squash(text: str) -> str:
    """Upper-case ``text`` and remove all whitespace, for comparing a line with the pending command."""
    return _WHITESPACE.sub("", text).upper()


def classify(line: str, *, pending: str | None = None, numeric: Mapping[str, str] | None = None) -> ModemEvent:
    """Classify one line of modem output by its content.

    Args:
        line: one line from :class:`~answerd.core.hayes.lines.LineSplitter` (any string is accepted; it is
            made printable and stripped first).
        pending: the command line last sent and not yet answered (``"ATZ"``), or ``None``. Used only to
            recognise the command's echo.
        numeric: the modem is in ``V0``: its family's numeric codes (:func:`~.numeric.numeric_codes`).
            A line of digits is then looked up there and nothing else: a number the table lacks is
            :class:`Unknown`, never a caller number. ``None`` (a ``V1`` modem): the codes every vendor
            shares up to 19 are read, and three or more digits are an ELINK-style caller number.

    Returns:
        Exactly one event; :class:`Unknown` if no rule matches. Never raises on modem input.

    >>> classify("RING;0891234;5678")
    Ring(line='RING;0891234;5678', distinctive=0, caller='0891234', called='5678', service=None)
    >>> classify("NMBR = 5551234")
    CallerIdField(line='NMBR = 5551234', key='number', value='5551234', name=None)
    >>> classify("12")
    Connect(line='12', rate=9600, suffixes=(), text='9600')
    """
    if not line.isprintable():
        line = "".join(char for char in line if char.isprintable())
    line = line.strip()
    key = " ".join(line.split()).upper()

    if key in ("OK", "0"):
        return Ok(line=line)
    if key in ("RING", "2"):
        return Ring(line=line)
    verdict = _VERDICTS.get(key)
    if verdict is not None:
        return Verdict(code=verdict, line=line)
    numeric_text = numeric.get(key.lstrip("0") or "0") if numeric is not None and _DIGITS.fullmatch(key) else None
    if numeric_text is not None:
        event = classify(numeric_text)
        return event if isinstance(event, Garbage) else replace(event, line=line)
    if _HEX_PACKET.fullmatch(key) and decode_mesg(key) is not None:
        # The whole SDMF/MDMF packet (8 hex digits or more, longer than any result code) with a correct
        # checksum: random digits or text cannot pass for one by chance.
        return CallerIdField(line=line, key="message", value=key[:_MAX_HEX])
    if numeric is not None and _DIGITS.fullmatch(key):
        return Unknown(line=line)
    if _DIGITS.fullmatch(key):
        if key in _NUMERIC_CONNECT:
            # Numeric codes carry no text; ``text`` is the rate the verbose form would have shown,
            # because that is what the session's $CONNECT should say.
            rate = _NUMERIC_CONNECT[key]
            return Connect(line=line, rate=rate, text="" if rate is None else str(rate))
        if len(key) >= 3:
            # ELINK 301 (ISDN) sends the caller number on a line of its own (mgetty cnd.c).
            return CallerIdField(line=line, key="number", value=clean_number(key))
        return Unknown(line=line)

    for pattern, build in _ROWS:
        match = pattern.fullmatch(line)
        if match is not None:
            return build(line, match)

    if pending is not None and key and _squash(line) == _squash(pending):
        return Echo(line=line)
    return Unknown(line=line)
