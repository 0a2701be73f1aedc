"""The simulated modem's extended ring reports: ``AT+CRC=1`` rings with ``+CRING: <type>`` instead of ``RING``."""

from __future__ import annotations

import pytest

from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import Ring
from answerd.sim import ModemProfile, SimModem
from answerd.sim._profile import CRING_TYPES

from .test_modem import ERROR, OK, RING, advance, cmd, make, to_dte


class TestRingReport:
    @pytest.mark.parametrize(
        ("setup", "call_type", "expected"),
        [
            ("", "ASYNC", RING),  # +CRC=0 is the default: a plain RING whatever the call is
            ("", "VOICE", RING),
            ("AT+CRC=0", "VOICE", RING),
            ("AT+CRC=1", "ASYNC", b"\r\n+CRING: ASYNC\r\n"),
            ("AT+CRC=1", "REL ASYNC", b"\r\n+CRING: REL ASYNC\r\n"),
            ("AT+CRC=1", "SYNC", b"\r\n+CRING: SYNC\r\n"),
            ("AT+CRC=1", "VOICE", b"\r\n+CRING: VOICE\r\n"),
            ("AT+CRC=1", "FAX", b"\r\n+CRING: FAX\r\n"),
            ("AT+CRC=1", "ALT VOICE/ASYNC", b"\r\n+CRING: ALT VOICE/ASYNC\r\n"),
            ("AT+CRC=1;+CRC=0", "VOICE", RING),
            ("AT+CRC=1V0", "VOICE", b"2\r"),  # +CRING has no numeric code: V0 sends RING's 2
            ("AT+CRC=1Q1", "VOICE", b""),
        ],
    )
    def test_every_ring_follows_crc_and_the_call_type(self, setup: str, call_type: str, expected: bytes) -> None:
        """The first and later rings are RING with +CRC=0, +CRING: <profile's cring_type> with +CRC=1."""
        modem = make(cring_type=call_type)
        if setup:
            cmd(modem, setup)
        assert expected == to_dte(modem.caller_arrived(1.0))
        assert expected == to_dte(advance(modem)[1])

    @pytest.mark.parametrize("call_type", CRING_TYPES)
    def test_answerd_reads_the_type_back(self, call_type: str) -> None:
        """Each +CRING line the sim sends is a ring to answerd's parser, with the type the profile names."""
        modem = make(cring_type=call_type)
        cmd(modem, "AT+CRC=1")
        event = classify(to_dte(modem.caller_arrived(0.0)).decode())
        assert isinstance(event, Ring)
        assert call_type == event.service

    def test_stored_with_w_and_restored_by_z(self) -> None:
        """+CRC is a setting like the others: &W stores it, Z brings it back after +CRC=0."""
        modem = make(cring_type="FAX")
        cmd(modem, "AT+CRC=1&W")
        cmd(modem, "AT+CRC=0")
        cmd(modem, "ATZ")
        assert b"\r\n+CRING: FAX\r\n" == to_dte(modem.caller_arrived(0.0))


class TestCrcCommand:
    @pytest.mark.parametrize(
        ("lines", "expected"),
        [
            (["AT+CRC?"], b"\r\n+CRC: 0\r\n" + OK),
            (["AT+CRC=1", "AT+CRC?"], b"\r\n+CRC: 1\r\n" + OK),
            (["AT+CRC=1", "AT+CRC", "AT+CRC?"], b"\r\n+CRC: 0\r\n" + OK),  # the value left out is 0
            (["AT+CRC=?"], b"\r\n+CRC: (0,1)\r\n" + OK),
            (["AT+CRC=1"], OK),
            (["AT+CRC=2"], ERROR),
            (["AT+CRC1"], ERROR),
            (["AT+CRC=1", "AT+CRC=2", "AT+CRC?"], b"\r\n+CRC: 1\r\n" + OK),  # a refused value changes nothing
        ],
    )
    def test_set_and_query(self, lines: list[str], expected: bytes) -> None:
        """AT+CRC=0|1 sets it, AT+CRC? answers +CRC: n, AT+CRC=? lists (0,1), anything else is ERROR."""
        modem = make()
        for line in lines[:-1]:
            cmd(modem, line)
        assert expected == cmd(modem, lines[-1])

    def test_default_profile_rings_async(self) -> None:
        """With no profile key or flag, +CRC=1 reports the call as ASYNC (a data call)."""
        modem = SimModem(ModemProfile())
        cmd(modem, "ATE0+CRC=1")
        assert b"\r\n+CRING: ASYNC\r\n" == to_dte(modem.caller_arrived(0.0))
