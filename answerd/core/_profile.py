"""Everything the answer machine needs to know about one port, as plain frozen data.

The configuration layer (pydantic, TOML) validates what users write and builds a :class:`Profile`; the
core never sees pydantic. Every timing value is a field, so tests can shorten any delay, and every default
is mgetty's where mgetty has one (sources in ``../shared/design/mgetty-reference.md``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from answerd.core.hayes.chat import ChatStep, parse_chat

__all__ = ["DEFAULT_FORCE_INIT_CHAT", "DEFAULT_INIT_CHAT", "Profile"]

#: Reset, then the settings answerd relies on: E0 no echo (echo is tolerated anyway), Q0 result codes on,
#: V1 verbose codes, &C1 DCD follows the carrier (so a hang-up is seen), &D2 dropping DTR hangs up,
#: S0=0 never auto-answer (answerd counts the rings, so a dead host never answers calls).
DEFAULT_INIT_CHAT: tuple[str, ...] = ("", "ATZ", "OK", "ATE0Q0V1&C1&D2S0=0", "OK")
#: A modem stuck online swallows "AT" as data: wait out the escape guard time, send +++, wait again,
#: then hang up. The expect after +++ is empty because a modem that was not online says nothing.
DEFAULT_FORCE_INIT_CHAT: tuple[str, ...] = ("", r"\d\d\d+++\d\d\d\c", "", "ATH0", "OK")


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
