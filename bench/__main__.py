"""``python -m bench``: answerd against mgetty on one simulated line, then a 32-line answerd pool.

Run from the repository root, as root (mgetty needs a private mount namespace and a port under ``/dev``)::

    .venv/bin/python -m bench [--calls 30] [--idle-seconds 60] [--no-pool | --pool-only] [--json OUT]

See ``bench/compare.py`` (single line: what is aligned, how each number is taken) and ``bench/pool.py``
(the pool); ``docs/benchmarks.md`` has the results and the discussion.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

from .common import REPO, answerd_python, machine_info, other_activity, ratio, summarize, use_installed_layout
from .compare import (
    PASSES,
    WARM_IMPORTS,
    SingleLineOptions,
    answerd_env,
    measure_imports,
    mgetty_binary_info,
    run_single_line,
    to_jsonable,
)
from .floor import measure as measure_floor
from .mgetty import MGETTY, mgetty_version
from .modem import ModemError
from .pool import PoolOptions, run_pool
from .sandbox import enter_private_namespace


class Row(NamedTuple):
    """One row of the main table: the samples of ``key`` in ``source`` ("calls" or "startups") of a pass.

    For "startups" the mgetty column uses ``exec_to_init_done_ms`` when the key is answerd-only (READY=1).
    ``only`` names a :data:`SAMPLE_FILTERS` entry: the row counts only the samples it accepts (both tools),
    and its summary key gets the name as a suffix.
    """

    label: str
    pass_name: str
    source: str
    key: str
    only: str | None = None


#: Which samples a filtered row counts (none at present: every start-up checks its config).
SAMPLE_FILTERS: dict[str, Callable[[dict[str, Any]], bool]] = {}

ROWS: list[Row] = [
    Row("1. final RING → `ATA` at the modem", "zero", "calls", "ring_to_ata_ms"),
    Row("   same, each tool's defaults", "defaults", "calls", "ring_to_ata_ms"),
    Row("2. CONNECT → first byte, waits 0 (settle_ms 0 / prompt-waittime 0)", "zero", "calls",
        "connect_to_first_byte_ms"),
    Row("   CONNECT → `login: ` complete, waits 0", "zero", "calls", "connect_to_prompt_ms"),
    Row("   CONNECT → first byte, defaults (settle_ms 500 / prompt-waittime 500)", "defaults", "calls",
        "connect_to_first_byte_ms"),
    Row("   CONNECT → `login: ` complete, defaults", "defaults", "calls", "connect_to_prompt_ms"),
    Row("3. name sent → login program running", "zero", "calls", "name_to_program_ms"),
    Row("   same, defaults", "defaults", "calls", "name_to_program_ms"),
    Row("4. call end → ready (modem's OK to the last init command), aligned", "zero", "calls", "end_to_ready_ms"),
    Row("   call end → first init command at the modem, aligned", "zero", "calls", "end_to_first_at_ms"),
    Row("   call end → ready, defaults (each tool's init chat)", "defaults", "calls", "end_to_ready_ms"),
    Row("7. start → READY=1 (config checked at every start); mgetty: init done at the modem", "zero",
        "startups", "exec_to_ready_ms"),
    Row("   start → init done at the modem (both), every start", "zero", "startups", "exec_to_init_done_ms"),
    Row("   start → first byte at the modem, every start", "zero", "startups", "exec_to_first_rx_ms"),
    Row("   start → READY / init done, minus the modem's response time", "zero", "startups", "ready_overhead_ms"),
]  # fmt: skip


def _cell(v: Any, digits: int = 2) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def _values(results: dict[str, Any], row: Row, tool: str) -> list[float | None]:
    data = results.get(row.pass_name, {}).get(tool)
    if not data:
        return []
    key = row.key
    if tool == "mgetty" and key == "exec_to_ready_ms":
        key = "exec_to_init_done_ms"
    keep = SAMPLE_FILTERS[row.only] if row.only else None
    return [item.get(key) for item in data[row.source] if keep is None or keep(item)]


def summary_key(row: Row) -> str:
    """The row's key in the report's ``summary``: ``PASS.KEY``, with ``.FILTER`` for a filtered row."""
    return f"{row.pass_name}.{row.key}" + (f".{row.only}" if row.only else "")


def build_table(results: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
    """The main Markdown table (ms) and the summaries it shows."""
    lines = [
        "| metric (ms) | n | answerd min | median | p99 | max | mgetty min | median | p99 | max | ratio (median) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    summary: dict[str, Any] = {}
    for row in ROWS:
        a = summarize(_values(results, row, "answerd"))
        m = summarize(_values(results, row, "mgetty"))
        if a["n"] == 0 and m["n"] == 0:
            continue
        r = ratio(a["median"], m["median"])
        summary[summary_key(row)] = {"answerd": a, "mgetty": m, "ratio_median": r}
        n = a["n"] if a["n"] == m["n"] or m["n"] == 0 else f"{a['n']}/{m['n']}"
        lines.append(
            f"| {row.label} | {n} | {_cell(a['min'])} | {_cell(a['median'])} | {_cell(a['p99'])} | {_cell(a['max'])} "
            f"| {_cell(m['min'])} | {_cell(m['median'])} | {_cell(m['p99'])} | {_cell(m['max'])} "
            f"| {_cell(r, 3)} |"
        )
    return lines, summary


def build_resource_table(results: dict[str, Any], imports: dict[str, Any] | None) -> tuple[list[str], dict[str, Any]]:
    """Idle cost, memory and interpreter start-up, one row each."""
    zero = results.get("zero", {})
    a, m = zero.get("answerd", {}), zero.get("mgetty", {})
    rows: list[tuple[str, float | None, float | None]] = []
    ia, im = a.get("idle"), m.get("idle")
    if ia or im:
        secs = (ia or im)["seconds"]
        rows.append((f"5. idle {secs:.0f} s: CPU ms (schedstat)", ia and ia["cpu_ms_schedstat"],
                     im and im["cpu_ms_schedstat"]))  # fmt: skip
        rows.append((f"   idle {secs:.0f} s: CPU ms (utime+stime ticks)", ia and ia["cpu_ms_utime_stime"],
                     im and im["cpu_ms_utime_stime"]))  # fmt: skip
        rows.append((f"   idle {secs:.0f} s: context switches (voluntary + involuntary)",
                     ia and ia["voluntary_ctxt_switches"] + ia["nonvoluntary_ctxt_switches"],
                     im and im["voluntary_ctxt_switches"] + im["nonvoluntary_ctxt_switches"]))  # fmt: skip
        rows.append(("   threads", ia and ia["threads"], im and im["threads"]))
    if "cpu_ms_per_call" in a or "cpu_ms_per_call" in m:
        rows.append(("   CPU ms per call, daemon + stand-in program (mgetty: its respawn + init included)",
                     a.get("cpu_ms_per_call"), m.get("cpu_ms_per_call")))  # fmt: skip
    mem_a, mem_m = a.get("memory", {}).get("idle_after_calls"), m.get("memory", {}).get("idle_after_calls")
    if mem_a or mem_m:
        rows.append(("6. RSS MiB, idle after the calls", mem_a and mem_a["rss_mib"], mem_m and mem_m["rss_mib"]))
        rows.append(("   PSS MiB, idle after the calls", mem_a and mem_a["pss_mib"], mem_m and mem_m["pss_mib"]))
        rows.append(("   USS MiB (private), idle after the calls", mem_a and mem_a["uss_mib"],
                     mem_m and mem_m["uss_mib"]))  # fmt: skip
    if imports:
        rows.append(("7. `python -c pass` wall ms (best of 5)", imports["wall_ms_python_pass"], None))
        rows.append(("   `python -c` importing what `answerd run` imports, wall ms", imports["wall_ms_import_run_path"],
                     None))  # fmt: skip
        rows.append(("   `-X importtime` sum of those imports, ms", imports["importtime_ms_total_run_path"], None))
    lines = ["| resource | answerd | mgetty | ratio |", "|---|---:|---:|---:|"]
    summary = {}
    for label, va, vm in rows:
        r = ratio(va, vm)
        summary[label.strip(" .0123456789")] = {"answerd": va, "mgetty": vm, "ratio": r}
        lines.append(f"| {label} | {_cell(va)} | {_cell(vm)} | {_cell(r, 2)} |")
    return lines, summary


def build_pool_lines(pool: dict[str, Any]) -> list[str]:
    """The pool's results as a small table."""
    r = pool["ring_to_ata_ms"]
    cpu = pool["cpu"]
    mem = pool["memory"]
    o = pool["options"]
    warnings = ", ".join(f"{key} x{value['count']}" for key, value in pool["log_warnings"].items())
    return [
        f"pool: {o['lines']} lines, Poisson arrivals at {pool['rate_per_s']:.3f} calls/s for "
        f"{pool['offered_for_s']:.0f} s (limit {o['minutes']} min / {o['calls']} calls), think time "
        f"{o['think_s']} s, mode = direct",
        "",
        "| pool metric | value |",
        "|---|---:|",
        f"| calls offered | {pool['offered']} |",
        f"| answered | {pool['answered']} |",
        f"| lost (answered late or never, or line not back) | {pool['lost']} {pool['outcomes']} |",
        f"| blocked (no line ready: the pool was full) | {pool['blocked_all_busy']} |",
        f"| RING → ATA p50 / p99 / max ms | {_cell(r['median'])} / {_cell(r['p99'])} / {_cell(r['max'])} |",
        f"| call end → line ready p50 / p99 ms | {_cell(pool['end_to_ready_ms']['median'])} / "
        f"{_cell(pool['end_to_ready_ms']['p99'])} |",
        f"| answerd CPU total (own) s | {cpu['answerd_own_s']:.2f} ({cpu['answerd_own_ms_per_call']:.1f} ms per "
        f"answered call, {cpu['answerd_own_percent_of_one_core']:.2f} % of one core) |",
        f"| stand-in programs' CPU s | {cpu['standin_children_s']:.2f} |",
        f"| this process ({o['lines']} modems) CPU s / whole machine busy % | {cpu['bench_process_s']:.2f} / "
        f"{cpu['machine_busy_percent']:.1f} |",
        f"| PSS sum MiB: idle before / max during / idle after | {mem['idle_before']['pss_mib_sum']} / "
        f"{mem['pss_mib_sum_max']} / {mem['idle_after']['pss_mib_sum']} ({mem['pss_mib_per_port_after']} per port) |",
        f"| start of all {o['lines']}: all READY after s (exec → READY p50 / max ms) | {pool['start_all_ready_s']:.2f} "
        f"({_cell(pool['exec_to_ready_ms']['median'], 0)} / {_cell(pool['exec_to_ready_ms']['max'], 0)}) |",
        f"| answerd warnings/errors logged | {warnings or 'none'} |",
    ]


def check_targets(out: dict[str, Any]) -> list[tuple[str, bool | None, str]]:
    """Each target of the issue: (text, holds?, the numbers)."""
    checks: list[tuple[str, bool | None, str]] = []
    s = out.get("summary", {})
    single = out.get("single_line", {})

    def med(key: str, tool: str = "answerd", stat: str = "median") -> float | None:
        entry = s.get(key, {}).get(tool)
        return entry[stat] if entry else None

    v = med("zero.ring_to_ata_ms")
    if v is not None:
        checks.append(("RING → ATA median ≤ 2 ms", v <= 2, f"{v} ms (p99 {med('zero.ring_to_ata_ms', stat='p99')})"))
    v0, vd = med("zero.connect_to_first_byte_ms"), med("defaults.connect_to_first_byte_ms")
    if v0 is not None:
        text = f"settle 0: {v0} ms" + (f"; settle 500: {round(vd - 500, 3)} ms beyond the wait" if vd else "")
        checks.append(("CONNECT → prompt ≤ 5 ms beyond the configured wait (median)",
                       v0 <= 5 and (vd is None or vd - 500 <= 5), text))  # fmt: skip
    a, m = med("zero.end_to_ready_ms"), med("zero.end_to_ready_ms", "mgetty")
    if a is not None and m is not None:
        checks.append(("call end → ready no slower than mgetty (aligned, median)", a <= m, f"{a} vs {m} ms"))
    idle = single.get("zero", {}).get("answerd", {}).get("idle")
    if idle:
        n = idle["voluntary_ctxt_switches"] + idle["nonvoluntary_ctxt_switches"]
        checks.append((f"0 context switches in {idle['seconds']:.0f} s idle", n == 0, f"{n}"))
    mem = single.get("zero", {}).get("answerd", {}).get("memory", {}).get("idle_after_calls")
    floor = out.get("floor", {}).get("pss")
    if mem and floor:
        share = round(mem["pss_mib"] - floor, 2)
        checks.append(("answerd's PSS above the floor ≤ 4 MiB (single line)", share <= 4,
                       f"{mem['pss_mib']} - {floor} = {share} MiB"))  # fmt: skip
    pool = out.get("pool")
    v = med("zero.ready_overhead_ms")
    if v is not None:
        n = s["zero.ready_overhead_ms"]["answerd"]["n"]
        checks.append(("start → READY overhead ≤ 250 ms (median)", v <= 250, f"{v} ms (n={n})"))
    if pool:
        checks.append(("0 lost calls in the pool", pool["lost"] == 0, f"{pool['lost']} of {pool['offered']}"))
    return checks


def render(out: dict[str, Any]) -> str:
    """The report printed on stdout."""
    mach = out["machine"]
    text = [
        f"machine: nproc={mach['nproc']} cpu={mach['cpu_model']!r} mem={mach['mem_total_mib']} MiB "
        f"os={mach['os']!r} kernel={mach['kernel']} python={mach['python']} mgetty={out.get('mgetty_version')}",
        f"answerd: HEAD {mach['repo_head'][:12]}, {len(mach['modified_under_answerd'])} modified path(s) "
        f"under answerd/; load average at start {'/'.join(f'{x:.2f}' for x in mach['loadavg_at_start'])}, at end "
        f"{'/'.join(f'{x:.2f}' for x in mach.get('loadavg_at_end', ()))}; other answerd/pytest/qemu processes "
        f"at start {len(mach['other_activity_at_start'])}, at end {len(mach.get('other_activity_at_end', []))}",
        f"command: {out['command']}",
        "",
    ]
    if out.get("single_line"):
        lines, summary = build_table(out["single_line"])
        out["summary"] = summary
        text += lines
        text.append("")
        res_lines, res_summary = build_resource_table(out["single_line"], out.get("imports"))
        out["resource_summary"] = res_summary
        text += res_lines
        mg = out["single_line"].get("zero", {}).get("mgetty")
        if mg:
            calls = mg["calls"]
            keys = ("end_to_exit_seen_ms", "end_to_respawn_exec_ms", "respawn_exec_to_first_at_ms")
            parts = {k: summarize([c.get(k) for c in calls])["median"] for k in keys}
            text += ["", "mgetty's call end → ready, medians (ms): program's FIFO byte → exit seen "
                     f"{parts['end_to_exit_seen_ms']}, → respawn exec {parts['end_to_respawn_exec_ms']}; "
                     f"respawn exec → first init command {parts['respawn_exec_to_first_at_ms']}"]  # fmt: skip
        for pass_name in PASSES:
            for tool in ("answerd", "mgetty"):
                data = out["single_line"].get(pass_name, {}).get(tool)
                if data:
                    text.append(f"init sequence, {tool}/{pass_name}: {data['init_sequence']}")
    if out.get("imports"):
        imp = out["imports"]
        top = ", ".join(f"{e['module']} {e['cumulative_ms']}" for e in imp["importtime_heaviest"][:10])
        groups = ", ".join(f"{k} {v}" for k, v in imp.get("by_package_self_ms", {}).items())
        text += ["", f"imports (cumulative ms, -X importtime, best of 5): {top}",
                 f"imports by package (sum of self ms): {groups}"]  # fmt: skip
    if out.get("pool"):
        text += ["", *build_pool_lines(out["pool"])]
    checks = check_targets(out)
    out["targets"] = [{"target": t, "holds": h, "value": v} for t, h, v in checks]
    if checks:
        text += ["", "targets:"]
        text += [f"  [{'ok  ' if h else 'MISS'}] {t}: {v}" for t, h, v in checks]
    return "\n".join(text)


def build_parser() -> argparse.ArgumentParser:
    """Command-line options."""
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=30, help="calls per daemon and pass (default 30)")
    p.add_argument("--idle-seconds", type=float, default=60.0, help="idle measurement per daemon (default 60)")
    p.add_argument("--startups", type=int, default=5, help="start-ups per daemon in the zero pass (default 5)")
    p.add_argument("--gap-ms", type=float, default=1000.0,
                   help="pause between the line being ready and the next RING (default 1000: more than "
                        "mgetty's 300 ms line clearing after its init chat)")  # fmt: skip
    p.add_argument("--passes", nargs="+", choices=PASSES, default=list(PASSES), help="which passes (default both)")
    p.add_argument("--no-mgetty", action="store_true", help="answerd only (when mgetty is not installed)")
    p.add_argument("--skip-imports", action="store_true", help="do not measure import times")
    p.add_argument("--no-pool", action="store_true", help="skip the pool run")
    p.add_argument("--pool-only", action="store_true", help="only the pool run")
    p.add_argument("--pool-lines", type=int, default=32, help="answerd processes in the pool (default 32)")
    p.add_argument("--pool-minutes", type=float, default=15.0, help="pool run length limit (default 15)")
    p.add_argument("--pool-calls", type=int, default=2000, help="pool call limit (default 2000)")
    p.add_argument("--pool-rate", type=float, help="calls per second (default: pool-calls / pool-minutes)")
    p.add_argument("--pool-think-s", type=float, default=3.0, help="stand-in program's think time (default 3)")
    p.add_argument("--pool-seed", type=int, default=1, help="random seed of the arrivals (default 1)")
    p.add_argument("--json", type=Path, metavar="OUT", help="write the raw samples and summaries as JSON")
    p.add_argument("-v", "--verbose", action="store_true", help="progress for every call on stderr")
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print the report."""
    args = build_parser().parse_args(argv)
    single = not args.pool_only
    use_mgetty = single and not args.no_mgetty
    if use_mgetty and (os.geteuid() != 0 or not MGETTY.exists()):
        print(f"mgetty needs root and {MGETTY} (apt-get install mgetty); or pass --no-mgetty", file=sys.stderr)
        return 2
    command = shlex.join(["python", "-m", "bench", *(sys.argv[1:] if argv is None else argv)])

    def progress(text: str) -> None:
        if args.verbose or " call " not in text:
            print(f"  {text}", file=sys.stderr, flush=True)

    out: dict[str, Any] = {"command": command, "machine": machine_info(), "options": vars(args)}
    with tempfile.TemporaryDirectory(prefix="answerd-bench-ns-") as nsdir:
        if use_mgetty:
            out["mgetty_version"] = mgetty_version()
            out["mgetty_binary"] = mgetty_binary_info()
        if os.geteuid() == 0:
            enter_private_namespace(Path(nsdir))  # before any thread exists
            out["namespace"] = "private: /etc/mgetty, /var/log/mgetty, /run (tmpfs, empty utmp), wtmp"
        pycache = Path(nsdir, "pycache")
        env = answerd_env(pycache)
        # answerd starts as from a regular install (no editable finder)
        out["machine"]["answerd_python"] = use_installed_layout(Path(nsdir, "venv"))
        warm = [answerd_python(), "-c", WARM_IMPORTS]
        subprocess.run(warm, check=True, cwd=REPO, env=env)  # compile answerd's .pyc once, as an install does
        out["floor"] = measure_floor(answerd_python(), env, repeat=3)  # what answerd's PSS is measured against
        try:
            if single:
                if not args.skip_imports:
                    out["imports"] = measure_imports(pycache)
                opts = SingleLineOptions(calls=args.calls, idle_seconds=args.idle_seconds, startups=args.startups,
                                         gap_s=args.gap_ms / 1000, mgetty=use_mgetty, passes=tuple(args.passes),
                                         pycache=pycache)  # fmt: skip
                out["single_line"] = asyncio.run(run_single_line(opts, progress))
            if not args.no_pool:
                popts = PoolOptions(lines=args.pool_lines, minutes=args.pool_minutes, calls=args.pool_calls,
                                    rate_per_s=args.pool_rate, think_s=args.pool_think_s, seed=args.pool_seed,
                                    pycache=pycache, env=env)  # fmt: skip
                out["pool"] = asyncio.run(run_pool(popts, progress))
        except ModemError as exc:
            print(f"bench failed: {exc}", file=sys.stderr)
            return 1
    out["machine"]["loadavg_at_end"] = os.getloadavg()
    out["machine"]["other_activity_at_end"] = other_activity()
    print(render(out))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(out, indent=1, default=to_jsonable) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
