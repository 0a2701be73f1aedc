"""The pure simulated exchange: two or three modems that dial, ring, connect, exchange data and hang up.

Time is injected: a test jumps to the exchange's next deadline; nothing sleeps.
"""

from __future__ import annotations

import pytest

from answerd.sim import (
    Action,
    CarrierLost,
    CidFormat,
    Exchange,
    LineAction,
    Log,
    ModemMode,
    ModemProfile,
    SimModem,
    Timings,
    ToDte,
)
from answerd.sim._profile import CallerIdProfile, Defaults

CALLER, ANSWERER, THIRD = "882", "881", "883"
OK = b"\r\nOK\r\n"
RING = b"\r\nRING\r\n"
NO_CARRIER = b"\r\nNO CARRIER\r\n"


def profile(**timings: float) -> ModemProfile:
    """A modem with echo off, caller ID in the Rockwell format, and short fixed timings."""
    return ModemProfile(
        defaults=Defaults(echo=False),
        timings=Timings(**{"ring_interval_s": 6.0, "answer_delay_s": 1.0, **timings}),
        caller_id=CallerIdProfile(format=CidFormat.ROCKWELL),
    )


def dte(actions: list[LineAction], line: str) -> bytes:
    """What the computer on ``line`` got."""
    return b"".join(a.data for n, a in actions if n == line and isinstance(a, ToDte))


def kinds(actions: list[LineAction], line: str) -> list[type[Action]]:
    """The kinds of action ``line``'s shell must carry out (transcript notes left out)."""
    return [type(a) for n, a in actions if n == line and not isinstance(a, Log)]


def step(ex: Exchange) -> tuple[float, list[LineAction]]:
    """Jump to the next deadline and fire it."""
    when = ex.get_timer()
    assert when is not None
    return when, ex.handle_timer(when)


def exchange(*numbers: str) -> Exchange:
    return Exchange({n: profile() for n in numbers or (CALLER, ANSWERER)})


def ringing(ex: Exchange, caller_id: bool = True) -> list[LineAction]:
    """The answering computer enabled caller ID; the caller dialled; returns what that caused."""
    if caller_id:
        assert OK == dte(ex.dte_data(ANSWERER, b"AT+VCID=1\r", 0.0), ANSWERER)
    return ex.dte_data(CALLER, f"ATDT{ANSWERER}\r".encode(), 0.0)


def connected(ex: Exchange) -> float:
    """Ring, answer with ATA, and let the handshake finish; returns the time of CONNECT."""
    ringing(ex)
    ex.dte_data(ANSWERER, b"ATA\r", 1.0)
    when, out = step(ex)
    assert b"CONNECT" in dte(out, ANSWERER)
    assert b"CONNECT" in dte(out, CALLER)
    return when


def test_dialling_rings_the_number_with_the_callers_number_as_caller_id() -> None:
    """ATDT<number> rings that line, and the caller-ID burst after the first RING names the calling line."""
    ex = exchange()
    out = ringing(ex)
    assert RING == dte(out, ANSWERER)
    assert b"" == dte(out, CALLER)  # the caller hears ringback, the computer sees nothing yet
    _, out = step(ex)
    assert f"NMBR = {CALLER}".encode() in dte(out, ANSWERER)


def test_answering_connects_both_sides_with_their_own_connect_text() -> None:
    """ATA on the rung line gives each side CONNECT with its own profile's text, at the same moment."""
    caller = profile().override(connect_text="28800/ARQ/V34/LAPM/V42BIS")
    ex = Exchange({CALLER: caller, ANSWERER: profile()})
    ringing(ex)
    ex.dte_data(ANSWERER, b"ATA\r", 1.0)
    _, out = step(ex)
    assert b"\r\nCONNECT 33600/ARQ/V34/LAPM/V42BIS\r\n" == dte(out, ANSWERER)
    assert b"\r\nCONNECT 28800/ARQ/V34/LAPM/V42BIS\r\n" == dte(out, CALLER)
    assert ex.modem(CALLER).mode is ModemMode.ONLINE is ex.modem(ANSWERER).mode


def test_data_flows_both_ways_once_connected() -> None:
    """Bytes the computer writes on one side reach the other side's computer, byte-exact, both ways."""
    ex = exchange()
    when = connected(ex)
    assert b"login: " == dte(ex.dte_data(ANSWERER, b"login: ", when + 2), CALLER)
    assert b"guest\r" == dte(ex.dte_data(CALLER, b"guest\r", when + 3), ANSWERER)


@pytest.mark.parametrize("side", [CALLER, ANSWERER])
def test_dtr_drop_on_either_side_drops_the_others_carrier(side: str) -> None:
    """A DTR drop (&D2) hangs up that side, and the other side's DCD falls with NO CARRIER."""
    ex = exchange()
    when = connected(ex)
    other = ANSWERER if side == CALLER else CALLER
    out = ex.dtr_changed(side, False, when + 5)
    assert CarrierLost in kinds(out, other)
    assert NO_CARRIER == dte(out, other)
    assert ex.modem(other).mode is ModemMode.IDLE
    assert ex.peer(side) is None is ex.peer(other)


@pytest.mark.parametrize("side", [CALLER, ANSWERER])
def test_escape_then_ath_drops_the_others_carrier(side: str) -> None:
    """+++ (guarded) gives OK with the call up; ATH then hangs up and the other side gets NO CARRIER."""
    ex = exchange()
    when = connected(ex)
    other = ANSWERER if side == CALLER else CALLER
    ex.dte_data(side, b"+++", when + 2)
    at, out = step(ex)
    assert OK == dte(out, side)
    assert b"" == dte(out, other)  # the escape itself does not end the call
    out = ex.dte_data(side, b"ATH\r", at + 2)
    assert OK == dte(out, side)
    assert NO_CARRIER == dte(out, other)
    assert CarrierLost in kinds(out, other)


def test_a_number_in_a_call_is_busy() -> None:
    """A third line dialling a line that is ringing gets BUSY at once, and the ringing call goes on."""
    ex = exchange(CALLER, ANSWERER, THIRD)
    ringing(ex, caller_id=False)
    out = ex.dte_data(THIRD, f"ATDT{ANSWERER}\r".encode(), 0.5)
    assert b"\r\nBUSY\r\n" == dte(out, THIRD)
    assert ex.peer(ANSWERER) == CALLER


def test_busy_below_x3_is_no_carrier() -> None:
    """At X2 the BUSY code is not enabled, so a busy number reports NO CARRIER (the V.250 fall-back)."""
    ex = exchange(CALLER, ANSWERER, THIRD)
    ringing(ex, caller_id=False)
    out = ex.dte_data(THIRD, f"ATX2DT{ANSWERER}\r".encode(), 0.5)
    assert NO_CARRIER == dte(out, THIRD)


def test_unanswered_call_ends_after_s7_with_no_carrier_and_stops_the_ringing() -> None:
    """Nobody answers: at S7 seconds the caller gets NO CARRIER and the rung line stops ringing."""
    ex = exchange()
    ex.dte_data(CALLER, f"ATS7=20DT{ANSWERER}\r".encode(), 0.0)
    out: list[LineAction] = []
    when = 0.0
    while b"NO CARRIER" not in dte(out, CALLER):
        when, out = step(ex)
    assert when == 20.0
    assert ex.modem(ANSWERER).mode is ModemMode.IDLE
    assert ex.get_timer() is None  # no RING after the caller gave up


def test_quiet_answer_dial_times_out_with_no_answer() -> None:
    """ATDT<number>@ that times out at S7 reports NO ANSWER (X4) instead of NO CARRIER."""
    ex = exchange()
    ex.dte_data(CALLER, f"ATS7=10DT{ANSWERER}@\r".encode(), 0.0)
    out: list[LineAction] = []
    while not dte(out, CALLER):
        _, out = step(ex)
    assert b"\r\nNO ANSWER\r\n" == dte(out, CALLER)


def test_unknown_number_rings_nothing_and_times_out() -> None:
    """A number that is no line here: nothing rings; the caller gets NO CARRIER when S7 runs out."""
    ex = exchange()
    out = ex.dte_data(CALLER, b"ATS7=5DT999\r", 0.0)
    assert b"" == dte(out, ANSWERER)
    when, out = step(ex)
    assert (5.0, NO_CARRIER) == (when, dte(out, CALLER))


def test_a_key_from_the_callers_computer_aborts_the_dial_and_the_ringing() -> None:
    """Any character while dialling aborts it with NO CARRIER, and the rung line stops ringing."""
    ex = exchange()
    ringing(ex, caller_id=False)
    out = ex.dte_data(CALLER, b"X", 2.0)
    assert NO_CARRIER == dte(out, CALLER)
    assert ex.modem(ANSWERER).mode is ModemMode.IDLE


def test_without_an_exchange_dialling_still_finds_no_dial_tone() -> None:
    """A modem on its own (the TCP phone line of answerd sim) still answers ATD with NO DIALTONE."""
    modem = SimModem(profile())
    out = modem.dte_data(b"ATDT881\r", 0.0)
    assert b"\r\nNO DIALTONE\r\n" == b"".join(a.data for a in out if isinstance(a, ToDte))


@pytest.mark.parametrize("number", ["", "12a", "1" * 33])
def test_bad_line_numbers_are_refused(number: str) -> None:
    """A line number must be 1-32 digits: anything else is a ValueError naming it."""
    with pytest.raises(ValueError, match="line number"):
        Exchange({number: profile()})
