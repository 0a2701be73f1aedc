"""The keyword table: complete against mgetty 1.2.1, consistent with the converters, answerd's keys and the
migration guide."""

from __future__ import annotations

import dataclasses
import os
import re
import shutil
from pathlib import Path

import pytest

from answerd.config.settings import Config, PortSettings
from answerd.mgetty import convert, importer, mgetty_keyword_hint
from answerd.mgetty.importer import import_mgetty
from answerd.mgetty.keywords import KEYWORDS, Fate, markdown_table

from .conftest import DATA

ROOT = Path(__file__).resolve().parents[2]

#: conf_mg.c's keyword list in mgetty 1.2.1, in its order, as the strings of Debian's /sbin/mgetty
#: (1.2.1-1.2) show it, plus the three SMS keywords of a -DSMS build: written out again here so that the
#: table cannot lose a keyword without this test noticing.
MGETTY_1_2_1 = """
speed switchbd direct blocking port-owner port-group port-mode toggle-dtr toggle-dtr-waittime open-delay
need-dsr data-only fax-only modem-type modem-quirks init-chat force-init-chat post-init-chat data-flow
fax-send-flow fax-rec-flow modem-check-time rings msn-list get-cnd-chat cid-program cnd-program answer-chat
answer-chat-timeout
autobauding ringback ringback-time ignore-carrier issue-file prompt-waittime login-prompt login-time
fido-send-emsi login-env-ttyprompt-hack login-conf-file fax-id fax-min-speed fax-max-speed fax-server-file
diskspace notify fax-owner fax-group fax-mode fax-spool-in debug statistics-chat statistics-file gettydefs
term sms-handler sms-handler-user sms-handler-group
""".split()  # noqa: SIM905  (a word list as mgetty's source lays it out, easier to compare than a literal)


def test_every_mgetty_keyword_is_in_the_table_in_order() -> None:
    """The table lists exactly mgetty 1.2.1's keywords, in conf_mg.c's order."""
    assert MGETTY_1_2_1 == [entry.name for entry in KEYWORDS]


def test_every_mapped_keyword_has_a_converter_and_no_other_does() -> None:
    """Mapped keywords are converted; the others become comments (no converter that is never used)."""
    mapped = {entry.name for entry in KEYWORDS if entry.fate is Fate.MAPPED}
    assert mapped == set(convert._CONVERTERS)


def _field_names(settings_class: type) -> set[str]:
    """The keys of a settings class: a pydantic model's fields, or (before the config rewrite) a dataclass's."""
    model_fields = getattr(settings_class, "model_fields", None)
    if model_fields is not None:
        return set(model_fields)
    return {field.name for field in dataclasses.fields(settings_class)}


def test_every_answerd_key_in_the_table_exists() -> None:
    """Each answerd key the table names is a setting of answerd's configuration (a port's, or log_level)."""
    known = _field_names(PortSettings) | _field_names(Config)
    named = {key for entry in KEYWORDS for key in entry.keys}
    assert set() == named - known


def test_command_line_options_match_the_table() -> None:
    """Each option the importer reads sets the keyword whose row names that option, and every row's option
    is read."""
    from_table = {entry.option.removeprefix("-"): entry.name for entry in KEYWORDS if entry.option}
    assert from_table == importer._OPTION_KEYWORDS


@pytest.mark.parametrize(
    ("key", "expected"),
    [
        ("toggle-dtr", "'toggle-dtr' is an mgetty keyword: in answerd it is toggle_dtr"),
        ("modem-check-time", "'modem-check-time' is an mgetty keyword: in answerd it is health_check_s"),
        ("modem_check_time", "'modem_check_time' is mgetty's modem-check-time: in answerd it is health_check_s"),
        ("toggle-dtr-waittime", "'toggle-dtr-waittime' is an mgetty keyword: in answerd it is dtr_drop_ms"),
        ("rings", "'rings' is a port setting: mgetty's global section is answerd's [defaults] table"),
        (
            "ringback",
            "'ringback' is mgetty's ringback; answerd has no equivalent (not supported): ring twice to "
            "get an answer: not supported (use caller_filter or a decision_program)",
        ),
        ("ring", None),
        ("log_level", None),
    ],
)
def test_hint_names_the_answerd_key(key: str, expected: str | None) -> None:
    """The loader's hint for an unknown key names the answerd key of an mgetty keyword, or says why none."""
    assert expected == mgetty_keyword_hint(key)


def test_migration_guide_table_is_the_code_table() -> None:
    """docs/migrating-from-mgetty.md shows exactly markdown_table() between its markers."""
    text = (ROOT / "docs" / "migrating-from-mgetty.md").read_text()
    match = re.search(r"<!-- keyword-table:start -->\n(.*?)<!-- keyword-table:end -->", text, re.DOTALL)
    assert match is not None, "the guide lost its keyword-table markers"
    assert markdown_table() == match.group(1)


def test_migration_guide_example_is_what_the_importer_writes(tmp_path: Path) -> None:
    """The guide's worked example is the importer's output for the VoIP seed setup in /etc/mgetty."""
    if not Path("/etc/issue.mgetty").is_file():
        pytest.skip("the example shows Debian's /etc/issue.mgetty, which this machine does not have")
    directory = tmp_path / "etc" / "mgetty"
    shutil.copytree(DATA / "seed-voip-usr", directory)
    (directory / "login.config").chmod(0o600)
    result = import_mgetty(
        str(directory),
        args="ExecStart=/sbin/mgetty -x0 -s 57600 /dev/ttyUSB0",
        trusted_uid=os.getuid(),
        program_exists=lambda path: True,
    )
    guide = (ROOT / "docs" / "migrating-from-mgetty.md").read_text()
    assert result.text.replace(str(tmp_path), "") in guide
