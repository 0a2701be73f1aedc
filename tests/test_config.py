"""Configuration: strict models, error paths, per-port merging, safe reading, and the example file as reference."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from answerd import core
from answerd.config import Config, ConfigError, PortSettings, load_config, load_config_text
from answerd.config.advice import autoppp_warning, check_config_warnings, start_warnings
from answerd.config.files import program_problem, read_user_file
from answerd.config.load import MAX_ERROR_LINES, config_from_document
from answerd.config.show import effective_settings, toml_value
from answerd.core import Profile, parse_chat
from tests.helpers import installed_example

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def load(data: dict[str, Any]) -> Config:
    """``data``, a parsed TOML document, validated."""
    return config_from_document(data)


def errors_of(data: dict[str, Any]) -> list[str]:
    """The error lines loading ``data`` reports."""
    with pytest.raises(ConfigError) as info:
        load(data)
    return info.value.errors


class TestExampleFile:
    def test_example_is_valid(self, tmp_path: Path) -> None:
        """config.example.toml loads without errors."""
        config = load_config(str(installed_example(tmp_path)))
        assert {"ttyUSB0", "ttySIM0"} == set(config.ports)

    def test_example_defaults_equal_the_built_in_defaults(self, tmp_path: Path) -> None:
        """Every value written in [defaults] of the example is the model's default, so the doc cannot drift."""
        raw = tomllib.loads(EXAMPLE.read_text())["defaults"]
        built_in = PortSettings().model_dump()
        assert {key: built_in[key] for key in raw} == raw
        assert PortSettings() == load_config(str(installed_example(tmp_path))).defaults

    def test_example_documents_every_key(self) -> None:
        """Every setting appears in the example, as a key or (for ones without a TOML default) commented out."""
        text = EXAMPLE.read_text()
        missing = [name for name in PortSettings.model_fields if not re.search(rf"^#? ?{name} = ", text, re.M)]
        assert [] == missing

    def test_every_setting_has_a_description(self) -> None:
        """Each setting's declaration carries its one-line doc."""
        assert [] == [name for name, field in PortSettings.model_fields.items() if not field.description]

    def test_example_ports_override_key_by_key(self, tmp_path: Path) -> None:
        """A port table changes only what it names; the rest comes from [defaults]."""
        config = load_config(str(installed_example(tmp_path)))
        usb = config.port("ttyUSB0")
        assert (2, 115200, "rtscts") == (usb.rings, usb.speed, usb.flow_control)
        assert config.defaults.init_chat == usb.init_chat


class TestErrors:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            ({"ports": {"ttyS0": {"ring": 2}}}, "ports.ttyS0.ring: unknown key"),
            ({"defaults": {"speeed": 9600}}, "defaults.speeed: unknown key"),
            ({"ports": {"ttyS0": {"rings": 0}}}, "ports.ttyS0.rings: Input should be greater than or equal to 1"),
            ({"ports": {"ttyS0": {"rings": "2"}}}, "ports.ttyS0.rings: Input should be a valid integer"),
            ({"ports": {"ttyS0": {"speed": 12345}}}, "ports.ttyS0.speed: speed 12345 is not a termios speed"),
            ({"ports": {"ttyS0": {"device": "ttyS0"}}}, "ports.ttyS0.device: must be an absolute path"),
            ({"ports": {"ttyS0": {"modem_control": "yes"}}}, "ports.ttyS0.modem_control: Input should be"),
            ({"ports": {"ttyS0": {"init_chat": ["", "AT\\q"]}}}, "ports.ttyS0.init_chat: send string"),
            ({"ports": {"ttyS0": {"init_chat": []}}}, "ports.ttyS0.init_chat: a chat script needs"),
            ({"ports": {"ttyS0": {"force_init_chat": []}}}, "ports.ttyS0.force_init_chat: a chat script needs"),
            ({"ports": {"ttyS0": {"login_program": ["login"]}}}, "ports.ttyS0.login_program: the program must be"),
            ({"ports": {"ttyS0": {"login_program": ["/bin/login", "{usr}"]}}}, "unknown placeholder {usr}"),
            ({"ports": {"ttyS0": {"mode": "direct"}}}, "ports.ttyS0.direct_program: mode = 'direct' needs"),
            ({"ports": {"ttyS0": {"answer_command": "ATA\r"}}}, "ports.ttyS0.answer_command: answer_command must"),
            ({"ports": {"ttyS0": {"result_guard_ms": 5001}}}, "ports.ttyS0.result_guard_ms: Input should be less"),
            ({"ports": {"-x": {}}}, "ports.-x: not a usable port name"),
            ({"ports": {"ttyS0": 3}}, "ports.ttyS0: must be a table"),
            ({"port": {}}, "port: unknown top-level key"),
            ({"log_level": "loud"}, "log_level: Input should be"),
            ({"ports": {"ttyS0": {"chat_timeout_s": -1}}}, "ports.ttyS0.chat_timeout_s: Input should be greater"),
            ({"ports": {"ttyS0": {"port_owner": "nosuchuser"}}}, "ports.ttyS0.port_owner: no user 'nosuchuser'"),
            ({"defaults": {"port_group": "nosuchgroup"}}, "defaults.port_group: no group 'nosuchgroup' on this"),
            ({"ports": {"ttyS0": {"port_mode": 0o664}}}, "ports.ttyS0.port_mode: 0o664 gives others access"),
            ({"ports": {"ttyS0": {"port_mode": 0o4660}}}, "ports.ttyS0.port_mode: Input should be less than"),
            ({"ports": {"ttyS0": {"port_mode": "0660"}}}, "ports.ttyS0.port_mode: Input should be a valid integer"),
        ],
    )
    def test_each_problem_names_its_toml_path(self, data: dict[str, Any], expected: str) -> None:
        """An invalid value is reported with its TOML path and what is wrong."""
        found = errors_of(data)
        assert any(line.startswith(expected) or expected in line for line in found), found

    def test_refused_value_is_shown(self) -> None:
        """The offending value is quoted, so the user sees what was read."""
        assert "(got 0)" in errors_of({"ports": {"ttyS0": {"rings": 0}}})[0]

    def test_all_problems_are_reported_at_once(self) -> None:
        """Several problems in several tables all come back from one run."""
        found = errors_of({"defaults": {"speed": 1}, "ports": {"a": {"rings": 0}, "b": {"oops": 1}}})
        assert 3 == len(found)

    def test_bad_default_is_reported_once(self) -> None:
        """A bad value in [defaults] is reported there, not again under every port that inherits it."""
        found = errors_of({"defaults": {"rings": 0}, "ports": {"a": {}, "b": {}}})
        assert ["defaults.rings"] == [line.split(":")[0] for line in found]

    def test_a_port_that_sets_the_bad_value_itself_is_reported(self) -> None:
        """A port's own bad value is reported under the port even when [defaults] has the same one."""
        found = errors_of({"defaults": {"rings": 0}, "ports": {"a": {"rings": 0}}})
        assert ["defaults.rings", "ports.a.rings"] == [line.split(":")[0] for line in found]

    def test_direct_mode_without_program_is_not_masked(self) -> None:
        """mode = 'direct' without direct_program is reported even when another key of the table is bad."""
        found = errors_of({"ports": {"a": {"mode": "direct", "rings": 0}}})
        assert ["ports.a.direct_program", "ports.a.rings"] == sorted(line.split(":")[0] for line in found)

    def test_many_problems_are_capped(self) -> None:
        """A file with thousands of problems gives a bounded number of lines and says how many more."""
        found = errors_of({"defaults": {f"k{n}": n for n in range(MAX_ERROR_LINES + 5)}})
        assert (MAX_ERROR_LINES + 1, "... and 5 more problems") == (len(found), found[-1])


class TestUnknownKeyHints:
    """Issue 13: an unknown key is answered with what the user most likely meant."""

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            ({"ports": {"ttyS0": {"ringz": 2}}}, "ports.ttyS0.ringz: unknown key: did you mean 'rings'?"),
            ({"defaults": {"speeed": 9600}}, "defaults.speeed: unknown key: did you mean 'speed'?"),
            ({"port": {}}, "port: unknown top-level key: did you mean 'ports'?"),
            (
                {"ports": {"a": {"caller_init": [{"match": "555", "chat": ["", "AT", "OK"], "chatt": 1}]}}},
                "ports.a.caller_init[0].chatt: unknown key: did you mean 'chat'?",
            ),
        ],
    )
    def test_closest_known_key_is_suggested(self, data: dict[str, Any], expected: str) -> None:
        """A misspelt key gets the closest key of its own table as a suggestion."""
        assert [expected] == errors_of(data)

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            (
                {"defaults": {"toggle-dtr": True}},
                "defaults.toggle-dtr: unknown key: 'toggle-dtr' is an mgetty keyword: in answerd it is toggle_dtr",
            ),
            (
                {"ports": {"ttyS0": {"modem-check-time": 900}}},
                "ports.ttyS0.modem-check-time: unknown key: 'modem-check-time' is an mgetty keyword: in answerd it "
                "is health_check_s",
            ),
            (
                {"rings": 2},
                "rings: unknown top-level key: 'rings' is a port setting: mgetty's global section is answerd's "
                "[defaults] table",
            ),
            ({"debug": 4}, "debug: unknown top-level key: 'debug' is an mgetty keyword: in answerd it is log_level"),
        ],
    )
    def test_mgetty_keyword_names_the_answerd_key(self, data: dict[str, Any], expected: str) -> None:
        """An mgetty keyword written as a key is answered with the answerd key it became."""
        assert [expected] == errors_of(data)

    def test_port_setting_at_the_top_names_its_table(self) -> None:
        """A port setting written above every table is told to go into [defaults] or a port table."""
        assert ["autoppp: unknown top-level key: 'autoppp' is a port setting: put it in [defaults] (every port) "
                "or a [ports.NAME] table"] == errors_of({"autoppp": False})  # fmt: skip

    def test_nothing_close_points_at_the_example(self) -> None:
        """A key like no known one is called unknown, with where every key is listed."""
        assert ["ports.a.colour: unknown key (every key is listed in config.example.toml)"] == errors_of(
            {"ports": {"a": {"colour": 1}}}
        )


class TestCallerFilterStar:
    """Issue 13: a caller_filter token with '*' is the prefix it means, or refused; never silently dead."""

    def test_trailing_star_is_accepted_as_a_prefix(self) -> None:
        """'!09*' loads, and the port's rules deny a caller whose number starts with 09."""
        settings = load({"ports": {"a": {"caller_filter": ["!09*", "all"]}}}).port("a")
        decision = core.policy_decide(core.parse_rules(settings.caller_filter), core.CallerInfo(number="0912"))
        assert (False, "!09") == (decision.accept, decision.rule)

    def test_star_elsewhere_is_refused_with_its_path(self) -> None:
        """'0*9' is refused under its TOML path, saying where a '*' may go."""
        expected = (
            "ports.a.caller_filter: invalid caller-ID rule '0*9': a rule is a number prefix, so '*' may only end it "
            "(09* is 09); there is no '*' for a suffix or the middle of a number (got ['0*9'])"
        )
        assert [expected] == errors_of({"ports": {"a": {"caller_filter": ["0*9"]}}})


class TestWarnings:
    """Issue 13: valid settings that will not do what the user expects are warned about, in one place."""

    @pytest.mark.parametrize(
        ("table", "warned"),
        [
            ({}, True),
            ({"dispatch": [{"match": "/AutoPPP/", "program": ["/bin/true"]}]}, False),
            ({"autoppp": False}, False),
            ({"mode": "direct", "direct_program": ["/bin/cat"]}, False),
            ({"dispatch": [{"match": "*", "program": ["/bin/true"]}]}, True),
        ],
    )
    def test_autoppp_without_a_rule(self, table: dict[str, Any], warned: bool) -> None:
        """Only a login port with AutoPPP on and no /AutoPPP/ rule is warned that PPP callers will not work."""
        warning = autoppp_warning(load({"ports": {"a": table}}).port("a"))
        assert warned == (warning is not None and "PPP callers will not work" in warning)

    def test_check_config_warns_per_table_shown(self) -> None:
        """check-config's warnings name the table: each port, or [defaults] in a file without ports."""
        with_ports = load({"ports": {"a": {}, "b": {"autoppp": False}}})
        assert (["ports.a"], ["defaults"]) == (
            [line.split(":")[0] for line in check_config_warnings(with_ports)],
            [line.split(":")[0] for line in check_config_warnings(load({}))],
        )

    @pytest.mark.parametrize(
        ("port", "device_exists", "expected"),
        [
            ("ttyUSB9", False, ["config.port_without_table"]),
            ("ttyUSB9", True, []),
            ("ttyUSB0", False, []),
        ],
    )
    def test_port_without_a_table(self, port: str, device_exists: bool, expected: list[str]) -> None:
        """Only a port with no table whose default device is missing is warned about (a mistyped name)."""
        config = load({"defaults": {"autoppp": False}, "ports": {"ttyUSB0": {}}})
        found = start_warnings(config, port, exists=lambda _path: device_exists)
        assert expected == [event for event, _ in found]

    def test_port_without_a_table_names_device_and_tables(self) -> None:
        """The mistyped-port warning names the device it would open and the file's port tables."""
        config = load({"defaults": {"autoppp": False}, "ports": {"ttyUSB0": {}, "ttyS0": {}}})
        [(_, text)] = start_warnings(config, "ttyUBS0", exists=lambda _path: False)
        assert ("/dev/ttyUBS0", "ttyS0, ttyUSB0") == (text.split("device ")[1].split(",")[0], text.split(": ")[-1][:-1])


class TestShownSettings:
    """Issue 13: check-config prints TOML, which loads back into the settings it shows."""

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=60))
    def test_any_string_is_written_as_a_toml_string(self, text: str) -> None:
        """Any string (quotes, backslashes, control and non-ASCII characters) reads back as itself."""
        assert text == tomllib.loads(f"key = {toml_value(text)}")["key"]

    def test_nested_tables_and_escapes_load_back(self) -> None:
        """Dispatch rules, caller_init chats, a name with a dot and an issue with quotes load back unchanged."""
        config = load(
            {
                "log_level": "debug",
                "defaults": {"issue": 'it\'s "here"\\n\t\u00e9\x7f', "caller_filter": ["!09*", "all"]},
                "ports": {
                    "tty.S0": {
                        "dispatch": [{"match": "/AutoPPP/", "program": ["/bin/true", "{user}"], "ok_exit_codes": [0]}],
                        "caller_init": [{"match": "555", "chat": ["", "AT\\d", "OK"]}],
                        "decision_program": ["/bin/true"],
                    },
                },
            }
        )
        again = load(tomllib.loads("\n".join(effective_settings(config))))
        port = config.port("tty.S0")
        assert (config.log_level, port.model_copy(update={"device": "/dev/tty.S0"})) == (
            again.log_level,
            again.port("tty.S0"),
        )


class TestChecksOfTheCore:
    @pytest.mark.parametrize(
        ("rule", "key"),
        [
            ({"match": "*", "program": ["/bin/sh"], "utmp": 1}, "utmp"),
            ({"match": "*", "program": ["/bin/sh"], "ok_exit_codes": [True]}, "ok_exit_codes[0]"),
            ({"match": "*", "program": "/bin/sh"}, "program"),
        ],
    )
    def test_values_in_nested_tables_are_strict(self, rule: dict[str, Any], key: str) -> None:
        """Tables inside a port are accepted as tables, but their values are as strict as a port's own."""
        found = errors_of({"ports": {"a": {"dispatch": [rule]}}})
        assert any(line.startswith(f"ports.a.dispatch[0].{key}: Input should be") for line in found), found

    def test_unknown_keys_in_nested_tables(self) -> None:
        """A misspelt key in a dispatch rule is reported with its index."""
        found = errors_of({"ports": {"a": {"dispatch": [{"match": "*", "program": ["/bin/sh"], "usr": "x"}]}}})
        assert ["ports.a.dispatch[0].usr: unknown key: did you mean 'user'?"] == found

    def test_nested_rules_are_checked(self) -> None:
        """The core's checks of a dispatch rule and of a caller_init rule that does nothing reach the user."""
        rules = {"dispatch": [{"match": "**", "program": ["/bin/sh"]}], "caller_init": [{"match": "555", "chat": []}]}
        found = errors_of({"ports": {"a": rules}})
        assert any(line.startswith("ports.a.dispatch[0].match: match '**'") for line in found), found
        assert any(line.startswith("ports.a.caller_init[0]: a caller_init rule needs a chat or") for line in found)

    def test_what_the_model_accepts_the_answer_machine_accepts(self) -> None:
        """Every valid port gives a Profile: the model runs the core's own checks (issue 10, defect 4)."""
        config = load({"defaults": {"init_chat_extra": ["", "ATX3", "OK"]}, "ports": {"a": {"rings": 3}}})
        assert isinstance(config.port("a").to_profile(), Profile)


class TestPrograms:
    @pytest.mark.parametrize(
        ("make", "says"),
        [
            (lambda tmp: tmp / "none", "does not exist"),
            (lambda tmp: tmp / "none" / "deeper", "does not exist"),
            (lambda tmp: tmp, "is a directory"),
            (lambda tmp: Path(os.devnull), "not a regular file"),
        ],
    )
    def test_unusable_paths(self, tmp_path: Path, make: Any, says: str) -> None:
        """Missing paths, directories and devices are not programs."""
        assert says in (program_problem(str(make(tmp_path))) or "")

    def test_execute_bit(self, tmp_path: Path) -> None:
        """A regular file needs an execute bit, and with one it is a program."""
        program = tmp_path / "prog"
        program.write_text("#!/bin/sh\n")
        program.chmod(0o644)
        before = program_problem(str(program))
        program.chmod(0o744)
        assert ("the program " + str(program) + " is not executable (no x permission)", None) == (
            before,
            program_problem(str(program)),
        )

    def test_the_default_login_program_is_checked(self) -> None:
        """The built-in login_program is validated like a written one (validate_default), as are the others."""
        fields = PortSettings.model_fields
        assert (True, True) == (fields["login_program"].validate_default, fields["direct_program"].validate_default)


class TestReading:
    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is one clear error."""
        with pytest.raises(ConfigError) as info:
            load_config(str(tmp_path / "nope.toml"))
        assert ["no such file"] == info.value.errors

    def test_invalid_toml(self) -> None:
        """TOML syntax errors say where."""
        with pytest.raises(ConfigError) as info:
            load_config_text("[ports.ttyS0\nrings = 2\n")
        assert "not valid TOML" in info.value.errors[0]
        assert "line 1" in info.value.errors[0]

    def test_not_utf8(self, tmp_path: Path) -> None:
        """A binary file is refused with a reason, not a traceback."""
        path = tmp_path / "bin.toml"
        path.write_bytes(b"\xff\xfe\x00")
        with pytest.raises(ConfigError) as info:
            load_config(str(path))
        assert "not UTF-8" in info.value.errors[0]

    def test_directory(self, tmp_path: Path) -> None:
        """A directory given as the file is refused clearly."""
        with pytest.raises(ConfigError) as info:
            load_config(str(tmp_path))
        assert ["is a directory, not a regular file: refused"] == info.value.errors

    def test_fifo_is_refused_without_waiting_for_a_writer(self, tmp_path: Path) -> None:
        """A FIFO is refused by what the open descriptor is (the open itself does not block)."""
        fifo = tmp_path / "fifo"
        os.mkfifo(fifo)
        with pytest.raises(ConfigError) as info:
            read_user_file(str(fifo))
        assert ["is a FIFO, not a regular file: refused"] == info.value.errors

    def test_character_device_is_refused(self) -> None:
        """/dev/zero is refused as a device instead of being read without end."""
        with pytest.raises(ConfigError) as info:
            read_user_file("/dev/zero")
        assert ["is a character device, not a regular file: refused"] == info.value.errors

    @pytest.mark.parametrize(("size", "refused"), [(1 << 20, False), ((1 << 20) + 1, True)])
    def test_size_limit(self, tmp_path: Path, size: int, refused: bool) -> None:
        """Up to 1 MiB is read; one byte more is refused, saying the limit."""
        path = tmp_path / "big"
        path.write_bytes(b"#" * size)
        if refused:
            with pytest.raises(ConfigError) as info:
                read_user_file(str(path))
            assert ["larger than the 1 MiB limit: refused"] == info.value.errors
        else:
            assert size == len(read_user_file(str(path)))

    def test_empty_file_is_all_defaults(self, tmp_path: Path) -> None:
        """An empty file is valid: every port runs on the defaults."""
        path = tmp_path / "empty.toml"
        path.write_text("")
        config = load_config(str(path))
        assert PortSettings() == config.port("ttyUSB3")
        assert "/dev/ttyUSB3" == config.port("ttyUSB3").device_path("ttyUSB3")


class TestHostileText:
    """Issue 10, defect 5: what the reload path gets is a ConfigError, whatever the text."""

    @pytest.mark.parametrize(
        ("text", "says"),
        [
            ("x = " + "[" * 5000 + "]" * 5000, "nested too deeply"),
            ("x = " + "{a = " * 5000 + "1" + "}" * 5000, "nested too deeply"),
            ("[ports.a]\nrings = " + "9" * 5000, "digits"),
        ],
    )
    def test_deep_or_huge_is_one_config_error(self, text: str, says: str) -> None:
        """Nesting deeper than the parser's stack and integers over Python's digit limit are one line."""
        with pytest.raises(ConfigError) as info:
            load_config_text(text)
        assert (1, True) == (len(info.value.errors), says in info.value.errors[0])

    def test_nesting_the_parser_survives_is_refused_by_type(self) -> None:
        """Moderately deep nesting reaches validation and is refused there, with its path."""
        found = errors_of({"ports": {"a": {"init_chat": [[[["AT"]]]]}}})
        assert found[0].startswith("ports.a.init_chat[0]: Input should be a valid string"), found


#: In a fresh interpreter: load a valid file (as ``answerd run`` does before READY), then one of each kind of
#: bad file (as a reload might get), and print the modules the second part imported.
_RELOAD_IMPORTS = r"""
import sys
from answerd.config import ConfigError, load_config_text
load_config_text("[ports.a]\nrings = 2\n")
before = set(sys.modules)
for text in ["[ports.a\n", "x = " + "[" * 5000 + "]" * 5000, "rings = " + "9" * 5000, "colour = 1",
             "[ports.a]\nrings = 0\nring = 2\ninit_chat = []\nlogin_program = ['/nope']\nspeed = 'x'\n",
             "[ports.a]\ndispatch = [{match = '**', program = ['/bin/sh']}]\n"
             "caller_init = [{match = 'x', chat = []}]\n",
             "[ports.a]\nmode = 'direct'\ncaller_filter = ['-1']\nspeed = 1200\n", "ports = 3"]:
    try:
        load_config_text(text)
    except ConfigError:
        pass
print(sorted(set(sys.modules) - before))
"""


class TestReloadNeedsNoNewImports:
    def test_a_refused_file_imports_nothing_new(self) -> None:
        """After one valid load, refusing any kind of bad file imports no module: a reload after a package
        upgrade (new files on disk, old process) runs only code that was loaded before READY."""
        done = subprocess.run([sys.executable, "-c", _RELOAD_IMPORTS], capture_output=True, text=True, check=True)
        assert "[]" == done.stdout.strip(), done.stdout


class TestModels:
    def test_profile_carries_every_core_setting(self) -> None:
        """to_profile converts units (ms to s) and parses the chats."""
        settings = PortSettings(
            rings=3, dtr_drop_ms=250, ring_gap_s=7.0, init_chat=["", "AT", "OK"], result_guard_ms=40
        )
        profile = settings.to_profile()
        assert (3, 0.25, 7.0, 0.04) == (profile.rings, profile.dtr_drop_s, profile.ring_gap_s, profile.result_guard_s)
        assert parse_chat(["", "AT", "OK"]) == profile.init_chat

    def test_init_chat_extra_is_its_own_chat(self) -> None:
        """init_chat_extra's steps follow init_chat's, each chat pairing its own expects and sends."""
        settings = PortSettings(init_chat=["", "ATZ", "OK"], init_chat_extra=["", "ATS7=45", "OK"])
        assert parse_chat(["", "ATZ", "OK"]) + parse_chat(["", "ATS7=45", "OK"]) == settings.to_profile().init_chat

    def test_config_is_frozen(self) -> None:
        """Loaded settings cannot be changed by accident."""
        config = Config()
        with pytest.raises(ValidationError, match="frozen"):
            config.defaults.rings = 3

    def test_ports_do_not_share_lists(self) -> None:
        """Ports inheriting a list from [defaults] get their own copies (frozen objects, mutable lists)."""
        config = load({"defaults": {"caller_filter": ["!555"]}, "ports": {"a": {}, "b": {}}})
        assert config.port("a").caller_filter is not config.port("b").caller_filter
        assert config.defaults.caller_filter is not config.port("a").caller_filter

    def test_settings_compare_by_value(self) -> None:
        """Equal values are equal settings, written out or left to their default (a reload then changes nothing)."""
        text = '[ports.a]\nrings = 2\ncaller_init = [{match = "555", chat = ["", "AT"]}]\n'
        assert load_config_text(text).port("a") == load_config_text(text).port("a")
        assert load_config_text(text).port("a") != load_config_text(text.replace("2", "3", 1)).port("a")
        assert load_config_text("[ports.a]\nrings = 1\n").port("a") == load_config_text("[ports.a]\n").port("a")

    def test_integers_for_float_settings(self) -> None:
        """TOML's 20 for a seconds setting is accepted (strict mode takes an int for a float)."""
        assert 20.0 == load({"ports": {"a": {"chat_timeout_s": 20}}}).port("a").chat_timeout_s


class TestResultGuard:
    @pytest.mark.parametrize(("speed", "guard", "refused"), [(1200, 100, True), (1200, 118, False), (1200, 0, False),
                                                             (38400, 100, False), (38400, 3, True)])  # fmt: skip
    def test_the_guard_outlasts_no_carrier_at_the_port_speed(self, speed: int, guard: int, refused: bool) -> None:
        """A guard not longer than 14 characters at the DTE speed is refused; 0 (no guard) is allowed."""
        table = {"speed": speed, "result_guard_ms": guard}
        if refused:
            assert errors_of({"ports": {"a": table}})[0].startswith("ports.a.result_guard_ms: ")
        else:
            assert guard / 1000 == load({"ports": {"a": table}}).port("a").to_profile().result_guard_s

    def test_the_default_guard_is_checked_against_a_low_speed(self) -> None:
        """With only the speed lowered, the default 100 ms guard is refused (it is validated as a default)."""
        assert ["defaults.result_guard_ms"] == [line.split(":")[0] for line in errors_of({"defaults": {"speed": 1200}})]


class TestHealthCheck:
    @pytest.mark.parametrize(("value", "expected"), [(0, None), (0.0, None), (10, 10.0), (300.0, 300.0)])
    def test_zero_turns_the_check_off(self, value: float, expected: float | None) -> None:
        """health_check_s = 0 means no idle check at all; other values are the interval."""
        settings = load({"ports": {"ttyS0": {"health_check_s": value}}}).port("ttyS0")
        assert expected == settings.to_profile().health_check_s

    def test_short_interval_is_refused(self) -> None:
        """Between 0 and 10 s is an error, with no hidden floor: the user is told, not silently raised."""
        assert any("at least 10 seconds" in line for line in errors_of({"defaults": {"health_check_s": 5}}))
