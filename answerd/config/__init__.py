"""Configuration: the settings, declared once as pydantic models, and the one way a file becomes settings.

``check-config``, ``run`` and reload all call :func:`load_config` and get a :class:`Config` or a
:class:`ConfigError` with one ``toml.path: message`` line per problem.
"""

from __future__ import annotations

from answerd.config.errors import ConfigError
from answerd.config.load import load_config, load_config_text
from answerd.config.settings import Config, PortSettings

__all__ = ["Config", "ConfigError", "PortSettings", "load_config", "load_config_text"]
