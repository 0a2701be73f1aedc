"""The answer machine with real modems' habits: +CRING, lines it does not know, carrier reports, V0 codes.

Formats from the modem-personalities note (source keys in the comments).
"""

from __future__ import annotations

import pytest

from answerd.core import (
    Answered,
    AnswerMachine,
    CallEnded,
    Effect,
    ModemFamily,
    Outcome,
    Phase,
    Profile,
    Report,
    Status,
)
from answerd.core._answering import UNRECOGNISED_REPORT_INTERVAL_S

from .effects import of, one, writes


def lines(*texts: str) -> bytes:
    """Verbose modem output: each text framed in CR LF."""
    return b"".join(b"\r\n" + text.encode("ascii") + b"\r\n" for text in texts)


def reports(effects: list[Effect], event: str) -> list[Report]:
    """Every Report named ``event``."""
    return [e for e in of(Report, effects) if e.event == event]


def idle(**profile: object) -> AnswerMachine:
    """A machine initialised at t=0 (no DTR toggle), waiting for RING."""
    machine = AnswerMachine(Profile(toggle_dtr=False, **profile))  # type: ignore[arg-type]
    machine.port_opened(0.0)
    machine.receive_data(b"OK\r\nOK\r\n", 0.0)
    assert Phase.IDLE == machine.phase
    return machine


class TestExtendedRing:
    """``+CRING: <type>`` (AT+CRC=1): data calls are answered, others are counted out with a reason."""

    @pytest.mark.parametrize("kind", ["ASYNC", "REL ASYNC", "SYNC", "REL SYNC"])
    def test_data_call_is_answered(self, kind: str) -> None:
        """A data call's extended ring answers like RING."""
        assert [b"ATA\r"] == writes(idle().receive_data(lines(f"+CRING: {kind}"), 1.0))

    @pytest.mark.parametrize("kind", ["VOICE", "FAX", "ALT VOICE/ASYNC"])
    def test_other_call_is_not_answered_and_says_why(self, kind: str) -> None:
        """VOICE/FAX/ALT: no ATA, an info report and a status naming the ring."""
        effects = idle().receive_data(lines(f"+CRING: {kind}"), 1.0)
        [report] = reports(effects, "call.not_data")
        assert ([], "info", f"+CRING: {kind}") == (writes(effects), report.level, dict(report.fields)["ring"])
        assert any(kind in status.text for status in of(Status, effects))

    def test_not_data_call_ends_not_data_when_it_stops_ringing(self) -> None:
        """Its rings are counted until the caller gives up; the record says not-data."""
        machine = idle()
        machine.receive_data(lines("+CRING: VOICE"), 1.0)
        assert [] == writes(machine.receive_data(lines("+CRING: VOICE"), 5.0))
        timer = machine.get_timer()
        assert timer is not None
        record = one(CallEnded, machine.handle_timer(timer)).record
        assert (Outcome.NOT_DATA, 2, Phase.IDLE) == (record.outcome, record.rings, machine.phase)


class TestUnrecognisedLines:
    """A line the machine does not understand while idle or ringing is reported at info, rate-limited."""

    def test_reported_at_info(self) -> None:
        """The first one is reported with the line and the phase."""
        effects = idle().receive_data(lines("+FOO: 1"), 1.0)
        [report] = reports(effects, "modem.unrecognised")
        assert ("info", "+FOO: 1", "idle", 0) == (
            report.level,
            dict(report.fields)["line"],
            dict(report.fields)["phase"],
            dict(report.fields)["left_out"],
        )

    def test_rate_limited_on_the_machines_clock(self) -> None:
        """More within the interval are counted, and the next report after it says how many were left out."""
        machine = idle()
        machine.receive_data(lines("+FOO: 1"), 1.0)
        assert [] == reports(machine.receive_data(lines("+FOO: 2", "+FOO: 3"), 2.0), "modem.unrecognised")
        later = machine.receive_data(lines("+FOO: 4"), 1.0 + UNRECOGNISED_REPORT_INTERVAL_S)
        assert [2] == [dict(r.fields)["left_out"] for r in reports(later, "modem.unrecognised")]

    def test_while_ringing(self) -> None:
        """Between RINGs too (the phase is ringing)."""
        machine = idle(rings=3)
        machine.receive_data(b"RING\r\n", 1.0)
        effects = machine.receive_data(lines("^CEND:1,5,29,16"), 2.0)  # a Huawei URC [HW-MC509]
        assert ["ringing"] == [dict(r.fields)["phase"] for r in reports(effects, "modem.unrecognised")]


class TestCarrierReports:
    """Line rate, DTE rate, protocol and compression reach the call record as separate fields."""

    def test_w1_reports_fill_the_record(self) -> None:
        """CARRIER/PROTOCOL/COMPRESSION then CONNECT 115200 [CPQ-CNX]: every field, and mgetty's CONNECT."""
        machine = idle()
        machine.receive_data(b"RING\r\n", 1.0)
        data = lines("CARRIER 33600", "PROTOCOL: LAP-M", "COMPRESSION: V.42BIS", "CONNECT 115200")
        call = one(Answered, machine.receive_data(data, 2.0)).call
        expected = (33600, 115200, "LAP-M", "V.42BIS", "115200", "115200/33600 LAP-M")
        assert expected == (
            call.line_rate,
            call.dte_rate,
            call.protocol,
            call.compression,
            call.connect,
            call.connect_env,
        )

    def test_fields_stay_in_the_ended_record(self) -> None:
        """The record of the finished call keeps them (journal, statistics)."""
        machine = idle()
        machine.receive_data(b"RING\r\n", 1.0)
        machine.receive_data(lines("+MCR: V34", "+MRR: 28800", "+ER: LAPM", "CONNECT 115200"), 2.0)
        record = one(CallEnded, machine.call_finished(9.0, outcome=Outcome.ANSWERED)).record
        assert (28800, 115200, "V34", "LAPM") == (record.line_rate, record.dte_rate, record.modulation, record.protocol)

    def test_reports_of_one_call_do_not_leak_into_the_next(self) -> None:
        """A new call starts with no carrier reports."""
        machine = idle()
        machine.receive_data(b"RING\r\n", 1.0)
        machine.receive_data(lines("CARRIER 33600", "CONNECT 115200"), 2.0)
        machine.call_finished(3.0, outcome=Outcome.ANSWERED)
        machine.port_opened(4.0)
        machine.receive_data(b"OK\r\nOK\r\n", 4.0)
        machine.receive_data(b"RING\r\n", 5.0)
        call = one(Answered, machine.receive_data(lines("CONNECT 9600"), 6.0)).call
        assert (None, None, "9600") == (call.line_rate, call.dte_rate, call.connect_env)


class TestNumericByFamily:
    """With ``numeric_results`` the family's table reads the codes; digits are never caller ID."""

    def test_usr_code_118(self) -> None:
        """USR 118 = CONNECT 28800/ARQ/V34 [USR-C34]: the record has the text and the line rate."""
        machine = idle(numeric_results=True, family=ModemFamily.USR)
        machine.receive_data(b"2\r", 1.0)
        call = one(Answered, machine.receive_data(b"118\r", 2.0)).call
        assert ("28800/ARQ/V34", 28800, "V34") == (call.connect, call.line_rate, call.modulation)

    def test_plain_connect_has_no_rate(self) -> None:
        """Code 1 is a bare CONNECT: no rate anywhere."""
        machine = idle(numeric_results=True, family=ModemFamily.V250)
        machine.receive_data(b"2\r", 1.0)
        answered = one(Answered, machine.receive_data(b"1\r", 2.0))
        assert (None, None, None) == (answered.connect.rate, answered.call.line_rate, answered.call.dte_rate)

    def test_digits_while_ringing_are_not_a_caller(self) -> None:
        """In V0, ``5551234`` between RINGs is an unknown line, not the caller's number."""
        machine = idle(numeric_results=True, rings=2)
        machine.receive_data(b"2\r", 1.0)
        effects = machine.receive_data(b"5551234\r", 2.0)
        assert ([], 1) == (reports(effects, "call.caller_id"), len(reports(effects, "modem.unrecognised")))

    def test_clip_name_reaches_the_record(self) -> None:
        """``+CLIP`` with its alpha field fills the caller's name as well as the number."""
        machine = idle(rings=2)
        machine.receive_data(b"RING\r\n", 1.0)
        machine.receive_data(lines('+CLIP: "5551234",129,,,"A N OTHER",0'), 1.5)
        machine.receive_data(b"RING\r\n", 2.0)
        call = one(Answered, machine.receive_data(lines("CONNECT 9600"), 3.0)).call
        assert ("5551234", "A N OTHER") == (call.caller_id, call.caller_name)


def mdmf(*parameters: tuple[int, bytes]) -> str:
    """An MDMF packet (GR-30-CORE) in hex, as an unformatted caller-ID line shows it, with its checksum."""
    body = b"".join(bytes([kind, len(value)]) + value for kind, value in parameters)
    packet = bytes([0x80, len(body)]) + body
    return (packet + bytes([-sum(packet) % 256])).hex().upper()


class TestUnformattedCallerId:
    """``AT+VCID=2`` / ``AT#CID=2``: the whole packet in hex on one line [ASKEY], [RW-1048]; MDMF names too."""

    def test_mdmf_line_fills_number_and_name(self) -> None:
        """The number and the name of an MDMF packet reach the call."""
        line = mdmf((0x01, b"03211405"), (0x02, b"5551234"), (0x07, b"A N OTHER"))
        machine = idle(rings=2)
        machine.receive_data(b"RING\r\n", 1.0)
        machine.receive_data(lines(line), 1.5)
        machine.receive_data(b"RING\r\n", 2.0)
        call = one(Answered, machine.receive_data(lines("CONNECT 9600"), 3.0)).call
        assert ("5551234", "A N OTHER") == (call.caller_id, call.caller_name)

    def test_bad_checksum_is_not_caller_id(self) -> None:
        """One changed digit: not a packet, so nothing is taken from it (it is reported as unrecognised)."""
        line = mdmf((0x02, b"5551234"), (0x07, b"SMITH"))  # hex letters: not an ELINK digits-only number
        broken = line[:-1] + ("0" if line[-1] != "0" else "1")
        machine = idle(rings=2)
        machine.receive_data(b"RING\r\n", 1.0)
        effects = machine.receive_data(lines(broken), 1.5)
        assert ([], 1) == (reports(effects, "call.caller_id"), len(reports(effects, "modem.unrecognised")))
