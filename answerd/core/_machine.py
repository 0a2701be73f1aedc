"""The answer machine: one port's life from modem init to CONNECT and back, as a pure state machine.

Theory of operation
-------------------
The machine is sans-IO (h11's model) with time as an input (aioquic's model). The shell feeds it what
happened — bytes from the modem (:meth:`receive_data`), the port being (re)opened (:meth:`port_opened`), a
deadline passing (:meth:`handle_timer`), a call it took over ending (:meth:`call_finished`) — always with
``now`` from one monotonic clock. Each input returns a list of effects that the shell carries out in order,
and :meth:`get_timer` says when the machine next wants :meth:`handle_timer`. No sleeping, no clock reads,
no I/O: every timeout in here can be tested by jumping ``now``.

The machine is three layers of one class: this module (the shell's inputs, and modem events dispatched by
phase), :mod:`._answering` (RINGs, answering, CONNECT; each call a :class:`~._call.CallInProgress`) and
:mod:`._upkeep` (which chat runs when and what its result means; each chat a
:class:`~.hayes.chat_runner.ChatRunner` sub-machine). The phases and the table of legal inputs are data, in
:mod:`._phases`. One cycle::

    OPENING ──port_opened──▶ RESETTING ──DTR back up──▶ INITIALIZING ──chat OK──▶ IDLE
                  ▲            (DTR low dtr_drop_s)        │  ▲ fail: RETRY_WAIT, force-init, again
                  │                                        ▼  │ (init_retries times, then FAILED)
                  │     IDLE ──RING──▶ RINGING(n) ──n == rings──▶ ANSWERING ──CONNECT──▶ CONNECTED
                  │        ▲  ring gap: abandoned ◀──┘     (ATA)     │ NO CARRIER / timeout     │
                  │        └────────────────────────────────────────┘ (hang up)               │
                  └── REOPENING ◀── call_finished (the shell ran the login dialog and the program)

Idle, the machine lets go of the line (``ReleaseLine``). To write while idle (the health check, a re-init
after a reload) it asks for it back (``ClaimLine``) and waits in ``CLAIMING`` for :meth:`line_claimed`, or
for :meth:`suspend` when a dial-out program has it. A RING needs no claim: the shell takes the line before
it reads a byte.

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

from answerd.core._answering import shown
from answerd.core._call import CallInProgress
from answerd.core._effects import (
    CallRecord,
    Decision,
    Effect,
    Outcome,
    ReleaseLine,
    Reopen,
    Report,
    SetDtr,
    Status,
    Write,
)
from answerd.core._hangup import HangingUp
from answerd.core._phases import READING, Phase
from answerd.core._profile import Profile
from answerd.core._setup import SetupStep
from answerd.core._upkeep import Chat, Claim
from answerd.core.hayes.chat import ChatStep
from answerd.core.hayes.chat_runner import ChatRunner
from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import (
    CallerIdField,
    CarrierReport,
    Connect,
    Garbage,
    ModemEvent,
    Ring,
    RingCadence,
)
from answerd.core.hayes.family import ModemFamily, SpeedCap
from answerd.core.hayes.lines import LineSplitter

__all__ = ["AnswerMachine"]


class AnswerMachine(HangingUp):
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
        self._timer: float | None = None
        self._chat: ChatRunner | None = None
        self._chat_kind: Chat | None = None
        self._attempt = 0
        self._ready_sent = False
        self._next_call_id = 1
        self._call: CallInProgress | None = None
        # Caller-ID and cadence lines that came before the first RING (some modems send them first); they
        # belong to the next call only if it rings within ring_gap_s.
        self._early: list[tuple[float, CallerIdField | RingCadence]] = []
        self._carrier: list[CarrierReport] = []
        self._claim_for: Claim | None = None
        self._family: ModemFamily | None = profile.family
        self._setup_queue: list[SetupStep] = []
        self._setup_current: SetupStep | None = None
        self._unrecognised_next_at = float("-inf")
        self._unrecognised_left_out = 0
        self._link: dict[str, str | int | None] = {}
        self._dcd_readable = True
        self._hangup_stage = None
        self._hangup_deadline = 0.0
        self._hangup_offline = False

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
        return self._phase in READING

    def get_timer(self) -> float | None:
        """When :meth:`handle_timer` must next be called, or ``None`` for no deadline."""
        return self._chat.timer if self._chat is not None else self._timer

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

    # ------------------------------------------------------------------ inputs: the line and the port

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
            self._claim_for = Claim.REINITIALIZE
            return []
        return self._claim(Claim.REINITIALIZE)

    def line_claimed(self, now: float) -> list[Effect]:
        """The shell holds the line again after ``ClaimLine``: do what the line was claimed for.

        Raises:
            LocalProtocolError: unless the machine is claiming the line.
        """
        self._require("line_claimed")
        purpose, self._claim_for = self._claim_for, None
        if purpose is Claim.HEALTH:
            return self._start_chat(Chat.HEALTH, now)
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
        self._chat_kind = None
        return [Status(text=reason)]

    def port_opened(self, now: float, *, dtr_hangs_up: bool = True, dcd_readable: bool | None = None) -> list[Effect]:
        """The shell has (re)opened the device: reset and initialise the modem.

        Args:
            dtr_hangs_up: the line has a real DTR, so dropping it is known to hang the modem up. On a line
                without modem control (``False``) the shell can only set speed B0, which a modem on a 3-wire
                cable never sees; the machine then checks with a short ``AT`` probe that the modem is in
                command mode, and escapes it with the force-init chat (``+++``, ``ATH0``) if not.
            dcd_readable: the shell can read DCD on this port, so the hang-up after a call may wait for it
                (``CheckCarrier`` / :meth:`carrier_changed`); ``None``: the same as ``dtr_hangs_up`` (both
                come with real modem-control lines).
        """
        self._require("port_opened")
        self._dcd_readable = dtr_hangs_up if dcd_readable is None else dcd_readable
        if self._profile.family is None:
            self._family = None  # "auto": identify again, the device may be another modem now
        else:
            self._family = self._profile.family
        self._probe_first = not dtr_hangs_up
        self._early.clear()
        self._splitter = LineSplitter(max_line=self._max_line)
        self._attempt = 0
        if self._profile.toggle_dtr:
            self._phase = Phase.RESETTING
            self._timer = now + self._profile.dtr_drop_s
            return [SetDtr(high=False), Status(text="resetting modem (DTR low)")]
        return self._begin_attempt(now)

    def receive_data(self, data: bytes, now: float) -> list[Effect]:
        """Bytes the modem sent.

        While idle the shell reads only after taking the line; if the bytes leave the machine idle, the
        effects end with ``ReleaseLine`` (once), so the line is let go again.

        Raises:
            LocalProtocolError: in a phase where the machine does not read the line (check :attr:`reading`).
        """
        self._require("receive_data")
        self._splitter.receive_data(data)
        effects: list[Effect] = []
        while self._phase in READING:
            item = self._splitter.next_line()
            if item is None:
                break
            if isinstance(item, Garbage):
                effects.append(Report(event="modem.garbage", fields=(("dropped", item.dropped),), level="warning"))
                continue
            event = classify(item, pending=self._pending_command(), numeric=self._numeric_codes())
            effects.append(
                Report(event="modem.line", fields=(("line", item), ("kind", type(event).__name__)), level="debug")
            )
            effects += self._on_event(event, now)
        if self._phase is Phase.IDLE and not any(isinstance(effect, ReleaseLine) for effect in effects):
            # The shell took the line to read these bytes; they were no call (a caller-ID line before its RING,
            # a stray result, noise, the health check cut short), so the machine has settled idle again.
            effects.append(ReleaseLine())
        return effects

    def handle_timer(self, now: float) -> list[Effect]:
        """A deadline from :meth:`get_timer` has come (calling early does nothing)."""
        deadline = self.get_timer()
        if deadline is None or now < deadline:
            return []
        if self._chat is not None:  # a chat's pause ended or its expect timed out
            return self._after_chat(self._chat.handle_timer(now), now)
        self._timer = None
        match self._phase:
            case Phase.RESETTING:
                return [SetDtr(high=True), *self._begin_attempt(now)]
            case Phase.RETRY_WAIT:
                return self._start_chat(Chat.FORCE_INIT, now)
            case Phase.IDLE:
                return self._claim(Claim.HEALTH)
            case Phase.HANGING_UP:
                return self._hangup_timer(now)
            case Phase.RINGING if self._call is not None and self._call.not_data:
                return self._end_unanswered(Outcome.NOT_DATA, self._call.verdict_reason, now)
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
        self._chat_kind = None
        return [*effects, Status(text="port lost, reopening"), Reopen()]

    def shutdown(self, now: float) -> list[Effect]:
        """Stop for good. A call still being rung in or answered is recorded as ended by shutdown.

        Raises:
            LocalProtocolError: while connected: only the shell knows the program's exit status, so it must
                finish the call first (:meth:`call_finished`).
        """
        self._require("shutdown")
        effects: list[Effect] = self._flush_pending()
        if self._call is not None:
            effects += self._finish_call(self._call.record(Outcome.SHUTDOWN, now, detail="answerd stopping"))
        self._phase = Phase.STOPPED
        self._timer = None
        self._claim_for = None
        self._chat = None
        self._chat_kind = None
        return [*effects, Status(text="stopping")]

    # ------------------------------------------------------------------ inputs: the call

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
        more = {"user": user, "program": program, "exit_status": exit_status, "signal": signal, "detail": detail}
        record = self._call.record(outcome, now, connect=self._connect_text, **self._link, **more)
        if self._profile.statistics_chat:
            # The record is completed after the re-init, with what the statistics chat returns.
            self._pending_record = record
            self._call = None
            effects: list[Effect] = []
        else:
            effects = self._finish_call(record)
        return [*effects, *self._begin_hangup(outcome, now)]

    def decide(
        self,
        now: float,
        call_id: int,
        verdict: Decision,
        *,
        reason: str = "",
        chat: tuple[ChatStep, ...] = (),
        speed_cap: SpeedCap | None = None,
    ) -> list[Effect]:
        """The shell's answer to :class:`AnswerPending` for call ``call_id``.

        A decision for a call that is no longer waiting (the caller gave up while a decision program ran)
        is dropped with a report; that is a race, not a bug.

        Args:
            verdict: answer, never answer, or not now (busy-out: ask again at the next RING).
            reason: why, for the log and the call record.
            chat: a per-caller init chat to run before ``ATA`` (e.g. to hold the speed down).
            speed_cap: a speed cap for this call, sent after ``chat`` in the modem family's command (a cap the
                family cannot say is reported and left out); ``None``: the cap of the first rule of
                ``Profile.caller_caps`` that matches the caller, if any.
        """
        call = self._call
        if call is None or call.call_id != call_id or not call.awaiting_decision or self._phase is not Phase.RINGING:
            return [Report(event="call.decision_late", fields=(("call_id", call_id), ("verdict", verdict.value)))]
        call.awaiting_decision = False
        call.verdict = verdict
        call.verdict_reason = reason
        caller = shown(call)
        if verdict is Decision.ACCEPT:
            effects, chat = self.with_caller_cap(chat, speed_cap, call.caller)
            if chat:
                self._phase = Phase.PREPARING
                preparing = Status(text=f"preparing to answer{caller}")
                return [*effects, preparing, *self._run_chat(Chat.CALLER_INIT, chat, now)]
            return effects + self._answer(call, now)
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
        SIGUSR1 "virtual ring". While idle it writes nothing (the next RING is answered), so it needs no
        claim of the line.
        """
        if self._phase is Phase.RINGING and self._call is not None:
            self._call.awaiting_decision = False
            return [
                Report(event="call.answer_now", fields=(("call_id", self._call.call_id),)),
                *self._answer(self._call, now),
            ]
        if self._phase in _ANSWER_NEXT_PHASES:
            self._answer_next = True
            return [Report(event="call.answer_next", fields=(("phase", self._phase.value),))]
        return [Report(event="call.answer_now.ignored", fields=(("phase", self._phase.value),))]

    # ------------------------------------------------------------------ events

    def _pending_command(self) -> str | None:
        """The command whose echo may come back: the running chat's, or ``ATA`` while answering."""
        if self._chat is not None:
            return self._chat.pending_command
        return self._profile.answer_command if self._phase is Phase.ANSWERING else None

    def _on_event(self, event: ModemEvent, now: float) -> list[Effect]:
        match self._phase:
            case Phase.HANGING_UP:
                # Only the escape chat listens; before it, the modem's chatter (NO CARRIER) changes nothing.
                return self._on_event_chatting(event, now) if self._chat is not None else []
            case Phase.INITIALIZING | Phase.PREPARING:
                return self._on_event_chatting(event, now)
            case Phase.PROBING:
                if isinstance(event, Ring | Connect | CallerIdField | RingCadence):
                    # Unsolicited codes win: the health check is abandoned for the call (its deadline stays,
                    # so a caller-ID line that brings no RING only delays the check).
                    self._timer = self._chat.timer if self._chat is not None else None
                    self._chat = None
                    self._chat_kind = None
                    self._phase = Phase.IDLE
                    return self._on_event_waiting(event, now)
                return self._on_event_chatting(event, now)
            case Phase.IDLE | Phase.RINGING:
                return self._on_event_waiting(event, now)
            case Phase.ANSWERING:
                return self._on_event_answering(event, now)
            case _:
                # RESETTING / RETRY_WAIT: the modem may still chatter (NO CARRIER after DTR drop); ignore it.
                return []

    def _on_event_chatting(self, event: ModemEvent, now: float) -> list[Effect]:
        if isinstance(event, Ring):
            if self._call is not None:  # PREPARING: the caller is still ringing while we get ready
                self._call.rings += 1
                return []
            return [Report(event="call.ring.ignored", fields=(("reason", "modem not initialised yet"),))]
        assert self._chat is not None
        return self._after_chat(self._chat.receive_event(event, now), now)


#: Phases in which SIGUSR1 arms "answer the next call at its first RING".
_ANSWER_NEXT_PHASES = frozenset(
    {
        Phase.IDLE,
        Phase.CLAIMING,
        Phase.PROBING,
        Phase.INITIALIZING,
        Phase.RESETTING,
        Phase.REOPENING,
        Phase.HANGING_UP,
    }
)
