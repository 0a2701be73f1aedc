"""The configuration verdict from a child process (fork at start, fresh interpreter on reload) and its cache."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest

from answerd.config import gate as config
from answerd.config import verdict
from answerd.config.settings import read_document

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
PACKAGE = Path(verdict.__file__).resolve().parent
INVALID = {"defaults": {"rings": 0, "speeed": 9600}, "ports": {"ttyS0": {"mode": "direct"}}}
INVALID_TEXT = '[defaults]\nrings = 0\nspeeed = 9600\n[ports.ttyS0]\nmode = "direct"\n'


class TestFork:
    def test_valid_document(self) -> None:
        """The example file: an empty verdict."""
        assert [] == verdict.start_in_fork(read_document(EXAMPLE)).result()

    def test_invalid_document_gives_the_gates_lines(self) -> None:
        """The child's lines are exactly what the gate says in-process."""
        assert config.validate_document(INVALID) == verdict.start_in_fork(INVALID).result()
        assert 3 == len(config.validate_document(INVALID))

    def test_a_crashing_check_is_an_error_not_a_verdict(
        self, monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
    ) -> None:
        """If the check raises, the parent gets VerdictError (never an empty, 'valid' list), and the traceback
        is on stderr (the journal), so the bug can be found."""

        def boom(document: object) -> list[str]:
            raise RuntimeError("bug in the gate")

        monkeypatch.setattr(config, "validate_document", boom)
        with pytest.raises(verdict.VerdictError, match="status 70"):
            verdict.start_in_fork({}).result()
        assert "RuntimeError: bug in the gate" in capfd.readouterr().err

    def test_the_answer_is_bounded(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A verdict of more than 1 MiB is not believed."""
        monkeypatch.setattr(config, "validate_document", lambda document: ["x" * 1000] * 2000)
        with pytest.raises(verdict.VerdictError, match="too much"):
            verdict.start_in_fork({}).result()

    def test_no_child_is_left(self) -> None:
        """result() reaps the child."""
        pending = verdict.start_in_fork({})
        pending.result()
        with pytest.raises(ChildProcessError):
            os.waitpid(pending._pid, os.WNOHANG)


class TestFreshInterpreter:
    def test_valid_text(self) -> None:
        """``python -m answerd.config.gate`` accepts the example file."""
        assert [] == asyncio.run(verdict.check_in_child(EXAMPLE.read_text()))

    def test_invalid_text(self) -> None:
        """... and reports what the gate reports in-process."""
        expected = config.validate_document(tomllib.loads(INVALID_TEXT))
        assert expected == asyncio.run(verdict.check_in_child(INVALID_TEXT))

    def test_not_toml(self) -> None:
        """Text that is not TOML is one error line, not a crash."""
        lines = asyncio.run(verdict.check_in_child("[ports.x\n"))
        assert 1 == len(lines)
        assert lines[0].startswith("not valid TOML")

    def test_an_answer_that_is_not_json_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A child that prints something else gives VerdictError, never a verdict."""
        monkeypatch.setattr(verdict.sys, "executable", "/bin/echo")
        with pytest.raises(verdict.VerdictError, match="not JSON"):
            asyncio.run(verdict.check_in_child(""))

    def test_a_failing_child_is_refused(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """A non-zero exit is an error with the child's last stderr line."""
        monkeypatch.setattr(verdict.sys, "executable", "/bin/false")
        with pytest.raises(verdict.VerdictError, match="status 1"):
            asyncio.run(verdict.check_in_child(""))

    def test_a_hung_child_is_killed(self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
        """A child that does not answer in time is killed and reaped (not left behind); the error says how
        long it had."""
        hang = tmp_path / "hang"
        hang.write_text(f"#!{sys.executable}\nimport signal\nsignal.pause()\n")  # waits for ever, no timer
        hang.chmod(0o755)
        monkeypatch.setattr(verdict.sys, "executable", str(hang))
        started: list[asyncio.subprocess.Process] = []
        real_exec = asyncio.create_subprocess_exec

        async def recording_exec(*args: Any, **kwargs: Any) -> asyncio.subprocess.Process:
            started.append(await real_exec(*args, **kwargs))
            return started[-1]

        monkeypatch.setattr(asyncio, "create_subprocess_exec", recording_exec)
        with pytest.raises(verdict.VerdictError, match=r"within 0\.1 s"):
            asyncio.run(verdict.check_in_child("", timeout_s=0.1))
        assert [-signal.SIGKILL] == [proc.returncode for proc in started]

    def test_another_answerd_gives_no_verdict(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """If the installed answerd changed since the daemon started, its check refuses to answer."""
        monkeypatch.setattr(verdict, "gate_fingerprint", lambda: b"the daemon's older gate")
        with pytest.raises(verdict.VerdictError, match=r"status 3\): answerd changed since this daemon started"):
            asyncio.run(verdict.check_in_child(EXAMPLE.read_text()))

    def test_an_answerd_in_the_working_directory_is_not_used(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        """The child imports the daemon's answerd, not an answerd/ that happens to be in the current directory."""
        fake = tmp_path / "answerd"
        fake.mkdir()
        (fake / "__init__.py").write_text("")
        (fake / "config.py").write_text("print('[]')\n")
        monkeypatch.chdir(tmp_path)
        assert [] != asyncio.run(verdict.check_in_child(INVALID_TEXT))

    def test_the_answer_must_be_a_list_of_lines(self) -> None:
        """JSON that is not a list of strings is not a verdict."""
        with pytest.raises(verdict.VerdictError, match="not a list"):
            verdict._decode(b'{"a": 1}')
        with pytest.raises(verdict.VerdictError, match="not a list"):
            verdict._decode(b"[1, 2]")


class TestCache:
    @pytest.fixture
    def cache_dir(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
        directory = tmp_path / "cache"
        directory.mkdir(mode=0o700)
        monkeypatch.setenv("CACHE_DIRECTORY", str(directory))
        return directory

    def test_remembers_only_what_it_was_told(self, cache_dir: Path) -> None:
        """A text is accepted only after remember(), and only that exact text."""
        cache = verdict.VerdictCache.from_environment()
        assert cache is not None
        assert not cache.accepted("rings = 2\n")
        cache.remember("rings = 2\n")
        assert cache.accepted("rings = 2\n")
        assert not cache.accepted("rings = 2\n\n")
        assert 1 == len(cache.entries())

    def test_the_gates_code_is_part_of_the_key(self, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """An answerd with a different gate does not trust an older answerd's verdicts."""
        cache = verdict.VerdictCache.from_environment()
        assert cache is not None
        cache.remember("x = 1\n")
        monkeypatch.setattr(verdict, "gate_fingerprint", lambda: b"another answerd")
        assert not cache.accepted("x = 1\n")

    @pytest.mark.parametrize("edited", ["settings.py", "config.py", "hayes/_chat.py"])
    def test_the_fingerprint_covers_the_gates_files(self, tmp_path: Path, edited: str) -> None:
        """Changing any file the gate is made of changes the fingerprint (a copy of the package is edited)."""
        copy = tmp_path / "answerd"
        shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
        before = verdict._fingerprint_of(copy)
        assert before == verdict._fingerprint_of(copy)
        with (copy / edited).open("a") as source:
            source.write("\n# changed\n")
        assert before != verdict._fingerprint_of(copy)

    def test_a_missing_gate_file_means_no_cache(self, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """A source-less install cannot be fingerprinted: no cache, never an error."""
        monkeypatch.setattr(verdict, "gate_fingerprint", lambda: None)
        assert verdict.VerdictCache.from_environment() is None
        assert not verdict.VerdictCache(cache_dir).accepted("x = 1\n")
        verdict.VerdictCache(cache_dir).remember("x = 1\n")
        assert [] == list(cache_dir.iterdir())

    def test_keeps_the_newest_entries(self, cache_dir: Path) -> None:
        """The directory does not grow without bound: the oldest entries go."""
        cache = verdict.VerdictCache.from_environment()
        assert cache is not None
        for n in range(verdict.CACHE_ENTRIES + 5):
            cache.remember(f"n = {n}\n")
            os.utime(cache._entry(f"n = {n}\n"), ns=(n * 10**9, n * 10**9))
        cache.remember("last = 1\n")
        assert verdict.CACHE_ENTRIES == len(cache.entries())
        assert cache.accepted("last = 1\n")
        assert not cache.accepted("n = 0\n")

    def test_start_checks_once_then_trusts_the_cache(self, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """start_check forks the check for a new text and remembers it; the next start does not fork."""
        text = EXAMPLE.read_text()
        assert [] == verdict.start_check(text, tomllib.loads(text))()
        assert 1 == len(verdict.VerdictCache(cache_dir).entries())

        def no_fork(document: object) -> verdict.PendingVerdict:
            raise AssertionError("a remembered text must not be checked again")

        monkeypatch.setattr(verdict, "start_in_fork", no_fork)
        assert [] == verdict.start_check(text, tomllib.loads(text))()

    def test_reload_check_remembers_only_accepted_texts(self, cache_dir: Path) -> None:
        """check_text (reload) records a valid text, never an invalid one."""
        assert [] != asyncio.run(verdict.check_text(INVALID_TEXT))
        assert [] == verdict.VerdictCache(cache_dir).entries()
        assert [] == asyncio.run(verdict.check_text(EXAMPLE.read_text()))
        assert 1 == len(verdict.VerdictCache(cache_dir).entries())

    @pytest.mark.parametrize("value", ["", "relative/dir", "/nonexistent/answerd-cache"])
    def test_no_usable_directory_no_cache(self, value: str, monkeypatch: pytest.MonkeyPatch) -> None:
        """Unset, relative or missing: no cache (every start checks)."""
        monkeypatch.setenv("CACHE_DIRECTORY", value)
        assert verdict.VerdictCache.from_environment() is None

    def test_a_directory_others_can_write_is_not_trusted(self, cache_dir: Path) -> None:
        """Whoever could write there could make answerd skip the check: such a directory is ignored."""
        cache_dir.chmod(0o770)
        assert verdict.VerdictCache.from_environment() is None
        cache_dir.chmod(0o755)
        assert verdict.VerdictCache.from_environment() is not None

    def test_first_of_several_directories(self, cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """systemd joins several CacheDirectory= paths with ':'; the first is answerd's."""
        monkeypatch.setenv("CACHE_DIRECTORY", f"{cache_dir}:/var/cache/other")
        cache = verdict.VerdictCache.from_environment()
        assert cache is not None
        assert str(cache_dir) == cache.directory

    def test_an_unwritable_cache_is_no_error(self, cache_dir: Path) -> None:
        """remember() in a vanished directory does nothing (the next start checks again)."""
        cache = verdict.VerdictCache.from_environment()
        assert cache is not None
        cache_dir.rmdir()
        cache.remember("x = 1\n")
        assert not cache.accepted("x = 1\n")
