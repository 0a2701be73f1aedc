"""``answerd probe`` against the simulated modem's personalities on a pty (issue 12.8).

Each test starts ``answerd sim`` with a profile on a pty (a separate process, as a user would) and probes
it in-process. What is checked: the family named, the caller-ID command found, the control-line verdicts a
pty allows, that the suggested table passes ``check-config``, that a busy line is refused, and that the modem
is left reset.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
import termios
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from answerd.cli import main
from answerd.config import load_config
from answerd.core import ModemFamily
from answerd.service.probe import (
    ProbeError,
    ProbeReport,
    _Modem,
    _open_line,
    probe,
    read_control_lines,
    render_snippet,
)

SIM_READY = re.compile(r"answerd-sim: ready tty=(\S+)")
#: Short enough for a fast test, well above the sim's 50 ms look at the line.
HOLD_S = 0.3

#: personality → (family, the caller-ID command it accepts)
PERSONALITIES = {
    "usr": (ModemFamily.USR, "AT#CID=1"),
    "rockwell": (ModemFamily.ROCKWELL, "AT+VCID=1"),
    "agere": (ModemFamily.AGERE, "AT+VCID=1"),
    "multitech": (ModemFamily.MULTITECH, "AT+VCID=1"),
    "xecom": (ModemFamily.XECOM, "AT+VCID=1"),
    "huawei": (ModemFamily.HUAWEI, "AT+CLIP=1"),
    "generic": (ModemFamily.V250, "AT+VCID=1"),
}


@pytest.fixture(name="start_sim")
def _start_sim(tmp_path: Path) -> Iterator[Callable[..., Path]]:
    """Start ``answerd sim`` with the given arguments; return its device link. Stopped at the end."""
    sims: list[subprocess.Popen[str]] = []

    def start(*args: str) -> Path:
        link = tmp_path / f"ttySIM{len(sims)}"
        sim = subprocess.Popen(
            [sys.executable, "-m", "answerd", "sim", "--link", str(link), "--listen", "127.0.0.1:0", *args],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        sims.append(sim)
        assert sim.stdout is not None
        assert SIM_READY.search(sim.stdout.readline()), "the sim did not start"
        return link

    yield start
    for sim in sims:
        sim.terminate()
        sim.wait(10)


@pytest.fixture(name="locks")
def _locks(tmp_path: Path) -> Path:
    locks = tmp_path / "locks"
    locks.mkdir()
    return locks


@pytest.mark.parametrize("personality", sorted(PERSONALITIES))
def test_each_personality_is_named_and_its_table_passes_check_config(
    personality: str, start_sim: Callable[..., Path], locks: Path, tmp_path: Path
) -> None:
    """The family and caller-ID command each personality documents are found; the table is valid TOML config."""
    link = start_sim("--profile", personality)
    report = probe(str(link), lock_dir=str(locks), dtr_hold_s=HOLD_S)
    family, caller_id = PERSONALITIES[personality]
    assert (family, caller_id) == (report.family, report.caller_id_command)
    config = tmp_path / "answerd.toml"
    config.write_text(render_snippet(report, "modem"))
    assert 0 == main(["check-config", str(config)])
    settings = load_config(str(config)).port("modem")
    assert (family.value, "modem-text", "none") == (settings.modem_family, settings.carrier, settings.modem_control)


def test_on_a_pty_no_line_is_readable_and_a_dtr_drop_reaches_the_modem(
    start_sim: Callable[..., Path], locks: Path
) -> None:
    """A pty has no DCD/DSR/CTS/RI to read; the B0 'DTR drop' resets a modem set to &D3 (S7 comes back)."""
    report = probe(str(start_sim()), lock_dir=str(locks), dtr_hold_s=HOLD_S)
    assert [False] * 4 == [line.readable for line in report.lines]
    assert (False, False, True) == (report.modem_lines, report.dcd_works, report.dtr_works)


def test_a_drop_shorter_than_the_modem_detect_time_is_reported_as_not_reaching_it(
    start_sim: Callable[..., Path], locks: Path, tmp_path: Path
) -> None:
    """S25 = 200 (2 s) against a 0.3 s drop: the probe says DTR does not reach the modem."""
    profile = tmp_path / "slow-dtr.toml"
    profile.write_text("[defaults.registers]\nS25 = 200\n")
    report = probe(str(start_sim("--profile", str(profile))), lock_dir=str(locks), dtr_hold_s=HOLD_S)
    assert report.dtr_works is False


def test_a_line_under_a_live_uucp_lock_is_refused_untouched(start_sim: Callable[..., Path], locks: Path) -> None:
    """A dial-out program's live lock: the probe refuses before opening the line, and leaves the lock."""
    link = start_sim()
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        lock = locks / f"LCK..{link.name}"
        lock.write_text(f"{sleeper.pid:10d}\n")
        with pytest.raises(ProbeError, match=f"in use by pid {sleeper.pid}"):
            probe(str(link), lock_dir=str(locks))
        assert f"{sleeper.pid:10d}\n" == lock.read_text()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_line_a_running_answerd_holds_open_is_refused(start_sim: Callable[..., Path], locks: Path) -> None:
    """An idle answerd gives its UUCP lock back but keeps the port open with an exclusive flock: refused."""
    link = start_sim()
    fd = os.open(link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(ProbeError, match="running answerd"):
            probe(str(link), lock_dir=str(locks))
        assert [] == list(locks.iterdir())  # and the lock it took is given back
    finally:
        os.close(fd)


def test_the_modem_is_left_reset_and_the_lock_released(start_sim: Callable[..., Path], locks: Path) -> None:
    """After the probe (which set S7=47 and &D3) the modem answers S7 with its stored 50; no lock is left."""
    link = start_sim()
    probe(str(link), lock_dir=str(locks), dtr_hold_s=HOLD_S)
    assert [] == list(locks.iterdir())
    fd = _open_line(str(link), 38400)
    try:
        modem = _Modem(fd, 2.0)
        modem.command("ATE0")
        assert (["050"], "OK") == modem.command("ATS7?")
    finally:
        os.close(fd)


def test_the_command_prints_the_report_and_the_table(
    start_sim: Callable[..., Path], locks: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`answerd probe PATH --name NAME` exits 0 and prints the report (comments) and [ports.NAME]."""
    link = start_sim("--profile", "usr")
    assert 0 == main(["probe", str(link), "--name", "line1", "--lock-dir", str(locks)])
    out = capsys.readouterr().out
    assert "# family: usr (named by AT+GMI)" in out
    assert "[ports.line1]" in out


class FakeModem:
    """A modem on real control lines, as far as the DCD test sees it: &C0 forces DCD on, &C1 lets it follow
    the carrier (none while idle); ``wired=False`` is a cable that does not carry DCD (always low)."""

    def __init__(self, *, wired: bool = True, dsr: bool = True, cts: bool = True, held_high: bool = False) -> None:
        self.wired = wired
        self.held_high = held_high
        self.dcd_forced = False
        self.static = (termios.TIOCM_DSR if dsr else 0) | (termios.TIOCM_CTS if cts else 0)

    def command(self, command: str) -> tuple[list[str], str | None]:
        self.dcd_forced = command == "AT&C0"
        return [], "OK"

    def bits(self) -> int:
        return self.static | (termios.TIOCM_CAR if self.wired and (self.dcd_forced or self.held_high) else 0)


class TestControlLines:
    """The verdicts on real control lines (TIOCMGET injected: a pty has none)."""

    def test_dcd_that_follows_c_works_and_no_modem_text_is_suggested(self) -> None:
        """DCD on with &C0 and off with &C1: it works; the table keeps carrier = "dcd" and real modem control."""
        modem, report = FakeModem(), ProbeReport(device="/dev/ttyS0", speed=115200)
        read_control_lines(modem.bits, modem, report)
        assert (True, True) == (report.modem_lines, report.dcd_works)
        snippet = render_snippet(report, "ttyS0")
        assert "carrier" not in snippet
        assert "modem_control" not in snippet

    def test_a_cable_without_dcd_gets_modem_text(self) -> None:
        """DCD stays low even with &C0 (the cable does not carry it): the table says carrier = "modem-text"."""
        modem, report = FakeModem(wired=False, cts=False), ProbeReport(device="/dev/ttyS0", speed=115200)
        read_control_lines(modem.bits, modem, report)
        assert (True, False) == (report.modem_lines, report.dcd_works)
        assert 'carrier = "modem-text"' in render_snippet(report, "ttyS0")
        assert "low: use flow_control" in next(line.verdict for line in report.lines if line.name == "CTS")

    def test_dcd_held_high_is_not_blamed_on_the_cable(self) -> None:
        """DCD on even with &C1 (vbench's cdc_acm gadget, a USB modem or a DIP switch holding it high): the
        report says it stays on, not that the cable does not carry it; the table still says modem-text."""
        modem, report = FakeModem(held_high=True), ProbeReport(device="/dev/ttyACM0", speed=115200)
        read_control_lines(modem.bits, modem, report)
        dcd = next(line for line in report.lines if line.name == "DCD")
        assert (True, False, True) == (report.modem_lines, report.dcd_works, dcd.state)
        assert dcd.verdict.startswith("stays on with &C1")
        assert "cable" not in dcd.verdict
        assert '"modem-text"             # DCD stays high:' in render_snippet(report, "ttyACM0")
