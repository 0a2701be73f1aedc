"""A PPP call over the bench: pppd on the calling side, answerd's AutoPPP rule running pppd on the answering side.

Needs the bench description's ``ppp = true``, pppd, the kernel's PPP (``/dev/ppp``; ``ppp_async`` is loaded
when it can be), root (pppd and the network namespace) and ``ip``. The calling side's pppd runs in a network
namespace of its own: both ends of the link are on this machine, and without it a ping between the two
addresses would go over the loopback, not over the line. Anything missing skips the test with one message
that names it (the simulated bench always skips: it has ppp = false, and CI's kernel has no PPP).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from hil.bench import Bench
from hil.driver import PPP_ANSWER_ADDRESS, PPP_CALLER_ADDRESS, PPPD, CallingModem, Daemon

#: The calling side's network namespace.
NAMESPACE = "hilppp"
#: Seconds for the link to come up: LCP, PAP (``login`` checks the password with PAM), IPCP.
LINK_UP_S = 90
#: Where answerd's ip-up hook is installed by docs/install.md: with it the record names the PAP user.
PEER_HOOK = Path("/etc/ppp/ip-up.d/answerd")


def _missing(bench: Bench) -> str | None:
    """Why a PPP call cannot be tried here, or ``None``."""
    if not bench.ppp:
        simulated = " (the simulated bench has no PPP)" if bench.simulated else ""
        return f"the bench description says ppp = false{simulated}"
    if not Path(PPPD).is_file():
        return f"no {PPPD} (apt-get install ppp)"
    if os.geteuid() != 0:
        return "pppd and the caller's network namespace need root"
    if shutil.which("ip") is None:
        return "no ip (apt-get install iproute2) for the caller's network namespace"
    if not Path("/dev/ppp").exists() and shutil.which("modprobe") is not None:
        subprocess.run(["modprobe", "-q", "ppp_async"], check=False, timeout=30)
    if not Path("/dev/ppp").exists():
        return "this kernel has no PPP (no /dev/ppp: ppp_generic/ppp_async cannot be loaded)"
    return None


def _has_address(address: str, namespace: str | None = None) -> bool:
    argv = ["ip", *(["-n", namespace] if namespace else []), "-o", "-4", "addr", "show"]
    return f"inet {address} " in subprocess.run(argv, capture_output=True, text=True, timeout=30, check=False).stdout


def _wait(what: str, probe: Callable[[], bool], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not probe():
        if time.monotonic() > deadline:
            raise AssertionError(f"no {what} within {timeout_s} s")
        time.sleep(0.5)


def _ping(target: str, namespace: str | None = None) -> str:
    argv = [*(["ip", "netns", "exec", namespace] if namespace else []), "ping", "-c", "3", "-W", "5", target]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    summary = next((line for line in done.stdout.splitlines() if "packets transmitted" in line), done.stdout)
    assert 0 == done.returncode, f"{' '.join(argv)}: {summary} {done.stderr}"
    return summary


@pytest.fixture
def namespace(bench: Bench) -> Iterator[str]:
    """The calling side's network namespace, with its loopback up; removed afterwards. Skips the test (before
    anything is set up) when the bench cannot make a PPP call."""
    if why := _missing(bench):
        pytest.skip(f"no PPP call on this bench: {why}")
    subprocess.run(["ip", "netns", "del", NAMESPACE], capture_output=True, check=False, timeout=30)
    subprocess.run(["ip", "netns", "add", NAMESPACE], check=True, timeout=30)
    try:
        subprocess.run(["ip", "-n", NAMESPACE, "link", "set", "lo", "up"], check=True, timeout=30)
        yield NAMESPACE
    finally:
        subprocess.run(["ip", "netns", "del", NAMESPACE], capture_output=True, check=False, timeout=30)


def _calling_pppd(bench: Bench, caller: CallingModem, namespace: str, log: Path) -> subprocess.Popen[bytes]:
    """pppd on the calling port, which has just connected: given the line as its stdin (no device name), so
    it takes over the open port without dialling again; PAP with the bench's test account."""
    lines = ["modem", "crtscts"] if caller.has_modem_lines else ["local"]
    argv = ["ip", "netns", "exec", namespace, PPPD, "nodetach", *lines, "noauth", "user", bench.user,
            "password", bench.password, "noipdefault", "ipcp-accept-local", "ipcp-accept-remote", "nodefaultroute",
            "maxfail", "1", "debug", "logfile", str(log)]  # fmt: skip
    with log.with_suffix(".out").open("wb") as out:
        return subprocess.Popen(argv, stdin=caller.port.fd, stdout=out, stderr=out, start_new_session=True)


def test_ppp_link_carries_a_ping(
    namespace: str, bench: Bench, daemon: Daemon, caller: CallingModem, tmp_path: Path
) -> None:
    """The calling modem dials; pppd on the calling side (its own network namespace) talks PPP at answerd's
    prompt; answerd's AutoPPP rule hands the line to pppd, which authenticates the test account with PAP
    (``login``); the link comes up, a ping crosses it both ways; the caller ends the link and hangs up, and
    answerd's call record says how the call ended and (with answerd's ip-up hook installed) who logged in."""
    start = daemon.mark()
    result, _ = caller.dial(bench.number, timeout=caller.wait_for_carrier_s() + 10)
    assert result.startswith(b"CONNECT"), result
    pppd = _calling_pppd(bench, caller, namespace, tmp_path / "calling-pppd.log")
    try:
        daemon.wait_event("call.program_started", timeout=LINK_UP_S, start=start)
        _wait(f"the link on answerd's side ({PPP_ANSWER_ADDRESS})", lambda: _has_address(PPP_ANSWER_ADDRESS), LINK_UP_S)
        _wait(f"the link on the caller's side ({PPP_CALLER_ADDRESS})",
              lambda: _has_address(PPP_CALLER_ADDRESS, namespace), LINK_UP_S)  # fmt: skip
        there = _ping(PPP_CALLER_ADDRESS)
        back = _ping(PPP_ANSWER_ADDRESS, namespace)
    finally:
        # The caller ends the link (LCP Terminate-Request), then hangs up the line.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pppd.pid, signal.SIGTERM)
        try:
            pppd.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(pppd.pid, signal.SIGKILL)
            pppd.wait()
        caller.hang_up()
    index, ended = daemon.wait_event("call.ended", timeout=60, start=start)
    daemon.wait_ready(timeout=120, start=index)
    print(f"ping answerd -> caller: {there}; caller -> answerd: {back}; record: {ended}")
    assert os.path.basename(str(ended.get("program"))) == "pppd"
    assert ended["outcome"] in {"answered", "carrier-lost"}, ended
    assert ended["user"] == (bench.user if PEER_HOOK.exists() else "/AutoPPP/"), ended
