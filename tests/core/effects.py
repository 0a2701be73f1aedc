"""Picking effects out of what the answer machine returned: shared by the machine's tests."""

from __future__ import annotations

from typing import TypeVar

from answerd.core import Effect, Write

T = TypeVar("T")


def of(kind: type[T], effects: list[Effect]) -> list[T]:
    """The effects of one type, in order."""
    return [effect for effect in effects if isinstance(effect, kind)]


def one(kind: type[T], effects: list[Effect]) -> T:
    """The single effect of one type (fails if there is none or more than one)."""
    found = of(kind, effects)
    assert 1 == len(found), effects
    return found[0]


def writes(effects: list[Effect]) -> list[bytes]:
    """The data of every ``Write``, in order: the bytes the machine wants sent."""
    return [effect.data for effect in of(Write, effects)]
