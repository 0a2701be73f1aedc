"""Imported by the floor probes (bench/floor.py, bench/footprint.py): pydantic with one one-field model, validated.

That is the least any pydantic-configured daemon holds: pydantic's modules, the validator it builds for a
model, and what pydantic imports on the way (importlib.metadata for its plugins, and with it email, zipfile,
shutil, tempfile, hashlib).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class OneField(BaseModel):
    """The smallest strict, frozen settings model."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    value: int = 0


OneField.model_validate({"value": 1})
