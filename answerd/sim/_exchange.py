"""A simulated telephone exchange: several simulated modems, each on a numbered line, that can call each other.

Theory of operation
-------------------
:class:`Exchange` is sans-IO like the modems it joins: every input carries ``now`` and names the line it
concerns (by its number); it returns the actions for the shell, each tagged with its line. The exchange
owns one :class:`~answerd.sim.SimModem` per line, built with ``line_out=True`` so that ``ATD`` dials.

What the modems say to the phone line never leaves the exchange; it is routed here:

* :class:`~answerd.sim.Dial` from a modem: the dialled number's modem rings (``caller_arrived`` with the
  calling line's number as caller ID); a number in a call (ringing, answering, online, off-hook, dialling
  itself) answers the caller with ``remote_busy`` (``BUSY``); an unknown number rings nowhere, so the caller's
  S7 runs out (``NO CARRIER``).
* :class:`~answerd.sim.CarrierUp` from the answering modem: the calling modem gets ``remote_answered`` and
  connects too, each side with its own ``CONNECT`` text (its profile's).
* :class:`~answerd.sim.ToCaller`: the other side's ``caller_data``, so data flows both ways once online.
* :class:`~answerd.sim.DropCaller` (a side hung up: ``ATH``, DTR drop, a failed answer, ``S7``): the other
  side's ``caller_left`` -- its carrier drops and it reports ``NO CARRIER``.

Everything else (:class:`~answerd.sim.ToDte`, :class:`~answerd.sim.CarrierLost`,
:class:`~answerd.sim.Log`) goes out to the shell as ``(number, action)``, in the order the modems made it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from answerd.sim._modem import SimModem
from answerd.sim._profile import ModemProfile
from answerd.sim._types import Action, CarrierUp, Dial, DropCaller, Log, ToCaller

__all__ = ["Exchange", "LineAction"]

#: An action for the shell, and the number of the line (the modem) it belongs to.
LineAction = tuple[str, Action]


class Exchange:
    """Numbered lines, one simulated modem on each, that ring, connect and hang up each other.

    Args:
        lines: each line's number and the profile of the modem on it.

    Raises:
        ValueError: no lines, or a number that is not digits (``*`` and ``#`` allowed).
    """

    def __init__(self, lines: Mapping[str, ModemProfile]) -> None:
        if not lines:
            raise ValueError("an exchange needs at least one line")
        for number in lines:
            if not number or any(not (c.isdigit() or c in "*#") for c in number) or len(number) > 32:
                raise ValueError(f"line number {number!r} must be 1-32 digits (or * and #)")
        self._modems = {number: SimModem(profile, line_out=True) for number, profile in lines.items()}
        self._peer: dict[str, str] = {}  # both directions of every call being set up or up
        self._callee: set[str] = set()  # the answering side of each call

    # --- observers -------------------------------------------------------------------------------------

    @property
    def numbers(self) -> tuple[str, ...]:
        """The line numbers, in the order given."""
        return tuple(self._modems)

    def modem(self, number: str) -> SimModem:
        """The modem on line ``number`` (read its state; feed it only through the exchange)."""
        return self._modems[number]

    def peer(self, number: str) -> str | None:
        """The line ``number`` is in a call with (ringing or connected), if any."""
        return self._peer.get(number)

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must be called next, or ``None``."""
        return min((t for m in self._modems.values() if (t := m.get_timer()) is not None), default=None)

    # --- inputs ----------------------------------------------------------------------------------------

    def dte_data(self, number: str, data: bytes, now: float) -> list[LineAction]:
        """Bytes the computer on line ``number`` wrote to its modem."""
        return self._route(number, self._modems[number].dte_data(data, now), now)

    def dtr_changed(self, number: str, high: bool, now: float) -> list[LineAction]:
        """The computer on line ``number`` raised or dropped DTR."""
        return self._route(number, self._modems[number].dtr_changed(high, now), now)

    def set_dte_rate(self, number: str, rate: int | None) -> None:
        """The port rate the computer on line ``number`` set (see :meth:`SimModem.set_dte_rate`)."""
        self._modems[number].set_dte_rate(rate)

    def set_silent(self, number: str, silent: bool, now: float) -> list[LineAction]:
        """Make the modem on line ``number`` die or come back (see :meth:`SimModem.set_silent`)."""
        return self._route(number, self._modems[number].set_silent(silent, now), now)

    def handle_timer(self, now: float) -> list[LineAction]:
        """Run every modem's timers due at ``now``."""
        out: list[LineAction] = []
        for number, modem in self._modems.items():
            when = modem.get_timer()
            if when is not None and when <= now:
                out.extend(self._route(number, modem.handle_timer(now), now))
        return out

    # --- routing ---------------------------------------------------------------------------------------

    def _route(self, number: str, actions: list[Action], now: float) -> list[LineAction]:
        """Carry the phone-line actions over to the other side; hand the rest to the shell, in order."""
        out: list[LineAction] = []
        queue: deque[LineAction] = deque((number, action) for action in actions)
        while queue:
            line, action = queue.popleft()
            match action:
                case Dial(number=dialled):
                    queue.extend(self._dial(line, dialled, now))
                case CarrierUp():
                    peer = self._peer.get(line)
                    if peer is not None and line in self._callee:
                        queue.extend((peer, a) for a in self._modems[peer].remote_answered(now))
                case ToCaller(data=data):
                    peer = self._peer.get(line)
                    if peer is not None:
                        queue.extend((peer, a) for a in self._modems[peer].caller_data(data, now))
                case DropCaller():
                    queue.extend(self._hang_up(line, now))
                case _:
                    out.append((line, action))
        return out

    def _dial(self, caller: str, dialled: str, now: float) -> list[LineAction]:
        target = self._modems.get(dialled)
        if target is None or dialled == caller:
            return [(caller, Log(text=f"exchange: {dialled} is not a line here; nothing rings"))]
        if not target.accepts_call:
            return [
                (caller, Log(text=f"exchange: {dialled} is busy")),
                *((caller, a) for a in self._modems[caller].remote_busy(now)),
            ]
        self._peer[caller] = dialled
        self._peer[dialled] = caller
        self._callee.add(dialled)
        return [
            (caller, Log(text=f"exchange: ringing {dialled}")),
            *((dialled, a) for a in target.caller_arrived(now, number=caller)),
        ]

    def _hang_up(self, line: str, now: float) -> list[LineAction]:
        peer = self._peer.pop(line, None)
        self._callee.discard(line)
        if peer is None:
            return []
        self._peer.pop(peer, None)
        self._callee.discard(peer)
        return [
            (line, Log(text=f"exchange: {line} hung up on {peer}")),
            *((peer, a) for a in self._modems[peer].caller_left(now)),
        ]
