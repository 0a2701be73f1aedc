"""Configuration: strict TOML models, error paths, per-port merging, and the example file as reference."""

from __future__ import annotations

import dataclasses
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from answerd.config.gate import (
    Config,
    ConfigError,
    PortSettings,
    _port_validator,
    load_config,
    parse_config,
    validate_document,
)
from answerd.core import Profile, parse_chat
from answerd.config.settings import port_tables

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"


def errors_of(data: dict[str, Any]) -> list[str]:
    """The error lines parse_config reports for ``data``."""
    with pytest.raises(ConfigError) as info:
        parse_config(data)
    return info.value.errors


class TestExampleFile:
    def test_example_is_valid(self) -> None:
        """config.example.toml loads without errors."""
        config = load_config(EXAMPLE)
        assert {"ttyUSB0", "ttySIM0"} == set(config.ports)

    def test_example_defaults_equal_the_built_in_defaults(self) -> None:
        """Every value written in [defaults] of the example is the model's default, so the doc cannot drift."""
        raw = tomllib.loads(EXAMPLE.read_text())["defaults"]
        built_in = dataclasses.asdict(PortSettings())
        assert {key: built_in[key] for key in raw} == raw
        assert PortSettings() == load_config(EXAMPLE).defaults

    def test_example_documents_every_key(self) -> None:
        """Every setting appears in the example, as a key or (for ones without a TOML default) commented out."""
        text = EXAMPLE.read_text()
        missing = [f.name for f in dataclasses.fields(PortSettings) if not re.search(rf"^#? ?{f.name} = ", text, re.M)]
        assert [] == missing

    def test_example_ports_override_key_by_key(self) -> None:
        """A port table changes only what it names; the rest comes from [defaults]."""
        config = load_config(EXAMPLE)
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
            ({"ports": {"ttyS0": {"login_program": ["login"]}}}, "ports.ttyS0.login_program: the program must be"),
            ({"ports": {"ttyS0": {"login_program": ["/bin/login", "{usr}"]}}}, "unknown placeholder {usr}"),
            ({"ports": {"ttyS0": {"mode": "direct"}}}, "ports.ttyS0: mode = 'direct' needs direct_program"),
            ({"ports": {"ttyS0": {"answer_command": "ATA\r"}}}, "ports.ttyS0.answer_command: answer_command must"),
            ({"ports": {"-x": {}}}, "ports.-x: not a usable port name"),
            ({"ports": {"ttyS0": 3}}, "ports.ttyS0: must be a table"),
            ({"port": {}}, "port: unknown top-level key"),
            ({"log_level": "loud"}, "log_level: Input should be"),
            ({"ports": {"ttyS0": {"chat_timeout_s": -1}}}, "ports.ttyS0.chat_timeout_s: Input should be greater"),
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


class TestLoading:
    def test_missing_file(self, tmp_path: Path) -> None:
        """A missing file is one clear error."""
        with pytest.raises(ConfigError) as info:
            load_config(tmp_path / "nope.toml")
        assert ["no such file"] == info.value.errors

    def test_invalid_toml(self, tmp_path: Path) -> None:
        """TOML syntax errors say where."""
        path = tmp_path / "bad.toml"
        path.write_text("[ports.ttyS0\nrings = 2\n")
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert "not valid TOML" in info.value.errors[0]
        assert "line 1" in info.value.errors[0]

    def test_not_utf8(self, tmp_path: Path) -> None:
        """A binary file is refused with a reason, not a traceback."""
        path = tmp_path / "bin.toml"
        path.write_bytes(b"\xff\xfe\x00")
        with pytest.raises(ConfigError) as info:
            load_config(path)
        assert "not UTF-8" in info.value.errors[0]

    def test_directory(self, tmp_path: Path) -> None:
        """A directory given as the file is refused clearly."""
        with pytest.raises(ConfigError) as info:
            load_config(tmp_path)
        assert ["is a directory, not a config file"] == info.value.errors

    def test_empty_file_is_all_defaults(self, tmp_path: Path) -> None:
        """An empty file is valid: every port runs on the defaults."""
        path = tmp_path / "empty.toml"
        path.write_text("")
        config = load_config(path)
        assert PortSettings() == config.port("ttyUSB3")
        assert "/dev/ttyUSB3" == config.port("ttyUSB3").device_path("ttyUSB3")


class TestProfile:
    def test_profile_carries_every_core_setting(self) -> None:
        """to_profile converts units (ms to s) and parses the chats."""
        settings = PortSettings(rings=3, dtr_drop_ms=250, ring_gap_s=7.0, init_chat=["", "AT", "OK"])
        profile = settings.to_profile()
        assert isinstance(profile, Profile)
        assert (3, 0.25, 7.0) == (profile.rings, profile.dtr_drop_s, profile.ring_gap_s)
        assert parse_chat(["", "AT", "OK"]) == profile.init_chat

    def test_config_is_frozen(self) -> None:
        """Loaded settings cannot be changed by accident."""
        config = Config()
        with pytest.raises(dataclasses.FrozenInstanceError):
            config.defaults.rings = 3  # type: ignore[misc]


class TestHealthCheck:
    @pytest.mark.parametrize(("value", "expected"), [(0, None), (0.0, None), (10, 10.0), (300.0, 300.0)])
    def test_zero_turns_the_check_off(self, value: float, expected: float | None) -> None:
        """health_check_s = 0 means no idle check at all; other values are the interval."""
        settings = parse_config({"ports": {"ttyS0": {"health_check_s": value}}}).port("ttyS0")
        assert expected == settings.to_profile().health_check_s

    def test_short_interval_is_refused(self) -> None:
        """Between 0 and 10 s is an error, with no hidden floor: the user is told, not silently raised."""
        assert any("at least 10 seconds" in line for line in errors_of({"defaults": {"health_check_s": 5}}))


class TestGateAndBuilder:
    """The gate (pydantic) checks; Config.from_document builds. Both must read a document the same way."""

    def test_built_in_defaults_pass_the_gate(self) -> None:
        """Every default, written out as a [defaults] table, is valid (defaults are never checked at start)."""
        assert [] == validate_document({"defaults": dataclasses.asdict(PortSettings())})

    @pytest.mark.parametrize(
        "document",
        [
            tomllib.loads(EXAMPLE.read_text()),
            {"ports": {"a": {"chat_timeout_s": 20, "rings": 3, "caller_init": [{"match": "555", "chat": ["", "AT"]}]}}},
            {"defaults": {"mode": "direct", "direct_program": ["/bin/true"]}, "ports": {"b": {"utmp": False}}},
        ],
    )
    def test_what_pydantic_validates_is_what_the_daemon_builds(self, document: dict[str, Any]) -> None:
        """For each port, pydantic's own objects equal the builder's (same values, same nested classes)."""
        built = Config.from_document(document)
        defaults, merged = port_tables(document)
        pairs = [(_port_validator().validate_python(defaults), built.defaults)]
        pairs += [(_port_validator().validate_python(table), built.port(name)) for name, table in merged.items()]
        for checked, made in pairs:
            assert checked == made
            for field in dataclasses.fields(PortSettings):
                mine, theirs = getattr(made, field.name), getattr(checked, field.name)
                # TOML's 20 for a float setting stays an int here (pydantic makes it 20.0): equal, and used only
                # in arithmetic; anything else must be the very same type.
                if not (isinstance(theirs, float) and isinstance(mine, int)):
                    assert type(theirs) is type(mine), field.name

    def test_built_objects_share_nothing_with_the_document(self) -> None:
        """Ports inheriting a list from [defaults] get their own copies (frozen objects, mutable lists)."""
        document = {"defaults": {"caller_filter": ["-555"]}, "ports": {"a": {}, "b": {}}}
        built = Config.from_document(document)
        assert built.port("a").caller_filter is not built.port("b").caller_filter
        assert built.defaults.caller_filter is not document["defaults"]["caller_filter"]

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
        assert ["ports.a.dispatch[0].usr: unknown key (a typo? every key is listed in config.example.toml)"] == found

    def test_nested_rules_are_checked(self) -> None:
        """The core's checks of a dispatch rule and a caller_init chat reach the user with their paths."""
        found = errors_of(
            {
                "ports": {
                    "a": {
                        "dispatch": [{"match": "**", "program": ["/bin/sh"]}],
                        "caller_init": [{"match": "555", "chat": []}],
                    }
                }
            }
        )
        assert any(line.startswith("ports.a.dispatch[0].match: match '**'") for line in found), found
        assert any(line.startswith("ports.a.caller_init[0].chat: a chat script needs") for line in found), found
