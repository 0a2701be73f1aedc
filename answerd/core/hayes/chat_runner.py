"""One chat script run against the modem: a sub-machine with its own result events.

The answer machine runs several chats (the probe, force-init, init, the health check, a caller's init, the
statistics chat); what they share — send a step, wait for its expect string with a timeout, pause where the
script says, give up on an abort code — is here, once. The runner knows nothing about why a chat runs: it
ends with :class:`ChatSucceeded` or :class:`ChatFailed` (always last in the list an input returns), and the
owner decides what that means (the login dialog's ``NameEntered`` / ``LoginFailed`` pattern).

Inputs, each with ``now``: :meth:`ChatRunner.start`, :meth:`ChatRunner.receive_event` (one classified modem
line) and :meth:`ChatRunner.handle_timer` (at :attr:`ChatRunner.timer`). Outputs: ``bytes`` to send, in
order, then at most one result. After the result the runner takes no more input. (Plain bytes, not the
core's ``Write`` effect: the Hayes layer does not depend on the machine built on it.)
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from answerd.core._errors import LocalProtocolError
from answerd.core.hayes.chat import ChatStep, Pause
from answerd.core.hayes.events import Echo, ModemEvent, Ok, Verdict

__all__ = ["MAX_COLLECTED_LINES", "ChatFailed", "ChatOutput", "ChatRunner", "ChatSucceeded"]

#: Most lines a collecting chat keeps (the splitter already caps each line's length).
MAX_COLLECTED_LINES = 40


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatSucceeded:
    """Every expect string came: the chat is done."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ChatFailed:
    """The chat failed; ``reason`` says why (``no 'OK' within 20 s``, ``modem answered ERROR to ATZ``)."""

    reason: str


#: Everything an input of :class:`ChatRunner` can return.
ChatOutput = bytes | ChatSucceeded | ChatFailed


class ChatRunner:
    """Runs one parsed chat script.

    >>> from answerd.core.hayes.chat import parse_chat
    >>> from answerd.core.hayes.events import Ok
    >>> chat = ChatRunner(parse_chat(["", "AT", "OK"]), timeout_s=5.0, abort_codes=frozenset({"ERROR"}))
    >>> chat.start(now=0.0), chat.receive_event(Ok(), now=0.1)
    ([b'AT\\r'], [ChatSucceeded()])

    Args:
        steps: the script (see :func:`~.chat.parse_chat`).
        timeout_s: how long each expect may wait.
        abort_codes: result codes that fail the chat (``ERROR``, ``NO CARRIER``...).
        any_result_succeeds: a result code of any kind, even ``ERROR``, ends the chat successfully (the
            "is the modem in command mode?" probe: any answer proves it).
        collect: keep the modem's information lines (not results, not echo) in :attr:`lines`.
    """

    def __init__(
        self,
        steps: tuple[ChatStep, ...],
        *,
        timeout_s: float,
        abort_codes: frozenset[str],
        any_result_succeeds: bool = False,
        collect: bool = False,
    ) -> None:
        self._steps = steps
        self._timeout_s = timeout_s
        self._abort_codes = abort_codes
        self._any_result_succeeds = any_result_succeeds
        self._collect = collect
        self._index = 0
        self._expecting: str | None = None
        self._ops: deque[bytes | Pause] = deque()
        self._timer: float | None = None
        self._command: str | None = None
        self._lines: list[str] = []
        self._started = False
        self._done = False

    @property
    def timer(self) -> float | None:
        """When :meth:`handle_timer` is next due (a pause ends, or an expect times out), or ``None``."""
        return self._timer

    @property
    def pending_command(self) -> str | None:
        """The command last sent (for echo detection and failure messages), or ``None`` before the first."""
        return self._command

    @property
    def lines(self) -> tuple[str, ...]:
        """The information lines kept by a collecting chat, in order."""
        return tuple(self._lines)

    @property
    def done(self) -> bool:
        """Whether the chat has produced its result."""
        return self._done

    def start(self, now: float) -> list[ChatOutput]:
        """Begin with the first step.

        Raises:
            LocalProtocolError: the chat was already started.
        """
        if self._started:
            raise LocalProtocolError("chat already started")
        self._started = True
        return self._enter_step(now)

    def receive_event(self, event: ModemEvent, now: float) -> list[ChatOutput]:
        """One classified line from the modem.

        Raises:
            LocalProtocolError: the chat is not started or is done.
        """
        self._require_running()
        line = getattr(event, "line", "")
        if self._collect and not isinstance(event, Ok | Verdict | Echo) and len(self._lines) < MAX_COLLECTED_LINES:
            self._lines.append(line)
        # Match the verbose form too, so an expect of "OK" also matches a numeric (V0) "0".
        canonical = "OK" if isinstance(event, Ok) else (event.code if isinstance(event, Verdict) else line)
        expecting = self._expecting
        if expecting is not None and (expecting in line or expecting in canonical):
            self._timer = None
            return self._send_step(self._steps[self._index], now)
        if isinstance(event, Verdict) and self._any_result_succeeds:
            return self._finish(ChatSucceeded())
        if isinstance(event, Verdict) and event.code in self._abort_codes:
            return self._finish(ChatFailed(reason=f"modem answered {event.code} to {self._command or 'the chat'}"))
        return []

    def handle_timer(self, now: float) -> list[ChatOutput]:
        """The deadline from :attr:`timer` has come: the pause is over, or the expect timed out.

        An early call does nothing.

        Raises:
            LocalProtocolError: the chat is not started or is done.
        """
        self._require_running()
        if self._timer is None or now < self._timer:
            return []
        self._timer = None
        if self._ops or self._expecting is None:  # a send's pause ended
            return self._run_ops(now)
        return self._finish(ChatFailed(reason=f"no {self._expecting!r} within {self._timeout_s:g} s"))

    # --- internals -------------------------------------------------------------------------------------

    def _require_running(self) -> None:
        if not self._started or self._done:
            raise LocalProtocolError("chat is not running")

    def _finish(self, result: ChatSucceeded | ChatFailed) -> list[ChatOutput]:
        self._done = True
        self._timer = None
        self._ops.clear()
        return [result]

    def _enter_step(self, now: float) -> list[ChatOutput]:
        """Start the current step: send at once if it expects nothing, else wait for its expect string."""
        if self._index >= len(self._steps):
            return self._finish(ChatSucceeded())
        step = self._steps[self._index]
        if step.expect:
            self._expecting = step.expect
            self._timer = now + self._timeout_s
            return []
        return self._send_step(step, now)

    def _send_step(self, step: ChatStep, now: float) -> list[ChatOutput]:
        self._expecting = None
        self._ops.extend(step.send)
        if step.command is not None:
            self._command = step.command
        self._index += 1
        return self._run_ops(now)

    def _run_ops(self, now: float) -> list[ChatOutput]:
        """Write queued bytes until a pause; after the last one move on to the next step."""
        outputs: list[ChatOutput] = []
        while self._ops:
            op = self._ops.popleft()
            if isinstance(op, Pause):
                self._timer = now + op.seconds
                return outputs
            outputs.append(op)
        return outputs + self._enter_step(now)
