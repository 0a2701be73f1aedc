"""The chat runner sub-machine (``answerd.core.hayes.chat_runner``): steps, pauses, timeouts, its results."""

from __future__ import annotations

import doctest

import pytest

from answerd.core._errors import LocalProtocolError
from answerd.core.hayes import chat_runner
from answerd.core.hayes.chat import parse_chat
from answerd.core.hayes.chat_runner import MAX_COLLECTED_LINES, ChatFailed, ChatOutput, ChatRunner, ChatSucceeded
from answerd.core.hayes.codes import classify

ABORT = frozenset({"ERROR", "NO CARRIER"})
INIT = parse_chat(["", "ATZ", "OK", "ATE0", "OK"])


def runner(script: list[str], **kwargs: object) -> ChatRunner:
    """A runner for ``script`` with a 5 s expect timeout."""
    return ChatRunner(parse_chat(script), timeout_s=5.0, abort_codes=ABORT, **kwargs)  # type: ignore[arg-type]


def said(chat: ChatRunner, line: str, now: float = 1.0) -> list[ChatOutput]:
    """Give the runner one modem line, classified as the machine would."""
    return chat.receive_event(classify(line, pending=chat.pending_command), now)


class TestSteps:
    """Send, expect, send again, succeed."""

    def test_script_runs_to_success(self) -> None:
        """Each expected OK sends the next command; the last OK is ChatSucceeded."""
        chat = ChatRunner(INIT, timeout_s=5.0, abort_codes=ABORT)
        outputs = chat.start(0.0) + said(chat, "OK") + said(chat, "OK")
        assert [b"ATZ\r", b"ATE0\r", ChatSucceeded()] == outputs

    def test_expect_arms_the_timeout(self) -> None:
        """Waiting for an expect string arms timeout_s from now."""
        chat = runner(["", "ATZ", "OK"])
        chat.start(10.0)
        assert 15.0 == chat.timer

    def test_numeric_ok_matches_an_ok_expect(self) -> None:
        """``0`` (V0) satisfies an expect of OK."""
        chat = runner(["", "AT", "OK"])
        chat.start(0.0)
        assert [ChatSucceeded()] == said(chat, "0")

    def test_pause_then_send(self) -> None:
        """A ``\\d`` pause arms the timer; the send follows when it ends."""
        chat = runner(["", r"\d+++\c", "OK"])
        assert [] == chat.start(0.0)
        assert (0.5, [b"+++"]) == (chat.timer, chat.handle_timer(0.5))


class TestResults:
    """How a chat ends badly, or oddly."""

    def test_timeout_fails_with_the_expect(self) -> None:
        """No expected text within the timeout: ChatFailed naming it and the time waited."""
        chat = runner(["", "ATZ", "OK"])
        chat.start(0.0)
        assert [ChatFailed(reason="no 'OK' within 5 s")] == chat.handle_timer(5.0)

    def test_abort_code_fails_naming_the_command(self) -> None:
        """An abort code fails the chat and says which command drew it."""
        chat = runner(["", "ATZ", "OK"])
        chat.start(0.0)
        assert [ChatFailed(reason="modem answered ERROR to ATZ")] == said(chat, "ERROR")

    def test_other_verdict_is_ignored(self) -> None:
        """A result code outside abort_codes neither fails nor advances the chat."""
        chat = runner(["", "ATZ", "OK"])
        chat.start(0.0)
        assert ([], False) == (said(chat, "BUSY"), chat.done)

    def test_any_result_succeeds_for_the_probe(self) -> None:
        """With any_result_succeeds, even ERROR proves the modem listens."""
        chat = runner(["", "AT", "OK"], any_result_succeeds=True)
        chat.start(0.0)
        assert [ChatSucceeded()] == said(chat, "ERROR")

    def test_collecting_chat_keeps_information_lines(self) -> None:
        """A statistics chat keeps what the modem reported, not its result codes."""
        chat = runner(["", "ATI6", "OK"], collect=True)
        chat.start(0.0)
        said(chat, "Chars sent 1234")
        said(chat, "OK")
        assert ("Chars sent 1234",) == chat.lines

    def test_collected_lines_are_bounded(self) -> None:
        """A modem that talks forever fills at most MAX_COLLECTED_LINES."""
        chat = runner(["", "ATI6", "OK"], collect=True)
        chat.start(0.0)
        for index in range(MAX_COLLECTED_LINES + 10):
            said(chat, f"line {index}")
        assert MAX_COLLECTED_LINES == len(chat.lines)

    def test_no_input_after_the_result(self) -> None:
        """After its result the runner refuses input: the owner has moved on."""
        chat = runner(["", "AT", "OK"])
        chat.start(0.0)
        said(chat, "OK")
        with pytest.raises(LocalProtocolError):
            said(chat, "OK")

    def test_start_twice_raises(self) -> None:
        """A runner runs once."""
        chat = runner(["", "AT", "OK"])
        chat.start(0.0)
        with pytest.raises(LocalProtocolError):
            chat.start(1.0)


def test_doctests() -> None:
    """The module's example holds."""
    assert 0 == doctest.testmod(chat_runner).failed
