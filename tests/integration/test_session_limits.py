"""Session limits end to end: ``answerd run`` on the simulated modem, a program that never ends (12.10)."""

from __future__ import annotations

from collections.abc import Callable

from .harness import Bench

FOREVER = {"mode": "direct", "direct_program": ["/bin/sleep", "600"], "rings": 1, "modem_family": "v250",
           "caller_id": "off"}  # fmt: skip


def test_max_session_ends_a_program_that_would_run_forever(make_bench: Callable[..., Bench]) -> None:
    """max_session_s = 1: the program is hung up, the call ends as session-limit with the limit named, and the
    modem is hung up after it."""
    bench = make_bench(max_session_s=1.0, **FOREVER)
    caller = bench.dial()
    _, limit = bench.wait_event("call.session_limit")
    ended = bench.ended()
    assert ("session-limit", "session lasted 1 s (max_session_s)") == (ended["outcome"], ended["detail"])
    assert "SIGHUP" == ended["signal"]
    assert limit["reason"] == ended["detail"]
    caller.wait_dropped()
