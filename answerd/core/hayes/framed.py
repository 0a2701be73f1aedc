r"""What the modem itself says while the line is online: the one definition every online stage uses.

After CONNECT the line carries the caller's bytes, but the modem still talks on it: ``NO CARRIER`` when the
caller hangs up, ``RING`` if it gets confused, ``OK`` after a reset. A stage that reads the caller (the
login dialog now, a relay mode later) must tell those apart from the caller's typing, and must never take
them for input. Two rules, kept here so every stage applies the same ones:

* :func:`modem_text` — is this *line* something the modem says? Every result code and unsolicited report
  :func:`~.codes.classify` knows (``OK``, ``NO CARRIER``, ``RING 2``, ``CONNECT 9600``, ``NMBR = 555``,
  ``CARRIER 28800``...), in its verbose form, with its keyword in upper case as modems send it (so a user
  called ``ok`` or ``busy`` is still a user). Digit-only lines are numeric result codes only when the modem
  is known to be in ``V0``; otherwise ``3`` is just a name.
* :class:`FramedResultDetector` — fed the raw bytes in any chunking, it reports each *framed* result:
  ``CR LF <modem text> CR LF`` (verbose, how a ``V1`` modem frames every result), and, in ``V0``,
  ``CR <code> CR``. Its memory is bounded by the longest line it looks for.

>>> detector = FramedResultDetector()
>>> detector.feed(b"partial\r\nNO CARRIER\r\n")
[FramedResult(text='NO CARRIER', line='NO CARRIER')]
>>> modem_text("joe"), modem_text("RING").text
(None, 'RING')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import Connect, Ok, Ring, Unknown, Verdict

__all__ = ["MAX_RESULT_LENGTH", "FramedResult", "FramedResultDetector", "modem_text"]

#: The longest modem line looked for (``CONNECT 115200/ARQ/V90/LAPM/V42BIS`` and caller-ID lines fit).
MAX_RESULT_LENGTH: Final = 80

_CR: Final = 0x0D
_LF: Final = 0x0A
_VERBOSE_FRAME: Final = re.compile(rb"\r\n([\x20-\x7e]{1,%d})\r\n\Z" % MAX_RESULT_LENGTH)
_NUMERIC_FRAME: Final = re.compile(rb"\r([0-9]{1,2})\r\Z")
#: The leading keyword of a line (``NO CARRIER``, ``+CLIP``, ``CALLER'S NUMBER``), up to its value.
_KEYWORD: Final = re.compile(r"[A-Za-z+' ]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class FramedResult:
    """One thing the modem said.

    Args:
        text: the canonical, verbose form (``NO CARRIER`` for numeric ``3``, ``OK`` for ``0``, ``CONNECT 9600``
            for ``12``), else the line as sent.
        line: the line as it arrived (printable ASCII).
    """

    text: str
    line: str


def modem_text(line: str, *, numeric: bool = False) -> FramedResult | None:
    """Return what the modem said if ``line`` is one of its results or reports, else ``None``.

    Args:
        line: one line (a typed name, or the text between a frame's CR LFs).
        numeric: the modem sends numeric (``V0``) result codes, so ``0``, ``3``, ``2``... are its words.
    """
    stripped = line.strip(" ")
    if not stripped:
        return None
    if stripped.isdigit():
        if not numeric:
            return None
        event = classify(stripped)
        if not isinstance(event, Ok | Verdict | Ring | Connect):
            return None  # 3+ digits are a caller number only inside a RING burst, not a result
    else:
        keyword = _KEYWORD.match(stripped)
        if keyword is None or keyword[0] != keyword[0].upper():
            return None
        event = classify(stripped)
        if isinstance(event, Unknown):
            return None
    match event:
        case Verdict(code=code):
            text = code
        case Ok():
            text = "OK"
        case Ring() if stripped.isdigit():
            text = "RING"
        case Connect(text=rate) if stripped.isdigit():
            text = f"CONNECT {rate}".strip()
        case _:
            text = stripped
    return FramedResult(text=text, line=stripped)


class FramedResultDetector:
    """Find framed modem results in a byte stream, in any chunking.

    Args:
        numeric: also report ``CR <code> CR`` (the modem is in ``V0``).

    Only the last ``MAX_RESULT_LENGTH + 4`` bytes are kept: enough for the longest frame looked for.
    """

    def __init__(self, *, numeric: bool = False) -> None:
        self._numeric = numeric
        self._tail = bytearray()
        self._keep = MAX_RESULT_LENGTH + 4

    def step(self, byte: int) -> FramedResult | None:
        """Take one byte; return the result whose frame it completes, if any."""
        tail = self._tail
        tail.append(byte)
        if len(tail) > 2 * self._keep:
            del tail[: -self._keep]
        if byte == _LF:
            frame = _VERBOSE_FRAME.search(tail)
        elif byte == _CR and self._numeric:
            frame = _NUMERIC_FRAME.search(tail)
        else:
            return None
        if frame is None:
            return None
        found = modem_text(frame[1].decode("ascii"), numeric=self._numeric)
        if found is not None:
            # The frame's closing CR LF may open the next one ("\r\nRING\r\nRING\r\n"): keep only that.
            self._tail = bytearray(b"\r\n" if byte == _LF else b"\r")
        return found

    def feed(self, data: bytes) -> list[FramedResult]:
        """Take bytes; return every result whose frame they complete, in order."""
        found = (self.step(byte) for byte in data)
        return [result for result in found if result is not None]
