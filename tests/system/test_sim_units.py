"""units/answerd-sim@.service and units/answerd-on-sim@.service: ``systemd-analyze verify``, and their ties.

As in test_unit_verify.py: verify checks a template as an instance, so each unit is copied as its ``ttySIM0``
instance, with ExecStart='s /usr/local/bin/answerd pointing at a stand-in script (verify checks that the
program exists); an empty stderr is required, since verify only warns about unknown keys.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from answerd.sim.cli import build_parser

from .conftest import UNITS

SIM = UNITS / "answerd-sim@.service"
ON_SIM = UNITS / "answerd-on-sim@.service"
HARDWARE = UNITS / "answerd@.service"
INSTALLED_PROGRAM = "/usr/local/bin/answerd"

needs_verify = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def _instances(tmp_path: Path) -> Path:
    """Both units as their ttySIM0 instances in ``tmp_path``, answerd on a stand-in; returns the directory."""
    program = tmp_path / "bin" / "answerd"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    for unit in (SIM, ON_SIM):
        instance = tmp_path / unit.name.replace("@.", "@ttySIM0.")
        instance.write_text(unit.read_text().replace(f"={INSTALLED_PROGRAM} ", f"={program} "))
    return tmp_path


def _verify(directory: Path, name: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", name],
        capture_output=True, text=True, timeout=30, cwd=directory, check=False,
    )  # fmt: skip


def _section(path: Path, name: str) -> str:
    """The text of section ``[name]``, from its header to the next header."""
    text = path.read_text()
    start = text.index(f"[{name}]\n")
    end = text.find("\n[", start + 1)
    return text[start : len(text) if end < 0 else end]


def _directives(path: Path) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file (comments and section headers skipped), values in order."""
    found: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


@needs_verify
@pytest.mark.parametrize("unit", ["answerd-sim@ttySIM0.service", "answerd-on-sim@ttySIM0.service"])
def test_unit_verifies_without_warnings(tmp_path: Path, unit: str) -> None:
    """Each unit, as its ttySIM0 instance, passes systemd-analyze verify with nothing on stderr."""
    result = _verify(_instances(tmp_path), unit)
    assert ("", 0) == (result.stderr, result.returncode)


@needs_verify
def test_verify_reports_an_unknown_key_in_the_sim_unit(tmp_path: Path) -> None:
    """A misspelt directive shows on stderr, so the test above would notice one."""
    directory = _instances(tmp_path)
    unit = directory / "answerd-sim@ttySIM0.service"
    unit.write_text(unit.read_text().replace("PrivateTmp=yes", "PrivatTmp=yes"))
    assert "Unknown key" in _verify(directory, unit.name).stderr


def test_answerd_runs_on_the_sim_exactly_as_on_a_modem() -> None:
    """answerd-on-sim@'s [Service] section is answerd@.service's, word for word (only [Unit] differs)."""
    assert _section(HARDWARE, "Service") == _section(ON_SIM, "Service")


def test_answerd_on_the_sim_is_bound_to_the_sim_not_to_a_device() -> None:
    """answerd-on-sim@ binds to and starts after answerd-sim@ of its instance, and names no device unit."""
    unit = _directives(ON_SIM)
    assert (["answerd-sim@%i.service"], "answerd@%i.service") == (unit["BindsTo"], unit["Conflicts"][0])
    assert "answerd-sim@%i.service" in unit["After"]
    assert not any("device" in value for values in unit.values() for value in values)


def test_the_sim_publishes_the_device_answerd_opens_and_its_flags_parse() -> None:
    """The sim's ExecStart, with the unit's default environment, is a valid `answerd sim` line linking /dev/%i."""
    unit = _directives(SIM)
    environment = dict(item.split("=", 1) for item in shlex.split(unit["Environment"][0]))
    argv = shlex.split(unit["ExecStart"][0].replace("${SIM_LISTEN}", environment["SIM_LISTEN"]).replace(
        "$SIM_ARGS", environment["SIM_ARGS"]).replace("%i", "ttySIM0"))  # fmt: skip
    assert [INSTALLED_PROGRAM, "sim"] == argv[:2]
    args = build_parser().parse_args(argv[2:])
    assert (Path("/dev/ttySIM0"), ("127.0.0.1", 2323)) == (args.link, args.listen)
    assert (
        f"{INSTALLED_PROGRAM} run --config /etc/answerd/answerd.toml --port %I" == _directives(ON_SIM)["ExecStart"][0]
    )
