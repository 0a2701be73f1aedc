"""Replay saved inputs through their harness without atheris: ``python -m fuzz.replay FILE...``.

The harness is taken from the file name's prefix (``config-crash-...`` or a path under ``corpus/NAME/``).
An assertion or any other exception is printed with its traceback, as a test would show it.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable
from pathlib import Path

from fuzz import HARNESSES

__all__ = ["harness_for", "load"]


def load(name: str) -> Callable[[bytes], None]:
    """The ``test_one_input`` of harness ``name``."""
    function: Callable[[bytes], None] = importlib.import_module(HARNESSES[name]).test_one_input
    return function


def harness_for(path: Path) -> str:
    """The harness a saved input belongs to, from its directory or its name's prefix."""
    if path.parent.name in HARNESSES:
        return path.parent.name
    return path.name.split("-", 1)[0]


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        file = Path(argument)
        load(harness_for(file))(file.read_bytes())
        print(f"{file}: ok")
