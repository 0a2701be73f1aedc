"""The asyncio shell on a real pty and real TCP: link, DTR detection, the phone line, SIGHUP, the CLI.

Each test runs its own event loop with ``asyncio.run``. Waits are for an event (bytes on the pty, a line in
the transcript), each bounded only so that a broken sim fails the test instead of hanging it: no test
sleeps to see that something did *not* happen.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import select
import signal
import subprocess
import sys
import termios
import time
import tty
from collections.abc import AsyncIterator, Coroutine, Iterator
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest

from answerd.sim import Faults, ModemProfile, OnlineReport, ServerConfig, SimError, SimServer
from answerd.sim.cli import build_parser, main

T = TypeVar("T")
READY = re.compile(r"^answerd-sim: ready tty=(\S+) pty=(/dev/pts/\d+) listen=127\.0\.0\.1:(\d+)$")


#: How long a wait may take before the sim counts as broken (a bound against hanging, not a speed target).
PATIENCE = 10.0


def run(coro: Coroutine[Any, Any, T]) -> T:
    """Run one test body in a fresh event loop, failing instead of hanging if the sim is stuck."""
    return asyncio.run(asyncio.wait_for(coro, 2 * PATIENCE))


@contextlib.asynccontextmanager
async def started(tmp_path: Path, profile: ModemProfile | None = None, **kwargs: Any) -> AsyncIterator[SimServer]:
    """A running sim with short delays, its link in ``tmp_path``, on a free TCP port."""
    settings = (profile or ModemProfile()).override(**{"ring_interval": 5.0, "answer_delay": 0.05, **kwargs})
    config = ServerConfig(link=tmp_path / "ttySIM0", port=0, poll_interval=0.02)
    async with SimServer(settings, config) as server:
        yield server


async def until(predicate: Any, timeout: float = PATIENCE) -> None:
    """Wait (polling every 10 ms) until ``predicate()`` is true."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


class Dte:
    """The computer's side: the pty slave opened through the published link."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
        tty.setraw(self.fd, termios.TCSANOW)  # not TCSAFLUSH: a test must see stale input
        self.buf = b""

    def write(self, data: bytes) -> None:
        os.write(self.fd, data)

    def _read(self) -> None:
        with contextlib.suppress(BlockingIOError):
            self.buf += os.read(self.fd, 4096)

    async def expect(self, needle: bytes, timeout: float = PATIENCE) -> bytes:
        """Everything up to and including ``needle``; fails after ``timeout``."""
        try:
            async with asyncio.timeout(timeout):
                while needle not in self.buf:
                    self._read()
                    await asyncio.sleep(0.01)
        except TimeoutError:
            raise AssertionError(f"{needle!r} never came; got {self.buf!r}") from None
        head, _, self.buf = self.buf.partition(needle)
        return head + needle

    def speed(self, speed: int) -> None:
        attrs = termios.tcgetattr(self.fd)
        attrs[4] = attrs[5] = speed
        termios.tcsetattr(self.fd, termios.TCSANOW, attrs)

    def close(self) -> None:
        os.close(self.fd)


async def call(server: SimServer) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """Dial in: connect to the sim's phone line."""
    return await asyncio.open_connection(*server.address)


class TestStartup:
    def test_link_points_at_the_pty_and_goes_away(self, tmp_path: Path) -> None:
        """The ready line names the link and pty; the link exists while running and is removed on close."""

        async def body() -> None:
            async with started(tmp_path) as server:
                match = READY.match(server.ready_line)
                assert match is not None
                assert (str(tmp_path / "ttySIM0"), server.slave_path) == (match[1], match[2])
                assert server.slave_path == os.readlink(tmp_path / "ttySIM0")

        run(body())
        assert not os.path.lexists(tmp_path / "ttySIM0")

    def test_replaces_an_old_symlink(self, tmp_path: Path) -> None:
        """A stale symlink at the link path is replaced."""
        (tmp_path / "ttySIM0").symlink_to("/dev/null")

        async def body() -> str:
            async with started(tmp_path) as server:
                return os.readlink(tmp_path / "ttySIM0") + " " + server.slave_path

        old, new = run(body()).split()
        assert new == old

    def test_refuses_to_replace_a_file(self, tmp_path: Path) -> None:
        """A regular file at the link path is an error, and is left alone."""
        (tmp_path / "ttySIM0").write_text("precious")

        async def body() -> None:
            async with started(tmp_path):
                pass

        with pytest.raises(SimError, match="not a symlink"):
            run(body())
        assert "precious" == (tmp_path / "ttySIM0").read_text()


class TestDteSide:
    def test_commands_over_the_pty(self, tmp_path: Path) -> None:
        """AT commands written to the slave get echo and OK back."""

        async def body() -> bytes:
            async with started(tmp_path):
                dte = Dte(tmp_path / "ttySIM0")
                try:
                    dte.write(b"ATE0\rATI0\r")
                    return await dte.expect(b"OK\r\n") + await dte.expect(b"OK\r\n")
                finally:
                    dte.close()

        assert b"ATE0\r\r\nOK\r\n\r\nanswerd simulated modem\r\n\r\nOK\r\n" == run(body())

    def test_b0_is_dtr_low(self, tmp_path: Path) -> None:
        """Setting the speed to B0 drops DTR; a real speed raises it again."""

        async def body() -> None:
            async with started(tmp_path) as server:
                dte = Dte(tmp_path / "ttySIM0")
                try:
                    await until(lambda: server.dtr)
                    dte.speed(termios.B0)
                    await until(lambda: not server.dtr)
                    dte.speed(termios.B38400)
                    await until(lambda: server.dtr)
                finally:
                    dte.close()

        run(body())

    def test_closed_port_is_dtr_low_and_gets_nothing_stale(self, tmp_path: Path) -> None:
        """Closing the slave drops DTR; a RING sent meanwhile is not handed to the next opener."""

        async def body() -> bytes:
            async with started(tmp_path) as server:
                dte = Dte(tmp_path / "ttySIM0")
                await until(lambda: server.dtr)
                dte.close()
                await until(lambda: not server.dtr)
                _, writer = await call(server)
                await until(lambda: not server.modem.accepts_call)
                dte = Dte(tmp_path / "ttySIM0")
                try:
                    dte.write(b"ATE0\r")
                    got = await dte.expect(b"OK\r\n")
                finally:
                    dte.close()
                    writer.close()
                return got

        assert b"ATE0\r\r\nOK\r\n" == run(body())


class TestPhoneLine:
    def test_a_whole_call(self, tmp_path: Path) -> None:
        """A TCP caller rings, ATA connects, data flows both ways, and hanging up gives NO CARRIER."""

        async def body() -> None:
            async with started(tmp_path) as server:
                dte = Dte(tmp_path / "ttySIM0")
                try:
                    dte.write(b"ATE0\r")
                    await dte.expect(b"OK\r\n")
                    reader, writer = await call(server)
                    await dte.expect(b"\r\nRING\r\n")
                    dte.write(b"ATA\r")
                    await dte.expect(b"CONNECT 33600/ARQ/V34/LAPM/V42BIS\r\n")
                    writer.write(bytes(range(256)))
                    assert bytes(range(256)) == (await dte.expect(b"\xfe\xff"))[-256:]
                    dte.write(b"login: \x00\xff")
                    assert b"login: \x00\xff" == await asyncio.wait_for(reader.readexactly(9), PATIENCE)
                    writer.close()
                    await dte.expect(b"\r\nNO CARRIER\r\n")
                finally:
                    dte.close()

        run(body())

    def test_second_caller_hears_busy(self, tmp_path: Path) -> None:
        """While a call rings, another caller gets BUSY and is disconnected."""

        async def body() -> bytes:
            async with started(tmp_path) as server:
                _, first = await call(server)
                await until(lambda: not server.modem.accepts_call)
                reader, second = await call(server)
                got = await asyncio.wait_for(reader.read(), PATIENCE)
                first.close()
                second.close()
                return got

        assert b"BUSY\r\n" == run(body())

    def test_dtr_drop_hangs_up_the_caller(self, tmp_path: Path) -> None:
        """With &D2, B0 during a call closes the caller's connection and reports NO CARRIER."""

        async def body() -> bytes:
            async with started(tmp_path, unsolicited_connect=True) as server:
                dte = Dte(tmp_path / "ttySIM0")
                try:
                    await until(lambda: server.dtr)
                    reader, writer = await call(server)
                    await dte.expect(b"CONNECT")
                    dte.speed(termios.B0)
                    await dte.expect(b"\r\nNO CARRIER\r\n")
                    rest = await asyncio.wait_for(reader.read(), PATIENCE)
                    writer.close()
                    return rest
                finally:
                    dte.close()

        assert b"" == run(body())

    def test_carrier_loss_hangs_up_the_session(self, tmp_path: Path) -> None:
        """When the caller hangs up, the process with the tty as controlling terminal gets SIGHUP."""
        child_code = (
            "import os, select, signal, sys\n"
            "os.setsid()\n"
            "fd = os.open(sys.argv[1], os.O_RDWR)\n"  # a session leader's first tty becomes its ctty
            "signal.signal(signal.SIGHUP, lambda *_: (os.write(1, b'SIGHUP\\n'), os._exit(0)))\n"
            "os.write(1, b'ready\\n')\n"
            "select.select([], [], [], 2)\n"
        )

        async def body() -> bytes:
            async with started(tmp_path, unsolicited_connect=True) as server:
                child = await asyncio.create_subprocess_exec(
                    sys.executable, "-c", child_code, str(tmp_path / "ttySIM0"), stdout=subprocess.PIPE
                )
                assert child.stdout is not None
                try:
                    assert b"ready\n" == await child.stdout.readline()
                    _, writer = await call(server)
                    await until(lambda: server.modem.caller_present)
                    writer.close()
                    return await child.stdout.readline()
                finally:
                    with contextlib.suppress(ProcessLookupError):
                        child.kill()
                    await child.wait()

        assert b"SIGHUP\n" == run(body())


class Transcript:
    """The ``-v`` transcript of a running ``answerd sim`` (its stderr), read line by line as it comes.

    It reads the descriptor itself: a buffered text stream can hold lines that ``select`` no longer sees.
    """

    def __init__(self, stream: IO[str]) -> None:
        self._fd = stream.fileno()
        self._pending = b""

    def _lines(self) -> Iterator[str]:
        deadline = time.monotonic() + PATIENCE
        while True:
            while b"\n" in self._pending:
                line, self._pending = self._pending.split(b"\n", 1)
                yield line.decode("utf-8", "replace")
            if not select.select([self._fd], [], [], max(0.0, deadline - time.monotonic()))[0]:
                return
            chunk = os.read(self._fd, 65536)
            if not chunk:
                return
            self._pending += chunk

    def wait_for(self, text: str) -> str:
        """Read lines until one contains ``text``; fail after :data:`PATIENCE` seconds without it."""
        for line in self._lines():
            if text in line:
                return line
        raise AssertionError(f"{text!r} never appeared in the transcript")

    def wait_for_ignored(self, count: int) -> None:
        """Read lines until the silent modem has reported ``count`` ignored bytes (they may come in pieces)."""
        ignored = 0
        for line in self._lines():
            if match := re.search(r"silent: ignored (\d+) byte", line):
                ignored += int(match.group(1))
                if ignored >= count:
                    return
        raise AssertionError(f"the silent modem reported {ignored} ignored bytes, not {count}")


class TestFaults:
    def test_online_report_reaches_the_dte_after_connect(self, tmp_path: Path) -> None:
        """A profile's online report comes through the pty as framed text after CONNECT, caller data too."""
        report = OnlineReport(after_s=0.05, text="OK")
        profile = ModemProfile(faults=Faults(online_reports=(report,)))

        async def body() -> bytes:
            async with started(tmp_path, profile, unsolicited_connect=True) as server:
                dte = Dte(tmp_path / "ttySIM0")
                try:
                    await until(lambda: server.dtr)
                    _, writer = await call(server)
                    got = await dte.expect(b"\r\nOK\r\n")
                    writer.write(b"after")
                    got += await dte.expect(b"after")
                    writer.close()
                    return got + await dte.expect(b"\r\nNO CARRIER\r\n")
                finally:
                    dte.close()

        assert b"\r\nCONNECT 33600/ARQ/V34/LAPM/V42BIS\r\n\r\nOK\r\nafter\r\nNO CARRIER\r\n" == run(body())


class TestCli:
    def test_sigterm_exits_cleanly(self, tmp_path: Path) -> None:
        """`python -m answerd.sim` prints the ready line, and SIGTERM exits 0 and removes the link."""
        link = tmp_path / "ttySIM0"
        with subprocess.Popen(
            [sys.executable, "-m", "answerd.sim", "--link", str(link), "--listen", "127.0.0.1:0"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            assert proc.stdout is not None
            assert proc.stderr is not None
            try:
                assert select.select([proc.stdout], [], [], PATIENCE)[0], "no ready line"
                line = proc.stdout.readline().rstrip("\n")
                match = READY.match(line)
                assert match is not None, line
                assert str(link) == match[1]
                assert os.readlink(link) == match[2]
                proc.send_signal(signal.SIGTERM)
                assert 0 == proc.wait(timeout=PATIENCE)
            finally:
                if proc.poll() is None:
                    proc.kill()
            assert "" == proc.stderr.read()
        assert not os.path.lexists(link)

    def test_sigusr1_toggles_silent(self, tmp_path: Path) -> None:
        """SIGUSR1 makes the running sim's modem go dead (AT gets nothing); a second one brings it back."""
        link = tmp_path / "ttySIM0"
        with subprocess.Popen(
            [sys.executable, "-m", "answerd.sim", "--link", str(link), "--listen", "127.0.0.1:0", "-v"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        ) as proc:
            assert proc.stdout is not None
            assert proc.stderr is not None
            try:
                assert select.select([proc.stdout], [], [], PATIENCE)[0], "no ready line"
                proc.stdout.readline()

                transcript = Transcript(proc.stderr)

                async def body() -> bytes:
                    dte = Dte(link)
                    dte.write(b"ATE0\r")
                    await dte.expect(b"OK\r\n")
                    proc.send_signal(signal.SIGUSR1)
                    transcript.wait_for("silent: the modem stops answering")
                    dte.write(b"AT\r")
                    # This line says the modem has handled the AT (silently): an answer, had there been one,
                    # would have been written to the pty in that same step, before the line was logged.
                    transcript.wait_for_ignored(3)
                    dte._read()
                    silent, dte.buf = dte.buf, b""
                    proc.send_signal(signal.SIGUSR1)
                    transcript.wait_for("silent: off, the modem answers again")
                    dte.write(b"AT\r")
                    await dte.expect(b"OK\r\n")
                    os.close(dte.fd)
                    return silent

                assert b"" == run(body())
                proc.send_signal(signal.SIGTERM)
                assert 0 == proc.wait(timeout=PATIENCE)
            finally:
                if proc.poll() is None:
                    proc.kill()

    @pytest.mark.parametrize(
        ("args", "message"),
        [
            (["--listen", "nonsense"], "HOST:PORT"),
            (["--listen", "127.0.0.1:70000"], "HOST:PORT"),
            (["--ring-interval", "-1"], "seconds"),
            (["--max-rings", "x"], "whole number"),
            (["--link", "/nonexistent-dir/ttySIM0"], "does not exist"),
            (["--frobnicate"], "unrecognized"),
        ],
    )
    def test_bad_input_is_one_line_and_exit_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
    ) -> None:
        """Bad arguments or an impossible link give one error line on stderr and exit status 2."""
        argv = ["--link", str(tmp_path / "ttySIM0"), "--listen", "127.0.0.1:0", *args]
        assert 2 == main(argv)
        err = capsys.readouterr().err
        assert 1 == len(err.splitlines()), err
        assert message in err
        assert "Traceback" not in err

    def test_every_option_has_help(self) -> None:
        """Each option of `answerd sim` documents itself."""
        parser = build_parser()
        missing = [a.dest for a in parser._actions if not a.help]
        assert [] == missing
