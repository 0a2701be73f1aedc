"""The bench's state for the scenarios: the gadget, the sim, the unit, and getting them into the state a
scenario needs; the ``VBENCH {json}`` progress lines. Shared by scenarios.py and scenarios_more.py.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from bench import OUT, UNIT, Caller, Failed, Gadget, Sim, calls_ended, run, unit, wait_unit, wait_until

PARAMS = json.loads((Path(__file__).resolve().parent / "params.json").read_text())
USER, PASSWORD = PARAMS["user"], PARAMS["password"]
GADGET = Gadget(*PARAMS["gadget"])
SIM = Sim()
CONFIG = Path("/etc/answerd/answerd.toml")


def emit(event: str, **fields: object) -> None:
    """One ``VBENCH {json}`` line on the console (for the host) and in results.jsonl."""
    line = json.dumps({"event": event, "uptime": round(time.clock_gettime(time.CLOCK_BOOTTIME), 1), **fields})
    print(f"VBENCH {line}", flush=True)
    with open(OUT / "results.jsonl", "a") as out:
        out.write(line + "\n")


def note(text: str) -> None:
    """A progress line for the console."""
    emit("note", text=text)


# --- getting the bench into the state a scenario needs ------------------------------------------------


def status() -> str:
    """The unit's STATUS= text (what `systemctl status` shows as Status:)."""
    return unit("StatusText")["StatusText"]


def main_pid() -> int:
    """The service's main PID (0 when not running)."""
    return int(unit("MainPID")["MainPID"])


def wait_active(timeout_s: float = 120) -> None:
    """Wait until answerd@ttyACM0 is active and waiting for a call."""
    wait_unit(
        f"{UNIT} active and waiting for RING",
        # Idle: "waiting for RING", or a refused reload's message that stays until the next change.
        lambda p: p["ActiveState"] == "active" and p["StatusText"].startswith(("waiting", "reload failed")),
        timeout_s,
    )


def line_ready() -> None:
    """Gadget made and plugged, the sim serving ttyGS0, answerd@ttyACM0 active and idle."""
    GADGET.create()
    if not SIM.running:
        SIM.start()
    if not GADGET.bound:
        GADGET.plug()
    state = unit("ActiveState")["ActiveState"]
    if state in ("failed", "inactive"):
        run(["systemctl", "reset-failed", UNIT], check=False)
        run(["systemctl", "start", "--no-block", UNIT])
    try:
        wait_active(90)
    except Failed as exc:  # left stuck by an earlier scenario: start afresh rather than fail this one too
        note(f"restarting {UNIT}: {exc}")
        run(["systemctl", "reset-failed", UNIT], check=False)
        run(["systemctl", "restart", "--no-block", UNIT])
        wait_active(120)


def new_record(before: int, timeout_s: float = 60) -> dict[str, object]:
    """The call.ended record that follows the ``before`` ones already in the journal."""
    records = wait_until("the call's call.ended record in the journal", lambda: calls_ended()[before:], timeout_s, 0.5)
    return records[0]


def answered_call(timeout_s: float = 90) -> Caller:
    """Dial in and wait for the login prompt."""
    caller = Caller()
    caller.expect(b"login: ", timeout_s)
    return caller


def logged_in_call() -> Caller:
    """Dial in and log in as the test account."""
    caller = Caller()
    caller.log_in(USER, PASSWORD)
    return caller
