"""Harness (e): the issue/prompt escape renderer with a fuzzed template and hostile values.

Invariants (``answerd.core._escapes`` docstring): never raises; the result is at most
:data:`MAX_EXPANDED_LENGTH` characters however long the values (10 kB caller IDs included); substituted
values are printable ASCII and never expanded again, so a template without control characters and without
control escapes gives printable ASCII whatever the values hold; ``to_line_bytes`` gives ASCII with every
newline as CR LF.
"""

from __future__ import annotations

import datetime
import re
from typing import Final

from answerd.core._escapes import MAX_EXPANDED_LENGTH, EscapeContext, expand_escapes, to_line_bytes
from fuzz.checks import printable
from fuzz.source import Source

__all__ = ["test_one_input"]

_TEMPLATE_TOKENS = (
    "@", "\\n", "\\r", "\\g", "\\b", "\\v", "\\f", "\\t", "\\s", "\\m", "\\R", "\\V", "\\P", "\\L", "\\I",
    "\\Y", "\\S", "\\N", "\\U", "\\C", "\\D", "\\T", "\\\\", "\\@", "\\0x41", "\\0101", "\\65", "\\033[2J",
    "\\", "login: ", " ", "\n",
)  # fmt: skip
_HOSTILE = ("\\n@", "\x1b[31m5551234", "$(id)", "'; rm -rf /", "\x00\r\n", "\u00e9\u202e", "-f root")
#: A template that can only produce control characters through its own text or a control escape.
_CONTROL_IN_TEMPLATE: Final = re.compile(r"[^\x20-\x7e]|\\[0-9nrgbvft]")


def _value(source: Source) -> str:
    if source.flag():
        return source.choice(_HOSTILE) * source.int_in(1, 3000 if source.flag() else 3)
    return source.chunk(40).decode("utf-8", errors="surrogateescape")


def test_one_input(data: bytes) -> None:
    """Render a fuzzed template with fuzzed values; assert the bounds and the printable rule."""
    source = Source(data)
    pieces = []
    for _ in range(source.int_in(0, 40)):
        pieces.append(source.choice(_TEMPLATE_TOKENS) if source.flag() else source.text(8))
    template = "".join(pieces)
    ctx = EscapeContext(
        nodename=_value(source),
        sysname=_value(source),
        release=_value(source),
        version=_value(source),
        machine=_value(source),
        tty=_value(source),
        connect=_value(source),
        caller_id=_value(source),
        speed=source.int_in(0, 1 << 16) * source.int_in(0, 1 << 16),
        users=source.int_in(0, 1 << 16),
        when=datetime.datetime(1970, 1, 1) + datetime.timedelta(seconds=source.int_in(0, 1 << 16) << 15),
    )
    out = expand_escapes(template, ctx)
    assert len(out) <= MAX_EXPANDED_LENGTH, len(out)
    if not _CONTROL_IN_TEMPLATE.search(template):
        assert printable(out), (template, out)
    line = to_line_bytes(out)
    assert line.isascii()
    assert b"\n" not in line.replace(b"\r\n", b""), line
    # A value is never re-expanded: the caller ID alone comes out as itself, made printable.
    alone = expand_escapes("\\Y", ctx)
    shown = ctx.caller_id or "none"
    assert alone == "".join(c if " " <= c <= "~" else "?" for c in shown[:MAX_EXPANDED_LENGTH]), alone
