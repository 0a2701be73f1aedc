"""Every fuzzing seed and every crash the fuzzers found, replayed through its harness; and each crash as a test.

The harnesses (``fuzz/harness_*.py``) are plain Python: each input is a script whose invariants the harness
asserts, so replaying the seed corpora here keeps the harnesses honest in the fast suite, and a crash file
in ``fuzz/crashes/`` stays fixed. Each crash also has a test of its own below, named for what it found.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from answerd.config.errors import ConfigError
from answerd.config.load import load_config_text
from fuzz import HARNESSES
from fuzz.replay import harness_for, load

FUZZ = Path(__file__).resolve().parents[2] / "fuzz"
SAVED = sorted((FUZZ / "corpus").glob("*/*")) + sorted((FUZZ / "crashes").glob("*"))


@pytest.mark.parametrize("path", SAVED, ids=[f"{path.parent.name}/{path.name}" for path in SAVED])
def test_saved_input_keeps_its_harness_invariants(path: Path) -> None:
    """A seed or a former crash runs through its harness without breaking one of its invariants."""
    load(harness_for(path))(path.read_bytes())


def test_every_harness_has_seeds() -> None:
    """Each harness starts from a seed corpus of its own (else the CI run starts from nothing)."""
    assert set(HARNESSES) == {path.parent.name for path in SAVED if path.parent.name != "crashes"}


def test_every_crash_names_its_harness() -> None:
    """A crash file's name starts with its harness, so the replay knows where it belongs."""
    assert all(harness_for(path) in HARNESSES for path in sorted((FUZZ / "crashes").glob("*")))


# --- one test per crash found -------------------------------------------------------------------------------


def toml_key(text: str) -> str:
    """``text`` as a quoted TOML key, every character as a ``\\u`` escape (TOML allows no raw controls)."""
    return '"' + "".join(f"\\u{ord(char):04x}" for char in text) + '"'


HOSTILE_KEYS = ["\n", "a\nports.b.rings: forged", "\x1b[2J", "\u202e", "\x7f"]


@pytest.mark.parametrize("name", HOSTILE_KEYS, ids=repr)
def test_config_error_lines_stay_single_and_printable_with_a_hostile_port_name(name: str) -> None:
    """fuzz/crashes/config-port-name-newline: a port name with a newline or an escape split the problem line."""
    with pytest.raises(ConfigError) as caught:
        load_config_text(f"[ports.{toml_key(name)}]\nrings = 1\n", "x.toml")
    assert 1 == len(caught.value.errors)
    assert caught.value.errors[0].isprintable()
    assert "not a usable port name" in caught.value.errors[0]


@pytest.mark.parametrize("name", HOSTILE_KEYS, ids=repr)
def test_config_error_shows_a_hostile_unknown_key_escaped(name: str) -> None:
    """An unknown top-level key with control characters is named escaped, on one printable line."""
    with pytest.raises(ConfigError) as caught:
        load_config_text(f"{toml_key(name)} = 1\n", "x.toml")
    escaped = name.encode("unicode_escape").decode("ascii")
    assert 1 == len(caught.value.errors)
    assert caught.value.errors[0].startswith(f"{escaped}: unknown top-level key")
    assert caught.value.errors[0].isprintable()
