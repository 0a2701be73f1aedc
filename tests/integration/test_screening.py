"""Caller ID, answer policy, busy-out and the modem's health, on the real daemon and the simulated modem."""

from __future__ import annotations

import json
import shutil
import signal
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import Bench, Caller
from .test_dispatch import (  # noqa: F401  (fixtures are found by name)
    HOSTILE_NAME,
    ScriptedModem,
    _public_dir,
    _scripted,
    mdmf,
)

pytestmark = pytest.mark.integration

CID = ["--caller-id", "5551234", "--caller-name", "JOHN SMITH", "--cid"]
#: Calls that are answered end at once: the program is /bin/true.
ANSWER = {"mode": "direct", "direct_program": ["/bin/true"], "rings": 2, "ring_gap_s": 0.8}
INIT = [r"ATZ\r", r"ATE0Q0V1&C1&D2S0=0\r"]
#: After the init chat (modem_family and caller_id "auto"): the sim names no vendor, so V.250's caller-ID command.
SETUP = [r"AT+GMI\r", r"AT+GMM\r", r"ATI3\r", r"ATI0\r", r"AT+VCID=1\r"]
#: The hang-up after a call the program ended, on a line without DCD: the escape first, then ATH0.
HANGUP = ["+++", r"ATH0\r"]

DECIDER = """#!/usr/bin/python3
# A decision program: records how answerd ran it, then does what <program>.action says (steps split by ";").
import json, os, signal, sys, time
base = os.path.abspath(sys.argv[0])
with open(base + ".json", "w") as f:
    json.dump({"argv": sys.argv, "uid": os.getuid(), "gid": os.getgid(), "env": dict(os.environ),
               "cwd": os.getcwd(), "sid": os.getsid(0), "pid": os.getpid()}, f)
for step in open(base + ".action").read().split(";"):
    verb, _, arg = step.strip().partition(" ")
    if verb == "sleep":
        time.sleep(float(arg))
    elif verb == "say":
        sys.stderr.write(arg + "\\n")
        sys.stderr.flush()
    elif verb == "background":
        if os.fork() == 0:  # a helper that outlives the program, with its stderr still open
            time.sleep(float(arg))
            os._exit(0)
    elif verb == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    elif verb == "exit":
        sys.exit(int(arg))
"""


def make_decider(directory: Path, action: str) -> Path:
    """Write the decision program into ``directory`` (user nobody must be able to use it); it does ``action``."""
    program = directory / "decide"
    program.write_text(DECIDER)
    program.chmod(0o755)
    Path(f"{program}.action").write_text(action)
    return program


def decider_record(program: Path) -> dict[str, Any]:
    """How answerd ran the decision program."""
    return json.loads(Path(f"{program}.json").read_text())  # type: ignore[no-any-return]


def still_ringing(caller: Caller) -> bool:
    """Whether the caller is still on the line (the modem neither answered nor dropped it)."""
    caller.sock.setblocking(False)
    try:
        return caller.sock.recv(1) != b""
    except BlockingIOError:
        return True
    finally:
        caller.sock.settimeout(10)


def unanswered(bench: Bench, caller: Caller, mark: int, *, until_ring: int) -> dict[str, Any]:
    """Let the call ring up to ``until_ring`` (still counted, never answered), hang up; the call.ended record."""
    bench.wait_event("call.ring", start=mark, ring=until_ring)
    assert still_ringing(caller)
    caller.hang_up()
    ended = bench.ended(mark)
    assert r"ATA\r" not in bench.sends(mark)
    assert [] == bench.since("call.connected", mark)
    return ended


def answered(bench: Bench) -> dict[str, Any]:
    """Call; the call must be answered; the call.ended record."""
    mark = bench.mark()
    caller = bench.dial()
    ended = bench.ended(mark)
    caller.hang_up()
    return ended


class TestCallerFilter:
    @pytest.mark.parametrize(
        ("rules", "sim_args", "reason"),
        [
            (["!555", "all"], CID, "caller 5551234 matches '!555': reject"),
            (["555", "!all"], CID, None),
            (["!none", "all"], [], "caller without caller ID matches '!none': reject"),
            (
                ["!none", "all"],
                ["--cid-format", "private", "--cid"],
                "caller with the number withheld matches '!none': reject",
            ),
            (["none", "!all"], ["--cid-format", "private", "--cid"], None),
        ],
        ids=["reject-prefix", "accept-prefix", "reject-no-cid", "reject-private", "accept-private-as-none"],
    )
    def test_filter_decides_before_ata(
        self, make_bench: Callable[..., Bench], rules: list[str], sim_args: list[str], reason: str | None
    ) -> None:
        """A rejected caller never gets ATA and rings on until it hangs up (rejected); an accepted one is answered."""
        bench = make_bench(sim_args, caller_filter=rules, **ANSWER)
        mark = bench.mark()
        caller = bench.dial()
        if reason is None:
            ended = bench.ended(mark)
            assert "answered" == ended["outcome"]
            return
        _, rejected = bench.wait_event("call.rejected", start=mark)
        ended = unanswered(bench, caller, mark, until_ring=4)
        assert (reason, reason) == (rejected["reason"], ended["detail"])
        assert ("rejected", True) == (ended["outcome"], ended["rings"] >= 4)


@pytest.fixture(name="deciders", scope="class")
def _deciders() -> Iterator[Callable[[str], tuple[Bench, Path]]]:
    """One bench per decision_on_error value, shared by the cases; the program's action is set per call."""
    made: dict[str, tuple[Bench, Path]] = {}

    def get(on_error: str) -> tuple[Bench, Path]:
        if on_error not in made:
            directory = Path(tempfile.mkdtemp(prefix="answerd-it-", dir="/tmp"))
            directory.chmod(0o1777)  # nobody writes its record here; sticky: answerd refuses a 0777 one
            program = make_decider(directory, "exit 0")
            settings = {"decision_timeout_s": 1.0, "decision_on_error": on_error, **ANSWER}
            bench = Bench(
                tmp=directory, sim_args=CID, port_settings={"decision_program": [str(program), "--check"], **settings}
            )
            made[on_error] = (bench, program)
            bench.start()
        return made[on_error]

    yield get
    for bench, _ in made.values():
        bench.stop()
        shutil.rmtree(bench.tmp, ignore_errors=True)


def decide(bench: Bench, program: Path, action: str) -> tuple[str, dict[str, Any]]:
    """Set the program's action and call: ("rejected", call.rejected) or ("answered", call.ended)."""
    Path(f"{program}.action").write_text(action)
    mark = bench.mark()
    caller = bench.dial()
    assert bench.log is not None
    _, event = bench.log.wait_for(lambda r: r.get("event") in {"call.rejected", "call.connected"}, 10, mark)
    if event["event"] == "call.connected":
        ended = bench.ended(mark)
        caller.hang_up()
        return ended["outcome"], ended
    ended = unanswered(bench, caller, mark, until_ring=last_ring(bench, mark) + 1)
    assert (event["reason"], "rejected") == (ended["detail"], ended["outcome"])
    return "rejected", event


class TestDecisionProgram:
    def test_runs_as_nobody_with_mgettys_arguments(self, deciders: Callable[[str], tuple[Bench, Path]]) -> None:
        """It runs as nobody, in /, with <tty> <caller id> <name> <dist-ring> <called> and only the call's variables."""
        bench, program = deciders("accept")
        mark = bench.mark()
        assert "answered" == decide(bench, program, "exit 0")[0]
        got = decider_record(program)
        assert [str(program), "--check", "sim0", "5551234", "JOHN SMITH", "0", ""] == got["argv"]
        assert (65534, 65534, "/") == (got["uid"], got["gid"], got["cwd"])
        assert got["sid"] == got["pid"]  # its own session: a timeout kills the whole group
        assert {"PATH", "CALLER_ID", "CALLER_NAME"} == set(got["env"]) - {"LC_CTYPE"}  # Python sets LC_CTYPE itself
        assert ("5551234", "JOHN SMITH") == (got["env"]["CALLER_ID"], got["env"]["CALLER_NAME"])
        _, ran = bench.wait_event("call.decision_program", start=mark)
        assert 0 == ran["exit_status"]

    @pytest.mark.parametrize(
        ("action", "on_error", "outcome", "reason"),
        [
            ("exit 1", "accept", "rejected", "decision program rejected the call (exit 1)"),
            ("sleep 5", "accept", "answered", None),
            ("sleep 5", "reject", "rejected", "decision program timed out: reject (on_error)"),
            ("exit 3", "accept", "answered", None),
            ("exit 3", "reject", "rejected", "decision program exited 3: reject (on_error)"),
            ("kill", "accept", "answered", None),
            ("kill", "reject", "rejected", "decision program was killed by signal 9: reject (on_error)"),
        ],
    )
    def test_exit_status_timeout_and_crash(
        self,
        deciders: Callable[[str], tuple[Bench, Path]],
        action: str,
        on_error: str,
        outcome: str,
        reason: str | None,
    ) -> None:
        """Exit 0 answers and 1 rejects; a timeout, another status or a crash is decision_on_error."""
        bench, program = deciders(on_error)
        mark = bench.mark()
        got, record = decide(bench, program, action)
        assert (outcome, reason) == (got, record.get("reason"))
        if action.startswith("sleep"):
            _, timeout = bench.wait_event("call.decision_program_timeout", start=mark)
            assert 1.0 == timeout["timeout_s"]

    def test_timeout_is_one_deadline_for_the_whole_run(self, deciders: Callable[[str], tuple[Bench, Path]]) -> None:
        """A program still running at decision_timeout_s is timed out even if it wrote to stderr meanwhile."""
        bench, program = deciders("reject")
        assert "rejected" == decide(bench, program, "sleep 0.7; say thinking; sleep 0.7; exit 0")[0]

    def test_exit_status_counts_even_if_a_helper_keeps_stderr_open(
        self, deciders: Callable[[str], tuple[Bench, Path]]
    ) -> None:
        """A program that accepts at once is obeyed even though a background helper of it still holds stderr."""
        bench, program = deciders("reject")
        assert "answered" == decide(bench, program, "background 3; exit 0")[0]

    @pytest.mark.parametrize(
        ("sim_args", "caller_id", "name"),
        [
            (["--caller-id", "'; rm -rf /", "--caller-name", "'; rm -rf /", "--cid"], "none", "; rm -rf /"),
            (["--caller-id", "5551234", "--caller-name", "A" * 10240, "--cid"], "5551234", ""),
            (["--caller-id", "5551234", "--caller-name=-f root", "--cid"], "5551234", " -f root"),
        ],
        ids=["shell", "10k-name", "option"],
    )
    def test_hostile_caller_id_arrives_as_bounded_printable_arguments(
        self,
        make_bench: Callable[..., Bench],
        public_dir: Path,
        sim_args: list[str],
        caller_id: str,
        name: str,
    ) -> None:
        """Shell syntax, a 10 kB name (dropped by the line layer) or "-f" arrive as five plain, bounded arguments."""
        program = make_decider(public_dir, "exit 1")
        bench = make_bench(sim_args, decision_program=[str(program)], **ANSWER)
        mark = bench.mark()
        caller = bench.dial()
        bench.wait_event("call.rejected", start=mark)
        caller.hang_up()
        bench.ended(mark)
        argv = decider_record(program)["argv"]
        assert [str(program), "sim0", caller_id, name, "0", ""] == argv
        assert all(arg.isprintable() and len(arg) <= 64 for arg in argv[1:])

    def test_control_bytes_in_the_name_arrive_printable(
        self, scripted: Callable[..., tuple[Bench, ScriptedModem]], public_dir: Path
    ) -> None:
        """ESC, BEL, NUL and CR LF in an MDMF caller name reach the program as one printable argument."""
        program = make_decider(public_dir, "exit 1")
        bench, modem = scripted(decision_program=[str(program)], mode="direct", direct_program=["/bin/true"])
        modem.ring(mdmf("5551234", HOSTILE_NAME))
        _, rejected = bench.wait_event("call.rejected")
        assert [str(program), "sim0", "5551234", "EVIL [2J RING", "0", ""] == decider_record(program)["argv"]
        assert "decision program rejected the call (exit 1)" == rejected["reason"]


def last_ring(bench: Bench, mark: int, end: int | None = None) -> int:
    """The highest RING count logged from index ``mark`` (to ``end``)."""
    assert bench.log is not None
    rings = [r["ring"] for r in bench.log.items[mark:end] if r.get("event") == "call.ring"]
    return max(rings, default=0)


class TestBusyOut:
    def test_busied_out_calls_ring_on_unanswered(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """While the nologin file exists, RINGs are counted and logged, and the call never gets ATA."""
        nologin = tmp_path / "nologin.sim0"
        nologin.touch()
        bench = make_bench(nologin_file=str(tmp_path / "nologin.{port}"), **ANSWER)
        mark = bench.mark()
        caller = bench.dial()
        ended = unanswered(bench, caller, mark, until_ring=4)
        busy = bench.since("call.busy_out", mark)
        assert ("busy-out", f"{nologin} exists") == (ended["outcome"], ended["detail"])
        assert len(busy) >= 3  # asked again at every RING from the second on
        assert [1, 2, 3, 4] == [r["ring"] for r in bench.events("call.ring")][:4]

    def test_removing_the_file_mid_ring_answers_at_the_next_ring(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """The nologin file removed while the call rings: answered at the very next RING."""
        nologin = tmp_path / "nologin.sim0"
        nologin.touch()
        bench = make_bench(["--ring-interval", "0.5"], nologin_file=str(tmp_path / "nologin.{port}"), **ANSWER)
        mark = bench.mark()
        caller = bench.dial()
        ring_at, _ = bench.wait_event("call.ring", start=mark, ring=3)
        bench.wait_event("call.busy_out", start=ring_at)  # ring 3 was screened, and busied out
        busy_ring = last_ring(bench, mark)
        nologin.unlink()
        _, connected = bench.wait_event("call.connected", start=mark)
        ended = bench.ended(mark)
        caller.hang_up()
        assert (busy_ring + 1, "answered") == (connected["rings"], ended["outcome"])

    def test_sigusr1_answers_a_busied_out_call_now(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """SIGUSR1 while busied out answers the ringing call at once, without waiting for another RING."""
        (tmp_path / "nologin.sim0").touch()
        bench = make_bench(["--ring-interval", "0.5"], nologin_file=str(tmp_path / "nologin.{port}"), **ANSWER)
        mark = bench.mark()
        caller = bench.dial()
        busy_at, _ = bench.wait_event("call.busy_out", start=mark)
        assert bench.daemon is not None
        bench.daemon.send_signal(signal.SIGUSR1)
        now_at, now = bench.wait_event("call.answer_now", start=busy_at)
        ring = last_ring(bench, mark, now_at)
        _, connected = bench.wait_event("call.connected", start=mark)
        ended = bench.ended(mark)
        caller.hang_up()
        assert (ring, "answered") == (connected["rings"], ended["outcome"])
        assert 1 == now["call_id"]


class TestModemChats:
    def test_caller_init_chat_runs_before_ata(self, make_bench: Callable[..., Bench]) -> None:
        """The first caller_init rule matching the caller sends its chat after the RINGs and before ATA."""
        tables = [
            ("caller_init", {"match": "0900", "chat": ["", "ATS7=99", "OK"]}),
            ("caller_init", {"match": "555", "chat": ["", "AT+MS=V34,1,9600,14400", "OK"]}),
        ]
        bench = make_bench(CID, tables=tables, **ANSWER)
        ended = answered(bench)
        ring_at, _ = bench.wait_event("call.ring", ring=2)
        assert [r"AT+MS=V34,1,9600,14400\r", r"ATA\r"] == bench.sends(ring_at)[:2]
        assert r"ATS7=99\r" not in bench.sends()
        assert [] == bench.events("call.caller_init.failed")
        assert "answered" == ended["outcome"]

    def test_init_chat_extra_follows_every_init(self, make_bench: Callable[..., Bench]) -> None:
        """init_chat_extra is sent right after the init chat, at start and at the re-init after a call."""
        bench = make_bench(init_chat_extra=["", "ATS7=45", "OK"], **{**ANSWER, "rings": 1})
        answered(bench)
        extra = [*INIT, r"ATS7=45\r"]
        assert [r"AT\r", *extra, *SETUP, r"ATA\r", *HANGUP, r"AT\r", *extra, *SETUP] == bench.sends()
        assert 2 == len(bench.events("modem.init.ok"))

    def test_statistics_chat_lines_are_in_the_call_record(self, make_bench: Callable[..., Bench]) -> None:
        """statistics_chat runs once the modem is re-initialised and its lines are the call.ended statistics."""
        bench = make_bench(statistics_chat=["", "ATI6", "OK"], **{**ANSWER, "rings": 1})
        ended = answered(bench)
        assert "link diagnostics: none (simulated line)" == ended["statistics"]
        assert [*HANGUP, r"AT\r", *INIT, *SETUP, r"ATI6\r"] == bench.sends(bench.wait_event("call.connected")[0])


@pytest.fixture(name="dying", scope="class")
def _dying(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Bench]]:
    """Two benches started together whose modems die once ready, so the 10 s wait for the health check is paid once."""
    quick = {
        "health_check_s": 10,  # the smallest value config accepts
        "chat_timeout_s": 0.5,
        "retry_backoff_s": 0.2,
        "force_init_chat": ["", "ATH0", "OK"],
        "mode": "direct",
        "direct_program": ["/bin/true"],
    }
    benches = {
        "alive": Bench(tmp=tmp_path_factory.mktemp("alive"), port_settings={**quick, "init_retries": 20}),
        "dead": Bench(tmp=tmp_path_factory.mktemp("dead"), port_settings={**quick, "init_retries": 2}),
    }
    try:
        for bench, env in ((benches["alive"], {"WATCHDOG_USEC": "400000"}), (benches["dead"], {})):
            bench.start_sim()
            bench.start_daemon(extra_env=env)
        for bench in benches.values():
            assert bench.notify is not None
            bench.notify.wait_for("READY=1", 20)
            assert bench.sim is not None
            bench.sim.send_signal(signal.SIGUSR1)  # the modem dies
        yield benches
    finally:
        for bench in benches.values():
            bench.stop()


class TestHealthCheck:
    def test_dead_modem_is_noticed_and_recovered(self, dying: dict[str, Bench]) -> None:
        """After 10 s idle the check finds the modem dead (watchdog withheld, re-inits); back, it answers calls."""
        alive = dying["alive"]
        failed_at, failed = alive.wait_event("modem.health.failed", timeout=15)
        alive.wait_event("watchdog.withheld", start=failed_at)
        retry_at, _ = alive.wait_event("modem.init.retry", start=failed_at)
        assert alive.notify is not None
        pings = alive.notify.messages.count("WATCHDOG=1")
        alive.wait_event("watchdog.withheld", start=retry_at + 1)
        assert pings == alive.notify.messages.count("WATCHDOG=1")  # no ping while the modem is being recovered
        assert alive.sim is not None
        alive.sim.send_signal(signal.SIGUSR1)  # the modem comes back
        alive.wait_event("modem.recovered", start=failed_at)
        alive.notify.wait_for("WATCHDOG=1", 5, start=len(alive.notify.messages))
        assert "answered" == answered(alive)["outcome"]
        assert "no 'OK' within 0.5 s" == failed["reason"]
        assert alive.daemon is not None
        assert alive.daemon.poll() is None

    def test_modem_dead_for_good_ends_the_service(self, dying: dict[str, Bench]) -> None:
        """A modem that stays dead after the failed check: the recovery gives up with modem.failed reason modem-dead."""
        dead = dying["dead"]
        assert dead.daemon is not None
        dead.daemon.wait(20)
        failed_at, _ = dead.wait_event("modem.health.failed")
        _, fatal = dead.wait_event("modem.failed", start=failed_at)
        assert "modem-dead" == fatal["reason"]
        assert [] == [line for line in dead.log.raw if "Traceback" in line]  # type: ignore[union-attr]

    def test_modem_dead_for_good_exits_69(self, dying: dict[str, Bench]) -> None:
        """A modem that stays dead after the failed health check ends the service with exit code 69 (EX_UNAVAILABLE)."""
        dead = dying["dead"]
        assert dead.daemon is not None
        assert 69 == dead.daemon.wait(20)
