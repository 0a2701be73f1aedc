"""Measurement scripts for answerd (run from the repository root: ``python -m bench.NAME``)."""
