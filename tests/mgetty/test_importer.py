"""import-mgetty on real setups (Debian's files, two published ones) and on each rule of the conversion."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from answerd.mgetty.errors import MgettyImportError
from answerd.mgetty.syntax import logical_lines, split_keyword

from .conftest import run_import, write_setup

DEBIAN_RULES = [
    {"match": "/AutoPPP/", "program": ["/usr/sbin/pppd", "auth", "-chap", "+pap", "login", "debug"], "utmp": True},
    {"match": "*", "program": ["/bin/login", "--", "{user}"], "utmp": False},
]


def _only(config: dict[str, Any], table: str) -> dict[str, Any]:
    """A table's keys other than dispatch and autoppp (which follows the dispatch rules; tested on its own)."""
    return {key: value for key, value in config[table].items() if key not in ("dispatch", "autoppp")}


def test_debian_templates(setup_dir: Callable[[str], Path]) -> None:
    """Debian's /etc/mgetty: debug 4 → info, speed and issue-file kept, fax-id a comment, login.config's
    /AutoPPP/ and * rules become the dispatch table, the all-comment dialin.config answers everyone."""
    config, result = run_import(setup_dir("debian"))
    assert "info" == config["log_level"]
    # Debian's issue-file names /etc/issue.mgetty; where that file is missing the importer leaves it out.
    has_issue = Path("/etc/issue.mgetty").is_file()
    assert {"speed": 38400, **({"issue_file": "/etc/issue.mgetty"} if has_issue else {})} == _only(config, "defaults")
    assert DEBIAN_RULES == config["defaults"]["dispatch"]
    assert re.search(r"^# .*mgetty\.config:18 fax-id: fax: answerd answers data calls only", result.text, re.M)
    assert re.search(r"^# .*dialin\.config: no rules .*every caller is answered", result.text, re.M)
    assert "utmp name 'a_ppp'" in result.text
    assert has_issue == (() == result.warnings)


def test_seed_dialup_server(setup_dir: Callable[[str], Path]) -> None:
    """The dial-up server guide's setup: debug 9, its ttyUSB0 section, its unit's plain command line."""
    config, result = run_import(setup_dir("seed-dialup-server"), args="ExecStart=/sbin/mgetty /dev/ttyUSB0")
    assert "debug" == config["log_level"]
    assert {} == _only(config, "defaults")
    assert {
        "port_owner": "root", "port_group": "dialout", "port_mode": 0o660, "ignore_carrier": False,
        "toggle_dtr": True, "dtr_drop_ms": 500, "rings": 2, "speed": 9600,
    } == config["ports"]["ttyUSB0"]  # fmt: skip
    assert re.search(r"^port_mode = 0o660  # .*mgetty\.config:\d+ port-mode 0660$", result.text, re.M)
    assert re.search(r"^# .*mgetty\.config:\d+ data-only yes: not applicable: ", result.text, re.M)


def test_seed_voip_usr_command_line_overrides_the_section(setup_dir: Callable[[str], Path]) -> None:
    """The VoIP blog's setup: -s 57600 wins over the section's speed 9600, -x0 is advice, escapes are kept."""
    config, result = run_import(setup_dir("seed-voip-usr"), args="ExecStart=/sbin/mgetty -x0 -s 57600 /dev/ttyUSB0")
    assert {
        "toggle_dtr": False,
        "login_prompt": "@ \\P login:\\040",
        "login_timeout_s": 60.0,
        "term": "vt102",
        "speed": 57600,
    } == config["ports"]["ttyUSB0"]
    assert re.search(r"^# .*mgetty\.config:75 speed 9600: overridden below", result.text, re.M)
    assert "# --args -x 0 -> debug 0: log_level is for the whole file: run this port with --log-level error" in (
        result.text
    )


@pytest.mark.parametrize("name", ["debian", "seed-dialup-server", "seed-voip-usr", "hostile/unknown-keywords"])
def test_every_line_of_mgetty_config_is_in_the_output(setup_dir: Callable[[str], Path], name: str) -> None:
    """Nothing silently dropped: each keyword line (other than ``port``) is named by its line in the output."""
    directory = setup_dir(name)
    path = directory / "mgetty.config"
    _, result = run_import(directory, port="ttyUSB0")
    for number, text in logical_lines(path.read_text().split("\n")):
        keyword, _ = split_keyword(text)
        if keyword and keyword != "port":
            assert f"{path}:{number} {keyword}" in result.text, text


@pytest.mark.parametrize(
    ("value", "expected", "note"),
    [
        ("-1", 0.0, "negative: mgetty does not check the modem"),
        ("60", 900.0, "mgetty silently raised 60 s to 900 s"),
        ("899", 900.0, "mgetty silently raised 899 s to 900 s"),
        ("900", 900.0, None),
        ("3600", 3600.0, None),
    ],
)
def test_modem_check_time_has_mgettys_900_second_floor(
    tmp_path: Path, value: str, expected: float, note: str | None
) -> None:
    """Values under 900 become 900 as in mgetty, with a comment; a negative value turns the check off."""
    config, result = run_import(write_setup(tmp_path, {"mgetty.config": f"modem-check-time {value}\n"}))
    assert expected == config["defaults"]["health_check_s"]
    if note is not None:
        assert note in result.text


@pytest.mark.parametrize(
    ("lines", "expected", "said"),
    [
        ("port-owner 0\nport-group 0\n", {"port_owner": "root", "port_group": "root"}, None),
        ("port-mode 0600\n", {"port_mode": 0o600}, None),
        ("port-mode 0666\n", {"port_mode": 0o660}, "mgetty's 0666 gave others access to the modem"),
        ("port-owner no-such-user-here\n", {}, "no user 'no-such-user-here' on this host"),
        ("port-group 4000000000\n", {}, "no group with id 4000000000 on this host"),
    ],
)
def test_port_owner_group_and_mode_become_answerd_keys(
    tmp_path: Path, lines: str, expected: dict[str, Any], said: str | None
) -> None:
    """port-owner/-group as names (a number becomes this host's name), port-mode octal and never for others."""
    config, result = run_import(write_setup(tmp_path, {"mgetty.config": lines}))
    assert expected == _only(config, "defaults")
    if said is not None:
        assert any(said in warning for warning in result.warnings), result.warnings
        assert said in result.text


def test_unknown_keyword_is_a_comment_and_a_warning(tmp_path: Path) -> None:
    """An unknown keyword is kept as a comment and reported with its file and line."""
    config, result = run_import(write_setup(tmp_path, {"mgetty.config": "speed 9600\nwelcome-banner Hi there\n"}))
    assert {"speed": 9600} == _only(config, "defaults")
    assert "welcome-banner Hi there: unknown mgetty keyword, not imported" in result.text
    assert (f"{tmp_path}/mgetty.config:2: unknown mgetty keyword 'welcome-banner' (mgetty ignores it too)",) == (
        result.warnings
    )


def test_login_config_that_mgetty_ignores_is_imported_as_comments(tmp_path: Path) -> None:
    """A login.config with group/other permissions is ignored by mgetty: its rules become comments."""
    directory = write_setup(tmp_path, {"mgetty.config": "", "login.config": "*\t-\t-\t/bin/login @\n"})
    (directory / "login.config").chmod(0o644)
    config, result = run_import(directory)
    assert "dispatch" not in config["defaults"]
    assert "# [[defaults.dispatch]]" in result.text
    assert any("must be owned by root with mode 0600 (it is 0644)" in warning for warning in result.warnings)


def test_login_config_rules_mgetty_cannot_run_are_comments(tmp_path: Path) -> None:
    """/FIDO/, a version 2 callback rule and a rule whose program is missing are kept as comments."""
    login = "/FIDO/ uucp fido /usr/lib/fnet/ifcico @\n!version 2\ncb Y - - /bin/login @\nbbs N - - /opt/bbs\n"
    directory = write_setup(tmp_path, {"mgetty.config": "", "login.config": login})
    config, result = run_import(directory, program_exists=lambda path: path != "/opt/bbs")
    assert "dispatch" not in config["defaults"]
    assert "FidoNet mailer calls are not supported" in result.text
    assert "callback-only rule; answerd does not call back" in result.text
    assert "/opt/bbs does not exist here" in result.text
    assert 3 == len(result.warnings)


def test_login_config_fields(tmp_path: Path) -> None:
    """userid and utmp columns, @ and \\I arguments, continuation lines, first-match order."""
    login = "guest* nobody @ /usr/bin/guest @ \\\n  \\I\n/AutoPPP/ - - /usr/sbin/pppd modem\n"
    config, _ = run_import(write_setup(tmp_path, {"mgetty.config": "", "login.config": login}))
    assert [
        {"match": "guest*", "program": ["/usr/bin/guest", "{user}", "{connect}"], "user": "nobody", "utmp": True},
        {"match": "/AutoPPP/", "program": ["/usr/sbin/pppd", "modem"], "utmp": False},
    ] == config["defaults"]["dispatch"]


def test_pppd_local_is_warned_about(tmp_path: Path) -> None:
    """pppd with ``local`` never notices a hang-up: the import says so."""
    login = "/AutoPPP/ - - /usr/sbin/pppd local\n"
    _, result = run_import(write_setup(tmp_path, {"mgetty.config": "", "login.config": login}))
    assert any("pppd 'local' ignores DCD" in warning for warning in result.warnings)


def test_port_login_conf_file_gives_the_port_its_own_dispatch(tmp_path: Path) -> None:
    """A port's login-conf-file (relative to the directory, as mgetty's CONFDIR) is that port's table."""
    files = {
        "mgetty.config": "port ttyS1\nlogin-conf-file login.ttyS1\n",
        "login.config": "* - - /bin/login @\n",
        "login.ttyS1": "bbs - - /usr/bin/bbs\n",
    }
    directory = write_setup(tmp_path, files)
    (directory / "login.ttyS1").chmod(0o600)
    config, _ = run_import(directory)
    assert ["*"] == [rule["match"] for rule in config["defaults"]["dispatch"]]
    assert ["bbs"] == [rule["match"] for rule in config["ports"]["ttyS1"]["dispatch"]]


def test_dialin_config_tokens_and_mgetty_markers(tmp_path: Path) -> None:
    """Tokens split on blanks and commas, in order; mgetty's O, P and OUT_OF_AREA become answerd keywords."""
    dialin = "# friends\n3433535, 555\n!P O\n!OUT_OF_AREA\n!all\n"
    config, _ = run_import(write_setup(tmp_path, {"mgetty.config": "", "dialin.config": dialin}))
    assert ["3433535", "555", "!private", "out-of-area", "!out-of-area", "!all"] == config["defaults"]["caller_filter"]


def test_dialin_config_bad_token_is_an_error_with_its_line(tmp_path: Path) -> None:
    """A token answerd cannot match is an error: dropping a deny rule would let callers in."""
    directory = write_setup(tmp_path, {"mgetty.config": "", "dialin.config": "555\n!09-123\n"})
    with pytest.raises(MgettyImportError, match=rf"^{tmp_path}/dialin\.config:2: invalid caller-ID rule"):
        run_import(directory)


def test_wildcard_section_is_merged_into_the_port_it_matches(tmp_path: Path) -> None:
    """``port ttyS?`` applies to ttyS1 (named by --port), in file order; it matches no ttyUSB port."""
    text = "rings 2\nport ttyS?\nrings 3\nspeed 9600\nport ttyS1\nspeed 19200\nport ttyUSB?\nrings 4\n"
    config, result = run_import(write_setup(tmp_path, {"mgetty.config": text}), port="ttyS1")
    assert {"rings": 3, "speed": 19200} == config["ports"]["ttyS1"]
    assert re.search(r"^# .*mgetty\.config:8 rings 4: not imported", result.text, re.M)
    assert any("port 'ttyUSB?' matches no imported port" in warning for warning in result.warnings)


def test_post_init_chat_is_appended_to_the_init_chat(tmp_path: Path) -> None:
    """post-init-chat runs after init-chat: one answerd init_chat, the expects and sends still alternating."""
    text = 'init-chat "" ATZ OK\npost-init-chat "" AT+MS=V34 OK\n'
    config, _ = run_import(write_setup(tmp_path, {"mgetty.config": text}))
    assert ["", "ATZ", "OK", "AT+MS=V34", "OK"] == config["defaults"]["init_chat"]


@pytest.mark.parametrize(
    ("chat", "expected"),
    [
        (r'"" \d\d\d+++\d\d\d\c "" ATH0 OK', ["", "\\d\\d\\d+++\\d\\d\\d\\c", "", "ATH0", "OK"]),
        (r'"" AT\cZ OK', ["", "ATZ\\c", "OK"]),
        (r'"" "" OK', ["", "\\r\\c", "OK"]),
        (r'"" AT&F\r OK', ["", "AT&F\\r", "OK"]),
        (r'"" AT\\Q3 OK', ["", "ATQ3", "OK"]),
        (r'"" AT\\\\Q3 OK', ["", "AT\\\\Q3", "OK"]),
    ],
)
def test_chats_are_rewritten_in_answerds_escapes(tmp_path: Path, chat: str, expected: list[str]) -> None:
    r"""\d stays, \c moves to the end, an empty send is a bare CR, control characters are escaped, and a
    backslash is sent only when the sender gets one escaped (mgetty unescapes twice: config, then chat)."""
    config, _ = run_import(write_setup(tmp_path, {"mgetty.config": f"force-init-chat {chat}\n"}))
    assert expected == config["defaults"]["force_init_chat"]


@pytest.mark.parametrize(
    ("chat", "expected"),
    [(r'"" ATA CONNECT \c \n', "ATA"), ('"" ATS0=0A CONNECT', "ATS0=0A"), ('"" ATA OK CONNECT', None)],
)
def test_answer_chat_becomes_the_answer_command(tmp_path: Path, chat: str, expected: str | None) -> None:
    """Only the command of a plain answer chat is taken; anything else is a comment and a warning."""
    config, result = run_import(write_setup(tmp_path, {"mgetty.config": f"answer-chat {chat}\n"}))
    assert expected == config["defaults"].get("answer_command")
    assert (expected is None) == bool(result.warnings)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("/etc/hostname", {"issue_file": "/etc/hostname"}), ("Welcome to \\P", {"issue": "Welcome to \\P"}),
     ("!/usr/games/fortune", {}), ("/no/such/issue", {})],
)  # fmt: skip
def test_issue_file_forms(tmp_path: Path, value: str, expected: dict[str, str]) -> None:
    """A path, a literal text (no leading /), and a !command (never run: a comment) as mgetty reads them."""
    config, _ = run_import(write_setup(tmp_path, {"mgetty.config": f"issue-file {value}\n"}))
    assert expected == _only(config, "defaults")


def test_data_flow_none_keeps_rtscts_as_mgetty_did(tmp_path: Path) -> None:
    """mgetty never read data-flow: the import keeps RTS/CTS and says how to turn it off."""
    config, result = run_import(write_setup(tmp_path, {"mgetty.config": "data-flow none\n"}))
    assert {} == _only(config, "defaults")
    assert any('set flow_control = "none"' in warning for warning in result.warnings)


def test_boolean_one_is_false_with_a_note(tmp_path: Path) -> None:
    """``toggle-dtr 1`` is false in mgetty, and the comment says why."""
    config, result = run_import(write_setup(tmp_path, {"mgetty.config": "toggle-dtr 1\n"}))
    assert config["defaults"]["toggle_dtr"] is False
    assert "mgetty reads only y/t/on/empty as true" in result.text


def test_cnd_program_becomes_an_argv_and_a_shell_line_is_refused(tmp_path: Path) -> None:
    """A plain cnd-program is a decision_program argv; one that needs a shell is a comment and a warning."""
    config, _ = run_import(write_setup(tmp_path, {"mgetty.config": "cnd-program /usr/local/bin/screen -v\n"}))
    assert ["/usr/local/bin/screen", "-v"] == config["defaults"]["decision_program"]
    config, result = run_import(write_setup(tmp_path, {"mgetty.config": "cnd-program /bin/check $X >/dev/null\n"}))
    assert "decision_program" not in config["defaults"]
    assert any("through a shell" in warning for warning in result.warnings)


def test_n_r_trap_answers_on_the_first_ring_without_direct_mode(tmp_path: Path) -> None:
    """``-n -r``: rings 1, no direct-mode comment, and a warning that -r was swallowed."""
    config, result = run_import(write_setup(tmp_path, {"mgetty.config": ""}), args="/sbin/mgetty -n -r ttyS0")
    assert {"rings": 1} == config["ports"]["ttyS0"]
    assert "direct" not in result.text
    assert ("--args: -n -r: mgetty takes '-r' as the argument of -n, not as an option",) == result.warnings


def test_invalid_speed_is_an_error(tmp_path: Path) -> None:
    """mgetty exits on a speed termios cannot set; so does the import, naming the line."""
    with pytest.raises(MgettyImportError, match=rf"^{tmp_path}/mgetty\.config:2: invalid port speed 12345"):
        run_import(write_setup(tmp_path, {"mgetty.config": "debug 4\nspeed 12345\n"}))


@pytest.mark.parametrize(
    ("args", "port", "message"),
    [
        ("/sbin/mgetty /dev/%I", None, "is a systemd specifier: name it with --port"),
        ("/sbin/mgetty ttyS0", "ttyS1", "the command line is for 'ttyS0' but --port is 'ttyS1'"),
        ("/sbin/mgetty -s 9600", None, "names no line"),
    ],
)
def test_command_line_and_port_must_agree(tmp_path: Path, args: str, port: str | None, message: str) -> None:
    """The port of the command line is its line, or --port for a specifier; contradictions are errors."""
    with pytest.raises(MgettyImportError, match=re.escape(message)):
        run_import(write_setup(tmp_path, {"mgetty.config": ""}), args=args, port=port)


def test_specifier_with_port_names_the_table(tmp_path: Path) -> None:
    """A unit template's /dev/%I with --port ttyUSB1 fills [ports.ttyUSB1] from the command line."""
    config, _ = run_import(
        write_setup(tmp_path, {"mgetty.config": ""}), args="mgetty -s 115200 /dev/%I", port="ttyUSB1"
    )
    assert {"speed": 115200} == config["ports"]["ttyUSB1"]


@pytest.mark.parametrize(
    ("args", "warning"),
    [
        ("mgetty -r ttyS0", "direct is on"),
        ("mgetty -R 60 ttyS0", "ringback is on"),
        ("mgetty -a ttyS0", "autobauding is on"),
        ("mgetty -F ttyS0", "fax-only is on"),
        ("getty ttyS0", "blocking is on"),
    ],
)
def test_options_answerd_cannot_honour_are_warned_about(tmp_path: Path, args: str, warning: str) -> None:
    """An option that changes what the port does and has no answerd equivalent is a comment and a warning."""
    _, result = run_import(write_setup(tmp_path, {"mgetty.config": ""}), args=args)
    assert any(warning in line for line in result.warnings), result.warnings


def test_later_issue_file_line_wins_over_an_earlier_one_of_the_other_form(tmp_path: Path) -> None:
    """issue-file as a path, then as text: the text is the issue (answerd's issue_file would win over it)."""
    config, result = run_import(write_setup(tmp_path, {"mgetty.config": "issue-file /etc/hostname\nissue-file Hi\n"}))
    assert {"issue": "Hi"} == _only(config, "defaults")
    assert "issue-file /etc/hostname: overridden below" in result.text


def test_login_config_rules_answerd_cannot_express_are_comments(tmp_path: Path) -> None:
    """A pattern answerd cannot match or a user name it refuses is kept as a comment, so check-config passes."""
    login = "na\u00efve - - /bin/login @\nbbs Guest - /usr/bin/bbs\nok - - /bin/login @\n"
    config, result = run_import(write_setup(tmp_path, {"mgetty.config": "", "login.config": login}))
    assert ["ok"] == [rule["match"] for rule in config["defaults"]["dispatch"]]
    assert 2 == len(result.warnings)
