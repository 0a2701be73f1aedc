"""PortDaemon in-process on the simulated modem's core: the line owner, reload and shutdown, deadlines jumped.

Each test builds the real daemon with a manual clock and a port factory that wires a fake port to
:class:`~answerd.sim.SimModem` (tests/simline.py), drives it through its public face (run, request_stop,
request_reload) and the simulated phone line, and looks only at what the outside world sees: the modem's
input, sd_notify messages, log records, lock files and the reload verdict file.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import structlog

from answerd.config import load_config
from answerd.line.owner import LOCK_RECHECK_S
from answerd.service.daemon import PortDaemon
from bench.common import toml_value

from .simline import ManualClock, RecordingNotifier, SimLine

BASE = {"modem_control": "none", "dtr_drop_ms": 50, "rings": 2, "chat_timeout_s": 3.0}


class InProcess:
    """One daemon on one simulated line, in this process."""

    def __init__(self, tmp: Path, **port: Any) -> None:
        self.tmp = tmp
        self.locks = tmp / "locks"
        self.locks.mkdir(exist_ok=True)
        self.config = tmp / "answerd.toml"
        self.lock = self.locks / "LCK..sim0"
        self.clock = ManualClock()
        self.line = SimLine(self.clock)
        self.notifier = RecordingNotifier()
        self.write_config(**port)
        self.daemon = PortDaemon(
            "sim0", load_config(str(self.config)).port("sim0"), notifier=self.notifier, config_path=str(self.config),
            port_factory=self.line.open, clock=self.clock, verdict_dir=str(tmp),
        )  # fmt: skip
        self.task: asyncio.Task[int] | None = None

    def write_config(self, **port: Any) -> None:
        settings = {"lock_dir": str(self.locks), "nologin_file": str(self.tmp / "nologin"), **BASE, **port}
        body = "".join(f"{key} = {toml_value(value)}\n" for key, value in settings.items())
        self.config.write_text(f"[ports.sim0]\n{body}")

    async def start(self) -> None:
        self.task = asyncio.get_running_loop().create_task(self.daemon.run())
        await self.clock.advance(1.0)

    async def stop(self) -> int:
        assert self.task is not None
        self.daemon.request_stop()
        await self.clock.advance(10.0)
        return await asyncio.wait_for(self.task, 10)

    def verdict(self) -> dict[str, Any]:
        return dict(json.loads((self.tmp / "sim0.reload").read_text()))


@asynccontextmanager
async def running(tmp: Path, **port: Any) -> AsyncIterator[InProcess]:
    """A started daemon, stopped (and its signal handlers removed) at the end."""
    bench = InProcess(tmp, **port)
    await bench.start()
    try:
        yield bench
    finally:
        if bench.task is not None and not bench.task.done():
            await bench.stop()


def hold(lock: Path, pid: int) -> None:
    """Write a UUCP lock for ``pid`` (a dial-out program's)."""
    lock.write_text(f"{pid:10d}\n")


class TestLineOwnership:
    def test_the_idle_line_holds_no_lock(self, tmp_path: Path) -> None:
        """Once initialised and idle, answerd gives the line's lock back (a dial-out program may take it)."""

        async def scenario() -> None:
            async with running(tmp_path) as bench:
                assert "READY=1" in bench.notifier.messages
                assert not bench.lock.exists()

        asyncio.run(scenario())

    def test_a_ring_takes_the_lock_before_it_is_read(self, tmp_path: Path) -> None:
        """A RING wakes the idle line: the lock is ours before the machine counts the ring."""

        async def scenario() -> None:
            async with running(tmp_path) as bench:
                bench.line.call()
                await bench.clock.advance(0.1)
                assert f"{os.getpid():10d}\n" == bench.lock.read_text()
                assert "ringing 1/2" in bench.notifier.statuses

        asyncio.run(scenario())

    def test_a_ring_under_a_dial_out_lock_is_not_read(self, tmp_path: Path, sleeper: subprocess.Popen[bytes]) -> None:
        """The idle port becomes readable while a live dial-out holds the lock: answerd yields, reads nothing."""

        async def scenario() -> None:
            async with running(tmp_path) as bench:
                hold(bench.lock, sleeper.pid)
                mark = len(bench.line.written)
                bench.line.call()
                await bench.clock.advance(7.0)
                assert f"line in use by pid {sleeper.pid} (dial-out)" in bench.notifier.statuses
                assert not any(status.startswith("ringing") for status in bench.notifier.statuses)
                assert [] == bench.line.writes_since(mark)

        asyncio.run(scenario())

    def test_the_health_check_deadline_is_jumped(self, tmp_path: Path) -> None:
        """Idle for the health-check interval (jumped, not waited): AT goes out, then the lock is given back."""

        async def scenario() -> None:
            async with running(tmp_path, health_check_s=300.0) as bench:
                mark = len(bench.line.written)
                await bench.clock.advance(300.0)
                assert [b"AT\r"] == bench.line.writes_since(mark)
                assert not bench.lock.exists()

        asyncio.run(scenario())

    def test_the_health_check_yields_to_a_dial_out_and_resumes_after_it(
        self, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        """A due health check finds a dial-out's lock: nothing is written until the holder exits, then re-init."""

        async def scenario() -> None:
            async with running(tmp_path, health_check_s=300.0) as bench:
                hold(bench.lock, sleeper.pid)
                mark = len(bench.line.written)
                with structlog.testing.capture_logs() as logs:
                    await bench.clock.advance(300.0)
                    assert [] == bench.line.writes_since(mark)
                    sleeper.kill()
                    sleeper.wait()
                    await bench.clock.advance(LOCK_RECHECK_S)
                events = [entry["event"] for entry in logs]
                assert events.index("port.dialout") < events.index("port.dialout_ended")
                assert b"ATZ\r" in bench.line.writes_since(mark)
                assert "waiting for RING" == bench.notifier.statuses[-1]

        asyncio.run(scenario())


class TestLineFaults:
    def test_without_a_lockable_directory_nothing_is_written_until_a_recheck_finds_one(self, tmp_path: Path) -> None:
        """Defect 3: no lock can be created: the modem is left alone, the status says why, a timer re-checks."""

        async def scenario() -> None:
            bench = InProcess(tmp_path, lock_dir=str(tmp_path / "later"))
            await bench.start()
            try:
                assert [] == bench.line.written
                assert bench.notifier.statuses[-1].startswith("not answering: cannot create the UUCP lock")
                (tmp_path / "later").mkdir()
                await bench.clock.advance(LOCK_RECHECK_S)
                assert "waiting for RING" == bench.notifier.statuses[-1]
            finally:
                assert 0 == await bench.stop()

        asyncio.run(scenario())

    def test_a_reload_naming_a_usable_lock_dir_ends_the_wait_at_once(self, tmp_path: Path) -> None:
        """Waiting for a lock directory that cannot be used, a reload that fixes it applies now, not at a re-check."""

        async def scenario() -> None:
            bench = InProcess(tmp_path, lock_dir=str(tmp_path / "missing"))
            await bench.start()
            try:
                assert bench.notifier.statuses[-1].startswith("not answering")
                bench.write_config()  # the lock directory that exists
                bench.daemon.request_reload()
                await bench.clock.advance(1.0)  # well before a re-check of the old directory
                assert "waiting for RING" == bench.notifier.statuses[-1]
            finally:
                assert 0 == await bench.stop()

        asyncio.run(scenario())

    def test_a_ring_on_a_device_that_is_gone_is_not_answered(self, tmp_path: Path) -> None:
        """Defect 8: the device went away while idle: no ATA on the stale port; the status says what it waits for."""

        async def scenario() -> None:
            async with running(tmp_path, rings=1) as bench:
                bench.line.present = False
                mark = len(bench.line.written)
                bench.line.call()
                await bench.clock.advance(1.0)
                assert "waiting for /dev/sim0 to come back" in bench.notifier.statuses
                assert [] == bench.line.writes_since(mark)
                bench.line.present = True
                await bench.clock.advance(10.0)
                assert b"ATA\r" in bench.line.writes_since(mark)

        asyncio.run(scenario())

    def test_stop_with_a_dead_device_exits_0_and_removes_the_lock(self, tmp_path: Path) -> None:
        """Defect 9: the device dies while answerd holds the line; SIGTERM still exits 0 and frees the lock."""

        async def scenario() -> None:
            bench = InProcess(tmp_path, rings=5)
            await bench.start()
            bench.line.call()
            await bench.clock.advance(0.1)
            assert bench.lock.exists()
            bench.line.dead = True
            with structlog.testing.capture_logs() as logs:
                assert 0 == await bench.stop()
            assert "port.dtr_failed" in [entry["event"] for entry in logs]
            assert not bench.lock.exists()

        asyncio.run(scenario())


class TestReload:
    def test_a_rejected_file_keeps_the_running_configuration(self, tmp_path: Path) -> None:
        """An invalid file: the verdict lists its errors, config.reload_failed is logged, the old settings answer."""

        async def scenario() -> None:
            async with running(tmp_path) as bench:
                bench.config.write_text("[ports.sim0]\nrings = 0\n")
                with structlog.testing.capture_logs() as logs:
                    bench.daemon.request_reload()
                verdict = bench.verdict()
                assert (False, 1) == (verdict["accepted"], verdict["generation"])
                assert "ports.sim0.rings" in verdict["errors"][0]
                assert ["config.reload_failed"] == [entry["event"] for entry in logs]
                bench.line.call()
                await bench.clock.advance(0.1)
                assert "ringing 1/2" in bench.notifier.statuses

        asyncio.run(scenario())

    def test_a_valid_file_waits_for_the_call_to_end(self, tmp_path: Path) -> None:
        """A reload while a call rings is accepted at once and applied only once the line is idle again."""

        async def scenario() -> None:
            async with running(tmp_path, rings=5) as bench:
                bench.line.call()
                await bench.clock.advance(0.1)
                bench.write_config(rings=3)
                bench.daemon.request_reload()
                assert bench.verdict()["accepted"]
                assert "RELOADING=1" not in bench.notifier.messages
                bench.line.caller_hangs_up()
                await bench.clock.advance(30.0)  # the machine notices the ringing has stopped
                reloading = bench.notifier.messages.index("RELOADING=1")
                assert "READY=1" in bench.notifier.messages[reloading:]
                bench.line.call()
                await bench.clock.advance(0.1)
                assert "ringing 1/3" == bench.notifier.statuses[-1]

        asyncio.run(scenario())


def test_ata_is_written_before_the_answering_status(tmp_path: Path) -> None:
    """Effects are carried out in the core's order: the answer command before the status that reports it."""

    async def scenario() -> None:
        async with running(tmp_path, rings=1) as bench:
            seen: list[str] = []
            original = bench.notifier.status

            def status(text: str) -> None:
                seen.append(f"{text} after {len(bench.line.written)} writes")
                original(text)

            bench.notifier.status = status  # type: ignore[method-assign]
            mark = len(bench.line.written)
            bench.line.call()
            await bench.clock.advance(0.1)
            assert [b"ATA\r"] == bench.line.writes_since(mark)
            assert f"answering after {mark + 1} writes" in seen

    asyncio.run(scenario())
