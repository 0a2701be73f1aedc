"""Harness (f): answerd's configuration loader — its own checks on top of the TOML parser.

Raw bytes mostly test ``tomllib``; this harness instead builds a *document* from the fuzz bytes (known keys
at every level, values of every TOML type, boundary and hostile values, unknown keys, ports with hostile
names, dispatch and caller-init tables), writes it as TOML and loads it with ``load_config_text``. A few
inputs go in as raw text too, so the parser-error path is covered.

Invariants (``answerd.config.load`` docstring): only ``ConfigError`` escapes; it carries one line per
problem (at most ``MAX_ERROR_LINES`` and a count), each a single printable line; and whatever loads, the
answer machine accepts (``to_profile`` and a machine that opens the port).
"""

from __future__ import annotations

import math
from typing import Any

from answerd.config.errors import ConfigError
from answerd.config.load import MAX_ERROR_LINES, load_config_text
from answerd.config.settings import PortSettings
from answerd.core import AnswerMachine
from fuzz.source import Source

__all__ = ["test_one_input", "to_toml"]

_DEFAULTS: dict[str, Any] = PortSettings().model_dump()
_PORT_KEYS = tuple(_DEFAULTS)
_STRINGS = (
    "", "ATA", "/bin/login", "/bin/true", "/nonexistent", "login", "{user}", "{caller_id}", "{bogus}", "{",
    "--", "-f", "none", "!none", "555", "!all", "private", "P", "/AutoPPP/", "*", "**", "U*", "root",
    "\\d\\d+++\\c", "\\x4", "OK", "\x00", "\x1b[2J", "ttyS0", "-x", "é", "a" * 70, "AT" + "Z" * 61,
)  # fmt: skip
_NUMBERS = (0, 1, -1, 9, 10, 100, 300, 2400, 9600, 38400, 86400, 86401, 600_000, 10**20, 0.0, 0.5, 1e-9, 1e300,
            math.inf, -math.inf, math.nan)  # fmt: skip


def _string(source: Source) -> str:
    return source.choice(_STRINGS) if source.flag() else source.text(24)


def _value(source: Source, key: str | None, depth: int) -> Any:
    """A value for ``key``: its default or a neighbour, usually, else anything TOML can hold."""
    kind = source.byte() % 10
    if kind <= 2 and key in _DEFAULTS and _DEFAULTS[key] is not None:
        return _DEFAULTS[key]
    match kind:
        case 3 | 4:
            return source.choice(_NUMBERS)
        case 5:
            return source.flag()
        case 6:
            return _string(source)
        case 7:
            return [_string(source) for _ in range(source.int_in(0, 5))]
        case 8 if depth < 3:
            return [_table(source, depth + 1, key) for _ in range(source.int_in(0, 2))]
        case _:
            return source.int_in(-(1 << 15), 1 << 15)


def _table(source: Source, depth: int, parent: str | None = None) -> dict[str, Any]:
    """A table: port keys, or the keys of a dispatch / caller-init rule, and sometimes an unknown key."""
    if parent == "dispatch":
        keys: tuple[str, ...] = ("match", "program", "user", "utmp", "ok_exit_codes")
    elif parent == "caller_init":
        keys = ("match", "chat")
    else:
        keys = _PORT_KEYS
    table: dict[str, Any] = {}
    for _ in range(source.int_in(0, 6)):
        key = source.choice(keys) if source.byte() % 8 else _string(source)
        if parent == "dispatch" and key == "program":
            table[key] = [source.choice(("/bin/login", "/bin/true", "/usr/sbin/pppd", "bin/sh")), _string(source)]
        else:
            table[key] = _value(source, key, depth)
    return table


def _document(source: Source) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if source.flag():
        document["log_level"] = source.choice(("debug", "info", "loud", 3))
    if source.flag():
        document["defaults"] = _table(source, 0) if source.byte() % 8 else _value(source, None, 0)
    if source.flag():
        ports: dict[str, Any] = {}
        for _ in range(source.int_in(0, 3)):
            name = source.choice(("ttyS0", "ttyUSB1", "-bad", "a/b", "")) if source.flag() else source.text(8)
            ports[name] = _table(source, 0) if source.byte() % 8 else _value(source, None, 0)
        document["ports"] = ports
    if not source.byte() % 16:
        document[_string(source)] = _value(source, None, 0)
    return document


def _toml_string(text: str) -> str:
    out = []
    for char in text:
        if char in '"\\':
            out.append("\\" + char)
        elif char < " " or char == "\x7f" or "\ud800" <= char <= "\udfff":
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_toml_string(k)} = {_toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(value)  # None is left out of documents: TOML has no null


def to_toml(document: dict[str, Any]) -> str:
    """Write ``document`` as TOML (every table inline, so any nesting stays one line per top-level key)."""
    return "".join(f"{_toml_string(key)} = {_toml_value(value)}\n" for key, value in document.items())


def _strip_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _strip_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_strip_none(item) for item in value if item is not None]
    return value


def _check_problems(errors: list[str]) -> None:
    """A refused file: at least one problem, at most the cap and a count, each one printable line."""
    assert errors, "a ConfigError without a problem"
    assert len(errors) <= MAX_ERROR_LINES + 1, len(errors)
    for line in errors:
        assert line, "an empty problem line"
        assert line.isprintable(), f"not one printable line: {line!r}"


def test_one_input(data: bytes) -> None:
    """Load a fuzzed configuration; only ConfigError may escape, and what loads must run."""
    source = Source(data)
    if source.byte() % 8 == 0:
        text = source.rest().decode("utf-8", errors="replace")
    else:
        text = to_toml(_strip_none(_document(source)))
    try:
        config = load_config_text(text, "fuzz.toml")
    except ConfigError as exc:
        _check_problems(exc.errors)
        return
    for settings in (config.defaults, *config.ports.values()):
        AnswerMachine(settings.to_profile()).port_opened(now=0.0)
        assert settings.login_program[0].startswith("/")
