r"""Which program gets the line after the login dialog: mgetty's ``login.config``, as data.

Theory of operation
-------------------

A :class:`DispatchRule` pairs a *match* on the login name with a program and its argv template. The shell
calls :func:`select_rule` with the name the dialog returned (or with ``ppp=True`` after
:class:`~._ppp.PppDetected`), then :func:`expand_argv` to fill in the placeholders, and runs the result
with ``execve``: never a shell.

Matching (mgetty ``login.c``, ``match()``; case-sensitive, first rule that matches wins):

=============  ===================================================================================
``joe``        exactly ``joe``
``U*``         names starting with ``U``
``*.ppp``      names ending with ``.ppp``
``*guest*``    names containing ``guest``
``*``          any name (so is ``**``, as in mgetty)
``/AutoPPP/``  only a PPP peer found by :class:`~._ppp.LcpDetector`; **never** a typed name
=============  ===================================================================================

No match: :data:`DEFAULT_RULE`, ``/bin/login -- {user}`` (mgetty: ``/bin/login <user>``, without ``--``).

``/AutoPPP/`` is stricter than mgetty. There the detector just sets the name to ``/AutoPPP/`` and the
table is searched like for any name, so (a) a caller who *types* ``/AutoPPP/`` gets pppd, running as root
with ``login`` authentication or, with the many published ``noauth`` examples, with none; and (b) a
wildcard rule above the ``/AutoPPP/`` line (``*``, ``*PPP*``) catches a PPP peer and runs ``/bin/login
/AutoPPP/``. Here a typed name never selects ``/AutoPPP/`` and a PPP peer selects nothing else; with no
``/AutoPPP/`` rule :func:`select_rule` raises :class:`NoPppRuleError` (turn AutoPPP off with
:func:`has_ppp_rule`). Any other ``/.../`` pattern (mgetty's ``/FIDO/``, a mistyped ``/autoppp/``, which
mgetty would treat as a typable name) is refused, so every rule is unambiguous.

Argv templates: each element is text with placeholders ``{user}``, ``{connect}``, ``{caller_id}``,
``{caller_name}``, ``{device}``, ``{port}`` (``{{``/``}}`` are literal braces). A value always lands inside
*one* argv element, whatever it contains (spaces, quotes, ``;``): there is no shell and no splitting. Values
come from the caller or the modem, so :func:`expand_argv` makes every character outside printable ASCII
``?``, refuses a value longer than :data:`MAX_VALUE_LENGTH`, and refuses an element that would start with
``-`` because of a value (a name ``-f``, a caller ID ``-5551234``) unless the template itself starts that
element with ``-`` (``--cid={caller_id}``). pppd reads *every* argument as an option, dashes or not, so
never hand it a value the caller controls.

mgetty's ``login.config`` lines convert with ``answerd.mgetty.from_login_config_line`` (the importer's
module, outside the core). For parity, the shell should pass ``??`` for an unknown CONNECT text and ``none``
for an unknown caller ID (what mgetty substitutes), and ``/AutoPPP/`` as ``user`` for a PPP call.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NamedTuple

__all__ = [
    "AUTOPPP",
    "DEFAULT_RULE",
    "MAX_VALUE_LENGTH",
    "PPPD_EXIT",
    "PPPD_NORMAL_EXITS",
    "ArgvError",
    "DispatchRule",
    "NoPppRuleError",
    "Placeholder",
    "PppdExit",
    "classify_pppd_exit",
    "expand_argv",
    "has_ppp_rule",
    "select_rule",
]

#: The match that only a detected PPP peer selects (mgetty's special login name; case-sensitive).
AUTOPPP: Final = "/AutoPPP/"
#: The longest value :func:`expand_argv` accepts for one placeholder.
MAX_VALUE_LENGTH: Final = 256
#: utmp's ``ut_user`` holds 32 bytes on Linux.
_MAX_UTMP_NAME: Final = 32

_TOKEN: Final = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
_NOT_PRINTABLE: Final = re.compile(r"[^\x20-\x7e]")
_BAD_NAME: Final = re.compile(r"[^\x21-\x7e]")


class ArgvError(ValueError):
    """An argv template is malformed, or a value would make an unsafe argument."""


class NoPppRuleError(LookupError):
    """A PPP peer was detected but no ``/AutoPPP/`` rule exists."""


class Placeholder(enum.Enum):
    """The values an argv template can use, written ``{value}``."""

    #: The login name entered (``/AutoPPP/`` for a PPP call); mgetty's ``@``.
    USER = "user"
    #: The text after ``CONNECT``; mgetty's ``\I``.
    CONNECT = "connect"
    #: The caller's number; mgetty's ``\Y``.
    CALLER_ID = "caller_id"
    #: The caller's name, where the network sends one (mgetty's ``CALLER_NAME`` variable).
    CALLER_NAME = "caller_name"
    #: The tty device the call came in on.
    DEVICE = "device"
    #: The name of the answerd port.
    PORT = "port"


_PLACEHOLDERS: Final = {item.value: item for item in Placeholder}

#: A parsed argv element: literal text and placeholders, in order.
_Part = str | Placeholder


def _parse_element(element: str) -> tuple[_Part, ...]:
    """Split one template element into literal text and placeholders.

    Raises:
        ArgvError: an unknown placeholder, an unmatched brace, or a NUL.
    """
    if "\0" in element:
        raise ArgvError(f"argv template {element!r} contains NUL")
    parts: list[_Part] = []
    pos = 0
    for token in _TOKEN.finditer(element):
        if token.start() > pos:
            parts.append(element[pos : token.start()])
        pos = token.end()
        text = token.group()
        if text in ("{{", "}}"):
            parts.append(text[0])
        elif token.group(1) is None:
            raise ArgvError(f"unmatched {text!r} in argv template {element!r} (write {text * 2!r})")
        else:
            placeholder = _PLACEHOLDERS.get(token.group(1))
            if placeholder is None:
                known = ", ".join(f"{{{name}}}" for name in _PLACEHOLDERS)
                raise ArgvError(f"unknown placeholder {text} in {element!r}; known: {known}")
            parts.append(placeholder)
    if pos < len(element):
        parts.append(element[pos:])
    return tuple(parts)


@dataclass(frozen=True, slots=True)
class DispatchRule:
    """One line of the dispatch table: which names it takes and what to run for them.

    Attributes:
        match: ``name``, ``prefix*``, ``*suffix``, ``*infix*``, ``*`` or :data:`AUTOPPP` (see the module).
        program: the argv template; ``program[0]`` is the program's absolute path (no placeholders).
        user: the account to run it as; ``None`` keeps answerd's own (root; what ``login`` needs).
        utmp: whether answerd writes a USER_PROCESS utmp entry (``False`` for ``login``, which writes its
            own).
        ok_exit_codes: exit statuses that are a normal end of the call (pppd: :data:`PPPD_NORMAL_EXITS`).
        utmp_name: ``ut_user`` for that entry; ``None`` means the login name (mgetty's ``@``).

    Raises:
        ValueError: a field is malformed (:class:`ArgvError` for the argv template).
    """

    match: str
    program: tuple[str, ...]
    user: str | None = None
    utmp: bool = True
    ok_exit_codes: tuple[int, ...] = (0,)
    utmp_name: str | None = None

    def __post_init__(self) -> None:
        """Check every field, so a bad table fails when it is loaded, not when a call comes in."""
        _check_match(self.match)
        if not self.program:
            raise ArgvError("program must name at least the program to run")
        path = self.program[0]
        if not path.startswith("/") or _BAD_NAME.search(path) or "{" in path or "}" in path:
            raise ArgvError(f"program[0] must be an absolute path without placeholders, not {path!r}")
        for element in self.program:
            _parse_element(element)
        for label, value in (("user", self.user), ("utmp_name", self.utmp_name)):
            if value is not None and (not value or value.startswith("-") or _BAD_NAME.search(value)):
                raise ValueError(f"{label} must be a plain account name, not {value!r}")
        if self.utmp_name is not None and (not self.utmp or len(self.utmp_name) > _MAX_UTMP_NAME):
            raise ValueError(f"utmp_name {self.utmp_name!r} needs utmp=True and at most {_MAX_UTMP_NAME} chars")
        if not all(type(code) is int and 0 <= code <= 255 for code in self.ok_exit_codes):
            raise ValueError(f"ok_exit_codes must be exit statuses 0..255, not {self.ok_exit_codes!r}")

    @property
    def is_ppp(self) -> bool:
        """Whether this is the ``/AutoPPP/`` rule."""
        return self.match == AUTOPPP

    def matches(self, name: str, *, ppp: bool) -> bool:
        """Whether this rule takes ``name`` (a typed name), or a detected PPP peer when ``ppp``.

        >>> rule = DispatchRule("U*", ("/usr/sbin/uucico", "-l"))
        >>> rule.matches("Uhost", ppp=False), rule.matches("host", ppp=False), rule.matches("", ppp=True)
        (True, False, False)
        """
        if ppp or self.is_ppp:
            return ppp and self.is_ppp
        pattern = self.match
        starred_head = pattern.startswith("*")
        starred_tail = pattern.endswith("*") and len(pattern) > 1
        core = pattern[1 if starred_head else 0 : -1 if starred_tail else None]
        if starred_head and starred_tail:
            return core in name
        if starred_head:
            return name.endswith(core)
        if starred_tail:
            return name.startswith(core)
        return name == core

    def expand(self, values: Mapping[str, str]) -> list[str]:
        """Return the argv for ``values``; see :func:`expand_argv`."""
        return expand_argv(self.program, values)


def _check_match(pattern: str) -> None:
    """Refuse a match pattern that is empty, ambiguous or reserved."""
    if pattern == AUTOPPP or pattern in ("*", "**"):
        return
    if not pattern or _BAD_NAME.search(pattern):
        raise ValueError(f"match must be a non-empty name pattern without spaces, not {pattern!r}")
    if "*" in pattern.strip("*") or pattern.startswith("**") or pattern.endswith("**"):
        raise ValueError(f"match {pattern!r}: '*' is only allowed once at the start and/or the end")
    if len(pattern) > 1 and pattern.startswith("/") and pattern.endswith("/"):
        raise ValueError(f"match {pattern!r}: /.../ names are reserved; the only one is {AUTOPPP} (case matters)")


#: What runs when no rule matches: mgetty's built-in default, with ``--`` so a name is never an option.
DEFAULT_RULE: Final = DispatchRule("*", ("/bin/login", "--", "{user}"), utmp=False)


def select_rule(rules: Iterable[DispatchRule], name: str, *, ppp: bool) -> DispatchRule:
    """Return the first rule that takes ``name`` (or, with ``ppp``, the first ``/AutoPPP/`` rule).

    >>> rules = [DispatchRule("/AutoPPP/", ("/usr/sbin/pppd", "auth")), DispatchRule("*", ("/bin/false",))]
    >>> select_rule(rules, "/AutoPPP/", ppp=False).program
    ('/bin/false',)
    >>> select_rule(rules, "", ppp=True).program
    ('/usr/sbin/pppd', 'auth')
    >>> select_rule([], "joe", ppp=False) is DEFAULT_RULE
    True

    Args:
        rules: the dispatch table, in order.
        name: the login name the dialog returned (ignored when ``ppp``).
        ppp: the dialog ended with :class:`~._ppp.PppDetected`.

    Raises:
        NoPppRuleError: ``ppp`` and the table has no ``/AutoPPP/`` rule (mgetty would run
            ``/bin/login /AutoPPP/``, which cannot work).
    """
    for rule in rules:
        if rule.matches(name, ppp=ppp):
            return rule
    if ppp:
        raise NoPppRuleError(f"a PPP peer called but no {AUTOPPP} rule exists")
    return DEFAULT_RULE


def has_ppp_rule(rules: Iterable[DispatchRule]) -> bool:
    """Whether AutoPPP detection is worth running: the table has an ``/AutoPPP/`` rule."""
    return any(rule.is_ppp for rule in rules)


def expand_argv(template: Sequence[str], values: Mapping[str, str]) -> list[str]:
    """Fill the placeholders of an argv template; each element stays exactly one argument.

    >>> expand_argv(["/bin/login", "--", "{user}"], {"user": "joe"})
    ['/bin/login', '--', 'joe']
    >>> expand_argv(["/x", "--cid={caller_id}", "{{literal}}"], {"caller_id": "-5551234"})
    ['/x', '--cid=-5551234', '{literal}']

    Args:
        template: the argv template (e.g. :attr:`DispatchRule.program`).
        values: placeholder name (``"user"``, ``"caller_id"``, ...) → value. Values may be hostile.

    Returns:
        The argv; every character a value contributed is printable ASCII.

    Raises:
        ArgvError: the template is malformed or uses a placeholder without a value; ``values`` has an
            unknown key; a used value is longer than :data:`MAX_VALUE_LENGTH`; or an element would start
            with ``-`` because of a value.
    """
    unknown = sorted(set(values) - set(_PLACEHOLDERS))
    if unknown:
        raise ArgvError(f"unknown placeholder values {unknown}")
    argv: list[str] = []
    for element in template:
        pieces: list[str] = []
        for part in _parse_element(element):
            if isinstance(part, str):
                pieces.append(part)
                continue
            value = values.get(part.value)
            if value is None:
                raise ArgvError(f"no value for {{{part.value}}} in {element!r}")
            if len(value) > MAX_VALUE_LENGTH:
                raise ArgvError(f"{{{part.value}}} is {len(value)} characters long (limit {MAX_VALUE_LENGTH})")
            pieces.append(_NOT_PRINTABLE.sub("?", value))
        result = "".join(pieces)
        if result.startswith("-") and not element.startswith("-"):
            raise ArgvError(f"{element!r} would become the option-like argument {result[:40]!r}")
        argv.append(result)
    return argv


# --- pppd's exit status -----------------------------------------------------------------------------------

#: Every exit status in pppd(8), EXIT STATUS (ppp 2.4.9).
PPPD_EXIT: Final[dict[int, str]] = {
    0: "pppd detached, or the connection was established and terminated at the peer's request",
    1: "an immediately fatal error (an essential system call failed, or out of memory)",
    2: "an error in the options given (for example two mutually exclusive options)",
    3: "pppd is not setuid-root and the invoking user is not root",
    4: "the kernel does not support PPP (no PPP driver, or it cannot be loaded)",
    5: "pppd was sent a SIGINT, SIGTERM or SIGHUP signal",
    6: "the serial port could not be locked",
    7: "the serial port could not be opened",
    8: "the connect script failed",
    9: "the command given to the pty option could not be run",
    10: "PPP negotiation failed: no network protocol (e.g. IP) came up",
    11: "the peer failed (or refused) to authenticate itself",
    12: "the link was established and terminated because it was idle",
    13: "the link was established and terminated because the connect time limit was reached",
    14: "callback was negotiated and an incoming call should arrive shortly",
    15: "the link was terminated because the peer is not responding to echo requests",
    16: "the link was terminated by the modem hanging up",
    17: "PPP negotiation failed because serial loopback was detected",
    18: "the init script failed",
    19: "we failed to authenticate ourselves to the peer",
}

#: Exit statuses that are an ordinary end of a dial-in call: the peer ended it (0), the hang-up's SIGHUP
#: (5), the peer went silent (15), the modem hung up (16).
PPPD_NORMAL_EXITS: Final = frozenset({0, 5, 15, 16})


class PppdExit(NamedTuple):
    """What a pppd exit status means for the call."""

    #: Whether this is an ordinary end of a call (no failure to report to systemd or the operator).
    normal: bool
    #: pppd(8)'s explanation.
    meaning: str


def classify_pppd_exit(code: int) -> PppdExit:
    """Explain pppd's exit status ``code``; a negative code is death by signal ``-code`` (as ``subprocess``).

    >>> classify_pppd_exit(16)
    PppdExit(normal=True, meaning='the link was terminated by the modem hanging up')
    >>> classify_pppd_exit(11).normal, classify_pppd_exit(-9)
    (False, PppdExit(normal=False, meaning='pppd was killed by signal 9'))
    """
    if code < 0:
        return PppdExit(normal=False, meaning=f"pppd was killed by signal {-code}")
    meaning = PPPD_EXIT.get(code)
    if meaning is None:
        return PppdExit(normal=False, meaning=f"unknown pppd exit status {code}")
    return PppdExit(normal=code in PPPD_NORMAL_EXITS, meaning=meaning)
