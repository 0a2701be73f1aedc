"""``answerd status`` on the real daemon and the simulated modem: during a call, after it, after the daemon."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_program

from .harness import Bench

pytestmark = pytest.mark.integration

CID = ["--caller-id", "5551234", "--caller-name", "JOHN SMITH", "--cid"]


def status(bench: Bench, *args: str) -> tuple[int, dict[str, Any]]:
    """Run ``answerd status --json`` as a user would, on the bench's runtime directory; (exit code, sim0)."""
    result = subprocess.run(
        [sys.executable, "-m", "answerd", "status", "--json", *args],
        env={**os.environ, "RUNTIME_DIRECTORY": str(bench.tmp)}, capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip
    ports = {item["port"]: item for item in json.loads(result.stdout)["ports"]}
    return result.returncode, ports["sim0"]


def test_status_during_a_call_after_it_and_after_the_daemon(make_bench: Callable[..., Bench], tmp_path: Path) -> None:
    """Connected with caller, CONNECT and user/program; then idle with the call counted; then gone, exit 3."""
    program = make_program(tmp_path / "bin", "recorder", hold=1)
    bench = make_bench(CID, rings=2, login_program=[str(program), "--", "{user}"])
    assert bench.notify is not None
    code, idle = status(bench)
    assert (0, True, "idle", {}) == (code, idle["alive"], idle["state"], idle["calls"])

    caller = bench.dial()
    caller.read_until(b"login: ")
    caller.send(b"alice\r")
    caller.read_until(b"RECORDED")
    bench.notify.wait_for("STATUS=connected 33600/ARQ/V34/LAPM/V42BIS user=alice program=recorder", 15)
    code, during = status(bench)
    assert (0, "connected", "5551234", "JOHN SMITH") == (
        code, during["state"], during["caller"], during["caller_name"]
    )  # fmt: skip
    assert ("33600/ARQ/V34/LAPM/V42BIS", 33600, "alice", "recorder") == (
        during["connect"], during["connect_rate"], during["user"], during["program"]
    )  # fmt: skip

    caller.hang_up()
    ended = bench.ended()
    code, after = status(bench)
    assert (0, "idle", None, {ended["outcome"]: 1}) == (code, after["state"], after["caller"], after["calls"])
    assert (ended["outcome"], "5551234") == (after["last_call"]["outcome"], after["last_call"]["caller"])

    assert 0 == bench.stop()
    code, gone = status(bench)
    assert (3, False, "gone", "stopped") == (code, gone["alive"], gone["state"], gone["last_state"])


def test_a_dead_modem_leaves_why_in_status(make_bench: Callable[..., Bench]) -> None:
    """Exit 69: status shows the port gone with its last state failed and the reason, not "stopping"."""
    bench = make_bench(["--silent"], start=False, chat_timeout_s=0.3, init_retries=2)
    bench.start_sim()
    bench.start_daemon()
    assert bench.daemon is not None
    assert 69 == bench.daemon.wait(20)
    assert bench.notify is not None
    last = [m for m in bench.notify.messages if m.startswith("STATUS=")][-1]
    assert last.startswith("STATUS=failed (exit 69): modem did not initialise")
    code, gone = status(bench)
    assert (3, "gone", "failed", 69) == (code, gone["state"], gone["last_state"], gone["exit"]["code"])


def test_the_table_names_the_port_and_its_state(make_bench: Callable[..., Bench]) -> None:
    """The plain table has the port's row with its state, the --since column, and a line saying what it does."""
    bench = make_bench()
    result = subprocess.run(
        [sys.executable, "-m", "answerd", "status", "--since=-1h"],
        env={**os.environ, "RUNTIME_DIRECTORY": str(bench.tmp)}, capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip
    rows = [line.split() for line in result.stdout.splitlines()]
    assert ["PORT", "STATE", "SINCE"] == rows[0][:3]
    assert ["sim0", "idle"] == rows[1][:2]
    assert any(line.startswith("sim0: waiting for RING (pid ") for line in result.stdout.splitlines())
    assert "CALLS SINCE -1h" in result.stdout.splitlines()[0]
