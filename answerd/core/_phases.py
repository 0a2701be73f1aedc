"""The answer machine's phases, and which of the shell's inputs each phase takes — as data (h2's model).

The table is the rule: :class:`~._machine.AnswerMachine` checks every guarded input against
:data:`LEGAL_INPUTS`, and the tests read the same table to try every other pair.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from typing import Final

__all__ = ["LEGAL_INPUTS", "READING", "Phase"]


class Phase(enum.Enum):
    """Where the port is in its cycle."""

    #: Waiting for the shell to open the device (at start).
    OPENING = "opening"
    #: DTR is held low so the modem hangs up and resets (mgetty's toggle-dtr).
    RESETTING = "resetting"
    #: Running the force-init or init chat.
    INITIALIZING = "initializing"
    #: An init attempt failed; waiting before the next one.
    RETRY_WAIT = "retry-wait"
    #: Initialised, waiting for RING. The shell may have let go of the line (``ReleaseLine``).
    IDLE = "idle"
    #: Idle, but the machine wants the line for its own output (``ClaimLine``): waiting for ``line_claimed``.
    CLAIMING = "claiming"
    #: The idle health check: ``AT`` sent, waiting for OK.
    PROBING = "probing"
    #: RINGs are being counted.
    RINGING = "ringing"
    #: The call was accepted; the per-caller init chat runs before ``ATA``.
    PREPARING = "preparing"
    #: ``ATA`` sent, waiting for CONNECT.
    ANSWERING = "answering"
    #: The call is up and the shell owns the line.
    CONNECTED = "connected"
    #: After a connected call: DTR held low, DCD watched, the modem escaped if it stays online (``_hangup``).
    HANGING_UP = "hanging-up"
    #: Waiting for the shell to close and reopen the device after a call.
    REOPENING = "reopening"
    #: ``shutdown`` was called. Terminal.
    STOPPED = "stopped"
    #: The modem could not be initialised. Terminal.
    FAILED = "failed"


#: Phases in which the machine reads modem output.
READING: Final = frozenset(
    {
        Phase.RESETTING,
        Phase.INITIALIZING,
        Phase.RETRY_WAIT,
        Phase.IDLE,
        Phase.PROBING,
        Phase.RINGING,
        Phase.PREPARING,
        Phase.ANSWERING,
        Phase.HANGING_UP,
    }
)

#: Which of the shell's inputs each phase takes. Any other pair raises :class:`~._errors.LocalProtocolError`
#: and changes nothing. ``handle_timer``, ``decide`` and ``answer_now`` are legal everywhere: a late deadline
#: or a late decision is a race, not a shell bug.
LEGAL_INPUTS: Final[Mapping[str, frozenset[Phase]]] = {
    "receive_data": READING,
    "port_lost": READING,
    "port_opened": frozenset({Phase.OPENING, Phase.REOPENING}),
    "call_finished": frozenset({Phase.CONNECTED}),
    "shutdown": frozenset(Phase) - {Phase.CONNECTED},
    "set_profile": frozenset({Phase.IDLE, Phase.CLAIMING, Phase.OPENING, Phase.REOPENING, Phase.RETRY_WAIT}),
    "reinitialize": frozenset({Phase.IDLE, Phase.CLAIMING}),
    "line_claimed": frozenset({Phase.CLAIMING}),
    "suspend": frozenset({Phase.IDLE, Phase.CLAIMING, Phase.PROBING}),
    "carrier_changed": frozenset({Phase.HANGING_UP}),
}
