"""Process exit codes of ``answerd``: one table, shared by the CLI and the daemon (the README lists them)."""

from __future__ import annotations

__all__ = ["ExitCode"]


class ExitCode:
    """Process exit codes (LSB init-script codes and sysexits), documented in the README."""

    OK = 0
    INTERNAL_ERROR = 1
    USAGE = 2
    CONFIG = 6  # LSB "program is not configured"; the unit has RestartPreventExitStatus=6
    UNAVAILABLE = 69  # EX_UNAVAILABLE: the modem does not initialise, or the device is gone
    TEMPFAIL = 75  # EX_TEMPFAIL: the device is busy (another answerd holds it)
    NOPERM = 77  # EX_NOPERM: no permission to open the device
