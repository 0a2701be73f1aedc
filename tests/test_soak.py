"""The soak's short variant (issue 14, item 2): 30 calls of every kind through one ``answerd run``.

The full run (``python -m bench.soak --calls 1000``) is in ``docs/reliability.md``; this one keeps it
working and catches a leak that shows within 30 calls. It asserts counts and equalities, never a timing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import KINDS, THREADS_BOUND, healthy, run_soak

pytestmark = pytest.mark.timeout(120)


def test_thirty_calls_lose_nothing_and_leak_no_fd_child_or_lock(tmp_path: Path) -> None:
    """30 calls (5 of each kind): all ended as expected; fds, children and lock files unchanged, threads bounded."""
    result = run_soak(30, tmp_path)
    assert (None, 0, 30) == (result["error"], result["calls_lost"], result["calls_ended"]), result
    assert [] == result["unexpected_outcomes"]
    assert {kind: {"calls": 5, "expected": 5} for kind in KINDS} == result["outcomes"]
    for key in ("fds", "children", "lock_files"):
        assert result["before"][key] == result["after"][key], key
    assert result["after"]["threads"] <= THREADS_BOUND  # asyncio's executor grows on demand, to a bound
    assert ([], []) == (result["after"]["children"], result["after"]["lock_files"])
    assert healthy(result)
    assert 0 == result["daemon_exit_code"]  # SIGTERM at idle after the soak: a clean stop
