"""``answerd import-mgetty`` as a user runs it: TOML on stdout that ``answerd check-config`` accepts, warnings
on stderr, and exit status 6 with one ``file:line`` message (never a traceback) for what cannot be imported.

Each case runs the real command in a subprocess; the runs of a test are started together (each interpreter
start costs most of a second)."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from .conftest import write_setup


def _answerd(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "answerd", *args], capture_output=True, text=True, timeout=60, check=False
    )


SETUPS = {
    "debian": None,
    "seed-dialup-server": "ExecStart=/sbin/mgetty /dev/ttyUSB0",
    "seed-voip-usr": "ExecStart=/sbin/mgetty -x0 -s 57600 /dev/ttyUSB0",
    "hostile/unknown-keywords": "ExecStart=/usr/sbin/mgetty -n -r ttyUSB0",
}


def test_imported_setups_pass_check_config(setup_dir: Callable[[str], Path], tmp_path: Path) -> None:
    """Debian's files and the seed setups import with exit 0, and answerd check-config accepts each result."""

    def import_and_check(name: str) -> tuple[str, int, int, str]:
        args = ["import-mgetty", "--config-dir", str(setup_dir(name))]
        imported = _answerd(*args, *(["--args", SETUPS[name]] if SETUPS[name] else []))
        output = tmp_path / f"{name.replace('/', '-')}.toml"
        output.write_text(imported.stdout)
        checked = _answerd("check-config", str(output))
        return name, imported.returncode, checked.returncode, imported.stderr + checked.stderr

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(import_and_check, SETUPS))
    assert [(name, 0, 0) for name in SETUPS] == [result[:3] for result in results], [r[3] for r in results]


def test_warnings_go_to_stderr_and_toml_to_stdout(setup_dir: Callable[[str], Path]) -> None:
    """Unknown keywords are warned about on stderr, one line each; stdout is the TOML alone."""
    directory = setup_dir("hostile/unknown-keywords")
    result = _answerd("import-mgetty", "--config-dir", str(directory))
    assert 0 == result.returncode
    assert 115200 == tomllib.loads(result.stdout)["ports"]["ttyUSB0"]["speed"]
    warnings = result.stderr.splitlines()
    assert 8 == len(warnings)
    expected = f"{directory}/mgetty.config:7: unknown mgetty keyword 'ppp-delay' (mgetty ignores it too)"
    assert f"answerd: warning: {expected}" == warnings[0]


def _fifo_setup(directory: Path) -> list[str]:
    directory.mkdir()
    os.mkfifo(directory / "mgetty.config")
    return ["--config-dir", str(directory)]


@pytest.mark.parametrize(
    ("files", "extra", "message"),
    [
        ({"mgetty.config": 'init-chat "" "ATZ OK\n'}, [], "{dir}/mgetty.config:1: a double quote is not closed"),
        ({"mgetty.config": "speed 9600\n\x00\x01\x02\n"}, [], "{dir}/mgetty.config:2: control character 0x00"),
        ({"mgetty.config": "", "dialin.config": "0800 0900-1\n"}, [], "{dir}/dialin.config:1: invalid caller-ID rule"),
        ({"mgetty.config": ""}, ["--args", "/sbin/mgetty -q ttyS0"], "--args: mgetty has no option -q"),
        ({"mgetty.config": "#" * (1 << 20) + "\n"}, [], "{dir}/mgetty.config: larger than the 1 MiB limit"),
        (None, [], "{dir}/mgetty.config: is a FIFO, not a regular file"),
    ],
)
def test_what_cannot_be_imported_exits_6_with_one_line(
    tmp_path: Path, files: dict[str, str] | None, extra: list[str], message: str
) -> None:
    """Broken quoting, binary junk, a bad dialin token, a bad option, an oversized file, a FIFO: exit 6 and a
    single line naming the file and line, nothing on stdout."""
    directory = tmp_path / "etc-mgetty"
    args = _fifo_setup(directory) if files is None else ["--config-dir", str(write_setup(directory, files))]
    result = _answerd("import-mgetty", *args, *extra)
    assert (6, "") == (result.returncode, result.stdout)
    assert [f"answerd: import-mgetty: {message.format(dir=directory)}"] == [
        line[: len("answerd: import-mgetty: ") + len(message.format(dir=directory))]
        for line in result.stderr.splitlines()
    ]


def test_no_autoppp_rule_imports_as_autoppp_false(setup_dir: Callable[[str], Path], tmp_path: Path) -> None:
    """A login.config without /AutoPPP/ imports as ``autoppp = false`` (saying why), so check-config gives
    no "autoppp without a rule" warning; Debian's, which has the rule, sets no autoppp key."""
    files = {"mgetty.config": "port ttyS1\nlogin-conf-file login.ppp\n", "login.config": "* - - /bin/login @\n",
             "login.ppp": "/AutoPPP/ - - /usr/sbin/pppd modem\n* - - /bin/login @\n"}  # fmt: skip
    plain = write_setup(tmp_path / "plain", files)
    (plain / "login.ppp").chmod(0o600)

    def import_and_check(directory: Path) -> tuple[str, str]:
        imported = _answerd("import-mgetty", "--config-dir", str(directory))
        output = tmp_path / f"{directory.name}.toml"
        output.write_text(imported.stdout)
        return imported.stdout, _answerd("check-config", str(output)).stderr

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(import_and_check, [plain, setup_dir("debian")]))
    (plain_toml, plain_check), (debian_toml, debian_check) = runs
    config = tomllib.loads(plain_toml)
    assert (False, True) == (config["defaults"]["autoppp"], config["ports"]["ttyS1"]["autoppp"])
    assert "mgetty without an /AutoPPP/ line does not start pppd for PPP callers either" in plain_toml
    assert "autoppp = " not in debian_toml
    assert ("", "") == (plain_check, debian_check)
