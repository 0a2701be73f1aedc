"""The vbench scenarios, run in the guest by vbench.service; each states what it proves and fails on its own.

Every scenario starts by putting the bench in the state it needs (gadget plugged, sim serving ttyGS0,
answerd@ttyACM0 active), so a failure in one does not fail the next. Progress and results go to the console
as ``VBENCH {json}`` lines (the host prints them live); the results, the sim's transcript, pppd's logs and
``journalctl -o json`` go to the second disk as a tar file at the end, and the machine powers off.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tarfile
import termios
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parent))

from line import (
    CONFIG,
    GADGET,
    PASSWORD,
    SIM,
    USER,
    answered_call,
    emit,
    line_ready,
    logged_in_call,
    main_pid,
    new_record,
    status,
    wait_active,
)
from scenarios_more import HIL_BUDGET_S, scenario_hil_suite, scenario_probe_tty

from bench import OUT, UNIT, Caller, Failed, calls_ended, journal, run, tiocm, unit, wait_unit, wait_until

RESULTS_DISK = "/dev/vdb"
#: Each scenario's budget (seconds); past it the scenario fails with "over budget".
BUDGET_S = 240
#: Scenarios that need longer (the host's deadline follows: the start event names the budget).
BUDGETS = {"hil_suite": HIL_BUDGET_S}


# --- scenarios ----------------------------------------------------------------------------------------


def scenario_ready_after_init() -> str:
    """answerd@ttyACM0 is started by udev at plug-in, stays "activating" until the modem answered its init
    chat (Type=notify, READY=1 after init), and `systemctl status` shows the line's state while a call rings
    and while it is connected."""
    GADGET.create()
    if GADGET.bound:
        GADGET.unplug()
    wait_until(
        f"{UNIT} stopped after the unplug", lambda: unit("ActiveState")["ActiveState"] in ("inactive", "failed"), 60
    )
    run(["systemctl", "reset-failed", UNIT], check=False)
    SIM.stop()
    SIM.start()
    mark = len(SIM.transcript())
    GADGET.plug()  # udev: SYSTEMD_WANTS=answerd@ttyACM0.service
    states: list[str] = []
    init_seen_when_active = None
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        p = unit("ActiveState", "SubState", "StatusText")
        state = f"{p['ActiveState']}/{p['SubState']}"
        if not states or states[-1] != state:
            states.append(state)
        if p["ActiveState"] == "active":
            init_seen_when_active = "DTE> ATZ" in SIM.transcript()[mark:] or "ATZ" in SIM.transcript()[mark:]
            break
        if p["ActiveState"] == "failed":
            raise Failed(f"{UNIT} failed while starting; states {states}")
        time.sleep(0.05)
    else:
        raise Failed(f"{UNIT} never became active after the plug-in; states seen {states}")
    if not any(s.startswith("activating") for s in states):
        raise Failed(f"never saw 'activating' before 'active': {states}")
    if not init_seen_when_active:
        raise Failed("the unit was active before the modem had received its init chat")
    wait_active(30)
    idle = status()
    seen: list[str] = []
    caller = Caller()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not any(s.startswith("connected") for s in seen):
            text = status()
            if not seen or seen[-1] != text:
                seen.append(text)
            time.sleep(0.05)
        caller.expect(b"login: ", 60)
    finally:
        caller.hang_up()
    if not any(s.startswith("ringing") for s in seen):
        raise Failed(f"Status never showed 'ringing' during the call: {seen}")
    if not any(s.startswith("connected") for s in seen):
        raise Failed(f"Status never showed 'connected' during the call: {seen}")
    return f"states {states}; idle Status {idle!r}; during the call {seen}"


def acm_bits() -> int:
    """TIOCMGET on a fresh descriptor of ttyACM0 (one opened before a kernel hang-up only gives EIO)."""
    fd = os.open("/dev/ttyACM0", os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        return tiocm(fd)
    finally:
        os.close(fd)


def scenario_modem_control_tiocm() -> str:
    """On ttyACM0 modem_control="auto" picks tiocm (no fallback warning); DTR set by answerd is seen on the
    driver (and its init-time DTR drop), DCD follows the modem side: high while ttyGS0 is open, low when it
    closes, and answerd recovers (reopens, re-initialises) once the modem is back."""
    line_ready()
    since = unit("InvocationID")["InvocationID"]
    warnings = journal(f"_SYSTEMD_INVOCATION_ID={since}", "EVENT=port.no_modem_lines")
    if warnings:
        raise Failed(f"answerd fell back to modem_control='none' on ttyACM0: {warnings[0].get('MESSAGE')}")
    ready = journal(f"_SYSTEMD_INVOCATION_ID={since}", "EVENT=port.ready")
    picked = [e.get("LINES") for e in ready]
    if not picked or any(lines != "tiocm" for lines in picked):
        raise Failed(f"port.ready does not say lines=tiocm: {picked}")
    fd = os.open("/dev/ttyACM0", os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        bits = tiocm(fd)
        if not bits & termios.TIOCM_DTR:
            raise Failed(f"DTR is not set on ttyACM0 while answerd holds it (TIOCMGET {bits:#x})")
        if not bits & termios.TIOCM_CAR:
            raise Failed(f"DCD is low while the sim holds ttyGS0 open (TIOCMGET {bits:#x})")
        # answerd drops DTR for dtr_drop_ms when it initialises the modem (toggle_dtr): watch a restart.
        run(["systemctl", "restart", "--no-block", UNIT])
        dtr_low_seen = False
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                dtr_low_seen = dtr_low_seen or not tiocm(fd) & termios.TIOCM_DTR
            p = unit("ActiveState", "StatusText")
            if p["ActiveState"] == "active" and "waiting" in p["StatusText"]:
                break
            time.sleep(0.02)
        if not dtr_low_seen:
            raise Failed("never saw DTR low on ttyACM0 while answerd restarted and re-initialised the modem")
    finally:
        os.close(fd)
    SIM.stop()  # the modem side closes ttyGS0
    wait_until("DCD low on ttyACM0 after the modem side closed", lambda: not acm_bits() & termios.TIOCM_CAR, 20)
    SIM.start()
    wait_until("DCD high again once the modem side reopened", lambda: acm_bits() & termios.TIOCM_CAR, 20)
    wait_active(120)
    return f"port.ready lines={picked[0]}, DTR high and pulsed low at init, DCD followed ttyGS0, answerd idle again"


def scenario_terminal_call() -> str:
    """A terminal call end to end on the real tty: login prompt, real /bin/login with the test account, a
    command's output; the caller hangs up -> the kernel hangs ttyACM0 up and the session gets SIGHUP; answerd
    reopens, re-initialises and answers a second call in the same service process."""
    line_ready()
    pid = main_pid()
    before = len(calls_ended())
    caller = logged_in_call()
    marker = f"/tmp/vbench-sighup-{int(time.time())}"
    caller.send(f"trap 'echo got-SIGHUP > {marker}; exit' HUP; echo VBENCH-$((6*7))\r".encode())
    caller.expect(b"VBENCH-42", 30)
    caller.hang_up()
    wait_until("the session's SIGHUP trap to run (kernel hang-up of ttyACM0)", lambda: Path(marker).is_file(), 30)
    first = new_record(before)
    wait_active(120)
    second = logged_in_call()
    second.send(b"echo SECOND-$((6*7))\r")
    second.expect(b"SECOND-42", 30)
    second.hang_up()
    second_record = new_record(before + 1)
    if main_pid() != pid:
        raise Failed(f"the service's main process changed ({pid} -> {main_pid()}): answerd was restarted")
    if first.get("OUTCOME") != "carrier-lost":
        raise Failed(f"first call's OUTCOME is {first.get('OUTCOME')!r}, expected carrier-lost")
    return (
        f"SIGHUP reached the session; records: {first.get('OUTCOME')}/{first.get('USER')}, "
        f"{second_record.get('OUTCOME')}; same main PID {pid}"
    )


def _ppp_address(namespace: str | None, address: str) -> bool:
    argv = ["ip", "-o", "-4", "addr", "show"]
    if namespace:
        argv = ["ip", "-n", namespace, "-o", "-4", "addr", "show"]
    return f"inet {address} " in run(argv).stdout


def scenario_ppp_call() -> str:
    """A PPP call: the caller's pppd, in its own network namespace, dials over the simulated phone line;
    AutoPPP hands ttyACM0 to pppd (modem crtscts, PAP against the test account), the link comes up and ping
    crosses it both ways; the caller drops -> the kernel hangs up, pppd exits, the unit stays active, the
    call record says how it ended and names the PAP user (USER=, from answerd's ip-up hook), and the next
    call is answered."""
    line_ready()
    run(["modprobe", "ppp_async"])
    pid = main_pid()
    before = len(calls_ended())
    run(["ip", "netns", "del", "far"], check=False)
    run(["ip", "netns", "add", "far"])
    run(["ip", "-n", "far", "link", "set", "lo", "up"])
    sock = OUT / "line.sock"
    sock.unlink(missing_ok=True)
    # The phone line's far end, reachable from the caller's namespace: a Unix socket joined to the sim's TCP.
    bridge = subprocess.Popen(
        ["socat", f"UNIX-LISTEN:{sock}", "TCP:127.0.0.1:2323"], start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    wait_until("the bridge's socket", sock.exists, 10)
    caller = subprocess.Popen(
        ["ip", "netns", "exec", "far", "pppd", "nodetach", "noauth", "user", USER, "password", PASSWORD,
         "pty", f"socat STDIO UNIX-CONNECT:{sock}", "noipdefault", "ipcp-accept-local", "ipcp-accept-remote",
         "nodefaultroute", "maxfail", "1", "debug", "logfile", str(OUT / "caller-pppd.log")],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until("the link up on answerd's side (192.168.32.1)", lambda: _ppp_address(None, "192.168.32.1"), 120, 0.5)
        wait_until(
            "the link up on the caller's side (192.168.32.105)", lambda: _ppp_address("far", "192.168.32.105"), 30, 0.5
        )
        out = run(["ping", "-c", "3", "-W", "5", "192.168.32.105"], timeout_s=60).stdout
        back = run(["ip", "netns", "exec", "far", "ping", "-c", "3", "-W", "5", "192.168.32.1"], timeout_s=60).stdout
        summary = [line for line in (out + back).splitlines() if "packets transmitted" in line]
        who = run(["who"], check=False).stdout.strip()
        # The caller drops the line: the phone line goes dead under the caller's pppd (no LCP goodbye).
        os.killpg(bridge.pid, signal.SIGKILL)
        wait_until("answerd's pppd gone (link down)", lambda: not _ppp_address(None, "192.168.32.1"), 60, 0.5)
        record = new_record(before)
        wait_active(120)
        if unit("ActiveState")["ActiveState"] != "active" or main_pid() != pid:
            raise Failed(f"the unit did not stay active in the same process ({pid} -> {main_pid()})")
        caller_again = answered_call()
        caller_again.hang_up()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(bridge.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(caller.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            caller.wait(10)
    fields = {k: record.get(k) for k in ("OUTCOME", "PROGRAM", "EXIT_STATUS", "SIGNAL", "USER", "DURATION_S")}
    if record.get("USER") != USER:  # answerd-ppp-peer, installed as docs/install.md says, named the PAP user
        raise Failed(f"the PPP call's record says USER={record.get('USER')!r}, not the PAP user {USER!r}: {fields}")
    return f"ping: {summary}; who: {who!r}; record {fields}; next call answered"


def scenario_journal_records() -> str:
    """`journalctl PORT=ttyACM0 -o json` returns each call's record (EVENT=call.ended) with its fields: a
    call placed here appears with CALL_ID, OUTCOME, CONNECT and DURATION_S."""
    line_ready()
    before = len(calls_ended())
    caller = answered_call()
    caller.hang_up()
    record = new_record(before)
    missing = [f for f in ("CALL_ID", "OUTCOME", "CONNECT", "DURATION_S", "PORT") if f not in record]
    if missing:
        raise Failed(f"the call.ended record lacks {missing}: {sorted(record)}")
    every = journal("PORT=ttyACM0")
    ids = {e.get("CALL_ID") for e in every if e.get("EVENT") == "call.ended"}
    this = f"OUTCOME={record['OUTCOME']} CONNECT={record['CONNECT']}"
    return f"{len(ids)} call record(s) under PORT=ttyACM0; this one: {this}"


def scenario_reload() -> str:
    """`systemctl reload` with a valid changed file succeeds and applies it (the next caller sees the new issue
    text) in the same process; with a broken file `systemctl reload` fails (the reload contract: ExecReload=
    waits for answerd's verdict), config.reload_failed is logged, the unit stays active on the old config and
    the next call is still answered."""
    line_ready()
    pid = main_pid()
    original = CONFIG.read_text()
    try:
        CONFIG.write_text(
            original.replace(
                'log_level = "debug"', 'log_level = "debug"\n\n[defaults]\nissue = "\\nVBENCH-RELOADED\\n"'
            )
        )
        run(["systemctl", "reload", UNIT], timeout_s=120)
        wait_active(60)
        caller = Caller()
        seen = caller.expect(b"login: ", 90)
        caller.hang_up()
        if b"VBENCH-RELOADED" not in seen:
            raise Failed(f"the reloaded issue text is not shown to the next caller: {seen[-200:]!r}")
        CONFIG.write_text(original + '\n[ports.ttyACM0.bogus]\nnot_a_key = "x"\n')
        broken = run(["systemctl", "reload", UNIT], timeout_s=120, check=False)
        # The unit stays active, and `systemctl status` says why the file was refused until the next change.
        refused = wait_unit(f"{UNIT} active after the refused reload", lambda p: p["ActiveState"] == "active", 60)
        if broken.returncode == 0:
            raise Failed("`systemctl reload` with a broken file succeeded: the error is only in the journal")
        failed = journal(f"_PID={pid}", "EVENT=config.reload_failed")
        if not failed:
            raise Failed("no config.reload_failed in the journal after reloading a broken file")
        again = answered_call()
        again.hang_up()
        if main_pid() != pid:
            raise Failed(f"reload restarted answerd ({pid} -> {main_pid()})")
    finally:
        CONFIG.write_text(original)
        run(["systemctl", "reload", UNIT], timeout_s=120, check=False)  # back to the bench's own config
    return (
        f"valid reload applied; broken reload: systemctl exit {broken.returncode}, config.reload_failed logged, "
        f"Status {refused['StatusText'][:80]!r}, still answering"
    )


def scenario_stop_mid_call() -> str:
    """`systemctl stop` during a logged-in call ends the session, hangs the modem up although it cannot see
    DTR (escape and ATH0, as for a modem at &D0), and stops the unit cleanly (exit 0, within
    TimeoutStopSec); the call's record says OUTCOME=shutdown."""
    line_ready()
    before = len(calls_ended())
    hangups_before = len(journal("PORT=ttyACM0", "EVENT=call.hangup.done"))
    caller = logged_in_call()
    mark = len(SIM.transcript())
    started = time.monotonic()
    run(["systemctl", "stop", UNIT], timeout_s=60)
    took = time.monotonic() - started
    p = unit("ActiveState", "Result", "ExecMainStatus")
    record = new_record(before, 30)
    # answerd dropped DTR, which the gadget side cannot see, so DCD stayed up: answerd's stop must then escape
    # and send ATH0 itself (a modem at &D0 would stay online otherwise), and the simulated modem is on-hook
    # again (it reopens ttyGS0) without the caller hanging up.
    wait_until("the modem on-hook again", lambda: "opened /dev/ttyGS0" in SIM.transcript()[mark:], 30)
    hangups = journal("PORT=ttyACM0", "EVENT=call.hangup.done")[hangups_before:]
    caller.hang_up()
    leftovers = run(["pgrep", "-u", USER], check=False).stdout.split()
    if p["ActiveState"] != "inactive" or p["Result"] != "success":
        raise Failed(f"after stop: {p}")
    if record.get("OUTCOME") != "shutdown":
        raise Failed(f"the call's OUTCOME is {record.get('OUTCOME')!r}, expected shutdown")
    if not hangups or "ATH0" not in str(hangups[-1].get("HOW")):
        raise Failed(f"the stop did not hang the modem up with the escape and ATH0: {hangups[-1:]}")
    if leftovers:
        raise Failed(f"processes of {USER} survived the stop: {leftovers}")
    run(["systemctl", "start", "--no-block", UNIT])
    how = hangups[-1].get("HOW")
    return f"stopped in {took:.1f}s, {p}, OUTCOME=shutdown, hung up: {how}, no session processes left"


def scenario_unplug_replug() -> str:
    """Unplugging the modem (`echo "" > UDC`) stops the unit cleanly (BindsTo=dev-ttyACM0.device); plugging it
    back in starts it again through the udev rule from units/ (SYSTEMD_WANTS), and it answers."""
    line_ready()
    GADGET.unplug()
    wait_unit(f"{UNIT} stopped", lambda p: p["ActiveState"] in ("inactive", "failed"), 60)
    p = unit("ActiveState", "Result", "ExecMainStatus")
    if p["ActiveState"] != "inactive" or p["Result"] != "success":
        raise Failed(f"the unplug did not stop the unit cleanly: {p}")
    GADGET.plug()
    wait_active(120)
    caller = answered_call()
    caller.hang_up()
    return f"unplug: {p}; re-plug: started by udev, answered a call"


SCENARIOS: list[Callable[[], str]] = [
    scenario_ready_after_init,
    scenario_modem_control_tiocm,
    scenario_terminal_call,
    scenario_ppp_call,
    scenario_journal_records,
    scenario_reload,
    scenario_stop_mid_call,
    scenario_unplug_replug,
    scenario_probe_tty,
    scenario_hil_suite,
]


def _over_budget(_signum: int, _frame: FrameType | None) -> None:
    raise Failed("over its budget (BUDGET_S or BUDGETS)")


def run_all(selected: set[str]) -> None:
    """Run the scenarios (all, or the ``selected`` names), one result line each."""
    signal.signal(signal.SIGALRM, _over_budget)
    for scenario in SCENARIOS:
        name = scenario.__name__.removeprefix("scenario_")
        if selected and name not in selected:
            continue
        proves = " ".join((scenario.__doc__ or "").split())
        budget = BUDGETS.get(name, BUDGET_S)
        emit("start", scenario=name, budget_s=budget)
        started = time.monotonic()
        signal.alarm(budget)
        try:
            detail = scenario()
            passed = True
        except Exception as exc:
            detail = f"{type(exc).__name__}: {exc}"
            passed = False
            with open(OUT / f"{name}.traceback", "w") as out:
                traceback.print_exc(file=out)
        finally:
            signal.alarm(0)
        emit("result", scenario=name, passed=passed, seconds=round(time.monotonic() - started, 1), proves=proves,
             detail=detail[:2000])  # fmt: skip


def save_results() -> None:
    """Journal, unit status and logs into OUT, then OUT as a tar file onto the results disk."""
    with open(OUT / "journal.json", "w") as out:
        subprocess.run(["journalctl", "--no-pager", "-o", "json"], stdout=out, check=False, timeout=120)
    with open(OUT / "status.txt", "w") as out:
        subprocess.run(
            ["systemctl", "status", "--no-pager", "-l", UNIT], stdout=out, stderr=out, check=False, timeout=30
        )
    for log in ("/run/vbench-answerd-pppd.log",):
        with contextlib.suppress(OSError):
            Path(OUT / Path(log).name).write_bytes(Path(log).read_bytes())
    with tarfile.open(RESULTS_DISK, "w") as tar:
        tar.add(str(OUT), arcname="results")
    os.sync()  # the machine is powered off right after this, without the usual shutdown


def main() -> int:
    """Run the scenarios named on the kernel command line (vbench.only=a,b) or all; save; power off."""
    OUT.mkdir(parents=True, exist_ok=True)
    cmdline = Path("/proc/cmdline").read_text().split()
    only = next((arg.split("=", 1)[1] for arg in cmdline if arg.startswith("vbench.only=")), "")
    emit("boot", scenarios=[s.__name__.removeprefix("scenario_") for s in SCENARIOS])
    try:
        run_all({name for name in only.split(",") if name})
    finally:
        SIM.stop()
        try:
            save_results()
            emit("saved")
        except Exception as exc:
            emit("save-failed", detail=f"{type(exc).__name__}: {exc}")
        emit("done")
    return 0


if __name__ == "__main__":
    sys.exit(main())
