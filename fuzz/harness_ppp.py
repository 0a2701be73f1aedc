"""Harness (d): PPP detection — the LCP frame-start detector and the silent window after CONNECT.

Invariants (``answerd.core._ppp`` docstring): the detector finds exactly the first ``7E FF 03 C0 21`` with
any header byte ``7D``-escaped (checked against a one-line regular expression, the specification written
differently), in any chunking; bytes it releases plus what it holds are the input, in order, and it never
holds more than :data:`MAX_HEADER`; feeding it after a match raises ``LocalProtocolError``. The silent
window ends once, with ``PppDetected`` (trailing from the flag on, exactly as received) or ``Expired``
(the bytes before, bounded by ``max_buffer``, with the rest counted as dropped).
"""

from __future__ import annotations

import re
from typing import Final

from answerd.core._errors import LocalProtocolError
from answerd.core._ppp import MAX_HEADER, Expired, LcpDetector, LcpMatch, PppDetected, SilentWindow
from fuzz.source import Source

__all__ = ["test_one_input"]

#: The first LCP frame start, as RFC 1662 puts it: a flag, then each header byte raw or escaped.
_REFERENCE: Final = re.compile(rb"\x7e(?:\xff|\x7d\xdf)(?:\x03|\x7d\x23)(?:\xc0|\x7d\xe0)(?:\x21|\x7d\x01)")
_TOKENS = (b"\x7e", b"\xff", b"\x03", b"\xc0", b"\x21", b"\x7d", b"\x7d\xdf", b"\x7d\x23", b"\x7d\xe0", b"\x7d\x01")


def _stream(source: Source) -> bytes:
    """Bytes rich in header pieces: each step a header token or a short raw chunk."""
    out = bytearray()
    while source.remaining and len(out) < 4096:
        out += source.choice(_TOKENS) if source.flag() else source.chunk(6)
    return bytes(out)


def _check_detector(stream: bytes, cuts: bytes) -> None:
    expected = _REFERENCE.search(stream)
    detector = LcpDetector()
    released = bytearray()
    found: LcpMatch | None = None
    for raw in stream:
        step = detector.step(raw)
        if isinstance(step, LcpMatch):
            found = step
            break
        released += step
        assert len(detector.held) <= MAX_HEADER
        assert len(released) + len(detector.held) == detector.position, "bytes lost or invented"
    if found is None:
        assert bytes(released) + detector.held == stream, "bytes lost or invented"
    if expected is None:
        assert found is None, found
    else:
        assert found is not None, "missed an LCP frame start"
        assert (found.start, found.end) == expected.span(), (found, expected)
        assert found.header == expected.group()
        assert bytes(released) == stream[: found.start], "a byte of the frame start was released"
        try:
            detector.step(0)
        except LocalProtocolError:
            pass
        else:
            raise AssertionError("fed after its match")
    # The same stream in pieces: the same match.
    chunked = LcpDetector()
    pos, index, match = 0, 0, None
    while pos < len(stream) and match is None:
        size = 1 + (cuts[index % len(cuts)] if cuts else 7)
        index += 1
        match = chunked.feed(stream[pos : pos + size])
        pos += size
    assert match == found, (match, found)


def _check_window(source: Source, stream: bytes) -> None:
    max_buffer = source.int_in(0, 64)
    window = SilentWindow(source.choice((0.5, 1.5, 3.0)), max_buffer=max_buffer)
    now = 0.0
    window.start(now)
    fed = bytearray()
    pos = 0
    result: PppDetected | Expired | None = None
    while result is None:
        if pos >= len(stream):
            result = window.handle_timer(now + 10.0)
            assert result is not None
            break
        size = 1 + source.int_in(0, 16)
        piece = stream[pos : pos + size]
        pos += size
        now += source.choice((0.0, 0.1, 1.0))
        fed += piece
        result = window.receive_data(piece, now)
        if result is None:
            result = window.handle_timer(now)
    expected = _REFERENCE.search(bytes(fed))
    if isinstance(result, PppDetected):
        assert expected is not None
        assert result.trailing == bytes(fed[expected.start() :]), "the frame did not reach pppd intact"
    else:
        assert expected is None or expected.end() > len(fed), "expired over a complete frame start"
        assert len(result.buffered) <= max_buffer
        assert bytes(fed).startswith(result.buffered)
        assert len(result.buffered) + result.dropped == len(fed)
    assert window.get_timer() is None


def test_one_input(data: bytes) -> None:
    """Detect LCP in a stream of header pieces, whole, in pieces and through the silent window."""
    source = Source(data)
    cuts = source.chunk(6)
    window = source.flag()
    stream = _stream(source)
    _check_detector(stream, cuts)
    if window:
        # The stream read backwards drives the window (sizes, delays): deterministic, and varied.
        _check_window(Source(stream[::-1]), stream)
