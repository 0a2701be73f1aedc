"""``python3 -m vbench``: see :mod:`vbench.run`."""

from __future__ import annotations

import sys

from vbench.run import main

sys.exit(main())
