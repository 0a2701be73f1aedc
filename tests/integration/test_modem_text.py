"""``carrier = "modem-text"`` end to end: ``answerd run`` on the simulated modem's pty (no DCD), real programs
behind the relay (issue 12.9)."""

from __future__ import annotations

from collections.abc import Callable

from .harness import Bench

RELAYED = {"mode": "direct", "rings": 1, "carrier": "modem-text", "carrier_quiet_ms": 300, "modem_family": "v250",
           "caller_id": "off"}  # fmt: skip


def test_the_callers_hang_up_ends_the_session_through_the_modems_text(make_bench: Callable[..., Bench]) -> None:
    """/bin/cat behind the relay echoes the caller byte-exact; the caller hangs up, the modem says NO CARRIER,
    and after the quiet time the session ends as carrier-lost, saying so."""
    bench = make_bench(direct_program=["/bin/cat"], **RELAYED)
    caller = bench.dial()
    bench.wait_event("call.program_started", relayed=True)
    data = bytes(range(32, 127)) + b"\x00\x01\xff\r\n"
    caller.send(data)
    assert caller.read_until(data).endswith(data)
    caller.hang_up()
    ended = bench.ended()
    assert ("carrier-lost", "modem said NO CARRIER") == (ended["outcome"], ended["detail"])
    bench.wait_event("call.modem_text_carrier")


def test_the_programs_last_output_reaches_the_caller_before_the_hang_up(make_bench: Callable[..., Bench]) -> None:
    """A program that prints 3000 lines and exits at once: the caller receives every byte, then the modem hangs up.

    (End to end only: the sim reads its pty at once, so this cannot show a modem that has not yet taken the
    bytes; tests/test_relay.py shows that finish() reads the master to its end and waits for the line.)"""
    bench = make_bench(direct_program=["/usr/bin/seq", "1", "3000"], **RELAYED)
    caller = bench.dial()
    expected = "".join(f"{n}\n" for n in range(1, 3001)).encode()
    received = caller.read_until(b"\n3000\n", timeout=30.0)
    received += caller.wait_dropped()
    assert expected == received[: len(expected)]
    assert received[len(expected) :] in (b"", b"+++")  # then only the hang-up's escape (a pty has no DCD)
    assert "answered" == bench.ended()["outcome"]
