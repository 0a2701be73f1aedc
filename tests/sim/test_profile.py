"""The modem profile: the TOML loader's checks (one line, with the TOML path), the file limits, the CLI.

Every table row is one way a profile can be wrong, with the exact line the user reads.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from answerd.sim import (
    DEFAULT_PROFILE,
    CidFormat,
    ModemProfile,
    OnlineReport,
    ProfileError,
    load_profile,
)
from answerd.sim._profile import parse_profile
from answerd.sim._profile_file import MAX_PROFILE_BYTES
from answerd.sim.cli import build_parser, build_profile, main

#: (TOML text, the error line it gives)
BAD_DOCUMENTS: list[tuple[str, str]] = [
    ("name = ", "not valid TOML: Invalid value (at end of document)"),
    ("x = " + "9" * 5000, "not usable TOML: Exceeds the limit (4300 digits) for integer string conversion"),
    ("x = " + "[" * 3000 + "]" * 3000, "not usable TOML: nested too deeply"),
    (
        'colour = "red"',
        "colour: unknown key (known: name, identity, defaults, results, caller_id, speed, timings, faults)",
    ),
    (
        "[timings]\nring_interval = 6",
        "timings.ring_interval: unknown key (known: ring_interval_s, answer_delay_s, idle_answer_timeout_s, max_rings)",
    ),
    ("identity = 3", "identity: must be a table (got 3)"),
    ("[defaults]\necho = 1", "defaults.echo: must be true or false (got 1)"),
    ("[defaults]\nresult_level = true", "defaults.result_level: must be a whole number (got True)"),
    ("[defaults]\nresult_level = 2.0", "defaults.result_level: must be a whole number (got 2.0)"),
    ("[defaults]\nresult_level = 5", "defaults.result_level: must be 0..4 (got 5)"),
    ("[defaults]\ndcd = 2", "defaults.dcd: must be 0..1 (got 2)"),
    ("[defaults]\ndtr = 4", "defaults.dtr: must be 0..3 (got 4)"),
    ("[defaults]\nregisters = 5", "defaults.registers: must be a table of S-registers (S0 = 0) (got 5)"),
    ("[defaults.registers]\nS256 = 1", "defaults.registers.S256: not an S-register name (S0 .. S255)"),
    ("[defaults.registers]\nX1 = 1", "defaults.registers.X1: not an S-register name (S0 .. S255)"),
    ("[defaults.registers]\nS7 = 256", "defaults.registers.S7: must be a whole number 0..255 (got 256)"),
    ("[defaults.registers]\nS7 = true", "defaults.registers.S7: must be a whole number 0..255 (got True)"),
    ('[timings]\nring_interval_s = "6"', "timings.ring_interval_s: must be a number (got '6')"),
    ("[timings]\nring_interval_s = 0", "timings.ring_interval_s: must be a number of seconds > 0 (got 0.0)"),
    ("[timings]\nanswer_delay_s = -0.5", "timings.answer_delay_s: must be a number of seconds >= 0 (got -0.5)"),
    ("[timings]\nmax_rings = -1", "timings.max_rings: must be 0..1000000 (got -1)"),
    ("[results]\nring = 7", "results.ring: must be a string (got 7)"),
    (
        '[results]\ncring_type = "DATA"',
        "results.cring_type: must be one of ASYNC, SYNC, REL ASYNC, REL SYNC, FAX, VOICE, VOICE/ASYNC, VOICE/SYNC, "
        "ALT VOICE/ASYNC, ALT VOICE/SYNC, ALT ASYNC/VOICE, ALT SYNC/VOICE, ALT VOICE/FAX, ALT FAX/VOICE (got 'DATA')",
    ),
    (
        '[results]\ncring_type = "async"',
        "results.cring_type: must be one of ASYNC, SYNC, REL ASYNC, REL SYNC, FAX, VOICE, VOICE/ASYNC, VOICE/SYNC, "
        "ALT VOICE/ASYNC, ALT VOICE/SYNC, ALT ASYNC/VOICE, ALT SYNC/VOICE, ALT VOICE/FAX, ALT FAX/VOICE (got 'async')",
    ),
    ("[results]\ncring_type = 1", "results.cring_type: must be a string (got 1)"),
    (
        '[speed.fixed_rates]\n"0" = 9600',
        "speed.fixed_rates: keys must be the n of &Nn, 1..255 (\"6\"; &N0 is variable) (got '0')",
    ),
    (
        "[speed.fixed_rates]\nN6 = 9600",
        "speed.fixed_rates: keys must be the n of &Nn, 1..255 (\"6\"; &N0 is variable) (got 'N6')",
    ),
    ('[speed.fixed_rates]\n"6" = 100', "speed.fixed_rates.6: must be 300..115200 (got 100)"),
    (
        '[results]\nconnect = "33600\\r\\nOK"',
        "results.connect: must be printable ASCII (no CR, LF or control characters) (got '33600\\r\\nOK')",
    ),
    ('[identity]\nident = ""', "identity.ident: must not be empty (got '')"),
    ('name = ""', "name: must not be empty (got '')"),
    (
        '[caller_id]\nformat = "hayes"',
        "caller_id.format: unknown caller-ID format 'hayes'; choose one of: rockwell, mdmf, sdmf, elsa, zyxel, "
        "clip, clip_huawei, ddn, us_robotics, caller_number, nbr, digits, private, out_of_area",
    ),
    ("[caller_id]\nformat = 1", "caller_id.format: must be a string (got 1)"),
    ('[caller_id]\ndate = "123"', "caller_id.date: must be four digits (MMDD for date, HHMM for time) (got '123')"),
    ('[caller_id]\ntime = "12a4"', "caller_id.time: must be four digits (MMDD for date, HHMM for time) (got '12a4')"),
    (
        '[caller_id]\nformat = "digits"\nnumber = "12"',
        "caller_id.number: must be 3 or more digits with format = 'digits' (got '12')",
    ),
    ("[faults]\nerror_first = -1", "faults.error_first: must be 0..1000000 (got -1)"),
    (
        '[faults]\nanswer_result = "NO\\tCARRIER"',
        "faults.answer_result: must be printable ASCII (no CR, LF or control characters) (got 'NO\\tCARRIER')",
    ),
    (
        "[faults]\nonline_reports = 5",
        "faults.online_reports: must be an array of tables ([[faults.online_reports]]) (got 5)",
    ),
    ("[faults]\nonline_reports = [5]", "faults.online_reports[0]: must be a table (got 5)"),
    (
        "[faults]\nonline_reports = [" + ", ".join(['{after_s = 0, text = "OK"}'] * 65) + "]",
        "faults.online_reports: at most 64 entries (got 65)",
    ),
    ('[[faults.online_reports]]\ntext = "OK"', "faults.online_reports[0].after_s: missing (this table needs it)"),
    (
        '[[faults.online_reports]]\nafter_s = 0\ntext = "OK"\nbogus = 1',
        "faults.online_reports[0].bogus: unknown key (known: after_s, text, repeat, interval_s)",
    ),
    (
        '[[faults.online_reports]]\nafter_s = 0.5\ntext = "OK"\nrepeat = 0',
        "faults.online_reports[0].repeat: must be 1..100000 (got 0)",
    ),
    (
        '[[faults.online_reports]]\nafter_s = 0.5\ntext = "OK"\ninterval_s = -1',
        "faults.online_reports[0].interval_s: must be a number of seconds >= 0 (got -1.0)",
    ),
    (
        '[[faults.online_reports]]\nafter_s = inf\ntext = "OK"',
        "faults.online_reports[0].after_s: must be a number of seconds >= 0 (got inf)",
    ),
    (
        '[[faults.online_reports]]\nafter_s = nan\ntext = "OK"',
        "faults.online_reports[0].after_s: must be a number of seconds >= 0 (got nan)",
    ),
    ('[[faults.online_reports]]\nafter_s = 0\ntext = ""', "faults.online_reports[0].text: must not be empty (got '')"),
    (
        '[[faults.online_reports]]\nafter_s = 0\ntext = "OK\\r\\n"',
        "faults.online_reports[0].text: must be printable ASCII (no CR, LF or control characters) (got 'OK\\r\\n')",
    ),
    (
        f'[[faults.online_reports]]\nafter_s = 0\ntext = "{"x" * 16385}"',
        f"faults.online_reports[0].text: must be at most 16384 characters (got '{'x' * 56}...)",
    ),
    (
        '[[faults.online_reports]]\nafter_s = 0\ntext = "OK"\n[[faults.online_reports]]\nafter_s = "1"\ntext = "OK"',
        "faults.online_reports[1].after_s: must be a number (got '1')",
    ),
]


class TestParse:
    @pytest.mark.parametrize(("text", "message"), BAD_DOCUMENTS, ids=[row[1][:40] for row in BAD_DOCUMENTS])
    def test_bad_document_is_one_line_with_its_path(self, text: str, message: str) -> None:
        """Each unknown key or bad value is refused with exactly this line, which names its TOML path."""
        with pytest.raises(ProfileError) as info:
            parse_profile(text)
        assert message == str(info.value)

    def test_empty_document_is_the_default_modem(self) -> None:
        """A profile that sets nothing is the default modem."""
        assert ModemProfile() == parse_profile("")

    def test_default_profile_file_is_the_default_modem(self) -> None:
        """The shipped default.toml spells out exactly the built-in defaults."""
        assert ModemProfile() == load_profile(DEFAULT_PROFILE)

    def test_default_profile_documents_every_key(self) -> None:
        """Every key of every table appears in default.toml (set, or commented out when it has no value)."""
        text = DEFAULT_PROFILE.read_text()
        tables = {"identity", "defaults", "results", "caller_id", "timings", "faults"}
        missing = [
            f"{table}.{key}"
            for table in tables
            for key in type(getattr(ModemProfile(), table)).__dataclass_fields__
            if f"{key} = " not in text and f"[{table}.{key}]" not in text
        ]
        missing += [key for key in OnlineReport.__dataclass_fields__ if f"{key} = " not in text]
        assert [] == missing

    def test_values_are_read_into_their_tables(self) -> None:
        """Keys land in their fields: integers as seconds, format names in any case, registers over Hayes."""
        profile = parse_profile(
            'name = "usr"\n'
            "[defaults]\necho = false\n[defaults.registers]\nS0 = 2\ns12 = 20\n"
            '[caller_id]\nformat = "US-Robotics"\nnumber = "5551234"\n'
            "[timings]\nring_interval_s = 3\n"
            '[[faults.online_reports]]\nafter_s = 1\ntext = "RING"\nrepeat = 3\ninterval_s = 0.5\n'
        )
        registers = profile.defaults.registers
        assert (
            "usr",
            False,
            (2, 20, 43),
            CidFormat.DDN,
            "5551234",
            3.0,
            (OnlineReport(after_s=1.0, text="RING", repeat=3, interval_s=0.5),),
        ) == (
            profile.name,
            profile.defaults.echo,
            (registers[0], registers[12], registers[2]),
            profile.caller_id.format,
            profile.caller_id.number,
            profile.timings.ring_interval_s,
            profile.faults.online_reports,
        )


class TestOverride:
    def test_flat_names_reach_their_tables(self) -> None:
        """override() takes the old flat names and changes only those fields."""
        profile = ModemProfile().override(ring_interval=0.3, connect_text="2400", silent=True)
        expected = ModemProfile(
            results=type(ModemProfile().results)(connect="2400"),
            timings=type(ModemProfile().timings)(ring_interval_s=0.3),
            faults=type(ModemProfile().faults)(silent=True),
        )
        assert expected == profile

    def test_unknown_flat_name(self) -> None:
        """A flat name that is no field is a TypeError, as a misspelt keyword argument is."""
        with pytest.raises(TypeError, match="unknown modem setting 'ring_intervall'"):
            ModemProfile().override(ring_intervall=1.0)

    @pytest.mark.parametrize(
        ("flat", "message"),
        [
            ({"ring_interval": 0}, "ring_interval_s: must be a number of seconds > 0 (got 0)"),
            ({"cid_date": "1"}, "date: must be four digits (MMDD for date, HHMM for time) (got '1')"),
            (
                {"cid_format": CidFormat.DIGITS, "caller_number": "+555"},
                "number: must be 3 or more digits with format = 'digits' (got '+555')",
            ),
        ],
    )
    def test_values_built_in_python_get_the_same_checks(self, flat: dict[str, object], message: str) -> None:
        """A profile built in Python is checked like one from a file (ValueError naming the key)."""
        with pytest.raises(ValueError) as info:
            ModemProfile().override(**flat)
        assert message == str(info.value)


class TestFile:
    def test_missing_file(self, tmp_path: Path) -> None:
        """A file that does not exist: the file's name and why."""
        with pytest.raises(ProfileError) as info:
            load_profile(tmp_path / "none.toml")
        assert f"{tmp_path}/none.toml: cannot open: No such file or directory" == str(info.value)

    def test_directory(self, tmp_path: Path) -> None:
        """A directory is not a profile."""
        with pytest.raises(ProfileError) as info:
            load_profile(tmp_path)
        assert f"{tmp_path}: not a regular file" == str(info.value)

    def test_fifo_does_not_block(self, tmp_path: Path) -> None:
        """A FIFO with no writer is refused at once instead of hanging the sim."""
        os.mkfifo(tmp_path / "fifo")
        with pytest.raises(ProfileError) as info:
            load_profile(tmp_path / "fifo")
        assert f"{tmp_path}/fifo: not a regular file" == str(info.value)

    def test_too_big(self, tmp_path: Path) -> None:
        """A file over the limit is refused before it is read."""
        (tmp_path / "big.toml").write_text("#" * (MAX_PROFILE_BYTES + 1))
        with pytest.raises(ProfileError) as info:
            load_profile(tmp_path / "big.toml")
        assert f"{tmp_path}/big.toml: too big (65537 bytes; a profile is at most 65536)" == str(info.value)

    def test_not_utf8(self, tmp_path: Path) -> None:
        """Bytes that are not UTF-8 are refused with their offset."""
        (tmp_path / "latin1.toml").write_bytes(b'name = "caf\xe9"\n')
        with pytest.raises(ProfileError) as info:
            load_profile(tmp_path / "latin1.toml")
        assert f"{tmp_path}/latin1.toml: not UTF-8 text (byte 11)" == str(info.value)

    def test_error_inside_names_file_and_path(self, tmp_path: Path) -> None:
        """A bad value in a file: the file, then the TOML path."""
        (tmp_path / "p.toml").write_text("[timings]\nmax_rings = -1\n")
        with pytest.raises(ProfileError) as info:
            load_profile(tmp_path / "p.toml")
        assert f"{tmp_path}/p.toml: timings.max_rings: must be 0..1000000 (got -1)" == str(info.value)


def profile_for(argv: list[str]) -> ModemProfile:
    """What ``answerd sim ARGV`` would run, started at 1 March, 14:05 local time."""
    started = time.struct_time((2026, 3, 1, 14, 5, 0, 6, 60, 0))
    return build_profile(build_parser().parse_args(argv), started)


class TestCli:
    def test_flags_override_the_profile(self, tmp_path: Path) -> None:
        """--ring-interval replaces the file's value; keys no flag names keep the file's value."""
        (tmp_path / "p.toml").write_text("[timings]\nring_interval_s = 2.0\nanswer_delay_s = 0.3\n")
        timings = profile_for(["--profile", str(tmp_path / "p.toml"), "--ring-interval", "0.5"]).timings
        assert (0.5, 0.3) == (timings.ring_interval_s, timings.answer_delay_s)

    def test_without_profile_the_flags_apply_to_the_default_modem(self) -> None:
        """The old flags alone still describe the modem, as before profiles existed."""
        profile = profile_for(["--connect", "2400", "--error-first", "2", "--cid", "--caller-id", "5551234"])
        assert ("2400", 2, True, "5551234") == (
            profile.results.connect,
            profile.faults.error_first,
            profile.caller_id.force,
            profile.caller_id.number,
        )

    def test_call_type_flag_overrides_the_profile(self, tmp_path: Path) -> None:
        """--call-type VOICE replaces the profile's cring_type (what +CRING reports with AT+CRC=1)."""
        (tmp_path / "p.toml").write_text('[results]\ncring_type = "REL ASYNC"\n')
        profile = ["--profile", str(tmp_path / "p.toml")]
        assert "REL ASYNC" == profile_for(profile).results.cring_type
        assert "VOICE" == profile_for([*profile, "--call-type", "VOICE"]).results.cring_type

    def test_flags_not_given_change_nothing(self, tmp_path: Path) -> None:
        """A profile with faults on keeps them when no flag is given (flags default to 'not set')."""
        (tmp_path / "p.toml").write_text("[faults]\nsilent = true\nerror_first = 3\n")
        faults = profile_for(["--profile", str(tmp_path / "p.toml")]).faults
        assert (True, 3) == (faults.silent, faults.error_first)

    def test_caller_id_clock_only_where_the_profile_has_none(self, tmp_path: Path) -> None:
        """Caller ID's date and time are the sim's start unless the profile or a flag sets them."""
        (tmp_path / "p.toml").write_text('[caller_id]\ndate = "1224"\n')
        with_file = profile_for(["--profile", str(tmp_path / "p.toml")]).caller_id
        flag = profile_for(["--cid-time", "0930"]).caller_id
        assert (("1224", "1405"), ("0301", "0930")) == ((with_file.date, with_file.time), (flag.date, flag.time))

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            ("[faults]\nsilnet = true\n", "faults.silnet: unknown key (known: error_first, silent,"),
            ("[timings]\nring_interval_s = -1\n", "timings.ring_interval_s: must be a number of seconds > 0"),
        ],
    )
    def test_bad_profile_is_one_line_and_exit_2(
        self, tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, message: str
    ) -> None:
        """answerd sim --profile with a bad file: one line naming the file and TOML path, exit 2."""
        (tmp_path / "p.toml").write_text(content)
        argv = ["--link", str(tmp_path / "ttySIM0"), "--listen", "127.0.0.1:0", "--profile", str(tmp_path / "p.toml")]
        assert 2 == main(argv)
        lines = capsys.readouterr().err.splitlines()
        expected = f"answerd sim: error: profile {tmp_path}/p.toml: {message}"
        assert (1, expected) == (len(lines), lines[0][: len(expected)])

    def test_flag_that_contradicts_the_profile(self, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
        """A flag whose value the profile's checks refuse is one error line and exit 2."""
        (tmp_path / "p.toml").write_text('[caller_id]\nformat = "digits"\n')
        argv = ["--link", str(tmp_path / "ttySIM0"), "--profile", str(tmp_path / "p.toml"), "--caller-id", "12"]
        assert 2 == main(argv)
        expected = "answerd sim: error: number: must be 3 or more digits with format = 'digits' (got '12')\n"
        assert expected == capsys.readouterr().err


#: Field names of every table, plus names no table has.
_KEYS = {
    "identity": ["ident"],
    "defaults": ["echo", "verbose", "quiet", "result_level", "dcd", "dtr", "registers"],
    "results": ["connect", "ring"],
    "caller_id": ["format", "force", "number", "name", "date", "time"],
    "timings": ["ring_interval_s", "answer_delay_s", "idle_answer_timeout_s", "max_rings"],
    "faults": ["error_first", "silent", "never_connect", "unsolicited_connect", "answer_result", "online_reports"],
    "bogus": ["x"],
}
#: TOML values of every kind, valid and not, for any key.
_VALUES = [
    "true", "0", "1", "4", "-1", "256", "1e400", "nan", "0.5", '"OK"', '""', '"5551234"', '"rockwell"',
    '"a\\u0007b"', "[1, 2]", "[]", '[{after_s = 0, text = "OK"}]', '[{after_s = -1, text = "OK"}]', "{S0 = 2}",
    "{S999 = 2}", "{after_s = 1}", "1979-05-27",
]  # fmt: skip


@given(
    entries=st.lists(
        st.tuples(st.sampled_from(sorted(_KEYS)), st.data(), st.sampled_from(_VALUES)), min_size=1, max_size=4
    )
)
def test_any_document_gives_a_profile_or_one_error_line(entries: list[tuple[str, st.DataObject, str]]) -> None:
    """Whatever keys and values a file holds, the loader builds a profile or raises one ProfileError line."""
    tables: dict[str, dict[str, str]] = {}
    for table, data, value in entries:
        tables.setdefault(table, {})[data.draw(st.sampled_from(_KEYS[table]))] = value
    text = "".join(
        f"[{table}]\n" + "".join(f"{key} = {value}\n" for key, value in keys.items()) for table, keys in tables.items()
    )
    try:
        assert isinstance(parse_profile(text), ModemProfile)
    except ProfileError as exc:
        message = str(exc)
        assert (1, True) == (
            len(message.splitlines()),
            message.startswith((*tables, "not valid TOML")),
        )
