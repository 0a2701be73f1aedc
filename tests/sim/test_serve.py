"""``answerd sim --serve TTY`` on a real tty: here the slave of a pty stands in for the ACM gadget's ttyGS0.

The test holds the pty's master as the computer's side. That the sim closes the tty on carrier loss shows
on the master as POLLHUP (no one has the slave open), and its reopening as POLLHUP going away. Waits are
bounded only so that a broken sim fails instead of hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from answerd.sim import ModemProfile, ServerConfig, SimError
from answerd.sim._serve import TtyServer
from answerd.sim.cli import main

PATIENCE = 10.0


class Computer:
    """The pty master: what the computer (answerd on ttyACM0) would read and write."""

    def __init__(self) -> None:
        self.master, slave = os.openpty()
        self.slave_path = Path(os.ttyname(slave))
        os.close(slave)
        os.set_blocking(self.master, False)
        self.buf = b""

    def write(self, data: bytes) -> None:
        os.write(self.master, data)

    def tty_closed(self) -> bool:
        """Whether nobody holds the slave open (the sim closed it)."""
        poller = select.poll()
        poller.register(self.master, select.POLLIN)
        return any(events & select.POLLHUP for _, events in poller.poll(0))

    async def expect(self, needle: bytes) -> bytes:
        """Everything up to and including ``needle``; fails after PATIENCE."""
        try:
            async with asyncio.timeout(PATIENCE):
                while needle not in self.buf:
                    with contextlib.suppress(BlockingIOError, OSError):
                        self.buf += os.read(self.master, 4096)
                    await asyncio.sleep(0.01)
        except TimeoutError:
            raise AssertionError(f"{needle!r} never came; got {self.buf!r}") from None
        head, _, self.buf = self.buf.partition(needle)
        return head + needle

    def close(self) -> None:
        os.close(self.master)


async def until(predicate: Callable[[], bool], what: str) -> None:
    """Poll ``predicate`` until true; fail after PATIENCE naming ``what``."""
    try:
        async with asyncio.timeout(PATIENCE):
            while not predicate():
                await asyncio.sleep(0.01)
    except TimeoutError:
        raise AssertionError(f"never: {what}") from None


@contextlib.asynccontextmanager
async def serving(computer: Computer) -> AsyncIterator[TtyServer]:
    """The sim serving the pty slave, fast answers, on a free TCP port."""
    settings = ModemProfile().override(ring_interval=5.0, answer_delay=0.05)
    async with TtyServer(settings, ServerConfig(port=0), computer.slave_path) as server:
        yield server


def test_answers_commands_on_the_served_tty() -> None:
    """The modem answers AT commands written on the other end of the tty it serves, and says where it is."""

    async def body() -> None:
        computer = Computer()
        try:
            async with serving(computer) as server:
                computer.write(b"ATE0\r")
                await computer.expect(b"OK\r\n")
                assert server.ready_line.startswith(f"answerd-sim: ready serve={computer.slave_path} listen=")
        finally:
            computer.close()

    asyncio.run(body())


def test_carrier_loss_closes_the_tty_then_reopens_it_and_says_no_carrier() -> None:
    """A caller hanging up makes the sim close the tty (DCD falls on a gadget), reopen it, then NO CARRIER."""

    async def body() -> None:
        computer = Computer()
        try:
            async with serving(computer) as server:
                computer.write(b"ATE0&C1\r")
                await computer.expect(b"OK\r\n")
                _, writer = await asyncio.open_connection(*server.address)
                await computer.expect(b"RING\r\n")
                computer.write(b"ATA\r")
                await computer.expect(b"CONNECT")
                writer.close()
                await until(computer.tty_closed, "the sim closed the tty on carrier loss")
                await until(lambda: not computer.tty_closed(), "the sim opened the tty again")
                await computer.expect(b"NO CARRIER\r\n")
                computer.write(b"AT\r")
                await computer.expect(b"OK\r\n")
        finally:
            computer.close()

    asyncio.run(body())


def test_a_tty_that_cannot_be_opened_is_a_sim_error(tmp_path: Path) -> None:
    """Serving a path that does not exist fails with SimError naming it, not a traceback."""

    async def body() -> None:
        async with TtyServer(ModemProfile(), ServerConfig(port=0), tmp_path / "ttyGS9"):
            pass

    with pytest.raises(SimError, match=r"cannot open .*ttyGS9"):
        asyncio.run(body())


def test_cli_serve_of_a_missing_tty_is_one_error_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``answerd sim --serve MISSING`` exits 2 with one error line on stderr."""
    assert 2 == main(["--serve", str(tmp_path / "ttyGS9"), "--listen", "127.0.0.1:0"])
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "cannot open" in err
