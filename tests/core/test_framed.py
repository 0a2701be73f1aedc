"""What the modem says while online (``answerd.core.hayes.framed``): one line's verdict and framed results."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from answerd.core.hayes import framed
from answerd.core.hayes.framed import MAX_RESULT_LENGTH, FramedResult, FramedResultDetector, modem_text


class TestModemText:
    """Which lines are the modem's own words."""

    @pytest.mark.parametrize(
        ("line", "text"),
        [
            ("OK", "OK"),
            ("NO CARRIER", "NO CARRIER"),
            ("ERROR", "ERROR"),
            ("BUSY", "BUSY"),
            ("NO DIAL TONE", "NO DIALTONE"),
            ("RING", "RING"),
            ("RING 2", "RING 2"),
            ("RING;5551234", "RING;5551234"),
            ("CONNECT", "CONNECT"),
            ("CONNECT 28800/ARQ/V34", "CONNECT 28800/ARQ/V34"),
            ("NMBR = 5551234", "NMBR = 5551234"),
            ("NAME = SMITH", "NAME = SMITH"),
            ('+CLIP: "5551234",129', '+CLIP: "5551234",129'),
            ("CARRIER 28800", "CARRIER 28800"),
            ("DRON=5", "DRON=5"),
            (" OK ", "OK"),
        ],
    )
    def test_result_codes_and_reports_are_modem_text(self, line: str, text: str) -> None:
        """Every verbose result code and report the classifier knows is recognised, in canonical form."""
        assert text == getattr(modem_text(line), "text", None)

    @pytest.mark.parametrize("line", ["joe", "ok", "busy", "ring", "Ok", "RINGO", "OKAY", "", "  ", "x-ray", "3"])
    def test_user_names_are_not_modem_text(self, line: str) -> None:
        """Lower- or mixed-case words, unknown words and (in V1) digits are left to be names."""
        assert None is modem_text(line)

    @pytest.mark.parametrize(("line", "text"), [("0", "OK"), ("3", "NO CARRIER"), ("2", "RING"), ("4", "ERROR")])
    def test_numeric_codes_only_in_v0(self, line: str, text: str) -> None:
        """A digit code is the modem's only when it is known to be in V0."""
        assert (None, text) == (modem_text(line), getattr(modem_text(line, numeric=True), "text", None))

    @pytest.mark.parametrize("line", ["42", "12345"])
    def test_unknown_numbers_are_not_modem_text_even_in_v0(self, line: str) -> None:
        """Numbers outside the shared result table (or a 5-digit number) are not taken for a result."""
        assert None is modem_text(line, numeric=True)


class TestDetector:
    """Framed results in the raw stream."""

    @pytest.mark.parametrize(
        ("stream", "texts"),
        [
            (b"partial\r\nNO CARRIER\r\n", ["NO CARRIER"]),
            (b"\r\nOK\r\n", ["OK"]),
            (b"\r\nRING\r\n\r\nRING\r\n", ["RING", "RING"]),
            (b"\r\nRING\r\nRING\r\n", ["RING", "RING"]),
            (b"joe\r\n", []),
            (b"\r\njoe\r\n", []),
            (b"NO CARRIER\r\n", []),
            (b"\r\nNO CARRIER", []),
            (b"\rNO CARRIER\r", []),
            (b"\r\nNO\x00CARRIER\r\n", []),
            (b"\r\n3\r\n", []),
        ],
    )
    def test_verbose_frames(self, stream: bytes, texts: list[str]) -> None:
        """Only CR LF <modem text> CR LF counts; a bare result or typed word does not."""
        assert texts == [found.text for found in FramedResultDetector().feed(stream)]

    @pytest.mark.parametrize(("stream", "texts"), [(b"joe\r3\r", ["NO CARRIER"]), (b"\r0\r", ["OK"]), (b"x3\r", [])])
    def test_numeric_frames_in_v0(self, stream: bytes, texts: list[str]) -> None:
        """In V0, CR <code> CR is a result too (the CR before it ended whatever came first)."""
        assert texts == [found.text for found in FramedResultDetector(numeric=True).feed(stream)]

    def test_numeric_frame_ignored_in_v1(self) -> None:
        """Without V0, CR 3 CR is a caller typing a 3."""
        assert [] == FramedResultDetector().feed(b"joe\r3\r")

    def test_overlong_line_is_not_a_frame(self) -> None:
        """A line longer than the longest result is never reported, so the memory kept stays bounded."""
        assert [] == FramedResultDetector().feed(b"\r\nRING " + b"5" * MAX_RESULT_LENGTH + b"\r\n")

    def test_frame_after_a_flood_is_found(self) -> None:
        """However much came before, the frame at the end is seen (the kept tail slides)."""
        detector = FramedResultDetector()
        detector.feed(b"x" * 100_000)
        assert [FramedResult(text="NO CARRIER", line="NO CARRIER")] == detector.feed(b"\r\nNO CARRIER\r\n")

    @given(
        prefix=st.binary(max_size=40),
        cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=8),
        numeric=st.booleans(),
    )
    def test_chunking_invariance(self, prefix: bytes, cuts: list[int], numeric: bool) -> None:
        """Any chunking of the same stream finds the same results as feeding it whole."""
        stream = prefix + b"abc\r\nNO CARRIER\r\nRING\r\n\r3\r"
        whole = FramedResultDetector(numeric=numeric).feed(stream)
        detector = FramedResultDetector(numeric=numeric)
        chunked: list[FramedResult] = []
        start = 0
        for cut in cuts:
            chunked += detector.feed(stream[start : start + cut])
            start += cut
        chunked += detector.feed(stream[start:])
        assert whole == chunked


def test_doctests() -> None:
    """The module's examples hold."""
    assert 0 == doctest.testmod(framed).failed
