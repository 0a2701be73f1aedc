"""The hang-up after a call, end to end: ``answerd run`` on the simulated modem's pty, a real program (12.6).

A pty has no DCD, so after the DTR hold answerd can only escape: the caller may receive ``+++`` and nothing
else. A modem honouring DTR (with a detect time, S25) is hung up by the hold, and a modem ignoring DTR
(``&D0``) by the escape and ``ATH0``; in neither case does an ``AT`` reach the caller.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from .harness import Bench

#: An init chat that leaves ``&D`` as the modem's profile has it (the default chat sets &D2).
INIT_KEEPING_D = ["", "ATZ", "OK", "ATE0Q0V1&C1S0=0", "OK"]
SAY_BYE = {"mode": "direct", "direct_program": ["/bin/echo", "bye"], "rings": 1, "init_chat": INIT_KEEPING_D,
           "modem_family": "v250", "caller_id": "off", "hangup_dtr_ms": 500}  # fmt: skip


def modem_profile(tmp: Path, text: str) -> list[str]:
    """``answerd sim`` arguments for a profile file with ``text``."""
    path = tmp / "modem.toml"
    path.write_text(text)
    return ["--profile", str(path)]


def test_a_modem_ignoring_dtr_is_escaped_and_the_caller_gets_only_the_escape(
    tmp_path: Path, make_bench: Callable[..., Bench]
) -> None:
    """&D0: the program's last output, then +++ (after the hold), then the modem hangs up on ATH0."""
    bench = make_bench(modem_profile(tmp_path, "[defaults]\ndtr = 0\n"), **SAY_BYE)
    caller = bench.dial()
    caller.read_until(b"bye")
    rest = caller.wait_dropped()
    assert b"+++" == rest.strip(b"\r\n")
    _, escape = bench.wait_event("call.hangup.escape")
    assert "no DCD to watch" == escape["reason"]


def test_a_modem_honouring_dtr_after_its_detect_time_hangs_up_on_the_hold(
    tmp_path: Path, make_bench: Callable[..., Bench]
) -> None:
    """&D2 with S25=20 (0.2 s): the 500 ms hold hangs it up; the caller sees neither +++ nor AT."""
    bench = make_bench(modem_profile(tmp_path, "[defaults]\ndtr = 2\n[defaults.registers]\nS25 = 20\n"), **SAY_BYE)
    caller = bench.dial()
    caller.read_until(b"bye")
    rest = caller.wait_dropped()
    assert b"" == rest.strip(b"\r\n")
    assert "answered" == bench.ended()["outcome"]
