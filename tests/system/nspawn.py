"""A Debian root with real systemd as PID 1, booted with systemd-nspawn, for testing answerd's unit.

* :func:`ensure_root` builds the root once with debootstrap into a cache directory (default
  ``/var/cache/answerd-tests/bookworm-systemd``, or ``$ANSWERD_TEST_CACHE``) under a file lock, so parallel
  runs wait for one build instead of colliding; a half-built root is never used (it is built next to the
  final name and renamed into place with a stamp file last).
* :class:`Container` boots it with ``--volatile=overlay`` (the cached tree stays read-only: every write
  lands in a tmpfs that is gone at power-off), ``--private-network`` (the simulated phone line's TCP port
  cannot collide with anything on the host) and ``--register=no --keep-unit`` (no systemd-machined on the
  host). Each container gets a cgroup of its own (``--keep-unit`` would otherwise put two containers' systemd
  in one cgroup tree, where they break each other's units). Files are put in with ``--bind``/``--bind-ro``;
  commands run inside with ``nsenter`` on the container's PID 1, which needs no service in the container and
  nothing on the host.

answerd itself is not installed in the root: the source package and the test venv's site-packages are bound
read-only and found through ``PYTHONPATH`` by a small ``/usr/local/bin/answerd`` wrapper. The venv's
compiled wheels (pydantic-core, systemd-python) are CPython 3.11 ABI, like the root's Debian python3.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import shlex
import shutil
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Packages the root needs besides minbase: systemd as init, D-Bus for systemctl/logind, python3 for
#: answerd, util-linux for setsid, login for utmp tools, procps for /bin/kill (ExecReload=) and ps.
PACKAGES = ("systemd", "systemd-sysv", "dbus", "python3", "util-linux", "login", "procps")
SUITE = "bookworm"
#: Bumped when the recipe changes, so an old cached root is rebuilt instead of reused.
RECIPE = f"1 {SUITE} minbase {','.join(PACKAGES)}"
DEFAULT_CACHE = Path("/var/cache/answerd-tests")
DEFAULT_MIRROR = "http://deb.debian.org/debian"
#: PATH for commands run inside the container.
INNER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


class ContainerError(AssertionError):
    """The container could not be built, booted, driven or stopped (the message has the details)."""


def cache_dir() -> Path:
    """Where built roots are kept: ``$ANSWERD_TEST_CACHE`` or ``/var/cache/answerd-tests``."""
    return Path(os.environ.get("ANSWERD_TEST_CACHE", DEFAULT_CACHE))


def missing_tools() -> list[str]:
    """The host commands this module needs that are not installed."""
    return [tool for tool in ("systemd-nspawn", "debootstrap", "nsenter") if shutil.which(tool) is None]


def ensure_root(cache: Path | None = None, *, build_timeout_s: float = 600.0) -> Path:
    """Return a booted-ready root directory, building it with debootstrap if the cache has none.

    Raises:
        ContainerError: debootstrap failed (its log is in the message).
    """
    base = cache if cache is not None else cache_dir()
    base.mkdir(parents=True, exist_ok=True)
    root = base / f"{SUITE}-systemd"
    stamp = base / f"{SUITE}-systemd.stamp"
    with open(base / f"{SUITE}-systemd.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a parallel run builds it meanwhile: wait, then reuse
        if root.is_dir() and stamp.is_file() and stamp.read_text() == RECIPE:
            return root
        stamp.unlink(missing_ok=True)
        building = base / f"{SUITE}-systemd.building"
        for stale in (building, root):
            if stale.exists():
                shutil.rmtree(stale)
        mirror = os.environ.get("ANSWERD_TEST_MIRROR", DEFAULT_MIRROR)
        log = base / f"{SUITE}-systemd.build.log"
        with open(log, "w") as out:
            result = subprocess.run(
                ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(building), mirror],
                stdout=out, stderr=subprocess.STDOUT, timeout=build_timeout_s, check=False,
            )  # fmt: skip
        if result.returncode != 0:
            raise ContainerError(f"debootstrap failed ({result.returncode}); last lines of {log}:\n{_tail(log)}")
        building.rename(root)
        stamp.write_text(RECIPE)
        return root


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read: {exc})"


@dataclass(frozen=True)
class Bind:
    """A host path bound into the container (read-only unless ``writable``)."""

    host: Path
    inside: str
    writable: bool = False

    def option(self) -> str:
        """The systemd-nspawn option for this bind."""
        return f"--bind{'' if self.writable else '-ro'}={self.host}:{self.inside}"


@dataclass
class Container:
    """A booted container; use :meth:`boot` and :meth:`poweroff` (or ``with Container(...).booted():``)."""

    root: Path
    binds: Sequence[Bind]
    log_path: Path
    name: str = field(default_factory=lambda: f"answerd-test-{uuid.uuid4().hex[:8]}")
    process: subprocess.Popen[bytes] | None = None
    leader: int | None = None
    boot_seconds: float | None = None
    cgroups: list[Path] = field(default_factory=list)

    @contextlib.contextmanager
    def booted(self, timeout_s: float = 60.0) -> Iterator[Container]:
        """Boot, yield, and power off whatever happened."""
        self.boot(timeout_s)
        try:
            yield self
        finally:
            self.poweroff()

    def boot(self, timeout_s: float = 60.0) -> None:
        """Start systemd-nspawn and wait until systemd in the container has finished booting.

        Raises:
            ContainerError: nspawn exited or the boot did not finish in time (with nspawn's output).
        """
        start = time.monotonic()
        command = [
            "systemd-nspawn", "--quiet", "--register=no", "--keep-unit", "--volatile=overlay",
            "--private-network", f"--machine={self.name}", f"--directory={self.root}",
            *(bind.option() for bind in self.binds), "--boot",
        ]  # fmt: skip
        # nspawn --keep-unit runs the container in the caller's cgroup; two containers in one cgroup would
        # share (and fight over) one systemd cgroup tree. A shell moves itself to a cgroup of its own, then
        # becomes nspawn.
        self.cgroups = _make_cgroups(self.name)
        moves = " ".join(shlex.quote(str(group / "cgroup.procs")) for group in self.cgroups)
        script = f'for procs in {moves}; do echo $$ > "$procs" || exit 125; done; exec "$@"' if moves else 'exec "$@"'
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(
                ["/bin/sh", "-c", script, "sh", *command],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        deadline = start + timeout_s
        self.leader = self._wait_leader(deadline)
        state = ""
        while time.monotonic() < deadline:
            state = self.run(["systemctl", "is-system-running"], check=False).stdout.strip()
            if state in {"running", "degraded"}:
                break
            time.sleep(0.05)
        else:
            raise ContainerError(f"the container did not finish booting (state {state!r}):\n{self.log_tail()}")
        # The simulated phone line is TCP on 127.0.0.1 inside the container's private network. systemd brings
        # lo up at boot, but not everywhere (seen when this runs inside another container): make sure.
        self.run(["python3", "-c", _LOOPBACK_UP], check=True)
        self.boot_seconds = time.monotonic() - start

    def _wait_leader(self, deadline: float) -> int:
        """The pid (on the host) of the container's PID 1: nspawn's child whose pid in its namespace is 1."""
        assert self.process is not None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise ContainerError(f"systemd-nspawn exited with {self.process.returncode}:\n{self.log_tail()}")
            for pid in _children(self.process.pid):
                if _ns_pid(pid) == 1:
                    return pid
                for grandchild in _children(pid):  # nspawn's helper between it and the container's init
                    if _ns_pid(grandchild) == 1:
                        return grandchild
            time.sleep(0.02)
        raise ContainerError(f"no container init appeared:\n{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        """The last lines nspawn and the container's console printed."""
        return _tail(self.log_path, lines)

    def run(
        self, argv: Sequence[str], *, check: bool = True, timeout_s: float = 30.0, input_text: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run ``argv`` inside the container (all its namespaces, root directory, a clean environment).

        Raises:
            ContainerError: with ``check``, the command failed (its output is in the message).
        """
        if self.leader is None:
            raise ContainerError("the container is not running")
        nsenter = shutil.which("nsenter") or "/usr/bin/nsenter"
        env = {"PATH": INNER_PATH, "LANG": "C.UTF-8", "SYSTEMD_COLORS": "0", "SYSTEMD_PAGER": ""}
        with subprocess.Popen(
            [nsenter, f"--target={self.leader}", "--all", "--", *argv],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
        ) as process:  # fmt: skip
            try:
                stdout, stderr = process.communicate(input_text, timeout=timeout_s)
            except subprocess.TimeoutExpired:
                stop_nsenter(process)
                raise ContainerError(f"{' '.join(argv)} did not finish in {timeout_s} s") from None
        result = subprocess.CompletedProcess(argv, process.returncode, stdout, stderr)
        if check and result.returncode != 0:
            raise ContainerError(
                f"{' '.join(argv)} exited {result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}"
            )
        return result

    def systemctl(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """``systemctl ARGS`` inside the container."""
        return self.run(["systemctl", "--no-pager", *args], check=check)

    def show(self, unit: str, *properties: str) -> dict[str, str]:
        """``systemctl show -p ...`` as a dict."""
        out = self.systemctl("show", unit, *(f"--property={p}" for p in properties)).stdout
        return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)

    def cursor(self) -> str:
        """The journal's current end, for :meth:`journal` ``after=``."""
        out = self.run(["journalctl", "--lines=0", "--show-cursor", "--quiet"], check=False).stdout
        for line in out.splitlines():
            if line.startswith("-- cursor: "):
                return line.removeprefix("-- cursor: ").strip()
        return ""

    def journal(self, *matches: str, after: str = "") -> list[dict[str, Any]]:
        """Journal entries (as ``-o json`` objects) matching journalctl ``matches``, after cursor ``after``.

        The cursor is applied here, not with ``--after-cursor``: journalctl 252 prints nothing at all for
        ``--after-cursor`` combined with a field match such as ``OUTCOME=answered``.
        """
        out = self.run(["journalctl", "--no-pager", "--output=json", "--all", *matches], check=False).stdout
        start = _seqnum(after) if after else None
        entries = []
        for line in out.splitlines():
            with contextlib.suppress(ValueError):
                entry = json.loads(line)
                if start is None or _seqnum(str(entry.get("__CURSOR", ""))) > start:
                    entries.append(entry)
        return entries

    def wait_journal(
        self,
        *matches: str,
        after: str = "",
        timeout_s: float = 20.0,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> dict[str, Any]:
        """Wait for a journal entry matching ``matches`` (and ``where``); return it.

        Raises:
            ContainerError: none arrived in time (with the unit's recent log).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            for entry in self.journal(*matches, after=after):
                if where is None or where(entry):
                    return entry
            if time.monotonic() >= deadline:
                recent = self.run(["journalctl", "--no-pager", "--lines=40", "--all"], check=False).stdout
                raise ContainerError(
                    f"no journal entry {' '.join(matches)} in {timeout_s} s; recent journal:\n{recent}"
                )
            time.sleep(0.1)

    def wait_property(
        self, unit: str, prop: str, accept: Callable[[str], bool], timeout_s: float = 20.0, interval_s: float = 0.05
    ) -> str:
        """Poll ``systemctl show -p PROP`` until ``accept(value)``; return the value.

        Raises:
            ContainerError: it did not happen in time (with ``systemctl status``).
        """
        deadline = time.monotonic() + timeout_s
        while True:
            value = self.show(unit, prop).get(prop, "")
            if accept(value):
                return value
            if time.monotonic() >= deadline:
                status = self.systemctl("status", unit, check=False).stdout
                raise ContainerError(f"{unit} {prop}={value!r} after {timeout_s} s:\n{status}")
            time.sleep(interval_s)

    def poweroff(self, timeout_s: float = 30.0) -> None:
        """Shut the container down in order (nspawn turns SIGTERM into a poweroff); SIGKILL on timeout."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        self.leader = None
        for group in self.cgroups:
            _remove_cgroup(group)


#: Sets lo up with SIOCGIFFLAGS/SIOCSIFFLAGS (the container has python3 but maybe no iproute2).
_LOOPBACK_UP = """
import fcntl, socket, struct
sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
flags = struct.unpack("16sh14x", fcntl.ioctl(sock, 0x8913, struct.pack("16sh14x", b"lo", 0)))[1]
fcntl.ioctl(sock, 0x8914, struct.pack("16sh14x", b"lo", flags | 1))
"""


def _make_cgroups(name: str) -> list[Path]:
    """Create cgroup ``name`` below this process's own in the hierarchies nspawn uses (cgroup2, name=systemd)."""
    own: dict[str, str] = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        own[controllers] = path
    made = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        mount_point = line.split()[4]
        fstype, _, options = line.split(" - ", 1)[1].split(" ", 2)
        if fstype == "cgroup2":
            key = ""
        elif fstype == "cgroup" and "name=systemd" in options.split(","):
            key = "name=systemd"
        else:
            continue
        if key in own:
            group = Path(mount_point + own[key].rstrip("/")) / name
            group.mkdir(exist_ok=True)
            made.append(group)
    return made


def _remove_cgroup(group: Path) -> None:
    """Remove ``group`` and what the container's systemd left below it (empty cgroups only)."""
    if not group.is_dir():
        return
    for directory, _, _ in sorted(os.walk(group), key=lambda walked: -len(walked[0])):
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def _seqnum(cursor: str) -> tuple[str, int]:
    """The (sequence-number id, sequence number) of a journal cursor: entries sort by it within one boot."""
    fields = dict(part.split("=", 1) for part in cursor.split(";") if "=" in part)
    return fields.get("s", ""), int(fields.get("i", "0"), 16)


def stop_nsenter(process: subprocess.Popen[Any], timeout_s: float = 5.0) -> None:
    """End a command started with ``nsenter``: SIGKILL what nsenter runs, then let nsenter reap it and exit.

    nsenter forks the command into the container's pid namespace and waits for it. Killing nsenter first would
    leave the command to the host's PID 1, which may never reap it, and systemd's shutdown in the container
    then waits for the zombie for ten seconds.
    """
    if process.poll() is None:
        for child in _children(process.pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(child, signal.SIGKILL)
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _ns_pid(pid: int) -> int | None:
    """The innermost pid of ``pid`` (the last NSpid field), or None if it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("NSpid:"):
            return int(line.split()[-1])
    return None
