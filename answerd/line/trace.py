"""An opt-in raw trace of the modem line: every chunk answerd reads from or writes to the port, as JSON lines.

answerd's debug log shows the modem's *lines* (``modem.line``) and answerd's commands (``modem.send``): not the
framing, not the bytes answerd discarded, not when each byte came. A real modem's transcript needs those, so
the setting ``trace_line`` (off by default) wraps the port factory: each chunk the port delivers and each
chunk answerd writes is appended to the file as it happens, before answerd acts on it. The format (version 1),
one JSON object per line:

* ``{"trace": "answerd line", "version": 1, "port": "ttyUSB0", "opened": "<UTC ISO time>", "t": <seconds>}``
  when the daemon first uses the line (a daemon restarted onto the same file appends a new header);
* ``{"t": <seconds>, "dir": "from-modem" | "to-modem", "hex": "0d0a52494e470d0a"}`` per chunk;
* ``{"t": <seconds>, "dir": "note", "text": "..."}`` once, when the trace stops (its size cap, a write error).

``t`` is the daemon's clock (``CLOCK_MONOTONIC`` seconds: the same clock every process on the host reads as
``time.monotonic()``), so a reader subtracts the ``t`` of a call's first chunk to get times from the call's
start. The file is bounded (:data:`MAX_TRACE_BYTES`) and created mode 0600: it holds everything answerd
itself reads and writes on the line, which includes the name typed at answerd's login prompt and, with
``carrier = "modem-text"``, the relayed session (passwords too). With ``carrier = "dcd"`` the program reads
the tty itself and its session is not in the trace.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from answerd.line.modem_lines import ModemLines
from answerd.line.port import LineSettings, Port, PortFactory

__all__ = ["MAX_TRACE_BYTES", "LineTrace", "TracedPort", "line_trace", "traced_factory"]

#: The trace stops (with a note) once the file has grown by this much in one daemon's life: a debug aid must
#: not fill the disk when someone forgets it on a busy line. 16 MiB holds hundreds of calls' AT dialogue.
MAX_TRACE_BYTES = 16 * 1024 * 1024


class LineTrace:
    """The trace file of one port: each chunk appended synchronously, never raising.

    The file is opened for each line and closed again: no descriptor held across calls (or by an in-process
    test's many daemons), and a log rotation just starts a new file.

    Args:
        path: the file (appended to; created 0600; a symlink is refused).
        port: the port's name, for the header.
        now: the daemon's clock.
        on_error: told once, with the reason, when the trace stops for an error (the daemon logs it).
        max_bytes: the size cap.
    """

    def __init__(
        self,
        path: str,
        *,
        port: str,
        now: Callable[[], float],
        on_error: Callable[[str], object],
        max_bytes: int = MAX_TRACE_BYTES,
    ) -> None:
        self.path = path
        self._port = port
        self._now = now
        self._on_error = on_error
        self._max_bytes = max_bytes
        self._started = False
        self._written = 0
        self._stopped = False

    @property
    def stopped(self) -> bool:
        """Whether the trace has stopped for good (its cap or an error)."""
        return self._stopped

    def chunk(self, direction: str, data: bytes) -> None:
        """Record ``data`` read from (``from-modem``) or written to (``to-modem``) the modem."""
        if data and not self._stopped:
            self._write({"t": self._now(), "dir": direction, "hex": data.hex()})

    def _write(self, item: dict[str, Any]) -> None:
        try:
            if not self._started:
                self._started = True
                opened = datetime.now(UTC).isoformat().replace("+00:00", "Z")
                header = {"trace": "answerd line", "version": 1, "port": self._port, "opened": opened, "t": self._now()}
                self._append((json.dumps(header) + "\n").encode())
            line = (json.dumps(item) + "\n").encode()
            if self._written + len(line) > self._max_bytes:
                self._stop(f"trace stopped: the {self._max_bytes}-byte cap is reached", error=False)
                return
            self._append(line)
        except OSError as exc:
            self._stop(f"trace stopped: {self.path}: {exc.strerror or exc}", error=True)

    def _append(self, line: bytes) -> None:
        flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
        fd = os.open(self.path, flags, 0o600)
        try:
            view = memoryview(line)
            while view:  # a regular file takes it all at once; a short write is finished, not dropped
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        self._written += len(line)

    def _stop(self, why: str, *, error: bool) -> None:
        self._stopped = True
        note = (json.dumps({"t": self._now(), "dir": "note", "text": why}) + "\n").encode()
        with contextlib.suppress(OSError):  # then the error reported below says why the trace ended
            self._append(note)
        if error:
            self._on_error(why)


class TracedPort:
    """A :class:`~answerd.line.port.Port` whose writes go to the trace first; every other attribute is the
    wrapped port's (the call stage uses the serial port's own methods: ``fd``, ``drain``, session modes)."""

    def __init__(self, port: Port, trace: LineTrace) -> None:
        self._port = port
        self._trace = trace

    @property
    def lines(self) -> ModemLines:
        return self._port.lines

    def write(self, data: bytes) -> None:
        self._trace.chunk("to-modem", data)
        self._port.write(data)

    def flush_input(self) -> None:
        self._port.flush_input()

    def pause_until_readable(self, on_readable: Callable[[], None]) -> None:
        self._port.pause_until_readable(on_readable)

    def resume_reading(self) -> None:
        self._port.resume_reading()

    def still_the_device(self) -> bool:
        return self._port.still_the_device()

    def after_call(self) -> bool:
        return self._port.after_call()

    async def close(self) -> None:
        await self._port.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._port, name)


def traced_factory(factory: PortFactory, trace: LineTrace | None) -> PortFactory:
    """``factory`` with every port it opens traced (reads and writes); ``factory`` itself when ``trace`` is None."""
    if trace is None:
        return factory

    async def open_traced(
        settings: LineSettings,
        *,
        on_data: Callable[[bytes], None],
        on_lost: Callable[[Exception | None], None],
        on_fallback: Callable[[str], None] | None = None,
    ) -> Port:
        def data_traced(data: bytes) -> None:
            trace.chunk("from-modem", data)
            on_data(data)

        port = await factory(settings, on_data=data_traced, on_lost=on_lost, on_fallback=on_fallback)
        return TracedPort(port, trace)

    return open_traced


def line_trace(
    path: str | None, *, port: str, now: Callable[[], float], warn: Callable[..., object]
) -> LineTrace | None:
    """The trace the setting ``trace_line`` asks for (``{port}`` in ``path``: the port's name), or ``None``.

    ``warn`` is the daemon's ``log.warning``: a trace that stops for an error says so once, as
    ``port.trace_stopped``.
    """
    if path is None:
        return None
    return LineTrace(
        path.replace("{port}", port), port=port, now=now, on_error=lambda why: warn("port.trace_stopped", reason=why)
    )
