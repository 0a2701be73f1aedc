"""Every ``mgetty.config`` keyword of mgetty 1.2.1 and what it is in answerd: the one table.

The importer converts with it, the configuration loader's "unknown key" message asks
:func:`mgetty_keyword_hint` about a key it does not know, and ``docs/migrating-from-mgetty.md`` shows it
(:func:`markdown_table`; a test compares the two). The list is mgetty's own (``conf_mg.c`` of 1.2.1, as
in Debian's binary), in its order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Final

__all__ = ["KEYWORDS", "Fate", "Keyword", "keyword", "markdown_table", "mgetty_keyword_hint"]


class Fate(enum.Enum):
    """What becomes of a keyword in answerd."""

    MAPPED = "mapped"
    FAX = "fax"
    NOT_APPLICABLE = "not applicable"
    NOT_SUPPORTED = "not supported"


@dataclass(frozen=True, slots=True)
class Keyword:
    """One mgetty keyword: its command-line option, the answerd key(s) it becomes, and how or why not."""

    name: str
    fate: Fate
    keys: tuple[str, ...]
    note: str
    option: str | None = None


def _m(name: str, keys: str, note: str, option: str | None = None) -> Keyword:
    return Keyword(name, Fate.MAPPED, tuple(keys.split()), note, option)


def _fax(
    name: str, note: str = "answerd answers data calls only (HylaFAX, efax)", option: str | None = None
) -> Keyword:
    return Keyword(name, Fate.FAX, (), note, option)


def _na(name: str, note: str, option: str | None = None) -> Keyword:
    return Keyword(name, Fate.NOT_APPLICABLE, (), note, option)


def _ns(name: str, note: str, option: str | None = None) -> Keyword:
    return Keyword(name, Fate.NOT_SUPPORTED, (), note, option)


KEYWORDS: Final[tuple[Keyword, ...]] = (
    _m("speed", "speed", "same meaning; answerd also locks it after CONNECT", "-s"),
    _fax("switchbd", "the speed switch for fax reception"),
    _ns("direct", "a null-modem terminal line: use agetty (serial-getty@.service) for it", "-r"),
    _na("blocking", "answerd opens the device without blocking and watches DCD itself", "-b"),
    _m("port-owner", "port_owner", "a user name (a uid becomes its name); set at every open and after each call"),
    _m(
        "port-group",
        "port_group",
        "a group name (a gid becomes its name); mgetty's default is modem, answerd's dialout",
    ),
    _m("port-mode", "port_mode", "octal; answerd refuses permissions for others; the tty is 0600 during a call"),
    _m("toggle-dtr", "toggle_dtr", "same meaning"),
    _m("toggle-dtr-waittime", "dtr_drop_ms", "milliseconds, 10 to 10000"),
    _m("open-delay", "open_delay_ms", "milliseconds; what the modem says meanwhile is discarded, as in mgetty"),
    _ns("need-dsr", "answerd does not wait for DSR; a modem that is off fails init and systemd retries"),
    _na("data-only", "answerd is always data-only", "-D"),
    _fax("fax-only", "answerd answers data calls only (a fax-only port: HylaFAX or efax)", "-F"),
    _fax("modem-type", "the fax/voice class: answerd always uses the modem in data mode (voice: vgetty)", "-C"),
    _fax("modem-quirks", "a bitmask of fax-class quirks"),
    _m("init-chat", "init_chat", r"the same expect/send chat; \d and \c kept, other escapes rewritten", "-m"),
    _m("force-init-chat", "force_init_chat", "the same expect/send chat"),
    _m("post-init-chat", "init_chat", "appended to init_chat (answerd has no fax/voice init to run it after)"),
    _m("data-flow", "flow_control", "rts/hard and both: rtscts; none: none (mgetty 1.2.1 never read it)"),
    _fax("fax-send-flow"),
    _fax("fax-rec-flow"),
    _m("modem-check-time", "health_check_s", "seconds; mgetty raised values under 900 to 900, answerd allows 10"),
    _m("rings", "rings", "same meaning (0 is 1, as in mgetty)", "-n"),
    _ns("msn-list", "ISDN MSN to distinctive-ring mapping"),
    _ns("get-cnd-chat", "an extra chat to fetch caller ID (ELINK ISDN adapters)"),
    _ns("cid-program", "no notify hook: every call's record in the journal has its caller ID"),
    _m("cnd-program", "decision_program", "argv, never a shell; same arguments; runs as decision_user, not root"),
    _m("answer-chat", "answer_command", 'only the command of a chat of the form "" ATA CONNECT'),
    _m("answer-chat-timeout", "answer_timeout_s", "seconds"),
    _ns("autobauding", "answerd keeps the DTE speed locked (set speed to the modem's fixed rate)", "-a"),
    _ns("ringback", "ring twice to get an answer: not supported (use caller_filter or a decision_program)", "-R"),
    _ns("ringback-time", "ring twice to get an answer: not supported"),
    _m("ignore-carrier", "ignore_carrier", "same meaning"),
    _m("issue-file", "issue_file issue", "a path: issue_file; other text: issue; '!command' refused", "-i"),
    _m("prompt-waittime", "settle_ms", "milliseconds"),
    _m("login-prompt", "login_prompt", r"same escapes (\D as mgetty's code prints it: month/day/year)", "-p"),
    _m("login-time", "login_timeout_s", "seconds (0, no limit in mgetty, becomes 86400)"),
    _na("fido-send-emsi", "answerd never sends an EMSI request (FidoNet is not supported)"),
    _ns("login-env-ttyprompt-hack", 'to start a program without a prompt use mode = "direct" and direct_program'),
    _m("login-conf-file", "dispatch", "the file's rules become the dispatch table"),
    _fax("fax-id", option="-I"),
    _fax("fax-min-speed"),
    _fax("fax-max-speed"),
    _fax("fax-server-file", option="-S"),
    _fax("diskspace", "free space needed for incoming faxes", "-k"),
    _fax("notify", "who is mailed about incoming faxes"),
    _fax("fax-owner"),
    _fax("fax-group"),
    _fax("fax-mode"),
    _fax("fax-spool-in"),
    _m("debug", "log_level", "0-1 error, 2-3 warning, 4 info, 5-9 debug; per port: run --log-level", "-x"),
    _m("statistics-chat", "statistics_chat", "the same chat, run after every connected call"),
    _na("statistics-file", "answerd adds the statistics to the call's record in the journal"),
    _na("gettydefs", "SysV gettydefs are not used"),
    _m("term", "term", "same meaning"),
    _ns("sms-handler", "SMS reception (only in an mgetty built with -DSMS; Debian's is not)"),
    _ns("sms-handler-user", "SMS reception (only in an mgetty built with -DSMS; Debian's is not)"),
    _ns("sms-handler-group", "SMS reception (only in an mgetty built with -DSMS; Debian's is not)"),
)

_BY_NAME: Final = {entry.name: entry for entry in KEYWORDS}
_ALL_KEYS: Final = frozenset(key for entry in KEYWORDS for key in entry.keys) - {"log_level"}


def keyword(name: str) -> Keyword | None:
    """The table's entry for the mgetty keyword ``name`` (exact, as mgetty compares), or ``None``."""
    return _BY_NAME.get(name)


def mgetty_keyword_hint(key: str) -> str | None:
    """For an unknown answerd key that is an mgetty keyword, say what to write instead; else ``None``.

    ``modem_check_time`` is found as well as ``modem-check-time`` (TOML users type underscores). A port
    setting written where answerd does not look for one (at the top of the file, where mgetty's global
    section is) gets the table it belongs in.

    >>> mgetty_keyword_hint("toggle-dtr")
    "'toggle-dtr' is an mgetty keyword: in answerd it is toggle_dtr"
    >>> mgetty_keyword_hint("fax_id")
    "'fax_id' is mgetty's fax-id; answerd has no equivalent (fax): answerd answers data calls only (HylaFAX, efax)"
    >>> mgetty_keyword_hint("rings")
    "'rings' is a port setting: mgetty's global section is answerd's [defaults] table"
    >>> mgetty_keyword_hint("colour") is None
    True
    """
    if key in _ALL_KEYS:
        return f"{key!r} is a port setting: mgetty's global section is answerd's [defaults] table"
    entry = _BY_NAME.get(key.replace("_", "-").lower())
    if entry is None:
        return None
    if entry.fate is Fate.MAPPED:
        keys = " or ".join(entry.keys)
        named = "an mgetty keyword" if entry.name == key else f"mgetty's {entry.name}"
        return f"{key!r} is {named}: in answerd it is {keys}"
    return f"{key!r} is mgetty's {entry.name}; answerd has no equivalent ({entry.fate.value}): {entry.note}"


def markdown_table() -> str:
    """The table as Markdown, one row per keyword: what ``docs/migrating-from-mgetty.md`` shows."""
    rows = [
        "| mgetty keyword | option | answerd key | notes |",
        "|---|---|---|---|",
    ]
    for entry in KEYWORDS:
        keys = ", ".join(f"`{key}`" for key in entry.keys) or f"— ({entry.fate.value})"
        option = f"`{entry.option}`" if entry.option else ""
        rows.append(f"| `{entry.name}` | {option} | {keys} | {entry.note.replace('|', '/')} |")
    return "\n".join(rows) + "\n"
