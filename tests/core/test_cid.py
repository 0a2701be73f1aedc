"""Tests for caller-ID values: the sanitiser, SDMF/MDMF decoding, CallerInfo and merging classified lines."""

from __future__ import annotations

import doctest
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from answerd.core.hayes import cid as _cid
from answerd.core.hayes.cid import (
    AbsenceReason,
    CallerInfo,
    absence_marker,
    caller_id_text,
    clean_number,
    clean_text,
    decode_mesg,
    merge_caller_id,
)
from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import CallerIdField, Ring

P = AbsenceReason.PRIVATE
O = AbsenceReason.OUT_OF_AREA  # noqa: E741 (the marker's own letter)


def packet(kind: int, body: bytes, *, fix: int = 0) -> str:
    """A whole caller-ID packet in hex: type, length, body, checksum (``fix`` corrupts the checksum)."""
    head = bytes([kind, len(body) & 0xFF]) + body
    return (head + bytes([(-sum(head) + fix) & 0xFF])).hex().upper()


def param(kind: int, value: bytes) -> bytes:
    """One MDMF parameter: type, length, value."""
    return bytes([kind, len(value)]) + value


def sdmf(datetime: bytes, number: bytes, *, fix: int = 0) -> str:
    """An SDMF packet (type 0x04) in hex."""
    return packet(0x04, datetime + number, fix=fix)


def mdmf(*params: bytes, fix: int = 0) -> str:
    """An MDMF packet (type 0x80) in hex."""
    return packet(0x80, b"".join(params), fix=fix)


FULL = CallerInfo(number="5551234", name="SMITH JOHN", date="0321", time="1405")

DECODED: list[tuple[str, str, CallerInfo | None]] = [
    ("sdmf", sdmf(b"03211405", b"5551234"), CallerInfo(number="5551234", date="0321", time="1405")),
    ("sdmf private", sdmf(b"03211405", b"P"), CallerInfo(reason_number=P, date="0321", time="1405")),
    ("sdmf out of area", sdmf(b"03211405", b"O"), CallerInfo(reason_number=O, date="0321", time="1405")),
    ("sdmf date only", sdmf(b"03211405", b""), CallerInfo(date="0321", time="1405")),
    ("sdmf bad checksum", sdmf(b"03211405", b"5551234", fix=1), None),
    ("sdmf letters in the date", sdmf(b"0321I405", b"5551234"), None),
    ("sdmf body shorter than the date", packet(0x04, b"0321"), None),
    (
        "mdmf full",
        mdmf(param(0x01, b"03211405"), param(0x02, b"5551234"), param(0x07, b"SMITH JOHN")),
        FULL,
    ),
    (
        "mdmf order does not matter",
        mdmf(param(0x07, b"SMITH JOHN"), param(0x02, b"5551234"), param(0x01, b"03211405")),
        FULL,
    ),
    (
        "mdmf private number and out-of-area name",
        mdmf(param(0x01, b"03211405"), param(0x04, b"P"), param(0x08, b"O")),
        CallerInfo(date="0321", time="1405", reason_number=P, reason_name=O),
    ),
    ("mdmf unknown reason means unavailable", mdmf(param(0x04, b"X")), CallerInfo(reason_number=O)),
    ("mdmf dialable number", mdmf(param(0x03, b"5551212")), CallerInfo(number="5551212")),
    (
        "mdmf calling number beats dialable number",
        mdmf(param(0x03, b"15551212"), param(0x02, b"5551212")),
        CallerInfo(number="5551212"),
    ),
    ("mdmf first of a type wins", mdmf(param(0x02, b"111"), param(0x02, b"222")), CallerInfo(number="111")),
    (
        "mdmf unknown parameters are skipped",
        mdmf(param(0x06, b"\x01"), param(0x02, b"5551234"), param(0x0B, b"xyz")),
        CallerInfo(number="5551234"),
    ),
    ("mdmf only unknown parameters", mdmf(param(0x06, b"\x01")), None),
    ("mdmf empty", mdmf(), None),
    ("mdmf bad datetime is dropped", mdmf(param(0x01, b"0321"), param(0x02, b"42")), CallerInfo(number="42")),
    ("mdmf bad checksum", mdmf(param(0x02, b"5551234"), fix=0xFF), None),
    ("mdmf parameter runs past the body", packet(0x80, b"\x02\x09555"), None),
    ("mdmf parameter header cut", packet(0x80, b"\x02\x03555\x07"), None),
    ("bell canada lone parameter (mgetty cnd.c)", "030735353531323132", CallerInfo(number="5551212")),
    ("lone name parameter", param(0x07, b"SMITH").hex(), CallerInfo(name="SMITH")),
    ("lone parameter with a wrong length", "030835353531323132", None),
    ("lone parameter of unknown type", "060101", None),
    ("message waiting (0x06) is not a caller", packet(0x06, b"\x42"), None),
    ("mdmf message waiting (0x82)", packet(0x82, param(0x0B, b"\xff")), None),
    ("truncated: length says more than there is", sdmf(b"03211405", b"5551234")[:-4], None),
    ("a byte after the checksum", sdmf(b"03211405", b"5551234") + "00", None),
    ("only a type byte", "04", None),
    ("type and length, no checksum", "0400", None),
    ("empty", "", None),
    ("blanks only", "   ", None),
    ("odd number of hex digits", "040", None),
    ("not hex", "04ZZ", None),
    (
        "lower case and blanks",
        " ".join(re.findall("..", sdmf(b"03211405", b"42").lower())),
        CallerInfo(number="42", date="0321", time="1405"),
    ),
    ("longer than any packet", "00" * 259, None),
]


def is_clean(info: CallerInfo | None) -> bool:
    """Whether every text field of ``info`` is printable and bounded (numbers: phone characters only)."""
    if info is None:
        return True
    texts = (info.name, info.date, info.time)
    numbers = (info.number, info.called)
    return all(v is None or (v.isprintable() and v.isascii() and 0 < len(v) <= 64) for v in texts) and all(
        v is None or re.fullmatch(r"[0-9+*#]{1,32}", v) is not None for v in numbers
    )


class TestDecode:
    """decode_mesg() decodes SDMF/MDMF packets and refuses everything malformed."""

    def test_table_is_large(self) -> None:
        """The table covers at least 30 packets."""
        assert 30 <= len(DECODED)

    @pytest.mark.parametrize(("hex_text", "expected"), [row[1:] for row in DECODED], ids=[row[0] for row in DECODED])
    def test_packet(self, hex_text: str, expected: CallerInfo | None) -> None:
        """The packet decodes as the table says."""
        assert expected == decode_mesg(hex_text)

    def test_hostile_name_is_cleaned(self) -> None:
        """Control bytes, quotes and high bytes in a name become blanks or vanish."""
        hex_text = mdmf(param(0x07, b"EVIL\x1b[2J\x00'GUY\"\xff\x07"))

        assert CallerInfo(name="EVIL [2J GUY") == decode_mesg(hex_text)

    def test_hostile_number_keeps_only_phone_characters(self) -> None:
        """A number full of shell syntax keeps only its digits."""
        assert CallerInfo(number="5") == decode_mesg(mdmf(param(0x02, b"'; rm -rf / 5")))

    def test_number_without_digits_is_absent(self) -> None:
        """A number that cleans to nothing is no number at all."""
        assert decode_mesg(mdmf(param(0x02, b"'; rm -rf /"))) is None

    def test_long_name_is_capped(self) -> None:
        """A 250-byte name is capped at 64 characters."""
        assert CallerInfo(name="A" * 64) == decode_mesg(mdmf(param(0x07, b"A" * 250)))

    def test_long_number_is_capped(self) -> None:
        """A 250-digit number is capped at 32 digits."""
        assert CallerInfo(number="9" * 32) == decode_mesg(mdmf(param(0x02, b"9" * 250)))

    def test_largest_packet_decodes(self) -> None:
        """A packet with a 255-byte body (516 hex digits) is within bounds."""
        hex_text = mdmf(param(0x02, b"1"), param(0x0B, b"x" * 250))

        assert (516, CallerInfo(number="1")) == (len(hex_text), decode_mesg(hex_text))

    def test_megabyte_of_hex_is_refused(self) -> None:
        """A huge hex string is refused without decoding it."""
        assert decode_mesg("0" * 1_000_000) is None

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=600))
    def test_never_raises_on_text(self, text: str) -> None:
        """Any text gives a CallerInfo or None."""
        assert isinstance(decode_mesg(text), CallerInfo | None)

    @settings(max_examples=300, deadline=None)
    @given(st.binary(max_size=300))
    def test_never_raises_on_bytes(self, data: bytes) -> None:
        """Any bytes as hex give a clean CallerInfo or None."""
        assert is_clean(decode_mesg(data.hex()))

    @settings(max_examples=200, deadline=None)
    @given(st.binary(max_size=255), st.sampled_from([0x04, 0x80]))
    def test_any_checksummed_packet_is_decoded_safely(self, body: bytes, kind: int) -> None:
        """A packet with a correct checksum but arbitrary body never raises and stays clean."""
        assert is_clean(decode_mesg(packet(kind, body)))

    @settings(max_examples=200, deadline=None)
    @given(
        st.text("0123456789", min_size=1, max_size=20),
        st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E, exclude_characters="'\"`"), max_size=15),
    )
    def test_round_trip(self, number: str, name: str) -> None:
        """An MDMF built from a number and a name decodes to them."""
        hex_text = mdmf(param(0x02, number.encode()), *([param(0x07, name.encode())] if name else []))

        assert CallerInfo(number=number, name=name or None) == decode_mesg(hex_text)


class TestSanitiser:
    """The one sanitiser: numbers, text and the absence markers."""

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("5551234", "5551234"),
            ("+49 (89) 123-45", "+498912345"),
            ("*31#5551234", "*31#5551234"),
            ("'; rm -rf /", ""),
            ("\u0663\u0664", ""),
            ("9" * 10_000, "9" * 32),
        ],
    )
    def test_clean_number(self, value: str, expected: str) -> None:
        """Only 0-9 + * # survive, at most 32 of them."""
        assert expected == clean_number(value)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("SMITH  JOHN", "SMITH JOHN"),
            ('"SMITH"', "SMITH"),
            ("a\x00b\x1bc", "a b c"),
            ("caf\u00e9", "caf"),
            ("A" * 10_000, "A" * 64),
            ("  ", ""),
        ],
    )
    def test_clean_text(self, value: str, expected: str) -> None:
        """Text is printable ASCII, unquoted, collapsed and capped."""
        assert expected == clean_text(value)

    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            ("P", P),
            ("p", P),
            ("PRIVATE", P),
            ("Anonymous", P),
            ("O", O),
            ("OUT OF AREA", O),
            ("OUT_OF_AREA", O),
            ("unavailable", O),
            ("5551234", None),
            ("", None),
            ("POTATO", None),
        ],
    )
    def test_absence_marker(self, value: str, expected: AbsenceReason | None) -> None:
        """Known spellings of private and out-of-area are recognised; nothing else is."""
        assert expected == absence_marker(value)

    def test_idempotent(self) -> None:
        """Cleaning a cleaned value changes nothing."""
        value = "\x07'x'  y\u00e9" * 20

        assert (clean_text(value), clean_number(value)) == (
            clean_text(clean_text(value)),
            clean_number(clean_number(value)),
        )


class TestCallerInfo:
    """The constructor cleans, so a CallerInfo is clean however it was made."""

    @pytest.mark.parametrize(
        ("built", "expected"),
        [
            (CallerInfo(number="P"), CallerInfo(reason_number=P)),
            (CallerInfo(number="private"), CallerInfo(reason_number=P)),
            (CallerInfo(number="O"), CallerInfo(reason_number=O)),
            (CallerInfo(number="'; rm -rf /"), CallerInfo()),
            (CallerInfo(number="555 1234"), CallerInfo(number="5551234")),
            (CallerInfo(number="5551234", reason_number=P), CallerInfo(number="5551234")),
            (CallerInfo(name="O"), CallerInfo(reason_name=O)),
            (CallerInfo(name="PRIVATE"), CallerInfo(name="PRIVATE")),
            (CallerInfo(name="\x00\x07"), CallerInfo()),
            (CallerInfo(name="X" * 100), CallerInfo(name="X" * 64)),
            (CallerInfo(date="03/21"), CallerInfo(date="0321")),
            (CallerInfo(date="321"), CallerInfo()),
            (CallerInfo(time="14:05"), CallerInfo(time="1405")),
            (CallerInfo(time="140500"), CallerInfo()),
            (CallerInfo(called="MSN 8765"), CallerInfo(called="8765")),
            (CallerInfo(called="P"), CallerInfo()),
        ],
    )
    def test_normalised(self, built: CallerInfo, expected: CallerInfo) -> None:
        """Markers become reasons, junk disappears, dates and times are four digits."""
        assert expected == built

    def test_reason_from_a_string(self) -> None:
        """A reason given as its letter becomes the enum member."""
        assert P is CallerInfo(reason_number="P").reason_number  # type: ignore[arg-type]

    @pytest.mark.parametrize(
        ("caller", "expected"),
        [
            (None, "none"),
            (CallerInfo(), "none"),
            (CallerInfo(number="5551234"), "5551234"),
            (CallerInfo(reason_number=P), "P"),
            (CallerInfo(reason_number=O), "O"),
        ],
    )
    def test_caller_id_text(self, caller: CallerInfo | None, expected: str) -> None:
        """mgetty's CallerId: the number, the marker, or 'none'."""
        assert expected == caller_id_text(caller)

    def test_identified(self) -> None:
        """A caller is identified by a number, not by a name."""
        assert (True, False) == (CallerInfo(number="1").identified, CallerInfo(name="X").identified)


def merged(*lines: str) -> CallerInfo:
    """Classify each line and merge the caller-ID events, in order."""
    info: CallerInfo | None = None
    for line in lines:
        event = classify(line)
        assert isinstance(event, CallerIdField | Ring), event
        info = merge_caller_id(info, event)
    assert info is not None
    return info


MERGES: list[tuple[tuple[str, ...], CallerInfo]] = [
    (("DATE = 0321", "TIME = 1405", "NMBR = 5551234", "NAME = SMITH JOHN"), FULL),
    (("NMBR = 111", "NMBR = 222"), CallerInfo(number="222")),
    (("NMBR = P",), CallerInfo(reason_number=P)),
    (("NMBR = O",), CallerInfo(reason_number=O)),
    (("NMBR = P", "NMBR = 5551234"), CallerInfo(number="5551234")),
    (("NMBR = 5551234", "NMBR = P"), CallerInfo(reason_number=P)),
    (("NMBR = 5551234", "NMBR = '; rm -rf /"), CallerInfo(number="5551234")),
    (("REASON FOR NO CALLER NUMBER: OUT_OF_AREA",), CallerInfo(reason_number=O)),
    (("REASON FOR NO CALLER NUMBER: P",), CallerInfo(reason_number=P)),
    (("REASON FOR NO CALLER NUMBER: NETWORK GLITCH",), CallerInfo(reason_number=O)),
    (("NAME = O",), CallerInfo(reason_name=O)),
    (("REASON FOR NO CALLER NAME: PRIVATE",), CallerInfo(reason_name=P)),
    (("CALLER NUMBER: 5551234", "CALLER NAME: SMITH"), CallerInfo(number="5551234", name="SMITH")),
    (("TIME: 03-21 14:05",), CallerInfo(date="0321", time="1405")),
    (("TIME: 14:05",), CallerInfo(time="1405")),
    (("DATE = 32",), CallerInfo()),
    (("CALLED NUMBER: 8765",), CallerInfo(called="8765")),
    (("NDID=8765",), CallerInfo(called="8765")),
    (("FM:5551234 TO:8765",), CallerInfo(number="5551234")),
    (("RING;5551234;8765",), CallerInfo(number="5551234", called="8765")),
    (("RING",), CallerInfo()),
    (("RING 5551234", "RING"), CallerInfo(number="5551234")),
    (('+CLIP: "",128,,,,1',), CallerInfo(reason_number=P)),
    (("5551234",), CallerInfo(number="5551234")),
    (("MESG = " + mdmf(param(0x01, b"03211405"), param(0x02, b"5551234"), param(0x07, b"SMITH JOHN")),), FULL),
    (("NMBR = 42", "MESG = " + mdmf(param(0x07, b"SMITH"))), CallerInfo(number="42", name="SMITH")),
    (("NMBR = 42", "MESG = " + mdmf(param(0x04, b"P"))), CallerInfo(reason_number=P)),
    (("NMBR = 42", "MESG = " + sdmf(b"03211405", b"43", fix=1)), CallerInfo(number="42")),
    (("MESG = 030735353531323132", "MESG = 0705534D495448"), CallerInfo(number="5551212", name="SMITH")),
]


class TestMerge:
    """merge_caller_id() folds classified lines into one record; later lines win."""

    @pytest.mark.parametrize(("lines", "expected"), MERGES, ids=[" | ".join(row[0])[:60] for row in MERGES])
    def test_merge(self, lines: tuple[str, ...], expected: CallerInfo) -> None:
        """The lines merge into the expected record."""
        assert expected == merged(*lines)

    def test_unknown_key_changes_nothing(self) -> None:
        """A field with a key the merger does not know is ignored."""
        info = CallerInfo(number="1")

        assert info == merge_caller_id(info, CallerIdField(line="X", key="colour", value="blue"))

    def test_starts_from_none(self) -> None:
        """The first line of a call starts from an empty record."""
        assert CallerInfo(name="X") == merge_caller_id(None, CallerIdField(line="NAME = X", key="name", value="X"))

    @settings(max_examples=300, deadline=None)
    @given(st.lists(st.text(max_size=80), max_size=8))
    def test_never_raises_and_stays_clean(self, values: list[str]) -> None:
        """Any values under any key merge without raising, and the record stays clean."""
        info: CallerInfo | None = None
        keys = ["number", "name", "date", "time", "called", "reason", "message"]
        for index, value in enumerate(values):
            info = merge_caller_id(info, CallerIdField(line="", key=keys[index % len(keys)], value=value))
        assert is_clean(info)


class TestDocs:
    """The documentation's examples."""

    def test_doctests(self) -> None:
        """The examples in the module's docstrings hold."""
        assert 0 == doctest.testmod(_cid).failed
