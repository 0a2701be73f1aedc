"""DCD during a connected call: read where the port can read it, once more just before the program starts.

The port's modem-control lines are injected (a stand-in for ``ModemLines``), so no ioctl is faked; the call
runs in-process with a stand-in port on a real pty and a real stand-in program.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from answerd.call.carrier import carrier_gone, watch_carrier
from answerd.call.runner import CallEnd, CallLine, CallRunner
from answerd.config.settings import PortSettings
from answerd.core import Outcome
from answerd.service.notify import NullNotifier
from tests.helpers import make_program, ran


class Lines:
    """Modem-control lines whose DCD reads are given in order (the last one repeats)."""

    kind = "tiocm"

    def __init__(self, *reads: bool | OSError | None) -> None:
        self.reads = list(reads)
        self.count = 0

    def set_dtr(self, high: bool) -> None:
        """Not used during a call."""

    def carrier(self) -> bool | None:
        """The next DCD read (an ``OSError`` in the list is raised)."""
        value = self.reads[min(self.count, len(self.reads) - 1)]
        self.count += 1
        if isinstance(value, OSError):
            raise value
        return value


@dataclass
class Port:
    """The part of ``SerialPort`` a call uses, with injected lines; records what it was told."""

    lines: Lines
    written: bytearray = field(default_factory=bytearray)
    modes: list[str] = field(default_factory=list)

    def set_carrier_sensitive(self, sensitive: bool) -> None:
        """Recorded."""
        self.modes.append(f"carrier_sensitive={sensitive}")

    def write(self, data: bytes) -> None:
        """Recorded."""
        self.written += data

    def pause_reading(self) -> None:
        """Recorded."""
        self.modes.append("paused")

    async def drain(self) -> None:
        """Nothing is queued."""

    def set_raw_mode(self) -> None:
        """Recorded."""
        self.modes.append("raw")

    def set_session_mode(self, *, map_crlf: bool) -> None:
        """Recorded."""
        self.modes.append("session")


#: The parts of the core's ``Answered`` a call reads (the CONNECT text, the caller's details): a stand-in
#: rather than the core's own types, so this test does not depend on how the core builds them.
ANSWERED = SimpleNamespace(
    connect=SimpleNamespace(line="CONNECT 9600", text="9600"),
    call=SimpleNamespace(
        caller_id=None,
        caller_name=None,
        called_id=None,
        connect_env="9600",
        line_rate=None,
        dte_rate=None,
        modulation=None,
        protocol=None,
        compression=None,
    ),
)


class Log:
    """A structlog stand-in: keeps (event, fields)."""

    def __init__(self) -> None:
        self.records: list[tuple[str, dict[str, Any]]] = []

    def _keep(self, event: str, **fields: Any) -> None:
        self.records.append((event, fields))

    info = warning = error = debug = _keep

    def events(self) -> list[str]:
        """The event names, in order."""
        return [event for event, _ in self.records]


@pytest.fixture(name="tty")
def _tty() -> Iterator[str]:
    """The path of a pty's slave, standing in for the modem's tty (the master is kept open)."""
    master, slave = os.openpty()
    yield os.ttyname(slave)
    os.close(slave)
    os.close(master)


def run_direct_call(tty: str, program: Path, lines: Lines) -> tuple[CallEnd, Log]:
    """One call on a ``mode = "direct"`` port with the given lines; its end and its log."""
    settings = PortSettings(device=tty, mode="direct", direct_program=[str(program)], settle_ms=0)
    log = Log()

    async def main() -> CallEnd:
        runner = CallRunner(
            port_name="ttyTEST",
            device=tty,
            settings=settings,
            port=Port(lines),  # type: ignore[arg-type]
            answered=ANSWERED,  # type: ignore[arg-type]
            line=CallLine(),
            notifier=NullNotifier(),
            log=log,
        )
        return await runner.run()

    return asyncio.run(main()), log


class TestCarrierGone:
    """Whether DCD says the caller is gone."""

    @pytest.mark.parametrize(
        ("read", "gone"),
        [(True, False), (False, True), (None, False), (OSError(5, "Input/output error"), True)],
        ids=["high", "low", "unreadable-line", "read-fails"],
    )
    def test_reads(self, read: bool | OSError | None, gone: bool) -> None:
        """Low DCD or a failing read is gone; high DCD or a line without DCD is not."""
        assert gone == carrier_gone(Lines(read))


class TestWatch:
    """Polling DCD while the call is up."""

    def test_no_watch_without_dcd(self) -> None:
        """A line whose DCD cannot be read is not polled at all."""

        async def main() -> bool:
            return watch_carrier(Lines(None), CallLine()) is None

        assert asyncio.run(main())

    def test_low_dcd_drops_the_line_as_carrier_loss(self) -> None:
        """DCD going low ends the call as carrier-lost."""

        async def main() -> Outcome:
            line = CallLine()
            task = watch_carrier(Lines(True, False), line)
            assert task is not None
            await asyncio.wait_for(line.lost.wait(), 5)
            task.cancel()
            return line.lost_outcome

        assert Outcome.CARRIER_LOST == asyncio.run(main())


class TestBeforeTheProgram:
    """DCD is read once more after the dialog and before the program is spawned."""

    def test_low_dcd_at_program_time_starts_no_program(self, tty: str, tmp_path: Path) -> None:
        """DCD high at CONNECT, low when the program would start: carrier-lost, the program never runs."""
        program = make_program(tmp_path, "direct", say=False)
        end, log = run_direct_call(tty, program, Lines(True, False))
        assert (Outcome.CARRIER_LOST, "carrier lost before the program started") == (end.outcome, end.detail)
        assert "call.program_started" not in log.events()
        assert not ran(program)

    def test_high_dcd_starts_the_program(self, tty: str, tmp_path: Path) -> None:
        """DCD still high when the program would start: it runs and the call is answered."""
        program = make_program(tmp_path, "direct", say=False)
        end, log = run_direct_call(tty, program, Lines(True))
        assert (Outcome.ANSWERED, True) == (end.outcome, ran(program))
        assert "call.program_started" in log.events()
