"""Caller-ID encoding: the dialects a modem uses to tell the computer who is calling.

The formatted dialects are text lines (Rockwell ``NMBR = ...``, ZyXEL ``FM:...``, GSM ``+CLIP: ...``); the
unformatted ones are the whole Bellcore packet in hex (``MESG = 80...`` for MDMF, ``04...`` for SDMF), with
its two's-complement checksum, as V.253 ``+VCID=2`` presents it. The dialects and the modems that send them
are mgetty's (``cnd.c``). Everything here is a pure function of its arguments.
"""

from __future__ import annotations

import enum

__all__ = ["CidFormat", "caller_id_lines", "mdmf_packet", "sdmf_packet"]


class CidFormat(enum.Enum):
    """How the simulated modem presents caller ID: one dialect per family answerd must understand.

    ``ELSA`` replaces the first caller-ID burst with ``RING;<number>`` on every ring instead.
    """

    #: Rockwell ``#CID=1``/V.253 ``+VCID=1``: ``DATE = ``, ``TIME = ``, ``NMBR = ``, ``NAME = `` lines
    #: (``+VCID=2``/``#CID=2`` from the DTE switches it to ``MDMF``, as on the real chips).
    ROCKWELL = "rockwell"
    #: ``MESG = <hex>``: the whole Bellcore MDMF packet (type 0x80, date/time, number, name, checksum).
    MDMF = "mdmf"
    #: ``MESG = <hex>``: the whole Bellcore SDMF packet (type 0x04, ``MMDDHHMM`` + number, checksum).
    SDMF = "sdmf"
    #: ELSA/Diva ``RING;<number>`` instead of ``RING`` (verbose mode), no separate caller-ID lines.
    ELSA = "elsa"
    #: ZyXEL 2864(D)I ``FM:<number>``.
    ZYXEL = "zyxel"
    #: GSM/V.250 ``+CLIP: "<number>",<type>`` (129 national, 145 with a leading ``+``).
    CLIP = "clip"
    #: Huawei ``+CLIP: "<number>",<type>,,,,<CLI validity>`` (three empty fields, validity 0 = valid).
    CLIP_HUAWEI = "clip_huawei"
    #: ``DDN_NMBR= <number>`` (some Rockwell chips; mgetty's table).
    DDN = "ddn"
    #: Alias of ``DDN`` (the name the operator docs use).
    US_ROBOTICS = "ddn"
    #: ZyXEL 1496 ``CALLER NUMBER: `` and ``CALLER NAME: ``.
    CALLER_NUMBER = "caller_number"
    #: Kortex Adaptix ``NBR=<number>``.
    NBR = "nbr"
    #: ELINK 301 ISDN: a line of only the number's digits.
    DIGITS = "digits"
    #: Rockwell lines with ``NMBR = P`` (the caller withheld the number); needs no caller number.
    PRIVATE = "private"
    #: Rockwell lines with ``NMBR = O`` (out of area / unavailable); needs no caller number.
    OUT_OF_AREA = "out_of_area"

    @classmethod
    def from_name(cls, text: str) -> CidFormat:
        """The format called ``text`` (any case, ``-`` for ``_``: ``us-robotics``).

        Raises:
            ValueError: no format has that name; the message lists every name.
        """
        try:
            return cls[text.strip().upper().replace("-", "_")]
        except KeyError:
            names = ", ".join(name.lower() for name in cls.__members__)
            raise ValueError(f"unknown caller-ID format {text!r}; choose one of: {names}") from None

    @property
    def withheld(self) -> bool:
        """Whether the format stands for a caller who sent no number (so none is needed)."""
        return self in (CidFormat.PRIVATE, CidFormat.OUT_OF_AREA)


def caller_id_lines(fmt: CidFormat, *, number: str, name: str | None, date: str, time: str) -> list[str]:
    """The caller-ID burst in ``fmt``, one text line each (empty for ``ELSA``, which puts it on the RINGs).

    Args:
        fmt: the dialect.
        number: the caller's number ("" when withheld).
        name: the caller's name, if the network sent one.
        date: ``MMDD``.
        time: ``HHMM``.

    >>> caller_id_lines(CidFormat.ZYXEL, number="5551234", name=None, date="0101", time="1200")
    ['FM:5551234']
    """
    match fmt:
        case CidFormat.ROCKWELL | CidFormat.PRIVATE | CidFormat.OUT_OF_AREA:
            shown = {CidFormat.PRIVATE: "P", CidFormat.OUT_OF_AREA: "O"}.get(fmt, number)
            lines = [f"DATE = {date}", f"TIME = {time}", f"NMBR = {shown}"]
            if name:
                lines.append(f"NAME = {name}")
            return lines
        case CidFormat.MDMF:
            return [f"MESG = {mdmf_packet(date + time, number, name)}"]
        case CidFormat.SDMF:
            return [f"MESG = {sdmf_packet(date + time, number)}"]
        case CidFormat.ELSA:
            return []
        case CidFormat.ZYXEL:
            return [f"FM:{number}"]
        case CidFormat.CLIP:
            # 27.007: the name is the <alpha> field after two empty subaddress fields; left out when none.
            alpha = f',,,"{_quotable(name)}"' if name else ""
            return [f'+CLIP: "{number}",{145 if number.startswith("+") else 129}{alpha}']
        case CidFormat.CLIP_HUAWEI:
            alpha = f'"{_quotable(name)}"' if name else ""
            return [f'+CLIP: "{number}",{145 if number.startswith("+") else 129},,,{alpha},0']
        case CidFormat.DDN:
            return [f"DDN_NMBR= {number}"]
        case CidFormat.CALLER_NUMBER:
            lines = [f"CALLER NUMBER: {number}"]
            if name:
                lines.append(f"CALLER NAME: {name}")
            return lines
        case CidFormat.NBR:
            return [f"NBR={number}"]
    return [number]  # CidFormat.DIGITS


def _packet(kind: int, body: bytes) -> str:
    """A Bellcore caller-ID packet in hex: type, length, body (at most 255 bytes), two's-complement checksum."""
    body = body[:255]
    packet = bytes([kind, len(body)]) + body
    return (packet + bytes([(-sum(packet)) & 0xFF])).hex().upper()


def sdmf_packet(datetime: str, number: str) -> str:
    """Bellcore SDMF caller-ID message (type 0x04): ``MMDDHHMM`` and the number, in hex."""
    return _packet(0x04, (datetime + number).encode("ascii", "replace"))


def mdmf_packet(datetime: str, number: str, name: str | None) -> str:
    """Bellcore MDMF caller-ID message (type 0x80) in hex, as V.253 ``+VCID=2`` presents it.

    Each value is cut to 80 bytes so the body always fits the one-byte length.
    """
    body = bytearray()
    for tag, value in ((0x01, datetime), (0x02, number), (0x07, name)):
        if value:
            raw = value.encode("ascii", "replace")[:80]
            body += bytes([tag, len(raw)]) + raw
    return _packet(0x80, bytes(body))


def _quotable(text: str) -> str:
    """``text`` without double quotes, which would end a ``+CLIP`` string field early."""
    return text.replace('"', "")
