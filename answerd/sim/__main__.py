"""``python -m answerd.sim``: the same as ``answerd sim``."""

from __future__ import annotations

from answerd.sim.cli import main

__all__: list[str] = []

raise SystemExit(main())
