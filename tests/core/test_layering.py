"""The sans-IO rule: ``answerd.core`` imports only pure stdlib modules and nothing else from answerd.

This is a backstop for the import-linter contract in ``pyproject.toml``: it walks the AST of every file in
the package, so it also sees imports inside functions and ``TYPE_CHECKING`` blocks, and it fails on any
import *outside* an allow-list (import-linter can only forbid a list of known modules).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import answerd.core

HAYES_DIR = Path(answerd.core.__file__).parent

#: Stdlib modules the core may import: pure data and text handling, nothing that does I/O, logs, or
#: reads the clock. ``datetime`` is here for the ``datetime.datetime`` *value* the shell passes into the
#: prompt escapes; :func:`clock_reads` makes sure the core never asks it for the time.
ALLOWED = frozenset(
    {"__future__", "abc", "collections", "dataclasses", "datetime", "enum", "itertools", "re", "typing"}
)

#: Methods that read the clock; the core is given ``now`` instead.
CLOCK_READS = frozenset({"now", "today", "utcnow"})

SOURCES = sorted(HAYES_DIR.rglob("*.py"))


def import_violations(source: str, depth: int = 0) -> list[str]:
    """Return one message per import in ``source`` that breaks the sans-IO rule.

    Args:
        source: Python source of one module.
        depth: how many directories below ``answerd/core/`` the module lives (0 for the package itself),
            so a relative import may climb that many levels, but not out of the package.
    """
    problems: list[str] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level > depth + 1:
                problems.append(f"line {node.lineno}: relative import leaves answerd.core")
                continue
            if node.level:
                continue
            names = [node.module or ""]
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "__import__":
            problems.append(f"line {node.lineno}: dynamic import via __import__")
            continue
        else:
            continue
        for name in names:
            top = name.split(".")[0]
            if name == "answerd.core" or name.startswith("answerd.core."):
                continue
            if top == "answerd":
                problems.append(f"line {node.lineno}: imports {name} (another answerd package)")
            elif top not in ALLOWED:
                problems.append(f"line {node.lineno}: imports {name} (not in the allow-list)")
    return problems


def clock_reads(source: str) -> list[str]:
    """Return one message per call of a clock-reading method (``.now()``, ``.today()``, ``.utcnow()``)."""
    return [
        f"line {node.lineno}: calls .{node.func.attr}()"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CLOCK_READS
    ]


def depth_of(path: Path) -> int:
    """How many directories below answerd/core/ ``path`` lives."""
    return len(path.relative_to(HAYES_DIR).parts) - 1


class TestHayesPackage:
    """The real answerd.core package obeys the rule."""

    def test_sources_are_found(self) -> None:
        """The walk sees the package's modules (an empty glob would pass vacuously)."""
        found = {str(path.relative_to(HAYES_DIR)) for path in SOURCES}
        assert {"hayes/codes.py", "hayes/events.py", "_machine.py"} <= found

    @pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(HAYES_DIR)) for p in SOURCES])
    def test_imports_are_allowed(self, path: Path) -> None:
        """The module imports only allow-listed stdlib modules and its own package."""
        assert [] == import_violations(path.read_text(encoding="utf-8"), depth_of(path))

    @pytest.mark.parametrize("path", SOURCES, ids=[str(p.relative_to(HAYES_DIR)) for p in SOURCES])
    def test_clock_is_never_read(self, path: Path) -> None:
        """The module never reads the clock; time comes in as ``now``."""
        assert [] == clock_reads(path.read_text(encoding="utf-8"))


#: What the Hayes protocol layer may use of the rest of the core: only the error type (a leaf module).
HAYES_MAY_IMPORT = frozenset({"answerd.core._errors"})


def core_imports(source: str) -> set[str]:
    """The answerd.core modules ``source`` imports by absolute name."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and (node.module or "").startswith("answerd.core"):
            found.add(node.module or "")
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.startswith("answerd.core"))
    return found


HAYES_SOURCES = sorted((HAYES_DIR / "hayes").glob("*.py"))


class TestLayers:
    """The Hayes protocol is the bottom layer: the answer machine and dialog build on it, never the reverse."""

    @pytest.mark.parametrize("path", HAYES_SOURCES, ids=[p.name for p in HAYES_SOURCES])
    def test_hayes_imports_only_hayes(self, path: Path) -> None:
        """A hayes module imports from the core only other hayes modules (and the error type)."""
        imports = core_imports(path.read_text(encoding="utf-8"))
        assert set() == {name for name in imports if not name.startswith("answerd.core.hayes")} - HAYES_MAY_IMPORT

    def test_checker_sees_a_machine_import(self) -> None:
        """The check would catch a hayes module importing the machine's effects."""
        assert {"answerd.core._effects"} == core_imports("from answerd.core._effects import Write")


class TestChecker:
    """The checker itself catches what it should (so a pass above means something)."""

    @pytest.mark.parametrize(
        "source",
        [
            "import asyncio",
            "import os.path",
            "from time import monotonic",
            "import logging",
            "import serial",
            "from socket import socket",
            "import subprocess",
            "def f():\n    import os\n",
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import asyncio\n",
            "import answerd.service.daemon",
            "from answerd.sim import FakeModem",
            "from answerd import config",
            "from .. import cli",
            "from ..port import SerialPort",
            "os = __import__('os')",
        ],
    )
    def test_violation_is_reported(self, source: str) -> None:
        """A forbidden import is reported."""
        assert 1 == len(import_violations(source))

    @pytest.mark.parametrize(
        "source",
        [
            "from __future__ import annotations",
            "import re",
            "import enum",
            "from dataclasses import dataclass, field",
            "from typing import Final",
            "from collections.abc import Callable",
            "from collections import deque",
            "import itertools",
            "from ._events import Ring",
            "from . import _events",
            "from answerd.core.hayes.events import Ring",
        ],
    )
    def test_allowed_import_passes(self, source: str) -> None:
        """An allow-listed import is not reported."""
        assert [] == import_violations(source)

    def test_subpackage_may_climb_to_hayes(self) -> None:
        """A module one level down may import from answerd.core with two dots, but not three."""
        assert ([], 1) == (
            import_violations("from .._events import Ring", depth=1),
            len(import_violations("from ... import cli", depth=1)),
        )

    def test_clock_read_is_reported(self) -> None:
        """Asking datetime for the current time is reported."""
        assert 2 == len(clock_reads("import datetime\na = datetime.datetime.now()\nb = datetime.date.today()"))
