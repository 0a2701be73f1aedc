"""The virtual bench (vbench/) installs answerd into its guest the way docs/install.md says, step by step.

The bench itself needs root and QEMU; this keeps the fast suite aware when the docs and the bench drift.
"""

from __future__ import annotations

from pathlib import Path

from vbench.image import INSTALL_STEPS

INSTALL_MD = Path(__file__).resolve().parent.parent / "docs/install.md"


def test_every_step_the_bench_runs_is_written_in_install_md() -> None:
    """Each install command the vbench guest build runs appears verbatim in docs/install.md."""
    text = INSTALL_MD.read_text()
    assert [doc for doc, _ in INSTALL_STEPS if doc not in text] == []
