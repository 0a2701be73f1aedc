"""The one exception of the configuration layer: a file that cannot be used, one line per problem."""

from __future__ import annotations

__all__ = ["ConfigError"]


def _one_printable_line(text: str) -> str:
    r"""``text`` with every non-printable character written as its escape (``\n``, ``\x1b``, ``\u202e``).

    A problem line may quote the file (a port name, a program path), and the file is not to be trusted
    with the terminal or the journal: a newline would forge a second problem, an escape sequence would
    reach the operator's terminal.
    """
    return "".join(char if char.isprintable() else char.encode("unicode_escape").decode("ascii") for char in text)


class ConfigError(Exception):
    """The configuration cannot be used. ``errors`` holds one printable ``path: message`` line per problem."""

    def __init__(self, source: str, errors: list[str]) -> None:
        self.source = source
        self.errors = [_one_printable_line(error) for error in errors]
        super().__init__(f"{source}: " + "; ".join(self.errors))
