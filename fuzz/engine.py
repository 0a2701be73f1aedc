"""Run one harness under atheris: ``python -m fuzz.engine NAME [libFuzzer flags] [corpus dirs]``.

answerd is imported inside ``atheris.instrument_imports`` so its code (not the standard library's, not
pydantic's compiled core) is what coverage guides. Everything after NAME goes to libFuzzer unchanged.
"""

from __future__ import annotations

import importlib
import sys

__all__ = ["main"]


def main(argv: list[str]) -> None:
    """Instrument answerd, load the named harness and hand control to libFuzzer (which exits)."""
    import atheris  # noqa: PLC0415 (only here: the harnesses themselves run without atheris)

    from fuzz import HARNESSES  # noqa: PLC0415 (nothing of answerd may load before the instrumentation)

    name, flags = argv[1], argv[2:]
    if name not in HARNESSES:
        sys.exit(f"unknown harness {name!r} (known: {', '.join(HARNESSES)})")
    with atheris.instrument_imports(include=["answerd"]):
        module = importlib.import_module(HARNESSES[name])
    atheris.Setup([f"fuzz-{name}", *flags], module.test_one_input)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
