"""What the modem announces to the computer about a call: the caller-ID burst and the CONNECT lines.

Pure functions of the profile, the active settings and what the line told the modem (the caller's number, the
computer's port rate); the modem (:mod:`answerd.sim._modem`) decides *when* they are sent.
"""

from __future__ import annotations

from answerd.sim._caller_id import CidFormat, caller_id_lines
from answerd.sim._commands import Settings
from answerd.sim._profile import ModemProfile
from answerd.sim._types import Action, ResultCode, ToDte

__all__ = [
    "caller_id_burst",
    "caller_id_enabled",
    "capped",
    "connect_lines",
    "connect_reports",
    "connect_text",
    "fixed_rate_refusal",
    "framed_reports",
]

# What caller ID sends as date and time when the profile leaves them to the shell (the modem reads no clock).
_DEFAULT_CID_DATE = "0101"
_DEFAULT_CID_TIME = "1200"


def caller_id_enabled(profile: ModemProfile, settings: Settings, number: str | None) -> bool:
    """Whether a caller-ID burst goes out: switched on (or forced), delivered, and something to tell."""
    cid = profile.caller_id
    enabled = cid.delivered and (cid.force or settings.vcid or settings.cid or settings.clip)
    return bool(enabled and (number or cid.format.withheld))


def caller_id_burst(profile: ModemProfile, settings: Settings, number: str | None) -> bytes:
    """The caller-ID lines, each framed ``\\r\\n<line>\\r\\n`` (empty for ELSA, whose number rides on RING)."""
    cid = profile.caller_id
    # +VCID=2/#CID=2 ask a Rockwell chip for the unformatted (MDMF) packet; a forced burst stays formatted.
    unformatted = 2 in (settings.vcid, settings.cid) and not cid.force
    fmt = CidFormat.MDMF if cid.format is CidFormat.ROCKWELL and unformatted else cid.format
    date, time = cid.date or _DEFAULT_CID_DATE, cid.time or _DEFAULT_CID_TIME
    lines = caller_id_lines(fmt, number=number or "", name=cid.name, date=date, time=time)
    return b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines)


def connect_reports(connect: str) -> list[str]:
    """Rockwell ``W1``-style lines before ``CONNECT``, derived from its text (``33600/ARQ/V34/LAPM/V42BIS``)."""
    parts = connect.upper().split("/")
    rate = parts[0] if parts and parts[0].isdigit() else "33600"
    protocol = "LAP-M" if "LAPM" in parts else "ALT" if "MNP" in parts else "NONE"
    compression = "V.42BIS" if "V42BIS" in parts else "CLASS 5" if "MNP5" in parts else "NONE"
    return [f"CARRIER {rate}", f"PROTOCOL: {protocol}", f"COMPRESSION: {compression}"]


def capped(connect: str, cap: int | None) -> str:
    """``connect`` (``33600/ARQ/...``) with its leading rate held to ``cap``, as a speed cap (``+MS``) does."""
    rate, sep, rest = connect.partition("/")
    if cap is None or not rate.isdigit() or int(rate) <= cap:
        return connect
    return f"{cap}{sep}{rest}"


def _line_rate(profile: ModemProfile) -> int | None:
    """The best rate the simulated line carries: the leading number of ``results.connect`` (none: unknown)."""
    rate = profile.results.connect.partition("/")[0]
    return int(rate) if rate.isdigit() else None


def fixed_rate_refusal(profile: ModemProfile, settings: Settings) -> str | None:
    """Why a call cannot connect at ``&Nn``'s fixed rate (the line does not reach it), or ``None``.

    The simulated line carries any rate up to the profile's CONNECT rate, so a fixed rate at or below it is
    the rate the far end runs at too; one above it is a far end "not operating at the same rate", and the
    modem hangs up (modem-personalities: §1 "&N (link rate)", USR Courier V.34 manual p.4-22).
    """
    line = _line_rate(profile)
    if settings.fixed_rate is None or line is None or settings.fixed_rate <= line:
        return None
    return f"fixed link rate {settings.fixed_rate} (&N) is above the line's {line}: the modem hangs up"


def connect_text(profile: ModemProfile, settings: Settings, dte_rate: int | None) -> str:
    """The text after ``CONNECT``: the profile's, its rate set to ``&N``'s fixed rate or held to ``+MS``'s cap,
    or in W0 the DTE rate when the profile's ``connect_rate`` is ``dte`` (Rockwell/Conexant report the port
    rate, not the line rate)."""
    connect = profile.results.connect
    if profile.results.connect_rate == "dte" and settings.w == 0 and dte_rate:
        return f"{dte_rate}{connect[len(connect.split('/')[0]) :]}"
    # A fixed rate above the line's never gets here: the call fails first (fixed_rate_refusal).
    return capped(connect, settings.fixed_rate or settings.rate_cap())


def connect_lines(profile: ModemProfile, settings: Settings, dte_rate: int | None) -> list[Action]:
    """``CONNECT ...`` as ``Q``/``V``/``X`` say (a forced ``faults.answer_result`` CONNECT line wins)."""
    forced = profile.faults.answer_result
    text = forced if forced is not None and forced.startswith("CONNECT") else None
    if text is None:
        connect = connect_text(profile, settings, dte_rate)
        text = "CONNECT" if settings.x == 0 or not connect else f"CONNECT {connect}"
    return settings.result(ResultCode.CONNECT, text=text)


def framed_reports(profile: ModemProfile, settings: Settings, dte_rate: int | None) -> list[ToDte]:
    """The W1 lines before CONNECT (none in other W settings or with ``Q1``)."""
    if settings.w != 1 or settings.quiet:
        return []
    return [settings.info(line) for line in connect_reports(connect_text(profile, settings, dte_rate))]
