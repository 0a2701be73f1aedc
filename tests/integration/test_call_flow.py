"""The whole daemon on the simulated modem: real processes, a real pty, real child programs."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.helpers import make_program, record_of

from .harness import Bench

pytestmark = pytest.mark.integration

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="/bin/login only prompts when run by root")


def make_recorder(tmp: Path, *, wait: bool = False) -> Path:
    """The stand-in login: records how answerd started it, says RECORDED, holds the line if ``wait``."""
    return make_program(tmp / "bin", "recorder", **({"hold": 1} if wait else {}))


class TestAnswering:
    @needs_root
    def test_login_call_then_hang_up_then_second_call(self, make_bench: Callable[..., Bench]) -> None:
        """Two RINGs, ATA, CONNECT, prompt, name, real /bin/login asks for a password; hang-up; a second call."""
        bench = make_bench(rings=2)
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.send(b"demo\r")
        assert b"Password:" in caller.read_until(b"Password:")
        _, ring2 = bench.wait_event("call.ring", ring=2)
        assert 2 == ring2["of"]
        mark = len(bench.notify.messages)  # type: ignore[union-attr]
        caller.hang_up()
        _, ended = bench.wait_event("call.ended", call_id=1)
        assert ("carrier-lost", "demo", "/bin/login", "SIGHUP", 2) == (
            ended["outcome"],
            ended["user"],
            ended["program"],
            ended["signal"],
            ended["rings"],
        )
        assert "33600/ARQ/V34/LAPM/V42BIS" == ended["connect"]
        bench.notify.wait_for("STATUS=waiting for RING", 15, start=mark)  # type: ignore[union-attr]

        second = bench.dial()
        second.read_until(b"login: ")
        second.hang_up()
        _, ended2 = bench.wait_event("call.ended", call_id=2)
        assert "carrier-lost" == ended2["outcome"]
        assert bench.daemon is not None
        assert bench.daemon.poll() is None  # the same process answered both

    def test_caller_gives_up_after_one_ring(self, make_bench: Callable[..., Bench]) -> None:
        """One RING, then the caller hangs up: not answered, back to idle after the ring gap."""
        bench = make_bench(["--ring-interval", "30"], rings=3, ring_gap_s=1.0)
        caller = bench.dial()
        bench.wait_event("call.ring", ring=1)
        caller.hang_up()
        ended = bench.ended()
        assert ("abandoned", 1) == (ended["outcome"], ended["rings"])
        assert [] == bench.events("call.connected")
        assert not any(e.get("data") == "ATA\\r" for e in bench.events("modem.send"))

    def test_answer_timeout(self, make_bench: Callable[..., Bench]) -> None:
        """ATA that never gets CONNECT ends as answer-timeout, the modem is hung up and re-initialised."""
        bench = make_bench(["--never-connect"], answer_timeout_s=1.0)
        caller = bench.dial()
        _, ended = bench.wait_event("call.ended", call_id=1)
        assert "answer-timeout" == ended["outcome"]
        caller.wait_dropped()
        bench.wait_event("modem.init.ok", start=bench.wait_event("call.ended")[0])

    def test_connect_without_ring_is_a_call(self, make_bench: Callable[..., Bench]) -> None:
        """A modem that auto-answers (CONNECT with no RING) still gets its caller a prompt."""
        bench = make_bench(["--unsolicited-connect"])
        caller = bench.dial()
        caller.read_until(b"login: ")
        _, connected = bench.wait_event("call.connected")
        assert 0 == connected["rings"]
        assert 1 == len(bench.events("call.auto_answered"))
        caller.hang_up()
        bench.wait_event("call.ended", call_id=1)


class TestInit:
    def test_error_to_init_is_retried(self, make_bench: Callable[..., Bench]) -> None:
        """ERROR to the init chat is retried with a clear log record and the port still comes up."""
        # On a pty (no DTR) the first command is the "AT" probe; its ERROR proves command mode, so the
        # second ERROR is the one the init chat gets, to ATZ.
        bench = make_bench(["--error-first", "2"])
        _, retry = bench.wait_event("modem.init.retry")
        assert "modem answered ERROR to ATZ" == retry["reason"]
        assert (1, 5) == (retry["attempt"], retry["of"])
        bench.wait_event("modem.init.ok", attempt=2)
        assert [] == [line for line in bench.log.raw if "Traceback" in line]  # type: ignore[union-attr]

    def test_dead_modem_exits_69_without_traceback(self, make_bench: Callable[..., Bench]) -> None:
        """A modem that never answers ends with exit code 69 and a one-line reason, never READY=1."""
        bench = make_bench(["--silent"], start=False, chat_timeout_s=0.3, init_retries=2)
        bench.start_sim()
        bench.start_daemon()
        assert bench.daemon is not None
        assert 69 == bench.daemon.wait(20)
        _, failed = bench.wait_event("modem.failed")
        assert "modem-init-failed" == failed["reason"]
        assert "READY=1" not in bench.notify.messages  # type: ignore[union-attr]
        assert [] == [line for line in bench.log.raw if "Traceback" in line]  # type: ignore[union-attr]


class TestHandOff:
    def test_hostile_names_never_reach_the_program(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """'-f root' and a 10 kB name are refused at the prompt; only a clean name is passed, after '--'."""
        program = make_recorder(tmp_path)
        bench = make_bench(login_program=[str(program), "--", "{user}"])
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.send(b"-f root\r")
        assert b"Invalid login name" in caller.read_until(b"login: ")
        caller.send(b"a" * 10240 + b"\r")
        assert b"Invalid login name" in caller.read_until(b"login: ", timeout=30)
        caller.send(b"alice\r")
        caller.read_until(b"RECORDED")
        got = record_of(program)
        assert [str(program), "--", "alice"] == got["argv"]
        _, ended = bench.wait_event("call.ended", call_id=1)
        assert ("answered", 0, "alice") == (ended["outcome"], ended["exit_status"], ended["user"])
        caller.wait_dropped()  # the program ended: answerd hung up the line

    def test_program_gets_tty_session_and_clean_environment(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """The program runs as a session leader on the tty (fds 0-2, mode 0600) with only the call's variables."""
        program = make_recorder(tmp_path)
        bench = make_bench(login_program=[str(program), "--", "{user}"], term="vt220")
        bench_env_marker = bench.notify.path  # type: ignore[union-attr]
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.send(b"bob\r")
        caller.read_until(b"RECORDED")
        got = record_of(program)
        assert got["pid"] == got["sid"] == got["pgrp"] == got["foreground"]
        assert got["fds_are_tty"]
        assert "0o600" == got["tty_mode"]
        env = got["env"]
        assert {"PATH", "TERM", "CALLER_ID", "CONNECT", "DEVICE"} <= set(env)
        assert not {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"} & set(env)
        assert str(bench_env_marker) not in env.values()
        assert ("vt220", "33600/ARQ/V34/LAPM/V42BIS", str(bench.link)) == (
            env["TERM"],
            env["CONNECT"],
            env["DEVICE"],
        )

    def test_caller_hang_up_ends_the_session(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """Carrier loss reaches the program as SIGHUP; the call ends carrier-lost and the line is re-initialised."""
        program = make_recorder(tmp_path, wait=True)
        bench = make_bench(login_program=[str(program), "--", "{user}"])
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.send(b"carol\r")
        caller.read_until(b"RECORDED")
        caller.hang_up()
        index, ended = bench.wait_event("call.ended", call_id=1)
        assert ("carrier-lost", "SIGHUP") == (ended["outcome"], ended["signal"])
        bench.wait_event("modem.init.ok", start=index)

    def test_direct_mode_runs_the_program_without_a_prompt(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """mode = 'direct' runs the program right after CONNECT with the call's details as placeholders."""
        program = make_recorder(tmp_path)
        bench = make_bench(
            ["--caller-id", "5551234", "--cid"],
            rings=2,
            mode="direct",
            direct_program=[str(program), "{connect}", "{caller_id}", "{port}"],
        )
        caller = bench.dial()
        screen = caller.read_until(b"RECORDED")
        assert b"login:" not in screen
        got = record_of(program)
        assert [str(program), "33600/ARQ/V34/LAPM/V42BIS", "5551234", "sim0"] == got["argv"]
        assert "5551234" == got["env"]["CALLER_ID"]

    def test_sigterm_mid_call_ends_the_program_and_exits_0(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """SIGTERM while a program runs: the session is ended, the call recorded as shutdown, exit 0."""
        program = make_recorder(tmp_path, wait=True)
        bench = make_bench(login_program=[str(program), "--", "{user}"])
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.send(b"dave\r")
        caller.read_until(b"RECORDED")
        child = record_of(program)["pid"]
        assert bench.daemon is not None
        bench.daemon.send_signal(signal.SIGTERM)
        assert 0 == bench.daemon.wait(15)
        _, ended = bench.wait_event("call.ended", call_id=1)
        assert "shutdown" == ended["outcome"]
        with pytest.raises(ProcessLookupError):
            os.kill(child, 0)
