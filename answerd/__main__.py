"""``python -m answerd``: the same as the ``answerd`` command."""

from .cli import main

raise SystemExit(main())
