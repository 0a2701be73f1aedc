"""The session a killed answerd left on its line: proved its own by the dead daemon's state file, then hung up."""

from __future__ import annotations

import asyncio
import dataclasses
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from answerd.line import leftover
from answerd.line.leftover import ProcessIdentity
from answerd.line.owner import LineOwner
from answerd.service.notify import NullNotifier
from answerd.service.state import StateKeeper

from .helpers import alive, wait_until
from .simline import ManualClock, settle

#: A call's program that survives SIGHUP (a session kept alive on purpose): only SIGKILL ends it.
IGNORES_SIGHUP = "import signal, sys; signal.signal(signal.SIGHUP, signal.SIG_IGN); print(flush=True); sys.stdin.read()"


@pytest.fixture(name="stubborn")
def _stubborn() -> Iterator[subprocess.Popen[bytes]]:
    """A session leader (as setsid makes the call's program) that ignores SIGHUP."""
    proc = subprocess.Popen([sys.executable, "-c", IGNORES_SIGHUP], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            start_new_session=True)  # fmt: skip
    assert proc.stdout is not None
    proc.stdout.readline()  # SIGHUP is ignored from here on
    yield proc
    proc.kill()
    proc.wait()


def keeper(directory: Path) -> StateKeeper:
    return StateKeeper("sim0", NullNotifier(), directory=str(directory), phase=lambda: "connected",
                       busy_file=lambda: "/nonexistent", log=structlog.get_logger())  # fmt: skip


class TestIdentity:
    def test_the_running_process_is_itself(self, sleeper: subprocess.Popen[bytes]) -> None:
        identity = ProcessIdentity.of(sleeper.pid)
        assert identity is not None
        assert identity.running()
        assert identity == ProcessIdentity.from_json(identity.to_json())

    @pytest.mark.parametrize("change", [{"start_ticks": 1}, {"boot_id": "another-boot"}])
    def test_a_reused_pid_or_another_boot_is_not_it(self, sleeper: subprocess.Popen[bytes], change: Any) -> None:
        """The same pid with another start time (reused since) or from another boot: not the program recorded."""
        identity = ProcessIdentity.of(sleeper.pid)
        assert identity is not None
        assert not dataclasses.replace(identity, **change).running()

    def test_an_exited_process_is_not_running_though_not_reaped(self, sleeper: subprocess.Popen[bytes]) -> None:
        identity = ProcessIdentity.of(sleeper.pid)
        assert identity is not None
        sleeper.kill()  # a zombie until the fixture reaps it
        wait_until(lambda: not alive(sleeper.pid), 5, "the sleeper to exit")
        assert not identity.running()

    @pytest.mark.parametrize(
        "raw",
        [None, [], {"pid": "12", "start_ticks": 1, "boot_id": "b"}, {"pid": True, "start_ticks": 1, "boot_id": "b"},
         {"pid": 1, "start_ticks": 1, "boot_id": "b"}, {"pid": 12, "start_ticks": -1, "boot_id": "b"},
         {"pid": 12, "start_ticks": 1, "boot_id": ""}, {"pid": 12, "start_ticks": 1.5, "boot_id": "b"}],
    )  # fmt: skip
    def test_a_state_file_value_of_any_other_shape_names_nobody(self, raw: object) -> None:
        """The file is input: pid 1, a negative start, strings for numbers, ... are nobody, never a crash."""
        assert ProcessIdentity.from_json(raw) is None


class TestTheDeadDaemonsFile:
    def test_a_dead_daemons_file_names_its_calls_program(
        self, tmp_path: Path, sleeper: subprocess.Popen[bytes]
    ) -> None:
        """Written when the program starts; read by the next daemon on the port once the lock is gone."""
        program = ProcessIdentity.of(sleeper.pid)
        dead = keeper(tmp_path)
        dead.start()
        dead.program(program)
        assert keeper(tmp_path).left_behind() is None  # its daemon still holds the file: not left behind
        dead.close()  # what SIGKILL does to the lock
        assert program == keeper(tmp_path).left_behind()

    def test_a_program_that_ended_or_a_clean_stop_leaves_nobody(self, tmp_path: Path) -> None:
        program = ProcessIdentity(4242, 1, "boot")
        dead = keeper(tmp_path)
        dead.start()
        dead.program(program)
        dead.program(None)  # the call's program ended: answerd holds the line again
        dead.close()
        assert keeper(tmp_path).left_behind() is None
        stopped = keeper(tmp_path)
        stopped.start()
        stopped.program(program)
        stopped.stopped(0, None)
        assert keeper(tmp_path).left_behind() is None


class TestHangUp:
    def test_a_session_that_ignores_sighup_is_killed_after_the_grace(self, stubborn: subprocess.Popen[bytes]) -> None:
        """SIGHUP first; still there when the grace time is over (on the clock): SIGKILL; one record."""
        identity = ProcessIdentity.of(stubborn.pid)
        assert identity is not None
        clock = ManualClock()

        async def scenario() -> None:
            hanging_up = asyncio.ensure_future(
                leftover.hang_up(identity, device=None, grace_s=3.0, clock=clock, log=structlog.get_logger())
            )
            await settle()
            assert not hanging_up.done()  # SIGHUP ignored: the grace time runs
            assert alive(stubborn.pid)
            await clock.advance(3.0)
            assert await asyncio.wait_for(hanging_up, 10)

        with structlog.testing.capture_logs() as logs:
            asyncio.run(scenario())
        assert -signal.SIGKILL == stubborn.wait(10)
        (record,) = [e for e in logs if e["event"] == "port.leftover_session_hung_up"]
        assert (identity.pid, True, True, "warning") == (record["pid"], record["killed"], record["gone"],
                                                          record["log_level"])  # fmt: skip

    def test_a_process_that_is_not_the_recorded_one_is_left_alone(
        self, tmp_path: Path, stubborn: subprocess.Popen[bytes]
    ) -> None:
        """The pid reused by another process since: nothing is signalled, nothing hung up, nothing logged."""
        identity = ProcessIdentity.of(stubborn.pid)
        assert identity is not None
        reused = dataclasses.replace(identity, start_ticks=identity.start_ticks - 1)
        owner = LineOwner(str(tmp_path / "ttyS9"), lock_dir=str(tmp_path), locking=True, clock=ManualClock(),
                          log=structlog.get_logger(), show=lambda status: None)  # fmt: skip
        with structlog.testing.capture_logs() as logs:
            asyncio.run(owner.hang_up_leftover(reused, grace_s=3.0))
            assert not asyncio.run(
                leftover.hang_up(reused, device=None, grace_s=3.0, clock=ManualClock(), log=structlog.get_logger())
            )
        assert [] == logs
        assert stubborn.poll() is None
