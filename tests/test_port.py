"""The serial port on a real pty: termios setup, modem-line fallbacks, fresh opens, data, hang-up and close.

A pty has no modem control lines, so :class:`TiocmLines` is checked against a fake ``ioctl``; everything else
runs on ``os.openpty()``, whose master side reads the slave's termios (what the simulated modem watches).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import select
import struct
import termios
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from answerd.line.port import LineSettings, ModemControl, NoLines, PortOpenError, SerialPort, TiocmLines

IFLAG, OFLAG, CFLAG, LFLAG, ISPEED, OSPEED = range(6)
DEADLINE_S = 2.0


@dataclass
class Pty:
    """A pty pair: the master fd (the "modem" side) and a symlink to the slave in tmp_path."""

    master: int
    path: Path
    slave_name: str

    def attrs(self) -> list[Any]:
        """The slave's termios, read through the master."""
        return termios.tcgetattr(self.master)

    def close_master(self) -> None:
        """Close the master side (the line goes away)."""
        if self.master >= 0:
            os.close(self.master)
            self.master = -1


@dataclass
class Recorder:
    """Collects the port's callbacks; ``got_data``/``got_lost`` wake waiters."""

    data: bytearray = field(default_factory=bytearray)
    lost: list[Exception | None] = field(default_factory=list)
    fallbacks: list[str] = field(default_factory=list)

    def on_data(self, chunk: bytes) -> None:
        """Record received bytes."""
        self.data += chunk

    def on_lost(self, exc: Exception | None) -> None:
        """Record a hang-up."""
        self.lost.append(exc)

    def on_fallback(self, reason: str) -> None:
        """Record a modem-control fallback."""
        self.fallbacks.append(reason)


def make_pty(tmp_path: Path, name: str) -> Pty:
    """A new pty whose slave is reached through ``tmp_path/name``."""
    master, slave = os.openpty()
    slave_name = os.ttyname(slave)
    os.close(slave)  # the port opens it by path, as answerd does
    link = tmp_path / name
    link.symlink_to(slave_name)
    return Pty(master, link, slave_name)


@pytest.fixture(name="pty")
def _pty(tmp_path: Path) -> Iterator[Pty]:
    pty = make_pty(tmp_path, "ttyTEST0")
    yield pty
    pty.close_master()


@pytest.fixture(name="rec")
def _rec() -> Recorder:
    return Recorder()


async def open_port(pty: Pty, rec: Recorder, **settings: object) -> SerialPort:
    """Open the pty's slave through its symlink, with ``settings`` over the defaults."""
    line = LineSettings(path=str(pty.path), **settings)  # type: ignore[arg-type]
    return await SerialPort.open(line, on_data=rec.on_data, on_lost=rec.on_lost, on_fallback=rec.on_fallback)


def with_port(pty: Pty, rec: Recorder, body: Callable[[SerialPort], object], **settings: object) -> None:
    """Open a port, run ``body`` (sync or async) on it, close it; all in one event loop."""

    async def main() -> None:
        port = await open_port(pty, rec, **settings)
        try:
            result = body(port)
            if asyncio.iscoroutine(result):
                await result
        finally:
            await port.close()

    asyncio.run(main())


async def wait_until(predicate: Callable[[], bool], timeout_s: float = DEADLINE_S) -> None:
    """Let the loop run until ``predicate()`` holds; fail after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.005)


def read_master(master: int, size: int, timeout_s: float = DEADLINE_S) -> bytes:
    """Read from the master until ``size`` bytes arrived or ``timeout_s`` passed."""
    out = b""
    deadline = time.monotonic() + timeout_s
    while len(out) < size:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        ready, _, _ = select.select([master], [], [], remaining)
        if not ready:
            break
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


async def read_master_async(master: int, size: int) -> bytes:
    """:func:`read_master` without blocking the event loop."""
    return await asyncio.get_running_loop().run_in_executor(None, read_master, master, size)


class TestOpenTermios:
    """What ``SerialPort.open`` sets on the line."""

    @pytest.mark.parametrize(
        ("flag_index", "flag", "name"),
        [
            (LFLAG, termios.ICANON, "ICANON"),
            (LFLAG, termios.ECHO, "ECHO"),
            (LFLAG, termios.ISIG, "ISIG"),
            (OFLAG, termios.OPOST, "OPOST"),
            (IFLAG, termios.ICRNL, "ICRNL"),
            (IFLAG, termios.IXON, "IXON"),
        ],
    )
    def test_line_is_raw(self, pty: Pty, rec: Recorder, flag_index: int, flag: int, name: str) -> None:
        """The open line has no cooked-mode flag: no line editing, echo, output processing or CR mapping."""
        with_port(pty, rec, lambda _port: None)
        assert 0 == pty.attrs()[flag_index] & flag, name

    @pytest.mark.parametrize(
        ("flag", "name"),
        [(termios.CREAD, "CREAD"), (termios.HUPCL, "HUPCL"), (termios.CLOCAL, "CLOCAL")],
    )
    def test_control_flag_set(self, pty: Pty, rec: Recorder, flag: int, name: str) -> None:
        """CREAD, HUPCL and CLOCAL (idle: ignore DCD) are set."""
        with_port(pty, rec, lambda _port: None)
        assert flag == pty.attrs()[CFLAG] & flag, name

    def test_eight_bits_no_parity_one_stop(self, pty: Pty, rec: Recorder) -> None:
        """The character format is 8N1."""
        with_port(pty, rec, lambda _port: None)
        cflag = pty.attrs()[CFLAG]
        assert (termios.CS8, 0, 0) == (cflag & termios.CSIZE, cflag & termios.PARENB, cflag & termios.CSTOPB)

    @pytest.mark.parametrize(("speed", "code"), [(9600, termios.B9600), (115200, termios.B115200)])
    def test_speed(self, pty: Pty, rec: Recorder, speed: int, code: int) -> None:
        """Input and output speed are the configured one."""
        with_port(pty, rec, lambda _port: None, speed=speed)
        attrs = pty.attrs()
        assert (code, code) == (attrs[ISPEED], attrs[OSPEED])

    def test_rtscts_on(self, pty: Pty, rec: Recorder) -> None:
        """rtscts=True sets CRTSCTS."""
        with_port(pty, rec, lambda _port: None, rtscts=True)
        assert termios.CRTSCTS == pty.attrs()[CFLAG] & termios.CRTSCTS

    def test_rtscts_off(self, pty: Pty, rec: Recorder) -> None:
        """rtscts=False clears CRTSCTS."""
        with_port(pty, rec, lambda _port: None, rtscts=False)
        assert 0 == pty.attrs()[CFLAG] & termios.CRTSCTS


class TestModemControl:
    """Choosing the modem-control lines on a pty, which has none."""

    def test_auto_falls_back_to_no_lines(self, pty: Pty, rec: Recorder) -> None:
        """``auto`` on a pty uses NoLines."""
        kinds: list[str] = []
        with_port(pty, rec, lambda port: kinds.append(port.lines.kind), modem_control=ModemControl.AUTO)
        assert ["none"] == kinds

    def test_auto_reports_fallback_once_with_reason(self, pty: Pty, rec: Recorder) -> None:
        """``auto`` on a pty calls on_fallback exactly once, with a non-empty reason."""
        with_port(pty, rec, lambda _port: None, modem_control=ModemControl.AUTO)
        assert 1 == len(rec.fallbacks)
        assert rec.fallbacks[0].strip()

    def test_none_does_not_report_fallback(self, pty: Pty, rec: Recorder) -> None:
        """``none`` asked for explicitly is not a fallback."""
        with_port(pty, rec, lambda _port: None, modem_control=ModemControl.NONE)
        assert [] == rec.fallbacks

    def test_tiocm_on_pty_refused(self, pty: Pty, rec: Recorder) -> None:
        """``tiocm`` on a pty raises PortOpenError (ENOTTY)."""
        with pytest.raises(PortOpenError) as info:
            asyncio.run(open_port(pty, rec, modem_control=ModemControl.TIOCM))
        assert errno.ENOTTY == info.value.errno

    def test_tiocm_refusal_releases_device(self, pty: Pty, rec: Recorder) -> None:
        """After a refused ``tiocm`` open the device is closed again: a second open succeeds."""
        with pytest.raises(PortOpenError):
            asyncio.run(open_port(pty, rec, modem_control=ModemControl.TIOCM))
        kinds: list[str] = []
        with_port(pty, rec, lambda port: kinds.append(port.lines.kind))
        assert ["none"] == kinds

    def test_no_lines_dtr_low_is_speed_b0(self, pty: Pty, rec: Recorder) -> None:
        """NoLines.set_dtr(False) sets input and output speed to B0, visible on the master."""
        with_port(pty, rec, lambda port: port.lines.set_dtr(False), modem_control=ModemControl.NONE)
        attrs = pty.attrs()
        assert (termios.B0, termios.B0) == (attrs[ISPEED], attrs[OSPEED])

    def test_no_lines_dtr_high_restores_speed(self, pty: Pty, rec: Recorder) -> None:
        """NoLines.set_dtr(True) after a drop restores the configured speed."""

        def body(port: SerialPort) -> None:
            port.lines.set_dtr(False)
            port.lines.set_dtr(True)

        with_port(pty, rec, body, speed=19200, modem_control=ModemControl.NONE)
        attrs = pty.attrs()
        assert (termios.B19200, termios.B19200) == (attrs[ISPEED], attrs[OSPEED])

    def test_no_lines_carrier_unknown(self, pty: Pty, rec: Recorder) -> None:
        """NoLines has no DCD to read: carrier() is None."""
        carriers: list[bool | None] = []
        with_port(pty, rec, lambda port: carriers.append(port.lines.carrier()))
        assert [None] == carriers

    def test_tiocm_not_supported_on_pty(self, pty: Pty) -> None:
        """TiocmLines.supported() is False for a pty slave."""
        fd = os.open(pty.slave_name, os.O_RDWR | os.O_NOCTTY)
        try:
            assert TiocmLines.supported(fd) is False
        finally:
            os.close(fd)

    def test_no_lines_on_a_vanished_device_raise_oserror(self, pty: Pty) -> None:
        """Issue 10.9: "DTR" on a tty whose device is gone fails with OSError (callers handle it), not termios.error."""
        fd = os.open(pty.slave_name, os.O_RDWR | os.O_NOCTTY)
        try:
            pty.close_master()  # the device vanishes under the open fd
            with pytest.raises(OSError) as raised:
                NoLines(fd, 2400).set_dtr(False)
            assert errno.EIO == raised.value.errno
        finally:
            os.close(fd)

    def test_no_lines_directly_on_fd(self, pty: Pty) -> None:
        """NoLines works on a bare fd too: B0, then the given speed back."""
        fd = os.open(pty.slave_name, os.O_RDWR | os.O_NOCTTY)
        try:
            lines = NoLines(fd, 2400)
            lines.set_dtr(False)
            dropped = pty.attrs()[OSPEED]
            lines.set_dtr(True)
            assert (termios.B0, termios.B2400) == (dropped, pty.attrs()[OSPEED])
        finally:
            os.close(fd)


@dataclass
class FakeIoctl:
    """Stands in for ``fcntl.ioctl``: records calls, answers TIOCMGET with ``bits`` or raises ``error``."""

    bits: int = 0
    error: int | None = None
    calls: list[tuple[int, int, int]] = field(default_factory=list)

    def __call__(self, fd: int, request: int, arg: bytes) -> bytes:
        """Record the call; return the modem bits for TIOCMGET."""
        self.calls.append((fd, request, struct.unpack("I", arg)[0]))
        if self.error is not None:
            raise OSError(self.error, os.strerror(self.error))
        if request == termios.TIOCMGET:
            return struct.pack("I", self.bits)
        return arg


@pytest.fixture(name="ioctl")
def _ioctl() -> FakeIoctl:
    return FakeIoctl()


class TestTiocmLines:
    """The real modem-control lines, through an injected fake ioctl."""

    def test_dtr_high_sets_dtr_bit(self, ioctl: FakeIoctl) -> None:
        """set_dtr(True) is TIOCMBIS with exactly the DTR bit."""
        TiocmLines(7, ioctl=ioctl).set_dtr(True)
        assert [(7, termios.TIOCMBIS, termios.TIOCM_DTR)] == ioctl.calls

    def test_dtr_low_clears_dtr_bit(self, ioctl: FakeIoctl) -> None:
        """set_dtr(False) is TIOCMBIC with exactly the DTR bit."""
        TiocmLines(7, ioctl=ioctl).set_dtr(False)
        assert [(7, termios.TIOCMBIC, termios.TIOCM_DTR)] == ioctl.calls

    def test_carrier_present(self, ioctl: FakeIoctl) -> None:
        """DCD set in TIOCMGET reads as carrier True."""
        ioctl.bits = termios.TIOCM_CAR | termios.TIOCM_DSR | termios.TIOCM_CTS
        assert TiocmLines(7, ioctl=ioctl).carrier() is True

    def test_carrier_absent(self, ioctl: FakeIoctl) -> None:
        """Other lines up but DCD clear reads as carrier False."""
        ioctl.bits = termios.TIOCM_DSR | termios.TIOCM_CTS | termios.TIOCM_DTR
        assert TiocmLines(7, ioctl=ioctl).carrier() is False

    def test_carrier_reads_with_tiocmget(self, ioctl: FakeIoctl) -> None:
        """carrier() asks the given fd with TIOCMGET."""
        TiocmLines(9, ioctl=ioctl).carrier()
        assert [(9, termios.TIOCMGET)] == [call[:2] for call in ioctl.calls]

    def test_eio_reads_as_no_carrier(self, ioctl: FakeIoctl) -> None:
        """EIO (the tty was hung up) reads as carrier False."""
        ioctl.error = errno.EIO
        assert TiocmLines(7, ioctl=ioctl).carrier() is False

    def test_other_error_propagates(self, ioctl: FakeIoctl) -> None:
        """An error other than EIO is not mistaken for a carrier state."""
        ioctl.error = errno.EBADF
        with pytest.raises(OSError) as info:
            TiocmLines(7, ioctl=ioctl).carrier()
        assert errno.EBADF == info.value.errno

    def test_supported_when_tiocmget_answers(self, ioctl: FakeIoctl) -> None:
        """supported() is True when TIOCMGET succeeds."""
        assert TiocmLines.supported(7, ioctl=ioctl) is True

    @pytest.mark.parametrize("err", [errno.ENOTTY, errno.EINVAL])
    def test_unsupported_when_refused(self, ioctl: FakeIoctl, err: int) -> None:
        """supported() is False when TIOCMGET is refused as not applicable."""
        ioctl.error = err
        assert TiocmLines.supported(7, ioctl=ioctl) is False


class TestOpenErrors:
    """Devices that cannot be opened, and the path resolved at every open."""

    def test_missing_path(self, tmp_path: Path, rec: Recorder) -> None:
        """A missing device raises PortOpenError with ENOENT."""
        line = LineSettings(path=str(tmp_path / "ttyMISSING"))
        with pytest.raises(PortOpenError) as info:
            asyncio.run(SerialPort.open(line, on_data=rec.on_data, on_lost=rec.on_lost))
        assert errno.ENOENT == info.value.errno

    def test_dangling_symlink(self, tmp_path: Path, rec: Recorder) -> None:
        """A symlink to a vanished device is reported as missing (ENOENT)."""
        link = tmp_path / "ttyGONE"
        link.symlink_to(tmp_path / "nothing")
        with pytest.raises(PortOpenError) as info:
            asyncio.run(SerialPort.open(LineSettings(path=str(link)), on_data=rec.on_data, on_lost=rec.on_lost))
        assert errno.ENOENT == info.value.errno

    def test_regular_file(self, tmp_path: Path, rec: Recorder) -> None:
        """A regular file is refused as not a character device."""
        plain = tmp_path / "ttyFILE"
        plain.write_text("not a tty\n")
        with pytest.raises(PortOpenError, match="not a character device"):
            asyncio.run(SerialPort.open(LineSettings(path=str(plain)), on_data=rec.on_data, on_lost=rec.on_lost))

    def test_nul_in_path(self, rec: Recorder) -> None:
        """A path with a NUL byte (possible in TOML) is a PortOpenError, not a ValueError."""
        with pytest.raises(PortOpenError):
            asyncio.run(SerialPort.open(LineSettings(path="/dev/null\0x"), on_data=rec.on_data, on_lost=rec.on_lost))

    def test_error_names_path(self, tmp_path: Path, rec: Recorder) -> None:
        """The error message and attribute carry the device path."""
        path = str(tmp_path / "ttyMISSING")
        with pytest.raises(PortOpenError) as info:
            asyncio.run(SerialPort.open(LineSettings(path=path), on_data=rec.on_data, on_lost=rec.on_lost))
        assert (path, True) == (info.value.path, path in str(info.value))

    def test_symlink_resolved_at_every_open(self, tmp_path: Path, pty: Pty, rec: Recorder) -> None:
        """After the symlink moves to another pty, the next open uses the new one."""
        other = make_pty(tmp_path, "ttyOTHER")
        try:
            with_port(pty, rec, lambda port: port.lines.set_dtr(False))
            pty.path.unlink()
            pty.path.symlink_to(other.slave_name)
            received: list[bytes] = []

            async def body(port: SerialPort) -> None:
                port.write(b"second")
                received.append(await read_master_async(other.master, 6))

            with_port(pty, rec, body, speed=4800)
            assert (termios.B0, termios.B4800, [b"second"]) == (
                pty.attrs()[OSPEED],
                other.attrs()[OSPEED],
                received,
            )
        finally:
            other.close_master()


class TestData:
    """Bytes both ways, hang-up and close."""

    def test_master_bytes_reach_on_data(self, pty: Pty, rec: Recorder) -> None:
        """Bytes written to the master arrive at on_data unchanged (raw: CR stays CR)."""

        async def body(_port: SerialPort) -> None:
            os.write(pty.master, b"RING\r\n\x00\xff")
            await wait_until(lambda: len(rec.data) >= 8)

        with_port(pty, rec, body)
        assert b"RING\r\n\x00\xff" == bytes(rec.data)

    def test_drain_with_nothing_queued_hands_nothing_to_a_thread(self, pty: Pty, rec: Recorder) -> None:
        """Written bytes the far end has read: drain() returns without tcdrain in the executor (one per call)."""
        handed: list[object] = []

        class Counting(ThreadPoolExecutor):
            def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
                handed.append(fn)
                return super().submit(fn, *args, **kwargs)

        async def body(port: SerialPort) -> None:
            asyncio.get_running_loop().set_default_executor(Counting(max_workers=1))
            port.write(b"login: ")
            assert b"login: " == await read_master_async(pty.master, 7)
            handed.clear()
            await port.drain()
            assert [] == handed

        with_port(pty, rec, body)

    def test_write_reaches_master(self, pty: Pty, rec: Recorder) -> None:
        """write() bytes arrive at the master unchanged (no NL to CR NL mapping)."""
        received: list[bytes] = []

        async def body(port: SerialPort) -> None:
            port.write(b"ATZ\r\n")
            received.append(await read_master_async(pty.master, 5))

        with_port(pty, rec, body)
        assert [b"ATZ\r\n"] == received

    def test_write_goes_out_at_once(self, pty: Pty, rec: Recorder) -> None:
        """With nothing queued, write() puts the bytes on the tty before returning (no event-loop round)."""
        received: list[bytes] = []

        def body(port: SerialPort) -> None:
            port.write(b"ATA\r")
            received.append(read_master(pty.master, 4, timeout_s=0.5))  # blocking: the loop never ran

        with_port(pty, rec, body)
        assert [b"ATA\r"] == received

    def test_what_the_tty_does_not_take_is_queued_in_order(self, pty: Pty, rec: Recorder) -> None:
        """A write the tty refuses (EAGAIN: its buffer is full) is queued, and later writes stay behind it."""
        received: list[bytes] = []

        async def body(port: SerialPort) -> None:
            filled = 0
            with contextlib.suppress(BlockingIOError):  # nobody reads the master: the tty fills up
                while True:
                    filled += os.write(port.fd, b"x" * 4096)
            port.write(b"first ")  # refused: queued
            early = os.read(pty.master, 8192)  # now the tty would take more: "second" must still wait its turn
            port.write(b"second")
            received.append(early + await read_master_async(pty.master, filled + 12 - len(early)))

        with_port(pty, rec, body)
        assert received[0].endswith(b"x" + b"first second")

    def test_master_close_calls_on_lost_once(self, pty: Pty, rec: Recorder) -> None:
        """Closing the master (the device going away) calls on_lost exactly once."""

        async def body(_port: SerialPort) -> None:
            pty.close_master()
            await wait_until(lambda: bool(rec.lost))
            for _ in range(10):
                await asyncio.sleep(0.005)

        with_port(pty, rec, body)
        assert 1 == len(rec.lost)

    def test_close_after_hangup(self, pty: Pty, rec: Recorder) -> None:
        """close() after the device hung up returns without raising (the daemon closes before reopening)."""

        async def main() -> None:
            port = await open_port(pty, rec)
            pty.close_master()
            await wait_until(lambda: bool(rec.lost))
            await port.close()

        asyncio.run(main())
        assert 1 == len(rec.lost)

    def test_close_does_not_call_on_lost(self, pty: Pty, rec: Recorder) -> None:
        """Our own close() is not reported as a hang-up."""
        with_port(pty, rec, lambda _port: None)
        assert [] == rec.lost

    def test_close_discards_unsent_output_quickly(self, pty: Pty, rec: Recorder) -> None:
        """close() with a megabyte unsent returns at once and the master never sees most of it."""
        elapsed: list[float] = []

        async def main() -> None:
            port = await open_port(pty, rec, rtscts=False, close_timeout_s=5.0)
            port.write(b"x" * 1_000_000)
            await asyncio.sleep(0.01)
            start = time.monotonic()
            await port.close()
            elapsed.append(time.monotonic() - start)

        asyncio.run(main())
        received = read_master(pty.master, 1_000_000, timeout_s=0.2)
        assert elapsed[0] < 1.0
        assert len(received) < 100_000

    def test_close_is_idempotent(self, pty: Pty, rec: Recorder) -> None:
        """A second close() is a no-op."""

        async def main() -> None:
            port = await open_port(pty, rec)
            await port.close()
            await port.close()

        asyncio.run(main())
        assert [] == rec.lost

    def test_close_releases_device(self, pty: Pty, rec: Recorder) -> None:
        """After close() the same device can be opened again (the exclusive lock is gone)."""
        received: list[bytes] = []

        async def body(port: SerialPort) -> None:
            port.write(b"again")
            received.append(await read_master_async(pty.master, 5))

        with_port(pty, rec, lambda _port: None)
        with_port(pty, rec, body)
        assert [b"again"] == received

    def test_second_open_while_open_is_busy(self, pty: Pty, rec: Recorder) -> None:
        """A second open of a device already open is refused as busy (EBUSY)."""
        errors: list[int | None] = []

        async def body(_port: SerialPort) -> None:
            try:
                second = await open_port(pty, rec)
            except PortOpenError as exc:
                errors.append(exc.errno)
            else:
                await second.close()

        with_port(pty, rec, body)
        assert [errno.EBUSY] == errors


class TestPhaseTermios:
    """The termios changes for the phases of a call."""

    def test_carrier_sensitive_clears_clocal(self, pty: Pty, rec: Recorder) -> None:
        """set_carrier_sensitive(True) clears CLOCAL."""
        with_port(pty, rec, lambda port: port.set_carrier_sensitive(True))
        assert 0 == pty.attrs()[CFLAG] & termios.CLOCAL

    def test_carrier_insensitive_sets_clocal(self, pty: Pty, rec: Recorder) -> None:
        """set_carrier_sensitive(False) after True sets CLOCAL again."""

        def body(port: SerialPort) -> None:
            port.set_carrier_sensitive(True)
            port.set_carrier_sensitive(False)

        with_port(pty, rec, body)
        assert termios.CLOCAL == pty.attrs()[CFLAG] & termios.CLOCAL

    def test_carrier_sensitive_keeps_other_cflags(self, pty: Pty, rec: Recorder) -> None:
        """Toggling CLOCAL leaves CS8, CREAD, HUPCL and the speed alone."""
        with_port(pty, rec, lambda port: port.set_carrier_sensitive(True), speed=57600)
        attrs = pty.attrs()
        keep = termios.CS8 | termios.CREAD | termios.HUPCL
        assert (keep, termios.B57600) == (attrs[CFLAG] & keep, attrs[OSPEED])

    def test_session_mode_is_cooked(self, pty: Pty, rec: Recorder) -> None:
        """set_session_mode sets ICANON, ECHO and ISIG."""
        with_port(pty, rec, lambda port: port.set_session_mode(map_crlf=True))
        wanted = termios.ICANON | termios.ECHO | termios.ISIG
        assert wanted == pty.attrs()[LFLAG] & wanted

    def test_session_mode_maps_crlf(self, pty: Pty, rec: Recorder) -> None:
        """map_crlf=True sets ICRNL on input and OPOST|ONLCR on output."""
        with_port(pty, rec, lambda port: port.set_session_mode(map_crlf=True))
        attrs = pty.attrs()
        out = termios.OPOST | termios.ONLCR
        assert (termios.ICRNL, out) == (attrs[IFLAG] & termios.ICRNL, attrs[OFLAG] & out)

    def test_session_mode_without_crlf_mapping(self, pty: Pty, rec: Recorder) -> None:
        """map_crlf=False leaves ICRNL and ONLCR off."""
        with_port(pty, rec, lambda port: port.set_session_mode(map_crlf=False))
        attrs = pty.attrs()
        assert (0, 0) == (attrs[IFLAG] & termios.ICRNL, attrs[OFLAG] & termios.ONLCR)

    def test_session_mode_control_characters(self, pty: Pty, rec: Recorder) -> None:
        """Session mode has the usual ^C, DEL, ^U and ^D."""
        with_port(pty, rec, lambda port: port.set_session_mode(map_crlf=True))
        cc = pty.attrs()[6]
        assert [b"\x03", b"\x7f", b"\x15", b"\x04"] == [
            cc[termios.VINTR],
            cc[termios.VERASE],
            cc[termios.VKILL],
            cc[termios.VEOF],
        ]

    def test_raw_mode_after_session_mode(self, pty: Pty, rec: Recorder) -> None:
        """set_raw_mode after session mode clears every input, output and local flag."""

        def body(port: SerialPort) -> None:
            port.set_session_mode(map_crlf=True)
            port.set_raw_mode()

        with_port(pty, rec, body)
        attrs = pty.attrs()
        assert (0, 0, 0) == (attrs[IFLAG], attrs[OFLAG], attrs[LFLAG])

    def test_session_mode_echoes_on_the_line(self, pty: Pty, rec: Recorder) -> None:
        """In session mode the tty itself echoes typed input back to the caller."""
        echoed: list[bytes] = []

        async def body(port: SerialPort) -> None:
            port.pause_reading()  # the handed-off program owns the input now
            port.set_session_mode(map_crlf=True)
            os.write(pty.master, b"hi")
            echoed.append(await read_master_async(pty.master, 2))

        with_port(pty, rec, body)
        assert [b"hi"] == echoed


class TestIdle:
    """The idle port: not read, and checked against its path before it is used again."""

    def test_readable_is_reported_once_and_nothing_is_read(self, pty: Pty, rec: Recorder) -> None:
        """While paused, input wakes the callback once and stays unread until reading resumes."""
        woken: list[int] = []

        async def body(port: SerialPort) -> None:
            port.pause_until_readable(lambda: woken.append(1))
            os.write(pty.master, b"RING\r\n")
            await wait_until(lambda: bool(woken))
            for _ in range(20):  # the fd stays readable: a callback still registered would run again here
                await asyncio.sleep(0)
            assert ([1], b"") == (woken, bytes(rec.data))
            port.resume_reading()
            await wait_until(lambda: bytes(rec.data) == b"RING\r\n")

        with_port(pty, rec, body)

    def test_the_device_is_still_there(self, pty: Pty, rec: Recorder) -> None:
        """The path names the open device: it may be used."""
        with_port(pty, rec, lambda port: assert_is(True, port.still_the_device()))

    def test_a_removed_link_is_noticed(self, pty: Pty, rec: Recorder) -> None:
        """Issue 10.8: the link removed while the port is open: the device is no longer the one named."""

        def body(port: SerialPort) -> None:
            pty.path.unlink()
            assert not port.still_the_device()

        with_port(pty, rec, body)

    def test_a_link_to_another_device_is_noticed(self, tmp_path: Path, pty: Pty, rec: Recorder) -> None:
        """The link now names another tty (re-enumerated elsewhere): not the open device."""
        other = make_pty(tmp_path, "ttyOTHER")

        def body(port: SerialPort) -> None:
            pty.path.unlink()
            pty.path.symlink_to(other.slave_name)
            assert not port.still_the_device()

        try:
            with_port(pty, rec, body)
        finally:
            other.close_master()


def assert_is(expected: object, got: object) -> None:
    """``assert expected is got`` as an expression."""
    assert expected is got
