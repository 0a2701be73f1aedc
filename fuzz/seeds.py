"""Write the seed corpora, ``fuzz/corpus/NAME/``, from the unit tests' tables: ``python -m fuzz.seeds``.

Each seed is a script in its harness's format (see :class:`fuzz.source.Source`: one byte per small choice,
a length byte before each chunk), so the fuzzer starts from inputs that already reach deep: real result
codes and caller-ID lines, the SDMF/MDMF packets of ``tests/core/test_cid.py``, a name typed and a PPP
frame at the login prompt, mgetty's issue escapes, ``config.example.toml``, and a call answered.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from tests.core.test_autoppp import HEADERS, PPPD
from tests.core.test_cid import DECODED
from tests.core.test_codes import ALL_ROWS

__all__ = ["seeds"]

ROOT = Path(__file__).resolve().parent


def _chunk(data: bytes) -> bytes:
    """A length-prefixed chunk as ``Source.chunk`` reads it (lengths below 256 only)."""
    assert len(data) < 256
    return bytes((len(data),)) + data


def seeds() -> dict[str, list[bytes]]:
    """The seeds of every harness."""
    lines_stream = b"\r\n".join(row[0].encode() for row in ALL_ROWS) + b"\r\n"
    lines = [
        b"\x00\xff\x00\x00" + lines_stream[:1000],
        b"\x00\xff\x03\x01\x05\x07\x00" + b"RING\rNMBR = 123\n\rRING\r\nCONNECT 9600\r\nhello",
        b"\x00\x0f\x00\x02" + b"~" * 40 + b"\r\nOK\x8d\x8aR\xc9NG\r\n0\r2\r1\r",
    ]
    cid = [b"\x00" + hex_text.encode() for _, hex_text, _ in DECODED]
    cid += [
        b"\x01\x00\x03" + bytes((0x02, 7)) + b"5551234" + bytes((0x07, 5)) + b"SMITH",
        b"\x02" + bytes((0, 7)) + b"5551234" + bytes((1, 5)) + b"SMITH" + bytes((4, 20)) + b"030735353531323132"[:20],
        b"\x02" + bytes((0, 12)) + b"\x1b[31m5551234",
    ]
    login = [
        b"\x29\x00\x00\x00\x00\x00\x00" + b"\x00\x00" + b"\x00\x01",  # joe, CR, then the guard runs out
        b"\x29\x00\x01\x01\x00\x00\x00" + b"\x00\x00\x01" + _chunk(b"joe\r\nNO CARRIER\r\n"),
        b"\x29\x00\x01\x00\x00\x00\x00" + b"\x01" + _chunk(b"\x7e\xff\x7d\x23\xc0\x21\x7d\x21\x7d\x21"),
        b"\x2a\x00\x00\x00\x00\x00\x00" + b"\x01" + _chunk(b"-f root\r") + b"\x01" + _chunk(b"a" * 50 + b"\r"),
        b"\x29\x00\x00\x01\x01\x01\x00" + b"\x04\x07\x04\x0a",  # timer jumps to the warning and the end
    ]
    ppp = [b"\x00\x01" + bytes(byte for piece in header for byte in (0x00, 1, piece)) for header in HEADERS]
    ppp += [b"\x00\x00" + bytes(byte for piece in PPPD[:40] for byte in (0x00, 1, piece))]
    escapes = [
        bytes((3, 1, 0, 0, 0x0E, 1, 0, 0x00, 0x0F)),
        b"\x06" + b"\x01\x00\x00\x01\x13\x00\x01\x0c\x00\x01\x1a\x00\x01\x1b\x00\x01\x12\x00\x01\x0e",
        b"\x02\x00\x05login\x01\x0f" + b"\x01\x01" + b"\x01\x00\x02" * 8,
    ]
    example = (ROOT.parent / "config.example.toml").read_bytes()
    config = [
        b"\x00" + example,
        b"\x00[defaults]\nrings = 2\n[ports.ttyS0]\nspeed = 9600\ncaller_filter = ['!none', '555']\n",
        b"\x00[[defaults.dispatch]]\nmatch = '/AutoPPP/'\nprogram = ['/usr/sbin/pppd', 'auto']\n",
        b"\x00[ports.'-x']\nring = 1\n",
    ]
    machine = [
        # no DTR toggle, answer gate off: OK, OK (init), RING, CONNECT, call finished, reopen.
        b"\x00\x00\x00\x00\x00\x00\x00\x00\x00" + b"\x00\x00\x00\x00\x00\x03\x00\x08\x0b\x00",
        b"\x01\x00\x00\x01\x01\x01\x01\x01\x00" + b"\x06\x00\x00\x00\x00\x00\x10\x00\x0f\x0c\x00\x00\x00\x07",
        b"\x00\x01\x02\x00\x00\x00\x00\x00\x00" + b"\x00\x00\x00\x00\x00\x03\x00\x0f\x00\x10\x00\x03\x00\x03",
    ]
    return {"lines": lines, "cid": cid, "login": login, "ppp": ppp, "escapes": escapes, "config": config,
            "machine": machine}  # fmt: skip


if __name__ == "__main__":
    for name, inputs in seeds().items():
        folder = ROOT / "corpus" / name
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.iterdir():
            old.unlink()
        for data in inputs:
            (folder / hashlib.sha256(data).hexdigest()[:16]).write_bytes(data)
        print(f"{name}: {len(inputs)} seeds")
