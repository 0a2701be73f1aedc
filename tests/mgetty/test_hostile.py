"""Hostile input to import-mgetty: junk, huge files, things that are not files, random bytes."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from answerd.mgetty.errors import MgettyImportError
from answerd.mgetty.files import MAX_FILE_SIZE
from answerd.mgetty.keywords import KEYWORDS

from .conftest import run_import, write_setup


def test_binary_junk_is_an_error_with_file_and_line(tmp_path: Path) -> None:
    """A NUL in line 3 is reported as file:3, not imported as garbage."""
    write_setup(tmp_path, {})
    (tmp_path / "mgetty.config").write_bytes(b"debug 4\nspeed 9600\n\x7fELF\x02\x01\x01\x00\n")
    with pytest.raises(MgettyImportError, match=rf"^{tmp_path}/mgetty\.config:3: control character 0x7f"):
        run_import(tmp_path)


def test_file_over_the_size_limit_is_refused(tmp_path: Path) -> None:
    """A file larger than 1 MiB is refused before it is parsed."""
    (tmp_path / "mgetty.config").write_bytes(b"# padding\n" * (MAX_FILE_SIZE // 10 + 1))
    with pytest.raises(MgettyImportError, match=r"larger than the 1 MiB limit: refused"):
        run_import(tmp_path)


def test_file_at_the_size_limit_is_read(tmp_path: Path) -> None:
    """Exactly 1 MiB is still accepted (the limit is inclusive)."""
    (tmp_path / "mgetty.config").write_bytes(b"#" * (MAX_FILE_SIZE - 11) + b"\nrings 2\n\n")
    config, _ = run_import(tmp_path)
    assert 2 == config["defaults"]["rings"]


def test_directory_instead_of_a_file_is_refused(tmp_path: Path) -> None:
    """A directory named login.config is refused with its kind."""
    write_setup(tmp_path, {"mgetty.config": "debug 4\n"})
    (tmp_path / "login.config").mkdir()
    with pytest.raises(MgettyImportError, match=r"login\.config: is a directory, not a regular file"):
        run_import(tmp_path)


def test_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    """A FIFO (no writer) is opened without blocking and refused."""
    os.mkfifo(tmp_path / "mgetty.config")
    with pytest.raises(MgettyImportError, match=r"mgetty\.config: is a FIFO, not a regular file"):
        run_import(tmp_path)


def test_device_is_refused(tmp_path: Path) -> None:
    """/dev/zero as a login-conf-file is a character device: refused, never read."""
    write_setup(tmp_path, {"mgetty.config": "login-conf-file /dev/zero\n"})
    with pytest.raises(MgettyImportError, match=r"^/dev/zero: is a character device"):
        run_import(tmp_path)


def test_missing_directory_and_missing_file(tmp_path: Path) -> None:
    """No such directory, and a directory without mgetty.config, are errors that say which."""
    with pytest.raises(MgettyImportError, match=r"no such directory"):
        run_import(tmp_path / "nope")
    with pytest.raises(MgettyImportError, match=r"mgetty\.config: no such file: nothing to import"):
        run_import(tmp_path)


def test_broken_quoting_is_an_error_with_its_line(tmp_path: Path) -> None:
    """An unclosed quote in a chat names its file and line."""
    write_setup(tmp_path, {"mgetty.config": 'debug 4\ninit-chat "" "ATZ OK\n'})
    with pytest.raises(MgettyImportError, match=rf"^{tmp_path}/mgetty\.config:2: a double quote is not closed"):
        run_import(tmp_path)


_WORDS = [entry.name for entry in KEYWORDS] + [
    "port", '"', '""', "\\", "\\d", "\\c", " ", "  ", "\n", "\t", "#", "0x1f", "-1", "9600", "0", "!", "?",
    "ttyS0", "ttyS?", "y", "no", "/bin/login", "@", "\\I", "*", "/AutoPPP/", "!version", "2", "\x00", "é", "\r",
]  # fmt: skip
_TEXTLIKE = st.lists(st.sampled_from(_WORDS), max_size=60).map(lambda words: "".join(words).encode())
_CONTENT = st.one_of(st.binary(max_size=400), _TEXTLIKE)


@settings(max_examples=300, deadline=None)
@given(mgetty=_CONTENT, login=_CONTENT, dialin=_CONTENT, args=st.sampled_from([None, "mgetty -n -r ttyS0"]))
def test_arbitrary_bytes_raise_only_the_importers_error(
    mgetty: bytes, login: bytes, dialin: bytes, args: str | None
) -> None:
    """Whatever the three files hold, the importer returns valid TOML (run_import parses it) or raises
    MgettyImportError, nothing else."""
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        for file, data in (("mgetty.config", mgetty), ("login.config", login), ("dialin.config", dialin)):
            (directory / file).write_bytes(data)
        (directory / "login.config").chmod(0o600)
        with contextlib.suppress(MgettyImportError):
            run_import(directory, args=args, program_exists=lambda path: path == "/bin/login")
