"""Bytes from the modem → text lines, with bounded memory (h11-style pull API).

Theory of operation
-------------------
The shell feeds whatever it read from the tty into :meth:`LineSplitter.receive_data` and then calls
:meth:`LineSplitter.next_line` until it returns ``None`` ("need more data"). Each call returns one of:

* ``str``: one cleaned, non-empty line of modem output (``"RING"``, ``"CONNECT 28800/ARQ"``, ``"0"``);
* :class:`~answerd.core.hayes.events.Garbage`: an over-long line was thrown away (``dropped`` raw bytes);
* ``None``: no complete line is buffered.

Rules the splitter enforces:

1. **Terminators.** CR and LF each end a line, so CRLF, LFCR, CR CR LF and bare CR (numeric result
   codes in ``V0`` come as ``0\\r``) all work; the empty lines between doubled terminators are skipped.
   Terminators are recognised *after* masking the 8th bit, so a CR sent with even parity (``0x8D``) by a
   modem left at 7E1 still ends the line.
2. **Cleaning.** Per line: the 8th bit is masked off (parity noise: ``'R' | 0x80`` reads as ``'R'``); a
   terminal escape sequence is removed whole, parameters included (``ESC [31m``: its ``31`` must not join a
   caller's number, see :func:`~.cid.strip_escape_sequences`); NUL,
   every other control character and DEL are removed (TAB becomes a space, since it separates words);
   leading and trailing whitespace is stripped; a line that is empty after cleaning is skipped. A line is
   therefore always printable ASCII and safe to log as it is.
3. **Bounded memory.** A line whose raw length (bytes between terminators) exceeds ``max_line`` is never
   held: the splitter stops buffering it, counts its bytes, and when its terminator arrives returns
   ``Garbage(dropped=n)`` exactly once, then resynchronises (zigpy-znp style), so noise never hides the
   next ``RING``.
4. **Chunking invariance.** The sequence of lines and ``Garbage`` depends only on the byte stream, never
   on how it was cut into reads: the decisions above look only at whole raw lines.

What is bounded, precisely: :meth:`receive_data` only appends, so the bytes fed since the last
:meth:`next_line` call are held as they are (the shell reads in bounded chunks and drains after each).
Every :meth:`next_line` call that returns ``None`` leaves at most ``max_line`` bytes buffered (the
unterminated start of the next line, or nothing while an over-long line is being discarded), and the
state kept for a discarded line is one integer. So ``buffered <= max_line + len(last read)`` holds at
all times in a shell that drains after each read.

At ``CONNECT`` the line becomes data: :meth:`take_rest` hands back the raw bytes that followed the last
returned line, exactly as received, so nothing the caller sent in the same read is lost (h11's
``trailing_data``).
"""

from __future__ import annotations

import re
from typing import Final

from answerd.core.hayes.cid import strip_escape_sequences
from answerd.core.hayes.events import Garbage

__all__ = ["LineSplitter"]

#: CR and LF, with or without a parity bit (``0x8D``/``0x8A``), end a line.
_TERMINATOR: Final = re.compile(rb"[\r\n\x8d\x8a]")
_CR: Final = 0x0D
#: The rest of a modem's line ending after the byte that ended the line: ``\r`` may be followed by
#: ``\n`` (CRLF) or by ``\r\n`` (CR CR LF); ``\n`` may be followed by ``\r`` (LFCR).
_TAIL_AFTER_CR: Final = re.compile(rb"[\r\x8d]?[\n\x8a]?")
_TAIL_AFTER_LF: Final = re.compile(rb"[\r\x8d]?")


_ESC: Final = 0x1B


def _build_tables() -> tuple[bytes, bytes]:
    """Return the ``bytes.translate`` table (mask bit 7, TAB → space) and the bytes to delete.

    ESC is kept for :func:`~.cid.strip_escape_sequences`, which removes it with the rest of its sequence.
    """
    table = bytearray(256)
    delete = bytearray()
    for byte in range(256):
        low = byte & 0x7F
        if low == 0x09:
            table[byte] = 0x20
        else:
            table[byte] = low
            if (low < 0x20 or low == 0x7F) and low != _ESC:
                delete.append(byte)
    return bytes(table), bytes(delete)


_MASK_TABLE, _DELETE = _build_tables()

#: Consumed bytes at the front of the buffer are cut off once there are more than this many and they
#: make up over half of it, so a burst of many short lines costs O(n) overall, not O(n²).
_COMPACT_AT: Final = 4096


class LineSplitter:
    """Split the modem's byte stream into cleaned text lines; see the module docstring for the rules.

    Args:
        max_line: the longest raw line (bytes between terminators) kept; longer ones become ``Garbage``.

    Raises:
        ValueError: if ``max_line`` is less than 1.

    >>> s = LineSplitter()
    >>> s.receive_data(b"\\r\\nRI\\x00NG\\r\\nCONNECT 9600\\r\\nhello")
    >>> s.next_line(), s.next_line()
    ('RING', 'CONNECT 9600')
    >>> s.take_rest()
    b'hello'
    """

    __slots__ = ("_buf", "_discarding", "_dropped", "_max_line", "_pos", "_scan", "_tail_term")

    def __init__(self, *, max_line: int = 256) -> None:
        if max_line < 1:
            raise ValueError(f"max_line must be at least 1, not {max_line}")
        self._max_line = max_line
        self._buf = bytearray()
        #: Start of the bytes not yet consumed; ``_buf[:_pos]`` is dead and awaits compaction.
        self._pos = 0
        #: ``_buf[_pos:_scan]`` is known to hold no terminator, so a partial line is never rescanned.
        self._scan = 0
        #: True while an over-long line is being thrown away; ``_dropped`` counts its raw bytes so far.
        self._discarding = False
        self._dropped = 0
        #: The (masked) terminator byte that ended the item the last ``next_line`` call returned, or
        #: ``None`` if that call returned ``None`` (see :meth:`take_rest`).
        self._tail_term: int | None = None

    @property
    def buffered(self) -> int:
        """Raw bytes received and not yet consumed (a discarded over-long line's bytes are not held)."""
        return len(self._buf) - self._pos

    def receive_data(self, data: bytes) -> None:
        """Append bytes read from the modem; nothing is parsed until :meth:`next_line` is called.

        Args:
            data: the bytes, in any chunking; ``b""`` is allowed and does nothing (EOF is not signalled
                here: a lost port is its own input to the state machine).
        """
        self._buf += data

    def next_line(self) -> str | Garbage | None:
        """Return the next complete line, a ``Garbage`` report, or ``None`` if more data is needed.

        Returns:
            A non-empty, cleaned, printable ASCII line; ``Garbage(dropped=n)`` once for each over-long
            line, when its terminator arrives; or ``None`` when no complete line is buffered. After
            ``None`` at most ``max_line`` bytes remain buffered.
        """
        self._tail_term = None
        buf = self._buf
        while True:
            match = _TERMINATOR.search(buf, self._scan)
            if match is None:
                self._need_data()
                return None
            end = match.start()
            start = self._pos
            terminator = buf[end] & 0x7F
            length = end - start
            raw = buf[start:end] if not self._discarding and length <= self._max_line else None
            self._advance(end + 1)
            if raw is None:
                dropped = self._dropped + length
                self._discarding = False
                self._dropped = 0
                self._tail_term = terminator
                return Garbage(dropped=dropped)
            text = raw.translate(_MASK_TABLE, _DELETE).decode("ascii")
            if "\x1b" in text:
                text = strip_escape_sequences(text)
            text = text.strip()
            if text:
                self._tail_term = terminator
                return text
            # An empty line (the LF of a CRLF, or a line of pure noise): skip it.

    def take_rest(self) -> bytes:
        """Remove and return the raw bytes after the last line returned, exactly as received.

        This is for the hand-off at ``CONNECT``: whatever the caller sent in the same read follows the
        ``CONNECT`` line and belongs to the session, so it is returned unsplit and uncleaned. If the last
        :meth:`next_line` call returned an item, the rest of that line's own ending (the LF of CRLF, the
        CR LF of CR CR LF, the CR of LFCR) is dropped if it is already buffered, because the modem sent
        it, not the caller. Bytes of an over-long line that were already discarded are not returned.
        Afterwards the splitter is empty and starts afresh.

        Returns:
            The unconsumed bytes.
        """
        start = self._pos
        if self._tail_term is not None:
            tail = _TAIL_AFTER_CR if self._tail_term == _CR else _TAIL_AFTER_LF
            found = tail.match(self._buf, start)
            if found is not None:
                start = found.end()
        rest = bytes(self._buf[start:])
        self._buf.clear()
        self._pos = self._scan = 0
        self._discarding = False
        self._dropped = 0
        self._tail_term = None
        return rest

    def _advance(self, pos: int) -> None:
        """Consume the buffer up to ``pos``, compacting it when the dead prefix has grown large."""
        buf = self._buf
        if pos == len(buf):
            buf.clear()
            pos = 0
        elif pos > _COMPACT_AT and 2 * pos > len(buf):
            del buf[:pos]
            pos = 0
        self._pos = self._scan = pos

    def _need_data(self) -> None:
        """Handle "no terminator buffered": keep a short partial line, drop the start of a long one."""
        buf = self._buf
        pending = len(buf) - self._pos
        if self._discarding or pending > self._max_line:
            self._dropped += pending
            self._discarding = True
            buf.clear()
        else:
            del buf[: self._pos]
        self._pos = 0
        self._scan = len(buf)
