"""The vbench scenarios that take the line from answerd's unit: ``answerd probe`` and the HIL suite.

Both stop answerd@ttyACM0 first (the probe refuses a line answerd holds; the HIL suite starts answerd itself,
as the unit's ExecStart does) and leave the bench as they found it for the next scenario (line_ready starts
the unit and the single-modem sim again).
"""

from __future__ import annotations

import re
import select
import signal
import subprocess
from pathlib import Path

from line import PASSWORD, SIM, USER, line_ready

from bench import ACM, GS, OUT, UNIT, Failed, run, wait_unit

#: The HIL suite in the guest: its venv (answerd + pytest, built offline with the image) and its sources.
HIL_PYTHON = "/opt/vbench-hil/bin/python"
SUITE = Path(__file__).resolve().parent / "suite"
#: The personality answering on ttyGS0 in the HIL run, and the calls in a row.
HIL_FAMILY = "rockwell"
HIL_CALLS = 3
#: The HIL run's own budget (the suite makes 7 calls, each with a real login or a PPP link, under emulation).
HIL_BUDGET_S = 600
#: The bench's phone line, as fast as the simulated bench's in CI (hil/bench.py's SIM_TIMINGS).
_TIMINGS = "{ ring_interval_s = 1.0, answer_delay_s = 0.2 }"


def _unit_stopped() -> None:
    run(["systemctl", "stop", UNIT], timeout_s=60)
    wait_unit(f"{UNIT} stopped", lambda p: p["ActiveState"] in ("inactive", "failed"), 60)


def scenario_probe_tty() -> str:
    """`answerd probe ttyACM0` on the real tty (the unit stopped, the sim on ttyGS0): it reads the control lines
    the cdc_acm driver gives and reports what this bench really shows: DCD, DSR and CTS on (the gadget reports
    DCD and DSR while ttyGS0 is open, cdc_acm always CTS), RI off, DCD not following &C (high in command mode,
    like &C0) so carrier = "modem-text" is advised, and a DTR drop not reaching the modem (the gadget side
    cannot see DTR); its table passes check-config."""
    line_ready()
    _unit_stopped()
    try:
        done = run(["answerd", "probe", "ttyACM0", "--speed", "115200"], timeout_s=120)
    finally:
        run(["systemctl", "start", "--no-block", UNIT])
    out = done.stdout
    (OUT / "probe.txt").write_text(out)
    lines = dict(re.findall(r"^# (DCD|DSR|CTS|RI|DTR):\s*(.*)$", out, re.MULTILINE))
    expected = {"DCD": "on stays on", "DSR": "on", "CTS": "on", "RI": "off", "DTR": "a DTR drop does NOT reach"}
    wrong = {name: lines.get(name) for name, text in expected.items() if not (lines.get(name) or "").startswith(text)}
    if wrong:
        raise Failed(f"probe's verdicts differ from what the gadget shows: {wrong}; the whole report: {lines}")
    if 'carrier = "modem-text"' not in out or "modem_control" in out:
        raise Failed(f"probe's table should keep tiocm and advise carrier = modem-text here:\n{out}")
    table = OUT / "probe-table.toml"
    table.write_text(out[out.index("[ports.") :])
    table.chmod(0o644)
    run(["answerd", "check-config", str(table)], timeout_s=60)
    return "; ".join(f"{name}: {text}" for name, text in lines.items())


def _hil_bench_files(call_link: Path) -> tuple[Path, Path]:
    """The simulated exchange (answering modem served on ttyGS0, calling modem on a pty) and the HIL suite's
    bench description for it (answerd on ttyACM0, the test account, PPP)."""
    sim = OUT / "hil-sim.toml"
    sim.write_text(
        f'[[line]]\nserve = "{GS}"\nnumber = "881"\nprofile = "{HIL_FAMILY}"\ntimings = {_TIMINGS}\n\n'
        f'[[line]]\nlink = "{call_link}"\nnumber = "882"\nprofile = "generic"\ntimings = {_TIMINGS}\n'
    )
    bench = OUT / "hil-bench.toml"
    bench.write_text(
        "\n".join([
            f'answer_port = "{ACM}"', f'call_port = "{call_link}"', 'number = "881"',
            'expected_caller_id = "882"', f'user = "{USER}"', f'password = "{PASSWORD}"', "ppp = true",
            f'answer_family = "{HIL_FAMILY}"', 'call_family = "generic"', "speed = 115200",
            f"calls = {HIL_CALLS}", "",
        ])
    )  # fmt: skip
    return sim, bench


def scenario_hil_suite() -> str:
    """The HIL suite (`pytest hil --bench FILE`) in the guest against /dev/ttyACM0: one personality (rockwell)
    answering on the gadget through `answerd sim --bench` (serve = /dev/ttyGS0), a generic modem calling from
    a pty; the suite starts answerd as the unit does, and its tests pass: init and READY=1, a call with a real
    /bin/login, the caller's hang-up and answerd ready again, caller ID in the record, a PPP link carrying a
    ping both ways (PAP with the test account, the record naming the peer), 3 calls in a row."""
    line_ready()
    _unit_stopped()
    SIM.stop()  # the single-modem sim gives ttyGS0 to the bench's
    call_link = Path("/run/vbench-hil/ttyCALLER")
    call_link.parent.mkdir(exist_ok=True)
    sim_file, bench_file = _hil_bench_files(call_link)
    with open(OUT / "hil-sim.log", "w") as log:
        bench_sim = subprocess.Popen(
            ["answerd", "sim", "--bench", str(sim_file), "-v"], stdout=subprocess.PIPE, stderr=log, text=True,
            start_new_session=True,
        )  # fmt: skip
    try:
        assert bench_sim.stdout is not None
        ready = bench_sim.stdout.readline() if select.select([bench_sim.stdout], [], [], 30)[0] else ""
        if not ready.startswith("answerd-sim: ready bench 881=/dev/ttyGS0"):
            raise Failed(f"answerd sim --bench with serve = ttyGS0 did not get ready: {ready!r}")
        argv = [HIL_PYTHON, "-m", "pytest", "hil", "--bench", str(bench_file), "--calls", str(HIL_CALLS), "-v",
                "-rs", "-p", "no:cacheprovider", f"--junitxml={OUT / 'hil-junit.xml'}"]  # fmt: skip
        with open(OUT / "hil-console.txt", "w") as console:
            done = subprocess.run(argv, cwd=SUITE, stdout=console, stderr=subprocess.STDOUT, timeout=HIL_BUDGET_S - 60,
                                  check=False)  # fmt: skip
    finally:
        bench_sim.send_signal(signal.SIGTERM)
        try:
            bench_sim.wait(10)
        except subprocess.TimeoutExpired:
            bench_sim.kill()
            bench_sim.wait()
    text = (OUT / "hil-console.txt").read_text(errors="replace")
    summary = next((line for line in reversed(text.splitlines()) if " in " in line and "=" in line), "")
    if done.returncode != 0:
        raise Failed(f"pytest hil exit {done.returncode}: {summary}; see hil-console.txt:\n{text[-1500:]}")
    if not re.search(r"test_ppp_link_carries_a_ping\[.*\] PASSED", text):
        raise Failed(f"the PPP test did not pass (skipped?): {summary}\n{text[-1500:]}")
    rows = [line for line in text.splitlines() if line.split()[:2] == ["hil-bench", HIL_FAMILY]]
    return f"{summary.strip('= ')}; calls: {len(rows)} rows, " + " | ".join(" ".join(r.split()[2:5]) for r in rows)
