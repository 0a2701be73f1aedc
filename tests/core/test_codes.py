"""Tests for classify(): result codes, RING dialects, caller ID, carrier reports, echo, hostile input."""

from __future__ import annotations

import doctest

import pytest

from answerd.core.hayes import codes as _codes
from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import (
    CallerIdField,
    CarrierReport,
    Connect,
    Echo,
    ModemEvent,
    Ok,
    Ring,
    RingCadence,
    Unknown,
    Verdict,
)

RESULT_CODES: list[tuple[str, ModemEvent]] = [
    ("OK", Ok(line="OK")),
    ("0", Ok(line="0")),
    ("ok", Ok(line="ok")),
    ("ERROR", Verdict(code="ERROR", line="ERROR")),
    ("4", Verdict(code="ERROR", line="4")),
    ("NO CARRIER", Verdict(code="NO CARRIER", line="NO CARRIER")),
    ("NO  CARRIER", Verdict(code="NO CARRIER", line="NO  CARRIER")),
    ("3", Verdict(code="NO CARRIER", line="3")),
    ("BUSY", Verdict(code="BUSY", line="BUSY")),
    ("7", Verdict(code="BUSY", line="7")),
    ("NO DIALTONE", Verdict(code="NO DIALTONE", line="NO DIALTONE")),
    ("NO DIAL TONE", Verdict(code="NO DIALTONE", line="NO DIAL TONE")),
    ("6", Verdict(code="NO DIALTONE", line="6")),
    ("NO ANSWER", Verdict(code="NO ANSWER", line="NO ANSWER")),
    ("8", Verdict(code="NO ANSWER", line="8")),
]

CONNECTS: list[tuple[str, ModemEvent]] = [
    ("CONNECT", Connect(line="CONNECT")),
    ("CONNECT 115200", Connect(line="CONNECT 115200", rate=115200, text="115200")),
    (
        "CONNECT 28800/ARQ/V34/LAPM/V42BIS",
        Connect(
            line="CONNECT 28800/ARQ/V34/LAPM/V42BIS",
            rate=28800,
            suffixes=("ARQ", "V34", "LAPM", "V42BIS"),
            text="28800/ARQ/V34/LAPM/V42BIS",
        ),
    ),
    (
        "CONNECT 33600 EC/V42BIS",
        Connect(line="CONNECT 33600 EC/V42BIS", rate=33600, suffixes=("EC", "V42BIS"), text="33600 EC/V42BIS"),
    ),
    (
        "CONNECT 33600 EC V42BIS",
        Connect(line="CONNECT 33600 EC V42BIS", rate=33600, suffixes=("EC", "V42BIS"), text="33600 EC V42BIS"),
    ),
    ("CONNECT 9600/REL", Connect(line="CONNECT 9600/REL", rate=9600, suffixes=("REL",), text="9600/REL")),
    ("CONNECT 0600", Connect(line="CONNECT 0600", rate=600, text="0600")),
    ("CONNECT FAX", Connect(line="CONNECT FAX", suffixes=("FAX",), text="FAX")),
    ("1", Connect(line="1")),
    ("5", Connect(line="5", rate=1200, text="1200")),
    ("9", Connect(line="9", rate=600, text="600")),
    ("10", Connect(line="10", rate=2400, text="2400")),
    ("11", Connect(line="11", rate=4800, text="4800")),
    ("12", Connect(line="12", rate=9600, text="9600")),
    ("13", Connect(line="13", rate=7200, text="7200")),
    ("14", Connect(line="14", rate=12000, text="12000")),
    ("15", Connect(line="15", rate=14400, text="14400")),
    ("16", Connect(line="16", rate=19200, text="19200")),
    ("17", Connect(line="17", rate=38400, text="38400")),
    ("18", Connect(line="18", rate=57600, text="57600")),
    ("19", Connect(line="19", rate=115200, text="115200")),
]

RINGS: list[tuple[str, ModemEvent]] = [
    ("RING", Ring(line="RING")),
    ("2", Ring(line="2")),
    ("RING 1", Ring(line="RING 1", distinctive=1)),
    ("RING 2", Ring(line="RING 2", distinctive=2)),
    ("RING 9", Ring(line="RING 9", distinctive=9)),
    ("RING A", Ring(line="RING A", distinctive=1)),
    ("RING B", Ring(line="RING B", distinctive=2)),
    ("RING c", Ring(line="RING c", distinctive=3)),
    ("RING;08912345", Ring(line="RING;08912345", caller="08912345")),
    ("RING;08912345;08765", Ring(line="RING;08912345;08765", caller="08912345", called="08765")),
    ("RING;;08765", Ring(line="RING;;08765", called="08765")),
    ("RING/5551234", Ring(line="RING/5551234", called="5551234")),
    ("RING 5551234", Ring(line="RING 5551234", caller="5551234")),
    ("RING 12", Ring(line="RING 12", caller="12")),
    ("RING: 3 DN9 8888", Ring(line="RING: 3 DN9 8888", distinctive=9, caller="8888")),
    ("RING: 1 DN2", Ring(line="RING: 1 DN2", distinctive=2)),
    ("RING: 5551234", Ring(line="RING: 5551234", caller="5551234")),
    ("RING;+49*89#1", Ring(line="RING;+49*89#1", caller="+49*89#1")),
]

CADENCES: list[tuple[str, ModemEvent]] = [
    ("DRON=11", RingCadence(line="DRON=11", on=True, duration_ds=11)),
    ("DROF = 40", RingCadence(line="DROF = 40", on=False, duration_ds=40)),
    ("DROF=0", RingCadence(line="DROF=0", on=False, duration_ds=0)),
]


def cid(line: str, key: str, value: str) -> tuple[str, ModemEvent]:
    """Build a caller-ID table row."""
    return (line, CallerIdField(line=line, key=key, value=value))


CALLER_ID: list[tuple[str, ModemEvent]] = [
    cid("NMBR = 5551234", "number", "5551234"),
    cid("NMBR=5551234", "number", "5551234"),
    cid("NMBR = P", "number", "P"),
    cid("NMBR = O", "number", "O"),
    cid("NMBR = PRIVATE", "number", "P"),
    cid("NMBR = OUT OF AREA", "number", "O"),
    cid("NAME = JOHN SMITH", "name", "JOHN SMITH"),
    cid("NAME=SMITH JOHN", "name", "SMITH JOHN"),
    cid("NAME = O", "name", "O"),
    cid("DATE = 0321", "date", "0321"),
    cid("DATE=0321", "date", "0321"),
    cid("TIME = 1405", "time", "1405"),
    cid("TIME=1405", "time", "1405"),
    cid("TIME: 14:05", "time", "14:05"),
    cid("MESG = 030735353531323132", "message", "030735353531323132"),
    cid("DDN_NMBR= 5551234", "number", "5551234"),
    cid("CALLER NUMBER: 5551234", "number", "5551234"),
    cid("CALLER NAME: SMITH", "name", "SMITH"),
    cid("REASON FOR NO CALLER NUMBER: P", "reason", "P"),
    cid("CALLED NUMBER: 8765", "called", "8765"),
    cid("FM:5551234", "number", "5551234"),
    cid("FM:5551234 TO:8765", "number", "5551234"),
    cid("TO:8765", "called", "8765"),
    cid("NDID=8765", "called", "8765"),
    cid("CALLER'S NUMBER: 5551234", "number", "5551234"),
    cid("NBR=5551234", "number", "5551234"),
    cid("CallerID: 5551234", "number", "5551234"),
    cid("Diverting number: 5551234", "number", "5551234"),
    cid('+CLIP: "+4989123456",145', "number", "+4989123456"),
    (
        '+CLIP: "5551234",129,,,"SMITH",0',
        CallerIdField(line='+CLIP: "5551234",129,,,"SMITH",0', key="number", value="5551234", name="SMITH"),
    ),
    cid('+CLIP: "",128', "number", ""),
    cid("5551234", "number", "5551234"),
    cid("123", "number", "123"),
    cid("NMBR = OUT_OF_AREA", "number", "O"),
    cid("NMBR = ANONYMOUS", "number", "P"),
    cid("CALLER NUMBER: P", "number", "P"),
    cid("REASON FOR NO CALLER NUMBER: OUT_OF_AREA", "reason", "O"),
    cid("REASON FOR NO CALLER NUMBER: PRIVATE", "reason", "P"),
    cid("REASON FOR NO CALLER NAME: P", "name", "P"),
    cid("REASON FOR NO CALLER NAME: OUT_OF_AREA", "name", "O"),
    cid("TIME: 03-21 14:05", "time", "03-21 14:05"),
    cid("DDN_NMBR=5551234", "number", "5551234"),
    cid("NBR = 5551234", "number", "5551234"),
    cid("MESG = 80 0F 01 08", "message", "800F0108"),
    cid('+CLIP: "",128,,,,1', "number", "P"),
    cid('+CLIP: "",128,,,"",2', "number", "O"),
    (
        '+CLIP: "5551234",129,,,"SMITH, J",0',
        CallerIdField(line='+CLIP: "5551234",129,,,"SMITH, J",0', key="number", value="5551234", name="SMITH, J"),
    ),
]

CARRIER_REPORTS: list[tuple[str, ModemEvent]] = [
    ("CARRIER 28800", CarrierReport(line="CARRIER 28800", key="carrier", value="28800")),
    ("PROTOCOL: LAP-M", CarrierReport(line="PROTOCOL: LAP-M", key="protocol", value="LAP-M")),
    ("PROTOCOL: NONE", CarrierReport(line="PROTOCOL: NONE", key="protocol", value="NONE")),
    ("COMPRESSION: V.42BIS", CarrierReport(line="COMPRESSION: V.42BIS", key="compression", value="V.42BIS")),
    ("+MCR: V34", CarrierReport(line="+MCR: V34", key="carrier", value="V34")),
    ("+MRR: 28800", CarrierReport(line="+MRR: 28800", key="rate", value="28800")),
    ("+ER: LAPM", CarrierReport(line="+ER: LAPM", key="protocol", value="LAPM")),
    ("+DR: V42B", CarrierReport(line="+DR: V42B", key="compression", value="V42B")),
]

UNKNOWNS: list[tuple[str, ModemEvent]] = [
    ("RINGING", Unknown(line="RINGING")),
    ("CONNECTED", Unknown(line="CONNECTED")),
    ("20", Unknown(line="20")),
    ("99", Unknown(line="99")),
    ("U.S. Robotics 56K FAX EXT", Unknown(line="U.S. Robotics 56K FAX EXT")),
    ("ATZ", Unknown(line="ATZ")),
    ("CARRIER", Unknown(line="CARRIER")),
    ("", Unknown(line="")),
]

ALL_ROWS = RESULT_CODES + CONNECTS + RINGS + CADENCES + CALLER_ID + CARRIER_REPORTS + UNKNOWNS


class TestCorpus:
    """Every dialect in the table is recognised."""

    @pytest.mark.parametrize(("line", "expected"), ALL_ROWS, ids=[repr(row[0]) for row in ALL_ROWS])
    def test_line(self, line: str, expected: ModemEvent) -> None:
        """The line is classified as the table says."""
        assert expected == classify(line)

    @pytest.mark.parametrize(("line", "expected"), ALL_ROWS, ids=[repr(row[0]) for row in ALL_ROWS])
    def test_line_with_a_command_pending(self, line: str, expected: ModemEvent) -> None:
        """A pending command that the line does not echo changes nothing."""
        assert expected == classify(line, pending="ATS0=0")

    def test_surrounding_whitespace_is_ignored(self) -> None:
        """Blanks around a line are stripped before it is classified."""
        assert Ring(line="RING 2", distinctive=2) == classify("  RING 2 ")


class TestUnsolicited:
    """Unsolicited codes are recognised by content, whatever command is pending."""

    def test_ring_while_init_pending(self) -> None:
        """A RING while ATZ waits for OK is a Ring."""
        assert Ring(line="RING") == classify("RING", pending="ATZ")

    def test_caller_id_while_probe_pending(self) -> None:
        """A caller-ID line while AT waits for OK is caller ID."""
        expected = CallerIdField(line="NMBR = 123", key="number", value="123")

        assert expected == classify("NMBR = 123", pending="AT")

    def test_ok_while_pending(self) -> None:
        """OK is OK whatever was pending."""
        assert Ok(line="OK") == classify("OK", pending="ATA")


class TestEcho:
    """The modem echoing the pending command."""

    def test_exact_echo(self) -> None:
        """A line equal to the pending command is its echo."""
        assert Echo(line="ATZ") == classify("ATZ", pending="ATZ")

    def test_echo_ignores_case(self) -> None:
        """Echo comparison is case-insensitive."""
        assert Echo(line="atz") == classify("atz", pending="ATZ")

    def test_echo_ignores_whitespace(self) -> None:
        """Echo comparison ignores whitespace anywhere."""
        assert Echo(line="AT E0 V1") == classify("AT E0 V1", pending="ATE0V1 ")

    def test_other_command_is_not_echo(self) -> None:
        """A command other than the pending one is Unknown."""
        assert Unknown(line="ATH") == classify("ATH", pending="ATZ")

    def test_no_pending_no_echo(self) -> None:
        """Without a pending command nothing is an echo."""
        assert Unknown(line="ATZ") == classify("ATZ", pending=None)

    def test_content_beats_echo(self) -> None:
        """A line that is a result code stays a result code even if it equals the pending text."""
        assert Ring(line="RING") == classify("RING", pending="RING")

    def test_empty_pending_is_no_echo(self) -> None:
        """An empty pending command does not turn an empty line into an echo."""
        assert Unknown(line="") == classify("", pending="")


class TestHostile:
    """Values from the phone line are cleaned and capped."""

    def test_shell_injection_in_ring_caller(self) -> None:
        """A RING caller keeps only digits and + * #."""
        assert Ring(line="RING;'; rm -rf /", caller=None) == classify("RING;'; rm -rf /")

    def test_shell_injection_mixed_with_digits(self) -> None:
        """Digits are kept and everything else in a RING caller goes."""
        assert Ring(line="RING 1$(rm -rf /)23", caller="123") == classify("RING 1$(rm -rf /)23")

    def test_shell_injection_in_name(self) -> None:
        """A caller-ID name loses its quotes and keeps the rest as harmless printable text."""
        assert CallerIdField(line="NAME = '; rm -rf /", key="name", value="; rm -rf /") == classify(
            "NAME = '; rm -rf /"
        )

    def test_shell_injection_in_number(self) -> None:
        """A caller-ID number keeps only digits and + * #."""
        line = "NMBR = '; rm -rf /"

        assert CallerIdField(line=line, key="number", value="") == classify(line)

    def test_control_bytes_in_name(self) -> None:
        """Control characters never reach a value or the line."""
        event = classify("NAME = EVIL\x1b[2J\x07\x00GUY")

        assert CallerIdField(line="NAME = EVIL[2JGUY", key="name", value="EVIL[2JGUY") == event

    def test_control_bytes_in_ring(self) -> None:
        """Control characters in a RING line are removed before matching."""
        assert Ring(line="RING 2", distinctive=2) == classify("RI\x00NG\x07 2")

    def test_huge_ring_caller_is_capped(self) -> None:
        """A 10 kB caller number on a RING line is capped at 32 digits."""
        assert Ring(line="RING;" + "1" * 10_000, caller="1" * 32) == classify("RING;" + "1" * 10_000)

    def test_huge_name_is_capped(self) -> None:
        """A 10 kB caller name is capped at 64 characters."""
        line = "NAME = " + "A" * 10_000

        assert CallerIdField(line=line, key="name", value="A" * 64) == classify(line)

    def test_huge_number_is_capped(self) -> None:
        """A 10 kB caller-ID number is capped at 32 digits."""
        line = "NMBR = " + "9" * 10_000

        assert CallerIdField(line=line, key="number", value="9" * 32) == classify(line)

    def test_huge_elink_number_is_capped(self) -> None:
        """A 10 kB line of digits is a caller number capped at 32 digits."""
        assert CallerIdField(line="7" * 10_000, key="number", value="7" * 32) == classify("7" * 10_000)

    def test_huge_connect_rate_does_not_raise(self) -> None:
        """CONNECT followed by 10 kB of digits does not overflow int() and has no rate."""
        event = classify("CONNECT " + "9" * 10_000)

        assert isinstance(event, Connect)
        assert event.rate is None

    def test_huge_cadence_is_unknown(self) -> None:
        """A cadence with an absurd number of digits is not a cadence."""
        assert isinstance(classify("DRON=" + "1" * 10_000), Unknown)

    def test_unicode_digits_are_not_numbers(self) -> None:
        """Non-ASCII digits are neither result codes nor caller numbers."""
        assert Unknown(line="\u0663") == classify("\u0663")

    def test_message_keeps_only_hex(self) -> None:
        """A MESG value keeps only hex digits."""
        line = "MESG = 03 07 zz AB;"

        assert CallerIdField(line=line, key="message", value="0307AB") == classify(line)

    def test_quotes_are_removed_from_text(self) -> None:
        """Quotes are stripped from caller-ID text values."""
        assert CallerIdField(line='NAME = "SMITH"', key="name", value="SMITH") == classify('NAME = "SMITH"')


class TestDocs:
    """The documentation's examples."""

    def test_doctests(self) -> None:
        """The examples in the module's docstrings hold."""
        assert 0 == doctest.testmod(_codes).failed


class TestCallerIdFormats:
    """Every caller-ID format in mgetty's table (cnd.c) and the reference list is recognised."""

    @pytest.mark.parametrize(
        "line",
        [
            "NMBR = 5551234",
            "NMBR=5551234",
            "NAME = SMITH",
            "NAME=SMITH",
            "DATE = 0321",
            "DATE=0321",
            "TIME = 1405",
            "TIME=1405",
            "TIME: 14:05",
            "MESG = 030735353531323132",
            "DDN_NMBR= 5551234",
            "CALLER NUMBER: 5551234",
            "CALLER NAME: SMITH",
            "REASON FOR NO CALLER NUMBER: P",
            "REASON FOR NO CALLER NAME: O",
            "CALLED NUMBER: 8765",
            "FM:5551234",
            "NDID=8765",
            "CALLER'S NUMBER: 5551234",
            "NBR=5551234",
            "CallerID: 5551234",
            "Diverting number: 5551234",
            '+CLIP: "5551234",129',
            "5551234",
        ],
    )
    def test_format_is_caller_id(self, line: str) -> None:
        """The line is a caller-ID field, not Unknown."""
        assert isinstance(classify(line), CallerIdField)

    def test_elsa_ring_carries_the_caller(self) -> None:
        """ELSA's RING;<number> is a Ring with the caller on it."""
        assert Ring(line="RING;5551234", caller="5551234") == classify("RING;5551234")


class TestCallerIdHostile:
    """Caller-ID values added later are cleaned and bounded like the rest."""

    def test_huge_message_is_capped(self) -> None:
        """A MESG value is capped at the longest possible packet (258 bytes, 516 hex digits)."""
        event = classify("MESG = " + "A" * 10_000)

        assert CallerIdField(line="MESG = " + "A" * 10_000, key="message", value="A" * 516) == event

    def test_clip_with_many_commas_is_fast_and_clean(self) -> None:
        """A +CLIP line full of commas and quotes is one number field (no regex blow-up)."""
        line = '+CLIP: "123",' + ',"' * 5_000

        assert CallerIdField(line=line, key="number", value="123") == classify(line)

    def test_hostile_reason_is_text(self) -> None:
        """An unrecognised reason stays cleaned text."""
        line = "REASON FOR NO CALLER NUMBER: '$(reboot)'\x07"

        assert CallerIdField(line="REASON FOR NO CALLER NUMBER: '$(reboot)'", key="reason", value="$(reboot)") == (
            classify(line)
        )
