"""Shared pieces of the import-mgetty tests: the data directories, copied so that login.config is 0600."""

from __future__ import annotations

import os
import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from answerd.mgetty.importer import ImportResult, import_mgetty

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(name="setup_dir")
def _setup_dir(tmp_path: Path) -> Callable[[str], Path]:
    """Copy a directory of ``data/`` into the test's tmp dir; login.config gets mgetty's required 0600."""

    def copy(name: str) -> Path:
        target = tmp_path / name.replace("/", "-")
        shutil.copytree(DATA / name, target)
        login = target / "login.config"
        if login.exists():
            login.chmod(0o600)  # git does not keep the mode, and mgetty ignores the file without it
        return target

    return copy


def run_import(directory: Path, **kwargs: Any) -> tuple[dict[str, Any], ImportResult]:
    """Import ``directory`` as the test's own user (its files are not root's), every program "existing"."""
    kwargs.setdefault("trusted_uid", os.getuid())
    kwargs.setdefault("program_exists", lambda path: True)
    result = import_mgetty(str(directory), **kwargs)
    return tomllib.loads(result.text), result


def write_setup(directory: Path, files: dict[str, str]) -> Path:
    """Write mgetty files into ``directory`` (login.config 0600); return it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(text)
    if (directory / "login.config").exists():
        (directory / "login.config").chmod(0o600)
    return directory
