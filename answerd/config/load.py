"""How a configuration file becomes a :class:`~answerd.config.settings.Config`: read, parse, validate.

One entry point for ``check-config``, ``run`` and reload: :func:`load_config`. It reads the file safely
(:func:`answerd.config.files.read_user_file`), parses the TOML, validates it in-process with the models of
:mod:`answerd.config.settings`, and raises :class:`~answerd.config.errors.ConfigError` with one
``toml.path: message (got value)`` line per problem -- every problem of the file at once, so one run of
``answerd check-config`` shows everything to fix. Nothing else escapes: a file nested too deeply for the
parser or holding a 5,000-digit integer is one line too.
"""

from __future__ import annotations

import difflib
import tomllib
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from answerd.config.errors import ConfigError
from answerd.config.files import read_user_file
from answerd.config.settings import CallerInit, Config, DispatchRule, PortSettings

# Imported up front, not when a key is unknown: a reload after a package upgrade must run only code that was
# loaded before the port became ready (tests/test_config.py, TestReloadNeedsNoNewImports).
from answerd.mgetty.keywords import mgetty_keyword_hint

__all__ = ["MAX_ERROR_LINES", "config_from_document", "load_config", "load_config_text", "unknown_key_message"]

#: A file with more problems than this gets this many lines and a count of the rest.
MAX_ERROR_LINES = 100
_TOP_LEVEL_KEYS = ", ".join(Config.model_fields)
_TOO_DEEP = "nested too deeply (arrays or tables hundreds of levels inside each other)"


def load_config(path: str) -> Config:
    """Read, parse and validate the configuration file at ``path``.

    Raises:
        ConfigError: the file is missing, unreadable, not a regular file, over 1 MiB, not UTF-8, not TOML,
            or not valid; one line per problem, never a traceback.
    """
    data = read_user_file(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(path, [f"not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    return load_config_text(text, path)


def load_config_text(text: str, source: str = "<config>") -> Config:
    """Parse and validate a configuration's text; ``source`` names it in the error.

    Raises:
        ConfigError: not TOML, or not valid; one line per problem.
    """
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(source, [f"not valid TOML: {exc}"]) from None
    except RecursionError:
        raise ConfigError(source, [f"not valid TOML: {_TOO_DEEP}"]) from None
    except ValueError as exc:  # a value Python cannot hold, e.g. an integer over 4300 digits
        raise ConfigError(source, [f"not valid TOML: a value cannot be read ({str(exc).split(':')[0]})"]) from None
    return config_from_document(document, source)


def config_from_document(document: Mapping[str, Any], source: str = "<config>") -> Config:
    """Validate a parsed TOML document.

    Raises:
        ConfigError: one line per problem (at most :data:`MAX_ERROR_LINES` and a count of the rest).
    """
    try:
        return Config.model_validate(document)
    except ValidationError as exc:
        errors = _error_lines(exc, document)
    except RecursionError:
        errors = [_TOO_DEEP]
    if len(errors) > MAX_ERROR_LINES:
        errors = [*errors[:MAX_ERROR_LINES], f"... and {len(errors) - MAX_ERROR_LINES} more problems"]
    raise ConfigError(source, errors)


def _path(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _table_model(loc: tuple[int | str, ...]) -> type[BaseModel]:
    """The settings class of the table that holds the key at ``loc``."""
    inside = loc[1:-1] if loc[:1] == ("defaults",) else loc[2:-1] if loc[:1] == ("ports",) else None
    if inside is None:
        return Config
    if inside[:1] == ("dispatch",):
        return DispatchRule
    if inside[:1] == ("caller_init",):
        return CallerInit
    return PortSettings


def unknown_key_message(loc: tuple[int | str, ...]) -> str:
    """What to say about the unknown key at ``loc``: what it is in answerd (an mgetty keyword), or the
    closest known key of its table (a typo), or where every key is listed.

    >>> unknown_key_message(("ports", "ttyS0", "ringz"))
    "unknown key: did you mean 'rings'?"
    >>> unknown_key_message(("defaults", "toggle-dtr"))
    "unknown key: 'toggle-dtr' is an mgetty keyword: in answerd it is toggle_dtr"
    """
    key = str(loc[-1])
    model = _table_model(loc)
    unknown = "unknown top-level key" if model is Config else "unknown key"
    hint = mgetty_keyword_hint(key) if model is Config or model is PortSettings else None
    if hint is not None:
        return f"{unknown}: {hint}"
    if model is Config and key in PortSettings.model_fields:
        return f"{unknown}: {key!r} is a port setting: put it in [defaults] (every port) or a [ports.NAME] table"
    close = difflib.get_close_matches(key.replace("-", "_").lower(), list(model.model_fields), n=1, cutoff=0.7)
    if close:
        return f"{unknown}: did you mean {close[0]!r}?"
    if model is Config:
        return f"{unknown} (known: {_TOP_LEVEL_KEYS})"
    return f"{unknown} (every key is listed in config.example.toml)"


def _message(error: Mapping[str, Any], loc: tuple[int | str, ...]) -> str:
    kind = error["type"]
    if kind == "extra_forbidden":
        return unknown_key_message(loc)
    if kind in {"model_type", "dict_type"}:
        message = "must be a table" + (" of port tables ([ports.ttyUSB0])" if loc == ("ports",) else "")
    else:
        message = str(error["msg"]).removeprefix("Value error, ")
    # TOML has no null: a None is a default that is not allowed here, and "(got None)" would only confuse.
    if error.get("input") is not None and kind != "missing" and not isinstance(error["input"], dict):
        message += f" (got {repr(error['input'])[:80]})"
    return message


def _error_lines(exc: ValidationError, document: Mapping[str, Any]) -> list[str]:
    """pydantic's errors as ``toml.path: message`` lines; a bad inherited default is reported once.

    A port table is validated merged over ``[defaults]``, so a bad default fails every port as well: such an
    error is left out for a port that does not set the key itself (it is reported under ``defaults``).
    """
    errors = [(tuple(e["loc"]), _message(e, tuple(e["loc"]))) for e in exc.errors(include_url=False)]
    in_defaults = {(loc[1:], message) for loc, message in errors if loc[:1] == ("defaults",)}
    ports = document.get("ports")
    lines = []
    for raw_loc, message in errors:
        loc = tuple(part for part in raw_loc if part != "[key]")  # a bad port name: its own table's path
        if loc[:1] == ("ports",) and len(loc) >= 2 and isinstance(ports, dict):
            own = ports.get(loc[1])
            inherited = not isinstance(own, dict) or not loc[2:] or loc[2] not in own
            if inherited and (loc[2:], message) in in_defaults:
                continue
        lines.append(f"{_path(loc)}: {message}")
    return list(dict.fromkeys(lines))
