"""Tests for the line splitter: terminators, cleaning, over-long lines, take_rest and bounded memory."""

from __future__ import annotations

import doctest

import pytest

from answerd.core.hayes import lines as _lines
from answerd.core.hayes.events import Garbage
from answerd.core.hayes.lines import LineSplitter


def drain(splitter: LineSplitter) -> list[str | Garbage]:
    """Call next_line until it returns None and return everything it gave."""
    items: list[str | Garbage] = []
    while (item := splitter.next_line()) is not None:
        items.append(item)
    return items


def split(data: bytes, *, max_line: int = 256) -> list[str | Garbage]:
    """Feed ``data`` in one piece to a fresh splitter and drain it."""
    splitter = LineSplitter(max_line=max_line)
    splitter.receive_data(data)
    return drain(splitter)


class TestTerminators:
    """Every way a modem ends a line."""

    @pytest.mark.parametrize(
        "data",
        [
            b"OK\r",
            b"OK\n",
            b"OK\r\n",
            b"OK\n\r",
            b"OK\r\r\n",
            b"\r\nOK\r\n",
            b"\n\rOK\n\r",
        ],
    )
    def test_each_terminator_ends_a_line(self, data: bytes) -> None:
        """CR, LF, CRLF, LFCR and CR CR LF each end exactly one line."""
        assert ["OK"] == split(data)

    def test_numeric_result_with_bare_cr(self) -> None:
        """A V0 numeric result code ends with a bare CR."""
        assert ["0", "2", "1"] == split(b"0\r2\r1\r")

    def test_parity_cr_ends_a_line(self) -> None:
        """A CR with the parity bit set (0x8D, a modem at 7E1) still ends the line."""
        assert ["OK", "RING"] == split(b"OK\x8dRING\x8d\x8a")

    def test_mixed_terminators_in_one_stream(self) -> None:
        """Lines ended differently in one stream are all seen, in order."""
        assert ["RING", "NMBR = 123", "RING"] == split(b"RING\rNMBR = 123\n\rRING\r\n")

    def test_empty_lines_are_skipped(self) -> None:
        """Runs of terminators produce no empty lines."""
        assert ["A", "B"] == split(b"\r\n\r\n\n\n\r\rA\r\n\r\n\r\nB\n\n")


class TestCleaning:
    """What the splitter does to the bytes of a line."""

    def test_nul_is_dropped(self) -> None:
        """NUL bytes inside and around a line vanish."""
        assert ["RING"] == split(b"\x00R\x00IN\x00G\x00\r\n")

    def test_eighth_bit_is_masked(self) -> None:
        """Parity noise on letters is masked off ('R' | 0x80 reads as 'R')."""
        assert ["RING"] == split(bytes([ord("R") | 0x80]) + b"I" + bytes([ord("N") | 0x80]) + b"G\r")

    def test_control_characters_are_removed(self) -> None:
        """Control characters and DEL are removed from a line."""
        assert ["CONNECT"] == split(b"\x1bCON\x07NE\x7fCT\x08\r\n")

    def test_eighth_bit_control_characters_are_removed(self) -> None:
        """Bytes that become control characters once masked (0x80-0x9F, 0xFF) are removed too."""
        assert ["OK"] == split(b"\x81O\x9bK\xff\r\n")

    def test_tab_becomes_a_space(self) -> None:
        """A TAB separates words, so it is kept as a space rather than removed."""
        assert ["CONNECT 9600"] == split(b"CONNECT\t9600\r\n")

    def test_whitespace_is_stripped(self) -> None:
        """Leading and trailing blanks are stripped."""
        assert ["NMBR = 5551234"] == split(b"   NMBR = 5551234  \t \r\n")

    def test_line_of_noise_is_skipped(self) -> None:
        """A line that is empty after cleaning produces nothing."""
        assert ["RING"] == split(b"\x00\x01\x7f \x80\x9f\r\nRING\r\n")

    def test_result_is_printable_ascii(self) -> None:
        """Every byte value in a line yields printable ASCII."""
        (line,) = split(b"X" + bytes(b for b in range(256) if b & 0x7F not in (0x0A, 0x0D)) + b"\r")

        assert line.isascii()
        assert line.isprintable()


class TestOverlongLines:
    """Lines longer than max_line are dropped, counted, and reported once."""

    def test_overlong_line_is_one_garbage_then_resync(self) -> None:
        """An over-long line yields exactly one Garbage with its byte count, and the next RING is seen."""
        assert [Garbage(dropped=300), "RING"] == split(b"x" * 300 + b"\r\nRING\r\n")

    def test_line_of_exactly_max_line_is_kept(self) -> None:
        """A line of exactly max_line raw bytes is still a line."""
        assert ["y" * 16] == split(b"y" * 16 + b"\r", max_line=16)

    def test_one_byte_over_is_garbage(self) -> None:
        """A line one byte longer than max_line is Garbage."""
        assert [Garbage(dropped=17)] == split(b"y" * 17 + b"\r", max_line=16)

    def test_count_includes_bytes_later_cleaned_away(self) -> None:
        """The limit and the count are on raw bytes, NULs included."""
        assert [Garbage(dropped=20)] == split(b"\x00" * 20 + b"\n", max_line=16)

    def test_overlong_line_fed_in_pieces(self) -> None:
        """An over-long line that arrives over many reads is reported once, when it ends."""
        splitter = LineSplitter(max_line=16)
        seen: list[str | Garbage] = []
        for _ in range(10):
            splitter.receive_data(b"z" * 7)
            seen += drain(splitter)
        splitter.receive_data(b"\r\nRING\r\n")
        seen += drain(splitter)

        assert [Garbage(dropped=70), "RING"] == seen

    def test_unterminated_overlong_line_reports_nothing_yet(self) -> None:
        """Garbage is only reported once the over-long line's terminator arrives."""
        splitter = LineSplitter(max_line=16)
        splitter.receive_data(b"z" * 100)

        assert [] == drain(splitter)

    def test_two_overlong_lines_are_two_garbage(self) -> None:
        """Each over-long line is reported separately."""
        assert [Garbage(dropped=20), Garbage(dropped=30), "OK"] == split(
            b"a" * 20 + b"\r" + b"b" * 30 + b"\nOK\r", max_line=16
        )

    def test_max_line_must_be_positive(self) -> None:
        """A max_line below 1 is a programming error."""
        with pytest.raises(ValueError, match="max_line"):
            LineSplitter(max_line=0)


class TestPending:
    """Unterminated text waits for the rest of its line."""

    def test_no_terminator_is_pending(self) -> None:
        """Text without a terminator is not returned."""
        splitter = LineSplitter()
        splitter.receive_data(b"RIN")

        assert splitter.next_line() is None

    def test_pending_text_is_completed_by_the_next_read(self) -> None:
        """The start of a line from one read joins its end from the next."""
        splitter = LineSplitter()
        splitter.receive_data(b"\r\nRIN")
        drain(splitter)
        splitter.receive_data(b"G 2\r\n")

        assert ["RING 2"] == drain(splitter)

    def test_split_crlf_gives_one_line(self) -> None:
        """A CRLF cut between two reads does not produce a second line."""
        splitter = LineSplitter()
        splitter.receive_data(b"OK\r")
        first = drain(splitter)
        splitter.receive_data(b"\nRING\r")

        assert ["OK", "RING"] == first + drain(splitter)

    def test_empty_data_does_nothing(self) -> None:
        """receive_data(b'') changes nothing."""
        splitter = LineSplitter()
        splitter.receive_data(b"AT")
        splitter.receive_data(b"")

        assert 2 == splitter.buffered


class TestTakeRest:
    """take_rest hands over the raw bytes after the last returned line."""

    def test_bytes_after_connect_are_returned(self) -> None:
        """What the caller sent in the same read as CONNECT is returned, minus CONNECT's own CRLF."""
        splitter = LineSplitter()
        splitter.receive_data(b"\r\nCONNECT 33600\r\n~\xff}#\xc0!")

        assert "CONNECT 33600" == splitter.next_line()
        assert b"~\xff}#\xc0!" == splitter.take_rest()

    def test_rest_is_raw(self) -> None:
        """The rest is not cleaned: NULs, 8-bit bytes, control bytes and terminators stay."""
        splitter = LineSplitter()
        splitter.receive_data(b"CONNECT\r\n\x00\x80\r\n\x1b \n")
        splitter.next_line()

        assert b"\x00\x80\r\n\x1b \n" == splitter.take_rest()

    def test_crcrlf_tail_is_dropped(self) -> None:
        """After CR CR LF the whole line ending belongs to the modem."""
        splitter = LineSplitter()
        splitter.receive_data(b"CONNECT\r\r\nabc")
        splitter.next_line()

        assert b"abc" == splitter.take_rest()

    def test_lfcr_tail_is_dropped(self) -> None:
        """After LFCR the CR belongs to the modem's line ending."""
        splitter = LineSplitter()
        splitter.receive_data(b"CONNECT\n\rabc")
        splitter.next_line()

        assert b"abc" == splitter.take_rest()

    def test_only_one_line_ending_is_dropped(self) -> None:
        """A second CRLF after CONNECT's own line ending belongs to the caller."""
        splitter = LineSplitter()
        splitter.receive_data(b"CONNECT\r\n\r\n")
        splitter.next_line()

        assert b"\r\n" == splitter.take_rest()

    def test_later_lines_are_not_split(self) -> None:
        """Lines after the last one returned stay in the rest, unsplit."""
        splitter = LineSplitter()
        splitter.receive_data(b"CONNECT\rlogin\rpassword\r")
        splitter.next_line()

        assert b"login\rpassword\r" == splitter.take_rest()

    def test_rest_after_need_data_is_the_pending_text(self) -> None:
        """After next_line returned None, the rest is the pending unterminated bytes, as received."""
        splitter = LineSplitter()
        splitter.receive_data(b"OK\r\n\x00ab")
        drain(splitter)

        assert b"\x00ab" == splitter.take_rest()

    def test_take_rest_empties_the_splitter(self) -> None:
        """After take_rest nothing is buffered and splitting starts afresh."""
        splitter = LineSplitter()
        splitter.receive_data(b"CONNECT\r\nrest")
        splitter.next_line()
        splitter.take_rest()
        splitter.receive_data(b"OK\r")

        assert ["OK"] == drain(splitter)

    def test_take_rest_on_empty_splitter(self) -> None:
        """take_rest on a fresh splitter returns nothing."""
        assert b"" == LineSplitter().take_rest()


class TestBoundedMemory:
    """The buffer never grows with the input."""

    def test_megabyte_without_terminator(self) -> None:
        """1 MB without a terminator, drained after each read, never holds more than max_line bytes."""
        splitter = LineSplitter(max_line=256)
        chunk = bytes(range(32, 127)) * 43  # 4085 bytes, no CR or LF
        reads = (1 << 20) // len(chunk) + 1
        largest = 0
        for _ in range(reads):
            splitter.receive_data(chunk)
            assert splitter.next_line() is None
            largest = max(largest, splitter.buffered)
        splitter.receive_data(b"\r\nRING\r\n")

        assert 256 >= largest
        assert [Garbage(dropped=reads * len(chunk)), "RING"] == drain(splitter)

    def test_partial_line_is_kept_within_bound(self) -> None:
        """A short partial line is kept whole, and its size is what buffered reports."""
        splitter = LineSplitter(max_line=256)
        splitter.receive_data(b"OK\r\n" * 1000 + b"RIN")
        drain(splitter)

        assert 3 == splitter.buffered

    def test_physical_buffer_is_compacted(self) -> None:
        """After next_line returns None the internal buffer holds only the partial line."""
        splitter = LineSplitter(max_line=256)
        splitter.receive_data(b"NMBR = 5551234\r\n" * 10_000 + b"RI")
        assert 10_000 == len(drain(splitter))

        assert 2 == len(splitter._buf)

    def test_many_lines_in_one_read(self) -> None:
        """A large read of many lines is split completely (no quadratic blow-up, nothing lost)."""
        assert ["RING"] * 50_000 == split(b"RING\r\n" * 50_000)


class TestDocs:
    """The documentation's examples."""

    def test_doctests(self) -> None:
        """The examples in the module's docstrings hold."""
        assert 0 == doctest.testmod(_lines).failed
