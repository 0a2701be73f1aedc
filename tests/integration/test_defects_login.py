"""Issue 10, defects 1 and 2, black-box: the real ``answerd run`` against ``answerd sim``.

1. A caller who hangs up while typing a name must not be logged in: the CR that begins the modem's
   ``\\r\\nNO CARRIER\\r\\n`` is not the end of the name (the same after a PPP frame and a hang-up).
2. What the modem itself says at the prompt (``OK`` after a reset, a RING storm) never becomes a login name.

Each test waits for whichever comes first, the program's start or the call's end, so a regression fails at
once with the program's user in the message instead of running into a timeout.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import hdlc_frame, lcp, make_program, ran

from .harness import Bench

pytestmark = pytest.mark.integration

#: A modem fault of the simulated modem's profile (the sim's contract): framed text to the DTE while online.
ONLINE_REPORT = """\
[[faults.online_reports]]
after_s = 0.5
text = "{text}"
repeat = {repeat}
interval_s = {interval_s}
"""
#: A PPP peer giving up: LCP Terminate-Request. What of it the name editor keeps (15 characters) fits in a
#: login name, so the CR of NO CARRIER could submit it (a Configure-Request leaves 43, more than a name holds).
LCP_TERMINATE_REQUEST = hdlc_frame(0xC021, lcp(5, 2, b""))


def login_bench(
    make_bench: Callable[..., Bench], tmp_path: Path, sim_args: list[str] | None = None
) -> tuple[Bench, Path]:
    """A bench whose login program is a stand-in that holds the line, as /bin/login waiting for a password does."""
    login = make_program(tmp_path / "bin", "login", hold=1)
    # login_timeout_s bounds a call whose dialog ignores the modem's text: the test still ends, and says why.
    return make_bench(sim_args, login_program=[str(login), "--", "{user}"], login_timeout_s=5.0), login


def program_or_end(bench: Bench, start: int) -> dict[str, Any]:
    """The first ``call.program_started`` or ``call.ended`` record from ``start`` on."""
    assert bench.log is not None
    _, record = bench.log.wait_for(
        lambda r: r.get("event") in ("call.program_started", "call.ended"), timeout=15.0, start=start
    )
    return record  # type: ignore[no-any-return]


def assert_no_program(bench: Bench, login: Path, start: int) -> dict[str, Any]:
    """The call ended without its program: return the ``call.ended`` record (and wait for the idle port)."""
    first = program_or_end(bench, start)
    assert "call.ended" == first["event"], f"a program was started for modem text or a dead line: {first}"
    assert not ran(login)
    return bench.ended(start)


def profile(tmp_path: Path, text: str, *, repeat: int = 1, interval_s: float = 0.0) -> list[str]:
    """``answerd sim`` arguments for a modem that says ``text`` (framed) 0.5 s after CONNECT."""
    path = tmp_path / f"online-{text.lower()}.toml"
    path.write_text(ONLINE_REPORT.format(text=text, repeat=repeat, interval_s=interval_s))
    return ["--profile", str(path)]


class TestHangUpWhileTyping:
    """Defect 1: the CR of the modem's NO CARRIER does not submit a half-typed name."""

    def test_half_typed_name_then_hang_up_starts_no_program_and_the_next_call_is_answered(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """`partial` without Enter, then hang-up: no program, carrier lost at the prompt; the next call is answered."""
        bench, login = login_bench(make_bench, tmp_path)
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.send(b"partial")
        caller.read_until(b"partial")  # echoed: answerd has the bytes before the hang-up
        caller.hang_up()
        ended = assert_no_program(bench, login, mark)
        assert ("carrier-lost", None) == (ended["outcome"], ended["user"])
        assert "prompt" in (ended["detail"] or "")

        # modem_control = "none" (the bench's default): nothing holds the line, so the next caller is answered.
        mark = bench.mark()
        second = bench.dial()
        second.read_until(b"login: ")
        second.hang_up()
        assert "carrier-lost" == bench.ended(mark)["outcome"]

    def test_ppp_frame_then_hang_up_starts_no_program(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """An LCP frame at the prompt of a port without a PPP rule, then a hang-up: no program; the call ends as
        no-ppp-rule (issue 13), what it was, whenever the hang-up is seen."""
        bench, login = login_bench(make_bench, tmp_path)
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.send(LCP_TERMINATE_REQUEST)
        caller.hang_up()
        ended = assert_no_program(bench, login, mark)
        assert ("no-ppp-rule", "/AutoPPP/") == (ended["outcome"], ended["user"])


class TestModemTextIsNoName:
    """Defect 2: what the modem says while online is never taken for a user's name."""

    def test_modem_reset_at_the_prompt_runs_no_program_as_ok(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """The modem says OK (it reset itself) while the prompt is up: the call ends, no program runs as `OK`."""
        bench, login = login_bench(make_bench, tmp_path, profile(tmp_path, "OK"))
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"login: ")
        ended = assert_no_program(bench, login, mark)
        assert (None, False) == (ended["user"], ended["outcome"] == "answered")

    def test_ring_storm_after_connect_runs_no_program_as_ring(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """RING after RING while online: the call ends, no program runs as `RING`."""
        bench, login = login_bench(make_bench, tmp_path, profile(tmp_path, "RING", repeat=5, interval_s=0.1))
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"login: ")
        ended = assert_no_program(bench, login, mark)
        assert (None, False) == (ended["user"], ended["outcome"] == "answered")
