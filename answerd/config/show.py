"""The effective settings as ``answerd check-config`` prints them: TOML a user can read and paste back.

Every value is written as TOML (``true``, ``"ATA"``, ``["", "ATZ", "OK"]``), never as Python's ``repr``;
``device`` is the path the port opens (``/dev/<port name>`` when the file leaves it out); a setting that is
not set (TOML has no null) is a comment saying so. So the printed tables load back into the same settings.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from answerd.config.settings import Config, PortSettings

__all__ = ["effective_settings", "toml_value"]

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _toml_string(text: str) -> str:
    if all(ch == "\t" or ch.isprintable() for ch in text):
        if '"' not in text and "\\" not in text:
            return f'"{text}"'
        if "'" not in text:  # a literal string (no escapes) reads best for chats and issues with backslashes
            return f"'{text}'"
    out = []
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ch.isprintable():
            out.append(ch)
        else:
            out.append(f"\\u{ord(ch):04x}" if ord(ch) < 0x10000 else f"\\U{ord(ch):08x}")
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    """``value`` (a setting's value: a bool, number, string, list or table) written as TOML.

    ``None`` has no TOML form: a table leaves such a key out, and :func:`effective_settings` writes a comment.

    >>> toml_value(True), toml_value(["", "AT\\\\d", "OK"]), toml_value({"match": "*", "user": None})
    ('true', '["", \\'AT\\\\d\\', "OK"]', '{match = "*"}')
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ("nan" if math.isnan(value) else f"{'-' * (value < 0)}inf")
    if isinstance(value, str):
        return _toml_string(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        pairs = (f"{_key(key)} = {toml_value(item)}" for key, item in value.items() if item is not None)
        return "{" + ", ".join(pairs) + "}"
    raise TypeError(f"no TOML form for {type(value).__name__}")


def _key(key: str) -> str:
    return key if key.replace("_", "a").replace("-", "a").isalnum() and key.isascii() else _toml_string(key)


def _table(settings: PortSettings, port: str | None) -> list[str]:
    """The settings of ``port``, or of ``[defaults]`` when ``port`` is ``None``."""
    device = settings.device if port is None else settings.device_path(port)
    lines = []
    for key, dumped in settings.model_dump().items():
        value = device if key == "device" else dumped
        if value is not None:
            lines.append(f"  {key} = {toml_value(value)}")
        elif key == "device":
            lines.append("  # device: not set, so each port opens /dev/<its name>")
        else:
            lines.append(f"  # {key}: not set")
    return lines


def effective_settings(config: Config) -> list[str]:
    """The lines ``check-config`` prints: each port's table with every setting in effect for it, or, for a
    file without port tables, ``[defaults]`` (what any port runs on)."""
    lines = [f"log_level = {toml_value(config.log_level)}"]
    if not config.ports:
        lines += [
            "",
            "# no [ports.NAME] table: every port runs on [defaults], with device /dev/NAME",
            "[defaults]",
            *_table(config.defaults, None),
        ]
    for name, settings in config.ports.items():
        lines += ["", f"[ports.{_key(name)}]", *_table(settings, name)]
    return lines
