"""Issue 14, item 3, the shell's side: bytes from the line reach no program, log or status line uncleaned.

Black-box: the real ``answerd run`` on ``answerd sim``, whose modem profile sends a hostile caller ID (number
and name) and CONNECT text. Each sink is read as its consumer reads it: the decision program's and the
handed-off program's argv and environment (stand-ins that record them), the console log (JSON records),
and the service status line (``STATUS=`` on the notify socket). Login names are typed at the prompt; a
stand-in login program records the argv it gets.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import make_program, record_of

from .harness import Bench, Caller
from .test_screening import decider_record, make_decider

pytestmark = pytest.mark.integration

#: Longest text any sink may carry from one hostile field (a log record of a whole modem line included).
SINK_CAP = 1024
#: A 10 kB field: every sink must bound it.
LONG = "7" * 10240

#: (case, caller number, caller name, CONNECT text, the call's outcome): metacharacters, quotes, length. The
#: simulated modem sends printable ASCII only (its profile refuses control characters): NULs and escape
#: sequences are covered where the shell takes the values over (tests/test_session.py, TestCleanEnvironment)
#: and in the core's parser tests.
HOSTILE_CALLS = [
    ("shell metacharacters", "555$(id);`id`|&", "$(reboot); `id` | rm -rf / &", "33600 $(id);`id`", "answered"),
    ("quotes", "555'\"1234", 'O\'Brien "Bob" \\x', "33600 'quoted' \"q\"", "answered"),
    ("10 kB caller ID", LONG, "N" * 10240, "33600/ARQ", "answered"),
    # A 10 kB CONNECT line is dropped as garbage (bounded line buffer): no CONNECT, the answer times out.
    ("10 kB CONNECT", "5551234", "JOHN", "33600/" + "A" * 10240, "answer-timeout"),
]

PROFILE = """\
[results]
connect = {connect}

[caller_id]
force = true
format = "rockwell"
number = {number}
name = {name}
"""


@pytest.fixture(name="public_dirs")
def _public_dirs() -> Iterator[list[Path]]:
    """Directories under /tmp made during the test, removed after it."""
    made: list[Path] = []
    yield made
    for path in made:
        shutil.rmtree(path, ignore_errors=True)


def toml_string(text: str) -> str:
    """``text`` as a TOML basic string (JSON's escapes are TOML's for these characters)."""
    return json.dumps(text)


def strings(value: Any) -> Iterator[str]:
    """Every string inside ``value`` (a log record: nested dicts and lists)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from strings(key)
            yield from strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings(item)


def unclean(texts: Iterator[str] | list[str]) -> list[str]:
    """The texts a terminal, a log or a program must not get: control characters (NUL, ESC...) or too long."""
    return [t[:80] for t in texts if len(t) > SINK_CAP or any(ord(c) < 0x20 or ord(c) == 0x7F for c in t)]


def bench_for(
    make_bench: Callable[..., Bench], tmp_path: Path, cleanup: list[Path], number: str, name: str, connect: str
) -> Bench:
    """A bench whose modem sends this caller ID and CONNECT text; a decision program, then a direct program."""
    profile = tmp_path / "hostile.toml"
    profile.write_text(PROFILE.format(connect=toml_string(connect), number=toml_string(number), name=toml_string(name)))
    # The decision program runs as nobody and writes its record here (pytest's tmp_path is root-only).
    public = Path(tempfile.mkdtemp(prefix="answerd-it-", dir="/tmp"))
    public.chmod(0o1777)  # sticky: answerd trusts a root-owned sticky directory, not a 0777 one
    cleanup.append(public)
    decider = make_decider(public, "exit 0")
    direct = make_program(tmp_path / "bin", "direct")
    return make_bench(
        ["--profile", str(profile)],
        decision_program=[str(decider)],
        mode="direct",
        direct_program=[str(direct), "--", "{caller_id}", "{caller_name}", "{connect}"],
        rings=2,
        ring_gap_s=0.8,
        answer_timeout_s=2.0,
    )


@pytest.mark.parametrize(
    ("number", "name", "connect", "outcome"), [c[1:] for c in HOSTILE_CALLS], ids=[c[0] for c in HOSTILE_CALLS]
)
def test_hostile_caller_id_and_connect_are_cleaned_in_every_sink(
    make_bench: Callable[..., Bench],
    tmp_path: Path,
    public_dirs: list[Path],
    number: str,
    name: str,
    connect: str,
    outcome: str,
) -> None:
    """Each sink gets printable, bounded text (or nothing) for a hostile caller ID and CONNECT string."""
    bench = bench_for(make_bench, tmp_path, public_dirs, number, name, connect)
    caller = bench.dial()
    ended = bench.ended()
    caller.hang_up()
    decider = decider_record(Path(bench.port_settings["decision_program"][0]))  # caller ID came: it ran
    direct_program = Path(bench.port_settings["direct_program"][0])
    direct = record_of(direct_program) if Path(f"{direct_program}.json").exists() else {"argv": [], "env": {}}
    assert bench.log is not None
    assert bench.notify is not None
    sinks = {
        "decision argv": unclean(decider["argv"]),
        "decision env": unclean([f"{k}={v}" for k, v in decider["env"].items()]),
        "program argv": unclean(direct["argv"]),
        "program env": unclean([f"{k}={v}" for k, v in direct["env"].items()]),
        "log": unclean(list(strings(bench.log.items))),
        "status": unclean([m for m in bench.notify.messages if m.startswith("STATUS=")]),
    }
    assert {sink: [] for sink in sinks} == sinks
    assert outcome == ended["outcome"], ended


#: Login names typed at the prompt: options, option ends, shell syntax, control bytes, invalid UTF-8, length.
HOSTILE_NAMES = [
    b"-f root",
    b"--",
    b" -h x",
    b"   -froot",
    b"\t-f root",
    b"a" * 43,
    b"ro\x01ot",
    b"ro\x1b[2Jot",
    b"\xff\xfe\xc3(",
    b"$(id)",
    b"a;id",
    b"`id`",
    b"x|id",
    b"${IFS}id",
]


@pytest.fixture(name="login_line", scope="module")
def _login_line(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Bench, Path]]:
    """One bench for every name: its login program is a stand-in that records its argv."""
    tmp = tmp_path_factory.mktemp("names")
    program = make_program(tmp / "bin", "login")
    bench = Bench(tmp=tmp, port_settings={"login_program": [str(program), "--", "{user}"], "login_timeout_s": 10.0})
    bench.start()
    yield bench, program
    bench.stop()


def first_of(caller: Caller, markers: tuple[bytes, ...], timeout: float = 15.0) -> bytes:
    """Read the caller's screen until one of ``markers`` shows; return that marker."""
    deadline = time.monotonic() + timeout
    while True:
        for marker in markers:
            if marker in caller.screen:
                return marker
        assert time.monotonic() < deadline, f"none of {markers} came; screen: {caller.screen[-300:]!r}"
        caller.sock.settimeout(max(0.01, deadline - time.monotonic()))
        with contextlib.suppress(TimeoutError):
            chunk = caller.sock.recv(65536)
            assert chunk, f"line dropped; screen: {caller.screen[-300:]!r}"
            caller.screen += chunk


def is_subsequence(small: str, big: str) -> bool:
    """Whether ``small`` is ``big`` with some characters left out (nothing added, nothing reordered)."""
    rest = iter(big)
    return all(char in rest for char in small)


@pytest.mark.parametrize("name", HOSTILE_NAMES, ids=[repr(n)[2:-1][:24] for n in HOSTILE_NAMES])
def test_hostile_login_name_never_reaches_the_program_as_an_option_or_through_a_shell(
    login_line: tuple[Bench, Path], name: bytes
) -> None:
    """The name is refused, or reaches login as one printable argv element after '--' that is no option."""
    bench, program = login_line
    Path(f"{program}.json").unlink(missing_ok=True)
    start = bench.mark()
    caller = bench.dial()
    caller.read_until(b"login: ")
    caller.screen = b""
    caller.send(name + b"\r")
    seen = first_of(caller, (b"RECORDED", b"Invalid login name"))
    caller.hang_up()
    bench.ended(start)
    if seen == b"Invalid login name":
        assert not Path(f"{program}.json").exists()
        return
    argv = record_of(program)["argv"]
    assert (3, "--") == (len(argv), argv[1]), argv
    user = argv[2]
    # The name editor strips the 8th bit (parity of a 7-bit terminal, as getty does): compare with that view.
    typed = bytes(byte & 0x7F for byte in name).decode("ascii")
    assert (False, True, True) == (
        user.startswith("-"),
        user.isprintable() and " " not in user,
        is_subsequence(user, typed),
    ), user
