"""The ``answerd`` command line as a user meets it: check-config, run's early failures, help and version.

Every case runs the real command (``python -m answerd``) in a subprocess and looks at its exit status,
stdout and stderr: a configuration problem is one line with its TOML path, never a traceback.

Starting the interpreter and importing pydantic costs a few hundred milliseconds, so every invocation the tests need
is listed by :func:`invocations` and started at once, a few at a time, when the module's first test asks
for one; each test then reads the result of its own. For the same reason the problem cases share one file,
each in a table of its own: that also checks that one run reports every problem.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

from answerd import __version__
from answerd.config.load import config_from_document
from tests.helpers import installed_example

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"

MINIMAL = """\
[defaults]
speed = 38400

[ports.ttyS0]
rings = 2

[ports.ttyUSB1]
device = "/dev/serial/by-id/usb-modem"
"""

#: One problem per case, each in a table of its own, so a single file shows them all at once:
#: case -> (TOML lines, the TOML path its error line must start with).
BAD_CASES = {
    "unknown key": ("[ports.unknown]\nringz = 2", "ports.unknown.ringz"),
    "bad type": ('[ports.badtype]\nrings = "two"', "ports.badtype.rings"),
    "bad value": ("[ports.badvalue]\nrings = 0", "ports.badvalue.rings"),
    "bad chat escape": ('[ports.badchat]\ninit_chat = ["", "AT\\\\q", "OK"]', "ports.badchat.init_chat"),
    "relative program": ('[ports.relative]\nlogin_program = ["login", "{user}"]', "ports.relative.login_program"),
    "unknown placeholder": (
        '[ports.placeholder]\nlogin_program = ["/bin/login", "--", "{usr}"]',
        "ports.placeholder.login_program",
    ),
    "direct without program": ('[ports.direct]\nmode = "direct"', "ports.direct.direct_program"),
    "newline in key": ('[ports.newline]\n"rin\\ngs" = 2', "ports.newline.rin\\ngs"),
}
#: Top-level lines must come before any table.
BAD_TOP = {
    "unknown top-level key": ("colour = 1", "colour"),
    "bad log level": ('log_level = "loud"', "log_level"),
}
ALL_BAD = {**BAD_TOP, **BAD_CASES}


def combined() -> str:
    """A file with every problem of :data:`ALL_BAD`."""
    return "\n".join(text for text, _ in BAD_TOP.values()) + "\n\n" + "\n\n".join(t for t, _ in BAD_CASES.values())


def files(tmp: Path) -> dict[str, Path]:
    """Write the config files the invocations use; return them by name."""
    texts = {
        "minimal": MINIMAL,
        "combined": combined(),
        "bad default": "[defaults]\nspeed = 12345\n\n[ports.ttyS0]\nrings = 2\n\n[ports.ttyS1]\n",
        "direct masked": '[ports.ttyS0]\nmode = "direct"\nrings = 0\n',
        "invalid_toml": "[ports.ttyS0\nrings = 1\n",
        "missing_device": f'[ports.ttyX]\ndevice = "{tmp / "ttyGONE"}"\n',
        "defaults only": '[defaults]\nautoppp = false\nissue = "\\\\nhello \\"you\\"\\\\n"\n',
        "quiet": '[ports.ttyS0]\nautoppp = false\n\n[ports.ttyS1]\nmode = "direct"\ndirect_program = ["/bin/cat"]\n',
        "nul_device": '[ports.ttyX]\ndevice = "/dev/null\\u0000x"\n',
    }
    out = {}
    for name, text in texts.items():
        path = tmp / (name.replace(" ", "_") + ".toml")
        path.write_text(text)
        out[name] = path
    latin1 = tmp / "latin1.toml"
    latin1.write_bytes(b'[ports.ttyS0]\nissue = "Gr\xfc\xdfe"\n')
    out["latin1"] = latin1
    (tmp / "dir").mkdir()
    out["dir"] = tmp / "dir"
    out["nope"] = tmp / "nope.toml"
    return out


def invocations(tmp: Path) -> dict[str, list[str | Path]]:
    """Every command line the tests look at, by name."""
    f = files(tmp)
    runs: dict[str, list[str | Path]] = {
        "check minimal": ["check-config", f["minimal"]],
        "check combined": ["check-config", f["combined"]],
        "check bad default": ["check-config", f["bad default"]],
        "check direct masked": ["check-config", f["direct masked"]],
        "check missing": ["check-config", f["nope"]],
        "check dir": ["check-config", f["dir"]],
        "check invalid toml": ["check-config", f["invalid_toml"]],
        "check latin1": ["check-config", f["latin1"]],
        "check defaults only": ["check-config", f["defaults only"]],
        "check quiet": ["check-config", f["quiet"]],
        "run pts port": ["run", "-c", f["minimal"], "--port", "pts/5"],
        "reload pts port": ["reload", "--port", "pts/5"],
        "run mistyped port": ["run", "-c", f["minimal"], "--port", "ttyNOSUCH9", "--log-format", "json"],
        "run missing config": ["run", "--config", f["nope"], "--port", "ttyS0"],
        "run two ports": ["run", "--config", f["minimal"]],
        "run missing device": ["run", "-c", f["missing_device"], "--port", "ttyX", "--log-format", "json"],
        "run nul device": ["run", "-c", f["nul_device"], "--log-format", "json"],
        "version": ["--version"],
        "help": ["--help"],
        "sim help": ["sim", "--help"],
    }
    if EXAMPLE.exists():
        runs["check example"] = ["check-config", installed_example(tmp)]
    return runs


@dataclass(frozen=True)
class Run:
    """What one command run produced."""

    returncode: int
    stdout: str
    stderr: str

    def non_warnings(self) -> list[str]:
        """The stderr lines that are not ``answerd: warning:`` lines."""
        return [line for line in self.stderr.splitlines() if not line.startswith("answerd: warning: ")]

    def problems(self) -> list[str]:
        """The problem lines of a config error: the indented lines under the ``invalid configuration`` header."""
        return [line.strip() for line in self.stderr.splitlines() if line.startswith("  ")]

    def problem_paths(self) -> list[str]:
        """The TOML path of each problem line (the text before the first ': ')."""
        return [line.split(": ")[0] for line in self.problems()]


def answerd(*args: str | Path, timeout_s: float = 30.0, preexec_fn: Callable[[], None] | None = None) -> Run:
    """Run ``python -m answerd ARGS`` as if outside systemd; return its exit status and output."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"}
    }
    proc = subprocess.run(
        [sys.executable, "-m", "answerd", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        env=env,
        cwd=ROOT,
        check=False,
        preexec_fn=preexec_fn,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


class Runs:
    """The results of :func:`invocations`, all started up front."""

    def __init__(self, pool: ThreadPoolExecutor, tmp: Path) -> None:
        self._futures: dict[str, Future[Run]] = {
            name: pool.submit(answerd, *args) for name, args in invocations(tmp).items()
        }

    def __getitem__(self, name: str) -> Run:
        return self._futures[name].result()

    def __contains__(self, name: str) -> bool:
        return name in self._futures


@pytest.fixture(name="runs", scope="module")
def _runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        yield Runs(pool, tmp_path_factory.mktemp("cli"))


class TestCheckConfigValid:
    """check-config on files that are fine."""

    def test_example_file(self, runs: Runs) -> None:
        """The shipped config.example.toml is valid."""
        if "check example" not in runs:
            pytest.skip("config.example.toml not written yet")
        result = runs["check example"]
        assert (0, "") == (result.returncode, result.stderr)

    def test_minimal_file_ok(self, runs: Runs) -> None:
        """A small valid file exits 0 with nothing on stderr but warnings."""
        result = runs["check minimal"]
        assert (0, []) == (result.returncode, result.non_warnings())

    def test_file_without_surprises_prints_no_warning(self, runs: Runs) -> None:
        """AutoPPP off on a login port, and a direct-mode port, give no warning at all."""
        result = runs["check quiet"]
        assert (0, "") == (result.returncode, result.stderr)

    def test_prints_each_port(self, runs: Runs) -> None:
        """The effective settings of every port are shown, each under its table name."""
        headers = [line for line in runs["check minimal"].stdout.splitlines() if line.startswith("[ports.")]
        assert ["[ports.ttyS0]", "[ports.ttyUSB1]"] == headers

    def test_port_overrides_shown(self, runs: Runs) -> None:
        """A port's own value is what is shown for it (rings = 2 under ttyS0)."""
        section = runs["check minimal"].stdout.split("[ports.ttyS0]")[1].split("[ports.")[0]
        assert "rings = 2" in section


class TestCheckConfigEdges:
    """Issue 13: what check-config shows a new user: TOML values, the real device, the AutoPPP warning."""

    def test_output_is_toml_that_loads_back_into_the_same_settings(self, runs: Runs) -> None:
        """The printed settings are TOML (true, not True) and load back into the settings check-config read."""
        printed = tomllib.loads(runs["check minimal"].stdout)
        original = config_from_document(tomllib.loads(MINIMAL))
        again = config_from_document(printed)
        assert [original.port(name).model_copy(update={"device": original.port(name).device_path(name)})
                for name in original.ports] == [again.port(name) for name in original.ports]  # fmt: skip

    def test_no_python_values(self, runs: Runs) -> None:
        """No Python spelling of a value (True, False, None) is printed."""
        words = set(re.findall(r"\w+", runs["check minimal"].stdout))
        assert set() == words & {"True", "False", "None"}

    def test_device_is_the_path_the_port_opens(self, runs: Runs) -> None:
        """A port without device shows /dev/<name>; one with device shows it."""
        printed = tomllib.loads(runs["check minimal"].stdout)["ports"]
        devices = {name: table["device"] for name, table in printed.items()}
        assert {"ttyS0": "/dev/ttyS0", "ttyUSB1": "/dev/serial/by-id/usb-modem"} == devices

    def test_defaults_only_file_shows_defaults_as_toml(self, runs: Runs) -> None:
        """A file without port tables shows [defaults], its device as a comment, its escapes intact."""
        result = runs["check defaults only"]
        printed = tomllib.loads(result.stdout)
        assert (0, "", '\\nhello "you"\\n', False, True) == (
            result.returncode,
            result.stderr,
            printed["defaults"]["issue"],
            printed["defaults"]["autoppp"],
            "  # device: not set, so each port opens /dev/<its name>" in result.stdout.splitlines(),
        )

    def test_autoppp_without_rule_is_warned_per_port(self, runs: Runs) -> None:
        """Each login port without an /AutoPPP/ rule gets one warning naming it and the outcome such calls get."""
        stderr = runs["check minimal"].stderr
        warned = re.findall(r"^answerd: warning: (ports\.\w+): autoppp is on .*no-ppp-rule", stderr, re.MULTILINE)
        assert ["ports.ttyS0", "ports.ttyUSB1"] == warned


class TestCheckConfigInvalid:
    """check-config on files with problems: exit 6, one line per problem naming its TOML path."""

    def test_exit_status(self, runs: Runs) -> None:
        """An invalid file exits 6."""
        assert 6 == runs["check combined"].returncode

    @pytest.mark.parametrize("case", list(ALL_BAD))
    def test_one_line_with_toml_path(self, runs: Runs, case: str) -> None:
        """Each problem is exactly one line, starting with its TOML path."""
        assert 1 == runs["check combined"].problem_paths().count(ALL_BAD[case][1])

    def test_nothing_else_reported(self, runs: Runs) -> None:
        """There is one line per problem and no other."""
        assert sorted(path for _, path in ALL_BAD.values()) == sorted(runs["check combined"].problem_paths())

    def test_no_traceback(self, runs: Runs) -> None:
        """No traceback and nothing on stdout."""
        result = runs["check combined"]
        assert (False, "") == ("Traceback" in result.stderr, result.stdout)

    def test_header_names_file(self, runs: Runs) -> None:
        """The first stderr line names the file that is invalid."""
        first = runs["check combined"].stderr.splitlines()[0]
        assert (True, True) == ("invalid configuration" in first, "combined.toml" in first)

    def test_refused_value_shown(self, runs: Runs) -> None:
        """The line shows the refused value."""
        lines = [line for line in runs["check combined"].problems() if line.startswith("ports.badvalue.rings:")]
        assert "(got 0)" in lines[0]

    def test_unknown_key_hint(self, runs: Runs) -> None:
        """An unknown key is called one, with a pointer to the documented keys."""
        lines = [line for line in runs["check combined"].problems() if line.startswith("ports.unknown.ringz:")]
        assert "unknown key" in lines[0]

    def test_bad_default_reported_once(self, runs: Runs) -> None:
        """A bad value in [defaults] is one line under defaults, not repeated for every port that inherits it."""
        result = runs["check bad default"]
        assert (6, ["defaults.speed"]) == (result.returncode, result.problem_paths())

    def test_direct_problem_not_masked(self, runs: Runs) -> None:
        """mode = 'direct' without direct_program is reported even when another key of the table is bad."""
        paths = sorted(runs["check direct masked"].problem_paths())
        assert ["ports.ttyS0.direct_program", "ports.ttyS0.rings"] == paths


class TestCheckConfigUnreadable:
    """Files that cannot be read or parsed at all: one clear line, exit 6."""

    def test_missing_file(self, runs: Runs) -> None:
        """A missing file says so."""
        result = runs["check missing"]
        assert (6, ["no such file"]) == (result.returncode, result.problems())

    def test_directory(self, runs: Runs) -> None:
        """A directory is not a config file."""
        result = runs["check dir"]
        assert (6, 1, True) == (result.returncode, len(result.problems()), "directory" in result.stderr)

    def test_unreadable(self, tmp_path: Path) -> None:
        """A file without read permission says permission denied."""
        if os.geteuid() == 0:
            pytest.skip("root reads every file (the directory case covers an unreadable path)")
        path = tmp_path / "answerd.toml"
        path.write_text(MINIMAL)
        path.chmod(0)
        result = answerd("check-config", path)
        assert (6, ["permission denied"]) == (result.returncode, result.problems())

    def test_invalid_toml(self, runs: Runs) -> None:
        """Broken TOML is one line that says so, with the position."""
        result = runs["check invalid toml"]
        problems = result.problems()
        assert (6, 1, True) == (result.returncode, len(problems), "line 1" in problems[0])

    def test_not_utf8(self, runs: Runs) -> None:
        """A file that is not UTF-8 is one line that says so."""
        result = runs["check latin1"]
        problems = result.problems()
        assert (6, 1, True) == (result.returncode, len(problems), "UTF-8" in problems[0])

    @pytest.mark.parametrize("name", ["check missing", "check dir", "check invalid toml", "check latin1"])
    def test_no_traceback(self, runs: Runs, name: str) -> None:
        """Unreadable files never produce a traceback."""
        assert "Traceback" not in runs[name].stderr


class TestRun:
    """`answerd run` failures before and at opening the device."""

    def test_missing_config(self, runs: Runs) -> None:
        """A missing config file exits 6."""
        result = runs["run missing config"]
        assert (6, ["no such file"]) == (result.returncode, result.problems())

    def test_several_ports_need_port_option(self, runs: Runs) -> None:
        """Two ports and no --port exit 2, naming the ports and --port."""
        result = runs["run two ports"]
        assert (2, True, True, True) == (
            result.returncode,
            "--port" in result.stderr,
            "ttyS0" in result.stderr,
            "ttyUSB1" in result.stderr,
        )

    def test_several_ports_message_is_one_line(self, runs: Runs) -> None:
        """The --port message is one line, without a traceback."""
        assert 1 == len(runs["run two ports"].stderr.splitlines())

    def test_missing_device_exits_69(self, runs: Runs) -> None:
        """A device that does not exist exits 69."""
        assert 69 == runs["run missing device"].returncode

    def test_missing_device_logs_open_failed(self, runs: Runs) -> None:
        """The JSON log has one port.open_failed record naming the device and the exit code."""
        lines = runs["run missing device"].stderr.splitlines()
        failed = [r for r in map(json.loads, lines) if r.get("event") == "port.open_failed"]
        assert (1, 69, True) == (len(failed), failed[0].get("exit_code"), "ttyGONE" in failed[0].get("error", ""))

    def test_missing_device_log_is_all_json(self, runs: Runs) -> None:
        """Every stderr line is a JSON object: no traceback, no stray text."""
        lines = runs["run missing device"].stderr.splitlines()
        assert [] == [line for line in lines if not (line.startswith("{") and line.endswith("}"))]

    def test_port_option_follows_the_port_name_rule(self, runs: Runs) -> None:
        """--port pts/5 is refused (exit 2) like [ports."pts/5"] in the file, with how to name such a port."""
        result = runs["run pts port"]
        assert (2, "answerd: --port 'pts/5': not a usable port name") == (
            result.returncode,
            result.stderr.split(" (")[0],
        )
        assert 'set device = "/dev/pts/5"' in result.stderr

    def test_reload_port_option_follows_the_port_name_rule(self, runs: Runs) -> None:
        """answerd reload --port pts/5 is refused the same way, before looking for a daemon."""
        result = runs["reload pts port"]
        assert (2, "answerd: --port 'pts/5': not a usable port name") == (
            result.returncode,
            result.stderr.split(" (")[0],
        )

    def test_mistyped_port_is_warned_before_the_device_fails(self, runs: Runs) -> None:
        """A port with no table whose /dev/NAME is missing gets a warning naming the file's ports."""
        records = [json.loads(line) for line in runs["run mistyped port"].stderr.splitlines()]
        events = [r["event"] for r in records]
        warned = [r for r in records if r["event"] == "config.port_without_table"]
        assert (69, 1, True) == (
            runs["run mistyped port"].returncode,
            len(warned),
            events.index("config.port_without_table") < events.index("port.open_failed"),
        )
        assert "(the file's port tables: ttyS0, ttyUSB1)" in warned[0]["warning"]

    def test_autoppp_without_rule_is_warned_at_start(self, runs: Runs) -> None:
        """run logs the AutoPPP warning for its port when it starts."""
        records = [json.loads(line) for line in runs["run mistyped port"].stderr.splitlines()]
        assert 1 == len([r for r in records if r["event"] == "config.autoppp_without_rule"])

    def test_nul_in_device_path(self, runs: Runs) -> None:
        """A device path with a NUL byte (legal in TOML) is a configuration error (6), not a traceback."""
        result = runs["run nul device"]
        assert (6, False) == (result.returncode, "Traceback" in result.stderr)


class TestHelpAndVersion:
    """--help, --version, and the sim subcommand's own help."""

    def test_version(self, runs: Runs) -> None:
        """--version prints the name and version and exits 0."""
        result = runs["version"]
        assert (0, f"answerd {__version__}") == (result.returncode, result.stdout.strip())

    @pytest.mark.parametrize("word", ["run", "check-config", "sim", "demo"])
    def test_help_lists_command(self, runs: Runs, word: str) -> None:
        """--help names every command."""
        result = runs["help"]
        assert (0, True) == (result.returncode, word in result.stdout.split("exit codes:")[0])

    @pytest.mark.parametrize("code", ["0", "1", "2", "6", "69", "75", "77"])
    def test_help_lists_exit_codes(self, runs: Runs, code: str) -> None:
        """--help documents every exit code."""
        assert code in runs["help"].stdout.split("exit codes:")[1].split()

    def test_sim_help(self, runs: Runs) -> None:
        """`answerd sim --help` is the simulator's own help and exits 0."""
        result = runs["sim help"]
        assert (0, True, "") == (result.returncode, "answerd sim" in result.stdout, result.stderr)
