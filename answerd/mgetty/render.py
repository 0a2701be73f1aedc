"""Writing the imported configuration as TOML: values, tables, and the comments that carry every source line.

Only what the importer needs: strings, integers, floats, booleans and lists of strings, and inline tables
for dispatch rules. A key set twice in one table (mgetty lets a later line win) is written once, with the
earlier line kept as a comment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Final

from answerd.mgetty.convert import Comment, Setting, Value

__all__ = ["Table", "comment", "toml_key", "toml_value"]

_BARE_KEY: Final = re.compile(r"^[A-Za-z0-9_-]+$")
#: Keys that one mgetty keyword sets in either of two forms: the later line wins over both (issue-file as a
#: path or as the text itself; in answerd a set issue_file would win over a later issue).
_SAME_SETTING: Final = {"issue_file": "issue"}
_ESCAPES: Final = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def _string(text: str) -> str:
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 32 or ord(char) == 127:
            out.append(f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def toml_value(value: Value | dict[str, Value]) -> str:
    """``value`` as TOML text (a dict becomes an inline table)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(key)} = {toml_value(item)}" for key, item in value.items()) + " }"
    return "[" + ", ".join(_string(item) for item in value) + "]"


def toml_key(key: str) -> str:
    """``key`` bare when TOML allows, else quoted."""
    return key if _BARE_KEY.match(key) else _string(key)


def _group(key: str) -> str:
    return _SAME_SETTING.get(key, key)


def comment(text: str) -> str:
    """``text`` as one comment line: control characters (a hostile file's) are shown escaped."""
    shown = "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)
    return f"# {shown}"


@dataclass(slots=True)
class Table:
    """One TOML table being built: settings (last one per key wins) and comments, in source order."""

    header: str | None
    items: list[Setting | Comment] = field(default_factory=list)
    trailer: list[str] = field(default_factory=list)

    def setting(self, key: str) -> Setting | None:
        """The setting of ``key`` in force, if any."""
        found = [item for item in self.items if isinstance(item, Setting) and item.key == key]
        return found[-1] if found else None

    def lines(self) -> list[str]:
        """The table as TOML lines: the header, then each item, then the trailer (dispatch tables)."""
        last = {_group(item.key): index for index, item in enumerate(self.items) if isinstance(item, Setting)}
        out = [self.header] if self.header else []
        for index, item in enumerate(self.items):
            if isinstance(item, Comment):
                out.append(comment(f"{item.origin}: {item.text}"))
            elif last[_group(item.key)] != index:
                out.append(comment(f"{item.origin}: overridden below"))
            else:
                note = f" ({item.note})" if item.note else ""
                out.append(f"{toml_key(item.key)} = {toml_value(item.value)}  {comment(item.origin + note)}")
        return out + self.trailer
