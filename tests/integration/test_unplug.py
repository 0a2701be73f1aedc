"""The modem goes away under the daemon (a USB modem unplugged), found on the virtual bench (vbench/).

On a real USB modem, unplugging it hangs the tty up and removes the device node; udev's device unit goes
away and systemd stops answerd@ (BindsTo=) with SIGTERM while answerd is still waiting for the device to
come back. That stop must be a clean one (exit 0), not "device missing" (69): a unit stopped by an unplug
must not end up failed. Here the simulated modem's exit plays the unplug: its pty is hung up and the link
to it is removed.
"""

from __future__ import annotations

from collections.abc import Callable

from .harness import Bench


def test_sigterm_while_the_unplugged_device_is_awaited_exits_0(make_bench: Callable[..., Bench]) -> None:
    """SIGTERM while answerd waits for its vanished device to come back is a clean stop: exit status 0."""
    bench = make_bench()
    start = bench.mark()
    assert bench.sim is not None
    assert bench.daemon is not None
    bench.sim.terminate()  # the "unplug": the pty is hung up and its link removed
    bench.sim.wait(10)
    assert bench.log is not None
    # The daemon noticed (the event's name differs between daemon versions: port.lost, port.device_gone).
    bench.log.wait_for(lambda r: r.get("event") in ("port.lost", "port.device_gone"), 15, start)
    bench.daemon.terminate()  # systemd's stop, as BindsTo= sends it when the device unit goes away
    assert 0 == bench.daemon.wait(15)
