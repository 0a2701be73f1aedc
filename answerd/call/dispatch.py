"""Which program a call gets: the port's dispatch table, the entered name or a PPP peer, the argv filled in.

Placeholders become whole argv elements (never a shell); ``{user}`` is the entered name, or ``/AutoPPP/``
for a PPP caller (mgetty's ``@`` in login.config).
"""

from __future__ import annotations

from answerd.config.settings import PortSettings
from answerd.core import AUTOPPP, DEFAULT_RULE, Answered, DispatchRule, select_rule

__all__ = ["call_values", "choose_rule", "dispatch_rules"]


def dispatch_rules(settings: PortSettings) -> tuple[tuple[DispatchRule, ...], DispatchRule]:
    """The port's dispatch table in the core's form, and the rule for names no entry takes.

    ``login_program`` is the fallback. ``login`` writes utmp itself and its exit status is never a
    failure of the call (a failed password is a normal end), so the fallback takes every status.
    """
    rules = tuple(rule.to_rule() for rule in settings.dispatch)
    fallback = DispatchRule("*", tuple(settings.login_program), utmp=False, ok_exit_codes=tuple(range(256)))
    return rules, fallback


def choose_rule(
    settings: PortSettings,
    rules: tuple[DispatchRule, ...],
    fallback: DispatchRule,
    *,
    name: str | None,
    ppp: bool,
) -> DispatchRule:
    """The rule for a PPP peer, a direct-mode port, or the entered ``name`` (``login_program`` if none takes it).

    Raises:
        NoPppRuleError: a PPP peer on a port without a PPP rule.
    """
    if ppp:
        return select_rule(rules, "", ppp=True)
    if settings.mode == "direct":
        assert settings.direct_program is not None
        return DispatchRule("*", tuple(settings.direct_program), utmp=True)
    assert name is not None
    rule = select_rule(rules, name, ppp=False)
    return fallback if rule is DEFAULT_RULE else rule


def call_values(
    answered: Answered, *, connect: str, device: str, port_name: str, name: str | None, ppp: bool
) -> dict[str, str]:
    """The placeholders of an argv template for this call."""
    return {
        "connect": connect,
        # mgetty's \Y says "none" when no caller ID came.
        "caller_id": answered.call.caller_id or "none",
        "caller_name": answered.call.caller_name or "",
        "device": device,
        "port": port_name,
        "user": AUTOPPP if ppp else name or "",
    }
