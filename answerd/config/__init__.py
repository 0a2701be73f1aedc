"""Configuration: the settings declaration and how a file becomes settings."""
