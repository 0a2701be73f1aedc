"""The daemon against a real modem: init, DTR hang-up, a call from a second modem.

These use the same harness pieces as tests/integration (JSON log + a notify socket), with the real device in
place of the simulated modem's pty. Each confirms a behaviour that the pty cannot show (architecture.md §3,
facts 1 and 7): real DTR and DCD, and the kernel hanging the tty up when the carrier drops.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import serial

from tests.integration.harness import Bench


def _bench(tmp_path: Path, device: str, modem_control: str, speed: int, **settings: object) -> Bench:
    bench = Bench(tmp=tmp_path, port_settings={"modem_control": modem_control, "speed": speed, **settings})
    bench.link = Path(device)
    return bench


@pytest.mark.needs_modem
def test_daemon_initialises_the_modem_and_stops_cleanly(
    tmp_path: Path, modem: str, request: pytest.FixtureRequest
) -> None:
    """answerd initialises the real modem, sends READY=1, and exits 0 on SIGTERM with DTR dropped."""
    bench = _bench(tmp_path, modem, request.config.getoption("--modem-control"), request.config.getoption("--speed"))
    bench.start_daemon()
    try:
        assert bench.notify is not None
        bench.notify.wait_for("READY=1", 60)
        _, ready = bench.wait_event("port.ready")
        assert ready["lines"] in {"tiocm", "none"}
    finally:
        assert 0 == bench.stop()


@pytest.mark.needs_modem
def test_modem_answers_at_after_daemon_stops(tmp_path: Path, modem: str, request: pytest.FixtureRequest) -> None:
    """After answerd stops (DTR dropped, port closed), the modem is back in command mode and answers AT."""
    speed = request.config.getoption("--speed")
    bench = _bench(tmp_path, modem, request.config.getoption("--modem-control"), speed)
    bench.start_daemon()
    assert bench.notify is not None
    bench.notify.wait_for("READY=1", 60)
    assert 0 == bench.stop()
    with serial.Serial(modem, speed, rtscts=True, timeout=2) as ser:
        ser.write(b"AT\r")
        deadline = time.monotonic() + 5
        reply = b""
        while b"OK" not in reply and time.monotonic() < deadline:
            reply += ser.read(64)
    assert b"OK" in reply


@pytest.mark.needs_modem
@pytest.mark.needs_peer
def test_call_from_peer_is_answered_and_carrier_loss_seen(
    tmp_path: Path, modem: str, request: pytest.FixtureRequest
) -> None:
    """The peer dials in: RINGs, ATA, CONNECT, the login prompt reaches the peer; the peer's hang-up is seen."""
    speed = request.config.getoption("--speed")
    bench = _bench(tmp_path, modem, request.config.getoption("--modem-control"), speed, rings=2, settle_ms=500)
    bench.start_daemon()
    assert bench.notify is not None
    bench.notify.wait_for("READY=1", 60)
    try:
        with serial.Serial(request.config.getoption("--peer"), speed, rtscts=True, timeout=1) as peer:
            peer.write(b"ATZ\r")
            time.sleep(1)
            peer.write(f"ATDT{request.config.getoption('--number')}\r".encode())
            screen = b""
            deadline = time.monotonic() + 90
            while b"login:" not in screen and time.monotonic() < deadline:
                screen += peer.read(256)
            assert b"CONNECT" in screen
            assert b"login:" in screen
            peer.dtr = False  # the peer hangs up
            time.sleep(2)
        _, ended = bench.wait_event("call.ended", timeout=60)
        assert ended["outcome"] in {"carrier-lost", "login-timeout"}
        bench.wait_event("modem.init.ok", start=bench.wait_event("call.ended")[0], timeout=60)
    finally:
        bench.stop()
