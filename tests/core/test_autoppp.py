"""Tests for AutoPPP: the LCP detector, the login dialog's PPP hook and the silent window (``_ppp``)."""

# The style guide puts the expected value first (``assert expected == actual``); ruff's SIM300 wants the
# opposite, so it is off for tests.

from __future__ import annotations

import doctest
import itertools

import pytest
from hypothesis import given
from hypothesis import strategies as st

from answerd.core import _ppp
from answerd.core._effects import Write
from answerd.core._errors import LocalProtocolError
from answerd.core._login import DialogOutput, LineEnd, LoginDialog, NameEntered
from answerd.core._ppp import (
    MAX_HEADER,
    Expired,
    LcpDetector,
    LcpMatch,
    PppDetected,
    SilentWindow,
    WindowPhase,
)
from tests.helpers import fcs16, hdlc_frame, lcp

PROMPT = b"gate login: "
INVALID = b"Invalid login name."

# --- building real frames (RFC 1662) ---------------------------------------------------------------------


def lcp_configure_request(identifier: int, options: bytes) -> bytes:
    """An LCP Configure-Request packet (code 1) with ``options``."""
    return lcp(1, identifier, options)


def pppd_first_frame(magic: bytes = b"\x3c\x4d\x7e\x1a") -> bytes:
    """pppd 2.4's first Configure-Request: asyncmap 0, magic number, PFC, ACFC."""
    options = b"\x02\x06\x00\x00\x00\x00" + b"\x05\x06" + magic + b"\x07\x02" + b"\x08\x02"
    return hdlc_frame(0xC021, lcp_configure_request(1, options))


def win95_first_frame(magic: bytes = b"\x00\x5e\x2b\x91") -> bytes:
    """Windows 95 Dial-Up Networking's first Configure-Request: as pppd's plus callback option 13 (CBCP)."""
    options = b"\x02\x06\x00\x00\x00\x00" + b"\x05\x06" + magic + b"\x07\x02" + b"\x08\x02" + b"\x0d\x03\x06"
    return hdlc_frame(0xC021, lcp_configure_request(1, options))


PPPD = pppd_first_frame()
WIN95 = win95_first_frame()

#: The four header bytes after the flag (FF 03 C0 21), each plain or 7D-escaped: all 16 spellings.
HEADERS = [
    b"\x7e"
    + b"".join(
        bytes([0x7D, byte ^ 0x20]) if escape else bytes([byte])
        for byte, escape in zip((0xFF, 0x03, 0xC0, 0x21), flags, strict=True)
    )
    for flags in itertools.product((False, True), repeat=4)
]


def detect(data: bytes, cuts: list[int] | None = None) -> LcpMatch | None:
    """Feed ``data`` to a fresh detector, split at ``cuts``; return the match."""
    detector = LcpDetector()
    bounds = [0, *sorted(cuts or []), len(data)]
    for start, end in itertools.pairwise(bounds):
        match = detector.feed(data[start:end])
        if match is not None:
            return match
    return None


class TestFrameBuilder:
    """The test's own frame builder is right, so the real-frame tests mean something."""

    def test_fcs_check_value(self) -> None:
        """CRC-16/X-25 of "123456789" is 0x906E."""
        assert 0x906E == fcs16(b"123456789") ^ 0xFFFF

    def test_good_final_fcs(self) -> None:
        """RFC 1662: the FCS over a frame and its own FCS is the magic 0xF0B8."""
        body = bytes([0xFF, 0x03, 0xC0, 0x21]) + lcp_configure_request(1, b"\x07\x02")
        fcs = fcs16(body) ^ 0xFFFF
        assert 0xF0B8 == fcs16(body + bytes([fcs & 0xFF, fcs >> 8]))

    def test_pppd_frame_starts_like_a_capture(self) -> None:
        """pppd's first frame starts with the bytes every pppd capture shows."""
        assert bytes.fromhex("7eff7d23c0217d217d217d207d347d227d267d207d207d207d207d257d26") == PPPD[:30]


class TestLcpDetector:
    """The start of an LCP frame is found in every spelling, after noise, in any chunking."""

    @pytest.mark.parametrize("header", HEADERS, ids=[header.hex() for header in HEADERS])
    def test_every_escaping_variant(self, header: bytes) -> None:
        """Each header byte may be plain or 7D-escaped (mgetty: "recognize any escape sequence")."""
        assert LcpMatch(start=0, end=len(header), header=header) == detect(header + b"\x7d\x21")

    @pytest.mark.parametrize("frame", [PPPD, WIN95], ids=["pppd", "win95"])
    def test_real_first_frames(self, frame: bytes) -> None:
        """The byte-exact first Configure-Request of pppd and of Windows 95 is detected at its flag."""
        assert LcpMatch(start=0, end=6, header=frame[:6]) == detect(frame)

    @pytest.mark.parametrize("noise", [b"\r", b"\r\n", b"ATZ\r", b"\x00\x11\x13", b"~~x", b"\xff\x03\xc0\x21"])
    def test_behind_noise(self, noise: bytes) -> None:
        """Noise or a CR before the frame does not hide it; the offset is the frame's flag."""
        match = detect(noise + PPPD)
        assert (len(noise), PPPD[:6]) == (match.start if match else None, match.header if match else None)

    def test_run_of_flags_starts_at_the_last(self) -> None:
        """Extra flags before the frame are empty frames; the frame starts at the last one."""
        match = detect(b"\x7e\x7e\x7e" + PPPD)
        assert 3 == (match.start if match else None)

    def test_broken_candidate_then_frame(self) -> None:
        """A candidate broken by a stray byte is dropped and the next flag starts afresh."""
        match = detect(b"\x7e\xff\x41" + PPPD)
        assert 3 == (match.start if match else None)

    def test_new_flag_inside_a_candidate_restarts(self) -> None:
        """A flag after an escape (RFC 1662's abort) starts a new candidate."""
        match = detect(b"\x7e\xff\x7d" + PPPD)
        assert 3 == (match.start if match else None)

    @pytest.mark.parametrize(
        "data",
        [
            b"~",
            b"~joe~\r",
            b"\x7e\x7e\x7e\x7e",
            b"\x7e\xc0\x21\x01\x01",  # address/control compressed: never used for LCP (RFC 1661)
            b"\xff\x03\xc0\x21",  # no flag: mgetty needs one too
            b"\xff\x7d\x23\xc0\x21",
            b"\x7e\xff\x03\xc0",  # incomplete
            b"\x7e\xff\x03\x80\x21",  # IPCP-like protocol, not LCP
            b"\x7e\xff\x03\xc0\x23",  # PAP, not LCP
            b"\x7d\x5e\xff\x03\xc0\x21",  # an escaped 7E is data, not a flag (mgetty accepts this one)
            b"\x7e\xff\x7d\x7d\x23\xc0\x21",  # a byte after 7D is data (mgetty takes 7D 7D as two escapes)
        ],
    )
    def test_non_matches(self, data: bytes) -> None:
        """User text with ``~``, a lone flag, compressed A/C, a missing flag and other protocols are not LCP."""
        assert detect(data) is None

    @given(
        noise=st.binary(max_size=40).filter(lambda noise: b"\x7e" not in noise),
        header=st.sampled_from(HEADERS),
        rest=st.binary(max_size=20),
        cuts=st.lists(st.integers(min_value=0, max_value=80), max_size=12),
    )
    def test_any_chunking_gives_the_same_offset(
        self, noise: bytes, header: bytes, rest: bytes, cuts: list[int]
    ) -> None:
        """However the stream is cut into reads, the match and its offset are the same."""
        data = noise + header + rest
        cuts = [cut for cut in cuts if cut <= len(data)]
        assert (LcpMatch(start=len(noise), end=len(noise) + len(header), header=header), detect(data)) == (
            detect(data, cuts),
            detect(data, list(range(len(data)))),
        )

    @given(data=st.binary(max_size=300))
    def test_release_is_lossless_and_bounded(self, data: bytes) -> None:
        """Released bytes plus held bytes are the input, in order, and at most 9 bytes are ever held."""
        detector = LcpDetector()
        released = bytearray()
        for index, raw in enumerate(data):
            step = detector.step(raw)
            if isinstance(step, LcpMatch):
                assert data[: step.start] == bytes(released)
                assert data[step.start : step.end] == step.header
                assert step.end == index + 1
                return
            released += step
            assert len(detector.held) <= MAX_HEADER
            assert data[: index + 1] == bytes(released) + detector.held

    def test_position_counts_bytes(self) -> None:
        """The position is the number of bytes fed, or the end of the match."""
        detector = LcpDetector()
        detector.feed(b"abc")
        before = detector.position
        detector.feed(PPPD)
        assert (3, 9) == (before, detector.position)

    def test_feeding_after_the_match_raises(self) -> None:
        """A finished detector takes no more bytes; that is a shell bug."""
        detector = LcpDetector()
        detector.feed(PPPD)
        with pytest.raises(LocalProtocolError):
            detector.feed(b"x")

    def test_match_is_remembered(self) -> None:
        """The match stays available after it was returned."""
        detector = LcpDetector()
        match = detector.feed(WIN95)
        assert (match, b"") == (detector.match, detector.held)


def _dialog(**kwargs: bool) -> LoginDialog:
    """A started dialog with AutoPPP on (unless told otherwise)."""
    dialog = LoginDialog(result_guard_s=0.0, issue=b"", prompt=PROMPT, **kwargs)
    dialog.start(now=0.0)
    return dialog


def _echo(outputs: list[DialogOutput]) -> bytes:
    """Join the data of every Write."""
    return b"".join(item.data for item in outputs if isinstance(item, Write))


def _results(outputs: list[DialogOutput]) -> list[DialogOutput]:
    """Everything that is not a Write."""
    return [item for item in outputs if not isinstance(item, Write)]


class TestDialogDetectsPpp:
    """The login dialog ends with PppDetected, hands over the frame exactly, and echoes none of it."""

    @pytest.mark.parametrize("frame", [PPPD, WIN95], ids=["pppd", "win95"])
    def test_frame_ends_the_dialog_without_echo(self, frame: bytes) -> None:
        """A first frame in one read gives exactly PppDetected(trailing=frame) and no Write."""
        dialog = _dialog()
        assert ([PppDetected(trailing=frame)], True) == (dialog.receive_data(frame, now=1.0), dialog.done)

    def test_trailing_data_equals_the_frame(self) -> None:
        """The dialog's trailing data is the same bytes as PppDetected.trailing."""
        dialog = _dialog()
        dialog.receive_data(PPPD + PPPD, now=1.0)
        assert PPPD + PPPD == dialog.trailing_data

    def test_bytes_before_the_flag_are_edited_normally(self) -> None:
        """A CR before the frame re-prompts (the one echo a PPP peer can get); the frame is not echoed."""
        outputs = _dialog().receive_data(b"\r" + WIN95, now=1.0)
        assert [Write(data=b"\r\n" + PROMPT), PppDetected(trailing=WIN95)] == outputs

    def test_partial_name_then_frame(self) -> None:
        """Typing before the frame is echoed, the frame is not, and the name is dropped."""
        outputs = _dialog().receive_data(b"jo" + PPPD, now=1.0)
        assert [Write(data=b"jo"), PppDetected(trailing=PPPD)] == outputs

    @pytest.mark.parametrize("cut", range(1, len(PPPD)))
    def test_split_at_every_byte(self, cut: int) -> None:
        """Cut anywhere, the frame from its flag on reaches the shell, and nothing is echoed."""
        dialog = _dialog()
        outputs = dialog.receive_data(PPPD[:cut], now=1.0)
        unused = PPPD[cut:]
        if not dialog.done:
            outputs += dialog.receive_data(PPPD[cut:], now=1.1)
            unused = b""
        assert (b"", PPPD) == (_echo(outputs), dialog.trailing_data + unused)

    def test_split_header_across_three_reads(self) -> None:
        """A header split over several reads is still handed over whole."""
        dialog = _dialog()
        outputs = dialog.receive_data(b"\x7e", now=1.0) + dialog.receive_data(b"\xff\x7d", now=1.1)
        outputs += dialog.receive_data(PPPD[3:], now=1.2)
        assert [PppDetected(trailing=PPPD)] == outputs

    def test_mgetty_deviant_raw_control_byte(self) -> None:
        """An unescaped 03 (Ctrl-C to the editor) in the header neither re-prompts nor echoes."""
        frame = b"\x7e\xff\x03\xc0\x21\x01\x01\x00\x04"
        assert [PppDetected(trailing=frame)] == _dialog().receive_data(frame, now=1.0)

    @given(
        magic=st.binary(min_size=4, max_size=4),
        typed=st.text(alphabet="abcdefghijklmnopqrstuvwxyz-~ ", max_size=10),
        win95=st.booleans(),
        cuts=st.lists(st.integers(min_value=0, max_value=60), max_size=8),
    )
    def test_a_frame_is_never_a_name(self, magic: bytes, typed: str, win95: bool, cuts: list[int]) -> None:
        """Whatever was typed before and however it is cut, a frame gives PppDetected, never a name or a refusal."""
        frame = win95_first_frame(magic) if win95 else pppd_first_frame(magic)
        data = typed.encode() + frame
        dialog = _dialog()
        outputs: list[DialogOutput] = []
        for start, end in itertools.pairwise([0, *sorted(cut for cut in cuts if cut <= len(data)), len(data)]):
            if not dialog.done:
                outputs += dialog.receive_data(data[start:end], now=1.0)
        results = _results(outputs)
        assert [PppDetected] == [type(result) for result in results]
        assert INVALID not in _echo(outputs)
        assert not any(byte in _echo(outputs) for byte in (b"}", b"@", b"!", b"#"))

    def test_no_echo_of_the_header_even_after_a_tilde(self) -> None:
        """A ``~`` typed just before the frame is released (echoed) and the frame still is not."""
        outputs = _dialog().receive_data(b"~" + PPPD, now=1.0)
        assert [Write(data=b"~"), PppDetected(trailing=PPPD)] == outputs

    def test_unrecognised_start_is_edited_like_mgetty(self) -> None:
        """A compressed-A/C frame start is not PPP: it is echoed as its 7-bit text, as mgetty would."""
        outputs = _dialog().receive_data(b"\x7e\xc0\x21", now=1.0)
        assert (b"~@!", []) == (_echo(outputs), _results(outputs))

    def test_autoppp_off_reads_the_frame_as_text(self) -> None:
        """With ``autoppp=False`` there is no detection; the frame is only line noise."""
        outputs = _dialog(autoppp=False).receive_data(PPPD, now=1.0)
        assert not any(isinstance(item, PppDetected) for item in outputs)

    def test_data_after_ppp_raises(self) -> None:
        """The dialog is done after PppDetected; more bytes are a shell bug."""
        dialog = _dialog()
        dialog.receive_data(PPPD, now=1.0)
        with pytest.raises(LocalProtocolError):
            dialog.receive_data(b"x", now=2.0)

    def test_no_timer_after_ppp(self) -> None:
        """PppDetected disarms the login timers."""
        dialog = _dialog()
        dialog.receive_data(PPPD, now=1.0)
        assert dialog.get_timer() is None


class TestSilentWindow:
    """The quiet wait after CONNECT: PPP is found, anything else is kept for the login dialog."""

    @pytest.fixture(name="window")
    def _window(self) -> SilentWindow:
        """A 1.5 s window opened at t=10."""
        window = SilentWindow(window_s=1.5)
        window.start(now=10.0)
        return window

    def test_expiry_returns_buffered_keystrokes(self, window: SilentWindow) -> None:
        """A terminal user's early keys come back in order when the window expires."""
        window.receive_data(b"j", now=10.1)
        window.receive_data(b"oe", now=10.2)
        assert Expired(buffered=b"joe") == window.handle_timer(now=11.5)

    def test_buffered_keys_make_a_name(self, window: SilentWindow) -> None:
        """Fed to the login dialog afterwards, the early keys are not lost."""
        window.receive_data(b"joe\r", now=10.3)
        expired = window.handle_timer(now=11.5)
        dialog = _dialog()
        outputs = dialog.receive_data(expired.buffered if expired else b"", now=11.6)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == _results(outputs)

    def test_ppp_inside_the_window(self, window: SilentWindow) -> None:
        """An LCP frame in the window gives PppDetected from its flag on; earlier noise is dropped."""
        assert PppDetected(trailing=WIN95) == window.receive_data(b"\r\n" + WIN95, now=10.4)

    def test_ppp_split_across_reads(self, window: SilentWindow) -> None:
        """A frame split over reads is handed over from its flag, whole."""
        assert (None, PppDetected(trailing=PPPD)) == (
            window.receive_data(b"x" + PPPD[:4], now=10.1),
            window.receive_data(PPPD[4:], now=10.2),
        )

    def test_done_after_ppp(self, window: SilentWindow) -> None:
        """After PppDetected nothing is armed and no input is accepted."""
        window.receive_data(PPPD, now=10.1)
        assert (WindowPhase.DONE, None) == (window.phase, window.get_timer())
        with pytest.raises(LocalProtocolError):
            window.receive_data(b"x", now=10.2)

    def test_early_timer_does_nothing(self, window: SilentWindow) -> None:
        """A wake-up before the end of the window changes nothing."""
        assert (None, 11.5) == (window.handle_timer(now=11.0), window.get_timer())

    def test_late_data_expires_with_it(self, window: SilentWindow) -> None:
        """Bytes handed in after the window are kept and the window expires with them."""
        window.receive_data(b"a", now=10.1)
        assert Expired(buffered=b"ab") == window.receive_data(b"b", now=12.0)

    def test_late_ppp_is_still_ppp(self, window: SilentWindow) -> None:
        """A frame handed in late is still recognised (the dialog would find it anyway)."""
        assert PppDetected(trailing=PPPD) == window.receive_data(PPPD, now=99.0)

    def test_buffer_is_bounded(self, window: SilentWindow) -> None:
        """10 kB in the window keeps 4 KiB and counts the rest."""
        window.receive_data(b"x" * 10_000, now=10.1)
        assert Expired(buffered=b"x" * 4096, dropped=10_000 - 4096) == window.handle_timer(now=11.5)

    def test_partial_header_at_expiry_is_found_by_the_dialog(self, window: SilentWindow) -> None:
        """A frame cut by the end of the window is detected by the dialog that gets the buffer."""
        window.receive_data(PPPD[:2], now=11.4)
        expired = window.handle_timer(now=11.5)
        dialog = _dialog()
        outputs = dialog.receive_data(expired.buffered if expired else b"", now=11.6)
        outputs += dialog.receive_data(PPPD[2:], now=11.7)
        assert [PppDetected(trailing=PPPD)] == outputs

    def test_not_started(self) -> None:
        """Data or a timer before start is a shell bug; so is starting twice."""
        window = SilentWindow(window_s=1.0)
        with pytest.raises(LocalProtocolError):
            window.receive_data(b"x", now=0.0)
        with pytest.raises(LocalProtocolError):
            window.handle_timer(now=0.0)
        window.start(now=0.0)
        with pytest.raises(LocalProtocolError):
            window.start(now=0.0)
        assert WindowPhase.WAITING == window.phase

    @pytest.mark.parametrize("kwargs", [{"window_s": 0.0}, {"window_s": -1.0}, {"window_s": 1.0, "max_buffer": -1}])
    def test_bad_settings(self, kwargs: dict[str, float]) -> None:
        """A window that is not positive, or a negative buffer, is a ValueError."""
        with pytest.raises(ValueError):
            SilentWindow(**kwargs)  # type: ignore[arg-type]


class TestDoctests:
    """The module's doctests hold."""

    def test_doctests(self) -> None:
        """Every example in the docstrings passes."""
        assert 0 == doctest.testmod(_ppp).failed
