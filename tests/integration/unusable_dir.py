"""Run a program with one directory unusable for new files, in a mount namespace of its own (test helper; root).

``unshare --mount --propagation private -- python unusable_dir.py MODE DIR [NAME=TEXT...] -- PROGRAM [ARG...]``

MODE ``read-only`` bind-mounts DIR read-only onto itself; ``full`` mounts a tiny tmpfs on DIR and fills it
(``DIR/filler``), so a new file can be created but not written; ``empty`` mounts an empty tmpfs on DIR (what
the host has there is not seen: ``/run`` without ``utmp``), and ``empty-read-only`` remounts it read-only
after the files are written (``utmp=``: an empty utmp nobody can write, root included). The NAME=TEXT files
are written into DIR first (a dial-out program's lock). Then PROGRAM is exec'd with the same pid, so a test
can signal it and ``nsenter --target PID --mount`` to repair DIR (``mount -o remount,rw,bind DIR DIR``,
``rm DIR/filler``).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys


def main(argv: list[str]) -> None:
    """Make the directory unusable as asked, write the given files first, then exec the program."""
    separator = argv.index("--")
    (mode, directory, *files), program = argv[:separator], argv[separator + 1 :]
    if mode in ("full", "empty", "empty-read-only"):
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16k,mode=1777", "tmpfs", directory], check=True)
    for item in files:
        name, _, text = item.partition("=")
        with open(os.path.join(directory, name), "w", encoding="ascii") as file:
            file.write(text)
    if mode == "read-only":
        subprocess.run(["mount", "--bind", "-o", "ro", directory, directory], check=True)
    elif mode == "full":
        with open(os.path.join(directory, "filler"), "wb", buffering=0) as filler, contextlib.suppress(OSError):
            while True:  # unbuffered: the close has nothing left to write into the full filesystem
                filler.write(b"\0" * 4096)
    elif mode == "empty-read-only":
        subprocess.run(["mount", "-o", "remount,ro", directory], check=True)
    elif mode != "empty":
        raise SystemExit(f"unknown mode {mode!r}")
    os.execvp(program[0], program)


if __name__ == "__main__":
    main(sys.argv[1:])
