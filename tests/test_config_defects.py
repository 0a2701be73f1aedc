"""Issue 10, defects 4-7, as a user meets them: ``answerd check-config`` and ``answerd run`` on a bad file.

Each case is a real ``python -m answerd`` in a subprocess (tests/test_cli.py's :func:`answerd`). A refused
file must give exit status 6 and one problem line under the ``invalid configuration`` header, never a
traceback, and ``run`` must refuse it before it touches a device. The subprocesses are started together,
two at a time, when the first test asks for one.

- 4: an empty ``init_chat`` or ``force_init_chat`` passed the check, then crashed the daemon (ChatError).
- 5: 5,000-deep nesting or a 5,000-digit integer gave a traceback (RecursionError, ValueError).
- 6: ``/dev/zero`` was read without a size limit (7.5 GB) and a FIFO blocked forever.
- 7: a program that does not exist, is a directory or is not executable was accepted.
"""

from __future__ import annotations

import os
import resource
import subprocess
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.test_cli import Run, answerd

#: What a run before the fix may not do to the test machine: /dev/zero grew to 7.5 GB.
_MEMORY_CAP = 2 << 30
#: A FIFO blocked for ever before the fix; this only bounds the wait, nothing is asserted on time.
_HANG_GUARD_S = 60.0

#: Every setting that names a program, as a TOML fragment that sets it to PROGRAM (defect 7).
PROGRAM_SETTINGS = {
    "login_program": ("login_program = [PROGRAM]", "login_program"),
    "direct_program": ('mode = "direct"\ndirect_program = [PROGRAM]', "direct_program"),
    "decision_program": ("decision_program = [PROGRAM]", "decision_program"),
    "dispatch program": ('[[ports.P.dispatch]]\nmatch = "*"\nprogram = [PROGRAM]', "dispatch[0].program"),
}


def _capped() -> None:  # pragma: no cover (runs in the child before exec)
    resource.setrlimit(resource.RLIMIT_AS, (_MEMORY_CAP, _MEMORY_CAP))


def bad_programs(tmp: Path) -> dict[str, Path]:
    """A path for each way a program can be unusable: missing, a directory, a file without x bits."""
    plain = tmp / "not-executable"
    plain.write_text("#!/bin/sh\n")
    plain.chmod(0o644)
    return {"missing": tmp / "no-such-program", "directory": tmp, "not executable": plain}


def program_file(tmp: Path, setting: str, program: Path) -> Path:
    """A config whose one port sets ``setting`` to ``program``."""
    fragment = PROGRAM_SETTINGS[setting][0].replace("PROGRAM", f'"{program}"')
    head = "[ports.P]\n" if not fragment.startswith("[[") else "[ports.P]\n\n"
    path = tmp / f"{setting.replace(' ', '_')}-{program.name}.toml"
    path.write_text(head + fragment + "\n")
    return path


def invocations(tmp: Path) -> dict[str, list[str | Path]]:
    """Every command line this module looks at, by name."""
    files = {
        "empty init_chat": "[ports.P]\ninit_chat = []\n",
        "empty force_init_chat": "[ports.P]\nforce_init_chat = []\n",
        "deep nesting": "x = " + "[" * 5000 + "]" * 5000 + "\n",
        "huge integer": "[ports.P]\nrings = " + "9" * 5000 + "\n",
    }
    runs: dict[str, list[str | Path]] = {}
    for name, text in files.items():
        path = tmp / (name.replace(" ", "_") + ".toml")
        path.write_text(text)
        runs[f"check {name}"] = ["check-config", path]
        runs[f"run {name}"] = ["run", "--config", path, "--port", "P", "--log-format", "json"]
    fifo = tmp / "fifo.toml"
    os.mkfifo(fifo)
    big = tmp / "big.toml"
    big.write_text("# " + "x" * (1 << 20) + "\n")
    for name, path in {"/dev/zero": Path("/dev/zero"), "fifo": fifo, "over 1 MiB": big}.items():
        runs[f"check {name}"] = ["check-config", path]
        runs[f"run {name}"] = ["run", "--config", path, "--port", "P", "--log-format", "json"]
    for setting in PROGRAM_SETTINGS:
        for kind, program in bad_programs(tmp).items():
            runs[f"check {setting} {kind}"] = ["check-config", program_file(tmp, setting, program)]
    missing_login = program_file(tmp, "login_program", tmp / "no-such-program")
    runs["run login_program missing"] = ["run", "--config", missing_login, "--port", "P", "--log-format", "json"]
    return runs


class Runs:
    """The results of :func:`invocations`, all started up front."""

    def __init__(self, pool: ThreadPoolExecutor, tmp: Path) -> None:
        self._futures: dict[str, Future[Run]] = {
            name: pool.submit(self._one, args) for name, args in invocations(tmp).items()
        }

    @staticmethod
    def _one(args: list[str | Path]) -> Run:
        try:
            return answerd(*args, timeout_s=_HANG_GUARD_S, preexec_fn=_capped)
        except subprocess.TimeoutExpired as exc:
            return Run(-1, "", f"did not finish: {exc}")

    def __getitem__(self, name: str) -> Run:
        return self._futures[name].result()


@pytest.fixture(name="runs", scope="module")
def _runs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runs]:
    with ThreadPoolExecutor(max_workers=2) as pool:
        yield Runs(pool, tmp_path_factory.mktemp("defects"))


def assert_one_problem(result: Run, *, starts_with: str | None = None, says: str | None = None) -> None:
    """Exit 6, the header and exactly one problem line (with that start and text), no traceback."""
    assert "Traceback" not in result.stderr, result.stderr[-2000:]
    assert (6, 1) == (result.returncode, len(result.problems())), result.stderr[-2000:]
    assert 2 == len(result.stderr.splitlines()), result.stderr
    line = result.problems()[0]
    if starts_with is not None:
        assert line.startswith(starts_with), line
    if says is not None:
        assert says in line, line


COMMANDS = ["check", "run"]


class TestDefect4EmptyChats:
    @pytest.mark.parametrize("command", COMMANDS)
    @pytest.mark.parametrize("key", ["init_chat", "force_init_chat"])
    def test_an_empty_chat_is_a_configuration_error(self, runs: Runs, command: str, key: str) -> None:
        """An empty init chat is refused with one line naming the key, by check-config and by run."""
        assert_one_problem(runs[f"{command} empty {key}"], starts_with=f"ports.P.{key}: ")


class TestDefect5DeepAndHuge:
    @pytest.mark.parametrize("command", COMMANDS)
    def test_deep_nesting_is_one_line(self, runs: Runs, command: str) -> None:
        """Arrays nested 5,000 deep are refused as too deep, with one line instead of a RecursionError."""
        assert_one_problem(runs[f"{command} deep nesting"], says="nested too deeply")

    @pytest.mark.parametrize("command", COMMANDS)
    def test_a_huge_integer_is_one_line(self, runs: Runs, command: str) -> None:
        """A 5,000-digit integer is refused with one line instead of Python's digit-limit ValueError."""
        assert_one_problem(runs[f"{command} huge integer"], says="digits")


class TestDefect6FileKinds:
    @pytest.mark.parametrize("command", COMMANDS)
    def test_a_device_is_refused(self, runs: Runs, command: str) -> None:
        """/dev/zero is refused as not a regular file, instead of being read until memory runs out."""
        assert_one_problem(runs[f"{command} /dev/zero"], says="not a regular file")

    @pytest.mark.parametrize("command", COMMANDS)
    def test_a_fifo_is_refused(self, runs: Runs, command: str) -> None:
        """A FIFO is refused as not a regular file, instead of blocking for ever waiting for a writer."""
        assert_one_problem(runs[f"{command} fifo"], says="not a regular file")

    @pytest.mark.parametrize("command", COMMANDS)
    def test_a_file_over_1_mib_is_refused(self, runs: Runs, command: str) -> None:
        """A regular file larger than 1 MiB is refused, saying the limit."""
        assert_one_problem(runs[f"{command} over 1 MiB"], says="1 MiB")


class TestDefect7Programs:
    @pytest.mark.parametrize("kind", ["missing", "directory", "not executable"])
    @pytest.mark.parametrize("setting", list(PROGRAM_SETTINGS))
    def test_an_unusable_program_is_a_configuration_error(self, runs: Runs, setting: str, kind: str) -> None:
        """Every program setting refuses a program that is missing, a directory or not executable."""
        assert_one_problem(runs[f"check {setting} {kind}"], starts_with=f"ports.P.{PROGRAM_SETTINGS[setting][1]}: ")

    def test_run_refuses_a_missing_login_program(self, runs: Runs) -> None:
        """``run`` refuses a missing login program at start (exit 6), before it answers any call."""
        assert_one_problem(runs["run login_program missing"], starts_with="ports.P.login_program: ")
