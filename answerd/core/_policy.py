"""Whether to answer a call, from its caller ID: mgetty's ``dialin.config`` and ``cnd-program``, pure.

Rules (``dialin.config`` semantics), checked against mgetty's ``cnd.c`` rev 4.25 (2004; the design
reference's 1.2.1 citations point at the same code about 5 lines further down): ``cndlookup()`` at lines
226-267, mgetty's sample ``dialin.config`` ("If no callerid number is present, it is assumed to have the
value none") and the ``Caller-ID`` node of the info manual:

* The rules are a list of tokens tried in order; the **first match wins** (cnd.c 254-257: ``goto leave``
  on the first hit, with ``match`` holding that token's verdict).
* A token is a **number prefix**: ``555`` matches ``5551234`` (cnd.c 256: ``strncmp(token, CallerId,
  strlen(token))``). Prefixes are compared literally: ``+4989`` does not match ``08912345``.
* ``!`` in front **denies** on a match instead of accepting (cnd.c 247-250).
* ``all`` matches every call, with or without caller ID (cnd.c 254: ``strcmp(token, "all")``).
* ``none`` matches a call without a caller number. In mgetty that is the literal default ``CallerId =
  "none"`` (cnd.c 15) matched as a prefix, so it covers only calls with no caller-ID line at all; answerd
  also counts withheld (``P``) and out-of-area (``O``) numbers as ``none`` (see :mod:`.hayes.cid`). Two
  answerd keywords split them: ``private`` and ``out-of-area``, each matching only its reason.
* **No match accepts** (cnd.c 262: ``match = 1`` after the last token; the sample file: "There is an
  implicit ``all`` at the end of the file"); so do no rules at all (cnd.c 234: no file, answer).

Deliberate differences: mgetty accepts any token, so a typo silently never matches (``555-1234``), ``!``
alone matches everything (an empty prefix), and ``n`` matches ``none``. :func:`parse_rules` refuses all of
these with a message instead: a token is digits, ``+``, ``#`` (at most 32, the longest number kept), or
one of the keywords (case-insensitive), with an optional leading ``!``. A trailing ``*`` (``!09*``) is read
as the prefix it means (``!09``); mgetty compares it literally, so it never matches there. A ``*``
anywhere else is refused.

The external decision program (mgetty ``cnd-program``, cnd.c 269-296, called from mgetty.c
``St_answer_phone`` as ``cnd_call(...) == 1``):

* arguments ``<tty> <CallerID> <Name> <dist-ring> <CalledNr>``; mgetty passes ``none`` for a missing
  caller ID (cnd.c 15), ``''`` for a missing name or called number (cnd.c 17-18), the distinctive-ring
  number as a decimal (0 for none);
* mgetty builds a shell command with ``'%s'`` quoting and runs it with ``system()`` (cnd.c 283-287). answerd
  builds an argv for ``execve`` (never a shell), and guarantees each caller-supplied element is printable,
  bounded and cannot be read as an option: a value starting with ``-`` gets one leading space (the position
  of each argument must stay mgetty's, so a ``--`` separator is not an option);
* exit 1 rejects; *everything else accepts*: exit 0, exit 2..255, death by a signal (``system()``'s status
  shifted right by 8 is 0), and a failed ``system()`` (cnd.c 289-290 return 0). mgetty has no time limit.
  :func:`interpret_exit` keeps 0/1 and makes the rest (including answerd's own timeout) the caller's
  choice, defaulting to mgetty's ``accept``.

>>> rules = parse_rules(["!none", "555", "!all"])
>>> decide(rules, CallerInfo(number="5551234")).accept
True
>>> decide(rules, CallerInfo(number="P")).rule
'!none'
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from answerd.core.hayes.cid import (
    MAX_NAME_LENGTH,
    MAX_NUMBER_LENGTH,
    AbsenceReason,
    CallerInfo,
    caller_id_text,
    clean_text,
)

__all__ = [
    "CallerInitRule",
    "PolicyDecision",
    "Rule",
    "RuleKind",
    "cid_needs_rings",
    "cid_switched_off",
    "decide",
    "decision_program_argv",
    "interpret_exit",
    "parse_rules",
    "select_caller_init",
]


class RuleKind(enum.Enum):
    """What a rule token matches."""

    #: A number prefix (``555``).
    PREFIX = "prefix"
    #: Every call.
    ALL = "all"
    #: A call without a caller number (absent, withheld, out of area).
    NONE = "none"
    #: A withheld number only (``P``) — answerd keyword.
    PRIVATE = "private"
    #: An out-of-area / unavailable number only (``O``) — answerd keyword.
    OUT_OF_AREA = "out-of-area"


_KEYWORDS: Final[dict[str, RuleKind]] = {
    "all": RuleKind.ALL,
    "none": RuleKind.NONE,
    "private": RuleKind.PRIVATE,
    "out-of-area": RuleKind.OUT_OF_AREA,
}
_PREFIX: Final = re.compile(r"[0-9+#]+")
_SEPARATORS: Final = re.compile(r"[\s,]+")
#: Tokens mgetty users write for withheld/out-of-area callers, with the answerd keyword to use instead.
_MGETTY_MARKERS: Final[dict[str, str]] = {"P": "private", "O": "out-of-area", "OUT_OF_AREA": "out-of-area"}


@dataclass(frozen=True, slots=True, kw_only=True)
class Rule:
    """One parsed token: what it matches and whether a match denies the call.

    Args:
        kind: the kind of match.
        deny: ``True`` for a ``!`` token.
        prefix: the number prefix for :attr:`RuleKind.PREFIX`, else ``""``.
    """

    kind: RuleKind
    deny: bool = False
    prefix: str = ""

    @property
    def token(self) -> str:
        """The rule written back as a token (``"!555"``, ``"none"``)."""
        body = self.prefix if self.kind is RuleKind.PREFIX else self.kind.value
        return ("!" if self.deny else "") + body

    def matches(self, caller: CallerInfo | None) -> bool:
        """Whether this rule applies to ``caller`` (``None``: no caller ID at all)."""
        number = None if caller is None else caller.number
        reason = None if caller is None else caller.reason_number
        match self.kind:
            case RuleKind.ALL:
                return True
            case RuleKind.NONE:
                return number is None
            case RuleKind.PRIVATE:
                return number is None and reason is AbsenceReason.PRIVATE
            case RuleKind.OUT_OF_AREA:
                return number is None and reason is AbsenceReason.OUT_OF_AREA
            case RuleKind.PREFIX:
                return number is not None and number.startswith(self.prefix)


@dataclass(frozen=True, slots=True, kw_only=True)
class PolicyDecision:
    """Answer or not, and why.

    Args:
        accept: ``True`` to answer the call.
        rule: the token that decided (``"!555"``), or ``None`` if no rule matched or a program decided.
        reason: one line for the log.
    """

    accept: bool
    rule: str | None
    reason: str


def _prefix_of_wildcard(body: str, shown: str, *, deny: bool) -> str:
    """``09*`` is the prefix ``09`` (what an mgetty user means by it); ``*`` anywhere else is refused, since
    caller IDs are compared as prefixes and a ``*`` inside one would never match."""
    if body == "*":
        raise ValueError(f"invalid caller-ID rule {shown!r}: use {'!' if deny else ''}all (every call) instead of '*'")
    if body.endswith("*") and "*" not in body[:-1]:
        return body[:-1]
    raise ValueError(
        f"invalid caller-ID rule {shown!r}: a rule is a number prefix, so '*' may only end it (09* is 09); "
        "there is no '*' for a suffix or the middle of a number"
    )


def _parse_one(text: str, *, allow_deny: bool = True) -> Rule:
    """Parse one token (already split from its neighbours); raise ``ValueError`` with advice."""
    deny = text.startswith("!")
    body = text[1:] if deny else text
    if deny and not allow_deny:
        raise ValueError(f"invalid caller match {text!r}: '!' is only for dialin rules")
    shown = clean_text(text, 40)
    if not body:
        raise ValueError(f"invalid caller-ID rule {shown!r}: '!' needs a number prefix or keyword after it")
    kind = _KEYWORDS.get(body.lower())
    if kind is not None:
        return Rule(kind=kind, deny=deny)
    if "*" in body:
        body = _prefix_of_wildcard(body, shown, deny=deny)
    if _PREFIX.fullmatch(body):
        if len(body) > MAX_NUMBER_LENGTH:
            raise ValueError(
                f"invalid caller-ID rule {shown!r}: longer than {MAX_NUMBER_LENGTH} characters, "
                "so it could never match a caller number"
            )
        return Rule(kind=RuleKind.PREFIX, deny=deny, prefix=body)
    hint = _MGETTY_MARKERS.get(body.upper())
    if hint is not None:
        advice = f"use {'!' if deny else ''}{hint} (or none, which covers withheld and out-of-area callers)"
    elif body.startswith("!"):
        advice = "use a single '!'"
    elif _PREFIX.fullmatch(re.sub(r"[-/(). ]", "", body)):
        advice = "write the number without separators"
    else:
        advice = "expected a number prefix (digits, '+', '#') or all, none, private, out-of-area"
    raise ValueError(f"invalid caller-ID rule {shown!r}: {advice}")


def parse_rules(tokens: Iterable[str]) -> tuple[Rule, ...]:
    """Parse rule tokens; each string may hold several, separated by blanks or commas (as in mgetty).

    Args:
        tokens: e.g. ``["!none", "555, 0891", "!all"]``.

    Returns:
        The rules in order.

    Raises:
        ValueError: for an empty string or an invalid token; the message names the token and the fix.

    >>> [rule.token for rule in parse_rules(["!none", "555, 0891", "ALL"])]
    ['!none', '555', '0891', 'all']
    """
    rules: list[Rule] = []
    for token in tokens:
        pieces = [piece for piece in _SEPARATORS.split(token) if piece]
        if not pieces:
            raise ValueError(f"empty caller-ID rule {clean_text(token, 40)!r}")
        rules.extend(_parse_one(piece) for piece in pieces)
    return tuple(rules)


def _describe(caller: CallerInfo | None) -> str:
    """The caller for a log line: the number, or why there is none."""
    if caller is None or (caller.number is None and caller.reason_number is None):
        return "without caller ID"
    if caller.number is None:
        reason = "withheld" if caller.reason_number is AbsenceReason.PRIVATE else "out of area"
        return f"with the number {reason}"
    return caller.number


def decide(rules: Iterable[Rule], caller: CallerInfo | None) -> PolicyDecision:
    """Apply ``rules`` to ``caller``: the first matching rule decides; no match accepts.

    Args:
        rules: from :func:`parse_rules`.
        caller: the call's caller ID (``None`` if none arrived).

    Returns:
        The decision, with the deciding token and a log line. Never raises.

    >>> decide(parse_rules(["!555"]), CallerInfo(number="5551234"))
    PolicyDecision(accept=False, rule='!555', reason="caller 5551234 matches '!555': reject")
    """
    who = _describe(caller)
    for rule in rules:
        if rule.matches(caller):
            verdict = "reject" if rule.deny else "accept"
            return PolicyDecision(
                accept=not rule.deny, rule=rule.token, reason=f"caller {who} matches {rule.token!r}: {verdict}"
            )
    return PolicyDecision(accept=True, rule=None, reason=f"caller {who} matches no rule: accept (implicit 'all')")


# --- per-caller init ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallerInitRule:
    """Extra init chat for some callers (mgetty's planned, never implemented, per-caller init).

    Args:
        pattern: a number prefix, ``none``, ``all`` (or ``private``/``out-of-area``); no ``!``.
        init_chat_extra: chat strings to run after the normal init (the shell's chat parser checks them).

    Raises:
        ValueError: for an invalid ``pattern``.

    >>> CallerInitRule("0891", ("AT+MS=V32",)).pattern
    '0891'
    """

    pattern: str
    init_chat_extra: tuple[str, ...]
    _rule: Rule = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "init_chat_extra", tuple(self.init_chat_extra))
        object.__setattr__(self, "_rule", _parse_one(self.pattern.strip(), allow_deny=False))

    def matches(self, caller: CallerInfo | None) -> bool:
        """Whether this rule applies to ``caller``."""
        return self._rule.matches(caller)


def select_caller_init(rules: Iterable[CallerInitRule], caller: CallerInfo | None) -> tuple[str, ...] | None:
    """The ``init_chat_extra`` of the first rule matching ``caller``, or ``None`` if none matches.

    >>> select_caller_init([CallerInitRule("none", ("ATX3",))], None)
    ('ATX3',)
    """
    for rule in rules:
        if rule.matches(caller):
            return rule.init_chat_extra
    return None


# --- the decision program -----------------------------------------------------------------------------


def _argument(value: str, cap: int) -> str:
    """A caller-supplied value made safe as one argv element: printable, bounded, never an option."""
    cleaned = clean_text(value, cap)
    return " " + cleaned if cleaned.startswith("-") else cleaned


def decision_program_argv(
    program_argv: Sequence[str],
    *,
    tty: str,
    caller: CallerInfo | None,
    distinctive: int,
    called: str | None = None,
) -> list[str]:
    """The argv for the decision program: ``program_argv`` + ``<tty> <CallerID> <Name> <dist-ring> <CalledNr>``.

    The order and the placeholders are mgetty's (cnd.c 283-284): the caller ID is the number, ``P``/``O``
    when withheld/out of area, or ``none``; the name and called number are ``""`` when unknown; the
    distinctive ring is a decimal (``0`` for none). For ``execve``, never a shell: each value is one
    element, printable ASCII without quotes, bounded (numbers 32, text 64), and a value that would start
    with ``-`` gets one leading space so no option parser takes it for an option.

    Args:
        program_argv: the configured program and its own arguments (not checked: it is configuration).
        tty: the device name as mgetty passes it (``ttyS0``).
        caller: the caller ID record, or ``None``.
        distinctive: the distinctive-ring number; negative values count as 0.
        called: the called number (MSN); ``None`` uses ``caller.called``.

    Raises:
        ValueError: if ``program_argv`` is empty.

    >>> decision_program_argv(["/usr/local/bin/check"], tty="ttyS0", caller=None, distinctive=0)
    ['/usr/local/bin/check', 'ttyS0', 'none', '', '0', '']
    """
    if not program_argv:
        raise ValueError("the decision program's argv is empty")
    if called is None and caller is not None:
        called = caller.called
    return [
        *program_argv,
        _argument(tty, MAX_NAME_LENGTH),
        _argument(caller_id_text(caller), MAX_NUMBER_LENGTH),
        _argument("" if caller is None or caller.name is None else caller.name, MAX_NAME_LENGTH),
        str(max(0, distinctive)),
        _argument(called or "", MAX_NUMBER_LENGTH),
    ]


_ON_ERROR: Final = ("accept", "reject")


def interpret_exit(
    code: int | None, timed_out: bool, *, on_error: Literal["accept", "reject"] = "accept"
) -> PolicyDecision:
    """Turn the decision program's ending into a decision: 0 accepts, 1 rejects, the rest is ``on_error``.

    Args:
        code: the exit status (``0``-``255``), a negative number for death by a signal (the
            ``subprocess`` convention), or ``None`` if it could not be started or its status is unknown.
        timed_out: ``True`` if the shell killed it for taking too long (then ``code`` is ignored).
        on_error: the decision for anything but exit 0 or 1. ``"accept"`` is mgetty's behaviour (only
            exit 1 rejects); ``"reject"`` fails closed.

    Raises:
        ValueError: if ``on_error`` is neither ``"accept"`` nor ``"reject"``.

    >>> interpret_exit(1, False)
    PolicyDecision(accept=False, rule=None, reason='decision program rejected the call (exit 1)')
    >>> interpret_exit(None, True, on_error="reject").accept
    False
    """
    if on_error not in _ON_ERROR:
        raise ValueError(f"on_error must be 'accept' or 'reject', not {on_error!r}")
    if not timed_out and code == 0:
        return PolicyDecision(accept=True, rule=None, reason="decision program accepted the call (exit 0)")
    if not timed_out and code == 1:
        return PolicyDecision(accept=False, rule=None, reason="decision program rejected the call (exit 1)")
    if timed_out:
        what = "timed out"
    elif code is None:
        what = "did not run or its status is unknown"
    elif code < 0:
        what = f"was killed by signal {-code}"
    else:
        what = f"exited {code}"
    verb = "accept" if on_error == "accept" else "reject"
    return PolicyDecision(accept=on_error == "accept", rule=None, reason=f"decision program {what}: {verb} (on_error)")


def cid_switched_off(caller_id_off: bool, policy_in_use: bool) -> str | None:
    """A warning if caller ID decides calls but answerd never switches it on; else ``None``.

    No modem sends caller ID unless told to (``AT+VCID=1``, ``AT#CID=1``... all default to off), so with
    ``caller_id = "off"`` and an init chat that does not switch it on either, a filter such as ``!none``
    rejects every call. (An init chat may switch it on itself; the warning says how to silence it.)

    >>> cid_switched_off(False, True) is None
    True
    """
    if not policy_in_use or not caller_id_off:
        return None
    return (
        "caller-ID rules or a decision program are configured but caller_id is 'off': no modem sends caller "
        "ID until it is switched on, so every call would be decided without it; set caller_id = 'auto' (or a "
        "chat), or switch it on in init_chat"
    )


def cid_needs_rings(rings: int, policy_in_use: bool) -> str | None:
    """A warning if caller ID decides calls but answerd answers before it can arrive; else ``None``.

    Caller ID is sent in the silence between the first and the second ring, so with ``rings`` below 2 the
    call is decided without it (mgetty manual, Caller-ID: "set rings 2 or higher").

    >>> cid_needs_rings(2, True) is None
    True
    """
    if not policy_in_use or rings >= 2:
        return None
    return (
        f"caller-ID rules or a decision program are configured but rings is {rings}: caller ID arrives "
        "between the first and the second RING, so every call would be decided without it; set rings to "
        "2 or more"
    )
