"""Harness (c): the login dialog fed arbitrary bytes, timer jumps and late calls.

Invariants (``answerd.core._login`` docstring, rules 1-5, and ``answerd.core._errors``):

* no input from the line raises; only the shell's misuse does (``LocalProtocolError``), and then the phase
  is unchanged;
* the dialog ends at most once, its result comes last, and after ``timeout_s`` it has ended;
* a name handed on is non-empty, printable ASCII, stripped, at most ``max_name`` long, never starts with
  ``-``, and is never something the modem says (``modem_text``);
* the name being typed never exceeds ``max_name``; the output of one call is proportional to its input;
* ``PppDetected.trailing`` starts at the frame's flag and equals ``trailing_data``.
"""

from __future__ import annotations

from answerd.core._effects import Write
from answerd.core._errors import LocalProtocolError
from answerd.core._login import LoginDialog
from answerd.core._login_results import LoginFailed, LoginPhase, NameEntered
from answerd.core._ppp import PppDetected
from answerd.core.hayes.framed import modem_text
from fuzz.checks import printable
from fuzz.source import Source

__all__ = ["check_name", "test_one_input"]

#: Bytes worth typing: names, edits, line ends, modem results, an LCP frame start, hostile names.
_TOKENS = (
    b"joe",
    b"\r",
    b"\n",
    b"\r\n",
    b"\x08",
    b"\x7f",
    b"\x15",
    b"\x03",
    b"\x04",
    b"-f root",
    b"  -h x",
    b"\r\nNO CARRIER\r\n",
    b"NO CARRIER",
    b"\r3\r",
    b"RING",
    b"\x7e\xff\x7d\x23\xc0\x21",
    b"\x7e\xff\x03\xc0\x21",
    b"~",
    b"\x7d",
    b"$(id);`id`",
    b"\xff\xfe\x80",
    b"\x1b[2J",
)


def check_name(name: str, max_name: int, numeric: bool) -> None:
    """A name the dialog hands on: what ``login`` may safely get as its one argument after ``--``."""
    assert name, "empty name"
    assert printable(name), name
    assert name == name.strip(" "), name
    assert not name.startswith("-"), name
    assert len(name) <= max_name, name
    assert modem_text(name, numeric=numeric) is None, name


def test_one_input(data: bytes) -> None:
    """Drive one dialog through a script of reads and timer jumps; assert its promises."""
    source = Source(data)
    max_name = source.int_in(1, 48)
    numeric = source.flag()
    autoppp = source.flag()
    guard = source.choice((0.0, 0.1, 2.0))
    timeout = source.choice((240.0, 5.0, 1.0))
    warning = source.choice((60.0, 0.0, 3.0, 0.5))
    prompt = source.choice((b"login: ", b"", b"\x1b[1m@ login: "))
    dialog = LoginDialog(
        issue=b"Welcome\r\n",
        prompt=prompt,
        timeout_s=timeout,
        warning_s=warning,
        max_name=max_name,
        autoppp=autoppp,
        result_guard_s=guard,
        numeric_results=numeric,
    )
    now = float(source.int_in(0, 1000))
    try:
        dialog.receive_data(b"x", now)
    except LocalProtocolError:
        assert dialog.phase is LoginPhase.NEW
    else:
        raise AssertionError("data before start was accepted")
    start = now
    dialog.start(now)
    results = 0
    while source.remaining and not dialog.done:
        op = source.byte() % 8
        if op < 4:
            data_in = source.choice(_TOKENS) if op == 0 else source.chunk(64)
            outputs = dialog.receive_data(data_in, now)
        elif op < 6:
            now += source.choice((0.001, 0.05, 0.1, 0.5, 1.0, 30.0, 59.0, 61.0, 180.0, 239.9, 500.0))
            outputs = dialog.handle_timer(now) if op == 4 else dialog.receive_data(b"", now)
            data_in = b""
        else:
            timer = dialog.get_timer()
            assert timer is not None
            now = max(now, timer)
            outputs = dialog.handle_timer(now)
            data_in = b""
        _check_outputs(dialog, outputs, data_in, prompt, max_name=max_name, numeric=numeric)
        results += sum(not isinstance(output, Write) for output in outputs)
        assert len(dialog.partial_name) <= max_name
        if not dialog.done:
            assert now < start + timeout or dialog.phase is LoginPhase.CONFIRMING, "outlived its timeout"
            timer = dialog.get_timer()
            assert timer is not None, "no timer while reading"
            assert timer >= start, timer
    if not dialog.done:
        # The end of the login time (plus a held name's guard) always ends the dialog.
        outputs = dialog.handle_timer(start + timeout + guard + 1)
        _check_outputs(dialog, outputs, b"", prompt, max_name=max_name, numeric=numeric)
        results += sum(not isinstance(output, Write) for output in outputs)
        assert dialog.done, dialog.phase
    assert results == 1, results
    assert dialog.get_timer() is None
    for misuse in (lambda: dialog.receive_data(b"a", now), lambda: dialog.handle_timer(now)):
        try:
            misuse()
        except LocalProtocolError:
            assert dialog.phase is LoginPhase.DONE
        else:
            raise AssertionError("input after the end was accepted")


def _check_outputs(
    dialog: LoginDialog, outputs: list[object], data_in: bytes, prompt: bytes, *, max_name: int, numeric: bool
) -> None:
    written = 0
    for index, output in enumerate(outputs):
        match output:
            case Write(data=written_bytes):
                written += len(written_bytes)
            case NameEntered(name=name):
                check_name(name, max_name, numeric)
                assert index == len(outputs) - 1, "the result is not last"
            case LoginFailed(detail=detail):
                assert printable(detail), detail
                assert index == len(outputs) - 1, "the result is not last"
            case PppDetected(trailing=trailing):
                assert trailing[:1] == b"\x7e", trailing
                assert trailing == dialog.trailing_data
                assert index == len(outputs) - 1, "the result is not last"
            case _:
                raise AssertionError(f"unexpected output {output!r}")
    per_byte = 3 * max_name + len(prompt) + 32
    assert written <= len(data_in) * per_byte + len(prompt) + max_name + 128, (written, len(data_in))
