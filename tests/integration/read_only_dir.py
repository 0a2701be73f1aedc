"""Run a program with one directory read-only, in a mount namespace of its own (a test helper; root only).

``unshare --mount --propagation private -- python read_only_dir.py DIR -- PROGRAM [ARG...]``: bind-mounts DIR
read-only onto itself, then execs PROGRAM (same pid, so the test can signal it and ``nsenter`` its
namespace to make DIR writable again: ``mount -o remount,rw,bind DIR``).
"""

from __future__ import annotations

import os
import subprocess
import sys


def main(argv: list[str]) -> None:
    """Mount ``argv[0]`` read-only and exec the program after ``--``."""
    directory, separator, *program = argv
    if separator != "--" or not program:
        raise SystemExit("usage: read_only_dir.py DIR -- PROGRAM [ARG...]")
    subprocess.run(["mount", "--bind", "-o", "ro", directory, directory], check=True)
    os.execvp(program[0], program)


if __name__ == "__main__":
    main(sys.argv[1:])
