r"""AutoPPP: recognise the first PPP LCP frame in the raw byte stream after CONNECT.

Theory of operation
-------------------

A PPP peer (pppd, Windows 95 Dial-Up Networking) does not wait for a prompt: right after CONNECT it sends
LCP Configure-Requests, HDLC-framed as in RFC 1662. Every such frame starts the same way::

    7E      flag
    FF      address ("all stations")
    03      control ("unnumbered information")
    C0 21   protocol: LCP

Under the default async control character map every byte below 0x20 is sent escaped (``7D``, then the byte
XOR 0x20), so the control field normally arrives as ``7D 23``; some pppd versions escape more (``7D DF`` for
``FF``), and nothing forbids ``7D E0``/``7D 01`` for ``C0``/``21``. :class:`LcpDetector` accepts any of these
in any chunking and reports where the frame began.

mgetty facts this follows (``logname.c``, ``getlogname()``, AUTO_PPP, and ``mgetty.h``):

* mgetty runs a five-level state machine over the raw byte, before its 7-bit strip: ``7E`` → level 1,
  ``FF`` at level 1 → 2, ``03`` at 2 → 3, ``C0`` at 3 → 4, ``21`` at 4 → the login name becomes
  ``/AutoPPP/``. Every byte after a ``7D`` is un-escaped (XOR 0x20) first (okir's fix: "some pppd's also
  escape the 'all stations' byte"), and any other byte drops back to level 0.
* The leading ``7E`` is **required**: ``FF 03 C0 21`` without a flag is not accepted at level 0. RFC 1662
  lets a flag be shared between back-to-back frames, but the first frame on a line always opens with one, so
  neither mgetty nor this module accepts a header without it.
* Address/control field compression (``7E C0 21``) is **not** accepted, by mgetty or here: RFC 1661 §6.6
  says LCP packets are always sent with the address and control fields uncompressed, whatever was
  negotiated, so a real peer never sends it.

Where this module is deliberately stricter than mgetty (the results differ only for noise, never for a
real frame): only a *raw* ``7E`` is a flag (mgetty also takes an escaped ``7D 5E``, which RFC 1662 defines
as the data byte 0x7E), and a byte after ``7D`` is always data (mgetty takes ``7D 5D`` as a new escape).
A raw ``7E`` always starts a new candidate, even right after ``7D`` (RFC 1662's abort sequence).

Memory is bounded: while a candidate is open the detector holds at most :data:`MAX_HEADER` raw bytes
(a flag and four header bytes, each possibly escaped). A run of flags keeps only the last one (extra flags
are empty frames, which PPP ignores).

:class:`SilentWindow` is the optional wait after CONNECT: the shell prints nothing for ``window_s`` and
looks for LCP; bytes that are not PPP are kept (bounded) for the login dialog, so a terminal user's first
keypress is not lost.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

from answerd.core._errors import LocalProtocolError

__all__ = [
    "DEFAULT_SILENT_BUFFER",
    "LCP_HEADER",
    "MAX_HEADER",
    "Expired",
    "LcpDetector",
    "LcpMatch",
    "PppDetected",
    "SilentWindow",
    "WindowPhase",
]

#: The unescaped start of every LCP frame: flag, address, control, protocol (RFC 1662 / RFC 1661).
LCP_HEADER: Final = b"\x7e\xff\x03\xc0\x21"
#: The most raw bytes an LCP frame start can take: one flag and four header bytes, each escaped.
MAX_HEADER: Final = 9
#: How many non-PPP bytes :class:`SilentWindow` keeps for the login dialog.
DEFAULT_SILENT_BUFFER: Final = 4096

_FLAG: Final = 0x7E
_ESCAPE: Final = 0x7D
_UNESCAPE: Final = 0x20


@dataclass(frozen=True, slots=True, kw_only=True)
class LcpMatch:
    r"""Where an LCP frame start was found, in stream offsets (bytes fed to the detector before it).

    Attributes:
        start: the offset of the opening ``7E``: from here on the bytes belong to PPP.
        end: the offset just after the last header byte (the ``21``).
        header: the raw bytes ``start`` to ``end`` as received (at most :data:`MAX_HEADER`), so a consumer
            that already handed earlier chunks elsewhere can still give PPP its frame intact.
    """

    start: int
    end: int
    header: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class PppDetected:
    """A PPP peer is calling: run the ``/AutoPPP/`` rule and give it ``trailing`` first.

    Attributes:
        trailing: the raw bytes from the opening ``7E`` of the LCP frame to the end of what was received,
            exactly as received, to be handed to pppd (nothing is lost inside answerd).
    """

    trailing: bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Expired:
    """The silent window passed without PPP: start the login dialog and feed it ``buffered`` first.

    Attributes:
        buffered: the bytes received during the window, in order (at most the window's ``max_buffer``).
        dropped: how many later bytes did not fit and were discarded.
    """

    buffered: bytes
    dropped: int = 0


class _Level(enum.Enum):
    """How much of the LCP frame start has been seen."""

    IDLE = "idle"
    FLAG = "flag"
    ADDRESS = "address"
    CONTROL = "control"
    PROTOCOL_HIGH = "protocol-high"


#: At each level, the (unescaped) byte that moves on, and the level it moves to (``None``: complete).
_NEXT: dict[_Level, tuple[int, _Level | None]] = {
    _Level.FLAG: (0xFF, _Level.ADDRESS),
    _Level.ADDRESS: (0x03, _Level.CONTROL),
    _Level.CONTROL: (0xC0, _Level.PROTOCOL_HIGH),
    _Level.PROTOCOL_HIGH: (0x21, None),
}


class LcpDetector:
    r"""Find the first LCP frame start (``7E FF 03 C0 21``, any byte after the flag may be escaped).

    The detector finishes at its first match; feeding it afterwards is a :class:`LocalProtocolError`.

    >>> detector = LcpDetector()
    >>> detector.feed(b"\r~x")
    >>> detector.feed(b"\x7e\xff\x7d\x23\xc0")
    >>> detector.feed(b"\x21\x7d\x21\x7d\x21")
    LcpMatch(start=3, end=9, header=b'~\xff}#\xc0!')
    """

    def __init__(self) -> None:
        """Create an idle detector at stream offset 0."""
        self._level = _Level.IDLE
        self._escaped = False
        self._held = bytearray()
        self._start = 0
        self._position = 0
        self._match: LcpMatch | None = None

    @property
    def position(self) -> int:
        """How many bytes have been fed (after a match: up to and including the header's last byte)."""
        return self._position

    @property
    def held(self) -> bytes:
        """The raw bytes of the frame start seen so far (empty unless a candidate is open; never > 9)."""
        return bytes(self._held)

    @property
    def match(self) -> LcpMatch | None:
        """The match, once found."""
        return self._match

    def feed(self, data: bytes) -> LcpMatch | None:
        """Examine ``data``; return the match if the frame start completes in it.

        Bytes after the match are not examined (:attr:`position` then tells where the match ended).

        Raises:
            LocalProtocolError: the detector already matched.
        """
        for raw in data:
            step = self.step(raw)
            if isinstance(step, LcpMatch):
                return step
        return None

    def step(self, raw: int) -> LcpMatch | bytes:
        r"""Examine one raw byte; return the match, or the bytes that are now known *not* to start a frame.

        The returned bytes are released in stream order: nothing while a candidate grows, the held bytes
        (and this one) when it breaks. A consumer that only acts on released bytes (the login dialog) never
        sees the bytes of a frame start that matches.

        >>> detector = LcpDetector()
        >>> detector.step(0x61), detector.step(0x7E), detector.step(0xFF), detector.step(0x0D)
        (b'a', b'', b'', b'~\xff\r')

        Raises:
            LocalProtocolError: the detector already matched.
        """
        if self._match is not None:
            raise LocalProtocolError("the LCP detector already found its frame")
        offset = self._position
        self._position += 1
        if raw == _FLAG:
            released = bytes(self._held)
            self._open(offset)
            return released
        if self._level is _Level.IDLE:
            return bytes((raw,))
        self._held.append(raw)
        if self._escaped:
            value = raw ^ _UNESCAPE
            self._escaped = False
        elif raw == _ESCAPE:
            self._escaped = True
            return b""
        else:
            value = raw
        expected, following = _NEXT[self._level]
        if value != expected:
            return self._close()
        if following is None:
            self._match = LcpMatch(start=self._start, end=self._position, header=bytes(self._held))
            self._close()
            return self._match
        self._level = following
        return b""

    def _open(self, offset: int) -> None:
        """Start a candidate at the flag at ``offset`` (a new flag replaces an open candidate)."""
        self._held = bytearray((_FLAG,))
        self._start = offset
        self._level = _Level.FLAG
        self._escaped = False

    def _close(self) -> bytes:
        """Drop the candidate; return its held bytes."""
        released = bytes(self._held)
        self._held.clear()
        self._level = _Level.IDLE
        self._escaped = False
        return released


class WindowPhase(enum.Enum):
    """Where a :class:`SilentWindow` is."""

    #: Created; waiting for :meth:`SilentWindow.start`.
    NEW = "new"
    #: Listening quietly for LCP.
    WAITING = "waiting"
    #: PPP was detected or the window expired; no more input is allowed.
    DONE = "done"


class SilentWindow:
    r"""Wait ``window_s`` after CONNECT for an LCP frame before printing anything.

    mgetty prints the issue and the prompt first and detects PPP while reading the name, so a PPP peer always
    gets the banner as junk before pppd starts. The shell can instead run this window first: a PPP peer
    sends LCP within a second or so, a terminal user sees the banner a moment later.

    >>> window = SilentWindow(window_s=1.5)
    >>> window.start(now=10.0)
    >>> window.receive_data(b"\r", now=10.2)
    >>> window.get_timer()
    11.5
    >>> window.handle_timer(now=11.5)
    Expired(buffered=b'\r', dropped=0)
    """

    def __init__(self, window_s: float, *, max_buffer: int = DEFAULT_SILENT_BUFFER) -> None:
        """Create a window; nothing runs until :meth:`start`.

        Args:
            window_s: how long to listen for LCP, in seconds.
            max_buffer: how many non-PPP bytes to keep for the login dialog.

        Raises:
            ValueError: ``window_s`` is not positive or ``max_buffer`` is negative.
        """
        if not window_s > 0:
            raise ValueError(f"window_s must be positive, not {window_s!r}")
        if max_buffer < 0:
            raise ValueError(f"max_buffer must not be negative, not {max_buffer!r}")
        self._window_s = window_s
        self._max_buffer = max_buffer
        self._phase = WindowPhase.NEW
        self._deadline: float | None = None
        self._detector = LcpDetector()
        self._buffer = bytearray()
        self._dropped = 0

    @property
    def phase(self) -> WindowPhase:
        """The current phase."""
        return self._phase

    def start(self, now: float) -> None:
        """Open the window at ``now`` (right after CONNECT).

        Raises:
            LocalProtocolError: the window was already started.
        """
        if self._phase is not WindowPhase.NEW:
            raise LocalProtocolError(f"silent window cannot start in phase {self._phase.value}")
        self._phase = WindowPhase.WAITING
        self._deadline = now + self._window_s

    def receive_data(self, data: bytes, now: float) -> PppDetected | Expired | None:
        """Handle bytes from the caller during the window.

        PPP is looked for first, even in data handed in late; if there is none and the window is over at
        ``now``, the window expires here with these bytes included, exactly as if :meth:`handle_timer` had
        run in time and the bytes had then gone to the login dialog.

        Returns:
            :class:`PppDetected` (``trailing`` = raw bytes from the frame's ``7E`` on), :class:`Expired`
            for a late call, or ``None`` to keep waiting.

        Raises:
            LocalProtocolError: the window is not started, or is done.
        """
        self._require_waiting("data")
        before = self._detector.position
        match = self._detector.feed(data)
        if match is not None:
            self._finish()
            return PppDetected(trailing=match.header + data[match.end - before :])
        kept = data[: self._max_buffer - len(self._buffer)]
        self._buffer += kept
        self._dropped += len(data) - len(kept)
        assert self._deadline is not None
        if now >= self._deadline:
            return self._expire()
        return None

    def get_timer(self) -> float | None:
        """Return when :meth:`handle_timer` should be called, or ``None`` when nothing is armed."""
        return self._deadline if self._phase is WindowPhase.WAITING else None

    def handle_timer(self, now: float) -> Expired | None:
        """End the window if it is over at ``now``; an early call does nothing.

        Raises:
            LocalProtocolError: the window is not started, or is done.
        """
        self._require_waiting("timer")
        assert self._deadline is not None
        if now < self._deadline:
            return None
        return self._expire()

    def _require_waiting(self, kind: str) -> None:
        """Raise (changing nothing) unless the window is open."""
        if self._phase is not WindowPhase.WAITING:
            raise LocalProtocolError(f"silent window cannot take {kind} input in phase {self._phase.value}")

    def _expire(self) -> Expired:
        """Close the window without PPP."""
        self._finish()
        return Expired(buffered=bytes(self._buffer), dropped=self._dropped)

    def _finish(self) -> None:
        """Enter DONE and disarm the timer."""
        self._phase = WindowPhase.DONE
        self._deadline = None
