"""Extended ring reports end to end: answerd sets ``AT+CRC=1`` and the sim rings with ``+CRING: <type>``."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from .harness import Bench

pytestmark = pytest.mark.integration

#: The port's init chat also asks for extended ring reports.
CRC_ON = ["", "AT+CRC=1", "OK"]


def make_crc_bench(make_bench: Callable[..., Bench], call_type: str) -> Bench:
    """A bench whose sim reports every call as ``call_type`` and whose daemon's init sets AT+CRC=1."""
    return make_bench(["--call-type", call_type], init_chat_extra=CRC_ON)


def modem_lines(bench: Bench) -> list[str]:
    """Every line answerd read from the modem (``modem.line``)."""
    return [str(r["line"]) for r in bench.events("modem.line")]


def test_async_call_is_answered(make_bench: Callable[..., Bench]) -> None:
    """A ring reported as +CRING: ASYNC is a data call: answered, and the caller gets the login prompt."""
    bench = make_crc_bench(make_bench, "ASYNC")
    caller = bench.dial()
    caller.read_until(b"login: ")
    bench.wait_event("call.connected")
    assert "+CRING: ASYNC" in modem_lines(bench)
    assert "RING" not in modem_lines(bench)
    assert [] == bench.events("call.not_data")
    caller.hang_up()
    bench.wait_event("call.ended", call_id=1)


def test_voice_call_is_not_answered(make_bench: Callable[..., Bench]) -> None:
    """A ring reported as +CRING: VOICE is never answered (no ATA): call.not_data, and the call ends not-data."""
    bench = make_crc_bench(make_bench, "VOICE")
    caller = bench.dial()
    _, not_data = bench.wait_event("call.not_data", call_id=1)
    assert "+CRING: VOICE" == not_data["ring"]
    bench.wait_event("call.ring", ring=2)  # still ringing, still not answered
    caller.hang_up()
    ended = bench.ended()
    assert ("not-data", 1) == (ended["outcome"], ended["call_id"])
    assert [] == bench.events("call.connected")
    assert not any(send.startswith("ATA") for send in bench.sends())
