"""Harness (a): the line splitter and the classifier behind it, fed any bytes in any chunking.

Invariants (``answerd.core.hayes.lines`` and ``.codes`` docstrings): a line is non-empty, stripped,
printable ASCII; ``Garbage`` reports a line longer than ``max_line``; after ``None`` at most ``max_line``
bytes stay buffered; the items do not depend on how the stream was cut; ``classify`` never raises and every
value in its event is clean; ``take_rest`` after the last line returns the unconsumed bytes.
"""

from __future__ import annotations

from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import Garbage
from answerd.core.hayes.lines import LineSplitter
from fuzz.checks import check_event, printable
from fuzz.source import Source

__all__ = ["test_one_input"]

_PENDING = (None, "ATZ", "ATA", "AT&V", "ATE0Q0V1&C1&D2S0=0")


def _split(stream: bytes, max_line: int, cuts: bytes) -> list[str | Garbage]:
    """Feed ``stream`` cut into pieces whose lengths cycle through ``cuts``; drain after each piece."""
    splitter = LineSplitter(max_line=max_line)
    items: list[str | Garbage] = []
    pos = 0
    index = 0
    while pos < len(stream):
        size = 1 + (cuts[index % len(cuts)] if cuts else len(stream))
        index += 1
        splitter.receive_data(stream[pos : pos + size])
        pos += size
        while (item := splitter.next_line()) is not None:
            items.append(item)
        assert splitter.buffered <= max_line, (splitter.buffered, max_line)
    return items


def test_one_input(data: bytes) -> None:
    """Split and classify ``data``; assert the splitter's and the classifier's promises."""
    source = Source(data)
    max_line = source.int_in(1, 300)
    cuts = source.chunk(8)
    pending = source.choice(_PENDING)
    stream = source.rest()

    whole = LineSplitter(max_line=max_line)
    whole.receive_data(stream)
    items: list[str | Garbage] = []
    while (item := whole.next_line()) is not None:
        items.append(item)
    assert whole.buffered <= max_line

    assert items == _split(stream, max_line, cuts), "chunking changed the lines"
    for item in items:
        if isinstance(item, Garbage):
            assert item.dropped > max_line, item
            continue
        assert item, "an empty line"
        assert item == item.strip(), item
        assert printable(item), item
        assert len(item) <= max_line
        check_event(classify(item, pending=pending), item)

    # take_rest hands back exactly the bytes after the last line's terminator, uncleaned.
    rested = LineSplitter(max_line=max_line)
    rested.receive_data(stream)
    first = rested.next_line()
    rest = rested.take_rest()
    assert rested.buffered == 0
    assert stream.endswith(rest), (stream, rest)
    if first is None:
        assert len(rest) <= max_line, "bytes of a discarded over-long line came back"
