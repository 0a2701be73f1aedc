"""``carrier = "modem-text"`` end to end: ``answerd run`` on the simulated modem's pty (no DCD), real programs
behind the relay (issue 12.9)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

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


def test_a_program_setting_b0_is_hung_up_and_recorded_as_its_hang_up(
    tmp_path: Path, make_bench: Callable[..., Bench]
) -> None:
    """A program that says bye, sets speed B0 on its tty (pppd's way to drop DTR) and waits: the caller gets the
    bye and is hung up (by the DTR hold, or the escape after it: the caller sees nothing else); the call is
    answered, detail saying the program hung up, with one call.program_hangup record."""
    program = tmp_path / "bin" / "hangs-up"
    program.parent.mkdir()
    program.write_text(f"#!{sys.executable}\n" + HANGS_UP)
    program.chmod(0o755)
    bench = make_bench(direct_program=[str(program)], **RELAYED)
    caller = bench.dial()
    caller.read_until(b"bye")
    assert caller.wait_dropped().strip(b"\r\n") in (b"", b"+++")
    ended = bench.ended()
    assert ("answered", "the program hung up (speed B0)") == (ended["outcome"], ended["detail"])
    assert 1 == len(bench.events("call.program_hangup"))


#: Says bye, hangs up with B0, then waits for the SIGHUP a real line would bring.
HANGS_UP = """import os, termios
os.write(1, b"bye\\r\\n")
attrs = termios.tcgetattr(0)
attrs[4] = attrs[5] = termios.B0
termios.tcsetattr(0, termios.TCSADRAIN, attrs)
while os.read(0, 100):
    pass
"""
