"""Warnings about a valid configuration that will still not do what its user expects.

A warning never refuses the file: ``answerd check-config`` prints it on stderr and exits 0, ``answerd run``
logs it when it starts (``config.autoppp_without_rule``, ``config.port_without_table``). One place decides
each warning, for both:

* AutoPPP is on (the default) for a login port that has no ``/AutoPPP/`` dispatch rule: a PPP caller is
  detected, but there is nothing to hand it to, so its call ends as ``no-ppp-rule``.
* ``answerd run --port NAME`` for a port without a ``[ports.NAME]`` table whose device (``/dev/NAME``) does
  not exist: most likely a mistyped name, which would otherwise run silently on ``[defaults]``.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from answerd.config.settings import Config, PortSettings
from answerd.core import AUTOPPP, Outcome

__all__ = ["autoppp_warning", "check_config_warnings", "start_warnings"]


def autoppp_warning(settings: PortSettings) -> str | None:
    """Why PPP callers will not work on a port with these settings, or ``None`` when they will (or the
    port does not look for them: ``autoppp = false``, or ``mode = "direct"``)."""
    if not settings.autoppp or settings.mode != "login":
        return None
    if any(rule.match == AUTOPPP for rule in settings.dispatch):
        return None
    return (
        f'autoppp is on but no dispatch rule has match = "{AUTOPPP}": PPP callers will not work on this port '
        f"(their calls end as {Outcome.NO_PPP_RULE.value}); add an {AUTOPPP} rule (e.g. pppd), or set "
        "autoppp = false"
    )


def check_config_warnings(config: Config) -> list[str]:
    """The warnings for ``check-config``, one ``toml.path: text`` line each, for the tables it shows: every
    ``[ports.NAME]``, or ``[defaults]`` when the file has no port table."""
    tables = {f"ports.{name}": settings for name, settings in config.ports.items()} or {"defaults": config.defaults}
    return [f"{path}: {warning}" for path, settings in tables.items() if (warning := autoppp_warning(settings))]


def start_warnings(
    config: Config, port: str, *, exists: Callable[[str], bool] = os.path.exists
) -> list[tuple[str, str]]:
    """The warnings for ``answerd run --port PORT``, each an event name and its text (``exists`` tells whether
    a device path exists)."""
    settings = config.port(port)
    warnings = []
    device = settings.device_path(port)
    if port not in config.ports and not exists(device):
        known = ", ".join(sorted(config.ports)) or "none"
        text = (
            f"port {port!r} has no [ports.{port}] table, so it runs on [defaults] with device {device}, which "
            f"does not exist: is the port name mistyped? (the file's port tables: {known})"
        )
        warnings.append(("config.port_without_table", text))
    autoppp = autoppp_warning(settings)
    if autoppp is not None:
        warnings.append(("config.autoppp_without_rule", autoppp))
    return warnings
