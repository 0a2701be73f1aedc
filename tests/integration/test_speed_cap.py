"""A speed cap end to end: ``answerd run`` renders ``max_speed`` into the family's command and the simulated
modem of that family connects at the capped rate (issue 16: USR ``&N`` fixed rates)."""

from __future__ import annotations

from collections.abc import Callable

from .harness import Bench

#: The USR personality answering, answerd told its family; /bin/cat as the session, ended by the modem's NO CARRIER
#: (a pty has no DCD).
USR = {"mode": "direct", "direct_program": ["/bin/cat"], "rings": 1, "modem_family": "usr", "caller_id": "off",
       "carrier": "modem-text", "carrier_quiet_ms": 300}  # fmt: skip


def test_max_speed_on_a_usr_modem_is_its_fixed_rate_and_the_connect_rate(make_bench: Callable[..., Bench]) -> None:
    """max_speed = min_speed = 9600 on the usr family: answerd sends AT&N6 in the init chat, and the simulated
    Courier (28800 by itself) answers the call with CONNECT 9600/ARQ/V34/LAPM/V42BIS, which answerd records."""
    bench = make_bench(["--profile", "usr"], max_speed=9600, min_speed=9600, **USR)
    assert "AT&N6\\r" in bench.sends()
    caller = bench.dial()
    bench.wait_event("call.program_started")
    caller.hang_up()
    assert "9600/ARQ/V34/LAPM/V42BIS" == bench.ended()["connect"]


def test_without_a_cap_the_usr_modem_connects_at_the_lines_rate(make_bench: Callable[..., Bench]) -> None:
    """The same bench without max_speed: no &N is sent and the call connects at the personality's 28800."""
    bench = make_bench(["--profile", "usr"], **USR)
    assert not [line for line in bench.sends() if "&N" in line]
    caller = bench.dial()
    bench.wait_event("call.program_started")
    caller.hang_up()
    assert "28800/ARQ/V34/LAPM/V42BIS" == bench.ended()["connect"]
