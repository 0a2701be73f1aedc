"""Fixtures shared by the integration tests: a bench of the simulated modem and the real daemon."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from .harness import Bench


@pytest.fixture(name="make_bench")
def _make_bench(tmp_path: Path) -> Iterator[Callable[..., Bench]]:
    """Make benches (started unless ``start=False``); every one is stopped at the end of the test.

    Args of the returned function: ``sim_args`` for ``answerd sim``; ``tables`` for arrays of tables
    (dispatch rules, caller_init); ``tmp`` for another directory than the test's; every other keyword is a
    setting of ``[ports.sim0]``.
    """
    benches: list[Bench] = []

    def make(
        sim_args: list[str] | None = None,
        *,
        start: bool = True,
        tables: list[tuple[str, dict[str, Any]]] | None = None,
        tmp: Path | None = None,
        **port: Any,
    ) -> Bench:
        where = tmp or tmp_path
        where.mkdir(parents=True, exist_ok=True)
        bench = Bench(tmp=where, sim_args=sim_args or [], port_settings=port, tables=tables or [])
        benches.append(bench)
        return bench.start() if start else bench

    yield make
    for bench in benches:
        bench.stop()
