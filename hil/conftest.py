"""Hardware-in-the-loop tests: the real daemon against a real modem on a real serial port.

Not collected by CI (``testpaths = ["tests"]``). Run on a bench::

    pytest hil --modem /dev/ttyUSB0                     # init, health, DTR hang-up on the modem alone
    pytest hil --modem /dev/ttyUSB0 --peer /dev/ttyUSB1 --number 881
                                                        # + a second modem dials in (needs a phone line/ATA)

Without ``--modem`` (or when the device does not exist) every test is skipped with the reason, so
``pytest hil`` on a laptop passes with nothing run. See hil/README.md for wiring and modem settings.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("answerd hardware bench")
    group.addoption("--modem", metavar="DEVICE", help="serial device of the answering modem (e.g. /dev/ttyUSB0)")
    group.addoption("--peer", metavar="DEVICE", help="serial device of a second modem that dials in")
    group.addoption("--number", metavar="DIGITS", help="number the peer dials to reach --modem")
    group.addoption("--speed", type=int, default=38400, help="DTE speed for both modems (default 38400)")
    group.addoption(
        "--modem-control", choices=["auto", "tiocm", "none"], default="auto", help="modem_control for --modem"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "needs_modem: needs --modem (a real modem on a serial port)")
    config.addinivalue_line("markers", "needs_peer: needs --peer and --number (a second modem that dials in)")


def _usable(device: str | None) -> str | None:
    if not device:
        return None
    return device if Path(device).exists() and os.access(device, os.R_OK | os.W_OK) else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    modem = _usable(config.getoption("--modem"))
    peer = _usable(config.getoption("--peer"))
    number = config.getoption("--number")
    for item in items:
        if "needs_modem" in item.keywords and modem is None:
            item.add_marker(pytest.mark.skip(reason="no modem: pass --modem /dev/ttyXXX (readable and writable)"))
        if "needs_peer" in item.keywords and (peer is None or not number):
            item.add_marker(pytest.mark.skip(reason="no dial-in peer: pass --peer /dev/ttyYYY and --number N"))


@pytest.fixture(name="modem")
def _modem(request: pytest.FixtureRequest) -> str:
    device = request.config.getoption("--modem")
    assert isinstance(device, str)
    return device
