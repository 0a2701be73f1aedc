"""A tiny deterministic reader of fuzzer bytes (atheris' FuzzedDataProvider, without needing atheris).

Everything reads from the front and returns a neutral value once the bytes run out, so every input, even
an empty one, is a valid script, and the fast test suite can replay inputs without atheris installed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

__all__ = ["Source"]

T = TypeVar("T")


class Source:
    """Consume a fuzzer's input as small integers, choices and byte strings."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self._pos = 0

    @property
    def remaining(self) -> int:
        """Bytes not consumed yet."""
        return len(self._data) - self._pos

    def byte(self) -> int:
        """One byte, 0 once exhausted."""
        if self._pos >= len(self._data):
            return 0
        self._pos += 1
        return self._data[self._pos - 1]

    def int_in(self, low: int, high: int) -> int:
        """An integer in ``[low, high]`` (two bytes of entropy at most)."""
        span = high - low + 1
        value = self.byte() if span <= 256 else self.byte() << 8 | self.byte()
        return low + value % span

    def flag(self) -> bool:
        """A boolean."""
        return bool(self.byte() & 1)

    def choice(self, options: Sequence[T]) -> T:
        """One of ``options``."""
        return options[self.int_in(0, len(options) - 1)]

    def take(self, count: int) -> bytes:
        """Up to ``count`` bytes."""
        chunk = self._data[self._pos : self._pos + count]
        self._pos += len(chunk)
        return chunk

    def chunk(self, max_len: int) -> bytes:
        """A length-prefixed byte string of at most ``max_len`` bytes."""
        return self.take(self.int_in(0, max_len))

    def text(self, max_len: int) -> str:
        """A length-prefixed string; the bytes are read as Latin-1, so every code point up to 0xFF occurs."""
        return self.chunk(max_len).decode("latin-1")

    def rest(self) -> bytes:
        """Everything not consumed yet."""
        chunk = self._data[self._pos :]
        self._pos = len(self._data)
        return chunk
