"""The simulated modem's DTR detect time (S25): a drop counts only once DTR has stayed low that long."""

from __future__ import annotations

from answerd.sim import Defaults, ModemMode, ModemProfile, SimModem

from .test_modem import advance


def online_with_s25(s25: int, dtr: int = 2) -> SimModem:
    """A modem with S25 set (hundredths of a second) and a call up since t=0.5."""
    modem = SimModem(ModemProfile(defaults=Defaults(echo=False, dtr=dtr, registers={25: s25})))
    modem.caller_arrived(0.0)
    modem.dte_data(b"ATA\r", 0.0)
    advance(modem)
    assert ModemMode.ONLINE == modem.mode
    return modem


class TestDtrDetectTime:
    def test_a_drop_shorter_than_s25_is_not_seen(self) -> None:
        """With S25=20 (0.2 s), DTR low for 2 ms (a close and reopen of the port) leaves the call up."""
        modem = online_with_s25(20)
        modem.dtr_changed(False, 5.0)
        modem.dtr_changed(True, 5.002)
        assert (ModemMode.ONLINE, None) == (modem.mode, modem.get_timer())

    def test_a_drop_held_for_s25_hangs_up(self) -> None:
        """With S25=20 and &D2, DTR held low for 0.2 s hangs the call up at that moment, not before."""
        modem = online_with_s25(20)
        modem.dtr_changed(False, 5.0)
        assert (ModemMode.ONLINE, 5.2) == (modem.mode, modem.get_timer())
        modem.handle_timer(5.2)
        assert (ModemMode.IDLE, False) == (modem.mode, modem.caller_present)

    def test_d0_ignores_a_long_drop(self) -> None:
        """&D0 (DTR ignored): a drop of any length keeps the call; no detect timer is even started."""
        modem = online_with_s25(20, dtr=0)
        modem.dtr_changed(False, 5.0)
        assert (ModemMode.ONLINE, None) == (modem.mode, modem.get_timer())
