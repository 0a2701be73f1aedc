"""``python -m fuzz --short`` / ``--long``: see :mod:`fuzz.run`."""

from __future__ import annotations

import sys

from fuzz.run import main

sys.exit(main())
