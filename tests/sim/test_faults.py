"""``[[faults.online_reports]]``: the modem itself talking to the computer in data mode.

These are the faults behind issue 10's defects 1-2 (a modem that says ``OK`` at the login prompt, a RING
storm after CONNECT); the clock is jumped, nothing sleeps.
"""

from __future__ import annotations

import pytest

from answerd.sim import (
    DEFAULT_PROFILE,
    Action,
    CarrierLost,
    Faults,
    ModemMode,
    ModemProfile,
    OnlineReport,
    SimModem,
    ToDte,
    load_profile,
)
from answerd.sim._profile import parse_profile

OK = b"\r\nOK\r\n"
RING = b"\r\nRING\r\n"
NO_CARRIER = b"\r\nNO CARRIER\r\n"
CONNECT = b"\r\nCONNECT 33600/ARQ/V34/LAPM/V42BIS\r\n"


def to_dte(actions: list[Action]) -> bytes:
    """All bytes the actions send to the DTE, joined."""
    return b"".join(a.data for a in actions if isinstance(a, ToDte))


def connected(*reports: OnlineReport, setup: bytes = b"ATE0\r") -> SimModem:
    """A modem with these online reports, a call answered at t=0 and CONNECT at t=1.0."""
    modem = SimModem(ModemProfile(faults=Faults(online_reports=reports)))
    modem.dte_data(setup, 0.0)
    modem.caller_arrived(0.0)
    modem.dte_data(b"ATA\r", 0.0)
    assert CONNECT == to_dte(modem.handle_timer(1.0))
    return modem


def run_clock(modem: SimModem, until: float) -> list[tuple[float, bytes]]:
    """Jump from deadline to deadline up to ``until``; each time with what the DTE got then."""
    heard: list[tuple[float, bytes]] = []
    while (when := modem.get_timer()) is not None and when <= until:
        data = to_dte(modem.handle_timer(when))
        if data:
            heard.append((when, data))
    return heard


class TestOnlineReports:
    def test_modem_resets_at_the_prompt(self) -> None:
        """text=OK, after_s=0.5: the DTE gets one framed OK half a second after CONNECT, then nothing."""
        modem = connected(OnlineReport(after_s=0.5, text="OK"))
        assert ([(1.5, OK)], None) == (run_clock(modem, 100.0), modem.get_timer())

    def test_ring_storm(self) -> None:
        """repeat=200, interval_s=0.005: 200 framed RINGs, the first at after_s, the last 199 intervals later."""
        modem = connected(OnlineReport(after_s=0.2, text="RING", repeat=200, interval_s=0.005))
        heard = run_clock(modem, 100.0)
        assert (200, {RING}, 1.2, pytest.approx(1.2 + 199 * 0.005)) == (
            len(heard),
            {data for _, data in heard},
            heard[0][0],
            heard[-1][0],
        )

    def test_zero_interval_sends_the_repeats_at_once(self) -> None:
        """interval_s=0 sends every repeat at the same moment."""
        modem = connected(OnlineReport(after_s=0.5, text="RING", repeat=3))
        assert [(1.5, RING * 3)] == run_clock(modem, 100.0)

    def test_reports_run_side_by_side(self) -> None:
        """Two reports keep their own schedules."""
        modem = connected(
            OnlineReport(after_s=0.5, text="OK"), OnlineReport(after_s=0.25, text="RING", repeat=2, interval_s=0.25)
        )
        assert [(1.25, RING), (1.5, OK + RING)] == run_clock(modem, 100.0)

    @pytest.mark.parametrize("setup", [b"ATE0V0\r", b"ATE0Q1\r"])
    def test_framed_verbose_whatever_q_and_v_say(self, setup: bytes) -> None:
        """The report is a fault, not a result: it stays \\r\\n<text>\\r\\n in numeric or quiet mode."""
        modem = SimModem(ModemProfile(faults=Faults(online_reports=(OnlineReport(after_s=0.5, text="OK"),))))
        modem.dte_data(setup, 0.0)
        modem.caller_arrived(0.0)
        modem.dte_data(b"ATA\r", 0.0)
        modem.handle_timer(1.0)
        assert OK == to_dte(modem.handle_timer(1.5))

    def test_caller_hanging_up_ends_the_reports(self) -> None:
        """When the caller leaves, the DTE gets CarrierLost and NO CARRIER, and no report after that."""
        modem = connected(OnlineReport(after_s=0.5, text="RING", repeat=10, interval_s=1.0))
        run_clock(modem, 2.0)
        actions = modem.caller_left(2.2)
        assert (NO_CARRIER, True, None, []) == (
            to_dte(actions),
            CarrierLost() in actions,
            modem.get_timer(),
            run_clock(modem, 100.0),
        )

    def test_skipped_while_escaped_to_command_mode(self) -> None:
        """A report due while the DTE has escaped with +++ is not sent; the next one in data mode is."""
        modem = connected(OnlineReport(after_s=5.0, text="RING", repeat=2, interval_s=10.0))
        for now in (3.0, 3.1, 3.2):
            modem.dte_data(b"+", now)
        assert [(4.2, OK)] == run_clock(modem, 10.0)  # the escape's OK; the RING at 6.0 is skipped
        modem.dte_data(b"ATO\r", 12.0)
        assert (ModemMode.ONLINE, [(16.0, RING)]) == (modem.mode, run_clock(modem, 100.0))

    def test_every_call_gets_the_reports_again(self) -> None:
        """The schedule starts at each CONNECT, so the second call misbehaves too."""
        modem = connected(OnlineReport(after_s=0.5, text="OK"))
        run_clock(modem, 10.0)
        modem.caller_left(10.0)
        modem.caller_arrived(20.0)
        modem.dte_data(b"ATA\r", 20.0)
        assert [(21.0, CONNECT), (21.5, OK)] == run_clock(modem, 100.0)

    def test_unsolicited_connect_starts_them_too(self) -> None:
        """An auto-answering modem's CONNECT schedules the reports as ATA's does."""
        modem = SimModem(
            ModemProfile(
                faults=Faults(unsolicited_connect=True, online_reports=(OnlineReport(after_s=0.5, text="OK"),))
            )
        )
        assert CONNECT == to_dte(modem.caller_arrived(3.0))
        assert [(3.5, OK)] == run_clock(modem, 100.0)

    def test_from_a_profile_file(self) -> None:
        """The contract's TOML keys build exactly these reports."""
        profile = parse_profile(
            '[[faults.online_reports]]\nafter_s = 0.5\ntext = "OK"\nrepeat = 1\ninterval_s = 0.0\n'
            '[[faults.online_reports]]\nafter_s = 0.2\ntext = "RING"\nrepeat = 200\ninterval_s = 0.005\n'
        )
        assert (
            OnlineReport(after_s=0.5, text="OK"),
            OnlineReport(after_s=0.2, text="RING", repeat=200, interval_s=0.005),
        ) == profile.faults.online_reports

    def test_default_profile_has_no_faults(self) -> None:
        """The shipped default modem sends nothing of its own while online."""
        modem = SimModem(load_profile(DEFAULT_PROFILE))
        modem.dte_data(b"ATE0\r", 0.0)
        modem.caller_arrived(0.0)
        modem.dte_data(b"ATA\r", 0.0)
        assert ([(1.0, CONNECT)], None) == (run_clock(modem, 1000.0), modem.get_timer())
