r"""How a session ends where DCD cannot tell: the modem's framed ``NO CARRIER``, and optional time limits.

Both are pure objects the shell's relay feeds (bytes and ``now`` in, a deadline and a verdict out); neither
reads a clock or the line.

:class:`ModemTextCarrier` — for ``carrier = "modem-text"`` (a software modem on a pty, a line without DCD):
the caller's hang-up reaches answerd only as the modem's ``\r\nNO CARRIER\r\n``. The same bytes can be
data (PPP with ``asyncmap 0``, a text file about modems), so one frame is not enough: the session ends on a
framed ``NO CARRIER`` *followed by silence* from the modem for ``quiet_s``. A modem that has dropped the
carrier says nothing more; a data stream that happened to contain the frame goes on. The frame is the one
definition in :mod:`.hayes.framed` (``CR LF NO CARRIER CR LF``; in ``V0`` also ``CR 3 CR``).

:class:`SessionLimits` — ``max_session_s`` and ``max_idle_s`` (0 = off), for lines where nothing else can
tell that the caller is gone. Activity is any byte in either direction; the shell says when.

>>> watch = ModemTextCarrier(quiet_s=2.0)
>>> watch.feed(b"bye\r\n\r\nNO CARRIER\r\n", now=10.0), watch.timer
(None, 12.0)
>>> watch.handle_timer(12.0)
'modem said NO CARRIER'
"""

from __future__ import annotations

from answerd.core.hayes.framed import FramedResultDetector

__all__ = ["ModemTextCarrier", "SessionLimits"]


class ModemTextCarrier:
    """Watch the modem-to-program byte stream for the end of the call (``NO CARRIER`` then silence).

    Args:
        quiet_s: how long the modem must stay silent after the frame (must be > 0).
        numeric: the modem is in ``V0`` (``CR 3 CR`` is its NO CARRIER).

    Inputs: :meth:`feed` for every chunk the modem sends (the relay still passes it on to the program,
    byte-exact), :meth:`handle_timer` at :attr:`timer`. The verdict is a reason string; ``None`` means the
    session goes on.
    """

    def __init__(self, *, quiet_s: float = 1.0, numeric: bool = False) -> None:
        if not quiet_s > 0:
            raise ValueError("quiet_s must be positive")
        self._quiet_s = quiet_s
        self._detector = FramedResultDetector(numeric=numeric)
        self._heard_at: float | None = None

    @property
    def timer(self) -> float | None:
        """When :meth:`handle_timer` is due: ``quiet_s`` after a framed NO CARRIER that nothing followed."""
        return None if self._heard_at is None else self._heard_at + self._quiet_s

    def feed(self, data: bytes, now: float) -> None:
        """Bytes from the modem. Any byte after a framed NO CARRIER cancels it (the stream goes on)."""
        for byte in data:
            self._heard_at = None
            found = self._detector.step(byte)
            if found is not None and found.text == "NO CARRIER":
                self._heard_at = now

    def handle_timer(self, now: float) -> str | None:
        """The verdict at ``now``: why the session is over, or ``None`` (not yet, or not at all)."""
        deadline = self.timer
        if deadline is None or now < deadline:
            return None
        return "modem said NO CARRIER"


class SessionLimits:
    """The optional limits on one session: total time and time without traffic (0 turns each off).

    Args:
        started_at: ``now`` when the session began (CONNECT).
        max_session_s: end the session this long after it began; 0 = no limit.
        max_idle_s: end it when no byte went either way for this long; 0 = no limit.

    >>> limits = SessionLimits(started_at=0.0, max_session_s=3600, max_idle_s=300)
    >>> limits.activity(100.0); limits.timer
    400.0
    >>> limits.expired(400.0)
    'no traffic for 300 s (max_idle_s)'
    """

    def __init__(self, *, started_at: float, max_session_s: float = 0, max_idle_s: float = 0) -> None:
        if max_session_s < 0 or max_idle_s < 0:
            raise ValueError("session limits must not be negative (0 turns a limit off)")
        self._started_at = started_at
        self._last_activity = started_at
        self._max_session_s = max_session_s
        self._max_idle_s = max_idle_s

    def activity(self, now: float) -> None:
        """A byte went to or came from the caller at ``now``."""
        self._last_activity = max(self._last_activity, now)

    @property
    def timer(self) -> float | None:
        """The next moment a limit can be reached, or ``None`` when both are off."""
        deadlines = []
        if self._max_session_s:
            deadlines.append(self._started_at + self._max_session_s)
        if self._max_idle_s:
            deadlines.append(self._last_activity + self._max_idle_s)
        return min(deadlines) if deadlines else None

    def expired(self, now: float) -> str | None:
        """Why the session must end at ``now`` (for the log and the record), or ``None``."""
        if self._max_session_s and now >= self._started_at + self._max_session_s:
            return f"session lasted {self._max_session_s:g} s (max_session_s)"
        if self._max_idle_s and now >= self._last_activity + self._max_idle_s:
            return f"no traffic for {self._max_idle_s:g} s (max_idle_s)"
        return None
