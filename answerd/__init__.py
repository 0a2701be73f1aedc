"""answerd: a dial-in answering daemon for Hayes modems (an mgetty replacement for systemd)."""

__all__ = ["__version__"]

__version__ = "0.1.0"
