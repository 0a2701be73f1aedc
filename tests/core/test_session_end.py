"""Ends of a session without DCD (``answerd.core._session_end``): framed NO CARRIER then silence, and limits."""

from __future__ import annotations

import pytest

from answerd.core._session_end import ModemTextCarrier, SessionLimits

FRAME = b"\r\nNO CARRIER\r\n"


class TestModemTextCarrier:
    """The session ends on a framed NO CARRIER followed by ``quiet_s`` of silence from the modem."""

    def test_frame_then_silence_ends(self) -> None:
        """NO CARRIER, then nothing for quiet_s: the call is over."""
        watch = ModemTextCarrier(quiet_s=1.0)
        watch.feed(b"data" + FRAME, 5.0)
        assert (6.0, "modem said NO CARRIER") == (watch.timer, watch.handle_timer(6.0))

    def test_bytes_after_the_frame_cancel(self) -> None:
        """PPP or a file carrying the bytes goes on: any byte after the frame cancels it."""
        watch = ModemTextCarrier(quiet_s=1.0)
        watch.feed(FRAME, 5.0)
        watch.feed(b"~", 5.5)
        assert (None, None) == (watch.timer, watch.handle_timer(10.0))

    def test_bytes_after_the_frame_in_the_same_chunk_cancel(self) -> None:
        """A frame in the middle of one chunk is data."""
        watch = ModemTextCarrier(quiet_s=1.0)
        watch.feed(FRAME + b"more", 5.0)
        assert None is watch.timer

    @pytest.mark.parametrize("size", [1, 2, 3, 5])
    def test_any_chunking(self, size: int) -> None:
        """The frame is found however the bytes are split."""
        watch = ModemTextCarrier(quiet_s=1.0)
        data = b"x" * 7 + FRAME
        for start in range(0, len(data), size):
            watch.feed(data[start : start + size], 5.0)
        assert 6.0 == watch.timer

    def test_unframed_text_is_data(self) -> None:
        """ "NO CARRIER" typed by a user without the CR LF frame is not the modem."""
        watch = ModemTextCarrier(quiet_s=1.0)
        watch.feed(b"NO CARRIER\r\n", 5.0)
        assert None is watch.timer

    def test_early_timer_says_nothing(self) -> None:
        """Before quiet_s has passed the verdict is None."""
        watch = ModemTextCarrier(quiet_s=1.0)
        watch.feed(FRAME, 5.0)
        assert None is watch.handle_timer(5.9)

    def test_numeric_no_carrier(self) -> None:
        """In V0 the modem's NO CARRIER is CR 3 CR."""
        watch = ModemTextCarrier(quiet_s=1.0, numeric=True)
        watch.feed(b"\r3\r", 5.0)
        assert 6.0 == watch.timer


class TestSessionLimits:
    """``max_session_s`` and ``max_idle_s`` (0 = off)."""

    def test_off(self) -> None:
        """Both 0: no deadline, never expired."""
        limits = SessionLimits(started_at=0.0)
        assert (None, None) == (limits.timer, limits.expired(1e9))

    def test_session_limit(self) -> None:
        """Traffic does not extend max_session_s."""
        limits = SessionLimits(started_at=10.0, max_session_s=60)
        limits.activity(69.0)
        assert (70.0, "session lasted 60 s (max_session_s)") == (limits.timer, limits.expired(70.0))

    def test_idle_limit_moves_with_activity(self) -> None:
        """Each byte moves the idle deadline."""
        limits = SessionLimits(started_at=0.0, max_idle_s=30)
        limits.activity(20.0)
        assert (50.0, None, "no traffic for 30 s (max_idle_s)") == (
            limits.timer,
            limits.expired(49.9),
            limits.expired(50.0),
        )

    def test_negative_refused(self) -> None:
        """A negative limit is a mistake, not "off"."""
        with pytest.raises(ValueError, match="negative"):
            SessionLimits(started_at=0.0, max_idle_s=-1)
