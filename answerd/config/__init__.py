"""Configuration: the settings declaration and how a file becomes settings.

``load_config`` here is TEMPORARY on the daemon branch (the gate's in-process check, already there): the
configuration branch provides the real one with the same name and signature.
"""

from __future__ import annotations

from answerd.config.gate import load_config
from answerd.config.settings import Config, ConfigError, PortSettings

__all__ = ["Config", "ConfigError", "PortSettings", "load_config"]
