"""Issue 13's rough edges that belong to no one module: the documented lists of call outcomes."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from answerd.core import Outcome

ROOT = Path(__file__).resolve().parent.parent


def _readme() -> list[str]:
    """The outcome table of the README, in order."""
    text = (ROOT / "README.md").read_text()
    section = text.split("Outcomes in the call record", 1)[1].split("\n\n", 2)[1]
    return re.findall(r"^\| `([a-z-]+)` \|", section, re.MULTILINE)


def _units_readme() -> list[str]:
    """The ``OUTCOME is one of`` list of units/README.md, in order."""
    text = (ROOT / "units" / "README.md").read_text()
    return re.findall(r"`([a-z-]+)`", text.split("`OUTCOME` is one of", 1)[1].split("(", 1)[0])


def _catalog() -> list[str]:
    """The ``OUTCOME says how the call ended`` list of the journal catalog, in order."""
    text = (ROOT / "answerd" / "catalog" / "answerd.catalog").read_text()
    sentence = text.split("OUTCOME says how the call ended:", 1)[1].split(".\n", 1)[0]
    words = re.sub(r"\([^)]*\)", "", sentence).replace(" or ", ", ")
    return [word.strip() for word in words.split(",")]


@pytest.mark.parametrize("listed", [_readme, _units_readme, _catalog], ids=["README", "units/README", "catalog"])
def test_documented_outcome_list_is_the_code(listed: Callable[[], list[str]]) -> None:
    """Every list of outcomes in the documentation names exactly answerd.core.Outcome's values, in its order."""
    assert [outcome.value for outcome in Outcome] == listed()
