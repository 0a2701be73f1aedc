"""What systemd sees from the real daemon: sd_notify messages, reload (SIGHUP, `answerd reload`), the watchdog."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import answerd

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
            "STATUS=stopped",
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


def answerd_reload(bench: Bench) -> subprocess.CompletedProcess[str]:
    """``answerd reload`` for the bench's daemon, as ExecReload= runs it (with $MAINPID)."""
    assert bench.daemon is not None
    return subprocess.run(
        [sys.executable, "-m", "answerd", "reload", "--port", "sim0", "--pid", str(bench.daemon.pid)],
        env={**os.environ, "RUNTIME_DIRECTORY": str(bench.tmp)}, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip


class TestReloadCommand:
    def test_an_accepted_file_is_reported_and_applied(self, make_bench: Callable[..., Bench]) -> None:
        """`answerd reload` exits 0 for a valid file, which the daemon then applies (RELOADING=1, READY=1)."""
        bench = make_bench(mode="direct", direct_program=["/bin/true"], rings=1)
        bench.port_settings["rings"] = 3
        bench.write_config()
        assert bench.notify is not None
        mark = len(bench.notify.messages)
        done = answerd_reload(bench)
        assert 0 == done.returncode, done.stderr
        assert "accepted" in done.stdout
        bench.notify.wait_for("READY=1", 10, start=bench.notify.wait_for("RELOADING=1", 10, start=mark))

    def test_a_rejected_file_fails_the_command_and_keeps_the_old_configuration(
        self, make_bench: Callable[..., Bench]
    ) -> None:
        """`answerd reload` exits 6 and prints every problem; the daemon logs them and answers as before."""
        bench = make_bench(mode="direct", direct_program=["/bin/true"], rings=1)
        (bench.tmp / "answerd.toml").write_text("[ports.sim0]\nrings = 0\nbogus = 1\n")
        done = answerd_reload(bench)
        assert 6 == done.returncode, done.stderr
        assert "ports.sim0.rings" in done.stderr
        assert "ports.sim0.bogus: unknown key" in done.stderr
        _, failed = bench.wait_event("config.reload_failed")
        assert "ports.sim0.bogus: unknown key" in failed["errors"]
        caller = bench.dial()
        _, ended = bench.wait_event("call.ended", call_id=1)
        caller.hang_up()
        assert ("answered", 1) == (ended["outcome"], ended["rings"])

    def test_no_daemon_is_an_error_not_a_verdict(self, tmp_path: Path) -> None:
        """With no answerd running for the port, `answerd reload` says so and exits 69."""
        done = subprocess.run(
            [sys.executable, "-m", "answerd", "reload", "--port", "nowhere"],
            env={**os.environ, "RUNTIME_DIRECTORY": str(tmp_path)}, capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert 69 == done.returncode
        assert "no answerd for port nowhere" in done.stderr

    def test_reload_after_an_upgrade_works_in_the_old_process(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """The daemon's package is removed from disk (an upgrade): reloads are still checked and applied."""
        installed = tmp_path / "site"
        shutil.copytree(
            Path(answerd.__file__).parent, installed / "answerd", ignore=shutil.ignore_patterns("__pycache__")
        )
        init = installed / "answerd" / "__init__.py"
        init.write_text(init.read_text() + '\n__version__ = "0.0.0+old"\n')
        bench = make_bench(mode="direct", direct_program=["/bin/true"], rings=1, start=False)
        bench.start_sim()
        bench.start_daemon(extra_env={"PYTHONPATH": str(installed), "PYTHONSAFEPATH": "1"})
        assert bench.notify is not None
        bench.notify.wait_for("READY=1", 20)
        _, starting = bench.wait_event("port.starting")
        assert "0.0.0+old" == starting["version"]  # it runs the copy, not this checkout
        shutil.rmtree(installed / "answerd")  # the old files are gone; the next start would run new ones
        (bench.tmp / "answerd.toml").write_text("[ports.sim0]\nrings = 0\n")
        rejected = answerd_reload(bench)
        assert 6 == rejected.returncode, rejected.stderr
        assert "ports.sim0.rings" in rejected.stderr
        bench.port_settings["rings"] = 2
        bench.write_config()
        mark = len(bench.notify.messages)
        accepted = answerd_reload(bench)
        assert 0 == accepted.returncode, accepted.stderr
        bench.notify.wait_for("READY=1", 10, start=bench.notify.wait_for("RELOADING=1", 10, start=mark))
        caller = bench.dial()
        _, ended = bench.wait_event("call.ended", call_id=1)
        caller.hang_up()
        assert ("answered", 2) == (ended["outcome"], ended["rings"])
