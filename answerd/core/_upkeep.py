"""The modem's upkeep, one half of the answer machine: which chat runs when, and what its result means.

Init attempts (the probe on lines without DTR, force-init, init), their retries with backoff and the final
``Fatal``; the idle health check and its recovery; the statistics chat after a call; settling in ``IDLE``
(``ReleaseLine``) and claiming the line back (``ClaimLine``). Each chat itself is a
:class:`~.hayes.chat_runner.ChatRunner`; this module starts it and acts on its :class:`ChatSucceeded` or
:class:`ChatFailed`. The calls (RINGs, answering, CONNECT) are the other half, in :mod:`._machine`, whose
:class:`~._machine.AnswerMachine` inherits this one; the state both use is declared here.
"""

from __future__ import annotations

import abc
import enum
from dataclasses import replace

from answerd.core._call import CallInProgress
from answerd.core._effects import (
    CallEnded,
    CallRecord,
    ClaimLine,
    Effect,
    Fatal,
    FatalReason,
    FlushInput,
    Ready,
    ReleaseLine,
    Reopen,
    Report,
    Status,
    Write,
)
from answerd.core._errors import LocalProtocolError
from answerd.core._phases import LEGAL_INPUTS, Phase
from answerd.core._profile import Profile
from answerd.core.hayes.chat import ChatStep, parse_chat
from answerd.core.hayes.chat_runner import ChatFailed, ChatOutput, ChatRunner, ChatSucceeded

__all__ = ["Chat", "Claim", "ModemUpkeep"]

#: "Is the modem in command mode?" Used before init on lines where dropping DTR cannot be trusted to hang
#: up (no modem-control lines): a modem still online passes "AT" to the caller and says nothing, so the
#: probe times out and the force-init chat (+++ guard time, ATH0) runs before the init chat.
_PROBE_CHAT = parse_chat(["", "AT", "OK"])


class Chat(enum.Enum):
    """Which chat is running, which decides what its result means."""

    PROBE = "probe"
    FORCE_INIT = "force-init"
    INIT = "init"
    STATISTICS = "statistics"
    HEALTH = "health"
    CALLER_INIT = "caller-init"
    #: After init: which family is this modem (``modem_family = "auto"``)?
    IDENTIFY = "identify"
    #: After init: switch caller ID on.
    CALLER_ID = "caller-id"
    #: After init: the port's speed cap.
    SPEED_CAP = "speed-cap"
    #: After a call: the escape sequence and ATH0, where the modem may still be online.
    HANGUP = "hang-up"


class Claim(enum.Enum):
    """What the idle machine claimed the line for."""

    HEALTH = "health-check"
    REINITIALIZE = "reinitialize"


class ModemUpkeep(abc.ABC):
    """Chats and their consequences; the answer machine's state that they touch is declared here."""

    _profile: Profile
    _phase: Phase
    _timer: float | None
    _chat: ChatRunner | None
    _chat_kind: Chat | None
    _attempt: int
    _probe_first: bool
    _recovering: bool
    _ready_sent: bool
    _pending_record: CallRecord | None
    _claim_for: Claim | None
    _call: CallInProgress | None

    def _require(self, name: str) -> None:
        """Raise :class:`LocalProtocolError` unless the shell's input ``name`` is legal in this phase."""
        phases = LEGAL_INPUTS[name]
        if self._phase not in phases:
            allowed = ", ".join(sorted(p.value for p in phases))
            raise LocalProtocolError(f"{name} not allowed in phase {self._phase.value} (only in {allowed})")

    @abc.abstractmethod
    def _answer(self, call: CallInProgress, now: float) -> list[Effect]:
        """Pick up the call (the answer machine's; after a caller's init chat)."""

    @abc.abstractmethod
    def _after_init(self, now: float) -> list[Effect]:
        """The init chat succeeded: identify, caller ID, speed cap (:mod:`._setup`), then :meth:`_init_complete`."""

    @abc.abstractmethod
    def _setup_chat_ended(self, kind: Chat, lines: tuple[str, ...], why: str | None, now: float) -> list[Effect]:
        """A setup chat ended (``why`` is ``None`` on success): go on with the setup (:mod:`._setup`)."""

    @abc.abstractmethod
    def _hangup_escaped(self, why: str | None, now: float) -> list[Effect]:
        """The hang-up's escape chat ended: reopen (:mod:`._hangup`)."""

    # ------------------------------------------------------------------ starting chats

    def _begin_attempt(self, now: float) -> list[Effect]:
        """First attempt: the init chat straight away (after the probe where DTR cannot be trusted).

        Later attempts go through RETRY_WAIT and the force-init chat.
        """
        self._attempt += 1
        first = Chat.PROBE if self._probe_first else Chat.INIT
        return [FlushInput(), *self._start_chat(first, now)]

    def _start_chat(self, kind: Chat, now: float) -> list[Effect]:
        steps = {
            Chat.PROBE: _PROBE_CHAT,
            Chat.HEALTH: _PROBE_CHAT,
            Chat.INIT: self._profile.init_chat,
            Chat.FORCE_INIT: self._profile.force_init_chat,
            Chat.STATISTICS: self._profile.statistics_chat,
        }[kind]
        self._phase = Phase.PROBING if kind is Chat.HEALTH else Phase.INITIALIZING
        effects: list[Effect] = []
        if kind is Chat.INIT:
            text = "initialising modem" if self._attempt == 1 else f"initialising modem, attempt {self._attempt}"
            effects.append(Status(text=text))
        return effects + self._run_chat(kind, steps, now)

    def _run_chat(self, kind: Chat, steps: tuple[ChatStep, ...], now: float) -> list[Effect]:
        timeout = self._profile.chat_timeout_s
        if kind is Chat.PROBE:
            timeout = min(timeout, self._profile.probe_timeout_s)
        elif kind is Chat.HEALTH:
            timeout = min(timeout, self._profile.health_timeout_s)
        self._chat = ChatRunner(
            steps,
            timeout_s=timeout,
            abort_codes=self._profile.abort_codes,
            # Any answer to "AT", even ERROR, proves command mode; an identification question may be refused.
            any_result_succeeds=kind in (Chat.PROBE, Chat.IDENTIFY),
            collect=kind in (Chat.STATISTICS, Chat.IDENTIFY),
        )
        self._chat_kind = kind
        self._timer = None
        return self._after_chat(self._chat.start(now), now)

    def _after_chat(self, outputs: list[ChatOutput], now: float) -> list[Effect]:
        """Pass the chat's writes on; act on its result if it has one (always last)."""
        effects: list[Effect] = [Write(data=output) for output in outputs if isinstance(output, bytes)]
        match outputs[-1] if outputs else None:
            case ChatSucceeded():
                return effects + self._chat_done(now)
            case ChatFailed(reason=reason):
                return effects + self._chat_failed(reason, now)
        return effects

    def _drop_chat(self) -> tuple[Chat, tuple[str, ...]]:
        chat, kind = self._chat, self._chat_kind
        assert chat is not None
        assert kind is not None
        self._chat = None
        self._chat_kind = None
        self._timer = None
        return kind, chat.lines

    # ------------------------------------------------------------------ chat results

    def _chat_done(self, now: float) -> list[Effect]:
        kind, lines = self._drop_chat()
        match kind:
            case Chat.PROBE | Chat.FORCE_INIT:  # the modem listens now: the real init
                return self._start_chat(Chat.INIT, now)
            case Chat.HEALTH:
                return [Report(event="modem.health.ok", level="debug"), *self._enter_idle(now)]
            case Chat.CALLER_INIT:
                assert self._call is not None
                return self._answer(self._call, now)
            case Chat.STATISTICS:
                return [*self._flush_pending(lines), *self._enter_idle(now)]
            case Chat.IDENTIFY | Chat.CALLER_ID | Chat.SPEED_CAP:
                return self._setup_chat_ended(kind, lines, None, now)
            case Chat.HANGUP:
                return self._hangup_escaped(None, now)
        return self._after_init(now)

    def _init_complete(self, now: float) -> list[Effect]:
        """The modem is initialised and set up: tell the shell, then statistics or idle."""
        effects: list[Effect] = [Report(event="modem.init.ok", fields=(("attempt", self._attempt),))]
        if self._recovering:
            self._recovering = False
            effects.append(Report(event="modem.recovered", level="warning"))
        if not self._ready_sent:
            self._ready_sent = True
            effects.append(Ready())
        if self._pending_record is not None and self._profile.statistics_chat:
            return effects + self._start_chat(Chat.STATISTICS, now)
        return effects + self._enter_idle(now)

    def _chat_failed(self, why: str, now: float) -> list[Effect]:
        kind, lines = self._drop_chat()
        match kind:
            case Chat.HEALTH:
                # "Some modems have the nasty habit of just dying after some time" (mgetty): recover by
                # reopening (DTR drop) and re-initialising; if that fails too, the port gives up (Fatal).
                self._recovering = True
                self._phase = Phase.REOPENING
                return [
                    Report(event="modem.health.failed", fields=(("reason", why),), level="warning"),
                    Status(text="modem not responding, recovering"),
                    Reopen(),
                ]
            case Chat.STATISTICS:
                report = Report(event="modem.statistics.failed", fields=(("reason", why),), level="warning")
                return [report, *self._flush_pending(lines), *self._enter_idle(now)]
            case Chat.CALLER_INIT:
                assert self._call is not None
                report = Report(event="call.caller_init.failed", fields=(("reason", why),), level="warning")
                return [report, *self._answer(self._call, now)]
            case Chat.PROBE:
                # No OK to "AT": the modem is probably still online (DTR could not hang it up). Escape it.
                report = Report(event="modem.still_online", fields=(("reason", why),), level="warning")
                return [report, *self._start_chat(Chat.FORCE_INIT, now)]
            case Chat.FORCE_INIT:
                # A modem that was not stuck online says nothing useful to +++; go on with the real init.
                report = Report(event="modem.force_init.failed", fields=(("reason", why),), level="debug")
                return [report, *self._start_chat(Chat.INIT, now)]
            case Chat.IDENTIFY | Chat.CALLER_ID | Chat.SPEED_CAP:
                return self._setup_chat_ended(kind, lines, why, now)
            case Chat.HANGUP:
                return self._hangup_escaped(why, now)
        return self._init_failed(why, now)

    def _init_failed(self, why: str, now: float) -> list[Effect]:
        """An init attempt failed: retry after a backoff, or give up for good after the last attempt."""
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

    # ------------------------------------------------------------------ idle, and the line

    def _enter_idle(self, now: float) -> list[Effect]:
        self._phase = Phase.IDLE
        check = self._profile.health_check_s
        self._timer = None if check is None else now + check
        return [Status(text="waiting for RING"), ReleaseLine()]

    def _claim(self, purpose: Claim) -> list[Effect]:
        """Idle, the machine wants to write: ask the shell for the line and wait, writing nothing."""
        self._phase = Phase.CLAIMING
        self._timer = None
        self._claim_for = purpose
        return [Report(event="line.claim", fields=(("purpose", purpose.value),), level="debug"), ClaimLine()]

    def _flush_pending(self, statistics: tuple[str, ...] = ()) -> list[Effect]:
        """Emit the record of a finished call that waited for its statistics chat."""
        record = self._pending_record
        if record is None:
            return []
        self._pending_record = None
        return [CallEnded(record=replace(record, statistics=statistics))]
