"""The modem-text relay on real pty pairs (issue 12.9): bytes both ways, termios, the end of the session.

One pty pair stands for the modem port (the test holds its master: "the modem"), the relay's own pair is
the program's tty (the test holds its slave: "the program"). Time for the end-of-session detector is the
manual clock; bytes move on the real event loop.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import struct
import sys
import termios
import tty
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import structlog

from answerd.call.relay import HIGH_WATER, PROGRAM_HANGUP_DETAIL, WIRE_POLL_S, Relay, open_pty_pair
from answerd.call.runner import CallEnd, CallRunner
from answerd.call.stage import CallLine
from answerd.config.settings import PortSettings
from answerd.core import ModemTextCarrier, Outcome
from answerd.service.notify import NullNotifier

from .helpers import make_program, ran, wait_until_async
from .simline import ManualClock, settle
from .test_call_carrier import ANSWERED, Lines
from .test_call_carrier import Log as CarrierLog
from .test_call_carrier import Port as CarrierPort

NO_CARRIER = b"\r\nNO CARRIER\r\n"


class FdPort:
    """The modem port as the relay sees it, over a pty slave: writes go straight to the fd."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.paused = False

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def write_buffer_size(self) -> int:
        return 0

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    async def drain(self, timeout_s: float = 5.0) -> None:
        return None

    def discard_output(self) -> None:
        termios.tcflush(self.fd, termios.TCOFLUSH)


@dataclass
class HoldingPort:
    """A modem port whose modem takes nothing yet: every write stays queued in "answerd" (``held``)."""

    fd: int
    held: bytearray = field(default_factory=bytearray)
    discards: int = 0

    def write(self, data: bytes) -> None:
        self.held += data

    def write_buffer_size(self) -> int:
        return len(self.held)

    def pause_reading(self) -> None:
        """Not needed: nothing is read from this port."""

    def resume_reading(self) -> None:
        """Not needed."""

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Nothing would leave."""

    def discard_output(self) -> None:
        self.discards += 1
        self.held.clear()
        termios.tcflush(self.fd, termios.TCOFLUSH)


@dataclass
class Rig:
    clock: ManualClock
    line: CallLine
    relay: Relay
    modem: int  # the far side of the modem port: what the modem receives, and where it writes
    program: int  # the program's tty (the relay's pty slave)
    port: FdPort | HoldingPort

    def read_modem(self) -> bytes:
        return _read_all(self.modem)

    def read_program(self) -> bytes:
        return _read_all(self.program)


def _read_all(fd: int) -> bytes:
    out = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except (BlockingIOError, OSError):
            return out
        if not chunk:
            return out
        out += chunk


@asynccontextmanager
async def rig(quiet_s: float = 1.0, *, holding: bool = False, modem_packets: bool = False) -> AsyncIterator[Rig]:
    """A started relay between a modem pty and a program pty; everything closed at the end.

    Args:
        holding: the modem takes nothing (:class:`HoldingPort`): what the relay sends stays in answerd.
        modem_packets: the modem's side of the port in packet mode: it sees the port's output stopped/started.
    """
    modem, port_fd = os.openpty()
    tty.setraw(port_fd)
    os.set_blocking(modem, False)
    if modem_packets:
        fcntl.ioctl(modem, termios.TIOCPKT, struct.pack("i", 1))
    master, slave = open_pty_pair(port_fd)
    os.set_blocking(slave, False)
    clock, line = ManualClock(0.0), CallLine()
    port: FdPort | HoldingPort = HoldingPort(port_fd) if holding else FdPort(port_fd)
    relay = Relay(
        port, line, master=master, clock=clock, log=structlog.get_logger("test"),
        carrier=ModemTextCarrier(quiet_s=quiet_s), line_rate=115200,
    )  # fmt: skip
    relay.start()
    bench = Rig(clock, line, relay, modem, slave, port)
    try:
        yield bench
    finally:
        relay.close()
        for fd in (modem, port_fd, bench.program):
            if fd >= 0:
                os.close(fd)


async def collect(read: Callable[[], bytes], size: int, what: str) -> bytes:
    """Read until ``size`` bytes have come (a deadline, not a sleep)."""
    got = bytearray()

    def enough() -> bool:
        got.extend(read())
        return len(got) >= size

    await wait_until_async(enough, what=what)
    return bytes(got)


def test_every_byte_value_goes_both_ways_unchanged() -> None:
    """All 256 byte values from the modem reach the program, and back, exactly (the program's tty is raw)."""

    async def scenario() -> None:
        async with rig() as r:
            data = bytes(range(256)) * 4
            r.line.receive(data)
            assert data == await collect(r.read_program, len(data), "the modem's bytes at the program")
            os.write(r.program, data)
            assert data == await collect(r.read_modem, len(data), "the program's bytes at the modem")

    asyncio.run(scenario())


def test_no_carrier_followed_by_silence_ends_the_session() -> None:
    """The modem's framed NO CARRIER, then quiet_s of silence: the line is dropped as a carrier loss, saying why;
    the text itself still reached the program."""

    async def scenario() -> None:
        async with rig(quiet_s=1.0) as r:
            r.line.receive(b"bye" + NO_CARRIER)
            await r.clock.advance(0.9)
            assert not r.line.lost.is_set()
            await r.clock.advance(0.1)
            assert (Outcome.CARRIER_LOST, "modem said NO CARRIER") == (r.line.lost_outcome, r.line.lost_detail)
            assert b"bye" + NO_CARRIER == await collect(r.read_program, 17, "the text at the program")

    asyncio.run(scenario())


def test_no_carrier_inside_a_data_stream_ends_nothing() -> None:
    """The same frame followed by more data within quiet_s (PPP with asyncmap 0, a text about modems) goes on."""

    async def scenario() -> None:
        async with rig(quiet_s=1.0) as r:
            r.line.receive(NO_CARRIER)
            await r.clock.advance(0.5)
            r.line.receive(b"more data")
            await r.clock.advance(5.0)
            assert not r.line.lost.is_set()

    asyncio.run(scenario())


def test_the_programs_speed_and_flow_control_reach_the_modem_port() -> None:
    """The program sets 9600 bit/s and RTS/CTS on its tty: the modem port follows (speed, CRTSCTS)."""

    async def scenario() -> None:
        async with rig() as r:
            attrs = termios.tcgetattr(r.program)
            attrs[4] = attrs[5] = termios.B9600
            attrs[2] |= termios.CRTSCTS
            termios.tcsetattr(r.program, termios.TCSANOW, attrs)
            os.write(r.program, b"x")  # the relay looks at the wire settings with every packet
            await collect(r.read_modem, 1, "the byte at the modem")
            port = termios.tcgetattr(r.port.fd)
            assert (termios.B9600, termios.CRTSCTS) == (port[5], port[2] & termios.CRTSCTS)

    asyncio.run(scenario())


def test_the_programs_last_output_is_read_to_the_end_after_it_closed_its_tty() -> None:
    """The program writes 20 kB and closes its tty: finish() relays all of it, then gives the line its time."""

    async def scenario() -> None:
        async with rig() as r:
            data = bytes(i % 251 for i in range(20_000))
            writer = asyncio.get_running_loop().run_in_executor(None, _write_blocking, r.program, data)
            received = bytearray()
            # The modem side is read in a thread: the relay's writes to the (blocking) port wait for it.
            reader = asyncio.get_running_loop().run_in_executor(None, _read_blocking, r.modem, received, len(data))
            await writer
            os.close(r.program)
            r.program = -1
            finish = asyncio.get_running_loop().create_task(r.relay.finish(5.0))
            await wait_until_async(r.relay.program_gone.is_set, what="EIO on the master")
            await settle()
            assert not finish.done()  # it waits for the line to send what the modem holds
            await r.clock.advance(5.0)  # the line's time for the last bytes (1.7 s at 115200, jumped)
            await finish
            await reader
            assert data == bytes(received)

    asyncio.run(scenario())


def _write_blocking(fd: int, data: bytes) -> None:
    os.set_blocking(fd, True)
    os.write(fd, data)


def _read_blocking(fd: int, into: bytearray, size: int) -> None:
    os.set_blocking(fd, True)
    while len(into) < size:
        into.extend(os.read(fd, 65536))


@dataclass
class RelayedPort(CarrierPort):
    """The call's port stand-in on a real pty (the relay needs its fd for the program's pty settings)."""

    fd: int = -1

    def write_buffer_size(self) -> int:
        return 0

    def resume_reading(self) -> None:
        self.modes.append("resumed")

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Nothing is queued."""


def test_a_modem_text_call_ignores_dcd(tmp_path: Path) -> None:
    """carrier = "modem-text" on a line whose DCD reads low all the time (not wired): CLOCAL is left set, DCD is
    neither polled nor read before the program, the port is not handed to the program, and the call is answered."""
    program = make_program(tmp_path, "direct", say=False)
    master, slave = os.openpty()
    settings = PortSettings(device=os.ttyname(slave), mode="direct", direct_program=[str(program)], settle_ms=0,
                            carrier="modem-text")  # fmt: skip
    lines = Lines(False)
    port = RelayedPort(lines, fd=slave)

    async def main() -> CallEnd:
        runner = CallRunner(
            port_name="ttyTEST", device=os.ttyname(slave), settings=settings, port=port,  # type: ignore[arg-type]
            answered=ANSWERED, line=CallLine(), notifier=NullNotifier(), log=CarrierLog(),  # type: ignore[arg-type]
        )  # fmt: skip
        return await runner.run()

    try:
        end = asyncio.run(main())
    finally:
        os.close(slave)
        os.close(master)
    assert (Outcome.ANSWERED, True) == (end.outcome, ran(program))
    assert (0, []) == (lines.count, [mode for mode in port.modes if mode in ("carrier_sensitive=True", "paused")])


# ------------------------------------------------------------------ the program's flushes, flow stops and hang-up

#: Starts every program below: its tty (a fresh open of the relay's pty slave) as its controlling terminal.
PROGRAM_PRELUDE = """
import fcntl, os, signal, sys, termios
fcntl.ioctl(0, termios.TIOCSCTTY, 0)
"""


async def run_program(r: Rig, body: str, *pass_fds: int) -> asyncio.subprocess.Process:
    """A real program (python) on the program's tty, with its own open of it (blocking, unlike the test's)."""
    tty_fd = os.open(os.ttyname(r.program), os.O_RDWR | os.O_NOCTTY)
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-c", PROGRAM_PRELUDE + body, stdin=tty_fd, stdout=tty_fd, stderr=tty_fd,
            start_new_session=True, pass_fds=pass_fds,
        )  # fmt: skip
    finally:
        os.close(tty_fd)


async def ended(process: asyncio.subprocess.Process) -> None:
    if process.returncode is None:
        process.kill()
    await process.wait()


async def wait_advancing(r: Rig, predicate: Callable[[], bool], what: str) -> None:
    """Wait for ``predicate``, moving the manual clock on meanwhile (the relay's polls run on it)."""

    async def step() -> bool:
        await r.clock.advance(0.01)
        return predicate()

    for _ in range(500):
        if await step():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_programs_output_flush_drops_what_answerd_holds_for_the_modem() -> None:
    """tcflush(TCOFLUSH) by the program: the 8000 bytes answerd still holds for a modem that has not taken them
    are dropped (and the port's queue flushed); what the program writes after the flush is relayed."""

    async def scenario() -> None:
        async with rig(holding=True) as r:
            assert isinstance(r.port, HoldingPort)
            body = """
os.write(1, b"x" * 8000)
os.read(0, 1)
termios.tcflush(1, termios.TCOFLUSH)
os.write(1, b"after")
os.read(0, 1)
"""
            program = await run_program(r, body)
            try:
                await wait_until_async(lambda: len(r.port.held) == 8000, what="the output held for the modem")
                r.line.receive(b"g")
                await wait_until_async(lambda: r.port.held.endswith(b"after"), what="the output after the flush")
                assert (b"after", 1) == (bytes(r.port.held), r.port.discards)
            finally:
                await ended(program)

    asyncio.run(scenario())


def test_a_callers_interrupt_flushes_output_held_back_by_a_slow_modem() -> None:
    """^C from the caller while the program floods a modem that takes nothing (the relay no longer reads the
    program: back-pressure): the line discipline flushes the program's output, and the relay, told by the
    master's POLLPRI, drops what it holds too; the program's answer to SIGINT then reaches the modem."""

    async def scenario() -> None:
        async with rig(holding=True) as r:
            assert isinstance(r.port, HoldingPort)
            body = """
attrs = termios.tcgetattr(0)
attrs[3] |= termios.ISIG
termios.tcsetattr(0, termios.TCSANOW, attrs)

def interrupted(*_):
    os.write(1, b"INTERRUPTED")
    os._exit(0)

signal.signal(signal.SIGINT, interrupted)
while True:
    os.write(1, b"x" * 4096)
"""
            program = await run_program(r, body)
            try:
                await wait_until_async(lambda: len(r.port.held) > HIGH_WATER, what="the relay held back")
                r.line.receive(b"\x03")
                await wait_advancing(r, lambda: r.port.held.endswith(b"INTERRUPTED"), "the program's answer")
                assert r.port.discards >= 1
                assert len(r.port.held) < HIGH_WATER  # not the flood from before the interrupt
            finally:
                await ended(program)

    asyncio.run(scenario())


def test_the_programs_input_flush_drops_what_answerd_holds_for_it() -> None:
    """tcflush(TCIFLUSH) by a program that has not read 100 kB from the caller: the part answerd holds (the pty
    takes only about 20 kB) is dropped too, and only what comes after the flush is read."""

    async def scenario() -> None:
        go_read, go_write = os.pipe()
        async with rig() as r:
            assert isinstance(r.port, FdPort)
            body = f"""
os.read({go_read}, 1)
termios.tcflush(0, termios.TCIFLUSH)
os.write(1, b"FLUSHED")
got = b""
while not got.endswith(b"END"):
    got += os.read(0, 65536)
os.write(1, b"%d;" % len(got))
"""
            program = await run_program(r, body, go_read)
            try:
                r.line.receive(b"a" * 100_000)
                await wait_until_async(lambda: r.port.paused, what="the modem held back: the program reads nothing")
                with structlog.testing.capture_logs() as captured:
                    os.write(go_write, b"g")
                    await collect(r.read_modem, len(b"FLUSHED"), "the program's flush")
                r.line.receive(b"END")
                answer = await collect(r.read_modem, len(b"3;"), "what the program read")
                flushed = [e for e in captured if e["event"] == "call.relay_flushed" and e["toward"] == "program"]
                assert [True] == [e["dropped"] > HIGH_WATER for e in flushed]
                assert int(answer.rstrip(b";")) < 50_000  # not the ~80 kB answerd held at the flush
                assert not r.port.paused
            finally:
                await ended(program)
                os.close(go_read)
                os.close(go_write)

    asyncio.run(scenario())


def test_the_programs_output_stop_and_start_reach_the_modem_port() -> None:
    """tcflow(TCOOFF) / (TCOON) by the program (as ^S / ^Q with IXON would): the modem port's output is stopped
    and started too (the modem's side, in packet mode, sees both); closing the relay never leaves it stopped."""

    async def scenario() -> None:
        async with rig(modem_packets=True) as r:
            body = """
termios.tcflow(1, termios.TCOOFF)
os.read(0, 1)
termios.tcflow(1, termios.TCOON)
os.read(0, 1)
termios.tcflow(1, termios.TCOOFF)
os.read(0, 1)
"""
            program = await run_program(r, body)
            try:
                stop, start = bytes([termios.TIOCPKT_STOP]), bytes([termios.TIOCPKT_START])
                assert stop == await collect(r.read_modem, 1, "the port's output stopped")
                r.line.receive(b"g")
                assert start == await collect(r.read_modem, 1, "the port's output started")
                r.line.receive(b"g")
                assert stop == await collect(r.read_modem, 1, "the port's output stopped again")
                r.relay.close()
                assert start == await collect(r.read_modem, 1, "the port's output started at the close")
            finally:
                await ended(program)

    asyncio.run(scenario())


def test_speed_b0_on_the_programs_tty_hangs_the_call_up_once() -> None:
    """The program says bye, sets B0 (a hang-up) and waits: within one WIRE_POLL_S the line is dropped as the
    program's hang-up (answered, saying so), logged once however long it waits; the modem port keeps its speed."""

    async def scenario() -> None:
        async with rig() as r:
            speed = termios.tcgetattr(r.port.fd)[5]
            body = """
os.write(1, b"bye")
attrs = termios.tcgetattr(0)
attrs[4] = attrs[5] = termios.B0
termios.tcsetattr(0, termios.TCSANOW, attrs)
os.read(0, 1)
"""
            with structlog.testing.capture_logs() as captured:  # from the start: B0 may be seen with "bye"
                program = await run_program(r, body)
            try:
                with structlog.testing.capture_logs() as more:
                    assert b"bye" == await collect(r.read_modem, 3, "the program's last words")
                    await wait_advancing(r, r.line.lost.is_set, "the hang-up")
                    await r.clock.advance(WIRE_POLL_S * 10)
                captured += more
                assert (Outcome.ANSWERED, PROGRAM_HANGUP_DETAIL) == (r.line.lost_outcome, r.line.lost_detail)
                assert 1 == [e["event"] for e in captured].count("call.program_hangup")
                assert speed == termios.tcgetattr(r.port.fd)[5]
            finally:
                await ended(program)

    asyncio.run(scenario())
