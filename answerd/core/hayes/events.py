"""What the modem said: one frozen dataclass per kind of line.

The line splitter (:mod:`.lines`) turns bytes into text lines; the classifier (:mod:`.codes`) turns each
line into exactly one of these events. They are facts about the modem's output, named as nouns or past
participles (``Ring``, ``Connect``, ``NoCarrier``), never commands.

Every string field has already been made printable and length-capped by the splitter, so an event can be
logged as it is. Bytes from the line are hostile: a caller, a faulty modem or line noise can put anything
there.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = [
    "DATA_SERVICES",
    "CallerIdField",
    "CarrierReport",
    "Connect",
    "Echo",
    "Garbage",
    "ModemEvent",
    "Ok",
    "Ring",
    "RingCadence",
    "Unknown",
    "Verdict",
]


#: ``+CRING`` call types that are data calls (3GPP TS 27.007 ``+CRC``): asynchronous or synchronous, transparent
#: or ``REL`` (non-transparent, error-corrected).
DATA_SERVICES = frozenset({"ASYNC", "REL ASYNC", "SYNC", "REL SYNC"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Ok:
    """``OK`` (numeric ``0``): the command in flight succeeded."""

    line: str = "OK"


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """A final result code that is not OK and not CONNECT.

    ``code`` is one of ``ERROR``, ``NO CARRIER``, ``BUSY``, ``NO DIALTONE``, ``NO ANSWER`` (numeric 4, 3, 7,
    6, 8). They end a command with failure; ``NO CARRIER`` outside a command also means the line dropped.
    """

    code: str
    line: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Ring:
    """The phone rings once.

    Args:
        distinctive: the distinctive-ring number (``RING 2`` → 2, ``RING B`` → 2, a V.253 DRON/DROF cadence
            bitmask, the Zoom ``DN`` digit), or 0 for a plain ring.
        caller: caller number carried on the RING line itself (``RING;<from>``, USR ``RING 1234``,
            Zoom ``RING: t DNn <from>``), else ``None``.
        called: called number / MSN (``RING;<from>;<to>``, isdn4linux ``RING/<to>``), else ``None``.
        service: the call type of an extended ring report (``+CRING: REL ASYNC`` → ``"REL ASYNC"``), upper
            case, blanks collapsed; ``None`` for every other RING.
    """

    line: str = "RING"
    distinctive: int = 0
    caller: str | None = None
    called: str | None = None
    service: str | None = None

    @property
    def data_call(self) -> bool | None:
        """Whether the ring says it is a data call: ``None`` for a plain RING, which does not say.

        A modem set to ``AT+CRC=1`` rings with ``+CRING: <type>``; ``ASYNC``, ``REL ASYNC``, ``SYNC`` and
        ``REL SYNC`` are data calls, ``VOICE``, ``FAX``, ``ALT ...`` and anything else are not.
        """
        if self.service is None:
            return None
        return self.service in DATA_SERVICES


@dataclass(frozen=True, slots=True, kw_only=True)
class RingCadence:
    """A V.253 ``DRON=n`` / ``DROF=n`` cadence report (n in 100 ms units), sent before the ``RING`` it shapes."""

    line: str
    on: bool
    duration_ds: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CallerIdField:
    """One caller-ID item sent between RINGs (``NMBR = 5551234``, ``NAME = SMITH``, ``FM:123``...).

    ``key`` is normalised: ``number``, ``name``, ``date``, ``time``, ``called``, ``reason`` or ``message``.
    ``name`` is a second value the same line carries: the caller's name in ``+CLIP``'s alpha field.
    """

    line: str
    key: str
    value: str
    name: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CarrierReport:
    """An information line sent before ``CONNECT`` describing the link.

    Rockwell ``CARRIER 28800``, ``PROTOCOL: LAP-M``, ``COMPRESSION: V.42BIS``; ELSA/V.250
    ``+MCR: V34``, ``+MRR: 28800``, ``+ER: LAPM``, ``+DR: V42B``. ``key`` is ``carrier``, ``rate`` (``+MRR``),
    ``protocol`` or ``compression``.
    """

    line: str
    key: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Connect:
    """``CONNECT``: the modems have trained and the line is now data.

    Args:
        rate: the first number after CONNECT (the DCE or DTE rate, depending on the modem's ``W``/``\\V``
            settings), or ``None`` for a bare ``CONNECT``.
        suffixes: the ``/``-separated words after the rate, e.g. ``("ARQ", "V34", "LAPM", "V42BIS")``.
        text: everything after ``CONNECT`` as sent (``"28800/ARQ/V34/LAPM/V42BIS"``); this is what
            mgetty exposes as ``\\I`` and ``$CONNECT``.
    """

    line: str
    rate: int | None = None
    suffixes: tuple[str, ...] = field(default_factory=tuple)
    text: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Echo:
    """The modem echoing the command line we sent (``E1``)."""

    line: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Unknown:
    """Any other line: information text (``ATI``), a vendor message, or noise that looked like a line."""

    line: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Garbage:
    """Bytes that could not form a line: an over-long line (``dropped`` bytes) was discarded.

    The splitter resynchronises at the next line terminator, so garbage never hides the next RING.
    """

    dropped: int


ModemEvent = Ok | Verdict | Ring | RingCadence | CallerIdField | CarrierReport | Connect | Echo | Unknown | Garbage
