r"""Modem families: telling them apart, and the commands each one understands.

Vendors agree on V.250 and differ on everything else: caller ID is ``#CID`` on USR and Rockwell parts,
``+VCID`` on Conexant, MultiTech, Agere and generic V.253 modems, ``+CLIP`` on Huawei dongles; a speed cap is
``+MS`` on most, ``&N`` (a *fixed* rate) on a USR Courier. A vendor command sent to the wrong family is at
best an ``ERROR`` and at worst a different setting, so the rule here is: **a vendor command only ever goes to
its own family, and a family answerd does not know gets V.250 commands only** (:attr:`ModemFamily.V250`).

The facts, with their sources, are in the project's modem-personalities research note (source keys in
brackets below: ``[USR-BM]`` is the USR 56K Business Modem manual's caller-ID page, and so on).

* :func:`identify_family` — which family an ``ATI``/``AT+GMI``/``AT+GMM`` answer names. The same function
  serves the init sequence (``modem_family = "auto"``) and ``answerd probe``.
* :func:`caller_id_commands` — the commands that switch formatted caller ID on, in the order to try them.
* :func:`speed_cap_command` — a :class:`SpeedCap` in the family's own command, or why it cannot be said.

>>> identify_family(["huawei"])
<ModemFamily.HUAWEI: 'huawei'>
>>> caller_id_commands(ModemFamily.USR)
('AT#CID=1',)
>>> speed_cap_command(ModemFamily.V250, SpeedCap(max_speed=14400, modulation="v32b"))
'AT+MS=V32B,1,,14400'
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

__all__ = [
    "IDENTIFY_COMMANDS",
    "MODULATIONS",
    "ModemFamily",
    "SpeedCap",
    "SpeedCapUnsupported",
    "caller_id_commands",
    "identify_family",
    "speed_cap_command",
]


class ModemFamily(enum.StrEnum):
    """The families of the personalities note (§1-§6); the value is what the setting ``modem_family`` says."""

    #: U.S. Robotics Sportster / Courier and USR 56K (§1).
    USR = "usr"
    #: Rockwell and Conexant chipsets (HCF, HSF, USB CDC-ACM, Zoom) and the generic Rockwell AT set (§2).
    ROCKWELL = "rockwell"
    #: Lucent / Agere (LT, SV92) (§3).
    AGERE = "agere"
    #: Multi-Tech MultiModem (MT5634ZBA and kin) (§3).
    MULTITECH = "multitech"
    #: Xecom XE1414 / XE3314 modules (§4; Rockwell-style register layout).
    XECOM = "xecom"
    #: Huawei GSM/3G dongles (§5).
    HUAWEI = "huawei"
    #: A generic V.250 / V.253 modem, and every modem answerd cannot identify (§6).
    V250 = "v250"


#: What the init sequence asks, in order, when the family is ``auto``; it stops at the first answer that
#: names a family. ``AT+GMI``/``AT+GMM`` are V.250's identification (§6, [USR-SCR], [GSMM]); ``ATI3`` is
#: where a Conexant part prints its id string (§2, [USR-SCR] p.22); ``ATI0`` is the product code every
#: family answers (§1, §3). ``answerd probe`` asks more (``ATI0``-``ATI7``, ``AT+GMR``, ``AT&V``).
IDENTIFY_COMMANDS: Final = ("AT+GMI", "AT+GMM", "ATI3", "ATI0")

#: Words in an identification answer → the family they name, tried in this order. Each is the vendor's or
#: the chipset's own name, as the personalities note's headings and samples give it: Huawei's ``+CGMI``
#: answer is ``huawei`` (§5, [GSMM]); a Conexant softmodem's ``ATI3`` is ``SoftK56V_B2.1_V7.04.05`` and the
#: USB id reads "Conexant Systems (Rockwell)" (§2, [USR-SCR], [SE-215381]), so a Conexant part sold under
#: the USR brand is a Rockwell-family modem: Conexant and Rockwell are matched before U.S. Robotics.
_NAMES: Final[tuple[tuple[re.Pattern[str], ModemFamily], ...]] = tuple(
    (re.compile(pattern, re.IGNORECASE), family)
    for pattern, family in (
        (r"\bhuawei\b", ModemFamily.HUAWEI),
        (r"conexant|rockwell|softk56|\bHCF\b|\bHSF\b", ModemFamily.ROCKWELL),
        (r"\bagere\b|\blucent\b", ModemFamily.AGERE),
        (r"multi-?tech|multimodem", ModemFamily.MULTITECH),
        (r"\bxecom\b", ModemFamily.XECOM),
        (r"u\.?\s?s\.?\s?robotics|usrobotics|\bsportster\b|\bcourier\b|\b3com\b", ModemFamily.USR),
    )
)


def identify_family(lines: Iterable[str]) -> ModemFamily | None:
    """Name the family an identification answer points to, or ``None`` if it names none.

    Args:
        lines: the information lines the modem sent for ``AT+GMI``, ``AT+GMM``, ``ATIn``... (without
            ``OK``/``ERROR`` and echo; any order; hostile text is fine, it is only searched).

    Returns:
        The first family (in the order of the table above) whose name appears in any line; ``None`` when no
        line names one. The caller decides what ``None`` means: the init sequence asks the next question and,
        after the last, uses :attr:`ModemFamily.V250`.

    >>> identify_family(["SoftK56V_B2.1_V7.04.05"])
    <ModemFamily.ROCKWELL: 'rockwell'>
    >>> identify_family(["56000", "255"]) is None
    True
    """
    text = "\n".join(line[:200] for line in lines)
    for pattern, family in _NAMES:
        if pattern.search(text):
            return family
    return None


#: Formatted caller ID on, per family, in the order to try (the first the modem accepts wins):
#: USR ``#CID=1`` [USR-BM]; Rockwell ``#CID=1`` [RW-1048] and Conexant ``+VCID=1`` [AIRLINK], [ASKEY] — both
#: are the "rockwell" family, so ``+VCID`` (the V.253 name) first and ``#CID`` if it is refused; Agere/LT
#: ``+VCID=1`` [MODEMSITE-LT]; MultiTech ``+VCID=1`` [MT-272]; Huawei ``+CLIP=1`` [HW-MU509]; V.253 ``+VCID=1``
#: [HAYES-VCID]. Xecom's caller-ID command is not sourced, so it gets the V.250 command only.
#: ``AT%CCID=1`` is sent to no family: the one public source that documents it is Hayes' own command
#: reference ("%CCID - Enable Caller ID", http://old.vk.pp.ru/docs/hayes/00000218.htm: 1 formatted, 2 hex,
#: 3 "Practical format"), for Hayes-brand modems, which answerd has no family for (they get the V.250
#: command) and whose same reference documents ``+VCID`` too (00000220.htm, [HAYES-VCID]). No Agere/LSI,
#: Conexant or Rockwell reference we could find lists ``%CCID``; they document ``+VCID`` and ``#CID``.
_CALLER_ID: Final[dict[ModemFamily, tuple[str, ...]]] = {
    ModemFamily.USR: ("AT#CID=1",),
    ModemFamily.ROCKWELL: ("AT+VCID=1", "AT#CID=1"),
    ModemFamily.AGERE: ("AT+VCID=1",),
    ModemFamily.MULTITECH: ("AT+VCID=1",),
    ModemFamily.XECOM: ("AT+VCID=1",),
    ModemFamily.HUAWEI: ("AT+CLIP=1",),
    ModemFamily.V250: ("AT+VCID=1",),
}


def caller_id_commands(family: ModemFamily) -> tuple[str, ...]:
    """The commands that switch formatted caller ID on for ``family``, to be tried in order.

    >>> caller_id_commands(ModemFamily.ROCKWELL)
    ('AT+VCID=1', 'AT#CID=1')
    """
    return _CALLER_ID[family]


# --- speed caps ---------------------------------------------------------------------------------------

#: ``modulation`` values → the V.250 ``+MS`` carrier name. ``V34`` is the one the personalities note
#: quotes (pi-isp's ``AT+MS=V34,1,9600,{max}``; NEC 750C); the others are the same command's names for the
#: older and newer modulations (ITU-T V.250 ``+MS``), which a VoIP line needs when V.34 training fails.
MODULATIONS: Final[dict[str, str]] = {
    "v21": "V21",
    "v22": "V22",
    "v22b": "V22B",
    "v32": "V32",
    "v32b": "V32B",
    "v34": "V34",
    "v90": "V90",
    "v92": "V92",
}

#: USR Courier ``&Nn`` fixed connection rates, [USR-C34] p.F-5 (``&N0`` variable; ``&N1`` reserved).
#: Only the rates that table lists; a rate it does not list is not guessed.
_USR_FIXED_RATE: Final[dict[int, int]] = {
    1200: 2,
    2400: 3,
    4800: 4,
    7200: 5,
    9600: 6,
    12000: 7,
    14400: 8,
    16800: 9,
    19200: 10,
}


@dataclass(frozen=True, slots=True, kw_only=True)
class SpeedCap:
    """Limits on the line (modem-to-modem) speed for a port or a caller.

    Args:
        max_speed: the highest line rate in bit/s, or ``None``.
        min_speed: the lowest line rate in bit/s, or ``None``.
        modulation: the highest modulation, a key of :data:`MODULATIONS` (``"v32b"``), or ``None`` for the
            modem's own choice (V.34 where the cap says nothing else).
    """

    max_speed: int | None = None
    min_speed: int | None = None
    modulation: str | None = None

    def __post_init__(self) -> None:
        if self.modulation is not None and self.modulation not in MODULATIONS:
            raise ValueError(f"modulation {self.modulation!r} is not one of {', '.join(MODULATIONS)}")
        for name in ("max_speed", "min_speed"):
            value = getattr(self, name)
            if value is not None and not 300 <= value <= 56000:
                raise ValueError(f"{name} {value} is not a line rate (300 to 56000 bit/s)")
        if self.max_speed is not None and self.min_speed is not None and self.min_speed > self.max_speed:
            raise ValueError(f"min_speed {self.min_speed} is above max_speed {self.max_speed}")

    @property
    def empty(self) -> bool:
        """Whether the cap limits nothing."""
        return self.max_speed is None and self.min_speed is None and self.modulation is None


class SpeedCapUnsupported(ValueError):
    """The family has no command for this cap (the message says why and what would work)."""


def speed_cap_command(family: ModemFamily, cap: SpeedCap) -> str | None:
    """The command that applies ``cap`` on a modem of ``family``, or ``None`` for an empty cap.

    * V.250 ``AT+MS=<carrier>,<automode>,<min>,<max>`` ([NEC-750C], pi-isp) for every family but USR and
      Huawei: automode 1 (fall back to slower modulations), an empty field for a limit not given (V.250: an
      omitted value keeps the modem's own), the carrier ``V34`` when only rates are given.
    * USR: ``&Nn`` is a *fixed* rate ("connects only if the remote modem is operating at the same rate",
      [USR-C34] p.4-22), so only ``min_speed == max_speed`` at a rate of its table can be said; a ceiling
      alone (``&N`` with ``&U`` on 56K models) is not verified in the sources.
    * Huawei dongles are not data modems in the sources (§5): no cap.

    Raises:
        SpeedCapUnsupported: the family cannot express this cap.

    >>> speed_cap_command(ModemFamily.USR, SpeedCap(min_speed=14400, max_speed=14400))
    'AT&N8'
    >>> speed_cap_command(ModemFamily.ROCKWELL, SpeedCap(min_speed=9600, max_speed=14400))
    'AT+MS=V34,1,9600,14400'
    """
    if cap.empty:
        return None
    if family is ModemFamily.HUAWEI:
        raise SpeedCapUnsupported("a Huawei dongle has no speed cap command (it is not a data modem)")
    if family is ModemFamily.USR:
        if cap.modulation is not None or cap.max_speed is None or cap.min_speed != cap.max_speed:
            raise SpeedCapUnsupported(
                "a USR modem only takes a fixed rate (&Nn): set min_speed = max_speed to one of "
                + ", ".join(str(rate) for rate in _USR_FIXED_RATE)
                + ", and no modulation"
            )
        code = _USR_FIXED_RATE.get(cap.max_speed)
        if code is None:
            raise SpeedCapUnsupported(f"{cap.max_speed} is not a fixed rate of USR's &N table")
        return f"AT&N{code}"
    carrier = MODULATIONS[cap.modulation or "v34"]
    low = "" if cap.min_speed is None else str(cap.min_speed)
    high = "" if cap.max_speed is None else str(cap.max_speed)
    return f"AT+MS={carrier},1,{low},{high}".rstrip(",")
