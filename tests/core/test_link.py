"""Carrier reports and CONNECT (``answerd.core.hayes.link``): the link's fields, and mgetty's CONNECT text.

Formats from the modem-personalities note §1, §2 and §7.6; the CONNECT form from mgetty ``cnd.c``.
"""

from __future__ import annotations

import pytest

from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import CarrierReport, Connect
from answerd.core.hayes.link import LinkInfo, link_info, mgetty_connect


def parts(*lines: str) -> tuple[list[CarrierReport], Connect]:
    """Classify the lines; all but the last are carrier reports, the last is the CONNECT."""
    events = [classify(line) for line in lines]
    reports = [event for event in events[:-1] if isinstance(event, CarrierReport)]
    assert len(reports) == len(events) - 1
    connect = events[-1]
    assert isinstance(connect, Connect)
    return reports, connect


@pytest.mark.parametrize(
    ("lines", "info"),
    [
        # Rockwell/Conexant W1: separate lines, CONNECT shows the DTE rate [CPQ-CNX].
        (
            ("CARRIER 33600", "PROTOCOL: LAP-M", "COMPRESSION: V.42BIS", "CONNECT 115200"),
            LinkInfo(line_rate=33600, dte_rate=115200, protocol="LAP-M", compression="V.42BIS"),
        ),
        # V.250 +MCR/+MRR/+ER/+DR [LEN-T420], [CPQ-CNX].
        (
            ("+MCR: V34", "+MRR: 28800", "+ER: LAPM", "+DR: V42B", "CONNECT 115200"),
            LinkInfo(line_rate=28800, dte_rate=115200, modulation="V34", protocol="LAPM", compression="V42B"),
        ),
        # USR &A3: one line, the rate is the connection rate [USR-C34].
        (
            ("CONNECT 28800/ARQ/V34/LAPM/V42BIS",),
            LinkInfo(line_rate=28800, modulation="V34", protocol="LAPM", compression="V42BIS"),
        ),
        (("CONNECT 2400/NONE",), LinkInfo(protocol="NONE")),
        # Intel/Creatix W3: DTE rate first, line rates as TX=/RX= [INTEL-MD566X].
        (
            ("CONNECT 115200/V34/LAPM/V42B/TX=28800/RX=28000",),
            LinkInfo(line_rate=28000, dte_rate=115200, modulation="V34", protocol="LAPM", compression="V42B"),
        ),
        # A bare rate does not say which rate it is (W0 vs W2): nothing is guessed.
        (("CONNECT 115200",), LinkInfo()),
        (("CONNECT",), LinkInfo()),
    ],
)
def test_link_info(lines: tuple[str, ...], info: LinkInfo) -> None:
    """Each way of describing a link gives the same separate fields."""
    assert info == link_info(*parts(*lines))


@pytest.mark.parametrize(
    ("lines", "text"),
    [
        (("CARRIER 33600", "PROTOCOL: LAP-M", "COMPRESSION: V.42BIS", "CONNECT 115200"), "115200/33600 LAP-M"),
        (("+MCR: V34", "+MRR: 28800", "CONNECT 115200"), "115200/V34 28800"),  # mgetty's ELSA rows
        (("CARRIER 2400", "CONNECT 9600"), "9600/2400"),
        (("CONNECT 28800/ARQ/V34/LAPM/V42BIS",), "28800/ARQ/V34/LAPM/V42BIS"),
        (("CARRIER 33600", "CONNECT"), ""),  # mgetty matches "CONNECT " only
    ],
)
def test_mgetty_connect(lines: tuple[str, ...], text: str) -> None:
    """$CONNECT / \\I: mgetty's "<connect>/<carrier> <protocol>" when carrier reports came, else the text."""
    assert text == mgetty_connect(*parts(*lines))


def test_later_report_wins() -> None:
    """A second CARRIER line (a retrain before CONNECT) replaces the first."""
    assert 26400 == link_info(*parts("CARRIER 33600", "CARRIER 26400", "CONNECT 115200")).line_rate
