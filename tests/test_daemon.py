"""PortDaemon driven directly, without a real port: reload robustness and the order of its effects.

Reload (SIGHUP): whatever goes wrong with the new file or its check, the line stays up; the check child and
the builder are replaced where a failure has to be provoked. Effects: what acts on the line goes first, what
only tells (log, sd_notify) follows. The real thing, end to end, is in integration/test_service.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import structlog

from answerd.service import daemon as daemon_module
from answerd.service.daemon import PortDaemon
from answerd.line.lock import UucpLock
from answerd.service.notify import NullNotifier
from answerd.config.settings import Config, PortSettings


class RecordingNotifier(NullNotifier):
    def __init__(self) -> None:
        self.statuses: list[str] = []

    def status(self, text: str) -> None:
        self.statuses.append(text)


@pytest.fixture
def config_file(tmp_path: Path) -> Path:
    path = tmp_path / "answerd.toml"
    path.write_text("[ports.ttyS9]\nrings = 2\n")
    return path


def make_daemon(config_file: Path) -> tuple[PortDaemon, RecordingNotifier]:
    notifier = RecordingNotifier()
    return PortDaemon("ttyS9", PortSettings(), notifier=notifier, config_path=str(config_file)), notifier


def test_a_valid_file_gives_its_settings(config_file: Path) -> None:
    """The normal case: the child checks, the daemon builds this port's settings."""
    daemon, _ = make_daemon(config_file)
    settings = asyncio.run(daemon._checked_settings(str(config_file)))
    assert settings is not None
    assert 2 == settings.rings


@pytest.mark.parametrize(
    "failure",
    [
        OSError(2, "No such file or directory: '/usr/bin/python3.11'"),  # the interpreter went away (upgrade)
        RuntimeError("a bug"),
    ],
)
def test_no_check_no_reload_and_no_crash(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, failure: Exception
) -> None:
    """If the check cannot run, the reload fails, is logged and shown, and the daemon goes on."""

    async def broken(text: str) -> list[str]:
        raise failure

    monkeypatch.setattr(daemon_module, "check_text", broken)
    daemon, notifier = make_daemon(config_file)
    with structlog.testing.capture_logs() as logs:
        assert asyncio.run(daemon._checked_settings(str(config_file))) is None
    assert ["config.reload_failed"] == [entry["event"] for entry in logs]
    assert notifier.statuses[-1].startswith("reload failed")


def test_a_document_the_builder_cannot_use_is_a_failed_reload(
    config_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that accepts what this daemon cannot build (another answerd's gate) does not crash it."""

    def cannot(document: Any) -> Config:
        raise TypeError("PortSettings.__init__() got an unexpected keyword argument 'new_key'")

    monkeypatch.setattr(Config, "from_document", staticmethod(cannot))
    daemon, _ = make_daemon(config_file)
    with structlog.testing.capture_logs() as logs:
        assert asyncio.run(daemon._checked_settings(str(config_file))) is None
    assert "new_key" in logs[-1]["errors"]


def run_reloads(
    config_file: Path, monkeypatch: pytest.MonkeyPatch, during_the_check: Callable[[PortDaemon], None]
) -> list[str]:
    """SIGHUP, then ``during_the_check`` while that check is still running; the texts that were checked."""
    checks: list[str] = []
    release = asyncio.Event()

    async def slow(text: str) -> list[str]:
        checks.append(text)
        await release.wait()
        return []

    monkeypatch.setattr(daemon_module, "check_text", slow)
    daemon, _ = make_daemon(config_file)

    async def scenario() -> None:
        daemon.request_reload()
        await asyncio.sleep(0)
        during_the_check(daemon)
        release.set()
        while daemon._reload_checking:
            await asyncio.sleep(0.01)

    asyncio.run(scenario())
    return checks


def test_sighups_during_a_check_lead_to_one_more_check(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The file may change while it is being checked: a SIGHUP meanwhile means one more check, not several."""

    def edit_and_hup_twice(daemon: PortDaemon) -> None:
        config_file.write_text("[ports.ttyS9]\nrings = 3\n")
        daemon.request_reload()
        daemon.request_reload()

    checks = run_reloads(config_file, monkeypatch, edit_and_hup_twice)
    assert 2 == len(checks)
    assert "rings = 3" in checks[-1]


def test_no_more_checks_once_stopping(config_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A SIGHUP during a check, then SIGTERM: the pending re-check is dropped."""

    def hup_then_stop(daemon: PortDaemon) -> None:
        daemon.request_reload()
        daemon._stopping = True  # what request_stop() sets first

    assert 1 == len(run_reloads(config_file, monkeypatch, hup_then_stop))


# ---------------------------------------------------------------------------------------------- effect order


class FakeLines:
    kind = "none"

    def set_dtr(self, high: bool) -> None:
        pass


class FakePort:
    """Records writes in one timeline with the notifier's messages."""

    def __init__(self, timeline: list[str]) -> None:
        self.timeline = timeline
        self.lines = FakeLines()

    def write(self, data: bytes) -> None:
        self.timeline.append(f"write {data!r}")

    def flush_input(self) -> None:
        pass


class TimelineNotifier(NullNotifier):
    def __init__(self, timeline: list[str]) -> None:
        self.timeline = timeline

    def status(self, text: str) -> None:
        self.timeline.append(f"status {text}")

    def ready(self) -> None:
        self.timeline.append("ready")


def test_ata_goes_out_before_the_rings_log_and_notify(tmp_path: Path) -> None:
    """On the final RING, ATA is written first; the RING's status and log records follow, in their order."""
    timeline: list[str] = []
    settings = PortSettings(
        modem_control="none", toggle_dtr=False, locking=False, nologin_file=str(tmp_path / "nologin"), rings=1
    )
    daemon = PortDaemon("ttyS9", settings, notifier=TimelineNotifier(timeline))

    async def scenario() -> None:
        daemon._port = FakePort(timeline)  # type: ignore[assignment]
        loop = asyncio.get_running_loop()
        daemon._apply(daemon._machine.port_opened(loop.time(), dtr_hangs_up=False))
        for _ in range(10):  # answer every init command until the line is ready
            if "ready" in timeline:
                break
            daemon._on_data(b"\r\nOK\r\n")
        assert "ready" in timeline
        del timeline[:]
        with structlog.testing.capture_logs() as logs:
            daemon._on_data(b"\r\nRING\r\n")
        events = [entry["event"] for entry in logs]
        assert events.index("call.ring") < events.index("modem.send")  # the log keeps the natural order
        daemon._cancel_timer()

    asyncio.run(scenario())
    assert timeline[0] == "write b'ATA\\r'", timeline
    assert timeline[1].startswith("status ringing"), timeline


# ---------------------------------------------------------------------------------------------- idle lock watch


class FakeWatch:
    def __init__(self, names: list[str]) -> None:
        self.names = names

    def read_events(self) -> list[str]:
        return self.names


class CountingLock(UucpLock):
    calls = 0

    def holder(self) -> int | None:
        self.calls += 1
        return None


@pytest.mark.parametrize(
    ("names", "looked"),
    [
        (["LTMP.4242.abc", "LCK..ttyS8"], 0),  # another line of the pool locking: not even a look
        (["LCK..ttyS9"], 1),  # this line: is it a dial-out program?
        ([""], 1),  # the event queue overflowed: names were lost, look
    ],
)
def test_idle_line_looks_only_at_its_own_lock(tmp_path: Path, names: list[str], looked: int) -> None:
    """In a pool every call locks a line; an idle answerd reads its lock file only when it is its own."""
    daemon, _ = make_daemon(tmp_path / "answerd.toml")
    lock = CountingLock("/dev/ttyS9", lock_dir=str(tmp_path))
    daemon._lock = lock
    daemon._lock_watch = FakeWatch(names)  # type: ignore[assignment]
    daemon._idle_watch = True
    daemon._on_lock_dir_event()
    assert looked == lock.calls
