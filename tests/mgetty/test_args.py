"""mgetty command lines (unit files, inittab, shells) read as mgetty's getopt reads them."""

from __future__ import annotations

import pytest

from answerd.mgetty.args import parse_command_line
from answerd.mgetty.errors import MgettyImportError


def _options(text: str) -> list[tuple[str, str | None]]:
    return [(option.flag, option.value) for option in parse_command_line(text).options]


@pytest.mark.parametrize(
    ("text", "line", "options"),
    [
        ("ExecStart=/sbin/mgetty -x0 -s 57600 /dev/ttyUSB0", "ttyUSB0", [("x", "0"), ("s", "57600")]),
        ("ExecStart=-/sbin/mgetty -D /dev/ttyS1", "ttyS1", [("D", None)]),
        ("S0:2345:respawn:/sbin/mgetty -D -n 3 ttyS0", "ttyS0", [("D", None), ("n", "3")]),
        ("/usr/sbin/mgetty ttyS2 -s115200 -Da", "ttyS2", [("s", "115200"), ("D", None), ("a", None)]),
        ("-s 38400 ttyS3", "ttyS3", [("s", "38400")]),
        ("mgetty -m '\"\" ATZ OK' ttyS0", "ttyS0", [("m", '"" ATZ OK')]),
    ],
)
def test_command_line_forms(text: str, line: str, options: list[tuple[str, str | None]]) -> None:
    """ExecStart= (with systemd's prefix), inittab, options after the line, bundled flags, quoted arguments."""
    assert (line, options) == (parse_command_line(text).line, _options(text))


def test_n_takes_r_as_its_argument() -> None:
    """``-n -r``: getopt gives -n the argument "-r", so direct mode is not on; a note says so."""
    parsed = parse_command_line("ExecStart=/usr/sbin/mgetty -n -r ttyUSB0")
    assert [("n", "-r")] == _options(parsed.text)
    assert ["-n -r: mgetty takes '-r' as the argument of -n, not as an option"] == parsed.notes


def test_getty_name_implies_blocking_and_direct() -> None:
    """A program called ``getty`` is mgetty with -b -r, as in mgetty's argument parser."""
    assert [("b", None), ("r", None)] == _options("/sbin/getty ttyS0")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("/sbin/mgetty -z ttyS0", "mgetty has no option -z"),
        ("/sbin/mgetty ttyS0 -s", "-s needs an argument"),
        ("/sbin/mgetty -p 'login: ttyS0", "cannot split"),
        ("/sbin/agetty ttyS0 115200", "is not mgetty"),
        ("/sbin/mgetty ttyS0 tag extra", "takes a line and an optional gettydefs tag"),
    ],
)
def test_bad_command_lines_are_errors(text: str, message: str) -> None:
    """What would make mgetty exit with its usage (or is not mgetty at all) is an error at --args."""
    with pytest.raises(MgettyImportError, match=f"^--args: .*{message}"):
        parse_command_line(text)
