"""``answerd sim --bench FILE``: several simulated modems on ptys, joined by a simulated exchange.

The bench file is TOML, one ``[[line]]`` table per modem::

    [[line]]
    link = "/dev/ttySIM0"      # the symlink published for this modem's pty (what answerd opens)
    number = "881"             # its number on the exchange: another line dials ATDT881 to ring it
    profile = "usr"            # a shipped profile's name (answerd sim --list-profiles) or a TOML file path

    [[line]]
    link = "/dev/ttySIM1"
    number = "882"
    profile = "rockwell"
    timings = { ring_interval_s = 1.0, answer_delay_s = 0.2 }   # optional: the profile's [timings], changed

A line may give ``serve = "/dev/ttyGS0"`` instead of ``link``: that modem then serves an existing tty (the
gadget side of a USB ACM gadget) as ``answerd sim --serve`` does (:mod:`answerd.sim._serve`: carrier loss
closes the tty, DTR is not seen), while the other lines stay on ptys. That is how the virtual bench puts
answerd's real tty (``/dev/ttyACM0``) on the answering side of a simulated bench.

A relative ``link``, ``serve`` or profile path is taken from the bench file's directory. The exchange itself is the
sans-IO :class:`~answerd.sim.Exchange`; this module is its asyncio shell: one
:class:`~answerd.sim._pty.PtyLine` per line, and one timer re-armed from the exchange after every input.
"""

from __future__ import annotations

import asyncio
import sys
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TextIO

from answerd.sim._exchange import Exchange, LineAction
from answerd.sim._profile import ModemProfile, ProfileError, Timings, build_table
from answerd.sim._profile_file import MAX_PROFILE_BYTES, find_profile, load_profile
from answerd.sim._pty import PtyLine, SimError, escape_bytes
from answerd.sim._serve import TtyLine
from answerd.sim._server import log_dce
from answerd.sim._types import CarrierLost, Log, ModemMode, ToDte

__all__ = ["BenchLine", "BenchServer", "load_bench"]

_MAX_LINES = 16


@dataclass(frozen=True, slots=True, kw_only=True)
class BenchLine:
    """One modem of the simulated bench: where its pty is published (or the tty it serves), its number, and how
    it behaves."""

    link: Path
    number: str
    profile: ModemProfile
    #: ``link`` is an existing tty this modem serves (``serve =`` in the file), not a pty link to publish.
    serve: bool = False


def load_bench(path: Path) -> list[BenchLine]:
    """Read a bench file (see the module docstring).

    Raises:
        ProfileError: the file cannot be read or has a bad key or value; one line naming the TOML path.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ProfileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if len(raw) > MAX_PROFILE_BYTES:
        raise ProfileError(f"{path}: too big for a bench file")
    try:
        document = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ProfileError(f"{path}: not valid TOML: {exc}") from None
    unknown = set(document) - {"line"}
    if unknown:
        raise ProfileError(f"{path}: {sorted(unknown)[0]}: unknown key (known: line)")
    tables = document.get("line")
    if not isinstance(tables, list) or not 1 <= len(tables) <= _MAX_LINES:
        raise ProfileError(f"{path}: line: must be 1..{_MAX_LINES} [[line]] tables")
    lines: list[BenchLine] = []
    for i, table in enumerate(tables):
        where = f"{path}: line[{i}]"
        if not isinstance(table, dict):
            raise ProfileError(f"{where}: must be a table")
        for key in table:
            if key not in ("link", "serve", "number", "profile", "timings"):
                raise ProfileError(f"{where}.{key}: unknown key (known: link, serve, number, profile, timings)")
        if ("link" in table) == ("serve" in table):
            raise ProfileError(f"{where}: needs exactly one of link (a pty to publish) and serve (a tty to serve)")
        place = "serve" if "serve" in table else "link"
        for key in (place, "number"):
            if not isinstance(table.get(key), str) or not table[key]:
                raise ProfileError(f"{where}.{key}: missing, or not a non-empty string")
        profile_name = table.get("profile", "default")
        if not isinstance(profile_name, str):
            raise ProfileError(f"{where}.profile: must be a string")
        try:
            profile = load_profile(find_profile(profile_name, path.parent))
        except ProfileError as exc:
            raise ProfileError(f"{where}.profile: {exc}") from None
        if "timings" in table:
            changed = table["timings"]
            if not isinstance(changed, dict):
                raise ProfileError(f"{where}.timings: must be a table")
            try:
                profile = replace(profile, timings=build_table(Timings, {**asdict(profile.timings), **changed}, ""))
            except ProfileError as exc:
                raise ProfileError(f"{where}.timings.{str(exc).lstrip('.')}") from None
        link = Path(table[place])
        lines.append(
            BenchLine(
                link=link if link.is_absolute() else path.parent / link,
                number=table["number"],
                profile=profile,
                serve=place == "serve",
            )
        )
    if len({line.number for line in lines}) != len(lines) or len({line.link for line in lines}) != len(lines):
        raise ProfileError(f"{path}: line: every line needs its own number and its own link")
    return lines


class BenchServer:
    """The simulated bench: an exchange and one pty per line. ``async with BenchServer(lines) as bench:``.

    Raises:
        SimError: a link cannot be published, or a line number is not digits.
    """

    def __init__(
        self,
        lines: list[BenchLine],
        *,
        verbose: bool = False,
        poll_interval: float = 0.05,
        log: TextIO | None = None,
    ) -> None:
        try:
            self._exchange = Exchange({line.number: line.profile for line in lines})
        except ValueError as exc:
            raise SimError(str(exc)) from None
        self._lines = lines
        self._verbose = verbose
        self._log_stream = log if log is not None else sys.stderr
        self._loop: asyncio.AbstractEventLoop | None = None
        self._started = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._ptys: dict[str, PtyLine] = {}
        for line in lines:
            on_data, on_dtr, log_line = self._on_data(line.number), self._on_dtr(line.number), self._logger(line.number)
            self._ptys[line.number] = (
                TtyLine(line.link, on_data=on_data, on_dtr=on_dtr, log=log_line)
                if line.serve
                else PtyLine(line.link, poll_interval=poll_interval, on_data=on_data, on_dtr=on_dtr, log=log_line)
            )

    async def __aenter__(self) -> BenchServer:
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        try:
            for pty in self._ptys.values():
                pty.open(self._loop)
                pty.publish()
        except BaseException:
            self.close()
            raise
        for number, pty in self._ptys.items():
            where = f"serving {pty.link}" if isinstance(pty, TtyLine) else f"pty {pty.slave_path} at {pty.link}"
            self._logger(number)(where)
            pty.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close every pty and remove every link."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for pty in self._ptys.values():
            pty.close()

    @property
    def exchange(self) -> Exchange:
        """The pure exchange inside (read its state in tests; do not feed it directly)."""
        return self._exchange

    @property
    def ready_line(self) -> str:
        """``answerd-sim: ready bench 881=<link> 882=<link>``: each line's number and published link (or the tty
        it serves)."""
        return "answerd-sim: ready bench " + " ".join(f"{n}={pty.link}" for n, pty in self._ptys.items())

    def toggle_silent(self) -> None:
        """Make every modem go dead, or come back (``answerd sim`` does this on SIGUSR1)."""
        for number in self._exchange.numbers:
            silent = not self._exchange.modem(number).silent
            self._dispatch(self._exchange.set_silent(number, silent, self._now()))

    # --- inputs ----------------------------------------------------------------------------------------

    def _on_data(self, number: str) -> Callable[[bytes], None]:
        def on_data(data: bytes) -> None:
            online = self._exchange.modem(number).mode is ModemMode.ONLINE
            self._logger(number)(f"DTE> {'data ' if online else ''}{escape_bytes(data)}")
            self._exchange.set_dte_rate(number, self._ptys[number].speed)
            self._dispatch(self._exchange.dte_data(number, data, self._now()))

        return on_data

    def _on_dtr(self, number: str) -> Callable[[bool], None]:
        return lambda high: self._dispatch(self._exchange.dtr_changed(number, high, self._now()))

    def _logger(self, number: str) -> Callable[[str], None]:
        def log(text: str) -> None:
            if self._verbose:
                elapsed = self._now() - self._started if self._loop is not None else 0.0
                print(f"answerd-sim [{elapsed:8.3f}] {number}: {text}", file=self._log_stream, flush=True)

        return log

    # --- actions and time ------------------------------------------------------------------------------

    def _now(self) -> float:
        assert self._loop is not None
        return self._loop.time()

    def _dispatch(self, actions: list[LineAction]) -> None:
        for number, action in actions:
            pty = self._ptys[number]
            match action:
                case ToDte(data=data):
                    log_dce(self._logger(number), data)
                    pty.write(data)
                case CarrierLost():
                    pty.hang_up_tty()
                case Log(text=text):
                    self._logger(number)(text)
                case _:
                    pass  # the exchange keeps the phone-line actions to itself
        self._rearm()

    def _rearm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        when = self._exchange.get_timer()
        if when is not None and self._loop is not None:
            self._timer = self._loop.call_at(when, self._on_timer, when)

    def _on_timer(self, when: float) -> None:
        self._timer = None
        # call_at may run a hair early (clock resolution); never hand a time before the deadline.
        self._dispatch(self._exchange.handle_timer(max(self._now(), when)))
