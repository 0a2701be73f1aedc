"""Everything the answer machine needs to know about one port, as plain frozen data.

The configuration layer (pydantic, TOML) validates what users write and builds a :class:`Profile`; the
core never sees pydantic. Every timing value is a field, so tests can shorten any delay, and every default
is mgetty's where mgetty has one (sources in ``../shared/design/mgetty-reference.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from answerd.core._login_results import DEFAULT_RESULT_GUARD_S
from answerd.core._policy import CallerInitRule
from answerd.core.hayes.chat import ChatStep, parse_chat
from answerd.core.hayes.family import ModemFamily, SpeedCap

__all__ = ["DEFAULT_FORCE_INIT_CHAT", "DEFAULT_INIT_CHAT", "HANGUP_ESCAPE_CHAT", "Profile"]

#: Reset, then the settings answerd relies on: E0 no echo (echo is tolerated anyway), Q0 result codes on,
#: V1 verbose codes, &C1 DCD follows the carrier (so a hang-up is seen), &D2 dropping DTR hangs up,
#: S0=0 never auto-answer (answerd counts the rings, so a dead host never answers calls).
DEFAULT_INIT_CHAT: tuple[str, ...] = ("", "ATZ", "OK", "ATE0Q0V1&C1&D2S0=0", "OK")
#: A modem stuck online swallows "AT" as data: wait out the escape guard time, send +++, wait again,
#: then hang up. The expect after +++ is empty because a modem that was not online says nothing.
DEFAULT_FORCE_INIT_CHAT: tuple[str, ...] = ("", r"\d\d\d+++\d\d\d\c", "", "ATH0", "OK")
#: The hang-up after a call where the modem may still be online: the escape sequence (1.5 s of silence,
#: ``+++``, 1.5 s: more than the default S12 guard of 1 s) and only then ``ATH0``. Fixed, unlike the
#: configurable force-init chat, so no command can ever precede the escape.
HANGUP_ESCAPE_CHAT: tuple[ChatStep, ...] = parse_chat(DEFAULT_FORCE_INIT_CHAT)


@dataclass(frozen=True, slots=True, kw_only=True)
class Profile:
    """The answer machine's settings for one port.

    Args:
        init_chat: parsed init chat (see :func:`parse_chat`).
        force_init_chat: recovery chat tried before every init retry (modem stuck online).
        toggle_dtr: drop DTR for ``dtr_drop_s`` before every init (mgetty ``toggle-dtr``).
        dtr_drop_s: how long DTR stays low (mgetty ``toggle-dtr-waittime``, 500 ms).
        chat_timeout_s: how long each expect may wait (mgetty: 20 s).
        probe_timeout_s: how long the "AT" probe on a line without DTR waits for OK before escaping.
        init_retries: init attempts before giving up (``Fatal``).
        retry_backoff_s: pause before the 2nd attempt; doubles each time up to ``retry_backoff_max_s``.
        rings: answer on this RING (mgetty ``rings``, default 1).
        ring_gap_s: no RING for this long means the caller gave up (mgetty: 10 s).
        answer_command: sent to pick up (``ATA``).
        answer_timeout_s: CONNECT must come this long after ``ATA`` (mgetty ``answer-chat-timeout``, 80 s).
        abort_codes: result codes that fail a chat step (mgetty: ERROR, BUSY, NO CARRIER).
        answer_gate: ask the shell (``AnswerPending``) before answering, for busy-out and caller-ID policy.
        health_check_s: while idle, check the modem with ``AT`` this often (``None``: never).
        health_timeout_s: how long the health check waits for OK.
        statistics_chat: run after each connected call, once the modem is re-initialised; the lines it
            returns are attached to the call's record (mgetty's statistics-chat).
        result_guard_s: how long the login dialog holds an entered name in case its CR began the modem's
            ``CR LF NO CARRIER CR LF`` (``LoginDialog(result_guard_s=...)``); 0 turns the guard off.
        numeric_results: the init chat leaves the modem in ``V0`` (numeric result codes), so a ``3`` at the
            login prompt is the modem's NO CARRIER, not a name (``LoginDialog(numeric_results=...)``), and
            every line of digits is read with the family's numeric table (:mod:`.hayes.numeric`).
        family: the modem family, or ``None`` for "auto": identify it after the init chat, once per open of
            the port (:data:`~.hayes.family.IDENTIFY_COMMANDS`). Vendor commands go only to their family.
        caller_id: ``"off"``; ``"auto"``: after init, send the family's caller-ID command (the first of
            :func:`~.hayes.family.caller_id_commands` the modem accepts); or a chat of one's own. Failing
            is a warning, never a failed init.
        speed_cap: limits on the line speed, sent after init in the family's own command.
        caller_caps: every caller-init rule in order, with its speed cap (or ``None``): when a call is
            accepted, the first rule that matches the caller (the same one whose chat the shell passes to
            ``decide``) adds its cap, in the family's command, before ``ATA``.
        hangup_dtr_s: after a connected call, hold DTR low this long before anything else; 0 = the old way
            (reopen at once: the close drops DTR for a few milliseconds only).
        hangup_dcd_wait_s: then, where DCD can be read, wait this long for it to fall before escaping.
        carrier_poll_s: how often the machine asks for DCD (``CheckCarrier``) while it waits.
        dcd: DCD can be trusted on this port (``carrier = "dcd"``); the shell's ``port_opened(dcd_readable=)``
            must say so too.
    """

    init_chat: tuple[ChatStep, ...] = field(default_factory=lambda: parse_chat(DEFAULT_INIT_CHAT))
    force_init_chat: tuple[ChatStep, ...] = field(default_factory=lambda: parse_chat(DEFAULT_FORCE_INIT_CHAT))
    toggle_dtr: bool = True
    dtr_drop_s: float = 0.5
    chat_timeout_s: float = 20.0
    probe_timeout_s: float = 2.0
    init_retries: int = 5
    retry_backoff_s: float = 2.0
    retry_backoff_max_s: float = 60.0
    rings: int = 1
    ring_gap_s: float = 10.0
    answer_command: str = "ATA"
    answer_timeout_s: float = 80.0
    abort_codes: frozenset[str] = frozenset({"ERROR", "BUSY", "NO CARRIER", "NO DIALTONE"})
    answer_gate: bool = False
    health_check_s: float | None = None
    health_timeout_s: float = 5.0
    statistics_chat: tuple[ChatStep, ...] = ()
    result_guard_s: float = DEFAULT_RESULT_GUARD_S
    numeric_results: bool = False
    family: ModemFamily | None = ModemFamily.V250
    caller_id: str | tuple[ChatStep, ...] = "off"
    speed_cap: SpeedCap | None = None
    caller_caps: tuple[tuple[CallerInitRule, SpeedCap | None], ...] = ()
    hangup_dtr_s: float = 0.0
    hangup_dcd_wait_s: float = 2.0
    carrier_poll_s: float = 0.1
    dcd: bool = True

    def __post_init__(self) -> None:
        """Reject values the machine cannot work with; config gives friendlier errors first."""
        if self.rings < 1:
            raise ValueError("rings must be at least 1")
        if self.init_retries < 1:
            raise ValueError("init_retries must be at least 1")
        for name in ("dtr_drop_s", "chat_timeout_s", "probe_timeout_s", "ring_gap_s", "answer_timeout_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.retry_backoff_s < 0 or self.retry_backoff_max_s < self.retry_backoff_s:
            raise ValueError("retry backoff must be >= 0 and not above its maximum")
        if not self.init_chat:
            raise ValueError("init_chat must not be empty")
        if self.health_check_s is not None and self.health_check_s <= 0:
            raise ValueError("health_check_s must be positive (or None for no health check)")
        if self.health_timeout_s <= 0:
            raise ValueError("health_timeout_s must be positive")
        if not self.result_guard_s >= 0:
            raise ValueError("result_guard_s must not be negative")
        if isinstance(self.caller_id, str) and self.caller_id not in ("auto", "off"):
            raise ValueError("caller_id must be 'auto', 'off' or a chat")
        if not self.hangup_dtr_s >= 0 or not self.hangup_dcd_wait_s >= 0 or not self.carrier_poll_s > 0:
            raise ValueError("hang-up times must not be negative (and the carrier poll positive)")
