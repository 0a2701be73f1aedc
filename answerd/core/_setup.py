"""After the init chat: which modem this is, caller ID on, the speed cap — each one chat, none fatal.

The init chat is the operator's; what follows is answerd's, in the modem family's own commands
(:mod:`.hayes.family`):

1. **Identify** (``modem_family = "auto"`` only, once per open of the port): ask
   :data:`~.hayes.family.IDENTIFY_COMMANDS` one at a time until an answer names a family; none does →
   :attr:`~.hayes.family.ModemFamily.V250` (V.250 commands only). The answer is kept until the next
   ``port_opened`` (init retries do not ask again).
2. **Caller ID** (``caller_id = "auto"``): the family's commands in order, until one is accepted; or the
   operator's own chat. Refused everywhere → a warning (``modem.caller_id.failed``): the modem still
   answers calls, it just sends no caller ID.
3. **Speed cap**: the port's :class:`~.hayes.family.SpeedCap` in the family's command; refused or not
   expressible → a warning.

Every step reports what it sent and what came of it, so the journal says which caller-ID command a modem
took. Then :meth:`~._upkeep.ModemUpkeep._init_complete` goes on as before (``Ready``, statistics, idle).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from answerd.core._effects import Effect, Report
from answerd.core._upkeep import Chat, ModemUpkeep
from answerd.core.hayes.chat import ChatStep, parse_chat
from answerd.core.hayes.cid import CallerInfo
from answerd.core.hayes.family import (
    IDENTIFY_COMMANDS,
    ModemFamily,
    SpeedCap,
    SpeedCapUnsupported,
    caller_id_commands,
    identify_family,
    speed_cap_command,
)
from answerd.core.hayes.numeric import numeric_codes

__all__ = ["ModemSetup", "SetupStep", "command_chat"]


def command_chat(command: str) -> tuple[ChatStep, ...]:
    """The chat that sends one command and expects ``OK``."""
    return parse_chat(["", command, "OK"])


@dataclass(frozen=True, slots=True)
class SetupStep:
    """One chat of the setup: its kind, its script, and what to call it in the log."""

    kind: Chat
    chat: tuple[ChatStep, ...]
    label: str


class ModemSetup(ModemUpkeep):
    """The steps between a successful init chat and ``Ready``; the state they touch is declared here."""

    _family: ModemFamily | None
    _setup_queue: list[SetupStep]
    _setup_current: SetupStep | None

    @property
    def family(self) -> ModemFamily | None:
        """The modem's family as known now; ``None`` while ``auto`` has not identified it since the open."""
        return self._family

    def _numeric_codes(self) -> Mapping[str, str] | None:
        """The family's numeric codes while the modem is in ``V0`` (V.250's until it is identified)."""
        if not self._profile.numeric_results:
            return None
        return numeric_codes(self._family or ModemFamily.V250)

    def _after_init(self, now: float) -> list[Effect]:
        self._setup_queue = []
        if self._family is None:
            self._setup_queue = [SetupStep(Chat.IDENTIFY, command_chat(c), c) for c in IDENTIFY_COMMANDS]
            return self._next_setup(now)
        return self._queue_settings(self._family) + self._next_setup(now)

    def _next_setup(self, now: float) -> list[Effect]:
        if not self._setup_queue:
            self._setup_current = None
            return self._init_complete(now)
        self._setup_current = step = self._setup_queue.pop(0)
        return self._run_chat(step.kind, step.chat, now)

    def _queue_settings(self, family: ModemFamily) -> list[Effect]:
        """Queue caller ID and the speed cap for ``family``; a cap it cannot say is reported here."""
        caller_id = self._profile.caller_id
        if caller_id == "auto":
            self._setup_queue += [SetupStep(Chat.CALLER_ID, command_chat(c), c) for c in caller_id_commands(family)]
        elif not isinstance(caller_id, str):
            self._setup_queue.append(SetupStep(Chat.CALLER_ID, caller_id, "caller_id chat"))
        cap = self._profile.speed_cap
        if cap is None:
            return []
        effects, command = self.render_speed_cap(cap, "port")
        if command is not None:
            self._setup_queue.append(SetupStep(Chat.SPEED_CAP, command_chat(command), command))
        return effects

    def render_speed_cap(self, cap: SpeedCap, scope: str) -> tuple[list[Effect], str | None]:
        """``cap`` in the current family's command (V.250 before identification), or a warning and ``None``."""
        family = self._family or ModemFamily.V250
        try:
            return [], speed_cap_command(family, cap)
        except SpeedCapUnsupported as exc:
            fields: tuple[tuple[str, str | int | float | None], ...] = (
                ("family", family.value),
                ("scope", scope),
                ("reason", str(exc)),
            )
            return [Report(event="modem.speed_cap.unsupported", fields=fields, level="warning")], None

    def with_caller_cap(
        self, chat: tuple[ChatStep, ...], cap: SpeedCap | None, caller: CallerInfo | None
    ) -> tuple[list[Effect], tuple[ChatStep, ...]]:
        """The caller's chat with its speed cap appended (``cap``, else the first matching caller rule's)."""
        if cap is None:
            cap = next((rule_cap for rule, rule_cap in self._profile.caller_caps if rule.matches(caller)), None)
        if cap is None:
            return [], chat
        effects, command = self.render_speed_cap(cap, "caller")
        return effects, chat + (command_chat(command) if command else ())

    def _setup_chat_ended(self, kind: Chat, lines: tuple[str, ...], why: str | None, now: float) -> list[Effect]:
        step = self._setup_current
        assert step is not None
        label = step.label
        left = [queued for queued in self._setup_queue if queued.kind is kind]
        effects: list[Effect] = []
        match kind:
            case Chat.IDENTIFY:
                family = identify_family(lines)
                if family is None and left:
                    return self._next_setup(now)
                self._setup_queue = [queued for queued in self._setup_queue if queued.kind is not kind]
                fields: tuple[tuple[str, str | int | float | None], ...] = (
                    ("family", (family or ModemFamily.V250).value),
                    ("by", label if family else "nothing identified: V.250 commands only"),
                )
                self._family = family or ModemFamily.V250
                effects = [Report(event="modem.family", fields=fields), *self._queue_settings(self._family)]
            case Chat.CALLER_ID:
                if why is None:
                    self._setup_queue = [queued for queued in self._setup_queue if queued.kind is not kind]
                    effects = [Report(event="modem.caller_id", fields=(("command", label),))]
                elif left:
                    effects = [Report(event="modem.caller_id.refused", fields=(("command", label), ("reason", why)))]
                else:
                    fields = (("command", label), ("reason", why))
                    effects = [Report(event="modem.caller_id.failed", fields=fields, level="warning")]
            case Chat.SPEED_CAP:
                if why is None:
                    effects = [Report(event="modem.speed_cap", fields=(("command", label),))]
                else:
                    fields = (("command", label), ("reason", why))
                    effects = [Report(event="modem.speed_cap.failed", fields=fields, level="warning")]
        return effects + self._next_setup(now)
