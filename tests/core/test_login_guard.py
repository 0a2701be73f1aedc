"""The login dialog never logs in the modem: the result guard after Enter (issue 10 #1) and modem words as
names (issue 10 #2). Time is jumped through the dialog's own timer; nothing sleeps."""

from __future__ import annotations

import pytest

from answerd.core import Outcome, Profile
from answerd.core._effects import Write
from answerd.core._login import (
    DEFAULT_RESULT_GUARD_S,
    DialogOutput,
    FailReason,
    LineEnd,
    LoginDialog,
    LoginFailed,
    LoginPhase,
    NameEntered,
)

PROMPT = b"login: "
GUARD = 0.1


def started(**kwargs: object) -> LoginDialog:
    """A dialog with the given options, started at t=0."""
    dialog = LoginDialog(issue=b"", prompt=PROMPT, result_guard_s=GUARD, **kwargs)  # type: ignore[arg-type]
    dialog.start(now=0.0)
    return dialog


def results(outputs: list[DialogOutput]) -> list[object]:
    """Everything that is not a Write."""
    return [item for item in outputs if not isinstance(item, Write)]


def feed_all(dialog: LoginDialog, chunks: list[tuple[float, bytes]]) -> list[object]:
    """Feed timed chunks, run the dialog's timer when it falls due in between; return every result."""
    found: list[object] = []
    for now, chunk in chunks:
        timer = dialog.get_timer()
        if timer is not None and timer <= now and not dialog.done:
            found += results(dialog.handle_timer(timer))
        if not dialog.done:
            found += results(dialog.receive_data(chunk, now))
    return found


class TestHangUpWhileTyping:
    """Issue 10 #1: the CR that begins the modem's NO CARRIER must not submit the half-typed name."""

    def test_no_carrier_in_the_same_read_ends_the_call(self) -> None:
        """'partial' then CR LF NO CARRIER CR LF in one read: modem error, no name."""
        dialog = started()
        found = results(dialog.receive_data(b"partial\r\nNO CARRIER\r\n", 1.0))
        assert [LoginFailed(reason=FailReason.MODEM_ERROR, detail="NO CARRIER")] == found

    @pytest.mark.parametrize("gap", [0.0, 0.01, 0.099])
    def test_no_carrier_within_the_guard_ends_the_call(self, gap: float) -> None:
        """The result's bytes after its first CR arrive up to just inside the guard: still the modem's."""
        dialog = started()
        found = feed_all(dialog, [(1.0, b"partial\r"), (1.0 + gap, b"\nNO CARRIER\r\n")])
        assert [LoginFailed(reason=FailReason.MODEM_ERROR, detail="NO CARRIER")] == found

    def test_no_carrier_byte_by_byte_ends_the_call(self) -> None:
        """Any chunking of the result within the guard is seen (one byte per read here)."""
        dialog = started()
        chunks = [(1.0, b"partial")] + [(1.0 + i * 0.005, bytes([b])) for i, b in enumerate(b"\r\nNO CARRIER\r\n")]
        assert [LoginFailed(reason=FailReason.MODEM_ERROR, detail="NO CARRIER")] == feed_all(dialog, chunks)

    def test_no_carrier_at_the_prompt_is_carrier_lost(self) -> None:
        """The record says the caller hung up at the prompt, as for a NO CARRIER typed as the name."""
        dialog = started()
        failed = results(dialog.receive_data(b"partial\r\nNO CARRIER\r\n", 1.0))[0]
        assert isinstance(failed, LoginFailed)
        assert (Outcome.CARRIER_LOST, "NO CARRIER at the login prompt") == failed.call_outcome()

    @pytest.mark.parametrize(
        ("autoppp", "frame"),
        [
            (False, b'~\xff}#\xc0!}!}!} }4}"}&} } } } }%}&^\x1c\xf8o~'),  # LCP, with AutoPPP off
            (True, b'~\xff}#\x80!}!}!} }4}"}&} } } } }%}&^\x1c\xf8o~'),  # IPCP: no start AutoPPP knows
        ],
    )
    def test_ppp_frame_then_hang_up_ends_the_call(self, autoppp: bool, frame: bytes) -> None:
        """An unrecognised PPP frame put junk into the name; the hang-up's CR must not submit it."""
        dialog = started(autoppp=autoppp)
        found = feed_all(dialog, [(1.0, frame), (3.0, b"\r"), (3.02, b"\nNO CARRIER\r\n")])
        assert [LoginFailed(reason=FailReason.MODEM_ERROR, detail="NO CARRIER")] == found


class TestGuardTime:
    """After the guard the name stands; the guard is the dialog's deadline, and all it costs."""

    def test_name_is_held_until_the_guard_ends(self) -> None:
        """Enter gives no name at once: the dialog is CONFIRMING with its deadline at Enter + guard."""
        dialog = started()
        assert [] == results(dialog.receive_data(b"joe\r", 5.0))
        assert (LoginPhase.CONFIRMING, 5.0 + GUARD) == (dialog.phase, dialog.get_timer())

    def test_name_is_accepted_when_the_guard_ends(self) -> None:
        """At the deadline the held name comes out with its line end."""
        dialog = started()
        dialog.receive_data(b"joe\r", 5.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == dialog.handle_timer(5.0 + GUARD)

    def test_early_timer_does_not_accept(self) -> None:
        """Just before the deadline nothing happens."""
        dialog = started()
        dialog.receive_data(b"joe\r", 5.0)
        assert [] == dialog.handle_timer(5.0 + GUARD - 0.001)

    def test_guard_adds_exactly_its_setting(self) -> None:
        """Name → program delay in the core: the held name leaves at Enter + result_guard_s, the default 0.1 s."""
        dialog = LoginDialog(issue=b"", prompt=PROMPT)
        dialog.start(now=0.0)
        dialog.receive_data(b"joe\r", 0.0)
        assert (DEFAULT_RESULT_GUARD_S, 0.1) == (dialog.get_timer(), Profile().result_guard_s)

    def test_no_carrier_after_the_guard_is_the_programs(self) -> None:
        """A result that comes after the guard is too late to be the name's CR: the name was accepted."""
        dialog = started()
        dialog.receive_data(b"joe\r", 1.0)
        found = results(dialog.receive_data(b"\nNO CARRIER\r\n", 1.0 + GUARD + 0.1))
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == found
        assert b"\nNO CARRIER\r\n" == dialog.trailing_data

    def test_bytes_while_held_go_to_the_program(self) -> None:
        """What the caller sends while the name is held is kept for the program, in order."""
        dialog = started()
        dialog.receive_data(b"joe\r\n", 1.0)
        dialog.receive_data(b"ls\r", 1.05)
        dialog.handle_timer(1.0 + GUARD)
        assert b"\nls\r" == dialog.trailing_data

    def test_login_timeout_does_not_cut_a_held_name(self) -> None:
        """A name entered just before the login time ran out is accepted at the end of its guard."""
        dialog = LoginDialog(issue=b"", prompt=PROMPT, timeout_s=10.0, warning_s=0.0, result_guard_s=GUARD)
        dialog.start(now=0.0)
        dialog.receive_data(b"joe\r", 9.95)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == dialog.handle_timer(10.05)

    def test_zero_guard_accepts_at_once(self) -> None:
        """result_guard_s = 0 is the old behaviour: the name comes with its CR."""
        dialog = LoginDialog(issue=b"", prompt=PROMPT, result_guard_s=0.0)
        dialog.start(now=0.0)
        assert [NameEntered(name="joe", line_end=LineEnd.CR)] == results(dialog.receive_data(b"joe\r", 1.0))

    def test_negative_guard_is_refused(self) -> None:
        """A negative guard is a ValueError."""
        with pytest.raises(ValueError, match="result_guard_s"):
            LoginDialog(issue=b"", prompt=PROMPT, result_guard_s=-0.1)


class TestModemWordsAreNotNames:
    """Issue 10 #2: whatever the modem says at the prompt ends the call instead of becoming a user."""

    @pytest.mark.parametrize(
        ("stream", "detail"),
        [
            (b"\r\nOK\r\n", "OK"),
            (b"\r\nRING\r\n\r\nRING\r\n\r\nRING\r\n", "RING"),
            (b"\r\nRING\r\nRING\r\n", "RING"),
            (b"\r\nCONNECT 9600\r\n", "CONNECT 9600"),
            (b"\r\nERROR\r\n", "ERROR"),
            (b"\r\nBUSY\r\n", "BUSY"),
            (b"\r\nNMBR = 5551234\r\n", "NMBR = 5551234"),
            (b"OK\r", "OK"),
            (b"RING\r", "RING"),
        ],
    )
    def test_modem_output_ends_the_dialog(self, stream: bytes, detail: str) -> None:
        """A modem reset (OK), a RING storm, a CONNECT or a caller-ID line: modem error with its words."""
        found = results(started().receive_data(stream, 1.0))
        assert [LoginFailed(reason=FailReason.MODEM_ERROR, detail=detail)] == found

    @pytest.mark.parametrize(("detail", "outcome"), [("OK", Outcome.MODEM_ERROR), ("RING", Outcome.MODEM_ERROR)])
    def test_modem_words_have_a_clear_record(self, detail: str, outcome: Outcome) -> None:
        """The record says what the modem said, not only "modem-error"."""
        failed = LoginFailed(reason=FailReason.MODEM_ERROR, detail=detail)
        assert (outcome, f"modem said {detail!r} at the login prompt") == failed.call_outcome()

    def test_numeric_code_is_a_name_in_v1(self) -> None:
        """With a verbose modem a typed 3 is a (strange) name, not NO CARRIER."""
        dialog = LoginDialog(issue=b"", prompt=PROMPT, result_guard_s=0.0)
        dialog.start(now=0.0)
        assert [NameEntered(name="3", line_end=LineEnd.CR)] == results(dialog.receive_data(b"3\r", 1.0))

    def test_numeric_code_is_the_modem_in_v0(self) -> None:
        """With a V0 modem, 3 CR at the prompt is its NO CARRIER."""
        found = results(started(numeric_results=True).receive_data(b"3\r", 1.0))
        assert [LoginFailed(reason=FailReason.MODEM_ERROR, detail="NO CARRIER")] == found

    def test_numeric_code_after_a_partial_name_in_v0(self) -> None:
        """V0: the name's CR then 3 CR within the guard is the hang-up, not the name."""
        dialog = started(numeric_results=True)
        found = feed_all(dialog, [(1.0, b"partial\r"), (1.02, b"3\r")])
        assert [LoginFailed(reason=FailReason.MODEM_ERROR, detail="NO CARRIER")] == found

    @pytest.mark.parametrize("name", [b"ok", b"ring", b"busy", b"Ok", b"okay"])
    def test_lower_case_words_stay_names(self, name: bytes) -> None:
        """Modems shout: a user called ``ok`` or ``ring`` still logs in."""
        dialog = started()
        dialog.receive_data(name + b"\r", 1.0)
        assert [NameEntered(name=name.decode(), line_end=LineEnd.CR)] == dialog.handle_timer(1.0 + GUARD)
