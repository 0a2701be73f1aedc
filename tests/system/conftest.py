"""Tests of answerd under systemd: the unit file checked by systemd-analyze, and run under a real systemd.

The ``system`` marker selects the tests that boot a container (``-m "not system"`` leaves them out); they run
by default, in CI too. They need root, ``systemd-nspawn`` (Debian package ``systemd-container``) and
``debootstrap``; without them they skip with the reason, except under CI (``CI`` set), where a missing tool
is a failure: a green run must not hide that the container tests did not run.
"""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import pytest

from . import nspawn

#: The repository's unit directory.
UNITS = Path(__file__).resolve().parents[2] / "units"


def pytest_configure(config: pytest.Config) -> None:
    """Register the ``system`` marker."""
    config.addinivalue_line(
        "markers", "system: boots a container with systemd as PID 1 and runs answerd's unit in it (needs root)"
    )


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"{reason} (CI must run the system tests: install what is missing in ./dev)")
    pytest.skip(reason)


def _inside_container() -> str | None:
    """The container manager if this test run itself is inside a container (``$container``, as systemd sets)."""
    if value := os.environ.get("container"):  # noqa: SIM112 (systemd spells it in lower case)
        return value
    with contextlib.suppress(OSError):
        for item in Path("/proc/1/environ").read_bytes().split(b"\0"):
            if item.startswith(b"container="):
                return item.removeprefix(b"container=").decode(errors="replace")
    return None


@pytest.fixture(scope="session")
def container_root() -> Path:
    """A Debian bookworm root with systemd, built once (cached across runs) for the container tests."""
    if manager := _inside_container():
        # Seen in a systemd-nspawn container: the nested container may not configure its own network (EPERM),
        # so the simulated phone line cannot work. CI runs on the machine itself, where these tests run.
        pytest.skip(f"this run is inside a container ({manager}): a nested one cannot set up its network here")
    if os.geteuid() != 0:
        _unavailable("systemd-nspawn needs root")
    if missing := nspawn.missing_tools():
        _unavailable(f"missing {', '.join(missing)} (Debian packages systemd-container, debootstrap, util-linux)")
    if sys.version_info[:2] != (3, 11):
        _unavailable("the container's Debian python3 is 3.11: the test venv's compiled wheels must match it")
    return nspawn.ensure_root()
