"""What the running daemon keeps out of its memory: ssl (asyncio's TLS) and OpenSSL's libssl.

``answerd run`` keeps ssl and rich out of every port's process (``answerd.cli._keep_out_unused_modules``, the
one memory measure kept: 1.0 and 3.7 MiB PSS). This test looks at the real daemon's memory map after a
start, a call and a reload, so a new import that drags ssl back in is caught. (rich is pure Python: it
leaves no shared object to look for; tests/test_cli.py's run path covers the same function.)
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from .harness import Bench

pytestmark = pytest.mark.integration

#: Shared objects the daemon must not map: asyncio's TLS support and the OpenSSL library it needs.
NOT_IN_THE_DAEMON = ("_ssl.", "libssl")


def mapped_objects(pid: int) -> set[str]:
    """The file names of everything mapped into process ``pid``."""
    names = set()
    for line in Path(f"/proc/{pid}/maps").read_text().splitlines():
        parts = line.split(maxsplit=5)
        if len(parts) == 6 and parts[5].startswith("/"):
            names.add(Path(parts[5]).name)
    return names


def test_the_daemon_maps_no_tls_code(make_bench: Callable[..., Bench]) -> None:
    """After start, one call and a reload, ssl's extension and libssl are not mapped."""
    bench = make_bench(mode="direct", direct_program=["/bin/true"], start=False)
    bench.start_sim()
    bench.start_daemon()
    assert bench.notify is not None
    assert bench.daemon is not None
    bench.notify.wait_for("READY=1", 20)

    caller = bench.dial()
    bench.ended()
    caller.hang_up()
    bench.port_settings["rings"] = 2
    bench.write_config()
    bench.daemon.send_signal(signal.SIGHUP)
    bench.wait_event("config.reloaded", changed=True)

    mapped = mapped_objects(bench.daemon.pid)
    assert [] == [name for name in mapped if any(bad in name for bad in NOT_IN_THE_DAEMON)]
    assert any(name.startswith("_pydantic_core") for name in mapped), "the map was read (pydantic is in it)"
