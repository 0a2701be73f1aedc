"""Transcripts of calls replayed through answerd's core: the same lines at the same times give the same outcome.

A transcript (``tests/sim/transcripts/*.jsonl``) is what ``pytest hil --record DIR`` writes: a first line with
the bench and the expected outcome (``expect``: the CONNECT text and caller ID answerd recorded), then the AT
dialogue, one ``{"t", "dir", "text"}`` per line. The ones named ``*-handwritten`` were written from the modem
manuals their first line names, not recorded from hardware. Each is replayed from its first RING: the modem's
lines go into :class:`~answerd.core.AnswerMachine` at their times (timers run in between), answerd's writes
are checked against the ``to-modem`` lines, and the call it answers must end up with the expected CONNECT
text and caller ID.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from answerd.core import Answered, AnswerMachine, Effect, Phase, Profile, Write

TRANSCRIPTS = sorted((Path(__file__).parent / "transcripts").glob("*.jsonl"))


@dataclass(frozen=True)
class Line:
    """One line of the dialogue: seconds from the first RING, direction, text."""

    at: float
    to_modem: bool
    text: str


def _seconds(stamp: object) -> float:
    """A hand-written transcript's seconds, or a recorded one's ISO timestamp, as seconds."""
    if isinstance(stamp, int | float):
        return float(stamp)
    assert isinstance(stamp, str)
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def load(path: Path) -> tuple[dict[str, Any], list[Line]]:
    """The transcript's first line, and its dialogue from the first RING to CONNECT (the init chat before it
    and whatever answerd said to the modem after the call are not the answering part)."""
    meta, *items = [json.loads(text) for text in path.read_text().splitlines() if text.strip()]
    incoming = [item["dir"] == "from-modem" for item in items]
    first = next(i for i, item in enumerate(items) if incoming[i] and "RING" in item["text"])
    last = next(i for i, item in enumerate(items) if i > first and incoming[i] and item["text"].startswith("CONNECT"))
    base = _seconds(items[first]["t"])
    return meta, [Line(_seconds(i["t"]) - base, i["dir"] == "to-modem", i["text"]) for i in items[first : last + 1]]


def shown(data: bytes) -> str:
    """Bytes written to the modem as the transcript shows them (``ATA\\r``)."""
    return data.decode("ascii", "replace").replace("\r", "\\r").replace("\n", "\\n")


def replay(lines: list[Line]) -> tuple[Answered | None, list[str]]:
    """Run the dialogue through an initialised machine answering on RING 2; what it answered and wrote."""
    machine = AnswerMachine(Profile(toggle_dtr=False, rings=2))
    machine.port_opened(0.0)
    machine.receive_data(b"\r\nOK\r\n\r\nOK\r\n", 0.0)  # the default init chat: ATZ, then the settings
    assert Phase.IDLE == machine.phase
    start = 100.0
    effects: list[Effect] = []
    for line in lines:
        now = start + line.at
        while (when := machine.get_timer()) is not None and when <= now:
            effects += machine.handle_timer(when)
        if not line.to_modem:
            effects += machine.receive_data(b"\r\n" + line.text.encode("ascii") + b"\r\n", now)
        answered = [e for e in effects if isinstance(e, Answered)]
        if answered:
            return answered[0], [shown(e.data) for e in effects if isinstance(e, Write)]
    return None, [shown(e.data) for e in effects if isinstance(e, Write)]


def test_there_are_hand_written_transcripts_for_three_families() -> None:
    """At least three modem families have a transcript written from their manuals."""
    families = {load(path)[0]["family"] for path in TRANSCRIPTS if load(path)[0].get("handwritten")}
    assert len(families) >= 3, families


@pytest.mark.parametrize("path", TRANSCRIPTS, ids=[p.stem for p in TRANSCRIPTS])
def test_replayed_call_has_the_recorded_outcome(path: Path) -> None:
    """The core answers the replayed call with the transcript's CONNECT text and caller ID, writing what it wrote."""
    meta, lines = load(path)
    answered, written = replay(lines)
    assert answered is not None, f"no CONNECT; answerd wrote {written}"
    expected_writes = [line.text for line in lines if line.to_modem]
    assert expected_writes == written[: len(expected_writes)]
    expect = meta["expect"]
    assert (expect["connect"], expect["caller_id"]) == (answered.connect.text, answered.call.caller_id)
