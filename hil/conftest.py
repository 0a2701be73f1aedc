"""The HIL suite's options, benches and results table.

``pytest hil --bench bench.toml`` runs every test against the hardware the description names (see
hil/bench.example.toml); ``pytest hil --bench sim`` builds a simulated bench for each modem personality
(``answerd sim --bench``) and runs every test on each. With neither, every test is skipped with one reason.
CI does not collect ``hil/`` by default (``testpaths = ["tests"]``); ``.ci/run`` runs ``--bench sim``.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from hil.bench import FAMILIES, Bench, BenchError, load_bench, sim_bench
from hil.driver import CallingModem, CallResult, Daemon

NO_BENCH = "no bench: pass --bench sim (the simulated bench) or --bench FILE.toml (hardware; hil/bench.example.toml)"
RESULTS = pytest.StashKey[list[CallResult]]()
#: With --record: each bench's raw line trace file (answerd's ``trace_line``), by bench name.
TRACES = pytest.StashKey[dict[str, Path]]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("answerd HIL bench")
    group.addoption("--bench", metavar="sim|FILE.toml", help="the bench: 'sim' or a bench description (TOML)")
    group.addoption("--personality", action="append", metavar="NAME", help="with --bench sim: only these")
    group.addoption("--calls", type=int, metavar="N", help="calls in a row (default: the bench's)")
    group.addoption(
        "--record", type=Path, metavar="DIR", help="save each call's AT dialogue as DIR/<bench>-<test>-<n>.jsonl"
    )


def pytest_configure(config: pytest.Config) -> None:
    config.stash[RESULTS] = []


def _benches(config: pytest.Config) -> list[str]:
    option = config.getoption("--bench")
    if not option:
        return []
    if option == "sim":
        return [f"sim:{name}" for name in (config.getoption("--personality") or FAMILIES)]
    return [f"file:{option}"]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "bench" in metafunc.fixturenames:
        ids = _benches(metafunc.config) or ["no-bench"]
        metafunc.parametrize("bench", ids, indirect=True, scope="session", ids=ids)


#: pytest-timeout's limit for a HIL test: calls on hardware take 10-40 s each, and 20 of them run in one test.
#: Every wait inside has its own deadline; this only stops a run that is stuck for good.
HIL_TIMEOUT_S = 3600


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.timeout(HIL_TIMEOUT_S))
        if not config.getoption("--bench"):
            item.add_marker(pytest.mark.skip(reason=NO_BENCH))


@pytest.fixture(scope="session")
def bench(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bench]:
    """The bench under test: a description's hardware, or one simulated bench per personality."""
    kind, _, value = str(request.param).partition(":")
    calls = request.config.getoption("--calls")
    if kind == "sim":
        with sim_bench(value, tmp_path_factory.mktemp(f"sim-{value}")) as built:
            yield built if calls is None else _with_calls(built, calls)
        return
    try:
        described = load_bench(Path(value))
    except BenchError as exc:
        pytest.fail(f"bench description: {exc}", pytrace=False)
    yield described if calls is None else _with_calls(described, calls)


def _with_calls(bench: Bench, calls: int) -> Bench:
    return replace(bench, calls=calls)


@pytest.fixture(scope="session")
def daemon(request: pytest.FixtureRequest, bench: Bench, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Daemon]:
    """answerd on the answering port, started as its unit starts it; stopped (SIGTERM) after the bench's tests.
    With --record, answerd's raw line trace (``trace_line``) is on, for the ``record`` fixture."""
    workdir = tmp_path_factory.mktemp(f"daemon-{bench.name}")
    if request.config.getoption("--record") is not None:
        trace = workdir / "line.trace.jsonl"
        request.config.stash.setdefault(TRACES, {})[bench.name] = trace
        bench = replace(bench, extra_port_settings={**bench.extra_port_settings, "trace_line": str(trace)})
    running = Daemon(bench, workdir)
    try:
        running.wait_notify("READY=1", timeout=120)
        running.wait_ready(timeout=60)
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="session")
def caller(bench: Bench, daemon: Daemon) -> Iterator[CallingModem]:
    """The calling modem, reset, verbose, echo off, with the full result set."""
    modem = CallingModem(bench)
    try:
        modem.command("ATZ")
        modem.command("ATE0V1X4")
        yield modem
    finally:
        modem.close()


@pytest.fixture
def record(request: pytest.FixtureRequest, bench: Bench, daemon: Daemon) -> Callable[[int, int, int], None]:
    """``record(start, end, n)``: with --record DIR, save call n's raw bytes as DIR/<bench>-<test>-<n>.jsonl.

    The bytes are answerd's line trace (``trace_line``, on with --record) from where the previous save of this
    test stopped (or from this test's start) to now: the call, its hang-up and answerd's re-initialisation.
    answerd appends each chunk before it acts on it, so once the test has seen answerd ready again (the log
    record ``end`` is after that), the call's last chunk is in the file. ``start``..``end`` are the call's log
    records, which give the outcome to expect (``call.ended``'s CONNECT text and caller ID).
    """
    folder: Path | None = request.config.getoption("--record")
    test = request.node.originalname.removeprefix("test_")
    trace = request.config.stash.get(TRACES, {}).get(bench.name)
    offset = [trace.stat().st_size if trace is not None and trace.exists() else 0]

    def save(start: int, end: int, n: int) -> None:
        if folder is None or trace is None:
            return
        folder.mkdir(parents=True, exist_ok=True)
        data = trace.read_bytes() if trace.exists() else b""
        chunks, offset[0] = raw_chunks(data[offset[0] :]), len(data)
        ended = next((r for r in daemon.records[start:end] if r.get("event") == "call.ended"), {})
        meta = {
            "bench": bench.name,
            "family": bench.answer_family,
            "simulated": bench.simulated,
            "call": n,
            "format": "raw",
            "expect": {"connect": ended.get("connect"), "caller_id": ended.get("caller_id")},
        }
        path = folder / f"{bench.name}-{test}-{n}.jsonl"
        path.write_text("".join(json.dumps(item) + "\n" for item in [meta, *chunks]))

    return save


def raw_chunks(trace: bytes) -> list[dict[str, object]]:
    """The trace's chunks (its header and notes left out), ``t`` in seconds from the first chunk."""
    items = [json.loads(line) for line in trace.decode().splitlines() if line.strip()]
    chunks = [item for item in items if item.get("dir") in ("from-modem", "to-modem")]
    base = chunks[0]["t"] if chunks else 0.0
    return [{"t": round(c["t"] - base, 6), "dir": c["dir"], "hex": c["hex"]} for c in chunks]


@pytest.fixture
def results(request: pytest.FixtureRequest) -> list[CallResult]:
    """Where a test puts its calls for the table printed at the end."""
    return request.config.stash[RESULTS]


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    rows = config.stash.get(RESULTS, [])
    if not rows:
        return
    write = terminalreporter.write_line
    terminalreporter.section("answerd HIL calls (reported, not asserted)")
    write(f"{'bench':<16} {'family':<10} {'call':>4}  {'result':<8} {'to CONNECT':>10}  {'answerd got':<28} caller got")
    for row in rows:
        seconds = f"{row.seconds_to_connect:.2f} s" if row.seconds_to_connect is not None else "-"
        result = "ok" if row.ok else "FAILED"
        line = f"{row.bench:<16} {row.family:<10} {row.index:>4}  {result:<8} {seconds:>10}  {row.answered:<28} "
        write(line + (row.failure or row.connect))
    write("")
    write(f"{'bench':<16} {'calls':>5} {'connected':>10} {'median to CONNECT':>18} {'max':>8}")
    for name in dict.fromkeys(row.bench for row in rows):
        mine = [row for row in rows if row.bench == name]
        times = [row.seconds_to_connect for row in mine if row.ok and row.seconds_to_connect is not None]
        rate = 100 * sum(row.ok for row in mine) / len(mine)
        median = f"{statistics.median(times):.2f} s" if times else "-"
        longest = f"{max(times):.2f} s" if times else "-"
        write(f"{name:<16} {len(mine):>5} {rate:>9.0f}% {median:>18} {longest:>8}")
