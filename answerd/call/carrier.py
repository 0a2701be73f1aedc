"""The carrier during a connected call, where the port's modem-control lines can read DCD.

A pty or a three-wire cable has no DCD (``ModemLines.carrier()`` is ``None``): there the modem's own
``NO CARRIER`` and the kernel's hang-up are all answerd learns, and these functions do nothing.
"""

from __future__ import annotations

import asyncio

from answerd.call.stage import CallLine
from answerd.line.port import ModemLines

__all__ = ["CARRIER_POLL_S", "carrier_gone", "watch_carrier"]

#: How often DCD is read while a call is up (only on lines that have DCD).
CARRIER_POLL_S = 0.2


def carrier_gone(lines: ModemLines) -> bool:
    """Whether DCD can be read and is low now (a line whose DCD cannot be read is never "gone").

    A read that fails counts as gone: the device vanished with the caller.
    """
    try:
        return lines.carrier() is False
    except OSError:
        return True


def watch_carrier(lines: ModemLines, line: CallLine) -> asyncio.Task[None] | None:
    """Poll DCD every :data:`CARRIER_POLL_S` and drop ``line`` when it goes low; ``None`` if DCD cannot be read."""
    if lines.carrier() is None:
        return None

    async def watch() -> None:
        while not line.lost.is_set():
            await asyncio.sleep(CARRIER_POLL_S)
            if carrier_gone(lines):
                line.drop("carrier")

    return asyncio.get_running_loop().create_task(watch())
