"""answerd@.service under a real systemd (PID 1 in a systemd-nspawn container), against the simulated modem.

In the container: ``answerd-sim.service`` runs ``answerd sim --link /dev/ttySIM0`` (the container's /dev is
its own tmpfs) with the phone line on 127.0.0.1:2323 of the container's private network, and
``answerd@ttySIM0.service`` is units/answerd@.service with two changes:

* its ``BindsTo=dev-%i.device`` and ``After=dev-%i.device`` lines are left out of the copy: there is no udev
  in the container, so the device unit never appears, and a drop-in cannot remove them (an empty
  ``BindsTo=`` does not reset the list in systemd 252: checked, ``systemctl show -p BindsTo`` still names
  the device);
* a drop-in sets ``RestartSec=200ms``, so "not restarted" can be seen in two seconds instead of ten.

Calls are placed from inside the container (``caller.py`` over TCP); the program answerd hands the line to
is ``standin``, a small Python script (``mode = "direct"``) that prints a marker and waits for "bye".

The last test installs units/answerd-sim@.service and units/answerd-on-sim@.service unchanged (in
/run/systemd/system) and runs them on ttySIM1, with the sim's phone line on port 2324.
"""

from __future__ import annotations

import contextlib
import queue
import shutil
import subprocess
import sysconfig
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

import answerd
from answerd.service.journal import MESSAGE_ID_CALL_ENDED
from tests.helpers import FAST_PORT as HOST_FAST_PORT

from .conftest import UNITS
from .nspawn import Bind, Container, stop_nsenter

# Building the root (first run on a machine, about 2 minutes) happens inside the first test's setup.
pytestmark = [pytest.mark.system, pytest.mark.timeout(420)]

UNIT = "answerd@ttySIM0.service"
SIM_UNIT = "answerd-sim.service"
STANDIN = "/usr/local/lib/answerd-test/standin"
CALLER = "/usr/local/lib/answerd-test/caller.py"
# systemd's own catalog message IDs (sd-messages.h).
MESSAGE_UNIT_STARTED = "39f53479d3a045ac8e11786248231fbf"
MESSAGE_UNIT_SUCCESS = "7ad2d189f7e94e70a38c781354912448"

#: Port settings that make a cycle fast on the simulated modem, for a direct-mode stand-in; a slower retry
#: than on the host, where a booting container is slower.
FAST_PORT: dict[str, Any] = {
    **HOST_FAST_PORT,
    "retry_backoff_s": 1.0,
    "mode": "direct",
    "direct_program": [STANDIN],
}

#: systemd-python was built against the host's libsystemd: it must load in the container's.
IMPORT_CHECK = (
    "import sys; sys.path[:0] = ['/opt/answerd/src', '/opt/answerd/site']; "
    "import answerd.cli, pydantic_core, systemd.daemon, systemd.journal"
)

WRAPPER = """#!/bin/sh
# answerd from the test's source tree and venv (bound read-only), on the container's Debian python3.
PYTHONPATH=/opt/answerd/src:/opt/answerd/site exec /usr/bin/python3 -m answerd "$@"
"""

SIM_SERVICE = """[Unit]
Description=simulated modem for the answerd system tests
# every test restarts it
StartLimitIntervalSec=0

[Service]
EnvironmentFile=-/etc/answerd/sim.env
ExecStart=/usr/local/bin/answerd sim --link /dev/ttySIM0 --listen 127.0.0.1:2323 \
  --ring-interval 0.3 --answer-delay 0.05 $SIM_ARGS
"""

TEST_DROPIN = """[Service]
# tests/system: a restart would show within two seconds
RestartSec=200ms
"""

STANDIN_PROGRAM = """#!/usr/bin/python3
# The program answerd hands the call to: says it runs, then waits for "bye" from the caller, exits 0.
import os, select, sys
print("STANDIN-READY pid=%d" % os.getpid(), flush=True)
seen = b""
while b"bye" not in seen:
    select.select([0], [], [])
    try:
        chunk = os.read(0, 100)
    except BlockingIOError:
        continue
    if not chunk:
        sys.exit(3)
    seen += chunk
print("STANDIN-BYE", flush=True)
"""

CALLER_PROGRAM = """#!/usr/bin/python3
# A caller on the simulated phone line. Prints CONNECTED once the program answers; then "bye" to it when
# a line arrives on stdin (prints DONE and the screen when the modem hangs up), or DROPPED if the line
# drops first.
import select, socket, sys
sock = socket.create_connection(("127.0.0.1", 2323), timeout=30)
screen = b""
while b"STANDIN-READY" not in screen:
    chunk = sock.recv(4096)
    if not chunk:
        print("DROPPED", repr(screen), flush=True)
        sys.exit(1)
    screen += chunk
print("CONNECTED", flush=True)
readable, _, _ = select.select([sys.stdin, sock], [], [])
if sock in readable:
    while True:
        chunk = sock.recv(4096)
        if not chunk:
            break
        screen += chunk
    print("DROPPED", repr(screen), flush=True)
    sys.exit(1)
sys.stdin.readline()
sock.sendall(b"bye\\r")
while True:
    chunk = sock.recv(4096)
    if not chunk:
        break
    screen += chunk
print("DONE", repr(screen), flush=True)
"""


def _toml(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(item) for item in value) + "]"
    return repr(value)


def _test_unit() -> str:
    """units/answerd@.service without its device dependency (there is no udev in the container)."""
    lines = UNITS.joinpath("answerd@.service").read_text().splitlines(keepends=True)
    kept = [line for line in lines if line.strip() not in {"BindsTo=dev-%i.device", "After=dev-%i.device"}]
    assert 2 == len(lines) - len(kept), "the unit's device dependency lines changed: update this test"
    return "".join(kept)


class Caller:
    """``caller.py`` running in the container: a call on the simulated phone line."""

    def __init__(self, container: Container) -> None:
        assert container.leader is not None
        self._process = subprocess.Popen(
            [shutil.which("nsenter") or "nsenter", f"--target={container.leader}", "--all", "--",
             "/usr/bin/python3", "-u", CALLER],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            env={"PATH": "/usr/bin:/bin"},
        )  # fmt: skip
        self._lines: queue.Queue[str] = queue.Queue()
        self.output: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self._lines.put(line.rstrip("\n"))

    def expect(self, word: str, timeout_s: float = 20.0) -> str:
        """Wait for a line starting with ``word``; return it."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self._lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"the caller did not print {word}; it printed {self.output}") from None
            self.output.append(line)
            if line.startswith(word):
                return line

    def say_bye(self) -> None:
        """Let the caller send "bye" to the program."""
        assert self._process.stdin is not None
        self._process.stdin.write("go\n")
        self._process.stdin.flush()

    def close(self) -> None:
        """End the caller process."""
        stop_nsenter(self._process)


@dataclass
class Bench:
    """The booted container with the simulated modem and answerd's unit, and ways to drive them."""

    container: Container
    etc: Path  # bound writable as /etc/answerd

    def write_config(self, **overrides: Any) -> None:
        """Write /etc/answerd/answerd.toml: port ttySIM0 with the fast settings and ``overrides``."""
        settings = {**FAST_PORT, **overrides}
        body = "\n".join(f"{key} = {_toml(value)}" for key, value in settings.items())
        self.write_raw_config(f'log_level = "debug"\n\n[ports.ttySIM0]\n{body}\n')

    def write_raw_config(self, text: str) -> None:
        """Write /etc/answerd/answerd.toml as given."""
        (self.etc / "answerd.toml").write_text(text)

    def reset(self, sim_args: tuple[str, ...] = ()) -> None:
        """Stop answerd's unit, clear its failed state, restart the sim with ``sim_args``; write the config."""
        c = self.container
        c.systemctl("stop", UNIT)
        c.systemctl("reset-failed", UNIT, check=False)
        self.write_config()
        (self.etc / "sim.env").write_text(f"SIM_ARGS={' '.join(sim_args)}\n")
        cursor = c.cursor()
        c.systemctl("restart", SIM_UNIT)
        c.wait_journal(
            "--unit", SIM_UNIT, after=cursor, where=lambda e: str(e.get("MESSAGE", "")).startswith("answerd-sim: ready")
        )

    def start(self) -> None:
        """Start answerd's unit and wait until systemd says it started (after READY=1)."""
        self.container.systemctl("start", UNIT)

    def state(self) -> dict[str, str]:
        """ActiveState, SubState, StatusText, MainPID, Result, ExecMainStatus and NRestarts of the unit."""
        return self.container.show(
            UNIT, "ActiveState", "SubState", "StatusText", "MainPID", "Result", "ExecMainStatus", "NRestarts"
        )

    def wait_event(self, event: str, after: str, timeout_s: float = 20.0, **fields: str) -> dict[str, Any]:
        """Wait for answerd's journal entry ``event`` with ``fields`` since cursor ``after``."""
        return self.container.wait_journal(
            "--unit", UNIT, after=after, timeout_s=timeout_s,
            where=lambda e: e.get("EVENT") == event and all(e.get(k) == v for k, v in fields.items()),
        )  # fmt: skip

    def wait_systemd(self, message_id: str, after: str, timeout_s: float = 20.0) -> dict[str, Any]:
        """Wait for systemd's own journal entry ``message_id`` about the unit since cursor ``after``."""
        return self.container.wait_journal(
            "--unit", UNIT, after=after, timeout_s=timeout_s,
            where=lambda e: e.get("MESSAGE_ID") == message_id and e.get("_PID") == "1",
        )  # fmt: skip

    def wait_state(self, accept: Callable[[str], bool], timeout_s: float = 20.0) -> str:
        """Poll ActiveState until ``accept``; return it."""
        return self.container.wait_property(UNIT, "ActiveState", accept, timeout_s)

    @contextlib.contextmanager
    def call(self) -> Iterator[Caller]:
        """A call in progress: the caller is connected to the stand-in program when this yields."""
        caller = Caller(self.container)
        try:
            caller.expect("CONNECTED")
            yield caller
        finally:
            caller.close()


def _mono(entry: dict[str, Any]) -> int:
    return int(entry["__MONOTONIC_TIMESTAMP"])


def _stays(sample: Callable[[], bool], seconds: float, interval_s: float = 0.1) -> bool:
    """Whether ``sample()`` holds at every poll for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not sample():
            return False
        time.sleep(interval_s)
    return sample()


@pytest.fixture(scope="module")
def bench(container_root: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    """One container for this module: booted with answerd's unit, the sim unit and the test programs."""
    tmp = tmp_path_factory.mktemp("systemd-container")
    files = {
        "answerd@.service": _test_unit(),
        "answerd-sim.service": SIM_SERVICE,
        "answerd": WRAPPER,
        "standin": STANDIN_PROGRAM,
        "caller.py": CALLER_PROGRAM,
    }
    for name, text in files.items():
        (tmp / name).write_text(text)
        (tmp / name).chmod(0o755)
    dropins = tmp / "dropins"
    dropins.mkdir()
    (dropins / "50-test.conf").write_text(TEST_DROPIN)
    etc = tmp / "etc"
    etc.mkdir()
    source = Path(answerd.__file__).resolve().parent
    paths = sysconfig.get_paths()
    binds = [
        Bind(source, "/opt/answerd/src/answerd"),
        Bind(Path(paths["purelib"]), "/opt/answerd/site"),
        Bind(tmp / "answerd", "/usr/local/bin/answerd"),
        Bind(tmp / "standin", STANDIN),
        Bind(tmp / "caller.py", CALLER),
        Bind(tmp / "answerd@.service", "/etc/systemd/system/answerd@.service"),
        Bind(dropins, f"/etc/systemd/system/{UNIT}.d"),
        Bind(tmp / "answerd-sim.service", f"/etc/systemd/system/{SIM_UNIT}"),
        Bind(etc, "/etc/answerd", writable=True),
    ]
    if paths["platlib"] != paths["purelib"]:
        pytest.fail(f"the venv keeps compiled packages apart ({paths['platlib']}): bind that too")
    container = Container(root=container_root, binds=binds, log_path=tmp / "console.log")
    with container.booted():
        probe = container.run(["python3", "-c", IMPORT_CHECK], check=False)
        assert 0 == probe.returncode, f"answerd's packages do not import in the container: {probe.stderr}"
        yield Bench(container=container, etc=etc)


def test_unit_is_activating_until_the_modem_is_initialised(bench: Bench) -> None:
    """The unit stays "activating" through a failed init attempt and is "active" only after answerd's READY=1."""
    bench.reset(sim_args=("--error-first", "2"))  # the first init attempt gets ERROR: one retry, 1 s back-off
    cursor = bench.container.cursor()
    bench.container.systemctl("start", "--no-block", UNIT)
    seen: list[tuple[str, str]] = []

    def active() -> bool:
        state = bench.state()
        seen.append((state["ActiveState"], state["StatusText"]))
        return state["ActiveState"] not in {"activating", "inactive"}

    deadline = time.monotonic() + 30
    while not active():
        assert time.monotonic() < deadline, f"never active: {seen[-5:]}"
        time.sleep(0.05)
    assert "active" == seen[-1][0]
    assert ("activating", "modem not responding, retry 1") in seen
    # answerd logs modem.init.ok just before it sends READY=1, to the same journal socket that systemd's
    # "Started" message goes through afterwards: journald's receive order is the order of events.
    retry = bench.wait_event("modem.init.retry", cursor)
    init_ok = bench.wait_event("modem.init.ok", cursor)
    started = bench.wait_systemd(MESSAGE_UNIT_STARTED, cursor)
    assert _mono(retry) < _mono(init_ok) < _mono(started)
    assert "2" == init_ok["ATTEMPT"]
    assert "waiting for RING" == bench.container.wait_property(UNIT, "StatusText", lambda s: s == "waiting for RING")


def test_call_is_in_the_journal_with_its_outcome(bench: Bench) -> None:
    """A call shows in StatusText while it is up and ends as one call.ended entry with OUTCOME= and MESSAGE_ID=."""
    bench.reset()
    bench.start()
    cursor = bench.container.cursor()
    with bench.call() as caller:
        status = bench.container.wait_property(UNIT, "StatusText", lambda s: s.startswith("connected"))
        assert "connected 33600/ARQ/V34/LAPM/V42BIS user=- program=standin" == status
        caller.say_bye()
        assert "STANDIN-BYE" in caller.expect("DONE")
    ended = bench.wait_event("call.ended", cursor)
    assert ("answered", "0", "ttySIM0", "33600") == (
        ended["OUTCOME"], ended["EXIT_STATUS"], ended["PORT"], ended["CONNECT_RATE"]
    )  # fmt: skip
    assert (MESSAGE_ID_CALL_ENDED, "answerd", UNIT) == (
        ended["MESSAGE_ID"], ended["SYSLOG_IDENTIFIER"], ended["_SYSTEMD_UNIT"]
    )  # fmt: skip
    # The query units/README.md shows:
    by_outcome = bench.container.journal("--unit", UNIT, "OUTCOME=answered", after=cursor)
    assert [ended["__CURSOR"]] == [e["__CURSOR"] for e in by_outcome]
    bench.container.wait_property(UNIT, "StatusText", lambda s: s == "waiting for RING")


def test_reload_applies_a_valid_change_between_calls(bench: Bench) -> None:
    """``systemctl reload`` shows "reloading" while the modem is re-initialised, then "active", same process."""
    bench.reset()
    bench.start()
    pid = bench.state()["MainPID"]
    cursor = bench.container.cursor()
    bench.write_config(init_chat=["", "AT\\d\\d\\d\\d", "OK"])  # four 0.5 s pauses: re-init takes 2 s
    bench.container.systemctl("reload", "--no-block", UNIT)
    assert "reloading" == bench.wait_state(lambda s: s == "reloading", timeout_s=10)
    assert "active" == bench.wait_state(lambda s: s == "active", timeout_s=20)
    reloaded = bench.wait_event("config.reloaded", cursor, CHANGED="True")
    init_ok = bench.wait_event("modem.init.ok", cursor)
    assert _mono(reloaded) < _mono(init_ok)
    assert (pid, "running") == (bench.state()["MainPID"], bench.state()["SubState"])


def test_reload_with_an_invalid_config_keeps_the_running_one(bench: Bench) -> None:
    """An invalid file makes ``systemctl reload`` fail; it is logged, shown in StatusText, the unit keeps running."""
    bench.reset()
    bench.start()
    pid = bench.state()["MainPID"]
    cursor = bench.container.cursor()
    bench.write_raw_config('[ports.ttySIM0]\nrings = "two"\n')
    reload = bench.container.systemctl("reload", UNIT, check=False)
    assert 0 != reload.returncode, "a rejected file must fail systemctl reload (ExecReload= waits for the verdict)"
    failed = bench.wait_event("config.reload_failed", cursor)
    assert "ports.ttySIM0.rings" in failed["ERRORS"]
    state = bench.state()
    assert ("active", "running", pid) == (state["ActiveState"], state["SubState"], state["MainPID"])
    assert state["StatusText"].startswith("reload failed, keeping the old configuration")


def test_reload_during_a_call_keeps_the_call_and_its_utmp_entry(bench: Bench) -> None:
    """``systemctl reload`` during a call neither hangs the line up nor replaces the call's utmp entry."""
    bench.reset()
    bench.start()
    cursor = bench.container.cursor()
    with bench.call() as caller:
        assert "dialin" in bench.container.run(["who"]).stdout
        bench.container.run(["timeout", "15", "systemctl", "reload", UNIT])
        assert "dialin" in bench.container.run(["who"]).stdout
        caller.say_bye()
        assert "STANDIN-BYE" in caller.expect("DONE")
    assert "answered" == bench.wait_event("call.ended", cursor)["OUTCOME"]


class ReloadPendingError(AssertionError):
    """The unit stayed "reloading" while a call was up."""


def test_reload_with_a_change_during_a_call_leaves_the_unit_active(bench: Bench) -> None:
    """A config change reloaded during a call leaves the unit "active" (the change applies after the call)."""
    bench.reset()
    bench.start()
    cursor = bench.container.cursor()
    with bench.call() as caller:
        bench.write_config(login_timeout_s=100.0)
        bench.container.systemctl("reload", "--no-block", UNIT)
        bench.wait_event("config.reload_pending", cursor)
        try:
            bench.wait_state(lambda s: s == "active", timeout_s=3)
        except AssertionError as exc:
            raise ReloadPendingError(str(exc)) from None
        finally:
            caller.say_bye()
            caller.expect("DONE")
            bench.wait_event("config.reloaded", cursor, CHANGED="True")
            bench.wait_state(lambda s: s == "active")


def test_stop_during_a_call_hangs_up_and_exits_cleanly(bench: Bench) -> None:
    """``systemctl stop`` during a call ends it (OUTCOME=shutdown), hangs up, exits 0 and leaves no process."""
    bench.reset()
    bench.start()
    cursor = bench.container.cursor()
    with bench.call() as caller:
        program = bench.wait_event("call.program_started", cursor)
        started = time.monotonic()
        bench.container.systemctl("stop", UNIT)
        stop_s = time.monotonic() - started
        assert caller.expect("DROPPED").startswith("DROPPED")
    state = bench.state()
    assert ("inactive", "success", "0", "0") == (
        state["ActiveState"], state["Result"], state["ExecMainStatus"], state["MainPID"]
    )  # fmt: skip
    assert "shutdown" == bench.wait_event("call.ended", cursor)["OUTCOME"]
    bench.wait_systemd(MESSAGE_UNIT_SUCCESS, cursor)  # "Deactivated successfully."
    assert 1 == bench.container.run(["kill", "-0", program["PID"]], check=False).returncode
    assert "" == bench.container.run(["pgrep", "-f", "answerd run|standin"], check=False).stdout
    assert stop_s < 10, f"stop took {stop_s:.1f} s"


def test_invalid_config_fails_with_6_and_is_not_restarted(bench: Bench) -> None:
    """A config error at start fails the unit with exit 6 and no restart, where exit 69 is restarted."""
    bench.reset()
    bench.write_raw_config('[ports.ttySIM0]\nrings = "two"\n')
    assert 0 != bench.container.systemctl("start", UNIT, check=False).returncode
    state = bench.state()
    assert ("failed", "exit-code", "6", "0") == (
        state["ActiveState"], state["Result"], state["ExecMainStatus"], state["NRestarts"]
    )  # fmt: skip
    assert _stays(lambda: bench.state()["NRestarts"] == "0", seconds=2.0)  # 10 x RestartSec
    # The control: exit 69 (device missing) is restarted, so the check above would have seen a restart.
    bench.container.systemctl("reset-failed", UNIT)
    bench.write_config(device="/dev/ttyNONE")
    bench.container.systemctl("start", UNIT, check=False)
    cursor = bench.container.cursor()
    restarts = bench.container.wait_property(UNIT, "NRestarts", lambda n: n.isdigit() and int(n) >= 1, 10)
    assert int(restarts) >= 1
    assert "69" == bench.wait_event("port.stopped", cursor)["EXIT_CODE"]
    bench.container.systemctl("stop", UNIT)


def test_watchdog_pings_reach_systemd(bench: Bench) -> None:
    """With WatchdogSec=2s answerd's WATCHDOG=1 pings reach systemd (WatchdogTimestamp moves on) and it stays up."""
    bench.reset()
    c = bench.container
    c.run(["mkdir", "-p", f"/run/systemd/system/{UNIT}.d"])
    c.run(["tee", f"/run/systemd/system/{UNIT}.d/watchdog.conf"], input_text="[Service]\nWatchdogSec=2s\n")
    c.systemctl("daemon-reload")
    try:
        bench.start()
        assert "2s" == c.show(UNIT, "WatchdogUSec")["WatchdogUSec"]
        first = c.show(UNIT, "WatchdogTimestampMonotonic")["WatchdogTimestampMonotonic"]
        later = c.wait_property(UNIT, "WatchdogTimestampMonotonic", lambda t: t != first, timeout_s=5)
        assert int(later) > int(first)
        pid = bench.state()["MainPID"]
        assert _stays(lambda: bench.state()["MainPID"] == pid, seconds=3.0)  # longer than WatchdogSec
    finally:
        c.run(["rm", "-rf", f"/run/systemd/system/{UNIT}.d"])
        c.systemctl("daemon-reload")
        c.systemctl("stop", UNIT)


def test_ppp_only_dropin_keeps_answering_under_its_sandbox(bench: Bench) -> None:
    """With units/ppp-only.conf answerd runs sandboxed (seccomp, no new privileges, /etc read-only) and answers."""
    c = bench.container
    runtime = f"/run/systemd/system/{UNIT}.d"
    c.run(["mkdir", "-p", runtime])
    c.run(["tee", f"{runtime}/ppp-only.conf"], input_text=(UNITS / "ppp-only.conf").read_text())
    # The pty is not one of the drop-in's modem drivers. (The container does not enforce DevicePolicy=
    # anyway: its cgroup device controller is not delegated, so the device list itself is not tested here.)
    c.run(["tee", f"{runtime}/pty.conf"], input_text="[Service]\nDeviceAllow=char-pts rw\n")
    c.systemctl("daemon-reload")
    try:
        bench.reset()
        bench.start()
        pid = bench.state()["MainPID"]
        status = dict(
            line.split(":\t", 1) for line in c.run(["cat", f"/proc/{pid}/status"]).stdout.splitlines() if ":\t" in line
        )
        assert ("1", "2") == (status["NoNewPrivs"].strip(), status["Seccomp"].strip())
        touch = c.run(["nsenter", f"--target={pid}", "--mount", "touch", "/etc/answerd-test"], check=False)
        assert "Read-only file system" in touch.stderr
        cursor = c.cursor()
        with bench.call() as caller:
            caller.say_bye()
            assert "STANDIN-BYE" in caller.expect("DONE")
        assert "answered" == bench.wait_event("call.ended", cursor)["OUTCOME"]
    finally:
        c.run(["rm", "-rf", runtime])
        c.systemctl("daemon-reload")
        c.systemctl("stop", UNIT)


#: A caller on the sim units' phone line (port 2324, set in their env file): prints what it saw up to the
#: login prompt, then hangs up (closes the connection).
LOGIN_CALLER = """
import socket
sock = socket.create_connection(("127.0.0.1", 2324), timeout=30)
screen = b""
while b"login: " not in screen:
    chunk = sock.recv(4096)
    if not chunk:
        break
    screen += chunk
print(repr(screen), flush=True)
"""


def test_sim_units_answer_a_call_under_systemd(bench: Bench) -> None:
    """units/answerd-sim@ and answerd-on-sim@ as shipped: the second is active after READY=1, a caller on the
    sim's TCP line gets the login prompt, and both stop cleanly (exit 0, no restart)."""
    c = bench.container
    sim, on_sim = "answerd-sim@ttySIM1.service", "answerd-on-sim@ttySIM1.service"
    for name in ("answerd-sim@.service", "answerd-on-sim@.service"):
        c.run(["tee", f"/run/systemd/system/{name}"], input_text=(UNITS / name).read_text())
    c.systemctl("daemon-reload")
    # The env file the sim unit reads: its own TCP port (answerd-sim.service has 2323) and fast rings.
    (bench.etc / "sim-ttySIM1.env").write_text(
        "SIM_LISTEN=127.0.0.1:2324\nSIM_ARGS=--ring-interval 0.3 --answer-delay 0.05\n"
    )
    port = {key: value for key, value in FAST_PORT.items() if key not in {"mode", "direct_program"}}
    body = "\n".join(f"{key} = {_toml(value)}" for key, value in port.items())
    bench.write_raw_config(f'[ports.ttySIM1]\nmode = "login"\nautoppp = false\n{body}\n')
    try:
        cursor = c.cursor()
        c.systemctl("start", sim)
        c.wait_journal(
            "--unit", sim, after=cursor, where=lambda e: str(e.get("MESSAGE", "")).startswith("answerd-sim: ready")
        )
        c.systemctl("start", on_sim)  # Type=notify: returns once answerd has sent READY=1
        state = c.show(on_sim, "ActiveState", "SubState")
        assert ("active", "running") == (state["ActiveState"], state["SubState"])
        screen = c.run(["python3", "-c", LOGIN_CALLER]).stdout
        assert "(ttySIM1, 33600/ARQ/V34/LAPM/V42BIS)" in screen  # answerd's issue on the sim's connection
        assert screen.rstrip().endswith("login: '"), screen
        ended = c.wait_journal("--unit", on_sim, after=cursor, where=lambda e: e.get("EVENT") == "call.ended")
        assert "carrier-lost" == ended["OUTCOME"]
        c.systemctl("stop", on_sim, sim)
        for unit in (on_sim, sim):
            state = c.show(unit, "ActiveState", "Result", "ExecMainStatus", "NRestarts")
            assert ("inactive", "success", "0", "0") == (
                state["ActiveState"], state["Result"], state["ExecMainStatus"], state["NRestarts"]
            ), unit  # fmt: skip
    finally:
        c.systemctl("stop", on_sim, sim, check=False)
        c.run(["rm", "-f", "/run/systemd/system/answerd-sim@.service", "/run/systemd/system/answerd-on-sim@.service"])
        c.systemctl("daemon-reload")
