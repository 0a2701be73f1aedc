"""The raw line trace (setting ``trace_line``): every chunk read from and written to the modem, as JSON lines.

The unit tests drive :class:`~answerd.line.trace.LineTrace` with a hand-moved clock; the in-process test runs
the real daemon on the simulated modem's core (tests/simline.py) with the setting on, and with it off.
"""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

from answerd.line.trace import LineTrace

from .test_daemon import running


def records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


class Clock:
    """A clock that reads what the test set."""

    def __init__(self, at: float = 1000.0) -> None:
        self.at = at

    def now(self) -> float:
        return self.at


def trace_at(path: Path, clock: Clock, errors: list[str], max_bytes: int = 1 << 20) -> LineTrace:
    return LineTrace(str(path), port="sim0", now=clock.now, on_error=errors.append, max_bytes=max_bytes)


def test_each_chunk_is_a_line_with_its_time_direction_and_bytes(tmp_path: Path) -> None:
    """A header naming the port, then each chunk as {t, dir, hex}: framing and 8-bit bytes kept exactly."""
    clock, errors = Clock(50.0), list[str]()
    trace = trace_at(tmp_path / "t.jsonl", clock, errors)
    trace.chunk("to-modem", b"ATA\r")
    clock.at = 52.5
    trace.chunk("from-modem", b"\r\nCONNECT 9600\r\n\xff\x00")
    header, sent, read = records(tmp_path / "t.jsonl")
    assert ("answerd line", 1, "sim0", 50.0) == (header["trace"], header["version"], header["port"], header["t"])
    assert {"t": 50.0, "dir": "to-modem", "hex": b"ATA\r".hex()} == sent
    assert {"t": 52.5, "dir": "from-modem", "hex": b"\r\nCONNECT 9600\r\n\xff\x00".hex()} == read
    assert 0o600 == os.stat(tmp_path / "t.jsonl").st_mode & 0o777
    assert [] == errors


def test_the_trace_stops_at_its_size_cap_with_a_note(tmp_path: Path) -> None:
    """Past max_bytes nothing more is written but one note saying why; the daemon is not told of an error."""
    clock, errors = Clock(), list[str]()
    trace = trace_at(tmp_path / "t.jsonl", clock, errors, max_bytes=400)
    for _ in range(20):
        trace.chunk("from-modem", b"\r\nRING\r\n")
    lines = records(tmp_path / "t.jsonl")
    assert trace.stopped
    assert "note" == lines[-1]["dir"]
    assert "cap is reached" in lines[-1]["text"]
    assert 1 < len(lines) < 20
    assert [] == errors


def test_a_trace_that_cannot_be_written_stops_and_says_so_once(tmp_path: Path) -> None:
    """A symlink at the path (O_NOFOLLOW) or a missing directory: the error is reported once, then silence."""
    clock, errors = Clock(), list[str]()
    (tmp_path / "elsewhere").write_text("")
    (tmp_path / "link.jsonl").symlink_to(tmp_path / "elsewhere")
    trace = trace_at(tmp_path / "link.jsonl", clock, errors)
    trace.chunk("to-modem", b"AT\r")
    trace.chunk("to-modem", b"AT\r")
    assert trace.stopped
    assert 1 == len(errors)
    assert str(tmp_path / "link.jsonl") in errors[0]
    assert "" == (tmp_path / "elsewhere").read_text()


def test_the_daemon_traces_the_init_chat_and_a_call_when_trace_line_is_set(tmp_path: Path) -> None:
    """With trace_line ({port} expanded) the file holds answerd's writes and the modem's bytes in their order,
    raw: ATZ's framed OK, the RINGs and the CONNECT line, each at the daemon's clock."""

    async def scenario() -> None:
        async with running(tmp_path, rings=1, trace_line=str(tmp_path / "{port}.trace")) as bench:
            bench.line.call()
            await bench.clock.advance(1.0)
        chunks = records(tmp_path / "sim0.trace")[1:]
        sent = b"".join(bytes.fromhex(c["hex"]) for c in chunks if c["dir"] == "to-modem")
        read = b"".join(bytes.fromhex(c["hex"]) for c in chunks if c["dir"] == "from-modem")
        assert sent.startswith(b"ATZ\r") or sent.startswith(b"AT\r")
        assert b"ATA\r" in sent
        assert b"\r\nRING\r\n" in read
        assert b"\r\nCONNECT " in read
        times = [c["t"] for c in chunks]
        assert times == sorted(times)
        assert sent == b"".join(bench.line.written)

    asyncio.run(scenario())


def test_without_trace_line_nothing_is_written(tmp_path: Path) -> None:
    """Off by default: the same daemon and call leave no trace file anywhere in its directory."""

    async def scenario() -> None:
        async with running(tmp_path, rings=1) as bench:
            bench.line.call()
            await bench.clock.advance(1.0)

    asyncio.run(scenario())
    assert [] == list(tmp_path.rglob("*trace*"))
