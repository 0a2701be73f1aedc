"""The faults of issue 14's matrix the sim gained: echo that ``ATE0`` cannot stop, DTR ignored, line noise.

The clock is jumped, nothing sleeps.
"""

from __future__ import annotations

import pytest

from answerd.sim import Action, Faults, LineNoise, ModemMode, ModemProfile, SimModem, ToDte
from answerd.sim._profile import ProfileError, parse_profile

OK = b"\r\nOK\r\n"


def to_dte(actions: list[Action]) -> bytes:
    """All bytes the actions send to the DTE, joined."""
    return b"".join(a.data for a in actions if isinstance(a, ToDte))


def noisy(*noise: LineNoise) -> SimModem:
    """A modem with this line noise; the computer's first write is at t=0."""
    modem = SimModem(ModemProfile(faults=Faults(line_noise=noise)))
    modem.dte_data(b"AT\r", 0.0)
    return modem


class TestEchoStuck:
    def test_ate0_answers_ok_but_the_echo_goes_on(self) -> None:
        """echo_stuck: ATE0 is OK, and the next command still comes back echoed."""
        modem = SimModem(ModemProfile(faults=Faults(echo_stuck=True)))
        assert b"ATE0\r" + OK == to_dte(modem.dte_data(b"ATE0\r", 0.0))
        assert b"AT\r" + OK == to_dte(modem.dte_data(b"AT\r", 0.0))


class TestDtrIgnored:
    def test_a_dtr_drop_keeps_the_call_up_even_with_d2(self) -> None:
        """dtr_ignored: &D2 is set, DTR drops during a call, and the modem stays online."""
        modem = SimModem(ModemProfile(faults=Faults(dtr_ignored=True)))
        modem.dte_data(b"ATE0&D2\r", 0.0)
        modem.caller_arrived(0.0)
        modem.dte_data(b"ATA\r", 0.0)
        modem.handle_timer(1.0)
        assert ModemMode.ONLINE == modem.mode
        modem.dtr_changed(False, 2.0)
        assert (ModemMode.ONLINE, True) == (modem.mode, modem.caller_present)


class TestLineNoise:
    def test_noise_starts_at_the_first_write_and_repeats(self) -> None:
        """Nothing before the computer writes; then after_s later, repeat times, interval_s apart."""
        modem = SimModem(ModemProfile(faults=Faults(line_noise=(LineNoise(after_s=1.0, data="\x00\xff", repeat=2,
                                                                          interval_s=0.5),))))  # fmt: skip
        assert modem.get_timer() is None
        modem.dte_data(b"AT\r", 10.0)
        assert 11.0 == modem.get_timer()
        assert b"\x00\xff" == to_dte(modem.handle_timer(11.0))
        assert b"\x00\xff" == to_dte(modem.handle_timer(11.5))
        assert modem.get_timer() is None

    def test_length_repeats_or_cuts_the_pattern(self) -> None:
        """length = 1 MiB of "X" is one unterminated line of exactly that size."""
        modem = noisy(LineNoise(after_s=0.0, data="XY", length=1_048_577))
        data = to_dte(modem.handle_timer(0.0))
        assert (1_048_577, b"XYX", b"YX") == (len(data), data[:3], data[-2:])

    def test_noise_reaches_the_computer_in_data_mode_too(self) -> None:
        """Noise does not care whether a call is up."""
        modem = noisy(LineNoise(after_s=5.0, data="\x80"))
        modem.caller_arrived(0.0)
        modem.dte_data(b"ATA\r", 0.0)
        modem.handle_timer(1.0)
        assert b"\x80" == to_dte(modem.handle_timer(5.0))

    def test_silent_modem_sends_no_noise(self) -> None:
        """A dead modem is dead: its noise is muted too."""
        modem = noisy(LineNoise(after_s=1.0, data="\x00"))
        modem.set_silent(True, 0.0)
        assert b"" == to_dte(modem.handle_timer(1.0))

    def test_from_a_profile_file(self) -> None:
        """TOML's \\u escapes give the bytes; the keys live under [[faults.line_noise]]."""
        profile = parse_profile('[[faults.line_noise]]\nafter_s = 1\ndata = "\\u0000\\u00ffA"\nlength = 5\n')
        assert b"\x00\xffA\x00\xff" == profile.faults.line_noise[0].burst()

    @pytest.mark.parametrize(
        ("body", "problem"),
        [
            ('after_s = 1\ndata = ""', "faults.line_noise[0].data: must not be empty"),
            ('after_s = 1\ndata = "\\u0100"', "faults.line_noise[0].data: must be at most"),
            ('after_s = 1\ndata = "X"\nlength = 16777217', "faults.line_noise[0].length: must be 0..16777216"),
            ('data = "X"', "faults.line_noise[0].after_s: missing"),
        ],
    )
    def test_bad_noise_is_one_line_with_its_path(self, body: str, problem: str) -> None:
        """An empty, non-byte, oversized or incomplete burst is refused naming its TOML path."""
        with pytest.raises(ProfileError, match=problem.replace("[", r"\[").replace("]", r"\]")):
            parse_profile(f"[[faults.line_noise]]\n{body}\n")
