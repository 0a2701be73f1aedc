"""The one error ``answerd import-mgetty`` raises: a problem in an mgetty file, named by file and line."""

from __future__ import annotations

__all__ = ["MgettyImportError"]


class MgettyImportError(Exception):
    """An mgetty file (or command line) that cannot be imported; ``str()`` is ``where: what``.

    Args:
        where: ``path`` or ``path:line`` (or ``--args``), already printable.
        message: what is wrong and, where it helps, what to do.
    """

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where
        self.message = message
