"""``answerd sim --bench``: two modems on real ptys joined by the simulated exchange, run as a user runs it.

Each wait is for bytes on a pty with a deadline (a bound against hanging, not a speed target); nothing sleeps.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import termios
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from answerd.sim import ProfileError
from answerd.sim._bench import load_bench
from answerd.sim.cli import build_parser, build_profile, main

PATIENCE = 10.0

BENCH = """
[[line]]
link = "ttyANSWER"
number = "881"
profile = "rockwell"
timings = { ring_interval_s = 0.4, answer_delay_s = 0.05 }

[[line]]
link = "ttyCALLER"
number = "882"
profile = "usr"
timings = { ring_interval_s = 0.4, answer_delay_s = 0.05 }
"""


class Port:
    """One computer's side: the pty opened through its link, raw."""

    def __init__(self, link: Path) -> None:
        self.fd = os.open(link, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd)
        self.seen = b""

    def send(self, data: bytes) -> None:
        os.write(self.fd, data)

    def expect(self, needle: bytes) -> bytes:
        """Read until ``needle`` has arrived (after what earlier calls consumed); return what came."""
        deadline = time.monotonic() + PATIENCE
        while needle not in self.seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {needle!r}; got {self.seen!r}"
            if select.select([self.fd], [], [], remaining)[0]:
                self.seen += os.read(self.fd, 4096)
        head, _, self.seen = self.seen.partition(needle)
        return head + needle

    def hang_up(self) -> None:
        """Drop DTR the POSIX way: output speed B0."""
        attrs = termios.tcgetattr(self.fd)
        attrs[4] = attrs[5] = termios.B0
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    def close(self) -> None:
        os.close(self.fd)


@pytest.fixture(name="bench")
def _bench(tmp_path: Path) -> Iterator[tuple[Port, Port]]:
    """``answerd sim --bench`` running with two lines; the two computers' ports, answering side first."""
    (tmp_path / "bench.toml").write_text(BENCH)
    proc = subprocess.Popen(
        [sys.executable, "-m", "answerd", "sim", "--bench", str(tmp_path / "bench.toml")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        assert ready == f"answerd-sim: ready bench 881={tmp_path}/ttyANSWER 882={tmp_path}/ttyCALLER\n"
        ports = Port(tmp_path / "ttyANSWER"), Port(tmp_path / "ttyCALLER")
        yield ports
        for port in ports:
            port.close()
    finally:
        proc.terminate()
        assert proc.wait(PATIENCE) == 0


def connect(answer: Port, caller: Port) -> None:
    """Caller ID on, ATDT881 from the caller, RING and caller ID on the answering side, ATA, CONNECT on both."""
    answer.send(b"ATE0+VCID=1\r")
    answer.expect(b"OK\r\n")
    caller.send(b"ATDT881\r")
    answer.expect(b"RING\r\n")
    answer.expect(b"NMBR = 882\r\n")
    answer.send(b"ATA\r")
    answer.expect(b"CONNECT")
    caller.expect(b"CONNECT")


def test_a_dialled_call_rings_connects_and_carries_data_both_ways(bench: tuple[Port, Port]) -> None:
    """Over real ptys: ATDT rings the other line with the caller's number, ATA connects both, data crosses."""
    answer, caller = bench
    connect(answer, caller)
    answer.send(b"login: ")
    caller.expect(b"login: ")
    caller.send(b"guest\r")
    answer.expect(b"guest\r")


def test_dtr_drop_on_the_caller_gives_the_answering_side_no_carrier(bench: tuple[Port, Port]) -> None:
    """The calling computer drops DTR (B0): its modem hangs up and the answering side reads NO CARRIER."""
    answer, caller = bench
    connect(answer, caller)
    caller.hang_up()
    answer.expect(b"\r\nNO CARRIER\r\n")


def test_bench_file_errors_name_the_toml_path(tmp_path: Path) -> None:
    """A bad bench file is one error naming the line and key (here a profile no one ships)."""
    path = tmp_path / "bench.toml"
    path.write_text('[[line]]\nlink = "a"\nnumber = "1"\nprofile = "nosuchmodem"\n')
    with pytest.raises(ProfileError, match=r"line\[0\]\.profile: no shipped profile 'nosuchmodem'"):
        load_bench(path)


def test_bench_refuses_single_modem_flags(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """--bench with --link is a usage error (exit 2): the bench file describes every modem."""
    assert 2 == main(["--bench", str(tmp_path / "b.toml"), "--link", str(tmp_path / "x")])
    assert "--bench describes every modem; drop --link" in capsys.readouterr().err


def test_bench_line_changes_the_profiles_timings(tmp_path: Path) -> None:
    """A line's timings table replaces those keys of its profile's [timings], checked like the profile's."""
    path = tmp_path / "bench.toml"
    path.write_text('[[line]]\nlink = "a"\nnumber = "1"\nprofile = "huawei"\ntimings = { answer_delay_s = 0.2 }\n')
    timings = load_bench(path)[0].profile.timings
    assert (0.2, 5.0) == (timings.answer_delay_s, timings.ring_interval_s)
    path.write_text('[[line]]\nlink = "a"\nnumber = "1"\ntimings = { ring_interval_s = -1 }\n')
    with pytest.raises(ProfileError, match=r"line\[0\]\.timings\.ring_interval_s: must be"):
        load_bench(path)


def test_profile_flag_takes_a_shipped_personalitys_name() -> None:
    """--profile usr runs the shipped usr personality (no path needed)."""
    args = build_parser().parse_args(["--profile", "usr"])
    assert "usr" == build_profile(args, time.localtime()).name


def test_help_describes_the_bench_file(capsys: pytest.CaptureFixture[str]) -> None:
    """answerd sim --help documents --bench and its [[line]] keys, and lists the shipped profiles."""
    assert 0 == main(["--help"])
    out = capsys.readouterr().out
    assert "[[line]]" in out
    assert 'A line may say serve = "/dev/ttyGS0" instead of link' in out
    assert "shipped profiles: agere, default, generic, huawei, multitech, rockwell, usr, xecom" in out


class ServedTty(Port):
    """The computer's end of a tty the bench serves: a pty master, which reads EIO while the sim has the slave
    closed (what a gadget's host side sees as DCD low and a hang-up)."""

    def __init__(self, master: int) -> None:
        self.fd, self.seen, self.closed_seen = master, b"", False

    def expect(self, needle: bytes) -> bytes:
        deadline = time.monotonic() + PATIENCE
        while needle not in self.seen:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {needle!r}; got {self.seen!r}"
            if select.select([self.fd], [], [], remaining)[0]:
                try:
                    self.seen += os.read(self.fd, 4096)
                except OSError:  # EIO: nobody holds the slave open; the sim reopens it shortly
                    self.closed_seen = True
                    select.select([], [], [], 0.05)
        head, _, self.seen = self.seen.partition(needle)
        return head + needle


def test_a_line_serves_an_existing_tty_and_carrier_loss_closes_it(tmp_path: Path) -> None:
    """``serve = TTY`` puts one side of the bench on an existing tty (a pty slave stands in for ttyGS0 here):
    the caller's ATDT rings it, ATA connects both, and the caller's hang-up closes the served tty (DCD falls
    on a gadget), after which the modem tells the computer NO CARRIER."""
    master, slave = os.openpty()
    served = os.ttyname(slave)
    os.close(slave)
    (tmp_path / "bench.toml").write_text(
        BENCH.replace('link = "ttyANSWER"', f'serve = "{served}"').replace(", answer_delay_s = 0.05", "")
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "answerd", "sim", "--bench", str(tmp_path / "bench.toml")],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == f"answerd-sim: ready bench 881={served} 882={tmp_path}/ttyCALLER\n"
        answer, caller = ServedTty(master), Port(tmp_path / "ttyCALLER")
        connect(answer, caller)
        caller.hang_up()
        answer.expect(b"\r\nNO CARRIER\r\n")
        assert answer.closed_seen, "the served tty was never closed (no EIO on its master) at the carrier loss"
        caller.close()
    finally:
        proc.terminate()
        assert proc.wait(PATIENCE) == 0
        os.close(master)


def test_a_line_needs_either_a_link_or_a_served_tty(tmp_path: Path) -> None:
    """A [[line]] with both link and serve (or neither) is refused, naming the line."""
    path = tmp_path / "bench.toml"
    path.write_text('[[line]]\nlink = "a"\nserve = "/dev/ttyGS0"\nnumber = "1"\n')
    with pytest.raises(ProfileError, match=r"line\[0\]: needs exactly one of link"):
        load_bench(path)
    path.write_text('[[line]]\nserve = "/dev/ttyGS0"\nnumber = "1"\n')
    assert load_bench(path)[0].serve
