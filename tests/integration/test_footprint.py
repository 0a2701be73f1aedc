"""What the running daemon keeps in memory: never pydantic, OpenSSL or the compression libraries.

The configuration is checked in a child process (answerd.config.verdict); these tests look at the real daemon's
memory map after a start, a call and a reload, so a new import that drags one of them back in is caught.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest

from answerd.config import gate as config
from answerd.config.verdict import VerdictCache

from .harness import Bench

pytestmark = pytest.mark.integration

#: Shared objects the daemon must not map: each is a module it does not use (sizes in docs/benchmarks.md).
NOT_IN_THE_DAEMON = ("pydantic_core", "_ssl.", "libssl", "libcrypto", "_hashlib", "_bz2", "_lzma", "_ctypes_test")


def mapped_objects(pid: int) -> set[str]:
    """The file names of everything mapped into process ``pid``."""
    names = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith("/"):
            names.add(Path(parts[5]).name)
    return names


def test_the_daemon_maps_no_validation_or_tls_code(make_bench: Callable[..., Bench], tmp_path: Path) -> None:
    """After start, one call and a reload, none of the libraries the daemon does not need are mapped."""
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    bench = make_bench(mode="direct", direct_program=["/bin/true"], start=False)
    bench.start_sim()
    bench.start_daemon(extra_env={"CACHE_DIRECTORY": str(cache)})
    assert bench.notify is not None
    assert bench.daemon is not None
    bench.notify.wait_for("READY=1", 20)
    assert 1 == len(VerdictCache(cache).entries()), "the accepted file is remembered"

    caller = bench.dial()
    bench.ended()
    caller.hang_up()
    bench.port_settings["rings"] = 2
    bench.write_config()
    bench.daemon.send_signal(signal.SIGHUP)
    bench.wait_event("config.reloaded", changed=True)
    assert 2 == len(VerdictCache(cache).entries()), "the reloaded file is remembered too"

    mapped = mapped_objects(bench.daemon.pid)
    assert [] == [name for name in mapped if any(bad in name for bad in NOT_IN_THE_DAEMON)]
    assert any(name.startswith("libc.so") or name.startswith("libc-") for name in mapped), "the map was read"


def test_a_remembered_verdict_is_trusted(make_bench: Callable[..., Bench], tmp_path: Path) -> None:
    """With the text's verdict in the cache, no check runs (why the cache must be private: see VerdictCache)."""
    cache = tmp_path / "cache"
    cache.mkdir(mode=0o700)
    # A prompt longer than login_prompt's 300 characters: the gate refuses it, the daemon could run it.
    bench = make_bench(mode="direct", direct_program=["/bin/true"], login_prompt="x" * 301, start=False)
    bench.start_sim()
    text = bench.write_config().read_text()
    assert any("login_prompt" in line for line in config.validate_document(tomllib.loads(text)))
    VerdictCache(cache).remember(text)
    bench.start_daemon(extra_env={"CACHE_DIRECTORY": str(cache)})
    assert bench.notify is not None
    assert bench.daemon is not None
    bench.notify.wait_for("READY=1", 20)
    assert 0 == bench.stop()

    unchecked = subprocess.run(  # no cache: checked, refused
        [sys.executable, "-m", "answerd", "run", "--config", str(bench.tmp / "answerd.toml")],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    assert 6 == unchecked.returncode
    assert "login_prompt" in unchecked.stderr
