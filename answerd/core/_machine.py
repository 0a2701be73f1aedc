"""The answer machine: one port's life from modem init to CONNECT and back, as a pure state machine.

Theory of operation
-------------------
The machine is sans-IO (h11's model) with time as an input (aioquic's model). The shell feeds it what
happened — bytes from the modem (:meth:`receive_data`), the port being (re)opened (:meth:`port_opened`), a
deadline passing (:meth:`handle_timer`), a call it took over ending (:meth:`call_finished`) — always with
``now`` from one monotonic clock. Each input returns a list of effects that the shell carries out in order,
and :meth:`get_timer` says when the machine next wants :meth:`handle_timer`. No sleeping, no clock reads,
no I/O: every timeout in here can be tested by jumping ``now``.

One cycle::

    OPENING ──port_opened──▶ RESETTING ──DTR back up──▶ INITIALIZING ──chat OK──▶ IDLE
                  ▲            (DTR low dtr_drop_s)        │  ▲ fail: RETRY_WAIT, force-init, again
                  │                                        ▼  │ (init_retries times, then FAILED)
                  │     IDLE ──RING──▶ RINGING(n) ──n == rings──▶ ANSWERING ──CONNECT──▶ CONNECTED
                  │        ▲  ring gap: abandoned ◀──┘     (ATA)     │ NO CARRIER / timeout     │
                  │        └────────────────────────────────────────┘ (hang up)               │
                  └── REOPENING ◀── call_finished (the shell ran the login dialog and the program)

The machine never reads the line in ``CONNECTED``: the shell owns it then (login dialog, then the handed-off
program). Bytes that came after the CONNECT line in the same read are given to the shell as
``Answered.trailing_data`` rather than lost.

Rules this module keeps
-----------------------
1. Modem output is classified by *content* (:func:`classify`), whatever command is in flight: a RING that
   arrives while ``AT`` waits for ``OK`` is a RING (python-gsmmodem's flaw, see architecture.md §2.7).
2. The modem misbehaving is never an exception: it is a retry, a timeout, a ``Report`` or ``Fatal``.
   :class:`LocalProtocolError` is only raised when the *shell* feeds an input the phase cannot take, and the
   phase is left unchanged when it is raised.
3. Every decision the machine makes is visible as an effect (``Status``, ``Report``, ``CallEnded``), because
   the core never logs; the shell logs them, so the journal holds the whole transcript.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Final

from answerd.core._effects import (
    Answered,
    AnswerPending,
    CallEnded,
    CallRecord,
    ClaimLine,
    Decision,
    Effect,
    Fatal,
    FatalReason,
    FlushInput,
    Outcome,
    Ready,
    ReleaseLine,
    Reopen,
    Report,
    SetDtr,
    Status,
    Write,
)
from answerd.core._errors import LocalProtocolError
from answerd.core._profile import Profile
from answerd.core.hayes.chat import ChatStep, Pause, parse_chat
from answerd.core.hayes.cid import CallerInfo, merge_caller_id
from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import (
    CallerIdField,
    CarrierReport,
    Connect,
    Echo,
    Garbage,
    ModemEvent,
    Ok,
    Ring,
    RingCadence,
    Verdict,
)
from answerd.core.hayes.lines import LineSplitter

__all__ = ["LEGAL_INPUTS", "AnswerMachine", "Phase"]


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
    #: Waiting for the shell to close and reopen the device after a call.
    REOPENING = "reopening"
    #: ``shutdown`` was called. Terminal.
    STOPPED = "stopped"
    #: The modem could not be initialised. Terminal.
    FAILED = "failed"


#: Phases in which the machine reads modem output.
_READING = frozenset(
    {
        Phase.RESETTING,
        Phase.INITIALIZING,
        Phase.RETRY_WAIT,
        Phase.IDLE,
        Phase.PROBING,
        Phase.RINGING,
        Phase.PREPARING,
        Phase.ANSWERING,
    }
)

#: Which of the shell's inputs each phase takes (h2's model: the table is the rule, and the tests read it).
#: Any other pair raises :class:`LocalProtocolError` and changes nothing. ``handle_timer``, ``decide`` and
#: ``answer_now`` are legal everywhere: a late deadline or a late decision is a race, not a shell bug.
LEGAL_INPUTS: Final[Mapping[str, frozenset[Phase]]] = {
    "receive_data": _READING,
    "port_lost": _READING,
    "port_opened": frozenset({Phase.OPENING, Phase.REOPENING}),
    "call_finished": frozenset({Phase.CONNECTED}),
    "shutdown": frozenset(Phase) - {Phase.CONNECTED},
    "set_profile": frozenset({Phase.IDLE, Phase.CLAIMING, Phase.OPENING, Phase.REOPENING, Phase.RETRY_WAIT}),
    "reinitialize": frozenset({Phase.IDLE, Phase.CLAIMING}),
    "line_claimed": frozenset({Phase.CLAIMING}),
    "suspend": frozenset({Phase.IDLE, Phase.CLAIMING, Phase.PROBING}),
}


class _Claim(enum.Enum):
    """What the idle machine claimed the line for."""

    HEALTH = "health-check"
    REINITIALIZE = "reinitialize"


class _Chat(enum.Enum):
    PROBE = "probe"
    FORCE_INIT = "force-init"
    INIT = "init"
    STATISTICS = "statistics"
    HEALTH = "health"
    CALLER_INIT = "caller-init"


#: Most lines kept from a statistics chat, and their longest length (the splitter caps lines anyway).
_MAX_STAT_LINES = 40


#: "Is the modem in command mode?" Used before init on lines where dropping DTR cannot be trusted to hang
#: up (no modem-control lines): a modem still online passes "AT" to the caller and says nothing, so the
#: probe times out and the force-init chat (+++ guard time, ATH0) runs before the init chat.
_PROBE_CHAT = parse_chat(["", "AT", "OK"])


@dataclass(slots=True)
class _ChatRun:
    """Progress through one chat script."""

    kind: _Chat
    steps: tuple[ChatStep, ...]
    index: int = 0
    expecting: str | None = None
    timeout_s: float = 0.0


@dataclass(slots=True)
class _CallInfo:
    """What is known about the call being rung in, before it becomes a :class:`CallRecord`."""

    call_id: int
    started_at: float
    rings: int = 0
    distinctive: int = 0
    caller: CallerInfo | None = None
    cadence_bits: int = 0
    cadence_count: int = 0
    verdict: Decision | None = None
    verdict_reason: str = ""
    awaiting_decision: bool = False

    @property
    def caller_id(self) -> str | None:
        """The caller's number, ``P``/``O`` when withheld or out of area, or ``None`` when unknown."""
        info = self.caller
        if info is None:
            return None
        if info.number is not None:
            return info.number
        return None if info.reason_number is None else info.reason_number.value

    def record(self, outcome: Outcome, ended_at: float, **more: str | int | None) -> CallRecord:
        return CallRecord(
            call_id=self.call_id,
            outcome=outcome,
            started_at=self.started_at,
            ended_at=ended_at,
            rings=self.rings,
            caller_id=self.caller_id,
            caller_name=None if self.caller is None else self.caller.name,
            called_id=None if self.caller is None else self.caller.called,
            distinctive_ring=self.distinctive,
            **more,  # type: ignore[arg-type]
        )


class AnswerMachine:
    """Drives one modem port: init, count RINGs, answer, hand over, hang up, re-init.

    Args:
        profile: the port's settings.
        max_line: longest modem line accepted before it is discarded as garbage.

    >>> from answerd.core import Profile
    >>> m = AnswerMachine(Profile(toggle_dtr=False))
    >>> [type(e).__name__ for e in m.port_opened(now=0.0)]
    ['FlushInput', 'Status', 'Write']
    """

    def __init__(self, profile: Profile, *, max_line: int = 256) -> None:
        self._profile = profile
        self._phase = Phase.OPENING
        self._max_line = max_line
        self._splitter = LineSplitter(max_line=max_line)
        self._connect_text: str | None = None
        self._probe_first = False
        self._answer_next = False
        self._recovering = False
        self._pending_record: CallRecord | None = None
        self._stat_lines: list[str] = []
        self._timer: float | None = None
        self._chat: _ChatRun | None = None
        self._ops: deque[bytes | Pause] = deque()
        self._pending_command: str | None = None
        self._attempt = 0
        self._ready_sent = False
        self._next_call_id = 1
        self._call: _CallInfo | None = None
        # Caller-ID and cadence lines that came before the first RING (some modems send them first); they
        # belong to the next call only if it rings within ring_gap_s.
        self._early: list[tuple[float, CallerIdField | RingCadence]] = []
        self._carrier: list[tuple[str, str]] = []
        self._claim_for: _Claim | None = None

    # ------------------------------------------------------------------ public read-only state

    @property
    def phase(self) -> Phase:
        """The current phase."""
        return self._phase

    @property
    def profile(self) -> Profile:
        """The settings in force."""
        return self._profile

    @property
    def reading(self) -> bool:
        """Whether the shell should feed modem output to :meth:`receive_data` now."""
        return self._phase in _READING

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must next be called, or ``None`` for no deadline."""
        return self._timer

    # ------------------------------------------------------------------ inputs

    def set_profile(self, profile: Profile, *, announce_ready: bool = False) -> None:
        """Replace the settings (a config reload). They take effect from the next init.

        Args:
            announce_ready: emit ``Ready`` again after that init (the shell sent RELOADING=1 and systemd
                waits for READY=1).

        Raises:
            LocalProtocolError: unless the machine is between calls (never mid-call).
        """
        self._require("set_profile")
        self._profile = profile
        if announce_ready:
            self._ready_sent = False

    def reinitialize(self, now: float) -> list[Effect]:  # noqa: ARG002 (every input takes now)
        """Reopen the device and initialise the modem again (after a reload, while idle).

        The line is claimed first (``ClaimLine``); the reopen follows :meth:`line_claimed`. A claim already
        under way for the health check is taken over: the re-init checks the modem anyway.

        Raises:
            LocalProtocolError: unless the machine is idle (or already claiming the line).
        """
        self._require("reinitialize")
        if self._phase is Phase.CLAIMING:
            self._claim_for = _Claim.REINITIALIZE
            return []
        return self._claim(_Claim.REINITIALIZE)

    def line_claimed(self, now: float) -> list[Effect]:
        """The shell holds the line again after ``ClaimLine``: do what the line was claimed for.

        Raises:
            LocalProtocolError: unless the machine is claiming the line.
        """
        self._require("line_claimed")
        purpose, self._claim_for = self._claim_for, None
        if purpose is _Claim.HEALTH:
            return self._start_chat(_Chat.HEALTH, now)
        self._phase = Phase.REOPENING
        return [Status(text="reloading configuration"), Reopen()]

    def suspend(self, now: float, reason: str) -> list[Effect]:  # noqa: ARG002 (every input takes now)
        """Let go of the line while idle (a dial-out program took its lock); ``port_opened`` resumes.

        The shell closes the device and waits for the lock to be released, then reopens it: the modem is
        re-initialised, since the dial-out program may have left it in any state.

        Raises:
            LocalProtocolError: unless the machine is idle (claiming the line, or in its idle health check).
        """
        self._require("suspend")
        self._phase = Phase.REOPENING
        self._timer = None
        self._claim_for = None
        self._chat = None
        self._ops.clear()
        self._pending_command = None
        return [Status(text=reason)]

    @property
    def healthy(self) -> bool:
        """Whether the line works: not failed, and not retrying a modem that stopped answering.

        The shell pings the systemd watchdog only while this holds, so a modem that stays dead gets the
        service restarted even if answerd's own loop is fine.
        """
        if self._phase is Phase.FAILED or self._recovering:
            return False
        return not (self._phase in {Phase.RETRY_WAIT, Phase.INITIALIZING} and self._attempt > 1)

    @property
    def awaiting_decision(self) -> int | None:
        """The id of the call waiting for :meth:`decide`, or ``None``."""
        if self._call is not None and self._call.awaiting_decision:
            return self._call.call_id
        return None

    def port_opened(self, now: float, *, dtr_hangs_up: bool = True) -> list[Effect]:
        """The shell has (re)opened the device: reset and initialise the modem.

        Args:
            dtr_hangs_up: the line has a real DTR, so dropping it is known to hang the modem up. On a line
                without modem control (``False``) the shell can only set speed B0, which a modem on a 3-wire
                cable never sees; the machine then checks with a short ``AT`` probe that the modem is in
                command mode, and escapes it with the force-init chat (``+++``, ``ATH0``) if not.
        """
        self._require("port_opened")
        self._probe_first = not dtr_hangs_up
        self._early.clear()
        self._splitter = LineSplitter(max_line=self._max_line)
        self._attempt = 0
        effects: list[Effect] = []
        if self._profile.toggle_dtr:
            self._phase = Phase.RESETTING
            self._timer = now + self._profile.dtr_drop_s
            effects += [SetDtr(high=False), Status(text="resetting modem (DTR low)")]
            return effects
        return effects + self._begin_attempt(now)

    def receive_data(self, data: bytes, now: float) -> list[Effect]:
        """Bytes the modem sent.

        Raises:
            LocalProtocolError: in a phase where the machine does not read the line (check :attr:`reading`).
        """
        self._require("receive_data")
        self._splitter.receive_data(data)
        effects: list[Effect] = []
        while self._phase in _READING:
            item = self._splitter.next_line()
            if item is None:
                break
            if isinstance(item, Garbage):
                effects.append(Report(event="modem.garbage", fields=(("dropped", item.dropped),), level="warning"))
                continue
            event = classify(item, pending=self._pending_command)
            effects.append(
                Report(event="modem.line", fields=(("line", item), ("kind", type(event).__name__)), level="debug")
            )
            effects += self._on_event(event, now)
        return effects

    def handle_timer(self, now: float) -> list[Effect]:
        """A deadline from :meth:`get_timer` has come (calling early does nothing)."""
        if self._timer is None or now < self._timer:
            return []
        self._timer = None
        match self._phase:
            case Phase.RESETTING:
                return [SetDtr(high=True), *self._begin_attempt(now)]
            case Phase.INITIALIZING | Phase.PROBING | Phase.PREPARING:
                if self._ops or (self._chat is not None and self._chat.expecting is None):  # a send's pause ended
                    return self._run_ops(now)
                assert self._chat is not None
                waited = self._chat.expecting or ""
                return self._chat_failed(f"no {waited!r} within {self._chat.timeout_s:g} s", now)
            case Phase.RETRY_WAIT:
                return self._start_chat(_Chat.FORCE_INIT, now)
            case Phase.IDLE:
                return self._claim(_Claim.HEALTH)
            case Phase.RINGING:
                assert self._call is not None
                outcome, detail = {
                    Decision.REJECT: (Outcome.REJECTED, self._call.verdict_reason),
                    Decision.BUSY: (Outcome.BUSY_OUT, self._call.verdict_reason),
                }.get(self._call.verdict, (Outcome.ABANDONED, "the phone stopped ringing"))  # type: ignore[arg-type]
                return self._end_unanswered(outcome, detail, now)
            case Phase.ANSWERING:
                # Any character aborts a modem's answer attempt; the reopen then drops DTR for good measure.
                detail = f"no CONNECT within {self._profile.answer_timeout_s:g} s of {self._profile.answer_command}"
                return [Write(data=b"\r"), *self._hang_up(Outcome.ANSWER_TIMEOUT, detail, now)]
            case _:
                return []

    def port_lost(self, now: float) -> list[Effect]:
        """The device returned EOF or EIO while the machine was reading it (hung up, unplugged)."""
        self._require("port_lost")
        effects: list[Effect] = [Report(event="port.lost", level="warning"), *self._flush_pending()]
        if self._call is not None:
            effects += self._finish_call(self._call.record(Outcome.CARRIER_LOST, now, detail="port hung up"))
        self._phase = Phase.REOPENING
        self._timer = None
        self._chat = None
        self._ops.clear()
        return [*effects, Status(text="port lost, reopening"), Reopen()]

    def call_finished(
        self,
        now: float,
        *,
        outcome: Outcome,
        user: str | None = None,
        program: str | None = None,
        exit_status: int | None = None,
        signal: int | None = None,
        detail: str | None = None,
    ) -> list[Effect]:
        """The shell's part of a connected call is over: hang up and get ready for the next one."""
        self._require("call_finished")
        assert self._call is not None
        connect = self._connect_text
        record = self._call.record(
            outcome,
            now,
            connect=connect,
            user=user,
            program=program,
            exit_status=exit_status,
            signal=signal,
            detail=detail,
        )
        if self._profile.statistics_chat:
            # The record is completed after the re-init, with what the statistics chat returns.
            self._pending_record = record
            self._call = None
            effects: list[Effect] = []
        else:
            effects = self._finish_call(record)
        self._phase = Phase.REOPENING
        return [*effects, Status(text="hanging up"), Reopen()]

    def decide(
        self, now: float, call_id: int, verdict: Decision, *, reason: str = "", chat: tuple[ChatStep, ...] = ()
    ) -> list[Effect]:
        """The shell's answer to :class:`AnswerPending` for call ``call_id``.

        A decision for a call that is no longer waiting (the caller gave up while a decision program ran)
        is dropped with a report; that is a race, not a bug.

        Args:
            verdict: answer, never answer, or not now (busy-out: ask again at the next RING).
            reason: why, for the log and the call record.
            chat: a per-caller init chat to run before ``ATA`` (e.g. to hold the speed down).
        """
        call = self._call
        if call is None or call.call_id != call_id or not call.awaiting_decision or self._phase is not Phase.RINGING:
            return [Report(event="call.decision_late", fields=(("call_id", call_id), ("verdict", verdict.value)))]
        call.awaiting_decision = False
        call.verdict = verdict
        call.verdict_reason = reason
        caller = f" caller={call.caller_id}" if call.caller_id else ""
        if verdict is Decision.ACCEPT:
            if chat:
                self._phase = Phase.PREPARING
                self._chat = _ChatRun(kind=_Chat.CALLER_INIT, steps=chat)
                self._ops.clear()
                return [Status(text=f"preparing to answer{caller}"), *self._enter_step(now)]
            return self._answer(call, now)
        event = "call.rejected" if verdict is Decision.REJECT else "call.busy_out"
        status = "not answering" if verdict is Decision.REJECT else "busied out, not answering"
        fields: tuple[tuple[str, str | int | float | None], ...] = (
            ("call_id", call.call_id),
            ("caller_id", call.caller_id),
            ("reason", reason),
        )
        return [Report(event=event, fields=fields), Status(text=f"{status}{caller}: {reason}")]

    def answer_now(self, now: float) -> list[Effect]:
        """Answer at once (SIGUSR1): the call ringing now, or else the next one at its first RING.

        This overrides the ring count, busy-out and the caller-ID policy for that one call, like mgetty's
        SIGUSR1 "virtual ring".
        """
        if self._phase is Phase.RINGING and self._call is not None:
            self._call.awaiting_decision = False
            return [
                Report(event="call.answer_now", fields=(("call_id", self._call.call_id),)),
                *self._answer(self._call, now),
            ]
        if self._phase in {
            Phase.IDLE,
            Phase.CLAIMING,
            Phase.PROBING,
            Phase.INITIALIZING,
            Phase.RESETTING,
            Phase.REOPENING,
        }:
            self._answer_next = True
            return [Report(event="call.answer_next", fields=(("phase", self._phase.value),))]
        return [Report(event="call.answer_now.ignored", fields=(("phase", self._phase.value),))]

    def shutdown(self, now: float) -> list[Effect]:
        """Stop for good. A call still being rung in or answered is recorded as ended by shutdown.

        A connected call must be finished by the shell first (:meth:`call_finished`), because only the shell
        knows the program's exit status.
        """
        self._require("shutdown")  # connected: the shell must call call_finished first
        effects: list[Effect] = self._flush_pending()
        if self._call is not None:
            effects += self._finish_call(self._call.record(Outcome.SHUTDOWN, now, detail="answerd stopping"))
        self._phase = Phase.STOPPED
        self._timer = None
        self._claim_for = None
        self._chat = None
        self._ops.clear()
        return [*effects, Status(text="stopping")]

    # ------------------------------------------------------------------ init chats

    def _begin_attempt(self, now: float) -> list[Effect]:
        """First attempt: the init chat straight away (after the probe where DTR cannot be trusted).

        Later attempts go through RETRY_WAIT and the force-init chat.
        """
        self._attempt += 1
        first = _Chat.PROBE if self._probe_first else _Chat.INIT
        return [FlushInput(), *self._start_chat(first, now)]

    def _start_chat(self, kind: _Chat, now: float) -> list[Effect]:
        steps = {
            _Chat.PROBE: _PROBE_CHAT,
            _Chat.HEALTH: _PROBE_CHAT,
            _Chat.INIT: self._profile.init_chat,
            _Chat.FORCE_INIT: self._profile.force_init_chat,
            _Chat.STATISTICS: self._profile.statistics_chat,
        }[kind]
        self._phase = Phase.PROBING if kind is _Chat.HEALTH else Phase.INITIALIZING
        self._chat = _ChatRun(kind=kind, steps=steps)
        self._ops.clear()
        effects: list[Effect] = []
        if kind is _Chat.INIT:
            text = "initialising modem" if self._attempt == 1 else f"initialising modem, attempt {self._attempt}"
            effects.append(Status(text=text))
        return effects + self._enter_step(now)

    def _enter_step(self, now: float) -> list[Effect]:
        """Start the current step: send at once if it expects nothing, else wait for its expect string."""
        chat = self._chat
        assert chat is not None
        if chat.index >= len(chat.steps):
            return self._chat_done(now)
        step = chat.steps[chat.index]
        if step.expect:
            chat.expecting = step.expect
            timeout = self._profile.chat_timeout_s
            if chat.kind is _Chat.PROBE:
                timeout = min(timeout, self._profile.probe_timeout_s)
            elif chat.kind is _Chat.HEALTH:
                timeout = min(timeout, self._profile.health_timeout_s)
            chat.timeout_s = timeout
            self._timer = now + timeout
            return []
        return self._send_step(step, now)

    def _send_step(self, step: ChatStep, now: float) -> list[Effect]:
        chat = self._chat
        assert chat is not None
        chat.expecting = None
        self._ops.extend(step.send)
        if step.command is not None:
            self._pending_command = step.command
        chat.index += 1
        return self._run_ops(now)

    def _run_ops(self, now: float) -> list[Effect]:
        """Write queued bytes until a pause; after the last one move on to the next step."""
        effects: list[Effect] = []
        while self._ops:
            op = self._ops.popleft()
            if isinstance(op, Pause):
                self._timer = now + op.seconds
                return effects
            effects.append(Write(data=op))
        return effects + self._enter_step(now)

    def _chat_done(self, now: float) -> list[Effect]:
        chat = self._chat
        assert chat is not None
        self._chat = None
        self._timer = None
        match chat.kind:
            case _Chat.PROBE | _Chat.FORCE_INIT:  # the modem listens now: the real init
                return self._start_chat(_Chat.INIT, now)
            case _Chat.HEALTH:
                self._pending_command = None
                return [Report(event="modem.health.ok", level="debug"), *self._enter_idle(now)]
            case _Chat.CALLER_INIT:
                assert self._call is not None
                return self._answer(self._call, now)
            case _Chat.STATISTICS:
                self._pending_command = None
                return [*self._flush_pending(tuple(self._stat_lines)), *self._enter_idle(now)]
        self._pending_command = None
        effects: list[Effect] = [
            Report(event="modem.init.ok", fields=(("attempt", self._attempt),)),
        ]
        if self._recovering:
            self._recovering = False
            effects.append(Report(event="modem.recovered", level="warning"))
        if not self._ready_sent:
            self._ready_sent = True
            effects.append(Ready())
        if self._pending_record is not None and self._profile.statistics_chat:
            self._stat_lines = []
            return effects + self._start_chat(_Chat.STATISTICS, now)
        return effects + self._enter_idle(now)

    def _chat_failed(self, why: str, now: float) -> list[Effect]:
        chat = self._chat
        assert chat is not None
        self._chat = None
        self._ops.clear()
        self._timer = None
        if chat.kind is _Chat.HEALTH:
            # "Some modems have the nasty habit of just dying after some time" (mgetty): recover by
            # reopening (DTR drop) and re-initialising; if that fails too, the port gives up (Fatal).
            self._recovering = True
            self._phase = Phase.REOPENING
            self._pending_command = None
            return [
                Report(event="modem.health.failed", fields=(("reason", why),), level="warning"),
                Status(text="modem not responding, recovering"),
                Reopen(),
            ]
        if chat.kind is _Chat.STATISTICS:
            report = Report(event="modem.statistics.failed", fields=(("reason", why),), level="warning")
            return [report, *self._flush_pending(tuple(self._stat_lines)), *self._enter_idle(now)]
        if chat.kind is _Chat.CALLER_INIT:
            assert self._call is not None
            report = Report(event="call.caller_init.failed", fields=(("reason", why),), level="warning")
            return [report, *self._answer(self._call, now)]
        if chat.kind is _Chat.PROBE:
            # No OK to "AT": the modem is probably still online (DTR could not hang it up). Escape it.
            report = Report(event="modem.still_online", fields=(("reason", why),), level="warning")
            return [report, *self._start_chat(_Chat.FORCE_INIT, now)]
        if chat.kind is _Chat.FORCE_INIT:
            # A modem that was not stuck online says nothing useful to +++; go on with the real init.
            report = Report(event="modem.force_init.failed", fields=(("reason", why),), level="debug")
            return [report, *self._start_chat(_Chat.INIT, now)]
        fields: tuple[tuple[str, str | int | float | None], ...] = (
            ("attempt", self._attempt),
            ("of", self._profile.init_retries),
            ("reason", why),
        )
        if self._attempt >= self._profile.init_retries:
            self._phase = Phase.FAILED
            detail = f"modem did not initialise after {self._attempt} attempts: {why}"
            reason = FatalReason.MODEM_DEAD if self._recovering else FatalReason.MODEM_INIT_FAILED
            return [
                *self._flush_pending(),
                Report(event="modem.init.failed", fields=fields, level="error"),
                Status(text="modem not responding, giving up"),
                Fatal(reason=reason, detail=detail),
            ]
        backoff = min(self._profile.retry_backoff_s * 2 ** (self._attempt - 1), self._profile.retry_backoff_max_s)
        self._attempt += 1
        self._phase = Phase.RETRY_WAIT
        self._timer = now + backoff
        return [
            Report(event="modem.init.retry", fields=(*fields, ("backoff_s", backoff)), level="warning"),
            Status(text=f"modem not responding, retry {self._attempt - 1}"),
        ]

    # ------------------------------------------------------------------ events

    def _on_event(self, event: ModemEvent, now: float) -> list[Effect]:
        match self._phase:
            case Phase.INITIALIZING | Phase.PREPARING:
                return self._on_event_initializing(event, now)
            case Phase.PROBING:
                if isinstance(event, Ring | Connect | CallerIdField | RingCadence):
                    # Unsolicited codes win: the health check is abandoned for the call.
                    self._chat = None
                    self._ops.clear()
                    self._pending_command = None
                    self._phase = Phase.IDLE
                    return self._on_event_waiting(event, now)
                return self._on_event_initializing(event, now)
            case Phase.IDLE | Phase.RINGING:
                return self._on_event_waiting(event, now)
            case Phase.ANSWERING:
                return self._on_event_answering(event, now)
            case _:
                # RESETTING / RETRY_WAIT: the modem may still chatter (NO CARRIER after DTR drop); ignore it.
                return []

    def _on_event_initializing(self, event: ModemEvent, now: float) -> list[Effect]:
        chat = self._chat
        assert chat is not None
        if isinstance(event, Ring):
            if self._call is not None:  # PREPARING: the caller is still ringing while we get ready
                self._call.rings += 1
                return []
            return [Report(event="call.ring.ignored", fields=(("reason", "modem not initialised yet"),))]
        line = getattr(event, "line", "")
        stats = chat.kind is _Chat.STATISTICS and not isinstance(event, Ok | Verdict | Echo)
        if stats and len(self._stat_lines) < _MAX_STAT_LINES:
            self._stat_lines.append(line)
        # Match the verbose form too, so an expect of "OK" also matches a numeric (V0) "0".
        canonical = "OK" if isinstance(event, Ok) else (event.code if isinstance(event, Verdict) else line)
        if chat.expecting is not None and (chat.expecting in line or chat.expecting in canonical):
            self._timer = None
            return self._send_step(chat.steps[chat.index], now)
        if isinstance(event, Verdict) and chat.kind is _Chat.PROBE:
            # Any result code to "AT" (even ERROR) proves the modem is in command mode: on with the init.
            self._timer = None
            return self._chat_done(now)
        if isinstance(event, Verdict) and event.code in self._profile.abort_codes:
            command = self._pending_command or "the chat"
            return self._chat_failed(f"modem answered {event.code} to {command}", now)
        return []

    def _on_event_waiting(self, event: ModemEvent, now: float) -> list[Effect]:
        match event:
            case Ring():
                return self._on_ring(event, now)
            case RingCadence():
                if self._call is None:
                    self._early.append((now, event))
                else:
                    self._apply_cadence(self._call, event)
                return []
            case CallerIdField():
                if self._call is None:
                    self._early.append((now, event))
                    return []
                self._apply_cid(self._call, event)
                return [Report(event="call.caller_id", fields=((event.key, event.value),))]
            case Connect():
                # The modem answered by itself (S0 > 0, or a collision with our count): take the call.
                call = self._call_or_new(now)
                report = Report(event="call.auto_answered", fields=(("rings", call.rings),), level="warning")
                return [report, *self._connected(event, now)]
            case _:
                return []

    def _on_ring(self, ring: Ring, now: float) -> list[Effect]:
        call = self._call_or_new(now)
        call.rings += 1
        if ring.caller or ring.called:
            call.caller = merge_caller_id(call.caller, ring)
        if call.cadence_count:
            call.distinctive = call.cadence_bits
            call.cadence_bits = call.cadence_count = 0
        elif ring.distinctive:
            call.distinctive = ring.distinctive
        self._phase = Phase.RINGING
        effects: list[Effect] = [
            Report(
                event="call.ring",
                fields=(
                    ("ring", call.rings),
                    ("of", self._profile.rings),
                    ("caller_id", call.caller_id),
                    ("distinctive", call.distinctive),
                ),
            )
        ]
        caller = f" caller={call.caller_id}" if call.caller_id else ""
        if self._answer_next:
            self._answer_next = False
            report = Report(event="call.answer_now", fields=(("call_id", call.call_id),))
            return [*effects, report, *self._answer(call, now)]
        self._timer = now + self._profile.ring_gap_s
        if call.verdict is Decision.REJECT or call.awaiting_decision:
            return effects  # counted; the decision stands (or is still being made)
        if call.rings < self._profile.rings:
            return [*effects, Status(text=f"ringing {call.rings}/{self._profile.rings}{caller}")]
        if not self._profile.answer_gate:
            return effects + self._answer(call, now)
        call.awaiting_decision = True
        pending = AnswerPending(call=call.record(Outcome.ANSWERED, now))
        return [*effects, Status(text=f"ringing {call.rings}/{self._profile.rings}{caller}"), pending]

    def _answer(self, call: _CallInfo, now: float) -> list[Effect]:
        """Pick up: send the answer command and wait for CONNECT."""
        caller = f" caller={call.caller_id}" if call.caller_id else ""
        self._phase = Phase.ANSWERING
        self._timer = now + self._profile.answer_timeout_s
        self._pending_command = self._profile.answer_command
        self._carrier = []
        # The write comes first: the shell carries effects out in order, and the modem should not wait
        # for a status message or a log record.
        return [
            Write(data=self._profile.answer_command.encode("ascii") + b"\r"),
            Status(text=f"answering{caller}"),
        ]

    def _on_event_answering(self, event: ModemEvent, now: float) -> list[Effect]:
        match event:
            case Connect():
                return self._connected(event, now)
            case CarrierReport():
                self._carrier.append((event.key, event.value))
                return []
            case CallerIdField():
                assert self._call is not None
                self._apply_cid(self._call, event)
                return []
            case Verdict():
                return self._hang_up(Outcome.NO_CONNECT, f"modem answered {event.code}", now)
            case Ok():
                # Some modems say OK when ATA is aborted; the call did not connect.
                return self._hang_up(Outcome.NO_CONNECT, "modem answered OK instead of CONNECT", now)
            case _:
                return []

    def _connected(self, connect: Connect, now: float) -> list[Effect]:
        call = self._call
        assert call is not None
        self._phase = Phase.CONNECTED
        self._timer = None
        self._pending_command = None
        self._connect_text = connect.text or connect.line
        trailing = self._splitter.take_rest()
        record = call.record(Outcome.ANSWERED, now, connect=self._connect_text)
        detail = "/".join(v for _, v in self._carrier)
        text = f"connected {self._connect_text}" + (f" ({detail})" if detail else "")
        if call.caller_id:
            text += f" caller={call.caller_id}"
        return [
            Report(
                event="call.connected",
                fields=(
                    ("connect", self._connect_text),
                    ("rings", call.rings),
                    ("trailing_bytes", len(trailing)),
                ),
            ),
            Status(text=text),
            Answered(connect=connect, call=record, trailing_data=trailing, carrier_details=tuple(self._carrier)),
        ]

    # ------------------------------------------------------------------ call bookkeeping

    def _call_or_new(self, now: float) -> _CallInfo:
        if self._call is None:
            self._call = _CallInfo(call_id=self._next_call_id, started_at=now)
            self._next_call_id += 1
            self._connect_text = None
            self._carrier = []
            for seen, item in self._early:
                if now - seen > self._profile.ring_gap_s:
                    continue  # stale: it belonged to a call that never rang
                if isinstance(item, RingCadence):
                    self._apply_cadence(self._call, item)
                else:
                    self._apply_cid(self._call, item)
            self._early.clear()
        return self._call

    @staticmethod
    def _apply_cadence(call: _CallInfo, cadence: RingCadence) -> None:
        # mgetty's V.253 rule: the first report and any duration over 0.9 s is a 1 bit, the rest 0 bits.
        bit = 1 if call.cadence_count == 0 or cadence.duration_ds > 9 else 0
        call.cadence_bits = (call.cadence_bits << 1) | bit
        call.cadence_count += 1

    @staticmethod
    def _apply_cid(call: _CallInfo, field: CallerIdField) -> None:
        # One merge for every format (MESG packets are decoded there); later lines win, as in mgetty.
        call.caller = merge_caller_id(call.caller, field)

    def _flush_pending(self, statistics: tuple[str, ...] = ()) -> list[Effect]:
        """Emit the record of a finished call that waited for its statistics chat."""
        record = self._pending_record
        if record is None:
            return []
        self._pending_record = None
        return [CallEnded(record=replace(record, statistics=statistics))]

    def _finish_call(self, record: CallRecord) -> list[Effect]:
        self._call = None
        self._early.clear()
        return [CallEnded(record=record)]

    def _end_unanswered(self, outcome: Outcome, detail: str, now: float) -> list[Effect]:
        """The call ended before it was answered; the modem is still initialised, so go straight to IDLE."""
        assert self._call is not None
        effects = self._finish_call(self._call.record(outcome, now, detail=detail))
        return effects + self._enter_idle(now)

    def _hang_up(self, outcome: Outcome, detail: str, now: float) -> list[Effect]:
        """An answer attempt failed: record the call, then reopen (DTR drop) and re-initialise."""
        assert self._call is not None
        record = self._call.record(outcome, now, detail=detail)
        effects = self._finish_call(record)
        self._phase = Phase.REOPENING
        self._timer = None
        self._pending_command = None
        return [*effects, Status(text="hanging up"), Reopen()]

    def _enter_idle(self, now: float) -> list[Effect]:
        self._phase = Phase.IDLE
        check = self._profile.health_check_s
        self._timer = None if check is None else now + check
        return [Status(text="waiting for RING"), ReleaseLine()]

    def _claim(self, purpose: _Claim) -> list[Effect]:
        """Idle, the machine wants to write: ask the shell for the line and wait, writing nothing."""
        self._phase = Phase.CLAIMING
        self._timer = None
        self._claim_for = purpose
        return [Report(event="line.claim", fields=(("purpose", purpose.value),), level="debug"), ClaimLine()]

    def _require(self, name: str) -> None:
        phases = LEGAL_INPUTS[name]
        if self._phase not in phases:
            allowed = ", ".join(sorted(p.value for p in phases))
            raise LocalProtocolError(f"{name} not allowed in phase {self._phase.value} (only in {allowed})")
