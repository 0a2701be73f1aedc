"""The configuration gate's verdict, obtained from a child process so the daemon never loads pydantic.

pydantic would stay in a daemon's memory for its whole life once imported (about 14 MiB per port, and
130 ms at every start: ``docs/benchmarks.md``), to be used once at start and once per reload. So the
check (:func:`answerd.config.gate.validate_document`) runs in a child that exits afterwards, and the daemon
builds its settings from the same document once the child says it is valid.

Two ways to get the child, one check:

- at start, :func:`start_in_fork` forks before the daemon's own imports, while the process still has a
  single thread (fork is then well defined), so the check runs on the other core while the parent imports
  asyncio and the rest; the child already has the settings module and the core imported;
- on reload, the daemon has threads (asyncio's executor), so :func:`check_in_child` starts a fresh
  ``python -m answerd.config.gate`` and feeds it the file's text.

A restart with an unchanged file need not pay for the check again: :class:`VerdictCache` remembers, in
systemd's ``CacheDirectory=``, the hash of every text the gate accepted (hashed together with the gate's
own source code, so a new answerd checks again).

The child's answer is a JSON list of error lines (empty: valid). The child is this same program run by
the same user, so its output is trusted as much as the daemon trusts itself; it is still parsed as data
(JSON, bounded in size), never executed.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import stat
import sys
from collections.abc import Callable, Mapping
from functools import cache
from typing import Any

from answerd import __version__

try:
    # hashlib.blake2b *is* CPython's own _blake2 (never OpenSSL); importing hashlib itself would load
    # OpenSSL's libcrypto into every port's process for its whole life (1.1 MiB each, measured).
    from _blake2 import blake2b
except ImportError:  # pragma: no cover (another Python)
    from hashlib import blake2b

__all__ = [
    "PendingVerdict",
    "VerdictCache",
    "VerdictError",
    "check_in_child",
    "check_text",
    "start_check",
    "start_in_fork",
]

#: A verdict longer than this is not a verdict: the check went wrong.
_MAX_VERDICT_BYTES = 1 << 20
#: How long a reload may wait for the check (a fresh interpreter importing pydantic: ~0.3 s unloaded).
CHECK_TIMEOUT_S = 30.0
#: Exit status of a forked child whose check raised (70 is sysexits' EX_SOFTWARE).
_CHECK_CRASHED = 70


class VerdictError(Exception):
    """The check itself failed (the child crashed, timed out or said something that is not a verdict)."""


def _decode(data: bytes) -> list[str]:
    if len(data) > _MAX_VERDICT_BYTES:
        raise VerdictError("the configuration check answered too much")
    try:
        verdict = json.loads(data)
    except ValueError:
        raise VerdictError("the configuration check answered something that is not JSON") from None
    if not isinstance(verdict, list) or not all(isinstance(line, str) for line in verdict):
        raise VerdictError("the configuration check answered something that is not a list of errors")
    return verdict


def _check_and_exit(document: Mapping[str, Any], out: int) -> None:  # pragma: no cover (runs in the child)
    import traceback  # noqa: PLC0415  (in the child only: a crashing check prints its traceback)

    status = _CHECK_CRASHED
    try:
        from answerd.config.gate import validate_document  # noqa: PLC0415  (only the child may load pydantic)

        data = json.dumps(validate_document(document)).encode()
        view = memoryview(data)
        while view:
            view = view[os.write(out, view) :]
        status = 0
    except BaseException:  # whatever it is, the parent reports the failure
        traceback.print_exc()  # to the daemon's stderr: the journal keeps the bug's traceback
    finally:
        os._exit(status)


class PendingVerdict:
    """A check running in a forked child; :meth:`result` waits for it."""

    def __init__(self, pid: int, fd: int) -> None:
        self._pid = pid
        self._fd = fd

    def result(self) -> list[str]:
        """The error lines (empty: valid). Blocks until the child is done.

        Raises:
            VerdictError: the child did not give a verdict.
        """
        chunks = []
        size = 0
        try:
            # Reading stops one byte past the bound: _decode refuses that, without holding more.
            while size <= _MAX_VERDICT_BYTES and (chunk := os.read(self._fd, 65536)):
                size += len(chunk)
                chunks.append(chunk)
        finally:
            os.close(self._fd)
            _, status = os.waitpid(self._pid, 0)
        data = b"".join(chunks)
        # An answer past the bound is refused as such (the child then died of the closed pipe, status 70).
        if os.waitstatus_to_exitcode(status) != 0 and len(data) <= _MAX_VERDICT_BYTES:
            raise VerdictError(f"the configuration check failed (status {os.waitstatus_to_exitcode(status)})")
        return _decode(data)


def start_in_fork(document: Mapping[str, Any]) -> PendingVerdict:
    """Start checking ``document`` in a forked child. Call only while the process has a single thread."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child; its work is covered through PendingVerdict.result)
        os.close(read_end)
        _check_and_exit(document, write_end)
    os.close(write_end)
    return PendingVerdict(pid, read_end)


async def check_in_child(text: str, timeout_s: float = CHECK_TIMEOUT_S) -> list[str]:
    """Check a config file's text in a fresh ``python -m answerd.config.gate``; the error lines (empty: valid).

    Raises:
        VerdictError: the child did not give a verdict in time.
    """
    import asyncio  # noqa: PLC0415  (the daemon has it loaded; this keeps the module light for the CLI)

    # -P: not the working directory first on sys.path, so the child imports the same answerd as the daemon
    # (not some answerd/ that happens to be in the current directory). --expect-gate: if the installed
    # answerd changed since this daemon started (an upgrade not yet followed by a restart), the child's gate
    # is not this daemon's, and its verdict would be about settings this daemon cannot build.
    expected = gate_fingerprint()
    argv = [sys.executable, "-P", "-m", "answerd.config.gate"]
    if expected is not None:
        argv += ["--expect-gate", expected.hex()]
    proc = await asyncio.create_subprocess_exec(
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(text.encode()), timeout_s)
    except TimeoutError:
        raise VerdictError(f"the configuration check did not answer within {timeout_s:g} s") from None
    finally:
        if proc.returncode is None:  # timed out, or the daemon is stopping: no child is left behind
            proc.kill()
            await proc.wait()
    if proc.returncode != 0:
        last = err.decode(errors="replace").strip().splitlines()[-1:] or ["no message"]
        raise VerdictError(f"the configuration check failed (status {proc.returncode}): {last[0][:200]}")
    return _decode(out)


def start_check(text: str, document: Mapping[str, Any]) -> Callable[[], list[str]]:
    """At start-up: check ``document`` (parsed from ``text``) unless the cache remembers ``text``.

    Returns the function that waits for the error lines (empty: valid) and remembers an accepted text. The
    check runs in a forked child, so call this while the process has a single thread.

    Raises:
        OSError: the child cannot be started.
    """
    cache = VerdictCache.from_environment()
    if cache is not None and cache.accepted(text):
        return list
    pending = start_in_fork(document)

    def result() -> list[str]:
        errors = pending.result()
        if not errors and cache is not None:
            cache.remember(text)
        return errors

    return result


async def check_text(text: str) -> list[str]:
    """On reload: the error lines for a config file's text, from the cache or from a fresh child.

    Raises:
        VerdictError: the check gave no verdict.
        OSError: the child cannot be started.
    """
    cache = VerdictCache.from_environment()
    if cache is not None and cache.accepted(text):
        return []
    errors = await check_in_child(text)
    if not errors and cache is not None:
        cache.remember(text)
    return errors


# ---------------------------------------------------------------------------------------------- the cache

#: Accepted texts remembered per cache directory (one file each, empty: the name is the content).
CACHE_ENTRIES = 32
_ENTRY_PREFIX = "accepted-"


def _fingerprint_of(package: str | os.PathLike[str]) -> bytes:
    """What a verdict depends on besides the text: this Python, the gate's source code, pydantic's version.

    Raises:
        OSError: a file of the gate cannot be read (a source-less install, or one being replaced).
    """
    digest = blake2b(f"{sys.version}\0{__version__}\0".encode())
    hayes = os.path.join(package, "hayes")
    sources = [
        "settings.py",
        "config.py",
        *sorted(f"hayes/{name}" for name in os.listdir(hayes) if name.endswith(".py")),
    ]
    for source in sources:
        with open(os.path.join(package, source), "rb") as file:
            digest.update(source.encode() + b"\0" + file.read() + b"\0")
    # pydantic's version without importing it (the daemon never does): its version files and the size and
    # time of pydantic-core's compiled part. find_spec imports nothing but the top-level packages' finders.
    for dependency, files in (("pydantic", ("version.py",)), ("pydantic_core", ("__init__.py",))):
        spec = importlib.util.find_spec(dependency)
        if spec is None or not spec.submodule_search_locations:
            digest.update(f"no {dependency}\0".encode())
            continue
        where = next(iter(spec.submodule_search_locations))
        for name in files:
            with open(os.path.join(where, name), "rb") as file:
                digest.update(file.read() + b"\0")
        for name in sorted(os.listdir(where)):
            if name.startswith("_pydantic_core") and name.endswith(".so"):
                info = os.stat(os.path.join(where, name))
                digest.update(f"{name} {info.st_size} {info.st_mtime_ns}\0".encode())
    return digest.digest()


@cache
def gate_fingerprint() -> bytes | None:
    """The fingerprint of the gate this process was started with, or None if it cannot be read.

    Computed once: call it at start-up, before an upgrade can replace the files, so that a later reload
    knows whether its check child runs the same gate as this daemon.
    """
    try:
        return _fingerprint_of(os.path.dirname(os.path.realpath(__file__)))
    except OSError:
        return None


class VerdictCache:
    """The config texts the gate accepted, remembered so that a restart with the same file skips the check.

    Only acceptance is remembered (a file named after the hash of the gate's fingerprint and the text), never
    settings: nothing is read back but a file's existence. A cache that cannot be used is no cache; it never
    turns a check into an error.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = os.fspath(directory)

    @classmethod
    def from_environment(cls) -> VerdictCache | None:
        """The cache in ``$CACHE_DIRECTORY`` (systemd's ``CacheDirectory=answerd``), if set and safe.

        Safe means owned by this user and writable by nobody else: whoever can write there could make answerd
        skip the check of a file.
        """
        value = os.environ.get("CACHE_DIRECTORY", "").split(":")[0]
        if not value.startswith("/") or gate_fingerprint() is None:
            return None
        try:
            info = os.stat(value)
        except OSError:
            return None
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o022:
            return None
        return cls(value)

    def _entry(self, text: str) -> str:
        fingerprint = gate_fingerprint()
        if fingerprint is None:  # from_environment() gives no cache then; this is for direct construction
            raise OSError("the gate's fingerprint cannot be computed")
        digest = blake2b(fingerprint + text.encode(), digest_size=32).hexdigest()
        return os.path.join(self.directory, f"{_ENTRY_PREFIX}{digest}")

    def accepted(self, text: str) -> bool:
        """Whether the gate accepted exactly this text before (with this answerd)."""
        try:
            os.utime(self._entry(text))  # still in use: keep it among the newest when pruning
        except OSError:
            return False
        return True

    def entries(self) -> list[str]:
        """The paths of the remembered verdicts.

        Raises:
            OSError: the directory cannot be read.
        """
        names = [name for name in os.listdir(self.directory) if name.startswith(_ENTRY_PREFIX)]
        return [os.path.join(self.directory, name) for name in names]

    def remember(self, text: str) -> None:
        """Record that the gate accepted ``text``; keep the newest :data:`CACHE_ENTRIES` entries."""
        try:
            fd = os.open(self._entry(text), os.O_WRONLY | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
            os.close(fd)
            entries = sorted((os.stat(path).st_mtime_ns, path) for path in self.entries())
            for _, path in entries[:-CACHE_ENTRIES]:
                with contextlib.suppress(FileNotFoundError):  # another port pruned it first
                    os.unlink(path)
        except OSError:
            pass  # an unwritable or vanishing cache only costs the next start its check
