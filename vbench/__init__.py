"""The virtual bench: answerd on a real kernel tty (a USB ACM gadget), real systemd, udev and pppd, in QEMU.

``./dev vbench`` (or ``python3 -m vbench``, as root) builds a Debian guest image from Debian packages with
answerd installed the way ``docs/install.md`` says, boots it with QEMU (software emulation), runs the
scenarios in ``vbench/guest/scenarios.py`` there, and copies the results back. See ``vbench/README.md``.
"""

from __future__ import annotations

__all__: list[str] = []
