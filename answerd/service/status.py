"""``answerd status``: every port on the machine in one table (or JSON), from the daemons' state files.

The state files are :mod:`answerd.service.state`'s; a port whose daemon is gone shows as ``gone``, with its
last words (why it stopped) as history. ``--since TIME`` adds the calls by outcome that the journal has
since TIME (``journalctl -o json``, argv only); without journalctl, or with no records, it says so and the
rest of the table still shows.

Exit codes (modelled on LSB ``status``): 0 every port shown has a running daemon; 3 a port shown has none
(its daemon is gone, or none has run since boot), or no port has a state file at all; 4 a state file could
not be read (permissions: run as root, or a damaged file).
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from answerd.service.state import PortView, list_ports, printable, read_port

__all__ = ["EXIT_GONE", "EXIT_RUNNING", "EXIT_UNKNOWN", "JournalCounts", "count_calls", "exit_code", "gather",
           "render_json", "render_table"]  # fmt: skip

EXIT_RUNNING: Final = 0
EXIT_GONE: Final = 3
EXIT_UNKNOWN: Final = 4
#: A journal record longer than this is not one of answerd's call records (they are about 1 kB).
_MAX_RECORD: Final = 64 * 1024


@dataclass(slots=True)
class JournalCounts:
    """Calls by outcome per port from the journal, or why there are none."""

    since: str
    by_port: dict[str, dict[str, int]] = field(default_factory=dict)
    #: What went wrong or was missing (no journalctl, no records, an error), for the reader; ``None``: fine.
    note: str | None = None


def gather(directory: str, ports: Sequence[str]) -> list[PortView]:
    """The named ports, or every port with a state file in ``directory``."""
    return [read_port(directory, port) for port in (ports or list(list_ports(directory)))]


def _field(record: dict[str, Any], name: str) -> str | None:
    """A journal field as text (journalctl gives bytes as a list of numbers, repeated fields as a list)."""
    value = record.get(name)
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        value = bytes(v & 0xFF for v in value).decode("utf-8", "replace")
    elif isinstance(value, list):
        value = value[0] if value else None
    return value if isinstance(value, str) else None


def count_calls(since: str, *, journalctl: str | None = None) -> JournalCounts:
    """Count ``call.ended`` records by port and outcome since ``since`` (any time journalctl understands).

    Args:
        journalctl: the program to run (default: ``journalctl`` on ``$PATH``); its argv never goes to a shell.
    """
    result = JournalCounts(since=since)
    program = journalctl or shutil.which("journalctl")
    if program is None:
        result.note = "journalctl is not installed: no call counts from the journal (--since needs it)"
        return result
    argv = [program, "-o", "json", "--no-pager", "-q", f"--since={since}", "SYSLOG_IDENTIFIER=answerd",
            "EVENT=call.ended"]  # fmt: skip
    seen = 0
    with tempfile.TemporaryFile() as errors:
        try:
            process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=errors)
        except OSError as exc:
            result.note = f"cannot run {program}: {exc.strerror or exc}"
            return result
        assert process.stdout is not None
        with process.stdout:
            for line in iter(lambda: process.stdout.readline(_MAX_RECORD), b""):  # type: ignore[union-attr]
                with contextlib.suppress(ValueError):
                    record = json.loads(line)
                    port, outcome = _field(record, "PORT"), _field(record, "OUTCOME")
                    if port is not None and outcome is not None:
                        counts = result.by_port.setdefault(printable(port) or "?", {})
                        outcome = printable(outcome, 40) or "?"
                        counts[outcome] = counts.get(outcome, 0) + 1
                        seen += 1
        code = process.wait()
        errors.seek(0)
        said = errors.read(2000).decode("utf-8", "replace").strip()
    if code != 0:
        first = printable(said.splitlines()[0], 200) if said else "no message"
        result.note = f"journalctl failed (exit {code}): {first}"
    elif seen == 0:
        result.note = f"the journal has no answerd call records since {printable(since)}"
    return result


def exit_code(views: Sequence[PortView]) -> int:
    """0 all running, 3 some gone (or none at all), 4 some unreadable."""
    if any(view.problem is not None and not view.problem.startswith("no state file") for view in views):
        return EXIT_UNKNOWN
    if not views or not all(view.alive for view in views):
        return EXIT_GONE
    return EXIT_RUNNING


def _port_json(view: PortView, counts: JournalCounts | None) -> dict[str, Any]:
    item: dict[str, Any] = {"port": view.data.get("port") or view.port, "alive": view.alive, "state": view.state}
    item.update({key: value for key, value in view.data.items() if key not in {"port", "state"}})
    if not view.alive and view.data:
        item["last_state"] = view.data.get("state")  # what the daemon last said: history, not now
    item["problem"] = view.problem
    if counts is not None:
        item["calls_since"] = counts.by_port.get(str(item["port"]), {})
    return item


def render_json(views: Sequence[PortView], counts: JournalCounts | None) -> str:
    """The ``--json`` document: ``{"ports": [...]}`` (and ``"journal"`` with ``--since``)."""
    document: dict[str, Any] = {"ports": [_port_json(view, counts) for view in views]}
    if counts is not None:
        document["journal"] = {"since": counts.since, "note": counts.note}
    return json.dumps(document, indent=2, sort_keys=True)


def _when(stamp: object, now: float) -> str:
    if not isinstance(stamp, int | float) or stamp <= 0:
        return "-"
    fmt = "%H:%M:%S" if now - stamp < 20 * 3600 else "%Y-%m-%d %H:%M"
    return time.strftime(fmt, time.localtime(stamp))


def _calls(counts: dict[str, int]) -> str:
    return ", ".join(f"{outcome} {n}" for outcome, n in sorted(counts.items())) or "-"


def _row(view: PortView, counts: JournalCounts | None, now: float) -> list[str]:
    data = view.data
    alive = view.alive
    caller = data.get("caller") if alive else None
    if alive and data.get("caller_name"):
        caller = f"{caller or '?'} ({data['caller_name']})"
    connect = data.get("connect") if alive else None
    if connect and data.get("line_rate"):
        connect = f"{connect} (line {data['line_rate']})"
    who = "/".join(part for part in (data.get("user"), data.get("program")) if part) if alive else ""
    last = data.get("last_call") or {}
    last_text = f"{last.get('outcome')} {_when(last.get('at'), now)}" if last.get("outcome") else "-"
    # A gone port's SINCE is when it stopped, if it said so; a killed daemon's last state change is not that.
    since = _when(data.get("since"), now) if alive or data.get("state") in {"stopped", "failed"} else "-"
    row = [str(data.get("port") or view.port), view.state, since,
           caller or "-", connect or "-", who or "-", _calls(data.get("calls") or {}), last_text]  # fmt: skip
    if counts is not None:
        row.append(_calls(counts.by_port.get(row[0], {})))
    return row


def _note(view: PortView) -> str | None:
    """The line under the table for ``view``: what it is doing, or why it is gone."""
    name = view.data.get("port") or view.port
    if view.problem is not None:
        return f"{name}: {view.problem}"
    status = view.data.get("status") or ""
    if view.alive:
        return f"{name}: {status} (pid {view.data.get('pid')})"
    if view.data.get("state") in {"stopped", "failed"}:
        return f"{name}: gone; its last words: {status}"
    return f"{name}: gone without a word (killed or crashed; its last state was {view.data.get('state')}: {status})"


def render_table(
    views: Sequence[PortView], counts: JournalCounts | None, *, now: Callable[[], float] = time.time
) -> str:
    """The table, one row per port, then one line per port saying what it does (or why it is gone)."""
    header = ["PORT", "STATE", "SINCE", "CALLER", "CONNECT", "USER/PROGRAM", "CALLS", "LAST"]
    if counts is not None:
        header.append(f"CALLS SINCE {printable(counts.since, 40)}")
    moment = now()
    rows = [header, *(_row(view, counts, moment) for view in views)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.append("")
    lines += [note for view in views if (note := _note(view)) is not None]
    if counts is not None and counts.note is not None:
        lines.append(f"journal: {counts.note}")
    return "\n".join(lines) + "\n"
