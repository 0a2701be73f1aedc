"""Property: whatever the importer writes, answerd's own configuration loader accepts (check-config passes).

mgetty files are generated from mgetty's keywords with values good and bad (numbers out of range, chats,
paths that exist or not, shell commands), port sections, login.config rules and dialin.config tokens;
each import either stops with MgettyImportError or its text loads without a single error.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from answerd.mgetty.errors import MgettyImportError
from answerd.mgetty.importer import import_mgetty
from answerd.mgetty.keywords import KEYWORDS

try:  # the configuration as pydantic models, loaded in-process (the config rewrite)
    from answerd.config import load_config  # type: ignore[attr-defined,unused-ignore]
except ImportError:  # before it: the gate
    from answerd.config.gate import load_config  # type: ignore[no-redef,unused-ignore]

_VALUES = [
    "", "0", "1", "-1", "5", "60", "899", "900", "9600", "57600", "12345", "999999", "0x10", "0660", "yes", "no",
    "y", "off", '"" ATZ OK', '"" ATA CONNECT \\c \\n', '"" ATA OK', '"" AT\\\\Q3 OK', '""',
    '"" \\d+++\\d\\c "" ATH0 OK',
    "/etc/hostname", "/bin/login", "/bin/login -f", "/nonexistent/program", "!/usr/games/fortune", "Welcome \\P",
    "vt102", "bad term!", "none", "rts", "xon", "both", "@ \\P login:\\040", "ttyS0", "login.other",
]  # fmt: skip
_LINE = st.tuples(st.sampled_from([entry.name for entry in KEYWORDS] + ["frobnicate"]), st.sampled_from(_VALUES))
_SECTION = st.tuples(st.sampled_from(["ttyS0", "ttyS1", "ttyS?", "ttyUSB0"]), st.lists(_LINE, max_size=6))
_LOGIN = [
    "* - - /bin/login @", "/AutoPPP/ - a_ppp /usr/sbin/pppd auth -chap +pap login debug",
    "guest* nobody @ /bin/login @", "x - - /nonexistent/program", "!version 2", "cb Y - - /bin/login @",
    "nb N - - /bin/login @", "/FIDO/ uucp fido /bin/login",
    "bad", "U* uucp @ /usr/sbin/uucico -l -u @", "Bob Bob - /bin/login @", "*x* - \\I /bin/login \\Y {x}",
]  # fmt: skip
_DIALIN = ["555", "!0900", "none", "!none", "all", "!all", "O", "!P", "OUT_OF_AREA", "+49", "123,456"]


def _mgetty_config(global_lines: list[tuple[str, str]], sections: list[tuple[str, list[tuple[str, str]]]]) -> str:
    lines = [f"{keyword} {value}" for keyword, value in global_lines]
    for name, section in sections:
        lines += [f"port {name}", *(f"  {keyword} {value}" for keyword, value in section)]
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None)
@given(
    global_lines=st.lists(_LINE, max_size=8),
    sections=st.lists(_SECTION, max_size=3),
    login=st.lists(st.sampled_from(_LOGIN), max_size=5),
    dialin=st.lists(st.sampled_from(_DIALIN), max_size=4),
    args=st.sampled_from([None, "/sbin/mgetty -s 57600 ttyS0", "mgetty -n -r -x 9 ttyS1", "getty -R 5 ttyUSB0"]),
)
def test_every_import_loads_without_errors(
    global_lines: list[tuple[str, str]],
    sections: list[tuple[str, list[tuple[str, str]]]],
    login: list[str],
    dialin: list[str],
    args: str | None,
) -> None:
    """An import that succeeds gives a file answerd's configuration loader accepts as it is."""
    with tempfile.TemporaryDirectory() as name:
        directory = Path(name)
        (directory / "mgetty.config").write_text(_mgetty_config(global_lines, sections))
        for file in ("login.config", "login.other"):
            (directory / file).write_text("\n".join(login) + "\n")
            (directory / file).chmod(0o600)
        (directory / "dialin.config").write_text("\n".join(dialin) + "\n")
        result = None
        with contextlib.suppress(MgettyImportError):
            result = import_mgetty(name, args=args, trusted_uid=os.getuid())
        if result is not None:
            (directory / "answerd.toml").write_text(result.text)
            load_config(str(directory / "answerd.toml"))
