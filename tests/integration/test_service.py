"""What systemd sees from the real daemon: sd_notify messages, reload on SIGHUP, the watchdog."""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from .harness import Bench

pytestmark = pytest.mark.integration


def statuses(messages: list[str]) -> list[str]:
    """The notify messages with STATUS= texts shortened to their first word or two, for sequence checks."""
    out = []
    for message in messages:
        if message.startswith("STATUS="):
            words = message.removeprefix("STATUS=").split()
            keep = 2 if words[0] in {"waiting", "hanging", "resetting", "initialising"} else 1
            out.append("STATUS=" + " ".join(words[:keep]))
        elif not message.startswith("MONOTONIC_USEC="):
            out.append(message)
    return out


class TestNotify:
    def test_message_sequence_for_a_call(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """READY=1 only after init; STATUS= follows the call; STOPPING=1 on SIGTERM."""
        bench = make_bench(mode="direct", direct_program=["/bin/true"], rings=2)
        caller = bench.dial()
        bench.wait_event("call.ended", call_id=1)
        assert bench.notify is not None
        bench.notify.wait_for("STATUS=waiting for RING", 10, start=bench.notify.messages.index("READY=1") + 2)
        caller.hang_up()
        assert 0 == bench.stop()
        assert [
            "STATUS=resetting modem",
            "STATUS=initialising modem",
            "READY=1",
            "STATUS=waiting for",
            "STATUS=ringing",
            "STATUS=ringing",
            "STATUS=answering",
            "STATUS=connected",
            "STATUS=connected",
            "STATUS=hanging up",
            "STATUS=resetting modem",
            "STATUS=initialising modem",
            "STATUS=waiting for",
            "STOPPING=1",
            "STATUS=stopping",
        ] == statuses(bench.notify.messages)

    def test_watchdog_pings_while_healthy(self, make_bench: Callable[..., Bench]) -> None:
        """With WATCHDOG_USEC set, WATCHDOG=1 arrives at half the interval while the line is healthy."""
        bench = make_bench(start=False)
        bench.start_sim()
        bench.start_daemon(extra_env={"WATCHDOG_USEC": "200000"})
        assert bench.notify is not None
        ready = bench.notify.wait_for("READY=1", 20)
        first = bench.notify.wait_for("WATCHDOG=1", 5, start=ready)
        bench.notify.wait_for("WATCHDOG=1", 5, start=first + 1)

    def test_no_watchdog_for_another_pid(self, make_bench: Callable[..., Bench]) -> None:
        """WATCHDOG_PID naming another process means the watchdog is not ours: no pings."""
        bench = make_bench(start=False)
        bench.start_sim()
        bench.start_daemon(extra_env={"WATCHDOG_USEC": "100000", "WATCHDOG_PID": "1"})
        assert bench.notify is not None
        bench.notify.wait_for("READY=1", 20)
        bench.wait_event("port.status", status="waiting for RING")
        assert "WATCHDOG=1" not in bench.notify.messages

    def test_watchdog_withheld_while_modem_dead(self, make_bench: Callable[..., Bench]) -> None:
        """A modem that stopped answering gets no pings (systemd will restart the service)."""
        bench = make_bench(["--silent"], start=False, chat_timeout_s=0.3, init_retries=50)
        bench.start_sim()
        bench.start_daemon(extra_env={"WATCHDOG_USEC": "200000"})
        bench.wait_event("modem.init.retry", attempt=2)
        _, withheld = bench.wait_event("watchdog.withheld")
        assert withheld["phase"] in {"retry-wait", "initializing"}
        assert bench.notify is not None
        pings = bench.notify.messages.count("WATCHDOG=1")
        bench.wait_event("modem.init.retry", attempt=4, timeout=20)
        assert pings == bench.notify.messages.count("WATCHDOG=1")


class TestReload:
    def test_valid_reload_applies_when_idle(self, make_bench: Callable[..., Bench]) -> None:
        """SIGHUP with a changed file: RELOADING=1 and MONOTONIC_USEC, re-init, READY=1, new settings used."""
        bench = make_bench(mode="direct", direct_program=["/bin/true"], rings=1)
        bench.port_settings["rings"] = 3
        bench.write_config()
        assert bench.notify is not None
        mark = len(bench.notify.messages)
        assert bench.daemon is not None
        bench.daemon.send_signal(signal.SIGHUP)
        reloading = bench.notify.wait_for("RELOADING=1", 10, start=mark)
        assert bench.notify.messages[reloading + 1].startswith("MONOTONIC_USEC=")
        bench.notify.wait_for("READY=1", 10, start=reloading)
        caller = bench.dial()
        _, ring = bench.wait_event("call.ring", ring=3)
        caller.hang_up()
        assert 3 == ring["of"]

    def test_invalid_reload_keeps_the_old_configuration(self, make_bench: Callable[..., Bench]) -> None:
        """SIGHUP with a broken file: the problems are logged, nothing is reloaded, calls still answered."""
        bench = make_bench(mode="direct", direct_program=["/bin/true"], rings=1)
        (bench.tmp / "answerd.toml").write_text("[ports.sim0]\nrings = 0\nbogus = 1\n")
        assert bench.daemon is not None
        bench.daemon.send_signal(signal.SIGHUP)
        _, failed = bench.wait_event("config.reload_failed")
        assert "ports.sim0.rings" in failed["errors"]
        assert "ports.sim0.bogus: unknown key" in failed["errors"]
        caller = bench.dial()
        _, ended = bench.wait_event("call.ended", call_id=1)
        caller.hang_up()
        assert ("answered", 1) == (ended["outcome"], ended["rings"])
        assert bench.notify is not None
        assert "RELOADING=1" not in bench.notify.messages

    def test_reload_during_a_call_waits_for_its_end(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """A reload that arrives mid-call is applied after the call, not during it."""
        program = tmp_path / "hold"
        program.write_text("#!/bin/sh\nread line\n")
        program.chmod(0o755)
        bench = make_bench(mode="direct", direct_program=[str(program)], rings=1)
        caller = bench.dial()
        bench.wait_event("call.program_started")
        bench.port_settings["rings"] = 2
        bench.write_config()
        assert bench.daemon is not None
        bench.daemon.send_signal(signal.SIGHUP)
        pending_at, _ = bench.wait_event("config.reload_pending")
        assert [] == bench.events("config.reloaded")
        caller.send(b"done\n")  # direct mode is raw: no CR-to-NL mapping
        ended_at, _ = bench.wait_event("call.ended", call_id=1)
        reloaded_at, _ = bench.wait_event("config.reloaded", changed=True)
        assert pending_at < ended_at < reloaded_at
