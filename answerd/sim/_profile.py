"""Reading a modem profile from TOML: the walker that checks each key against the schema's field types.

The schema (the tables, their keys and checks) is :mod:`answerd.sim._profile_schema`; this module turns a TOML
document into a :class:`~answerd.sim._profile_schema.ModemProfile` strictly: an unknown key, a value of the
wrong type (``"2"`` is not 2, 1 is not true) or one a table's check refuses is a :class:`ProfileError` naming
the key's TOML path (``faults.online_reports[0].repeat: ...``). The schema's names are re-exported here for the
modules that import them from ``_profile``.
"""

from __future__ import annotations

import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import MISSING, fields, is_dataclass
from typing import Any

from answerd.sim._caller_id import CidFormat
from answerd.sim._profile_schema import (
    CRING_TYPES,
    CallerIdProfile,
    Defaults,
    Faults,
    FieldError,
    Identity,
    LineNoise,
    ModemProfile,
    OnlineReport,
    Results,
    SimSettings,
    Speed,
    Timings,
    shown,
)

__all__ = [
    "CRING_TYPES",
    "CallerIdProfile",
    "Defaults",
    "Faults",
    "Identity",
    "LineNoise",
    "ModemProfile",
    "OnlineReport",
    "ProfileError",
    "Results",
    "SimSettings",
    "Speed",
    "Timings",
    "build_table",
    "parse_profile",
]


class ProfileError(ValueError):
    """A profile that cannot be used; the message is one line, ``toml.path: problem (got value)``."""


def parse_profile(text: str) -> ModemProfile:
    """Check a profile's TOML text and build the profile.

    Raises:
        ProfileError: not TOML, an unknown key, a value of the wrong type or out of range; one line.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProfileError(f"not valid TOML: {exc}") from None
    except ValueError as exc:  # tomllib passes int()'s "Exceeds the limit (4300 digits) ..." through
        raise ProfileError(f"not usable TOML: {str(exc).partition(':')[0]}") from None
    except RecursionError:
        raise ProfileError("not usable TOML: nested too deeply") from None
    profile: ModemProfile = _build(ModemProfile, document, "")
    return profile


def _build(cls: type[Any], table: object, path: str) -> Any:
    """An instance of the dataclass ``cls`` from a TOML table, every key checked; errors carry ``path``."""
    if not isinstance(table, dict):
        raise ProfileError(f"{path}: must be a table (got {shown(table)})")
    hints = typing.get_type_hints(cls)
    keys = [f.name for f in fields(cls)]
    for key in table:
        if key not in keys:
            raise ProfileError(f"{_join(path, key)}: unknown key (known: {', '.join(keys)})")
    for f in fields(cls):
        if f.name not in table and f.default is MISSING and f.default_factory is MISSING:
            raise ProfileError(f"{_join(path, f.name)}: missing (this table needs it)")
    values = {key: _value(hints[key], value, _join(path, key)) for key, value in table.items()}
    try:
        return cls(**values)
    except FieldError as exc:
        raise ProfileError(f"{_join(path, exc.key)}: {exc.problem} (got {shown(exc.value)})") from None


def build_table(cls: type[Any], table: object, path: str) -> Any:
    """An instance of the profile table ``cls`` (e.g. :class:`Timings`) from a TOML table, checked strictly.

    Raises:
        ProfileError: an unknown key or a bad value, naming its path under ``path``.
    """
    return _build(cls, table, path)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _value(kind: Any, value: object, path: str) -> object:
    """``value`` checked against the field type ``kind`` (strictly: ``"2"`` is not 2, 1 is not true)."""
    origin = typing.get_origin(kind)
    if origin is types.UnionType:  # ``str | None``: TOML has no null, so only the str can come
        (kind,) = [arg for arg in typing.get_args(kind) if arg is not type(None)]
        origin = typing.get_origin(kind)
    if origin is tuple and typing.get_args(kind)[0] is str:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ProfileError(f"{path}: must be an array of strings (got {shown(value)})")
        return tuple(value)
    if origin is tuple:
        (item,) = typing.get_args(kind)[:1]
        if not isinstance(value, list):
            raise ProfileError(f"{path}: must be an array of tables ([[{path}]]) (got {shown(value)})")
        return tuple(_build(item, entry, f"{path}[{i}]") for i, entry in enumerate(value))
    if origin is Mapping and typing.get_args(kind)[0] is str:
        if not isinstance(value, dict) or any(isinstance(v, bool) or not isinstance(v, int) for v in value.values()):
            raise ProfileError(f'{path}: must be a table of whole numbers ("28800" = 64) (got {shown(value)})')
        return value
    if origin is Mapping:
        return _registers(value, path)
    if is_dataclass(kind):
        return _build(typing.cast(type[Any], kind), value, path)
    if kind is CidFormat:
        if not isinstance(value, str):
            raise ProfileError(f"{path}: must be a string (got {shown(value)})")
        try:
            return CidFormat.from_name(value)
        except ValueError as exc:
            raise ProfileError(f"{path}: {exc}") from None
    expected, accepted = _SCALARS[kind]
    # bool is an int in Python, but `rings = true` is a mistake in a file.
    if not isinstance(value, accepted) or (kind is not bool and isinstance(value, bool)):
        raise ProfileError(f"{path}: must be {expected} (got {shown(value)})")
    return float(value) if kind is float and isinstance(value, int) else value


#: What a TOML value of each scalar field type may be, and how to say so; TOML's integers are numbers too.
_SCALARS: dict[object, tuple[str, type | tuple[type, ...]]] = {
    bool: ("true or false", bool),
    int: ("a whole number", int),
    float: ("a number", (int, float)),
    str: ("a string", str),
}


def _registers(value: object, path: str) -> dict[int, int]:
    """``{"S0": 2, "S7": 30}`` from ``[defaults.registers]``."""
    if not isinstance(value, dict):
        raise ProfileError(f"{path}: must be a table of S-registers (S0 = 0) (got {shown(value)})")
    registers: dict[int, int] = {}
    for key, number in value.items():
        digits = key[1:] if key[:1] in ("S", "s") else ""
        if not digits.isascii() or not digits.isdigit() or int(digits) > 255:
            raise ProfileError(f"{path}.{key}: not an S-register name (S0 .. S255)")
        if isinstance(number, bool) or not isinstance(number, int) or not 0 <= number <= 255:
            raise ProfileError(f"{path}.{key}: must be a whole number 0..255 (got {shown(number)})")
        registers[int(digits)] = number
    return registers
