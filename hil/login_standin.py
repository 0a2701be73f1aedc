"""A stand-in for ``/bin/login`` on the simulated bench, where no real test account may exist.

It does what the HIL suite needs from a login and nothing more: asks ``Password:``, compares the answer with
the bench's password (read from a file given on the command line, mode 0600), greets the user, then reads
command lines and answers ``echo TEXT`` with TEXT and ``exit`` by ending. Nothing is ever run: no shell. On
hardware the suite uses the real ``/bin/login`` with the bench's test account instead.

Usage: ``login_standin.py --password-file FILE -- USER``
"""

from __future__ import annotations

import sys
from pathlib import Path

_MAX_LINE = 200


def _read_line() -> str | None:
    data = b""
    while len(data) < _MAX_LINE:
        byte = sys.stdin.buffer.read(1)
        if not byte:
            return None
        if byte in b"\r\n":
            if data:
                return data.decode("ascii", "replace")
            continue
        data += byte
    return data.decode("ascii", "replace")


def _say(text: str) -> None:
    sys.stdout.buffer.write(text.encode())
    sys.stdout.buffer.flush()


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[0] != "--password-file" or argv[2] != "--" or argv[3].startswith("-"):
        _say("login stand-in: usage: --password-file FILE -- USER\r\n")
        return 2
    expected = Path(argv[1]).read_text().strip()
    user = argv[3]
    _say("Password: ")
    if _read_line() != expected:
        _say("\r\nLogin incorrect\r\n")
        return 1
    _say(f"\r\nWelcome, {user} (answerd HIL login stand-in)\r\n$ ")
    while (line := _read_line()) is not None:
        if line == "exit":
            return 0
        if line.startswith("echo "):
            _say("\r\n" + line[5:] + "\r\n$ ")  # output starts a line, whether the tty echoed or not
        else:
            _say("stand-in: only echo and exit\r\n$ ")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
