"""``systemd-analyze verify`` on units/answerd@.service (and the PPP drop-in), and the unit's ties to answerd.

verify needs no systemd as PID 1. It checks a template as an instance, so the unit is copied to
``answerd@ttyUSB0.service``; it also checks that ExecStart='s program exists and is executable, so the copy
points at a stand-in script (the real path, /usr/local/bin/answerd, is asserted separately). verify exits 0
even for unknown keys, which it only warns about: the tests require an empty stderr.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from answerd.service.daemon import ExitCode

from .conftest import UNITS

UNIT = UNITS / "answerd@.service"
INSTALLED_PROGRAM = "/usr/local/bin/answerd"

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")


def _instance(tmp_path: Path, dropins: tuple[Path, ...] = ()) -> Path:
    """Copy the unit as answerd@ttyUSB0.service (with drop-ins) into ``tmp_path``, ExecStart on a stand-in."""
    program = tmp_path / "bin" / "answerd"
    program.parent.mkdir()
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    text = UNIT.read_text()
    assert 1 == text.count(f"ExecStart={INSTALLED_PROGRAM} ")
    instance = tmp_path / "answerd@ttyUSB0.service"
    # ExecStart= and ExecReload= both run answerd: verify checks each program exists.
    instance.write_text(text.replace(f"={INSTALLED_PROGRAM} ", f"={program} "))
    if dropins:
        directory = tmp_path / "answerd@ttyUSB0.service.d"
        directory.mkdir()
        for dropin in dropins:
            shutil.copy(dropin, directory / dropin.name)
    return instance


def _verify(unit: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", "--man=no", str(unit)],
        capture_output=True, text=True, timeout=30, cwd=unit.parent, check=False,
    )  # fmt: skip


def _directives(path: Path) -> dict[str, list[str]]:
    """Every ``Key=value`` of a unit file (comments and section headers skipped), values in order."""
    found: dict[str, list[str]] = {}
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith(("#", ";", "[")):
            key, _, value = line.partition("=")
            found.setdefault(key.strip(), []).append(value.strip())
    return found


def test_unit_verifies_without_warnings(tmp_path: Path) -> None:
    """The unit, as instance answerd@ttyUSB0, passes systemd-analyze verify with nothing on stderr."""
    result = _verify(_instance(tmp_path))
    assert ("", 0) == (result.stderr, result.returncode)


def test_unit_with_ppp_only_dropin_verifies_without_warnings(tmp_path: Path) -> None:
    """The unit with units/ppp-only.conf as a drop-in passes systemd-analyze verify with nothing on stderr."""
    unit = _instance(tmp_path, dropins=(UNITS / "ppp-only.conf",))
    result = _verify(unit)
    assert ("", 0) == (result.stderr, result.returncode)


def test_verify_reports_an_unknown_key(tmp_path: Path) -> None:
    """A misspelt directive shows on stderr, so the two tests above would notice one."""
    unit = _instance(tmp_path)
    unit.write_text(unit.read_text().replace("KillMode=mixed", "KilMode=mixed"))
    assert "Unknown key" in _verify(unit).stderr


def test_unit_runs_the_installed_answerd_for_its_port() -> None:
    """ExecStart runs the pip-installed entry point on the instance's port with the documented config path."""
    assert [f"{INSTALLED_PROGRAM} run --config /etc/answerd/answerd.toml --port %I"] == _directives(UNIT)["ExecStart"]


def test_restart_is_prevented_for_answerds_config_and_usage_errors() -> None:
    """RestartPreventExitStatus= names exactly answerd's exit codes for an invalid config and bad usage."""
    codes = {int(code) for value in _directives(UNIT)["RestartPreventExitStatus"] for code in value.split()}
    assert {ExitCode.CONFIG, ExitCode.USAGE} == codes


def test_udev_rule_starts_this_template() -> None:
    """The example udev rule asks systemd for an instance of units/answerd@.service by kernel name."""
    rule = (UNITS / "99-answerd.rules").read_text()
    assert 'ENV{SYSTEMD_WANTS}+="answerd@%k.service"' in rule
    assert 'ENV{ID_MM_DEVICE_IGNORE}="1"' in rule
