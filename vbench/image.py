"""Build the guest image: a Debian root from Debian packages, answerd installed as docs/install.md says.

Two cached layers under the cache directory (``$VBENCH_CACHE``, default ``/var/cache/answerd-vbench``):

* ``base-<key>/``: what ``debootstrap --variant=minbase`` makes of :data:`PACKAGES` (about 3 minutes; keyed
  by the package list only, so a change to answerd does not download Debian again);
* ``image-<key>/``: ``root.img`` (ext4, made with ``mkfs.ext4 -d``: no loop mount), ``vmlinuz`` and
  ``initrd.img``, keyed by the base key, the wheel's sources, ``units/``, ``docs/install.md`` and
  ``vbench/`` itself. A directory appears under its final name only when complete.

answerd goes in the way ``docs/install.md`` tells a user (:data:`INSTALL_STEPS`: every step is checked to
be still written there, so the bench and the docs cannot drift apart), from a wheel of the working tree.
The guest has no network, and neither do these steps: the wheel and its PyPI dependencies are made on the
host (``pip wheel``) and installed with ``--no-index --find-links``, the docs' offline variant.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from vbench.steps import BenchError, run_step, say

__all__ = ["PACKAGES", "Image", "cache_dir", "ensure_image"]

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
#: Debian packages of the guest. The kernel and init; udev and kmod for the gadget and its device unit; ppp and
#: iproute2 (network namespaces) and iputils-ping for the PPP call; socat joins the caller's pppd to the
#: simulated phone line; procps for ExecReload='s /bin/kill; dbus for systemctl and logind. The second line is
#: docs/install.md's own `apt-get install` line (python3-dev, gcc, ... build systemd-python where no wheel
#: is at hand).
PACKAGES = (
    "linux-image-amd64", "systemd-sysv", "udev", "kmod", "dbus", "ppp", "iproute2", "iputils-ping", "socat",
    "procps", "python3",
    "python3-venv", "python3-dev", "gcc", "pkg-config", "libsystemd-dev", "login", "util-linux",
)  # fmt: skip
#: Bumped when the recipe below changes in a way the hashed inputs do not show.
RECIPE = "3"
#: The guest's test account (a real /etc/shadow entry: login and pppd's PAP `login` check it).
TEST_USER = "caller"
TEST_PASSWORD = "vbench-secret"  # a throw-away account inside a throw-away VM
#: USB ids of the bench's ACM gadget, matched by the udev rule the bench installs.
GADGET_VENDOR, GADGET_PRODUCT, GADGET_SERIAL = "1d6b", "0104", "VBENCH0001"

REPO = Path(__file__).resolve().parent.parent
GUEST = Path(__file__).resolve().parent / "guest"

#: docs/install.md, step by step, as argv run in the image root. ``{src}`` is the source tree inside the root,
#: ``{wheels}`` the wheel directory. Each step's ``doc`` text must appear verbatim in docs/install.md.
INSTALL_STEPS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("apt-get install python3-venv python3-dev gcc pkg-config libsystemd-dev login util-linux",
     ("apt-get", "install", "-y", "--no-download", "python3-venv", "python3-dev", "gcc", "pkg-config",
      "libsystemd-dev", "login", "util-linux")),
    ("python3 -m venv /opt/answerd", ("python3", "-m", "venv", "/opt/answerd")),
    ("/opt/answerd/bin/pip install --no-index --find-links wheels/ answerd",
     ("/opt/answerd/bin/pip", "install", "--no-index", "--find-links", "{wheels}", "answerd")),
    ("ln -s /opt/answerd/bin/answerd /usr/local/bin/answerd",
     ("ln", "-s", "/opt/answerd/bin/answerd", "/usr/local/bin/answerd")),
    ("install -D -m 644 /path/to/answerd/README.md /usr/local/share/doc/answerd/README.md",
     ("install", "-D", "-m", "644", "{src}/README.md", "/usr/local/share/doc/answerd/README.md")),
    ("answerd --version", ("answerd", "--version")),
    ("install -d /etc/answerd", ("install", "-d", "/etc/answerd")),
    ("answerd check-config /etc/answerd/answerd.toml", ("answerd", "check-config", "/etc/answerd/answerd.toml")),
    ("install -m 644 units/answerd@.service /etc/systemd/system/",
     ("install", "-m", "644", "{src}/units/answerd@.service", "/etc/systemd/system/")),
    ("install -m 644 answerd/catalog/answerd.catalog /usr/lib/systemd/catalog/",
     ("install", "-m", "644", "{src}/answerd/catalog/answerd.catalog", "/usr/lib/systemd/catalog/")),
    ("journalctl --update-catalog", ("journalctl", "--update-catalog")),
    ("install -m 644 units/99-answerd.rules /etc/udev/rules.d/",
     ("install", "-m", "644", "{src}/units/99-answerd.rules", "/etc/udev/rules.d/")),
    ("apt-get install ppp", ("apt-get", "install", "-y", "--no-download", "ppp")),
    ("ln -s /opt/answerd/bin/answerd-ppp-peer /etc/ppp/ip-up.d/answerd",
     ("ln", "-s", "/opt/answerd/bin/answerd-ppp-peer", "/etc/ppp/ip-up.d/answerd")),
)  # fmt: skip
#: The HIL suite (hil/) runs in the guest from a venv of its own (answerd and pytest, from the same offline
#: wheels), so that answerd's own install stays exactly what docs/install.md makes.
HIL_VENV = "/opt/vbench-hil"
HIL_PACKAGES = ("pytest", "pytest-timeout")
#: Where the config goes between `install -d /etc/answerd` and check-config (docs: copy the example, edit).
_CONFIG_AFTER = "install -d /etc/answerd"


@dataclass(frozen=True)
class Image:
    """A built guest: its root filesystem image and the kernel and initrd to boot it with."""

    root: Path
    kernel: Path
    initrd: Path
    key: str


def cache_dir() -> Path:
    """Where images are kept: ``$VBENCH_CACHE`` or ``/var/cache/answerd-vbench``."""
    return Path(os.environ.get("VBENCH_CACHE", "/var/cache/answerd-vbench"))


def ensure_image(cache: Path, python: str) -> Image:
    """Return the cached image for the current inputs, building what is missing.

    ``python`` is the host interpreter that builds the wheels (with pip; the project's venv).

    Raises:
        BenchError: a build step failed (with its log's tail) or docs/install.md lost a step.
    """
    _check_docs()
    cache.mkdir(parents=True, exist_ok=True)
    base_key = _digest([RECIPE, SUITE, *PACKAGES])
    key = _digest([base_key, *(_tree_digest(p) for p in _INPUTS)])
    final = cache / f"image-{key}"
    image = Image(final / "root.img", final / "vmlinuz", final / "initrd.img", key)
    if (final / "complete").is_file():
        say(f"image {key} is cached ({final})")
        return image
    base = _ensure_base(cache, base_key)
    work = cache / f"image-{key}.building"
    if work.exists():
        shutil.rmtree(work)
    work.mkdir()
    log = work / "build.log"
    root = work / "root"
    run_step("copying the base root", ["cp", "-a", "--reflink=auto", str(base), str(root)], log=log, timeout_s=300)
    wheels = root / "tmp/answerd-wheels"
    wheels.mkdir(parents=True)
    run_step(
        "building answerd's wheel from the working tree",
        [python, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(wheels), str(REPO)],
        log=log,
        timeout_s=300,
    )
    wheel = next(wheels.glob("answerd-*.whl"))
    run_step("fetching or building the wheels of answerd's PyPI dependencies (host pip cache)",
             [python, "-m", "pip", "wheel", "-q", "-w", str(wheels), "--find-links", str(wheels), str(wheel)],
             log=log, timeout_s=600)  # fmt: skip
    pins = [f"{name}=={metadata.version(name)}" for name in HIL_PACKAGES]  # the host venv's, as tested there
    run_step(f"fetching the HIL suite's wheels ({', '.join(pins)})",
             [python, "-m", "pip", "wheel", "-q", "-w", str(wheels), "--find-links", str(wheels), *pins],
             log=log, timeout_s=600)  # fmt: skip
    src = root / "tmp/answerd-src"
    _copy_source(src, root)
    _install(root, log)
    _set_up_guest(root)
    shutil.rmtree(wheels)
    shutil.rmtree(src)
    _make_disk(root, work, log)
    shutil.rmtree(root)
    (work / "complete").write_text(key + "\n")
    for old in cache.glob("image-*"):
        if old.is_dir() and old.name != final.name and not old.name.endswith(".building"):
            shutil.rmtree(old)  # one image is enough: CI starts cold anyway, a developer wants the latest
    work.rename(final)
    return image


#: What the image is made of besides the Debian packages. Not vbench/results/ (every run writes there) nor
#: vbench/README.md: a cached image stays valid across runs and doc edits.
_INPUTS = (
    REPO / "answerd",
    REPO / "pyproject.toml",
    REPO / "README.md",
    REPO / "units",
    REPO / "docs/install.md",
    REPO / "hil",
    *sorted(Path(__file__).resolve().parent.glob("*.py")),
    GUEST,
)


def _check_docs() -> None:
    text = (REPO / "docs/install.md").read_text()
    missing = [doc for doc, _ in INSTALL_STEPS if doc not in text]
    if missing:
        raise BenchError("docs/install.md no longer has these steps the bench runs: " + "; ".join(missing))


def _digest(parts: Sequence[str]) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _tree_digest(path: Path) -> str:
    h = hashlib.sha256()
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    for file in files:
        if "__pycache__" in file.parts or file.suffix == ".pyc":
            continue
        h.update(str(file.relative_to(REPO)).encode() + b"\0" + file.read_bytes() + b"\0")
    return h.hexdigest()


def _ensure_base(cache: Path, key: str) -> Path:
    base = cache / f"base-{key}"
    if (base / "etc/debian_version").is_file() and (cache / f"base-{key}.complete").is_file():
        say(f"base root {key} is cached")
        return base
    building = cache / f"base-{key}.building"
    if building.exists():
        shutil.rmtree(building)
    log = cache / f"base-{key}.log"
    log.unlink(missing_ok=True)
    mirror = os.environ.get("VBENCH_MIRROR", MIRROR)
    run_step(
        f"debootstrap --variant=minbase {SUITE} with {len(PACKAGES)} packages (the longest step, ~3-5 min)",
        ["debootstrap", "--variant=minbase", f"--include={','.join(PACKAGES)}", SUITE, str(building), mirror],
        log=log, timeout_s=1200,
    )  # fmt: skip
    for old in cache.glob("base-*"):
        if old.is_dir() and old != building:
            shutil.rmtree(old)
    # Downloaded .debs are not needed in the image (smaller disk, faster mkfs).
    for deb in (building / "var/cache/apt/archives").glob("*.deb"):
        deb.unlink()
    building.rename(base)
    (cache / f"base-{key}.complete").write_text(key + "\n")
    return base


def _copy_source(src: Path, root: Path) -> None:
    """The parts of the source tree docs/install.md copies from (``/path/to/answerd``)."""
    src.mkdir(parents=True)
    for name in ("README.md", "config.example.toml"):
        shutil.copy2(REPO / name, src / name)
    shutil.copytree(REPO / "units", src / "units")
    shutil.copytree(REPO / "answerd/catalog", src / "answerd/catalog")
    # docs/install.md: "edit the match in units/99-answerd.rules" -- the bench's gadget instead of the FTDI.
    rules = src / "units/99-answerd.rules"
    text = rules.read_text()
    example = next(line for line in text.splitlines() if line.startswith('ENV{ID_VENDOR_ID}=="0403"'))
    ours = (
        f'ENV{{ID_VENDOR_ID}}=="{GADGET_VENDOR}", ENV{{ID_MODEL_ID}}=="{GADGET_PRODUCT}", '
        f'ENV{{ID_SERIAL_SHORT}}=="{GADGET_SERIAL}", GOTO="answerd_modem"'
    )
    rules.write_text(text.replace(example, ours))
    del root


@contextmanager
def _mounted(root: Path) -> Iterator[None]:
    """/proc and /dev inside the root for the chroot steps (bind mounts, undone afterwards)."""
    mounts = [(["mount", "-t", "proc", "proc", str(root / "proc")], root / "proc"),
              (["mount", "--bind", "/dev", str(root / "dev")], root / "dev")]  # fmt: skip
    done: list[Path] = []
    try:
        for argv, target in mounts:
            subprocess.run(argv, check=True, timeout=30)
            done.append(target)
        yield
    finally:
        for target in reversed(done):
            subprocess.run(["umount", "--lazy", str(target)], check=False, timeout=30)


def _install(root: Path, log: Path) -> None:
    env = ["env", "-i", "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8",
           "DEBIAN_FRONTEND=noninteractive", "HOME=/root"]  # fmt: skip
    with _mounted(root):
        for doc, argv in INSTALL_STEPS:
            real = [a.format(src="/tmp/answerd-src", wheels="/tmp/answerd-wheels") for a in argv]
            run_step(f"docs/install.md in the image: {doc}", ["chroot", str(root), *env, *real], log=log,
                     timeout_s=600)  # fmt: skip
            if doc == _CONFIG_AFTER:
                shutil.copy2(GUEST / "answerd.toml", root / "etc/answerd/answerd.toml")
                os.chmod(root / "etc/answerd/answerd.toml", 0o644)
        run_step("creating the test account", ["chroot", str(root), *env, "useradd", "-m", "-s", "/bin/bash",
                                               TEST_USER], log=log, timeout_s=60)  # fmt: skip
        run_step("setting its password", ["chroot", str(root), *env, "chpasswd"], log=log, timeout_s=60,
                 stdin=f"{TEST_USER}:{TEST_PASSWORD}\n".encode())  # fmt: skip
        run_step("the HIL suite's venv", ["chroot", str(root), *env, "python3", "-m", "venv", HIL_VENV], log=log,
                 timeout_s=300)  # fmt: skip
        run_step("the HIL suite's venv: answerd and pytest, offline",
                 ["chroot", str(root), *env, f"{HIL_VENV}/bin/pip", "install", "-q", "--no-index", "--find-links",
                  "/tmp/answerd-wheels", "answerd", *HIL_PACKAGES], log=log, timeout_s=600)  # fmt: skip


def _set_up_guest(root: Path) -> None:
    """The bench's own parts: the scenario service, PPP's PAP file, no getty on the console."""
    lib = root / "usr/local/lib/vbench"
    lib.mkdir(parents=True)
    for file in GUEST.iterdir():
        if file.is_file():
            shutil.copy2(file, lib / file.name)
    # The HIL suite, run from here with `python -m pytest hil` (pyproject.toml holds its pytest settings).
    suite = lib / "suite"
    shutil.copytree(REPO / "hil", suite / "hil", ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    shutil.copy2(REPO / "pyproject.toml", suite / "pyproject.toml")
    shutil.copy2(GUEST / "vbench.service", root / "etc/systemd/system/vbench.service")
    wants = root / "etc/systemd/system/multi-user.target.wants"
    wants.mkdir(parents=True, exist_ok=True)
    (wants / "vbench.service").symlink_to("/etc/systemd/system/vbench.service")
    for unit in ("serial-getty@ttyS0.service", "getty@tty1.service", "apt-daily.timer", "apt-daily-upgrade.timer",
                 "e2scrub_reap.service", "systemd-timesyncd.service"):  # fmt: skip
        link = root / "etc/systemd/system" / unit
        link.unlink(missing_ok=True)
        link.symlink_to("/dev/null")
    # docs/install.md section 4: callers authenticate with PAP against the system's users.
    (root / "etc/ppp/pap-secrets").write_text('* * "" *\n')
    os.chmod(root / "etc/ppp/pap-secrets", 0o600)
    (root / "etc/hostname").write_text("vbench\n")
    (root / "etc/fstab").write_text("/dev/vda / ext4 rw,noatime 0 1\n")
    params = {"user": TEST_USER, "password": TEST_PASSWORD, "gadget": [GADGET_VENDOR, GADGET_PRODUCT, GADGET_SERIAL]}
    (lib / "params.json").write_text(json.dumps(params) + "\n")


def _make_disk(root: Path, work: Path, log: Path) -> None:
    for name, pattern in (("vmlinuz", "vmlinuz-*"), ("initrd.img", "initrd.img-*")):
        found = sorted((root / "boot").glob(pattern))
        if not found:
            raise BenchError(f"no /boot/{pattern} in the image root: the kernel package did not install")
        shutil.copy2(found[-1], work / name)
    used = int(subprocess.run(["du", "-sxm", str(root)], check=True, capture_output=True, text=True,
                              timeout=300).stdout.split()[0])  # fmt: skip
    size_mb = int(used * 1.25) + 512
    run_step(f"mkfs.ext4 -d: {used} MiB of files into a {size_mb} MiB disk",
             ["mkfs.ext4", "-q", "-F", "-L", "vbench", "-E", "root_owner=0:0", "-d", str(root),
              str(work / "root.img"), f"{size_mb}M"], log=log, timeout_s=600)  # fmt: skip


if __name__ == "__main__":  # pragma: no cover - a developer's shortcut: build only
    print(ensure_image(cache_dir(), sys.executable))
