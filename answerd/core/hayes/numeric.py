"""Numeric (``V0``) result codes, by modem family: each number as the verbose text it stands for.

Every family agrees on the basic codes (0-8 and 10); above that the numbers mean different things — USR's
``14`` is ``CONNECT/ARQ`` where a Rockwell part's ``14`` is ``CONNECT 12000`` — so a number is read with its
family's table and never guessed: a number the table does not list stays unknown (the classifier makes it
:class:`~.events.Unknown`, which the machine reports), and with a modem in ``V0`` a line of digits is never
taken for a caller number or a name.

Sources (keys of the project's modem-personalities note): the basic codes [USR-5631], [TANDY-3252],
[BB-MD403A], [WESTERMO-TD22]; USR's ``&A1``/``&A2``/``&A3`` numbers [USR-C34] pp.4-17/4-18 (``&A3`` uses the
``&A2`` numbers, so a numeric code cannot say LAPM/V42BIS); Rockwell/Conexant-style numbering [MT-2456],
[LEN-T420], [MAXTECH]; Rockwell ``W1`` intermediate codes 40-69 [WESTERMO-TD22], [TANDY-3252]. The
Rockwell table also keeps 9, 18 and 19, which answerd read before this table existed (Archtek/Rockwell
5634RCS user's manual table 2-1). Families whose tables the sources lack (Agere, Xecom, Huawei, generic
V.250) get the basic codes only.

>>> numeric_codes(ModemFamily.USR)["118"]
'CONNECT 28800/ARQ/V34'
>>> numeric_codes(ModemFamily.ROCKWELL)["84"]
'CONNECT 33600'
>>> "84" in numeric_codes(ModemFamily.V250)
False
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from answerd.core.hayes.family import ModemFamily

__all__ = ["BASIC_CODES", "numeric_codes"]

#: The codes every family shares. ``1`` is a plain ``CONNECT``: it carries no rate.
BASIC_CODES: Final[Mapping[str, str]] = {
    "0": "OK",
    "1": "CONNECT",
    "2": "RING",
    "3": "NO CARRIER",
    "4": "ERROR",
    "5": "CONNECT 1200",
    "6": "NO DIALTONE",
    "7": "BUSY",
    "8": "NO ANSWER",
    "10": "CONNECT 2400",
}


def _usr() -> dict[str, str]:
    """USR Courier ``&A1`` (``/ARQ``) and ``&A2`` (modulation) numbers, [USR-C34] pp.4-17/4-18."""
    codes = {"14": "CONNECT/ARQ"}
    arq = {15: 1200, 16: 2400, 17: 9600, 19: 4800, 22: 12000, 24: 7200, 26: 14400, 57: 16800, 88: 19200,
           94: 21600, 100: 24000, 104: 26400, 108: 28800}  # fmt: skip
    codes.update({str(code): f"CONNECT {rate}/ARQ" for code, rate in arq.items()})
    # Each pair is (without error control, with /ARQ), as 117 = 28800/V34 and 118 = 28800/ARQ/V34 show.
    pairs = {
        "V34": {28800: (117, 118), 26400: (115, 116), 24000: (113, 114), 21600: (111, 112), 19200: (148, 150),
                16800: (144, 146), 14400: (140, 142), 12000: (136, 138), 9600: (132, 134), 7200: (128, 130),
                4800: (124, 126), 2400: (120, 122)},
        "VFC": {28800: (109, 110), 26400: (105, 106), 24000: (101, 102), 21600: (97, 98)},
        "V32": {9600: (33, 37), 14400: (45, 46), 16800: (83, 84), 19200: (87, 90)},
    }  # fmt: skip
    for modulation, rates in pairs.items():
        for rate, (plain, with_arq) in rates.items():
            codes[str(plain)] = f"CONNECT {rate}/{modulation}"
            codes[str(with_arq)] = f"CONNECT {rate}/ARQ/{modulation}"
    return codes


def _rockwell() -> dict[str, str]:
    """Rockwell/Conexant-style numbers ([MT-2456], [LEN-T420], [MAXTECH]) and W1 intermediate codes."""
    rates = {9: 600, 11: 4800, 12: 9600, 13: 7200, 14: 12000, 15: 14400, 16: 19200, 17: 38400, 18: 57600,
             19: 115200, 59: 16800, 61: 21600, 62: 24000, 63: 26400, 64: 28800, 65: 31200, 84: 33600,
             91: 31200}  # fmt: skip
    codes = {str(code): f"CONNECT {rate}" for code, rate in rates.items()}
    codes.update({"24": "DELAYED", "32": "BLACKLISTED", "83": "LINE IN USE"})
    codes.update(
        {
            "40": "CARRIER 300",
            "44": "CARRIER 1200/75",
            "45": "CARRIER 75/1200",
            "46": "CARRIER 1200",
            "47": "CARRIER 2400",
            "66": "COMPRESSION: CLASS 5",
            "67": "COMPRESSION: V.42 bis",
            "69": "COMPRESSION: NONE",
        }
    )
    return codes


def _with_basic(extra: dict[str, str]) -> Mapping[str, str]:
    return {**extra, **BASIC_CODES}


_TABLES: Final[dict[ModemFamily, Mapping[str, str]]] = {
    ModemFamily.USR: _with_basic(_usr()),
    ModemFamily.ROCKWELL: _with_basic(_rockwell()),
    # MultiTech's SocketModem table is the Rockwell-style numbering (the note's §3 row points to §2).
    ModemFamily.MULTITECH: _with_basic(_rockwell()),
    ModemFamily.AGERE: BASIC_CODES,
    ModemFamily.XECOM: BASIC_CODES,
    ModemFamily.HUAWEI: BASIC_CODES,
    ModemFamily.V250: BASIC_CODES,
}


def numeric_codes(family: ModemFamily) -> Mapping[str, str]:
    """The numeric codes ``family`` sends, each mapped to the verbose text it stands for."""
    return _TABLES[family]
