"""The AT probe on lines without DTR: a modem left online is escaped with +++ / ATH0 before init."""

from __future__ import annotations

import pytest

from answerd.core import AnswerMachine, Effect, Phase, Profile, Report

from .effects import writes


def run_timers(machine: AnswerMachine, until_write: bytes, limit: int = 50) -> tuple[float, list[Effect]]:
    """Jump from deadline to deadline until ``until_write`` is written; return (now, all effects)."""
    collected: list[Effect] = []
    for _ in range(limit):
        deadline = machine.get_timer()
        assert deadline is not None
        effects = machine.handle_timer(deadline)
        collected += effects
        if until_write in writes(effects):
            return deadline, collected
    raise AssertionError(f"{until_write!r} never written: {writes(collected)}")


@pytest.fixture(name="machine")
def _machine() -> AnswerMachine:
    return AnswerMachine(Profile(toggle_dtr=False, probe_timeout_s=2.0))


class TestProbe:
    def test_probe_comes_first_without_dtr(self, machine: AnswerMachine) -> None:
        """With dtr_hangs_up=False the first thing sent is the AT probe, with a short deadline."""
        effects = machine.port_opened(0.0, dtr_hangs_up=False)
        assert [b"AT\r"] == writes(effects)
        assert 2.0 == machine.get_timer()

    def test_no_probe_with_real_dtr(self, machine: AnswerMachine) -> None:
        """With a real DTR the init chat starts at once."""
        assert [b"ATZ\r"] == writes(machine.port_opened(0.0))

    @pytest.mark.parametrize("reply", [b"\r\nOK\r\n", b"\r\nERROR\r\n", b"0\r"])
    def test_any_result_to_the_probe_means_command_mode(self, machine: AnswerMachine, reply: bytes) -> None:
        """OK or even ERROR to AT proves the modem listens: the init chat follows directly."""
        machine.port_opened(0.0, dtr_hangs_up=False)
        assert [b"ATZ\r"] == writes(machine.receive_data(reply, 0.01))

    def test_silence_escapes_the_modem_before_init(self, machine: AnswerMachine) -> None:
        """No answer to AT: +++ after a guard time, then ATH0, then the init chat; no retry is counted."""
        machine.port_opened(0.0, dtr_hangs_up=False)
        effects = machine.handle_timer(2.0)
        assert ["modem.still_online"] == [e.event for e in effects if isinstance(e, Report) and e.level == "warning"]
        now, effects = run_timers(machine, b"+++")
        assert now >= 2.0 + 1.5  # three \d pauses of guard time before the escape
        _, effects = run_timers(machine, b"ATH0\r")
        assert [b"ATZ\r"] == writes(machine.receive_data(b"\r\nOK\r\n", now + 5))
        assert [b"ATE0Q0V1&C1&D2S0=0\r"] == writes(machine.receive_data(b"\r\nOK\r\n", now + 5.1))
        machine.receive_data(b"\r\nOK\r\n", now + 5.2)
        assert Phase.IDLE == machine.phase
