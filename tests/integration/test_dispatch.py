"""AutoPPP and the dispatch table on the real daemon: PPP frames on the phone line, real child programs."""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import sys
import tempfile
import threading
import time
import tty
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from answerd.call import utmp
from tests.helpers import LCP_CONFIGURE_REQUEST, hdlc_frame, lcp, make_program, ran, record_of, wait_until

from .harness import Bench

pytestmark = pytest.mark.integration

CONNECT = "33600/ARQ/V34/LAPM/V42BIS"
PPPD = Path("/usr/sbin/pppd")

# --------------------------------------------------------------------------------------------- PPP frames


#: An LCP Echo-Request carrying every byte value, escaped with ACCM 0 (as after "asyncmap 0" is negotiated),
#: so every byte value 0x00-0xFF crosses the line, control characters raw.
ALL_BYTES_FRAME = hdlc_frame(0xC021, lcp(9, 2, bytes.fromhex("1a2b3c4d") + bytes(range(256))), accm=0)
assert LCP_CONFIGURE_REQUEST.startswith(bytes.fromhex("7eff7d23c021"))
assert set(range(256)) == set(ALL_BYTES_FRAME)

# ------------------------------------------------------------------------------------------ child programs


@pytest.fixture(name="public_dir")
def _public_dir() -> Iterator[Path]:
    """A directory every user can use (pytest's tmp_path is root-only), for programs run as nobody."""
    path = Path(tempfile.mkdtemp(prefix="answerd-it-", dir="/tmp"))
    path.chmod(0o1777)  # sticky, like /tmp: answerd trusts a root-owned sticky directory, not a 0777 one
    yield path
    shutil.rmtree(path, ignore_errors=True)


# ---------------------------------------------------------------------------------------------- the bench


def rule(match: str, program: list[str], **more: Any) -> tuple[str, dict[str, Any]]:
    """One ``[[ports.sim0.dispatch]]`` table."""
    return "dispatch", {"match": match, "program": program, **more}


def log_in(bench: Bench, name: bytes) -> dict[str, Any]:
    """Call, type ``name`` at the prompt, wait for the call to end and the port to be idle; the call.ended record."""
    mark = bench.mark()
    caller = bench.dial()
    caller.read_until(b"login: ")
    caller.send(name + b"\r")
    ended = bench.ended(mark)
    caller.hang_up()
    return ended


def dial_ppp(bench: Bench) -> tuple[Any, int]:
    """Call and send LCP Configure-Request as soon as the modem is online; return (caller, log mark)."""
    mark = bench.mark()
    caller = bench.dial()
    bench.wait_event("call.connected", start=mark)
    caller.send(LCP_CONFIGURE_REQUEST)
    return caller, mark


# ------------------------------------------------------------------------------- a modem the test plays


class ScriptedModem:
    """A modem played by the test on a pty (OK to AT, CONNECT to ATA), for caller-ID bytes the sim will not send."""

    def __init__(self, link: Path) -> None:
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        self.link = link
        link.symlink_to(os.ttyname(self._slave))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        pending = b""
        while not self._stop.is_set():
            if not select.select([self.master], [], [], 0.05)[0]:
                continue
            try:
                pending += os.read(self.master, 4096)
            except OSError:
                return
            *lines, pending = re.split(rb"[\r\n]", pending)
            for line in lines:
                command = line.strip().upper()
                if command.startswith(b"ATA"):
                    self.send(b"\r\nCONNECT 9600\r\n")
                elif command.startswith(b"AT"):
                    self.send(b"\r\nOK\r\n")

    def send(self, data: bytes) -> None:
        """Bytes from the modem to the computer (results, caller ID, or the caller's data once online)."""
        os.write(self.master, data)

    def ring(self, *caller_id: bytes) -> None:
        """RING, the caller-ID lines, RING."""
        self.send(b"\r\nRING\r\n" + b"".join(b"\r\n" + line + b"\r\n" for line in caller_id) + b"\r\nRING\r\n")

    def close(self) -> None:
        """Stop answering and remove the pty."""
        self._stop.set()
        self._thread.join(2)
        for fd in (self.master, self._slave):
            with contextlib.suppress(OSError):
                os.close(fd)
        with contextlib.suppress(FileNotFoundError):
            self.link.unlink()


def mdmf(number: str, name: bytes) -> bytes:
    """A caller-ID line ``MESG = <hex>``: a Bellcore MDMF packet (date/time, number, name) with its checksum."""
    body = bytearray()
    for kind, value in ((0x01, b"11231200"), (0x02, number.encode()), (0x07, name)):
        body += bytes((kind, len(value))) + value
    packet = bytes((0x80, len(body))) + body
    packet += bytes(((-sum(packet)) & 0xFF,))
    return b"MESG = " + packet.hex().upper().encode()


#: A caller name with an escape sequence, BEL, NUL and a line break in it: only MDMF can carry these intact
#: past the modem's line layer (answerd drops control bytes from text lines before it reads them).
HOSTILE_NAME = b"EVIL\x1b[2J\x07\x00\r\nRING"


@pytest.fixture(name="scripted")
def _scripted(tmp_path: Path) -> Iterator[Callable[..., tuple[Bench, ScriptedModem]]]:
    made: list[tuple[Bench, ScriptedModem]] = []

    def make(*, tables: list[tuple[str, dict[str, Any]]] | None = None, **port: Any) -> tuple[Bench, ScriptedModem]:
        bench = Bench(tmp=tmp_path, port_settings={"rings": 2, **port}, tables=tables or [])
        modem = ScriptedModem(bench.link)
        made.append((bench, modem))
        bench.start_daemon()
        assert bench.notify is not None
        bench.notify.wait_for("READY=1", 20)
        return bench, modem

    yield make
    for bench, modem in made:
        bench.stop()
        modem.close()


# ----------------------------------------------------------------------------------------------- the tests


class TestAutoPpp:
    def test_ppp_caller_sees_no_text_and_pppd_gets_the_line_byte_exact(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """With the silent window a PPP caller gets no text at all; its frames after the first reach pppd byte-exact."""
        # The first frame is consumed by detection (call.ppp_detected counts its dropped bytes): it cannot be
        # put back into the tty's input queue, and it need not be, since the peer repeats Configure-Request.
        pppd = make_program(tmp_path / "bin", "pppd", say=False, want=len(ALL_BYTES_FRAME))
        argv = [str(pppd), "nodetach", "noauth", "192.168.32.1:192.168.32.105"]
        bench = make_bench(tables=[rule("/AutoPPP/", argv, utmp=False)], ppp_wait_ms=1500)
        caller, mark = dial_ppp(bench)
        started, _ = bench.wait_event("call.program_started", start=mark)
        caller.send(ALL_BYTES_FRAME)
        ended = bench.ended(mark)
        assert b"" == caller.screen + caller.wait_dropped()  # no issue, no prompt, no echo: nothing at all
        detected_at, detected = bench.wait_event("call.ppp_detected", start=mark)
        assert (len(LCP_CONFIGURE_REQUEST), 1, True) == (
            detected["dropped_bytes"],
            len(bench.since("call.ppp_detected", mark)),
            detected_at < started,
        )
        assert ALL_BYTES_FRAME == Path(f"{pppd}.data").read_bytes()
        got = record_of(pppd)
        assert argv == got["argv"]
        assert got["pid"] == got["sid"] == got["pgrp"] == got["foreground"]
        assert (True, True, os.path.realpath(bench.link)) == (got["raw"], got["fds_are_tty"], got["tty"])
        assert ("answered", "/AutoPPP/", str(pppd), 0) == (
            ended["outcome"],
            ended["user"],
            ended["program"],
            ended["exit_status"],
        )

    def test_without_the_window_a_ppp_caller_gets_the_banner_and_is_still_dispatched(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """With ppp_wait_ms = 0 (mgetty's way) a PPP peer gets issue and prompt as junk, then pppd, with no echo."""
        pppd = make_program(tmp_path / "bin", "pppd", say=False)
        bench = make_bench(tables=[rule("/AutoPPP/", [str(pppd)], utmp=False)], ppp_wait_ms=0)
        mark = bench.mark()
        caller = bench.dial()
        banner = caller.read_until(b"login: ")
        caller.send(LCP_CONFIGURE_REQUEST)
        ended = bench.ended(mark)
        host = os.uname().nodename.encode()
        assert b"\r\nanswerd on " + host + b" (sim0, " + CONNECT.encode() + b")\r\n\r\n" + host + b" login: " == banner
        assert b"" == caller.wait_dropped()  # the frame is not echoed, and pppd (the stand-in) says nothing
        assert 1 == len(bench.events("call.ppp_detected"))
        assert ([str(pppd)], "answered", "/AutoPPP/") == (record_of(pppd)["argv"], ended["outcome"], ended["user"])

    def test_the_ppp_peers_name_from_the_ip_up_hook_is_the_records_user(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """A PPP call's record names who authenticated: the peer name pppd's ip-up hook (answerd-ppp-peer) left
        for the line replaces /AutoPPP/ as the record's user; the file is removed once read."""
        pppd = tmp_path / "bin" / "pppd"
        pppd.parent.mkdir()
        # Plays pppd: the peer authenticates as "caro", and pppd runs its ip-up scripts with PEERNAME and DEVICE
        # (the line: pppd without a device name uses its stdin) -- here answerd's hook, called as pppd would.
        pppd.write_text(
            f"#!{sys.executable}\nimport os\nfrom answerd.call.ppp_peer import hook_main\n"
            f"hook_main({{'PEERNAME': 'caro', 'DEVICE': os.ttyname(0)}}, directory={str(tmp_path)!r})\n"
        )
        pppd.chmod(0o755)
        bench = make_bench(tables=[rule("/AutoPPP/", [str(pppd)], utmp=False)], ppp_wait_ms=0)
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.send(LCP_CONFIGURE_REQUEST)
        ended = bench.ended(mark)
        caller.wait_dropped()
        assert ("answered", "caro") == (ended["outcome"], ended["user"])
        assert [] == list(tmp_path.glob("*.ppp-peer"))

    def test_ppp_caller_on_a_port_without_a_ppp_rule_ends_as_no_ppp_rule(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """Issue 13: with AutoPPP on and no /AutoPPP/ rule a PPP peer's frame is not taken for a name: no-ppp-rule."""
        login = make_program(tmp_path / "bin", "login")
        bench = make_bench(login_program=[str(login), "--", "{user}"])
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.send(LCP_CONFIGURE_REQUEST)
        ended = bench.ended(mark)
        assert b"" == caller.wait_dropped()  # no echo of the frame as a name
        assert ("no-ppp-rule", "/AutoPPP/", False) == (ended["outcome"], ended["user"], ran(login))

    def test_terminal_caller_gets_the_prompt_after_the_window_and_keeps_its_typing(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """A terminal user gets issue and prompt only once the window is over, with what they typed meanwhile kept."""
        pppd = make_program(tmp_path / "bin", "pppd", say=False)
        login = make_program(tmp_path / "bin", "login")
        tables = [rule("/AutoPPP/", [str(pppd)], utmp=False), rule("*", [str(login), "--", "{user}"], utmp=False)]
        bench = make_bench(tables=tables, ppp_wait_ms=1500)
        mark = bench.mark()
        # Timed from before the call: the window is time by nature, and a bound that CONNECT comes after can
        # only be met early by a daemon that prints inside the window, never missed by a slow machine.
        dialled_at = time.monotonic()
        caller = bench.dial()
        bench.wait_event("call.connected", start=mark)
        caller.send(b"caro")
        screen = caller.read_until(b"login: caro")
        waited = time.monotonic() - dialled_at
        caller.send(b"l\r")
        caller.read_until(b"RECORDED")
        ended = bench.ended(mark)
        assert waited >= 1.5, f"the banner came {waited:.2f} s after dialling, inside the 1.5 s window after CONNECT"
        host = os.uname().nodename.encode()
        assert (
            b"\r\nanswerd on " + host + b" (sim0, " + CONNECT.encode() + b")\r\n\r\n" + host + b" login: caro" == screen
        )
        assert [str(login), "--", "carol"] == record_of(login)["argv"]
        assert not ran(pppd)
        assert [] == bench.events("call.ppp_detected")
        assert ("answered", "carol") == (ended["outcome"], ended["user"])


class TestDispatchTable:
    def test_first_matching_rule_wins(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """guest* → A, *bbs → B, exact → C, * → D: each name gets its program; guestbbs matches A first."""
        progs = {label: make_program(tmp_path / "bin", label) for label in "ABCD"}
        tables = [
            rule("guest*", [str(progs["A"]), "{user}"], utmp=False),
            rule("*bbs", [str(progs["B"]), "{user}"], utmp=False),
            rule("exact", [str(progs["C"]), "{user}"], utmp=False),
            rule("*", [str(progs["D"]), "{user}"], utmp=False),
        ]
        bench = make_bench(tables=tables)
        got = {}
        for name, label in (("guest1", "A"), ("mybbs", "B"), ("exact", "C"), ("other", "D"), ("guestbbs", "A")):
            ended = log_in(bench, name.encode())
            got[name] = (ended["outcome"], Path(ended["program"]).name, record_of(progs[label])["argv"][1])
        assert {
            "guest1": ("answered", "A", "guest1"),
            "mybbs": ("answered", "B", "mybbs"),
            "exact": ("answered", "C", "exact"),
            "other": ("answered", "D", "other"),
            "guestbbs": ("answered", "A", "guestbbs"),
        } == got

    def test_every_placeholder_is_one_argument(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """{user} {connect} {caller_id} {caller_name} {device} {port} each arrive whole, as one argv element."""
        prog = make_program(tmp_path / "bin", "bbs")
        template = [str(prog), "{user}", "{connect}", "{caller_id}", "{caller_name}", "{device}", "{port}", "-n{port}"]
        bench = make_bench(
            ["--caller-id", "5551234", "--caller-name", "JOHN SMITH", "--cid"],
            tables=[rule("*", template, utmp=False)],
            rings=2,
        )
        ended = log_in(bench, b"alice")
        got = record_of(prog)
        assert [str(prog), "alice", CONNECT, "5551234", "JOHN SMITH", str(bench.link), "sim0", "-nsim0"] == got["argv"]
        assert ("5551234", "JOHN SMITH") == (got["env"]["CALLER_ID"], got["env"]["CALLER_NAME"])
        assert ("answered", "5551234", 2) == (ended["outcome"], ended["caller_id"], ended["rings"])

    def test_user_placeholder_of_a_ppp_call_is_autoppp(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """For a PPP call {user} is /AutoPPP/, as mgetty's @ and as answerd's own log records say."""
        pppd = make_program(tmp_path / "bin", "pppd", say=False)
        bench = make_bench(tables=[rule("/AutoPPP/", [str(pppd), "user", "{user}"], utmp=False)], ppp_wait_ms=1500)
        caller, mark = dial_ppp(bench)
        ended = bench.ended(mark)
        caller.hang_up()
        assert "/AutoPPP/" == ended["user"]
        assert [str(pppd), "user", "/AutoPPP/"] == record_of(pppd)["argv"]

    def test_caller_id_placeholder_without_caller_id_is_none(
        self, make_bench: Callable[..., Bench], tmp_path: Path
    ) -> None:
        """Without caller ID, {caller_id} is "none", the value CALLER_ID has in the program's environment."""
        prog = make_program(tmp_path / "bin", "bbs")
        bench = make_bench(tables=[rule("*", [str(prog), "--cid", "{caller_id}"], utmp=False)])
        log_in(bench, b"alice")
        got = record_of(prog)
        assert "none" == got["env"]["CALLER_ID"]
        assert [str(prog), "--cid", "none"] == got["argv"]

    def test_rule_user_runs_the_program_as_that_user(self, make_bench: Callable[..., Bench], public_dir: Path) -> None:
        """A rule with user = "nobody" runs its program as nobody, with that account's HOME/USER/LOGNAME."""
        prog = make_program(public_dir, "bbs", python="/usr/bin/python3")
        bench = make_bench(tables=[rule("*", [str(prog), "{user}"], user="nobody", utmp=False)])
        ended = log_in(bench, b"guest")
        got = record_of(prog)
        assert (65534, 65534) == (got["uid"], got["gid"])
        assert ("/nonexistent", "nobody", "nobody") == (got["env"]["HOME"], got["env"]["USER"], got["env"]["LOGNAME"])
        assert got["pid"] == got["sid"] == got["foreground"]
        assert "answered" == ended["outcome"]


class TestHostileCallerId:
    @pytest.mark.parametrize(
        ("sim_args", "expected"),
        [
            (["--caller-id", "5551234", "--caller-name", "'; rm -rf /"], ["; rm -rf /", "5551234"]),
            (
                ["--caller-id", "5551234", "--caller-name", "$(touch /tmp/answerd-pwned) `id`"],
                ["$(touch /tmp/answerd-pwned) id", "5551234"],
            ),
            # The caller-ID sanitiser keeps only 0-9 + * # of a number, so no caller ID can start with "-".
            (["--caller-id=-5551234"], ["", "5551234"]),
        ],
        ids=["shell-quote", "command-substitution", "dash-number"],
    )
    def test_caller_values_are_single_printable_arguments(
        self, make_bench: Callable[..., Bench], tmp_path: Path, sim_args: list[str], expected: list[str]
    ) -> None:
        """Shell syntax in caller ID arrives as one literal argument each, quotes removed; no shell ever runs it."""
        prog = make_program(tmp_path / "bin", "bbs")
        bench = make_bench(
            [*sim_args, "--cid"], tables=[rule("*", [str(prog), "--", "{caller_name}", "{caller_id}"])], rings=2
        )
        ended = log_in(bench, b"bob")
        assert [str(prog), "--", *expected] == record_of(prog)["argv"]
        assert "answered" == ended["outcome"]
        assert not Path("/tmp/answerd-pwned").exists()

    def test_option_like_caller_name_is_refused(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """A caller name "-f" that would become an argument is refused: program-failed, logged, nothing run."""
        prog = make_program(tmp_path / "bin", "bbs")
        bench = make_bench(
            ["--caller-id", "5551234", "--caller-name=-f", "--cid"],
            tables=[rule("*", [str(prog), "--", "{user}", "{caller_name}"])],
            rings=2,
        )
        ended = log_in(bench, b"bob")
        _, refused = bench.wait_event("call.program_refused")
        assert ("program-failed", "bob", str(prog)) == (ended["outcome"], ended["user"], ended["program"])
        assert "'-f'" in refused["reason"]
        assert refused["reason"] == ended["detail"]
        assert not ran(prog)

    def test_control_bytes_in_the_name_become_one_printable_argument(
        self, scripted: Callable[..., tuple[Bench, ScriptedModem]], tmp_path: Path
    ) -> None:
        """ESC, BEL, NUL and CR LF in an MDMF caller name (the sim cannot send them) become one printable argument."""
        prog = make_program(tmp_path / "bin", "bbs")
        bench, modem = scripted(tables=[rule("*", [str(prog), "--", "{caller_name}", "{caller_id}"], utmp=False)])
        modem.ring(mdmf("5551234", HOSTILE_NAME))
        bench.wait_event("call.connected")
        modem.send(b"bob\r")  # the caller types the name (kept until the prompt is up)
        ended = bench.ended()
        assert [str(prog), "--", "EVIL [2J RING", "5551234"] == record_of(prog)["argv"]
        assert ("answered", "EVIL [2J RING") == (ended["outcome"], ended["caller_name"])


@pytest.fixture(name="pppd_bench", scope="class")
def _pppd_bench(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bench, Path]]:
    """One bench for every exit status: a stand-in pppd whose status is read from a file before each call."""
    tmp = tmp_path_factory.mktemp("pppd-exits")
    pppd = make_program(tmp / "bin", "pppd", say=False)
    bench = Bench(tmp=tmp, port_settings={"ppp_wait_ms": 1500}, tables=[rule("/AutoPPP/", [str(pppd)], utmp=False)])
    bench.start()
    yield bench, pppd
    bench.stop()


class TestPppdExit:
    @pytest.mark.parametrize(
        ("status", "outcome", "detail"),
        [
            (0, "answered", "pppd detached, or the connection was established and terminated at the peer's request"),
            (5, "answered", "pppd was sent a SIGINT, SIGTERM or SIGHUP signal"),
            (15, "answered", "the link was terminated because the peer is not responding to echo requests"),
            (16, "carrier-lost", "the link was terminated by the modem hanging up"),
            (1, "program-error", "an immediately fatal error (an essential system call failed, or out of memory)"),
            (19, "program-error", "we failed to authenticate ourselves to the peer"),
        ],
    )
    def test_exit_status_maps_to_outcome(
        self, pppd_bench: tuple[Bench, Path], status: int, outcome: str, detail: str
    ) -> None:
        """pppd's 0, 5, 15 are normal ends, 16 the modem hanging up, the rest errors; detail says what pppd meant."""
        bench, pppd = pppd_bench
        Path(f"{pppd}.exit").write_text(str(status))
        caller, mark = dial_ppp(bench)
        ended = bench.ended(mark)
        caller.hang_up()
        assert (outcome, status, detail, "/AutoPPP/") == (
            ended["outcome"],
            ended["exit_status"],
            ended["detail"],
            ended["user"],
        )

    @pytest.mark.skipif(not PPPD.exists(), reason="pppd is not installed (apt-get install -y ppp)")
    @pytest.mark.skipif(os.path.exists("/dev/ppp"), reason="this kernel has PPP: pppd would negotiate, not exit")
    def test_real_pppd_starts_on_the_tty_and_its_failure_is_reported(self, make_bench: Callable[..., Bench]) -> None:
        """The real pppd runs on the line (the caller reads its error); its exit 4 (no kernel PPP) is program-error."""
        argv = [str(PPPD), "nodetach", "debug", "noauth", "local"]
        bench = make_bench(tables=[rule("/AutoPPP/", argv, utmp=False)], ppp_wait_ms=1500)
        caller, mark = dial_ppp(bench)
        said = caller.read_until(b"/dev/ppp")
        ended = bench.ended(mark)
        assert said.startswith(b"Couldn't open the /dev/ppp device")
        assert (
            "program-error",
            str(PPPD),
            4,
            "the kernel does not support PPP (no PPP driver, or it cannot be loaded)",
        ) == (
            ended["outcome"],
            ended["program"],
            ended["exit_status"],
            ended["detail"],
        )


class TestUtmp:
    @pytest.mark.skipif(not os.path.exists(utmp.UTMP_PATH), reason="no /run/utmp on this system")
    def test_session_is_in_utmp_while_it_runs(self, make_bench: Callable[..., Bench], tmp_path: Path) -> None:
        """utmp = true: a USER_PROCESS entry for the line while the program runs, DEAD_PROCESS once it has ended."""
        prog = make_program(tmp_path / "bin", "bbs", hold=1)
        bench = make_bench(tables=[rule("*", [str(prog), "{user}"], utmp=True)])
        line = os.path.realpath(bench.link).removeprefix("/dev/")
        mark = bench.mark()
        caller = bench.dial()
        caller.read_until(b"login: ")
        caller.send(b"dave\r")
        caller.read_until(b"RECORDED")
        pid = record_of(prog)["pid"]

        def live_entries() -> list[utmp.UtmpRecord]:
            return [r for r in utmp.read_records(utmp.UTMP_PATH) if r.line == line and r.pid == pid]

        wait_until(lambda: bool(live_entries()), 5.0, "a utmp entry for the session")
        live = live_entries()
        caller.hang_up()
        ended = bench.ended(mark)
        after = [r for r in utmp.read_records(utmp.UTMP_PATH) if r.line == line and r.pid == pid]
        assert [(utmp.UtType.USER_PROCESS, "dave", "sim0")] == [(r.type, r.user, r.id) for r in live]
        assert [utmp.UtType.DEAD_PROCESS] == [r.type for r in after]
        assert "carrier-lost" == ended["outcome"]
