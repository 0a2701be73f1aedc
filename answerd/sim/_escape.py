"""The ``+++`` escape from data mode: guard-time silence, three S2 characters, guard-time silence again.

The ``+`` characters are data until the trailing guard time proves otherwise, so they have already gone to
the caller, as on a real modem; the modem (:mod:`answerd.sim._modem`) sets a timer at :attr:`deadline` and
asks :meth:`EscapeDetector.complete` when it fires.
"""

from __future__ import annotations

__all__ = ["EscapeDetector"]


class EscapeDetector:
    """Watches the DTE's bytes in data mode for a guarded ``+++``; pure, time comes in as ``now``."""

    def __init__(self) -> None:
        self._last_dte = 0.0
        self._plus_count = 0
        self._last_plus = 0.0
        self._deadline: float | None = None

    def reset(self, now: float) -> None:
        """Data mode begins (``CONNECT``, ``ATO``): the leading guard time counts from ``now``."""
        self._last_dte = now
        self._plus_count = 0
        self._deadline = None

    @property
    def deadline(self) -> float | None:
        """When the trailing guard time of a ``+++`` ends, if one is pending."""
        return self._deadline

    def complete(self) -> bool:
        """Whether the pending ``+++`` stands (no byte came in its trailing guard time); clears it."""
        done = self._plus_count == 3
        self._plus_count = 0
        self._deadline = None
        return done

    def scan(self, chunk: bytes, now: float, *, escape: int, guard: float) -> None:
        """Bytes the DTE sent at ``now``; ``escape`` is S2 (over 127: no escape), ``guard`` S12 in seconds."""
        for byte in chunk:
            if escape > 127:
                self._plus_count = 0  # S2 > 127 disables the escape sequence (Hayes)
            elif byte == escape and 0 < self._plus_count < 3 and now - self._last_plus <= guard:
                self._plus_count += 1
            elif byte == escape and now - self._last_dte >= guard:
                self._plus_count = 1
            else:
                self._plus_count = 0
            if self._plus_count:
                self._last_plus = now
            self._last_dte = now
        self._deadline = now + guard if self._plus_count == 3 else None
