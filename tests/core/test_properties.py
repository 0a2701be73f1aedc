"""Hypothesis properties of splitting + classifying: chunking invariance, noise tolerance, take_rest."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import Garbage, ModemEvent, Ring
from answerd.core.hayes.lines import LineSplitter

SETTINGS = settings(max_examples=150, deadline=None)

#: Lines a modem really sends (one per dialect family).
VALID_LINES = [
    "OK",
    "0",
    "ERROR",
    "NO CARRIER",
    "RING",
    "2",
    "RING 2",
    "RING B",
    "RING;08912345;08765",
    "RING/5551234",
    "RING 5551234",
    "RING: 3 DN9 8888",
    "DRON=11",
    "DROF=40",
    "NMBR = 5551234",
    "NAME = JOHN SMITH",
    "DATE = 0321",
    "TIME = 1405",
    "MESG = 030735353531323132",
    "FM:5551234 TO:8765",
    '+CLIP: "5551234",129',
    "CARRIER 28800",
    "PROTOCOL: LAP-M",
    "+MRR: 28800",
    "CONNECT 28800/ARQ/V34/LAPM/V42BIS",
    "CONNECT",
    "12",
    "ATZ",
    "U.S. Robotics 56K FAX EXT",
]
TERMINATORS = [b"\r", b"\n", b"\r\n", b"\n\r", b"\r\r\n", b"\x8d\x8a"]

valid_line = st.builds(
    lambda text, term: text.encode("ascii") + term,
    st.sampled_from(VALID_LINES),
    st.sampled_from(TERMINATORS),
)
noise = st.binary(min_size=1, max_size=80) | st.binary(min_size=200, max_size=600)
transcripts = st.lists(valid_line | noise, max_size=25).map(b"".join)
max_lines = st.sampled_from([8, 40, 256])


def drain(splitter: LineSplitter) -> list[str | Garbage]:
    """Call next_line until it returns None and return everything it gave."""
    items: list[str | Garbage] = []
    while (item := splitter.next_line()) is not None:
        items.append(item)
    return items


def split(data: bytes, max_line: int) -> list[str | Garbage]:
    """Feed ``data`` whole to a fresh splitter and drain it."""
    splitter = LineSplitter(max_line=max_line)
    splitter.receive_data(data)
    return drain(splitter)


def events(items: list[str | Garbage], pending: str | None = None) -> list[ModemEvent]:
    """Classify every line, keeping Garbage as it is."""
    return [item if isinstance(item, Garbage) else classify(item, pending=pending) for item in items]


def chunked(data: bytes, cuts: list[int]) -> list[bytes]:
    """Cut ``data`` at the given offsets (in any order, repeats allowed) into consecutive chunks."""
    bounds = [0, *sorted(cut % (len(data) + 1) for cut in cuts), len(data)]
    return [data[start:end] for start, end in itertools.pairwise(bounds)]


class TestChunkingInvariance:
    """How the bytes are cut into reads never changes what comes out."""

    @SETTINGS
    @given(stream=transcripts, cuts=st.lists(st.integers(min_value=0), max_size=30), max_line=max_lines)
    def test_any_chunking_gives_the_same_events(self, stream: bytes, cuts: list[int], max_line: int) -> None:
        """Splitting and classifying chunk by chunk equals doing it on the whole stream."""
        splitter = LineSplitter(max_line=max_line)
        items: list[str | Garbage] = []
        for chunk in chunked(stream, cuts):
            splitter.receive_data(chunk)
            items += drain(splitter)

        assert events(split(stream, max_line), "ATZ") == events(items, "ATZ")

    @SETTINGS
    @given(stream=transcripts)
    def test_byte_at_a_time_gives_the_same_events(self, stream: bytes) -> None:
        """Feeding one byte per read equals feeding the whole stream."""
        splitter = LineSplitter()
        items: list[str | Garbage] = []
        for byte in stream:
            splitter.receive_data(bytes([byte]))
            items += drain(splitter)

        assert split(stream, 256) == items

    @SETTINGS
    @given(stream=transcripts, cuts=st.lists(st.integers(min_value=0), max_size=30), max_line=max_lines)
    def test_buffer_stays_bounded(self, stream: bytes, cuts: list[int], max_line: int) -> None:
        """After every drain at most max_line bytes are held, whatever the input."""
        splitter = LineSplitter(max_line=max_line)
        largest = 0
        for chunk in chunked(stream, cuts):
            splitter.receive_data(chunk)
            drain(splitter)
            largest = max(largest, splitter.buffered)

        assert max_line >= largest


class TestNoise:
    """Line noise never breaks the splitter or the classifier."""

    @SETTINGS
    @given(junk=st.binary(max_size=2000), max_line=max_lines)
    def test_ring_after_noise_is_still_a_ring(self, junk: bytes, max_line: int) -> None:
        """Whatever noise came before, a following RING is classified as Ring."""
        found = events(split(junk + b"\r\nRING\r\n", max_line), pending="ATZ")

        assert Ring(line="RING") == found[-1]

    @SETTINGS
    @given(junk=st.binary(max_size=2000), max_line=max_lines)
    def test_lines_are_clean_and_garbage_is_overlong(self, junk: bytes, max_line: int) -> None:
        """Every line is non-empty printable ASCII, and every Garbage is longer than max_line."""
        for item in split(junk, max_line):
            if isinstance(item, Garbage):
                assert item.dropped > max_line
            else:
                assert (True, True, True) == (bool(item), item.isascii(), item.isprintable())

    @SETTINGS
    @given(text=st.text(max_size=300), pending=st.none() | st.text(max_size=20))
    def test_classify_never_raises(self, text: str, pending: str | None) -> None:
        """classify accepts any string and returns an event whose line is printable."""
        event = classify(text, pending=pending)

        assert event.line.isprintable()


class TestTakeRest:
    """take_rest plus the lines consumed before it account for the whole stream."""

    @SETTINGS
    @given(
        stream=transcripts,
        cuts=st.lists(st.integers(min_value=0), max_size=30),
        max_line=max_lines,
        data=st.data(),
    )
    def test_consumed_lines_plus_rest_reconstruct_the_stream(
        self, stream: bytes, cuts: list[int], max_line: int, data: st.DataObject
    ) -> None:
        """After k lines, the rest plus the unread bytes is the suffix of the stream holding the others."""
        whole = split(stream, max_line)
        k = data.draw(st.integers(min_value=0, max_value=len(whole)), label="k")
        splitter = LineSplitter(max_line=max_line)
        consumed: list[str | Garbage] = []
        chunks = chunked(stream, cuts)
        while chunks and len(consumed) < k:
            splitter.receive_data(chunks.pop(0))
            while len(consumed) < k and (item := splitter.next_line()) is not None:
                consumed.append(item)
        rest = splitter.take_rest() + b"".join(chunks)
        prefix = stream[: len(stream) - len(rest)]

        assert stream == prefix + rest
        assert consumed == split(prefix, max_line)
        assert whole == consumed + split(rest, max_line)
