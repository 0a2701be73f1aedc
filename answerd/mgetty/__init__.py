r"""mgetty's configuration formats, converted into answerd's: what ``answerd import-mgetty`` builds on.

Only an importer needs these; the running daemon never reads an mgetty file, so they live outside the
sans-IO core and use only its public names.

* :func:`from_login_config_line` — one ``login.config`` line → a :class:`~answerd.core.DispatchRule`
  (``@``, ``\I`` and ``\Y``, as whole arguments as mgetty substitutes them, become ``{user}``,
  ``{connect}`` and ``{caller_id}``);
* :func:`parse_dialin_config` — a ``dialin.config`` → the tokens of answerd's ``caller_filter`` setting,
  each checked by the core's own rule parser;
* :func:`mgetty_keyword_hint` — for the configuration loader's "unknown key": the answerd key an mgetty
  keyword became (the table is :mod:`answerd.mgetty.keywords`).

``answerd import-mgetty`` itself is :func:`answerd.mgetty.importer.import_mgetty`.
"""

from __future__ import annotations

from typing import Final

from answerd.core import PPPD_NORMAL_EXITS, DispatchRule, parse_rules
from answerd.mgetty.keywords import mgetty_keyword_hint

__all__ = [
    "MAX_LOGIN_ARGS",
    "LoginConfigError",
    "from_login_config_line",
    "mgetty_keyword_hint",
    "parse_dialin_config",
]

#: mgetty passes at most 9 arguments after the program (``MAX_LOGIN_ARGS`` in ``login.c``).
MAX_LOGIN_ARGS: Final = 9

_MGETTY_ARGS: Final = {"@": "{user}", "\\I": "{connect}", "\\Y": "{caller_id}"}


class LoginConfigError(ValueError):
    """A ``login.config`` line cannot be converted into a rule (the message says why)."""


def from_login_config_line(line: str, *, version: int = 1) -> DispatchRule:
    r"""Convert one mgetty ``login.config`` line into a rule.

    The format (mgetty ``login.c``): ``name userid utmp_entry program [args]``, separated by blanks.
    ``userid`` ``-`` keeps root (→ ``user=None``); ``utmp_entry`` ``-`` writes none (→ ``utmp=False``), ``@``
    the login name, anything else that text (→ ``utmp_name``). At most 9 arguments; the arguments ``@``,
    ``\I`` and ``\Y`` become ``{user}``, ``{connect}`` and ``{caller_id}`` (mgetty substitutes only whole
    arguments; other braces are escaped). Two changes for safety: ``--`` is put before the first ``{user}``
    of a ``login`` program, and a ``pppd`` rule gets :data:`PPPD_NORMAL_EXITS` as its normal exits.

    The caller reading a whole file skips blank and ``#`` lines, joins lines ending in ``\`` (mgetty's
    continuation), and handles ``!version 2`` by passing ``version=2`` for the lines after it: then a
    callback column (``Y``/``N``/``-``) follows the name.

    >>> rule = from_login_config_line("/AutoPPP/ -\ta_ppp\t/usr/sbin/pppd auth -chap +pap login debug")
    >>> rule.program, rule.user, rule.utmp, rule.utmp_name, rule.ok_exit_codes
    (('/usr/sbin/pppd', 'auth', '-chap', '+pap', 'login', 'debug'), None, True, 'a_ppp', (0, 5, 15, 16))
    >>> from_login_config_line("*\t-\t-\t/bin/login @").program
    ('/bin/login', '--', '{user}')

    Raises:
        LoginConfigError: the line is not a rule (blank, comment, ``!version``), has too few fields or more
            than 9 arguments (mgetty drops the extras; the importer should make someone look), uses
            ``/FIDO/`` (FidoNet is not supported), is a callback-only ``Y`` line (no callback in answerd),
            or its pattern or program is not acceptable to :class:`DispatchRule`.
    """
    fields = line.split()
    if not fields or fields[0].startswith("#"):
        raise LoginConfigError("not a rule: blank line or comment")
    if fields[0] == "!version":
        raise LoginConfigError("not a rule: '!version' sets the format of the lines that follow")
    if version not in (1, 2):
        raise LoginConfigError(f"unknown login.config version {version}")
    key, rest = fields[0], fields[1:]
    if version == 2:
        if not rest:
            raise LoginConfigError(f"{key!r}: the callback column is missing")
        if rest[0][:1].upper() == "Y":
            raise LoginConfigError(f"{key!r}: callback-only rule; answerd does not call back")
        rest = rest[1:]
    if len(rest) < 3:
        raise LoginConfigError(f"{key!r}: needs userid, utmp entry and program (mgetty skips this line)")
    if key == "/FIDO/":
        raise LoginConfigError("/FIDO/: FidoNet mailer calls are not supported")
    userid, utmp_entry, program, *args = rest
    if len(args) > MAX_LOGIN_ARGS:
        raise LoginConfigError(
            f"{key!r}: {len(args)} arguments; mgetty passes only {MAX_LOGIN_ARGS} and drops {args[MAX_LOGIN_ARGS:]}"
        )
    argv = [_MGETTY_ARGS.get(arg) or arg.replace("{", "{{").replace("}", "}}") for arg in args]
    basename = program.rsplit("/", 1)[-1]
    if basename == "login" and "{user}" in argv and "--" not in argv[: argv.index("{user}")]:
        argv.insert(argv.index("{user}"), "--")
    try:
        return DispatchRule(
            key,
            (program, *argv),
            user=None if userid == "-" else userid,
            utmp=utmp_entry != "-",
            ok_exit_codes=tuple(sorted(PPPD_NORMAL_EXITS)) if basename == "pppd" else (0,),
            utmp_name=None if utmp_entry in ("-", "@") else utmp_entry,
        )
    except ValueError as error:
        raise LoginConfigError(f"{key!r}: {error}") from error


def parse_dialin_config(text: str) -> tuple[str, ...]:
    """Read the text of an mgetty ``dialin.config`` (lines starting with ``#`` are comments).

    Tokens are separated by blanks, tabs, commas and newlines (cnd.c 241-244). Each is checked with the
    core's caller-rule parser; an invalid one raises ``ValueError`` with its line number, where mgetty would
    silently never match it. The result is what answerd's ``caller_filter`` setting holds, in order.

    >>> parse_dialin_config("# friends\\n3433535, 555\\n!all\\n")
    ('3433535', '555', '!all')
    """
    tokens: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            tokens.extend(rule.token for rule in parse_rules([stripped]))
        except ValueError as exc:
            raise ValueError(f"line {number}: {exc}") from None
    return tuple(tokens)
