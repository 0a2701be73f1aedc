"""The per-port state file (answerd/service/state.py), ``answerd status`` on it, and the status truths.

The keeper is driven through its public face (what the daemon calls) and the file is looked at only through
the reader ``answerd status`` uses, or as raw bytes where the file's form is the point. Liveness is tested
with real processes: one that is killed, one that leaves a child behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import structlog

from answerd.cli import main
from answerd.config import load_config
from answerd.service.daemon import PortDaemon
from answerd.service.state import MAX_STATE_BYTES, MAX_TEXT, StateKeeper, read_port, state_path
from answerd.service.status import EXIT_GONE, EXIT_RUNNING, EXIT_UNKNOWN, count_calls, exit_code, gather, render_table
from answerd.sim import SimSettings
from bench.common import toml_value

from .simline import ManualClock, RecordingNotifier, SimLine

HOSTILE = "\x1b]0;pwned\x07\x1b[2J5551234\r\nEVIL\x00" + "9" * 10_000


class Machine:
    """Stands in for the answer machine's phase, which the keeper reads."""

    phase = "opening"


def keeper(tmp_path: Path, notifier: RecordingNotifier | None = None, busy: Path | None = None) -> StateKeeper:
    """A keeper for port sim0 in ``tmp_path``, its phase set through ``keeper.machine``."""
    machine = Machine()
    kept = StateKeeper(
        "sim0", notifier or RecordingNotifier(), directory=str(tmp_path), phase=lambda: machine.phase,
        busy_file=lambda: str(busy or tmp_path / "nologin.sim0"), log=structlog.get_logger("test"),
        wall=lambda: 1_700_000_000.0,
    )  # fmt: skip
    kept.machine = machine  # type: ignore[attr-defined]
    return kept


def file_of(tmp_path: Path) -> dict[str, Any]:
    """The raw state file of sim0."""
    return dict(json.loads(Path(state_path(str(tmp_path), "sim0")).read_bytes()))


class TestTheFile:
    def test_each_change_replaces_the_file_with_a_new_one_and_leaves_nothing_else(self, tmp_path: Path) -> None:
        """A state change renames a new file over the old (a new inode), and no temporary file stays behind."""
        kept = keeper(tmp_path)
        kept.start()
        first = os.stat(state_path(str(tmp_path), "sim0")).st_ino
        kept.machine.phase = "idle"  # type: ignore[attr-defined]
        kept.status("waiting for RING")
        assert first != os.stat(state_path(str(tmp_path), "sim0")).st_ino
        assert ["sim0.state"] == os.listdir(tmp_path)
        assert ("idle", "waiting for RING") == (file_of(tmp_path)["state"], file_of(tmp_path)["status"])
        kept.close()

    def test_an_unchanged_status_is_not_written_again(self, tmp_path: Path) -> None:
        """The same state and text twice is one write: the file is never rewritten for nothing."""
        kept = keeper(tmp_path)
        kept.start()
        kept.machine.phase = "idle"  # type: ignore[attr-defined]
        kept.status("waiting for RING")
        inode = os.stat(state_path(str(tmp_path), "sim0")).st_ino
        kept.status("waiting for RING")
        assert inode == os.stat(state_path(str(tmp_path), "sim0")).st_ino
        kept.close()

    def test_calls_are_counted_by_outcome_and_the_last_is_kept(self, tmp_path: Path) -> None:
        """Two carrier-lost calls and one abandoned: counts by outcome, the last call's outcome and caller."""
        kept = keeper(tmp_path)
        kept.start()
        for outcome in ("carrier-lost", "abandoned", "carrier-lost"):
            kept.call_ended(outcome, "5551234", None)
        data = file_of(tmp_path)
        assert {"carrier-lost": 2, "abandoned": 1} == data["calls"]
        assert ("carrier-lost", "5551234") == (data["last_call"]["outcome"], data["last_call"]["caller"])
        kept.close()

    def test_an_unwritable_directory_costs_one_warning_not_the_line(self, tmp_path: Path) -> None:
        """A directory that cannot be made is logged once (port.state_unwritable) and STATUS= still goes out."""
        notifier = RecordingNotifier()
        (tmp_path / "file").write_text("")
        kept = StateKeeper("sim0", notifier, directory=str(tmp_path / "file" / "sub"), phase=lambda: "idle",
                           busy_file=lambda: "/nonexistent", log=structlog.get_logger("test"))  # fmt: skip
        with structlog.testing.capture_logs() as logs:
            kept.start()
            kept.status("waiting for RING")
            kept.status("ringing 1/2")
        assert ["port.state_unwritable"] == [entry["event"] for entry in logs]
        assert ["waiting for RING", "ringing 1/2"] == notifier.statuses

    def test_changes_within_one_loop_iteration_are_one_replacement_at_the_next(self, tmp_path: Path) -> None:
        """In the event loop, CONNECT's status, caller and rate (one iteration) replace the file once, next."""

        async def scenario() -> None:
            kept = keeper(tmp_path)
            kept.start()
            await asyncio.sleep(0)
            before = os.stat(state_path(str(tmp_path), "sim0")).st_ino
            kept.machine.phase = "connected"  # type: ignore[attr-defined]
            kept.status("connected 33600")
            kept.caller("5551234", None)
            kept.connected("33600", 33600, ())
            assert before == os.stat(state_path(str(tmp_path), "sim0")).st_ino  # nothing replaced yet
            await asyncio.sleep(0)
            data = file_of(tmp_path)
            assert ("connected", "5551234", 33600) == (data["state"], data["caller"], data["connect_rate"])
            kept.close()

        asyncio.run(scenario())

    def test_stopped_in_the_event_loop_writes_its_last_words_at_once_and_nothing_after(self, tmp_path: Path) -> None:
        """stopped() does not wait for an iteration that may never come, and a closed keeper writes no more."""

        async def scenario() -> None:
            kept = keeper(tmp_path)
            kept.start()
            kept.machine.phase = "idle"  # type: ignore[attr-defined]
            kept.status("waiting for RING")
            kept.stopped(69, "modem did not initialise")
            view = read_port(str(tmp_path), "sim0")
            assert (False, "failed") == (view.alive, view.data["state"])
            await asyncio.sleep(0)
            assert not read_port(str(tmp_path), "sim0").alive  # no new, locked file from a late flush
            assert ["sim0.state"] == os.listdir(tmp_path)

        asyncio.run(scenario())


class TestLiveness:
    def test_a_running_keeper_is_alive_and_a_closed_one_is_gone_with_its_last_words(self, tmp_path: Path) -> None:
        """While the keeper holds the file the port is alive; after stopped() it is gone, its last state kept."""
        kept = keeper(tmp_path)
        kept.start()
        assert read_port(str(tmp_path), "sim0").alive
        kept.stopped(69, "modem did not initialise")
        view = read_port(str(tmp_path), "sim0")
        assert (False, "gone", "failed") == (view.alive, view.state, view.data["state"])
        assert {"code": 69, "reason": "modem did not initialise"} == view.data["exit"]

    def test_a_killed_daemon_shows_as_gone_even_with_a_child_left_running(self, tmp_path: Path) -> None:
        """SIGKILL writes nothing, yet the port shows as gone: the lock went with it, not to its child program."""
        script = (
            "import os, subprocess, sys, structlog\n"
            "from answerd.service.state import StateKeeper\n"
            "from answerd.service.notify import NullNotifier\n"
            f"k = StateKeeper('sim0', NullNotifier(), directory={str(tmp_path)!r}, phase=lambda: 'connected',\n"
            "                busy_file=lambda: '/nonexistent', log=structlog.get_logger())\n"
            "k.start(); k.status('connected 33600 user=alice program=login')\n"
            "child = subprocess.Popen(['sleep', '60'], close_fds=False)\n"
            "print(child.pid, flush=True); sys.stdin.read()\n"
        )
        daemon = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        assert daemon.stdout is not None
        child = int(daemon.stdout.readline())
        try:
            assert read_port(str(tmp_path), "sim0").alive
            daemon.kill()
            daemon.wait()
            view = read_port(str(tmp_path), "sim0")
            assert (False, "gone", "connected") == (view.alive, view.state, view.data["state"])
            os.kill(child, 0)  # the child still runs: it did not keep the lock
        finally:
            os.kill(child, signal.SIGKILL)

    def test_a_port_without_a_file_is_not_running(self, tmp_path: Path) -> None:
        """A named port that never had a daemon is unknown with the reason, and status exits 3."""
        views = gather(str(tmp_path), ["ttyS9"])
        assert ("unknown", False) == (views[0].state, views[0].alive)
        assert views[0].problem is not None
        assert "no state file" in views[0].problem
        assert EXIT_GONE == exit_code(views)


class TestHostile:
    def test_values_from_the_line_are_printable_and_bounded_in_the_file(self, tmp_path: Path) -> None:
        """Caller ID, name and CONNECT with escape sequences and 10 kB come out printable, MAX_TEXT at most."""
        kept = keeper(tmp_path)
        kept.start()
        kept.caller(HOSTILE, HOSTILE)
        kept.connected(HOSTILE, 33600, [("CARRIER", HOSTILE)])
        for value in (file_of(tmp_path)[key] for key in ("caller", "caller_name", "connect", "line_rate")):
            assert value.isprintable()
            assert len(value) <= MAX_TEXT
        assert MAX_STATE_BYTES > len(Path(state_path(str(tmp_path), "sim0")).read_bytes())
        kept.close()

    def test_a_hostile_file_is_cleaned_when_read(self, tmp_path: Path) -> None:
        """A file that is not ours: control characters, wrong types and stray keys never reach the output."""
        hostile = HOSTILE[:3000]  # three of them stay under the size limit
        Path(state_path(str(tmp_path), "sim0")).write_text(json.dumps({
            "state": "idle", "caller": hostile, "pid": "1; rm -rf /", "since": float("inf"), "calls": {hostile: 2,
            "x": "many", "y": True}, "last_call": {"outcome": hostile, "at": []}, "extra": "x",
        }))  # fmt: skip
        view = read_port(str(tmp_path), "sim0")
        table = render_table([view], None, now=lambda: 1_700_000_000.0)
        assert all(line.isprintable() for line in table.splitlines())
        assert (None, None, False) == (view.data["pid"], view.data["since"], "extra" in view.data)
        assert [2] == list(view.data["calls"].values())

    @pytest.mark.parametrize("kind", ["too-long", "symlink", "fifo", "not-json"])
    def test_a_file_that_is_not_a_state_file_is_a_problem_not_a_crash(self, tmp_path: Path, kind: str) -> None:
        """Oversized, a symlink, a FIFO (no blocking read) or junk: the port is unknown and status exits 4."""
        path = Path(state_path(str(tmp_path), "sim0"))
        if kind == "too-long":
            path.write_text('{"state": "' + "x" * MAX_STATE_BYTES + '"}')
        elif kind == "symlink":
            (tmp_path / "elsewhere").write_text('{"state": "idle"}')
            path.symlink_to(tmp_path / "elsewhere")
        elif kind == "fifo":
            os.mkfifo(path)
        else:
            path.write_bytes(b"\x00\xff not json")
        view = read_port(str(tmp_path), "sim0")
        assert ("unknown", EXIT_UNKNOWN) == (view.state, exit_code([view]))


class TestTruths:
    def test_an_idle_line_that_is_busied_out_says_so(self, tmp_path: Path) -> None:
        """Idle with the nologin file present: STATUS= and the file say busied out, not waiting for RING."""
        notifier = RecordingNotifier()
        (tmp_path / "nologin.sim0").touch()
        kept = keeper(tmp_path, notifier)
        kept.start()
        kept.machine.phase = "idle"  # type: ignore[attr-defined]
        kept.status("waiting for RING")
        assert [f"busied out ({tmp_path}/nologin.sim0 exists), not answering"] == notifier.statuses
        assert "busied-out" == read_port(str(tmp_path), "sim0").state
        kept.close()

    def test_busy_out_is_read_as_it_is_now(self, tmp_path: Path) -> None:
        """The nologin file made after the line went idle: status shows busied-out; removed: idle again."""
        kept = keeper(tmp_path)
        kept.start()
        kept.machine.phase = "idle"  # type: ignore[attr-defined]
        kept.status("waiting for RING")
        (tmp_path / "nologin.sim0").touch()
        assert "busied-out" == read_port(str(tmp_path), "sim0").state
        (tmp_path / "nologin.sim0").unlink()
        assert ("idle", "waiting for RING") == (read_port(str(tmp_path), "sim0").state,
                                                read_port(str(tmp_path), "sim0").data["status"])  # fmt: skip
        kept.close()

    def test_a_failure_is_the_last_status_not_stopping(self, tmp_path: Path) -> None:
        """stopped(69, why) after "stopping": STATUS= ends with the exit code and why, as does the file."""
        notifier = RecordingNotifier()
        kept = keeper(tmp_path, notifier)
        kept.start()
        kept.machine.phase = "stopped"  # type: ignore[attr-defined]
        kept.status("stopping")
        kept.stopped(69, "modem did not initialise after 2 attempts")
        assert "failed (exit 69): modem did not initialise after 2 attempts" == notifier.statuses[-1]
        assert "failed" == file_of(tmp_path)["state"]


# ---------------------------------------------------------------------- the daemon in-process


def daemon(tmp_path: Path, line: SimLine, clock: ManualClock, notifier: RecordingNotifier, **port: Any) -> PortDaemon:
    """The real PortDaemon on ``line``, its state file in ``tmp_path``."""
    settings = {"lock_dir": str(tmp_path), "nologin_file": str(tmp_path / "nologin.{port}"),
                "modem_control": "none", "dtr_drop_ms": 50, "chat_timeout_s": 1.0, **port}  # fmt: skip
    config = tmp_path / "answerd.toml"
    config.write_text("[ports.sim0]\n" + "".join(f"{k} = {toml_value(v)}\n" for k, v in settings.items()))
    return PortDaemon("sim0", load_config(str(config)).port("sim0"), notifier=notifier, port_factory=line.open,
                      clock=clock, verdict_dir=str(tmp_path))  # fmt: skip


class TestDaemonTruths:
    def test_a_missing_device_ends_with_why_not_stopping(self, tmp_path: Path) -> None:
        """No device at start: exit 69, the last STATUS= is the failure with the device's error, never "stopping"."""
        clock, notifier = ManualClock(), RecordingNotifier()
        line = SimLine(clock)
        line.present = False

        async def scenario() -> int:
            return await daemon(tmp_path, line, clock, notifier).run()

        assert 69 == asyncio.run(scenario())
        assert notifier.statuses[-1].startswith("failed (exit 69): cannot open ")
        view = read_port(str(tmp_path), "sim0")
        assert ("gone", 69) == (view.state, view.data["exit"]["code"])

    def test_a_dead_modem_ends_with_why_not_stopping(self, tmp_path: Path) -> None:
        """A modem that never answers: exit 69 and the last STATUS= says the modem did not initialise."""
        clock, notifier = ManualClock(), RecordingNotifier()
        line = SimLine(clock, SimSettings(silent=True))

        async def scenario() -> int:
            task = asyncio.get_running_loop().create_task(daemon(tmp_path, line, clock, notifier, init_retries=2).run())
            await clock.advance(60.0)
            return await asyncio.wait_for(task, 10)

        assert 69 == asyncio.run(scenario())
        assert notifier.statuses[-1].startswith("failed (exit 69): modem did not initialise after 2 attempts")

    def test_a_busied_out_idle_daemon_says_so_and_counts_the_call(self, tmp_path: Path) -> None:
        """With the nologin file, the idle daemon's STATUS= is busied out; a call rings out as busy-out."""
        clock, notifier = ManualClock(), RecordingNotifier()
        line = SimLine(clock, SimSettings(ring_interval=3.0, answer_delay=0.5, max_rings=2))
        (tmp_path / "nologin.sim0").touch()

        async def scenario() -> None:
            port = daemon(tmp_path, line, clock, notifier, rings=1, ring_gap_s=8.0)
            task = asyncio.get_running_loop().create_task(port.run())
            await clock.advance(1.0)
            assert notifier.statuses[-1].startswith("busied out (")
            assert "waiting for RING" not in notifier.statuses
            line.call()
            await clock.advance(30.0)
            port.request_stop()
            await clock.advance(10.0)
            assert 0 == await asyncio.wait_for(task, 10)

        asyncio.run(scenario())
        data = read_port(str(tmp_path), "sim0").data
        assert ({"busy-out": 1}, "stopped") == (data["calls"], data["state"])


class TestCommand:
    def test_status_exit_codes_and_json_for_a_running_and_a_gone_port(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Two ports, one running and one gone: --json says which, and the exit code is 3 (0 for the live one)."""
        running = keeper(tmp_path)
        running.start()
        gone = StateKeeper("ttyS1", RecordingNotifier(), directory=str(tmp_path), phase=lambda: "idle",
                           busy_file=lambda: "/nonexistent", log=structlog.get_logger("test"))  # fmt: skip
        gone.start()
        gone.stopped(0, None)
        monkeypatch.setenv("RUNTIME_DIRECTORY", str(tmp_path))
        assert EXIT_GONE == main(["status", "--json"])
        ports = {item["port"]: item for item in json.loads(capsys.readouterr().out)["ports"]}
        assert ((True, "starting"), (False, "gone", "stopped")) == (
            (ports["sim0"]["alive"], ports["sim0"]["state"]),
            (ports["ttyS1"]["alive"], ports["ttyS1"]["state"], ports["ttyS1"]["last_state"]),
        )
        assert EXIT_RUNNING == main(["status", "sim0"])
        assert "sim0" in capsys.readouterr().out
        running.close()


def fake_journalctl(tmp_path: Path, body: str) -> str:
    """An executable standing in for journalctl that runs ``body`` (sh) and records its argv."""
    program = tmp_path / "journalctl"
    program.write_text(f'#!/bin/sh\nprintf "%s\\n" "$@" > {tmp_path}/argv\n{body}\n')
    program.chmod(0o755)
    return str(program)


class TestJournal:
    def test_calls_are_counted_by_port_and_outcome(self, tmp_path: Path) -> None:
        """JSON records of two ports come out as counts per port and outcome; journalctl gets --since as one arg."""
        records = [{"PORT": "sim0", "OUTCOME": "answered"}, {"PORT": "sim0", "OUTCOME": "answered"},
                   {"PORT": "ttyS1", "OUTCOME": [98, 117, 115, 121, 45, 111, 117, 116]}]  # fmt: skip
        lines = "\n".join(json.dumps(r) for r in records)
        counts = count_calls("-1h; rm x", journalctl=fake_journalctl(tmp_path, f"cat <<'EOF'\n{lines}\nnot json\nEOF"))
        assert {"sim0": {"answered": 2}, "ttyS1": {"busy-out": 1}} == counts.by_port
        assert counts.note is None
        assert "--since=-1h; rm x" in (tmp_path / "argv").read_text().splitlines()

    @pytest.mark.parametrize(
        ("body", "said"),
        [("exit 0", "has no answerd call records"), ("echo 'Failed to parse timestamp' >&2; exit 1", "parse")],
    )
    def test_no_records_or_a_failure_is_said_not_raised(self, tmp_path: Path, body: str, said: str) -> None:
        """An empty journal or a journalctl error is a note for the reader, with no counts."""
        counts = count_calls("yesterday", journalctl=fake_journalctl(tmp_path, body))
        assert ({}, True) == (counts.by_port, counts.note is not None and said in counts.note)

    def test_a_missing_journalctl_is_said(self, tmp_path: Path) -> None:
        """journalctl that cannot be run: a note that says so."""
        counts = count_calls("yesterday", journalctl=str(tmp_path / "missing"))
        assert counts.note is not None
        assert "cannot run" in counts.note
