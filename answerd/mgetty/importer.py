"""``answerd import-mgetty``: an mgetty setup (mgetty.config, login.config, dialin.config, a command line)
becomes one answerd TOML file, every line accounted for.

mgetty.config's global section becomes ``[defaults]`` (its ``debug`` the top-level ``log_level``), each
``port NAME`` section a ``[ports.NAME]`` table, and the options of a command line (``--args``) override
both for their port, as in mgetty. A ``port`` section with ``?`` wildcards is merged into the ports it
matches among those imported. login.config becomes the dispatch table (or a port's, from its own
``login-conf-file``), dialin.config the ``caller_filter``. A line answerd has no key for is kept as a
comment that says why; an unknown keyword too, with a warning. What mgetty itself would refuse, and
files that are not text, are :class:`~answerd.mgetty.errors.MgettyImportError` with file and line.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from answerd import core
from answerd.mgetty import LoginConfigError, from_login_config_line
from answerd.mgetty.args import CommandLine, Option, parse_command_line
from answerd.mgetty.convert import Comment, Context, Setting, Value, convert
from answerd.mgetty.errors import MgettyImportError
from answerd.mgetty.files import read_file
from answerd.mgetty.keywords import keyword
from answerd.mgetty.render import Table, comment, toml_key, toml_value
from answerd.mgetty.syntax import Entry, Section, logical_lines, parse_sections, split_keyword, text_lines

__all__ = ["ImportResult", "MgettyImportError", "import_mgetty"]

#: Command-line option → the keyword it sets (``conf_mg.c``); ``-V`` and ``-c`` only print and exit.
_OPTION_KEYWORDS: Final = {
    "s": "speed", "x": "debug", "r": "direct", "p": "login-prompt", "n": "rings", "R": "ringback",
    "i": "issue-file", "D": "data-only", "F": "fax-only", "C": "modem-type", "S": "fax-server-file",
    "k": "diskspace", "m": "init-chat", "I": "fax-id", "b": "blocking", "a": "autobauding",
}  # fmt: skip
#: Options whose argument mgetty reads with atoi().
_ATOI_OPTIONS: Final = frozenset("sxnRk")
#: mgetty's caller-ID markers (compared as text in dialin.config) and answerd's keyword for each.
_CID_MARKERS: Final = {"O": "out-of-area", "OUT_OF_AREA": "out-of-area", "P": "private"}
_PORT_NAME: Final = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.@:+-]{0,63}$")
#: What answerd's configuration accepts as a dispatch match and a user name (answerd.config.rules): a rule
#: outside them is kept as a comment, so that the output passes check-config.
_MATCH: Final = re.compile(r"^(/AutoPPP/|\*|\*?[\x21-\x7e]{1,64}\*?)$")
_USER: Final = re.compile(r"^[a-z_][a-z0-9_-]{0,31}\$?$")


@dataclass(frozen=True, slots=True)
class ImportResult:
    """The TOML text for stdout and the warnings for stderr."""

    text: str
    warnings: tuple[str, ...]


def _is_executable(path: str) -> bool:
    return os.path.isfile(path) and os.access(path, os.X_OK)


def import_mgetty(
    config_dir: str = "/etc/mgetty",
    *,
    args: str | None = None,
    port: str | None = None,
    trusted_uid: int = 0,
    program_exists: Callable[[str], bool] = _is_executable,
) -> ImportResult:
    """Import the mgetty setup in ``config_dir`` (and the command line ``args``, for ``port``).

    Args:
        trusted_uid: the owner mgetty requires of login.config (root; tests pass their own uid).
        program_exists: whether a program named in login.config or cnd-program can be run here; a rule
            whose program is missing is kept as a comment, so the result passes ``answerd check-config``.

    Raises:
        MgettyImportError: no mgetty file in ``config_dir``, a file that is not a readable regular text
            file of at most 1 MiB, a value mgetty itself refuses, broken quoting, a bad command line.
    """
    return _Importer(config_dir, trusted_uid, program_exists).run(args, port)


def _wildcard_match(pattern: str, name: str) -> bool:
    """mgetty's ``wildcard_strcmp``: ``?`` matches any character, and a shorter side may be padded by ``?``."""
    if len(pattern) < len(name):
        return False
    return all(p in ("?", n) for p, n in zip(pattern, name, strict=False)) and set(pattern[len(name) :]) <= {"?"}


def _rule_problem(match: str, user: str | None) -> str | None:
    if not _MATCH.match(match) or "**" in match:
        return f"answerd cannot match names with {match!r}"
    if user is not None and not _USER.match(user):
        return f"{user!r} is not a user name answerd accepts"
    return None


def _join_chats(first: list[str], second: list[str]) -> list[str]:
    """One chat that runs ``first`` then ``second`` (both start with an expect)."""
    if len(first) % 2 == 0:  # ends with a send: the second's expect follows
        return first + second
    if second[:1] == [""]:  # first ends with an expect, second expects nothing: go straight to its send
        return first + second[1:]
    return [*first, "\\c", *second]  # an empty send between two expects


def _resolve_post_init(table: Table, defaults: Table) -> None:
    """Turn a post-init-chat into init_chat = (the init_chat in force) + post-init-chat."""
    posts = [item for item in table.items if isinstance(item, Setting) and item.append_to_init]
    if not posts:
        return
    table.items = [item for item in table.items if not (isinstance(item, Setting) and item.append_to_init)]
    base = table.setting("init_chat") or defaults.setting("init_chat")
    chat = list(base.value) if base is not None and isinstance(base.value, list) else list(core.DEFAULT_INIT_CHAT)
    post = posts[-1]
    assert isinstance(post.value, list)
    table.items.append(Setting("init_chat", _join_chats(chat, post.value), post.origin, "init_chat + post-init-chat"))


def _atoi(text: str) -> str:
    match = re.match(r"\s*([+-]?\d+)", text)
    return str(int(match.group(1))) if match else "0"


def _autoppp(table: Table, has_rule: bool, *, inherited: bool) -> None:
    """Set ``autoppp`` in ``table`` where its rules differ from what it inherits (answerd's default: on)."""
    if has_rule and not inherited:
        table.items.append(Setting("autoppp", True, "login.config", "its /AutoPPP/ rule runs pppd for PPP callers"))
    elif not has_rule and inherited:
        note = "mgetty without an /AutoPPP/ line does not start pppd for PPP callers either; add a rule to"
        table.items.append(Setting("autoppp", False, "login.config: no /AutoPPP/ rule", note + " turn it on"))


class _Importer:
    def __init__(self, config_dir: str, trusted_uid: int, program_exists: Callable[[str], bool]) -> None:
        self._dir = config_dir
        self._trusted_uid = trusted_uid
        self._program_exists = program_exists
        self._warnings: list[str] = []
        self._sources: list[str] = []
        self._lost: list[Table] = []

    def _warn(self, text: str) -> None:
        self._warnings.append(text)

    def _context(self, *, is_global: bool) -> Context:
        return Context(is_global, self._warn, self._program_exists)

    def run(self, args: str | None, wanted_port: str | None) -> ImportResult:
        config_path = os.path.join(self._dir, "mgetty.config")
        contents = read_file(config_path)
        if contents is None:
            if not os.path.isdir(self._dir):
                raise MgettyImportError(self._dir, "no such directory (give the mgetty directory with --config-dir)")
            raise MgettyImportError(config_path, "no such file: nothing to import")
        self._sources.append(config_path)
        sections = parse_sections(config_path, text_lines(config_path, contents.data))
        command = parse_command_line(args) if args is not None else None
        port_name = self._port_name(command, wanted_port)

        top = Table(None)
        defaults = Table("[defaults]")
        self._convert_entries(sections[0].entries, defaults, top=top)
        ports = self._port_tables(sections[1:], port_name)
        if command is not None and port_name is not None:
            self._convert_options(command, ports[port_name])
        default_ppp = self._dispatch(sections[0].entries, defaults, "defaults", default_file=True) is True
        _autoppp(defaults, default_ppp, inherited=True)
        for name, table in ports.items():
            entries = [entry for section in sections[1:] if _wildcard_match(section.name or "", name) for entry in
                       section.entries]  # fmt: skip
            own_ppp = self._dispatch(entries, table, f"ports.{toml_key(name)}", default_file=False)
            if own_ppp is not None:
                _autoppp(table, own_ppp, inherited=default_ppp)
        self._caller_filter(defaults)
        for table in (defaults, *ports.values()):
            _resolve_post_init(table, defaults)
        return ImportResult(self._render(command, top, defaults, ports), tuple(self._warnings))

    # ------------------------------------------------------------------------------------ ports and options

    def _port_name(self, command: CommandLine | None, wanted: str | None) -> str | None:
        line = command.line if command is not None else None
        if line is not None and "%" in line:
            if wanted is None:
                raise MgettyImportError("--args", f"the line {line!r} is a systemd specifier: name it with --port")
            line = None
        if wanted is not None and line is not None and wanted != line:
            raise MgettyImportError("--args", f"the command line is for {line!r} but --port is {wanted!r}")
        name = wanted or line
        if command is not None and name is None:
            raise MgettyImportError("--args", "the command line names no line (tty): name the port with --port")
        if name is not None and not _PORT_NAME.match(name):
            raise MgettyImportError("--args" if wanted is None else "--port", f"{name!r} is not a usable port name")
        return name

    def _port_tables(self, sections: list[Section], port_name: str | None) -> dict[str, Table]:
        names = [s.name for s in sections if s.name and "?" not in s.name and _PORT_NAME.match(s.name)]
        if port_name is not None:
            names.append(port_name)
        ports: dict[str, Table] = {name: Table(f"[ports.{toml_key(name)}]") for name in dict.fromkeys(names)}
        for section in sections:
            matching = [name for name in ports if _wildcard_match(section.name or "", name)]
            if not matching:
                self._unused_section(section)
            for name in matching:
                self._convert_entries(section.entries, ports[name], top=None)
        return ports

    def _unused_section(self, section: Section) -> None:
        reason = "matches no imported port (give --port NAME)" if "?" in (section.name or "") else \
            "is not a port name answerd accepts"  # fmt: skip
        self._warn(f"{section.where}: port {section.name!r} {reason}; its lines are kept as comments")
        lost = Table(None)
        lost.items.append(Comment(section.where, f"port {section.name} {reason}; not imported:"))
        lost.items += [
            Comment(f"{entry.where} {entry.keyword} {entry.value}".rstrip(), "not imported (the section above)")
            for entry in section.entries
        ]
        self._lost.append(lost)

    def _convert_entries(self, entries: list[Entry], table: Table, *, top: Table | None) -> None:
        ctx = self._context(is_global=top is not None)
        for entry in entries:
            known = keyword(entry.keyword)
            if known is None:
                self._warn(f"{entry.where}: unknown mgetty keyword {entry.keyword!r} (mgetty ignores it too)")
                table.items.append(Comment(f"{entry.where} {entry.keyword} {entry.value}".rstrip(),
                                           "unknown mgetty keyword, not imported"))  # fmt: skip
                continue
            for item in convert(known, entry.value, entry.where, ctx):
                target = top if top is not None and isinstance(item, Setting) and item.key == "log_level" else table
                target.items.append(item)

    def _convert_options(self, command: CommandLine, table: Table) -> None:
        ctx = self._context(is_global=False)
        table.items += [Comment("--args", note) for note in command.notes]
        self._warnings += [f"--args: {note}" for note in command.notes]
        for option in command.options:
            self._convert_option(option, table, ctx)

    def _convert_option(self, option: Option, table: Table, ctx: Context) -> None:
        name = _OPTION_KEYWORDS.get(option.flag)
        if name is None:  # -V, -c: print something and exit
            table.items.append(Comment(f"--args {option.text}", "only makes mgetty print and exit; ignored"))
            return
        known = keyword(name)
        assert known is not None  # every option's keyword is in the table (tested)
        value = option.value if option.value is not None else ""
        if option.flag in _ATOI_OPTIONS:
            value = _atoi(value)
        where = f"--args {option.text} ->"
        if option.flag == "R":  # -R N: ringback on, and N seconds for it
            ringback_time = keyword("ringback-time")
            assert ringback_time is not None
            table.items += convert(known, "", where, ctx) + convert(ringback_time, value, where, ctx)
            return
        table.items += convert(known, value, where, ctx)

    # ------------------------------------------------------------------------------------ login.config

    def _dispatch(self, entries: list[Entry], table: Table, toml_path: str, *, default_file: bool) -> bool | None:
        """Add the rules of the login.config in force to ``table``: whether they have an /AutoPPP/ rule, or
        None when the port has no login-conf-file of its own (it uses the defaults' rules)."""
        chosen = [entry for entry in entries if entry.keyword == "login-conf-file"]
        if not chosen and not default_file:
            return None
        name = chosen[-1].value if chosen else "login.config"
        path = name if name.startswith("/") else os.path.join(self._dir, name)
        contents = read_file(path)
        if contents is None:
            table.trailer.append(comment(f"{path}: no such file: mgetty runs /bin/login <name> (login_program)"))
            if not default_file:
                table.items.append(Setting("dispatch", [], f"{chosen[-1].where} login-conf-file {name}"))
            return False
        self._sources.append(path)
        ignored = contents.uid != self._trusted_uid or contents.mode & 0o077 != 0
        if ignored:
            reason = f"mgetty ignores {path}: it must be owned by root with mode 0600 (it is {contents.mode:04o})"
            self._warn(f"{reason}; its rules are kept as comments")
            table.trailer.append(comment(reason + "; its rules, as comments:"))
        rules = self._login_rules(path, text_lines(path, contents.data), toml_path, ignored=ignored)
        table.trailer += ["", *rules] if rules else []
        if not default_file and (ignored or not any(line.startswith("[[") for line in rules)):
            table.items.append(Setting("dispatch", [], f"{path}", "no rules of its own: no dispatch on this port"))
        return not ignored and any(line == f'match = "{core.AUTOPPP}"' for line in rules)

    def _login_rules(self, path: str, lines: list[str], toml_path: str, *, ignored: bool) -> list[str]:
        out: list[str] = []
        version = 1
        for number, text in logical_lines(lines):
            key, rest = split_keyword(text)
            where = f"{path}:{number}"
            if not key:
                continue
            if key == "!version":
                version = 2 if rest == "2" else version
                continue
            try:
                rule = from_login_config_line(text, version=version)
            except LoginConfigError as exc:
                self._warn(f"{where}: not imported: {exc}")
                out.append(comment(f"{where} {key} {rest}: not imported: {exc}"))
                continue
            problem = _rule_problem(rule.match, rule.user)
            if problem is not None:
                self._warn(f"{where}: not imported: {problem}")
                out.append(comment(f"{where} {key} {rest}: not imported: {problem}"))
                continue
            if not self._program_exists(rule.program[0]):
                self._warn(f"{where}: not imported: the program {rule.program[0]} does not exist here")
                out.append(comment(f"{where} {key} {rest}: not imported: {rule.program[0]} does not exist here"))
                continue
            table: dict[str, Value] = {"match": rule.match, "program": list(rule.program)}
            if rule.user is not None:
                table["user"] = rule.user
            table["utmp"] = rule.utmp
            body = [f"[[{toml_path}.dispatch]]  {comment(f'{where} {key} {rest}')}"]
            body += [f"{k} = {toml_value(v)}" for k, v in table.items()]
            if rule.utmp_name is not None:
                body.append(comment(f"utmp name {rule.utmp_name!r}: no answerd key (the login name is recorded)"))
            if rule.program[0].endswith("/pppd") and "local" in rule.program:
                self._warn(f"{where}: pppd 'local' ignores DCD, so a caller hanging up goes unnoticed: use 'modem'")
            if out:
                out.append("")
            if ignored:
                out += [comment(line) for line in body]
            else:
                out += body
        return out

    # ------------------------------------------------------------------------------------ dialin.config

    def _caller_filter(self, defaults: Table) -> None:
        path = os.path.join(self._dir, "dialin.config")
        contents = read_file(path)
        if contents is None:
            return
        self._sources.append(path)
        tokens: list[str] = []
        for number, text in enumerate(text_lines(path, contents.data), start=1):
            stripped = text.strip()
            if not stripped or stripped.startswith("#"):
                continue
            for word in filter(None, re.split(r"[ \t,\r]+", stripped)):
                deny = word.startswith("!")
                body = word[1:] if deny else word
                token = ("!" if deny else "") + _CID_MARKERS.get(body, body)
                try:
                    core.parse_rules([token])
                except ValueError as exc:
                    raise MgettyImportError(f"{path}:{number}", str(exc)) from None
                tokens.append(token)
        if tokens:
            defaults.items.append(Setting("caller_filter", tokens, path, "caller ID arrives after the 1st RING"))
        else:
            defaults.items.append(Comment(path, "no rules (every line is a comment): every caller is answered"))

    # ------------------------------------------------------------------------------------ output

    def _render(self, command: CommandLine | None, top: Table, defaults: Table, ports: dict[str, Table]) -> str:
        lines = [
            comment("answerd configuration imported from mgetty by `answerd import-mgetty`."),
            *(comment(f"source: {source}") for source in dict.fromkeys(self._sources)),
        ]
        if command is not None:
            lines.append(comment(f"command line: {command.text}"))
        lines += [
            comment("Every mgetty line is below: as an answerd key, or as a comment that says why it has none."),
            comment("Check it with: answerd check-config FILE"),
            "",
        ]
        for table in (top, defaults, *ports.values(), *self._lost):
            lines += [*table.lines(), ""]
        return "\n".join(lines)
