"""Harness (b): the caller-ID parser: classified lines merged into a record, and MESG (SDMF/MDMF) hex.

Three scripts, chosen by the first byte:

* raw hex text to :func:`decode_mesg` (blanks, odd lengths, non-hex, 10 kB);
* a *well-formed* packet built from the fuzz bytes (type, parameters, right checksum), so the search gets
  past the checksum: it must decode, the same with blanks between the hex pairs and in lower case, and not
  at all once one byte of it changes;
* a sequence of caller-ID lines (keyword table below + fuzz values) classified and merged.

Invariants (``answerd.core.hayes.cid``): never raises; every record is clean (numbers ``[0-9+*#]{1,32}``,
names printable ASCII without quotes, at most 64, dates and times four digits) and cleaning it again
changes nothing; a number is taken from the packet's number parameter and from nowhere else.
"""

from __future__ import annotations

from answerd.core.hayes.cid import CallerInfo, clean_number, decode_mesg, merge_caller_id
from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import CallerIdField, Ring
from fuzz.checks import check_caller_info, check_event
from fuzz.source import Source

__all__ = ["test_one_input"]

_KEYWORDS = (
    "NMBR = ",
    "NAME = ",
    "DATE = ",
    "TIME = ",
    "MESG = ",
    "DDN_NMBR = ",
    "CALLER NUMBER: ",
    "CALLER NAME: ",
    "CALLER'S NUMBER: ",
    "REASON FOR NO CALLER NUMBER: ",
    "REASON FOR NO CALLER NAME: ",
    "FM:",
    "TO:",
    "+CLIP: ",
    "RING;",
    "RING ",
    "RING/",
    "RING: ",
    "CallerID: ",
    "",
)
_PARAMETER_TYPES = (0x01, 0x02, 0x03, 0x04, 0x07, 0x08, 0x06, 0x80, 0x00, 0xFF)


def _packet(source: Source) -> tuple[bytes, bytes | None]:
    """A well-formed SDMF/MDMF packet with its checksum, and the raw number parameter it carries."""
    if source.flag():
        body = source.take(8) + source.chunk(40)
        packet = bytes((0x04, len(body))) + body
        number = body[8:] if len(body) >= 8 else None
    else:
        body = b""
        number = None
        for _ in range(source.int_in(0, 6)):
            kind = source.choice(_PARAMETER_TYPES)
            value = source.chunk(40)
            if kind == 0x02 and number is None:
                number = value
            body += bytes((kind, len(value))) + value
        body = body[:255]
        packet = bytes((0x80, len(body))) + body
    return packet + bytes(((-sum(packet)) % 256,)), number


def _check_packet(source: Source) -> None:
    packet, number = _packet(source)
    text = packet.hex().upper()
    info = decode_mesg(text)
    assert decode_mesg(" ".join(text[i : i + 2] for i in range(0, len(text), 2)).lower()) == info
    if info is not None:
        check_caller_info(info)
        if packet[0] == 0x80 and number is not None and info.number is not None:
            # MDMF: the number comes from the first 0x02 parameter only, cleaned, never invented.
            assert info.number == clean_number(number.decode("latin-1")), (info, number)
    position = source.int_in(0, len(packet) - 1)
    broken = bytearray(packet)
    broken[position] ^= source.int_in(1, 255)
    assert decode_mesg(bytes(broken).hex()) is None, "a packet with a bad checksum decoded"


def _check_lines(source: Source) -> None:
    info: CallerInfo | None = None
    while source.remaining:
        line = source.choice(_KEYWORDS) + source.text(120)
        # The splitter has already cleaned every line the classifier sees (printable, stripped).
        line = "".join(c for c in line if " " <= c <= "~").strip()
        event = classify(line)
        check_event(event, line)
        if isinstance(event, CallerIdField | Ring):
            info = merge_caller_id(info, event)
            check_caller_info(info)


def test_one_input(data: bytes) -> None:
    """Run the script the first byte selects; assert the caller-ID invariants."""
    source = Source(data)
    match source.byte() % 3:
        case 0:
            info = decode_mesg(source.rest().decode("latin-1"))
            if info is not None:
                check_caller_info(info)
        case 1:
            _check_packet(source)
        case _:
            _check_lines(source)
