"""``python -m answerd``: the same as the ``answerd`` command."""

from answerd.cli import main

raise SystemExit(main())
