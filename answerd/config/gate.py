"""The configuration gate: a TOML document in, every problem out with its TOML path (pydantic).

The settings, their defaults and their rules are declared once, in :mod:`answerd.config.settings`; this module
hands those declarations to pydantic and turns its findings into ``toml.path: message (got value)`` lines.

The file has a ``[defaults]`` table and one ``[ports.NAME]`` table per modem port; a port table overrides
the defaults key by key (mgetty's "global section, then ``port ttyS0``" model). A port that has no table
of its own runs on the defaults with ``device = "/dev/NAME"``, so ``answerd@ttyUSB1.service`` works with a
config that only sets defaults.

Unknown keys are errors, not warnings: mgetty silently ignores a misspelt keyword, and its users debug a
setting that never took effect. :func:`validate_document` collects every problem before anything fails, so
one run of ``answerd check-config`` shows everything to fix.

The daemon itself never imports this module (pydantic would cost every port's process about 14 MiB for its
whole life): it asks for a verdict from a child process (:mod:`answerd.config.verdict`), which runs
``python -m answerd.config.gate`` -- a TOML document on stdin, a JSON list of error lines on stdout.

``config.example.toml`` documents every key with its default, and a test loads it and compares each
documented default with the code, so the two cannot drift apart.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tomllib
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

# answerd uses no pydantic plugins, and looking for them reads the metadata of every installed distribution
# (about 40 ms of the check at every start, measured). A plugin would also be foreign code hooked into a
# root daemon's configuration check. pydantic reads this when it builds its first validator.
os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")

from pydantic import TypeAdapter, ValidationError
from pydantic_core import SchemaValidator

from answerd.config.settings import Config, ConfigError, LogLevel, PortSettings, port_tables, read_document

__all__ = [
    "Config",
    "ConfigError",
    "PortSettings",
    "load_config",
    "parse_config",
    "validate_document",
]

_PORT_NAME_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@:+-]{0,63}$")
_TOP_LEVEL_KEYS = ("defaults", "ports", "log_level")


def _accept_tables(schema: Any) -> Any:
    """Let the dataclass nodes of a strict schema take TOML tables (dicts).

    In strict mode pydantic-core wants a dataclass *instance* where a dataclass is expected; the fields
    themselves must stay strict (``"2"`` is not 2). Turning strictness off on the dataclass nodes only
    gives exactly that: tables in, every value checked strictly.
    """
    if isinstance(schema, dict):
        if schema.get("type") == "dataclass":
            schema["strict"] = False
        for value in schema.values():
            _accept_tables(value)
    elif isinstance(schema, list):
        for value in schema:
            _accept_tables(value)
    return schema


@cache
def _port_validator() -> SchemaValidator:
    # A private TypeAdapter's schema, adjusted in place and compiled once per process.
    return SchemaValidator(_accept_tables(TypeAdapter(PortSettings).core_schema))


@cache
def _log_level_validator() -> TypeAdapter[str]:
    return TypeAdapter(LogLevel)


def _loc(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _format(exc: ValidationError, prefix: str, own_keys: Mapping[str, Any] | None = None) -> list[str]:
    """Turn pydantic errors into ``toml.path: message (got value)`` lines."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if own_keys is not None and loc and loc[0] not in own_keys:
            continue  # an error in an inherited default is reported once, under [defaults]
        path = _loc((*prefix.split("."), *loc)) if prefix else _loc(loc)
        message = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] in {"extra_forbidden", "unexpected_keyword_argument"}:
            message = "unknown key (a typo? every key is listed in config.example.toml)"
        elif "input" in err and err["type"] not in {"missing"} and not isinstance(err["input"], dict):
            shown = repr(err["input"])
            message += f" (got {shown[:80]})"
        lines.append(f"{path}: {message}")
    return lines


def validate_document(document: Mapping[str, Any]) -> list[str]:
    """Every problem in a parsed TOML document, one ``toml.path: message`` line each; empty when valid."""
    errors: list[str] = [
        f"{key}: unknown top-level key (known: defaults, ports, log_level)"
        for key in document
        if key not in _TOP_LEVEL_KEYS
    ]
    if not isinstance(document.get("defaults", {}), dict):
        errors.append("defaults: must be a table ([defaults])")
    raw_ports = document.get("ports", {})
    if not isinstance(raw_ports, dict):
        errors.append("ports: must be a table of port tables ([ports.ttyUSB0])")
        raw_ports = {}
    defaults, merged = port_tables(document)
    try:
        _port_validator().validate_python(defaults)
    except ValidationError as exc:
        errors += _format(exc, "defaults")
    for name, table in raw_ports.items():
        if not _PORT_NAME_RE.match(name):
            errors.append(f"ports.{name}: not a usable port name (letters, digits, _.@:+-; not starting with -)")
            continue
        if not isinstance(table, dict):
            errors.append(f"ports.{name}: must be a table ([ports.{name}])")
            continue
        try:
            _port_validator().validate_python(merged[name])
        except ValidationError as exc:
            errors += _format(exc, f"ports.{name}", own_keys=table)
            # pydantic runs cross-field checks only when every field is valid; say it anyway, so one run
            # of check-config shows every problem.
            if merged[name].get("mode") == "direct" and merged[name].get("direct_program") is None:
                errors.append(f"ports.{name}: mode = 'direct' needs direct_program (the argv to run after CONNECT)")
    try:
        _log_level_validator().validate_python(document.get("log_level", "info"), strict=True)
    except ValidationError as exc:
        errors += _format(exc, "log_level")
    return list(dict.fromkeys(errors))


def parse_config(document: Mapping[str, Any], source: str = "<config>") -> Config:
    """Check a parsed TOML document and build its settings.

    Raises:
        ConfigError: with every problem found, each with its TOML path.
    """
    errors = validate_document(document)
    if errors:
        raise ConfigError(source, errors)
    return Config.from_document(document)


def load_config(path: str | Path) -> Config:
    """Read, check and build a TOML config file.

    Raises:
        ConfigError: the file is missing, unreadable, not TOML, or not valid; the message is one line per
            problem and never a traceback.
    """
    return parse_config(read_document(path), str(path))


def _verdict_main(argv: list[str]) -> int:
    """``python -m answerd.config.gate [--expect-gate HEX]``: TOML text on stdin, a JSON list of error lines on stdout.

    The verdict protocol of :mod:`answerd.config.verdict`; exit status 0 whether or not the file is valid (the
    list says). Anything else means there is no verdict: 3 when this gate is not the one the asking daemon
    was started with (``--expect-gate``, its fingerprint: answerd was upgraded since), 2 for bad usage.
    """
    from answerd.config.verdict import gate_fingerprint  # noqa: PLC0415

    if argv[:1] == ["--expect-gate"] and len(argv) == 2:
        mine = gate_fingerprint()
        if mine is None or mine.hex() != argv[1]:
            print("answerd changed since this daemon started (upgraded?): restart it to apply", file=sys.stderr)
            return 3
    elif argv:
        print("usage: python -m answerd.config.gate [--expect-gate HEX] < FILE", file=sys.stderr)
        return 2
    try:
        document = tomllib.loads(sys.stdin.buffer.read().decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        errors = [f"not valid TOML: {exc}"]
    else:
        errors = validate_document(document)
    json.dump(errors, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(_verdict_main(sys.argv[1:]))
