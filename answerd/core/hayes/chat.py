"""Expect/send chat scripts, as mgetty and pppd's ``chat`` write them.

A chat script is a flat list that *starts with an expect string* and alternates::

    ["", "ATZ", "OK", "ATE0Q0V1&C1&D2S0=0", "OK"]

``""`` as an expect means "expect nothing, send at once". An expect string matches a modem line that
contains it (``"OK"`` matches ``OK``; ``"CONNECT"`` matches ``CONNECT 33600``). Send strings understand a
small escape set, the part of chat(8)/mgetty that a modem init needs:

==========  ===================================================================
``\\d``      pause 500 ms (mgetty and chat both use half a second)
``\\p``      pause 100 ms
``\\c``      at the end: do not append the CR that normally ends a command
``\\r``      carriage return, ``\\n`` line feed, ``\\\\`` a backslash
``\\xHH``    the byte with that hex value (``\\x10\\x03`` is DLE ETX)
==========  ===================================================================

Send strings are ASCII; a CR is appended unless ``\\c`` ends the string or the string is only pauses
(a force-init ``\\d\\d+++\\d\\d\\c`` must not be followed by CR inside the escape guard time).

Parsing happens once, when the configuration is loaded, so a typo is an error at start-up with its TOML
path, never a surprise at 3 a.m. when the modem needs re-initialising.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ChatError", "ChatStep", "Pause", "parse_chat"]

#: How long ``\d`` pauses. mgetty and chat(8) both use half a second.
PAUSE_D_S = 0.5
#: How long ``\p`` pauses.
PAUSE_P_S = 0.1


class ChatError(ValueError):
    """A chat script that cannot be parsed. The message says what and where."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Pause:
    """Wait this long before sending the next bytes."""

    seconds: float


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatStep:
    """One expect/send pair.

    Args:
        expect: the text to wait for before sending (``""``: send at once).
        send: what to send, as bytes and pauses in order.
        command: the command text as the modem will echo it (for echo detection), or ``None``.
    """

    expect: str
    send: tuple[bytes | Pause, ...]
    command: str | None


def _parse_send(text: str) -> tuple[tuple[bytes | Pause, ...], str | None]:
    ops: list[bytes | Pause] = []
    buf = bytearray()
    add_cr = True
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "\\":
            if not (32 <= ord(ch) < 127):
                raise ChatError(f"send string {text!r} has a non-printable or non-ASCII character")
            buf.append(ord(ch))
            i += 1
            continue
        if i + 1 >= len(text):
            raise ChatError(f"send string {text!r} ends with a lone backslash")
        esc = text[i + 1]
        i += 2
        if esc in "dp":
            if buf:
                ops.append(bytes(buf))
                buf.clear()
            ops.append(Pause(seconds=PAUSE_D_S if esc == "d" else PAUSE_P_S))
        elif esc == "c":
            if i != len(text):
                raise ChatError(f"send string {text!r}: \\c is only allowed at the end")
            add_cr = False
        elif esc == "r":
            buf.append(0x0D)
        elif esc == "n":
            buf.append(0x0A)
        elif esc == "\\":
            buf.append(0x5C)
        elif esc == "x":
            digits = text[i : i + 2]
            if len(digits) != 2 or any(c not in "0123456789abcdefABCDEF" for c in digits):
                raise ChatError(f"send string {text!r}: \\x needs two hex digits")
            buf.append(int(digits, 16))
            i += 2
        else:
            raise ChatError(f"send string {text!r}: unknown escape \\{esc} (known: \\d \\p \\c \\r \\n \\\\ \\xHH)")
    only_pauses = not buf and all(isinstance(op, Pause) for op in ops)
    if add_cr and not only_pauses:
        buf.append(0x0D)
    if buf:
        ops.append(bytes(buf))
    sent = b"".join(op for op in ops if isinstance(op, bytes))
    command = sent.decode("ascii", "replace").strip() or None
    return tuple(ops), command


def parse_chat(script: list[str] | tuple[str, ...]) -> tuple[ChatStep, ...]:
    r"""Parse an expect/send list into steps.

    A trailing expect (odd length) becomes a last step that sends nothing, so ``["", "ATZ", "OK"]`` waits
    for the ``OK``.

    >>> [s.expect for s in parse_chat(["", "ATZ", "OK"])]
    ['', 'OK']
    >>> parse_chat(["", "ATZ"])[0].send
    (b'ATZ\r',)

    Raises:
        ChatError: on a bad escape, a non-ASCII character, or an empty script.
    """
    if not script:
        raise ChatError("a chat script needs at least one expect/send pair")
    steps: list[ChatStep] = []
    items = list(script)
    for index in range(0, len(items), 2):
        expect = items[index]
        if any(not (32 <= ord(c) < 127) for c in expect):
            raise ChatError(f"expect string {expect!r} has a non-printable or non-ASCII character")
        if index + 1 < len(items):
            send, command = _parse_send(items[index + 1])
        else:
            send, command = (), None
        steps.append(ChatStep(expect=expect, send=send, command=command))
    return tuple(steps)
