"""Coverage-guided fuzzing of answerd's parsers and machines (atheris, the way OSS-Fuzz fuzzes h11).

Each ``harness_*`` module holds one ``test_one_input(data: bytes)`` that turns the fuzzer's bytes into a
script for one part of the core (or the configuration loader) and asserts that part's documented
invariants. The harnesses are plain Python and need no atheris: the fast test suite replays the seed
corpora and the crash regressions through them (``tests/core/test_fuzz_regressions.py``). atheris only
instruments the code and drives the search: ``python -m fuzz --short`` (CI) or ``--long``; see
``docs/reliability.md``.
"""

from __future__ import annotations

__all__ = ["HARNESSES"]

#: Harness name -> module, in the order ``python -m fuzz`` runs them.
HARNESSES: dict[str, str] = {
    "lines": "fuzz.harness_lines",
    "cid": "fuzz.harness_cid",
    "login": "fuzz.harness_login",
    "ppp": "fuzz.harness_ppp",
    "escapes": "fuzz.harness_escapes",
    "config": "fuzz.harness_config",
    "machine": "fuzz.harness_machine",
}
