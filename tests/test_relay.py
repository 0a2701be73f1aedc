"""The modem-text relay on real pty pairs (issue 12.9): bytes both ways, termios, the end of the session.

One pty pair stands for the modem port (the test holds its master: "the modem"), the relay's own pair is
the program's tty (the test holds its slave: "the program"). Time for the end-of-session detector is the
manual clock; bytes move on the real event loop.
"""

from __future__ import annotations

import asyncio
import os
import termios
import tty
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import structlog

from answerd.call.relay import Relay, open_pty_pair
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


@dataclass
class Rig:
    clock: ManualClock
    line: CallLine
    relay: Relay
    modem: int  # the far side of the modem port: what the modem receives, and where it writes
    program: int  # the program's tty (the relay's pty slave)
    port: FdPort

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
async def rig(quiet_s: float = 1.0) -> AsyncIterator[Rig]:
    """A started relay between a modem pty and a program pty; everything closed at the end."""
    modem, port_fd = os.openpty()
    tty.setraw(port_fd)
    os.set_blocking(modem, False)
    master, slave = open_pty_pair(port_fd)
    os.set_blocking(slave, False)
    clock, line, port = ManualClock(0.0), CallLine(), FdPort(port_fd)
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
