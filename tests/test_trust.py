"""What answerd (as root) trusts: its configuration, an issue file and the programs it runs.

Each file or directory is made unsafe in exactly one way per test, under a root-owned 0700 directory of
pytest's (whose parents, ``/tmp`` included, are the accepted case: root-owned and 0755 or sticky 1777).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from answerd.config import ConfigError, load_config, load_config_text
from answerd.config.files import program_problem, read_user_file, trust_problem, trusted_owners

NOBODY = 65534

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="making files owned by another user needs root")


def program(directory: Path, name: str = "prog", mode: int = 0o755) -> Path:
    """An executable shell script ``name`` in ``directory`` with ``mode``."""
    path = directory / name
    path.write_text("#!/bin/sh\nexit 0\n")
    path.chmod(mode)
    return path


def subdir(parent: Path, name: str, mode: int, owner: int = 0) -> Path:
    """A directory ``name`` in ``parent`` with exactly ``mode`` (chmod, not mkdir's umask) and ``owner``."""
    path = parent / name
    path.mkdir()
    path.chmod(mode)
    os.chown(path, owner, 0)
    return path


def config_with_login(login: Path) -> str:
    """A minimal configuration whose one port runs ``login`` as its login program."""
    return f'[ports.p0]\ndevice = "/dev/ttyS0"\nlogin_program = ["{login}", "--", "{{user}}"]\n'


class TestPrograms:
    """program_problem: the check of every program answerd executes."""

    def test_safe_program_accepted(self, tmp_path: Path) -> None:
        """A root-owned 0755 program in root-owned 0700/0755 directories (below sticky /tmp) is trusted."""
        assert None is program_problem(str(program(tmp_path)))

    @pytest.mark.parametrize("mode", [0o775, 0o757, 0o777])
    def test_writable_program_refused(self, tmp_path: Path, mode: int) -> None:
        """A program writable by group or others is refused, with its mode in octal."""
        path = program(tmp_path, mode=mode)
        assert f"{path} is writable by group or others (mode {mode:04o}): refused" == program_problem(str(path))

    def test_foreign_owner_refused(self, tmp_path: Path) -> None:
        """A program owned by another user is refused when no rule runs it as that user."""
        path = program(tmp_path)
        os.chown(path, NOBODY, 0)
        assert f"{path} is owned by uid {NOBODY}, not by root or the user it runs as: refused" == program_problem(
            str(path)
        )

    def test_rule_users_own_program_accepted(self, tmp_path: Path) -> None:
        """A program owned by the user a dispatch rule runs it as is trusted for that rule."""
        path = program(tmp_path)
        os.chown(path, NOBODY, 0)
        assert None is program_problem(str(path), user="nobody")

    @pytest.mark.parametrize("mode", [0o775, 0o777, 0o1777])
    def test_writable_directory_refused(self, tmp_path: Path, mode: int) -> None:
        """A program in a group/other-writable directory is refused (not sticky, or sticky but not trusted's)."""
        owner = NOBODY if mode & 0o1000 else 0
        directory = subdir(tmp_path, "bin", mode, owner)
        path = program(directory)
        problem = program_problem(str(path)) or ""
        assert problem.startswith(f"{path}: its directory {directory} ")

    def test_sticky_root_directory_accepted(self, tmp_path: Path) -> None:
        """A root-owned sticky 1777 directory (like /tmp) does not make a root-owned program in it untrusted."""
        directory = subdir(tmp_path, "public", 0o1777)
        assert None is program_problem(str(program(directory)))

    def test_unsafe_grandparent_refused(self, tmp_path: Path) -> None:
        """Every directory up to / counts, not only the program's own."""
        top = subdir(tmp_path, "top", 0o777)
        inner = subdir(top, "inner", 0o755)
        problem = program_problem(str(program(inner))) or ""
        assert f"its directory {top} is writable by group or others (mode 0777): refused" in problem

    def test_symlink_to_unsafe_place_refused(self, tmp_path: Path) -> None:
        """A link in a safe directory to a program in a writable directory is judged by where it leads."""
        unsafe = subdir(tmp_path, "unsafe", 0o777)
        target = program(unsafe)
        link = tmp_path / "link"
        link.symlink_to(target)
        assert f"its directory {unsafe} is writable" in (program_problem(str(link)) or "")

    def test_symlink_in_unsafe_directory_refused(self, tmp_path: Path) -> None:
        """A link to a safe program, sitting in a writable directory (anyone may re-point it), is refused."""
        target = program(tmp_path)
        unsafe = subdir(tmp_path, "unsafe", 0o777)
        (unsafe / "link").symlink_to(target)
        assert f"its directory {unsafe} is writable" in (program_problem(str(unsafe / "link")) or "")

    def test_config_error_names_the_setting(self, tmp_path: Path) -> None:
        """The refusal reaches check-config as one line naming the TOML path of the setting."""
        path = program(tmp_path, mode=0o775)
        with pytest.raises(ConfigError) as info:
            load_config_text(config_with_login(path))
        wanted = f"ports.p0.login_program: {path} is writable by group or others (mode 0775): refused"
        # The loader adds what was given, "(got [...])", after the check's own text.
        assert [True] == [line.startswith(wanted) for line in info.value.errors if "login_program" in line]

    def test_dispatch_rule_users_program(self, tmp_path: Path) -> None:
        """A dispatch rule may run a program its own user owns, but a rule without that user may not."""
        path = program(tmp_path)
        os.chown(path, NOBODY, 0)
        base = f'[ports.p0]\ndevice = "/dev/ttyS0"\n[[ports.p0.dispatch]]\nmatch = "bbs"\nprogram = ["{path}"]\n'
        load_config_text(base + 'user = "nobody"\n')
        with pytest.raises(ConfigError) as info:
            load_config_text(base)
        assert any(f"{path} is owned by uid {NOBODY}" in line for line in info.value.errors)


class TestFiles:
    """read_user_file: the configuration and the issue file, judged by what was opened."""

    def test_safe_file_read(self, tmp_path: Path) -> None:
        """A root-owned 0644 file in safe directories is read."""
        path = tmp_path / "answerd.toml"
        path.write_bytes(b"x")
        path.chmod(0o644)
        assert b"x" == read_user_file(str(path))

    def test_writable_file_refused(self, tmp_path: Path) -> None:
        """A configuration writable by others is refused with its mode, one error line."""
        path = tmp_path / "answerd.toml"
        path.write_text(config_with_login(Path("/bin/true")))
        path.chmod(0o666)
        with pytest.raises(ConfigError) as info:
            load_config(str(path))
        assert ["is writable by group or others (mode 0666): refused"] == info.value.errors

    def test_foreign_owner_refused(self, tmp_path: Path) -> None:
        """An issue or configuration file owned by another user is refused."""
        path = tmp_path / "issue"
        path.write_bytes(b"hello")
        os.chown(path, NOBODY, 0)
        with pytest.raises(ConfigError) as info:
            read_user_file(str(path))
        assert [f"is owned by uid {NOBODY}, not by root or the user it runs as: refused"] == info.value.errors

    def test_file_in_writable_directory_refused(self, tmp_path: Path) -> None:
        """A safe file in a directory others may write (and so replace the file in) is refused."""
        directory = subdir(tmp_path, "etc", 0o777)
        path = directory / "issue"
        path.write_bytes(b"hello")
        with pytest.raises(ConfigError) as info:
            read_user_file(str(path))
        assert [f"its directory {directory} is writable by group or others (mode 0777): refused"] == info.value.errors

    def test_symlink_judged_by_what_was_opened(self, tmp_path: Path) -> None:
        """A safe link to a file others may write: the opened file's mode (fstat of the descriptor) decides."""
        target = tmp_path / "real"
        target.write_bytes(b"x")
        target.chmod(0o646)
        link = tmp_path / "answerd.toml"
        link.symlink_to(target)
        with pytest.raises(ConfigError) as info:
            read_user_file(str(link))
        assert ["is writable by group or others (mode 0646): refused"] == info.value.errors

    def test_symlink_to_unsafe_directory_refused(self, tmp_path: Path) -> None:
        """A link to a safe file in a writable directory: the opened file's real directories are checked."""
        unsafe = subdir(tmp_path, "unsafe", 0o777)
        (unsafe / "real").write_bytes(b"x")
        link = tmp_path / "issue"
        link.symlink_to(unsafe / "real")
        with pytest.raises(ConfigError) as info:
            read_user_file(str(link))
        assert [f"its directory {unsafe} is writable by group or others (mode 0777): refused"] == info.value.errors

    def test_check_config_refuses(self, tmp_path: Path) -> None:
        """`answerd check-config` on a group-writable file exits non-zero with the refusal on stderr."""
        path = tmp_path / "answerd.toml"
        path.write_text(config_with_login(Path("/bin/true")))
        path.chmod(0o664)
        run = subprocess.run(
            [sys.executable, "-m", "answerd", "check-config", str(path)],
            check=False,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert (True, True) == (
            run.returncode != 0,
            "is writable by group or others (mode 0664): refused" in run.stderr,
        )


class TestRule:
    """trust_problem's owner set and its one exception."""

    def test_owners(self) -> None:
        """Root and the running account are trusted owners; a rule's user adds its uid; an unknown user adds none."""
        assert (frozenset({0, os.geteuid()}), frozenset({0, NOBODY}), frozenset({0})) == (
            trusted_owners(),
            trusted_owners("nobody"),
            trusted_owners("no-such-user-here"),
        )

    def test_sticky_directory_of_untrusted_owner_refused(self, tmp_path: Path) -> None:
        """The sticky exception needs a trusted directory owner: a 1777 directory of nobody's is refused."""
        directory = subdir(tmp_path, "t", 0o1777, NOBODY)
        path = program(directory)
        problem = trust_problem(str(path), path.stat(), frozenset({0}))
        assert f"{path}: its directory {directory} is owned by uid {NOBODY}: refused" == problem
