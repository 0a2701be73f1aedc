"""The hang-up after a connected call, carried out by the daemon on the simulated modem (issue 12.6).

In-process (tests/simline.py): the real PortDaemon, a manual clock, the simulated modem's core, and a
stand-in for the call stage (``run_call``) that ends the call the way the test says. What is checked is
what the modem and the caller see: DTR held low, DCD watched, ``+++`` and ``ATH0`` only where the modem
stays online, never an ``AT`` that could reach the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog

from answerd.call.outcome import CallEnd
from answerd.call.stage import CallLine
from answerd.config import load_config
from answerd.core import STOP_HANGUP_S, Answered, Outcome
from answerd.service.daemon import PortDaemon
from answerd.sim import Defaults, Faults, ModemMode, ModemProfile, SimModem, Timings
from bench.common import toml_value

from .simline import ManualClock, RecordingNotifier, SimLine

#: An init chat that leaves DTR to the modem's own setting (``&D`` from its profile, kept by ATZ).
INIT_KEEPING_D = ["", "ATZ", "OK", "ATE0Q0V1&C1S0=0", "OK"]
BASE: dict[str, Any] = {
    "rings": 1, "chat_timeout_s": 3.0, "modem_family": "v250", "caller_id": "off",
    "init_chat": INIT_KEEPING_D, "hangup_dtr_ms": 500, "hangup_dcd_wait_s": 2.0,
}  # fmt: skip
PROGRAM_S = 5.0  # how long the stand-in program runs


class Bench:
    """One daemon, one simulated modem, a call stage that runs a 'program' for PROGRAM_S and ends it."""

    def __init__(
        self,
        tmp: Path,
        *,
        dcd: bool,
        dtr: int,
        s25: int,
        outcome: Outcome,
        hang_up_tty: bool = False,
        until_stopped: bool = False,
        faults: Faults | None = None,
        registers: dict[int, int] | None = None,
        **port: Any,
    ) -> None:
        """``until_stopped``: the 'program' runs until answerd stops (``request_stop``), not PROGRAM_S."""
        self.clock = ManualClock()
        profile = ModemProfile(
            defaults=Defaults(echo=False, dtr=dtr, registers={25: s25, **(registers or {})}),
            timings=Timings(ring_interval_s=3.0, answer_delay_s=0.5),
            faults=faults or Faults(),
        )
        self.until_stopped = until_stopped
        self.line = SimLine(self.clock, profile, dcd=dcd)
        settings = {"lock_dir": str(tmp), "nologin_file": str(tmp / "nologin"), **BASE, **port}
        config = tmp / "answerd.toml"
        config.write_text("[ports.sim0]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in settings.items()))
        self.outcome = outcome
        self.hang_up_tty = hang_up_tty
        self.call_port: object = None
        #: Index into line.written when the call ended, and the modem's mode then.
        self.ended_at_write: int | None = None
        self.ended_at_screen = 0
        self.daemon = PortDaemon(
            "sim0", load_config(str(config)).port("sim0"), notifier=RecordingNotifier(),
            port_factory=self.line.open, clock=self.clock, verdict_dir=str(tmp), run_call=self.run_call,
        )  # fmt: skip

    async def run_call(self, answered: Answered, line: CallLine) -> CallEnd:
        if self.until_stopped:
            await line.lost.wait()
        else:
            await self.clock.sleep(PROGRAM_S)
        assert self.line.port is not None
        self.line.port.write(b"bye\r\n")  # the program's last output
        self.call_port = self.line.port
        self.line.port.hung_up = self.hang_up_tty
        if self.outcome is Outcome.CARRIER_LOST:
            self.line.caller_hangs_up()
        self.ended_at_write = len(self.line.written)
        self.ended_at_screen = len(self.line.caller_screen)
        return CallEnd(outcome=self.outcome)

    @property
    def modem(self) -> SimModem:
        return self.line.modem

    def after_the_call(self) -> bytes:
        """Everything answerd wrote after the call ended."""
        assert self.ended_at_write is not None
        return b"".join(self.line.written[self.ended_at_write :])

    def caller_saw(self) -> bytes:
        """Everything the caller received after the call ended (the program's last output excluded)."""
        return bytes(self.line.caller_screen[self.ended_at_screen :])


@asynccontextmanager
async def call_ended(tmp: Path, **kwargs: Any) -> AsyncIterator[Bench]:
    """A daemon that answered a call whose program has just ended (the hang-up starts now)."""
    bench = Bench(tmp, **kwargs)
    task = asyncio.get_running_loop().create_task(bench.daemon.run())
    await bench.clock.advance(1.0)
    bench.line.call()
    await bench.clock.advance(1.0)  # RING, ATA, CONNECT after answer_delay
    assert ModemMode.ONLINE == bench.modem.mode
    while bench.ended_at_write is None:  # to the moment the program ends (within 10 ms), not beyond
        await bench.clock.advance(0.01)
    try:
        yield bench
    finally:
        bench.daemon.request_stop()
        await bench.clock.advance(10.0)
        await asyncio.wait_for(task, 10)


def logged_events(captured: list[MutableMapping[str, Any]]) -> list[str]:
    return [str(entry["event"]) for entry in captured]


class TestWithDcd:
    def test_a_modem_honouring_dtr_hangs_up_with_no_escape(self, tmp_path: Path) -> None:
        """&D2 with a 50 ms DTR detect time: the 500 ms hold hangs it up, DCD falls, nothing is written."""

        async def scenario() -> None:
            async with call_ended(tmp_path, dcd=True, dtr=2, s25=5, outcome=Outcome.ANSWERED) as bench:
                await bench.clock.advance(0.4)  # within the hold: DTR low long enough, the modem hung up
                assert (ModemMode.IDLE, False) == (bench.modem.mode, bench.line.dcd)
                assert b"" == bench.after_the_call()
                with structlog.testing.capture_logs() as captured:
                    await bench.clock.advance(10.0)  # the hold ends: DCD is read (down), the port reopened
                assert "call.hangup.escape" not in logged_events(captured)
                assert b"+++" not in bench.after_the_call()
                assert bench.after_the_call().startswith(b"ATZ\r")

        asyncio.run(scenario())

    def test_a_modem_ignoring_dtr_gets_the_escape_only_after_the_dcd_wait(self, tmp_path: Path) -> None:
        """&D0: DCD stays up; nothing is written for the hold and the whole DCD wait, then +++ and only then ATH0."""

        async def scenario() -> None:
            async with call_ended(tmp_path, dcd=True, dtr=0, s25=5, outcome=Outcome.ANSWERED) as bench:
                await bench.clock.advance(0.5 + 2.0 - 0.05)  # the hold and the DCD wait, all but the end
                assert (ModemMode.ONLINE, True, b"") == (bench.modem.mode, bench.line.dcd, bench.after_the_call())
                await bench.clock.advance(10.0)
                sent = bench.after_the_call()
                assert sent.startswith(b"+++")
                assert b"ATH0\r" in sent
                assert b"+++" == bench.caller_saw()  # the caller got the escape, no command
                assert ModemMode.IDLE == bench.modem.mode

        asyncio.run(scenario())

    def test_after_the_caller_hung_up_nothing_is_escaped(self, tmp_path: Path) -> None:
        """The caller hung up (DCD fell): DTR is still held, then the port reopened; no +++ goes out."""

        async def scenario() -> None:
            async with call_ended(tmp_path, dcd=True, dtr=0, s25=5, outcome=Outcome.CARRIER_LOST) as bench:
                await bench.clock.advance(5.0)
                sent = bench.after_the_call()
                assert b"+++" not in sent
                assert sent.startswith(b"ATZ\r")

        asyncio.run(scenario())


class TestWithoutDcd:
    def test_a_modem_ignoring_dtr_gets_the_escape_and_no_command_before_it(self, tmp_path: Path) -> None:
        """No DCD to read, &D0: after the hold, the escape is the first thing written; the caller sees only +++."""

        async def scenario() -> None:
            async with call_ended(tmp_path, dcd=False, dtr=0, s25=5, outcome=Outcome.ANSWERED) as bench:
                await bench.clock.advance(10.0)
                assert bench.after_the_call().startswith(b"+++")
                assert b"+++" == bench.caller_saw()
                assert ModemMode.IDLE == bench.modem.mode

        asyncio.run(scenario())

    def test_without_the_hold_the_next_init_reaches_the_caller(self, tmp_path: Path) -> None:
        """hangup_dtr_ms = 0 (a close and reopen) against a 200 ms DTR detect time: the modem stays online and
        answerd's first command goes to the caller as data, the defect the hold exists for."""

        async def scenario() -> None:
            async with call_ended(
                tmp_path, dcd=False, dtr=2, s25=20, outcome=Outcome.ANSWERED, hangup_dtr_ms=0, toggle_dtr=False
            ) as bench:
                await bench.clock.advance(1.0)
                assert b"AT\r" in bench.caller_saw()

        asyncio.run(scenario())

    def test_with_the_hold_the_same_modem_hangs_up(self, tmp_path: Path) -> None:
        """The same modem (200 ms detect time) with the 500 ms hold: it hangs up, and the caller never sees AT."""

        async def scenario() -> None:
            async with call_ended(
                tmp_path, dcd=False, dtr=2, s25=20, outcome=Outcome.ANSWERED, toggle_dtr=False
            ) as bench:
                await bench.clock.advance(0.3)
                assert (ModemMode.IDLE, False) == (bench.modem.mode, bench.modem.caller_present)
                await bench.clock.advance(10.0)
                assert b"AT" not in bench.caller_saw()

        asyncio.run(scenario())


def test_a_tty_the_call_hung_up_is_opened_afresh_for_the_hang_up(tmp_path: Path) -> None:
    """login's vhangup() left answerd's file hung up: the port is reopened before the hold, so DTR really goes
    low on the line (a 50 ms detect time modem hangs up during the hold) and no escape is needed."""

    async def scenario() -> None:
        kwargs: dict[str, Any] = {"dcd": True, "dtr": 2, "s25": 5, "outcome": Outcome.ANSWERED, "hang_up_tty": True}
        async with call_ended(tmp_path, **kwargs) as bench:
            assert bench.line.port is not bench.call_port  # a new open, before the hold has ended
            await bench.clock.advance(0.4)
            assert ModemMode.IDLE == bench.modem.mode
            await bench.clock.advance(10.0)
            assert b"+++" not in bench.after_the_call()

    asyncio.run(scenario())


class TestStoppingMidCall:
    """``systemctl stop`` during a call on a line with DCD: the same hang-up as after every call, bounded."""

    @staticmethod
    async def connected(bench: Bench) -> asyncio.Task[int]:
        task = asyncio.get_running_loop().create_task(bench.daemon.run())
        await bench.clock.advance(1.0)
        bench.line.call()
        await bench.clock.advance(1.0)
        assert (ModemMode.ONLINE, True) == (bench.modem.mode, bench.line.dcd)
        await bench.clock.advance(5.0)  # the call goes on
        return task

    @pytest.mark.parametrize(
        "modem", [{"dtr": 0}, {"dtr": 2, "faults": Faults(dtr_ignored=True)}], ids=["AT&D0", "dtr_ignored"]
    )
    def test_a_modem_ignoring_dtr_is_escaped_before_answerd_exits(self, tmp_path: Path, modem: dict[str, Any]) -> None:
        """The modem stays online through the DTR drop: answerd watches DCD, then escapes and sends ATH0 (the
        caller gets only +++), and the modem is offline when the daemon has exited."""

        async def scenario() -> None:
            bench = Bench(tmp_path, dcd=True, s25=5, outcome=Outcome.SHUTDOWN, until_stopped=True, **modem)
            task = await self.connected(bench)
            with structlog.testing.capture_logs() as captured:
                bench.daemon.request_stop()
                await bench.clock.advance(STOP_HANGUP_S + 1.0)
                await asyncio.wait_for(task, 10)
            escapes = [e["reason"] for e in captured if e["event"] == "call.hangup.escape"]
            assert ["DCD still up 2 s after DTR went low"] == escapes
            assert (ModemMode.IDLE, b"+++") == (bench.modem.mode, bench.caller_saw())
            assert bench.after_the_call().startswith(b"+++")  # no command before the escape

        asyncio.run(scenario())

    def test_a_modem_honouring_dtr_is_hung_up_by_the_drop_and_the_stop_is_not_delayed(self, tmp_path: Path) -> None:
        """&D2 (50 ms detect time): DCD falls during the DTR hold; no escape, and answerd is gone right after."""

        async def scenario() -> None:
            bench = Bench(tmp_path, dcd=True, dtr=2, s25=5, outcome=Outcome.SHUTDOWN, until_stopped=True)
            task = await self.connected(bench)
            bench.daemon.request_stop()
            await bench.clock.advance(1.0)  # the 500 ms hold and one DCD read
            assert task.done()
            assert (ModemMode.IDLE, b"") == (bench.modem.mode, bench.after_the_call())

        asyncio.run(scenario())

    def test_a_hang_up_that_cannot_finish_is_cut_at_the_stop_limit(self, tmp_path: Path) -> None:
        """A modem that ignores DTR and the escape (S2 = 255) and a 20 s chat timeout for ATH0's OK: answerd
        still exits STOP_HANGUP_S after the call ended (the unit's TimeoutStopSec= must cover it)."""

        async def scenario() -> None:
            bench = Bench(tmp_path, dcd=True, dtr=0, s25=5, outcome=Outcome.SHUTDOWN, until_stopped=True,
                          registers={2: 255}, chat_timeout_s=20.0)  # fmt: skip
            task = await self.connected(bench)
            bench.daemon.request_stop()
            await bench.clock.advance(STOP_HANGUP_S - 0.5)
            assert not task.done()  # still in the hang-up: escaped, waiting for ATH0's OK
            await bench.clock.advance(1.0)
            await asyncio.wait_for(task, 10)

        asyncio.run(scenario())
