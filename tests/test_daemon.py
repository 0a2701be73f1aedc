"""PortDaemon driven directly, without a real port: reload robustness and the order of its effects.

Reload (SIGHUP): whatever goes wrong with the new file, the line stays up. Effects: what acts on the line
goes first, what only tells (log, sd_notify) follows. The real thing, end to end, is in integration/test_service.py.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import structlog

from answerd.config import PortSettings
from answerd.line.lock import UucpLock
from answerd.service.daemon import PortDaemon
from answerd.service.notify import NullNotifier


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
    """The normal case: the file is checked and this port's settings come back."""
    daemon, _ = make_daemon(config_file)
    settings = asyncio.run(daemon._checked_settings(str(config_file)))
    assert settings is not None
    assert 2 == settings.rings


def test_an_invalid_file_is_a_failed_reload(config_file: Path) -> None:
    """A file the check refuses gives no settings; the reload is logged as failed and shown in the status."""
    config_file.write_text("[ports.ttyS9]\ninit_chat = []\n")
    daemon, notifier = make_daemon(config_file)
    with structlog.testing.capture_logs() as logs:
        assert asyncio.run(daemon._checked_settings(str(config_file))) is None
    assert ["config.reload_failed"] == [entry["event"] for entry in logs]
    assert notifier.statuses[-1].startswith("reload failed")


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
