r"""What the modem said about the link: line rate, DTE rate, modulation, protocol, compression.

Modems describe a connection in one of three ways (the project's modem-personalities note, §1, §2, §7.6):

* **separate reports before CONNECT** — Rockwell/Conexant ``W1``: ``CARRIER 33600``, ``PROTOCOL: LAP-M``,
  ``COMPRESSION: V.42BIS``, then ``CONNECT 115200``, which is then the *DTE* rate (the computer-to-modem
  rate) [CPQ-CNX]; the V.250 forms ``+MCR: V34``, ``+MRR: 28800``, ``+ER: LAPM``, ``+DR: V42B`` [LEN-T420];
* **one line with suffixes** — USR ``&A2``/``&A3``: ``CONNECT 28800/ARQ/V34/LAPM/V42BIS``, whose rate is the
  line rate [USR-C34]; Intel/Creatix ``W3``: ``CONNECT 115200/V34/LAPM/V42B/TX=28800/RX=28000`` (DTE rate
  first, line rates as ``TX=``/``RX=``) [INTEL-MD566X];
* **a bare rate** — ``CONNECT 115200`` or ``CONNECT 28800``: W0 shows the DTE rate, W2 the line rate, and
  nothing on the line says which, so :func:`link_info` does not guess (both rates stay ``None``; the
  CONNECT text still has the number).

:func:`mgetty_connect` gives the CONNECT text in the form mgetty hands to programs (``$CONNECT``, ``\I``):
the text after ``CONNECT``, and when a modem sent carrier reports, ``<text>/<carrier> <protocol>`` — mgetty
``cnd.c`` keeps the last ``CARRIER``/``+MCR:`` value and the last ``PROTOCOL:``/``+MRR:`` value and joins them
so (``115200/33600 LAP-M``).

>>> from answerd.core.hayes.codes import classify
>>> reports = [classify(line) for line in ("CARRIER 33600", "PROTOCOL: LAP-M", "COMPRESSION: V.42BIS")]
>>> link_info(reports, classify("CONNECT 115200"))
LinkInfo(line_rate=33600, dte_rate=115200, modulation=None, protocol='LAP-M', compression='V.42BIS')
>>> mgetty_connect(reports, classify("CONNECT 115200"))
'115200/33600 LAP-M'
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from answerd.core.hayes.events import CarrierReport, Connect

__all__ = ["LinkInfo", "link_info", "mgetty_connect"]

_LEADING_RATE: Final = re.compile(r"\s*([0-9]{3,6})(?![0-9])")
#: CONNECT suffix words ([USR-C34] ``&A2``/``&A3`` lists; the W3 example's ``V42B``).
_MODULATIONS: Final = frozenset({"V32", "V34", "VFC", "V90", "V92", "HST"})
_PROTOCOLS: Final = frozenset({"LAPM", "MNP", "HST", "SYNC", "NONE"})
_COMPRESSIONS: Final = frozenset({"V42BIS", "V42B", "MNP5"})
_SPLIT_RATE: Final = re.compile(r"(TX|RX)=([0-9]{3,6})", re.IGNORECASE)


@dataclass(frozen=True, slots=True, kw_only=True)
class LinkInfo:
    """The connection as the modem described it; every field ``None`` where it said nothing.

    Args:
        line_rate: the modem-to-modem rate in bit/s (``CARRIER``, ``+MRR:``, ``RX=``, a USR suffixed CONNECT).
        dte_rate: the computer-to-modem rate: CONNECT's number when the line rate came separately.
        modulation: ``V34``, ``VFC``... (``+MCR:``, a USR or W3 suffix).
        protocol: error control (``LAP-M``, ``LAPM``, ``MNP``, ``NONE``...), as the modem spelt it.
        compression: ``V.42BIS``, ``V42B``, ``MNP5``, ``NONE``..., as the modem spelt it.
    """

    line_rate: int | None = None
    dte_rate: int | None = None
    modulation: str | None = None
    protocol: str | None = None
    compression: str | None = None


def _rate(value: str) -> int | None:
    found = _LEADING_RATE.match(value)
    return None if found is None else int(found[1])


def link_info(reports: Sequence[CarrierReport], connect: Connect) -> LinkInfo:
    """Combine the carrier reports that came before CONNECT with CONNECT itself.

    Later reports win over earlier ones; a separate report wins over a CONNECT suffix.
    """
    line_rate: int | None = None
    modulation = protocol = compression = None
    for report in reports:
        value = report.value
        match report.key:
            case "carrier":  # "CARRIER 33600" or "+MCR: V34"
                rate = _rate(value)
                if rate is None:
                    modulation = value
                else:
                    line_rate = rate
            case "rate":  # "+MRR: 28800"
                line_rate = _rate(value) or line_rate
            case "protocol":
                protocol = value
            case "compression":
                compression = value
    separate_rate = line_rate is not None
    split = {side.upper(): int(rate) for side, rate in _SPLIT_RATE.findall(connect.text)}
    if line_rate is None and split:
        line_rate = split.get("RX", split.get("TX"))
    suffix_modulation = suffix_protocol = suffix_compression = None
    for word in (word.upper() for word in connect.suffixes):
        if word in _MODULATIONS and suffix_modulation is None:
            suffix_modulation = word
        elif word in _PROTOCOLS and suffix_protocol is None:
            suffix_protocol = word
        elif word in _COMPRESSIONS and suffix_compression is None:
            suffix_compression = word
    dte_rate: int | None = None
    if separate_rate or split:
        dte_rate = connect.rate  # W1 / W3: CONNECT shows the DTE rate
    elif suffix_modulation is not None:
        line_rate = connect.rate  # USR &A2/&A3: CONNECT shows the connection rate
    return LinkInfo(
        line_rate=line_rate,
        dte_rate=dte_rate,
        modulation=modulation or suffix_modulation,
        protocol=protocol or suffix_protocol,
        compression=compression or suffix_compression,
    )


def mgetty_connect(reports: Sequence[CarrierReport], connect: Connect) -> str:
    """The CONNECT text as mgetty passes it on (``$CONNECT``, ``\\I``); see the module docstring.

    A bare ``CONNECT`` (numeric ``1``) gives ``""``, as in mgetty, whose table only matches ``"CONNECT "``.
    """
    text = connect.text
    if not text:
        return ""
    carrier = protocol = ""
    for report in reports:
        keyword = report.line.split(":", 1)[0].split(" ", 1)[0].upper()
        if keyword in ("CARRIER", "+MCR"):
            carrier = report.value
        elif keyword in ("PROTOCOL", "+MRR"):
            # mgetty stores PROTOCOL: and +MRR: in the same variable (cnd.c: "ELSA does it similarily").
            protocol = report.value
    if not carrier and not protocol:
        return text
    return f"{text}/{carrier} {protocol}".rstrip()
