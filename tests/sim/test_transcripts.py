"""Transcripts of calls replayed through answerd's core: the same bytes at the same times give the same outcome.

A transcript (``tests/sim/transcripts/*.jsonl``) starts with a line naming the bench, the modem family and the
outcome to expect (``expect``: the CONNECT text and caller ID answerd recorded). Then come the call's chunks in
one of two forms:

* **raw** (``"format": "raw"``, what ``pytest hil --record DIR`` writes from answerd's ``trace_line``):
  ``{"t": <seconds from the first chunk>, "dir": "from-modem" | "to-modem", "hex": "<the bytes>"}``, each chunk
  exactly as answerd read or wrote it (framing, noise, split lines);
* **lines** (hand-written, ``"handwritten": true``, written from the modem manuals the first line names):
  ``{"t", "dir", "text"}``; a ``from-modem`` line is sent framed as a verbose result (``\\r\\n<text>\\r\\n``),
  a ``to-modem`` text spells CR as ``\\r``.

Each is replayed from its first RING: the modem's chunks go into :class:`~answerd.core.AnswerMachine` at their
times (timers run in between) until the machine answers; what answerd wrote up to then must be the
transcript's ``to-modem`` chunks, and the call must have the expected CONNECT text and caller ID.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from answerd.core import Answered, AnswerMachine, Effect, Phase, Profile, Write

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.jsonl"))


@dataclass(frozen=True)
class Chunk:
    """Bytes one way at a time: seconds from the transcript's first RING, direction, the bytes."""

    at: float
    to_modem: bool
    data: bytes


def _data(item: dict[str, Any]) -> bytes:
    """A chunk's bytes: its hex (raw), or a line's text (framed as a verbose result when from the modem)."""
    if "hex" in item:
        return bytes.fromhex(item["hex"])
    text = str(item["text"])
    if item["dir"] == "to-modem":
        return text.replace("\\r", "\r").replace("\\n", "\n").encode("ascii")
    return b"\r\n" + text.encode("ascii") + b"\r\n"


def load(path: Path) -> tuple[dict[str, Any], list[Chunk]]:
    """The transcript's first line, and its chunks from the first one that brings a RING (the init chat before
    it is not the answering part; what comes after CONNECT is cut by the replay)."""
    meta, *items = [json.loads(text) for text in path.read_text().splitlines() if text.strip()]
    chunks = [
        Chunk(float(item["t"]), item["dir"] == "to-modem", _data(item))
        for item in items
        if item.get("dir") in ("from-modem", "to-modem")
    ]
    first = next(i for i, c in enumerate(chunks) if not c.to_modem and b"RING" in c.data)
    base = chunks[first].at
    return meta, [Chunk(c.at - base, c.to_modem, c.data) for c in chunks[first:]]


def replay(chunks: list[Chunk]) -> tuple[Answered | None, list[bytes], list[bytes]]:
    """Run the chunks through an initialised machine answering on RING 2, until it answers: what it answered,
    what it wrote, and the transcript's to-modem chunks up to then."""
    machine = AnswerMachine(Profile(toggle_dtr=False, rings=2))
    machine.port_opened(0.0)
    machine.receive_data(b"\r\nOK\r\n\r\nOK\r\n", 0.0)  # the default init chat: ATZ, then the settings
    assert Phase.IDLE == machine.phase
    start = 100.0
    effects: list[Effect] = []
    expected: list[bytes] = []
    for chunk in chunks:
        now = start + chunk.at
        while (when := machine.get_timer()) is not None and when <= now:
            effects += machine.handle_timer(when)
        if chunk.to_modem:
            expected.append(chunk.data)
        else:
            effects += machine.receive_data(chunk.data, now)
        answered = [e for e in effects if isinstance(e, Answered)]
        if answered:
            return answered[0], [e.data for e in effects if isinstance(e, Write)], expected
    return None, [e.data for e in effects if isinstance(e, Write)], expected


def test_there_are_hand_written_transcripts_for_three_families() -> None:
    """At least three modem families have a transcript written from their manuals."""
    families = {load(path)[0]["family"] for path in TRANSCRIPTS if load(path)[0].get("handwritten")}
    assert len(families) >= 3, families


def test_there_is_a_raw_transcript_recorded_by_the_hil_suite() -> None:
    """At least one transcript is raw bytes as ``pytest hil --record`` saves them from answerd's line trace."""
    assert [path.name for path in TRANSCRIPTS if load(path)[0].get("format") == "raw"]


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_replayed_call_has_the_recorded_outcome(path: Path) -> None:
    """The core answers the replayed call with the transcript's CONNECT text and caller ID, writing what it wrote."""
    meta, chunks = load(path)
    answered, written, expected = replay(chunks)
    assert answered is not None, f"no CONNECT; answerd wrote {written}"
    assert expected == written[: len(expected)]
    expect = meta["expect"]
    assert (expect["connect"], expect["caller_id"]) == (answered.connect.text, answered.call.caller_id)


def test_a_raw_transcript_may_split_lines_anywhere() -> None:
    """Raw chunks are what the port delivered: a RING, caller ID and CONNECT cut mid-line (and a stray NUL
    before a RING) replay to the same call as whole lines would."""
    stream = [
        (0.0, b"\r\nRI"), (0.01, b"NG\r\n"), (0.5, b"\r\nNMBR = 55"), (0.51, b"51234\r\n"),
        (6.0, b"\x00\r\nRING\r\n"), (6.0, "ATA\r"), (8.0, b"\r\nCONNECT 96"), (8.01, b"00/ARQ\r\n"),
    ]  # fmt: skip
    chunks = [Chunk(at, isinstance(data, str), data.encode() if isinstance(data, str) else data) for at, data in stream]
    answered, written, expected = replay(chunks)
    assert answered is not None
    assert [b"ATA\r"] == expected == written
    assert ("9600/ARQ", "5551234") == (answered.connect.text, answered.call.caller_id)
