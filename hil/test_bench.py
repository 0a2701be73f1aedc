"""answerd on a bench of two modems: one answers (answerd runs on it), one calls in.

Each test's docstring says what it proves on hardware; on the simulated bench (``--bench sim``) the same test
proves it against the modem personality's simulated behaviour (its RING, caller-ID, CONNECT and ERROR
dialects over a pty), not against a real modem's firmware, line or serial port.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

import pytest

from answerd.service.journal import to_journal_fields
from hil.bench import Bench
from hil.driver import CallingModem, CallResult, Daemon

#: The ``record`` fixture: save the raw line trace of log records start..end as call n (with --record DIR).
Recorder = Callable[[int, int, int], None]

#: Seconds past the calling modem's S7 that the test waits for its result before giving up on it.
MARGIN_S = 10


def call_in(bench: Bench, daemon: Daemon, caller: CallingModem) -> tuple[int, bytes, float]:
    """Dial the answering modem; the log index before the call, the result line, and the seconds to it."""
    start = daemon.mark()
    result, seconds = caller.dial(bench.number, timeout=caller.wait_for_carrier_s() + MARGIN_S)
    return start, result, seconds


def log_in_and_run_a_command(bench: Bench, caller: CallingModem) -> None:
    """At the prompt: the test account's name and password, the shell's prompt, then ``echo`` of a fresh token
    comes back."""
    caller.expect(b"login: ", timeout=30)
    caller.send(bench.user + "\r")
    caller.expect(b"assword:", timeout=30)
    caller.send(bench.password + "\r")
    # Wait for the shell's prompt before typing: the real login flushes what was typed before the session
    # started (seen in vbench, the first run of this test against /bin/login), the stand-in does not.
    caller.expect(b"$ ", b"# ", timeout=60)
    token = f"hil-{secrets.token_hex(4)}"
    caller.send(f"echo {token}\r")
    # The output starts a line; bash may put its bracketed-paste reset (ESC [?2004l CR) before it, so the token
    # follows a CR rather than the LF, and the echoed command line has it after "echo ".
    caller.expect(f"\n{token}".encode(), f"\r{token}".encode(), timeout=30)
    caller.send("exit\r")


def hang_up_and_wait_ready(daemon: Daemon, caller: CallingModem, start: int) -> dict[str, object]:
    """The caller hangs up; answerd ends the call and waits for the next RING; the call's record."""
    caller.hang_up()
    index, ended = daemon.wait_event("call.ended", timeout=60, start=start)
    daemon.wait_ready(timeout=60, start=index)
    return ended


def test_daemon_starts_as_the_service_and_initialises_the_modem(bench: Bench, daemon: Daemon) -> None:
    """answerd run --config --port (the unit's ExecStart) opens the port, gets OK to its init chat (caller ID
    on, in this family's command), tells systemd READY=1 and waits for a RING: the modem speaks what answerd
    sends it."""
    _, init = daemon.wait_event("modem.init.ok", timeout=5)
    assert "READY=1" in daemon.notifications
    assert init.get("port") == "hil0"


def test_call_is_answered_and_a_login_runs_a_command(
    bench: Bench, daemon: Daemon, caller: CallingModem, results: list[CallResult], record: Recorder
) -> None:
    """The calling modem dials: answerd counts the RINGs, answers, CONNECT comes within the calling modem's own
    S7, the login prompt crosses the line, the test account logs in and a command's output comes back."""
    start, result, seconds = call_in(bench, daemon, caller)
    connected = result.startswith(b"CONNECT")
    answered = ""
    try:
        assert connected, result
        log_in_and_run_a_command(bench, caller)
    finally:
        if connected:
            answered = str(hang_up_and_wait_ready(daemon, caller, start).get("connect") or "")
        text = result.decode("ascii", "replace")
        results.append(CallResult(bench.name, bench.answer_family, 0, connected, seconds, text, answered))
        record(start, daemon.mark(), 0)


def test_caller_hang_up_leaves_answerd_ready_again(bench: Bench, daemon: Daemon, caller: CallingModem) -> None:
    """The caller drops DTR mid-session: the answering modem loses carrier, answerd records the call as ended
    by the caller, re-initialises the modem and waits for the next RING."""
    start, result, _ = call_in(bench, daemon, caller)
    assert result.startswith(b"CONNECT")
    caller.expect(b"login: ", timeout=30)
    ended = hang_up_and_wait_ready(daemon, caller, start)
    assert ended["outcome"] in {"carrier-lost", "hangup"}
    daemon.wait_event("modem.init.ok", timeout=5, start=start)


def test_callers_number_reaches_the_call_record_and_journal_fields(
    bench: Bench, daemon: Daemon, caller: CallingModem
) -> None:
    """The exchange's caller ID (between RING 1 and 2, in this family's format) is decoded by answerd and lands
    in the call.ended record and in the journal's CALLER_ID field."""
    if bench.no_caller_id:
        pytest.skip(f"no caller ID on this bench: {bench.no_caller_id}")
    start, result, _ = call_in(bench, daemon, caller)
    assert result.startswith(b"CONNECT")
    caller.expect(b"login: ", timeout=30)
    ended = hang_up_and_wait_ready(daemon, caller, start)
    assert bench.expected_caller_id == ended["caller_id"]
    fields = to_journal_fields(None, "info", dict(ended))
    assert bench.expected_caller_id == fields["CALLER_ID"]


def test_calls_in_a_row_without_a_failure(
    bench: Bench, daemon: Daemon, caller: CallingModem, results: list[CallResult], record: Recorder
) -> None:
    """The bench's number of calls, one after the other, each answered with CONNECT and the login prompt, each
    hung up by the caller and followed by answerd ready again: 0 failures. Times go to the results table."""
    failures = []
    for index in range(1, bench.calls + 1):
        start, result, seconds = call_in(bench, daemon, caller)
        failure, answered = "", ""
        try:
            assert result.startswith(b"CONNECT"), result
            caller.expect(b"login: ", timeout=30)
        except AssertionError as exc:
            failure = str(exc).splitlines()[0][:80]
            failures.append(index)
        if result.startswith(b"CONNECT"):
            answered = str(hang_up_and_wait_ready(daemon, caller, start).get("connect") or "")
        else:
            daemon.wait_ready(timeout=60, start=start)
        text = result.decode("ascii", "replace")
        results.append(
            CallResult(bench.name, bench.answer_family, index, not failure, seconds, text, answered, failure)
        )
        record(start, daemon.mark(), index)
    assert [] == failures
