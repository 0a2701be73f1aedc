r"""The terminal dialog after CONNECT: print the issue and the prompt, read a login name, safely.

Theory of operation
-------------------

:class:`LoginDialog` is a sans-IO machine with three phases (:class:`LoginPhase`): ``NEW`` until
:meth:`~LoginDialog.start`, ``READING`` while the caller types, ``DONE`` once it has produced exactly one
:class:`NameEntered` or :class:`LoginFailed`. Which input each phase accepts is the table ``_ACCEPTS``;
anything else is a bug in the shell and raises :class:`~._errors.LocalProtocolError` without changing the
phase. The shell writes every :class:`~._effects.Write` to the line, in order, and re-arms its one timer
from :meth:`~LoginDialog.get_timer` after each call.

Every received byte goes through one method, ``_on_byte``, which sees the raw 8-bit byte first (AutoPPP,
below) and then hands it to ``_edit``, which edits the name the way mgetty's ``getlogname()`` does:

* the 8th bit is stripped (parity, line noise);
* BS and DEL erase one character (echo ``\b \b``); Ctrl-U erases the whole name on screen; Ctrl-C starts
  over on a fresh line with a new prompt; Ctrl-D on an empty name ends the dialog (``ABORTED``), and is
  ignored otherwise;
* CR or LF ends the name. Which one did matters to the child (mgetty's rule): CR → the tty needs ICRNL and
  ONLCR; LF → no mapping. An LF straight after the CR that ended a line is dropped, so CR LF terminals do
  not get a second prompt;
* printable ASCII is echoed and stored; every other control byte (NUL, XON/XOFF, ESC, TAB, ...) is
  ignored without echo.

AutoPPP (``autoppp=True``, the default): every raw byte, before the 7-bit strip, goes to an
:class:`~._ppp.LcpDetector` looking for the start of an LCP frame (``7E FF 03 C0 21``, any byte after the
flag possibly ``7D``-escaped, in any chunking). When it completes, the dialog ends with
:class:`~._ppp.PppDetected` whose ``trailing`` holds the raw bytes from the frame's ``7E`` to the end of the
chunk (also in :attr:`trailing_data`), so pppd gets its frame intact. A recognised frame never reaches the
name editor, so it can neither become a name nor draw ``Invalid login name.``

Echo: from a ``7E`` on, bytes are *held back* from the editor (at most 9) while they can still be an LCP
frame start, and only edited and echoed once the candidate breaks. So the header of a detected frame is
never echoed nor put into the name (mgetty echoes it: ``~``, ``}``, ``#``, ``@``, ``!``, and rubs out with
``\b \b`` for ``FF``). What a PPP peer can still see: the issue and the prompt (unless the shell ran a
:class:`~._ppp.SilentWindow` first), the echo of whatever it sent *before* its first flag (a CR from a
dialer script re-prints the prompt), and, if its first frame start was not recognised (corrupted by noise,
or a non-RFC peer without the flag or with compressed address/control), the echo of that whole frame, as
in mgetty; its next Configure-Request (pppd repeats them every 3 s) is then recognised. The cost for a
human is that a typed ``~`` is echoed with the next key, not at once.

Rules the dialog enforces (the ``-f root`` class, CVE-2026-24061 and agetty's SECURITY NOTICE):

1. A login name is printable ASCII only and at most ``max_name`` (agetty: 42) characters. Characters past
   the limit are not stored (the terminal gets BEL), and the whole name is then *refused* on Enter rather
   than silently truncated: a truncated name is not what the caller typed.
2. Leading and trailing spaces are stripped; a name that then starts with ``-`` is refused, so it can never
   reach ``login`` as an option. A refused name prints ``Invalid login name.`` and the prompt again; it is
   never returned.
3. Memory is bounded whatever arrives: the name buffer never exceeds ``max_name`` bytes, and the output of
   one call is proportional to its input.
4. Nothing the modem itself says becomes a name (:func:`~.hayes.framed.modem_text`: every result code and
   report the core knows, verbose; numeric codes only when the modem is in ``V0``). ``NO CARRIER``, ``OK``
   or ``RING`` "typed" as a name is the modem talking: the line dropped while the prompt was up, or the
   modem was reset or is confused. That ends the dialog as ``MODEM_ERROR``, with the modem's words.
5. A name is not final the moment its CR or LF arrives: that CR may be the first byte of the modem's
   ``CR LF NO CARRIER CR LF`` after a caller hung up while typing. The name is held for ``result_guard_s``
   (phase ``CONFIRMING``; its deadline is :meth:`~LoginDialog.get_timer`), and a framed modem result
   (:class:`~.hayes.framed.FramedResultDetector`, which sees every raw byte of the dialog) arriving by then
   ends the dialog as ``MODEM_ERROR`` instead. Bytes that arrive while the name is held are the program's
   (:attr:`~LoginDialog.trailing_data`), as bytes after the name always were. The guard is what the
   dialog adds to the time from Enter to the program: ``result_guard_s`` exactly, nothing more.

Time: the dialog lasts at most ``timeout_s`` from :meth:`~LoginDialog.start` (mgetty's ``login-time``,
240 s). ``warning_s`` before the end (if ``0 < warning_s < timeout_s``) it writes mgetty's warning and
then the prompt and the name typed so far again.
"""

from __future__ import annotations

import enum

from answerd.core._effects import Write
from answerd.core._errors import LocalProtocolError
from answerd.core._login_results import (
    DEFAULT_MAX_NAME,
    DEFAULT_RESULT_GUARD_S,
    DEFAULT_TIMEOUT_S,
    DEFAULT_WARNING_S,
    DialogOutput,
    DialogResult,
    FailReason,
    LineEnd,
    LoginFailed,
    LoginPhase,
    NameEntered,
)
from answerd.core._ppp import LcpDetector, LcpMatch, PppDetected
from answerd.core.hayes.framed import FramedResultDetector, modem_text

__all__ = [
    "DEFAULT_MAX_NAME",
    "DEFAULT_RESULT_GUARD_S",
    "DEFAULT_TIMEOUT_S",
    "DEFAULT_WARNING_S",
    "DialogOutput",
    "DialogResult",
    "FailReason",
    "LineEnd",
    "LoginDialog",
    "LoginFailed",
    "LoginPhase",
    "NameEntered",
]

#: Most bytes kept for the program while a name is held (a flood is cut, the frame check goes on).
_MAX_HELD_TRAILING = 4096

_INVALID_NAME = b"Invalid login name.\r\n"
_ERASE_ONE = b"\b \b"
_BEL = b"\a"
_NEWLINE = b"\r\n"


class _Input(enum.Enum):
    """The kinds of input the shell can give the dialog; see ``_ACCEPTS``."""

    START = "start"
    DATA = "data"
    TIMER = "timer"


# Everything that decides which input is legal lives here, as data (h11's rule).
_ACCEPTS: dict[LoginPhase, frozenset[_Input]] = {
    LoginPhase.NEW: frozenset({_Input.START}),
    LoginPhase.READING: frozenset({_Input.DATA, _Input.TIMER}),
    LoginPhase.CONFIRMING: frozenset({_Input.DATA, _Input.TIMER}),
    LoginPhase.DONE: frozenset(),
}


class _Key(enum.IntEnum):
    """7-bit key codes with a meaning while reading the name. Other control codes are ignored."""

    CTRL_C = 0x03
    CTRL_D = 0x04
    BS = 0x08
    LF = 0x0A
    CR = 0x0D
    CTRL_U = 0x15
    DEL = 0x7F


class LoginDialog:
    """Reads the login name from the caller, like mgetty's ``getlogname()``, without mgetty's pitfalls.

    >>> dialog = LoginDialog(issue=b"Welcome\\r\\n", prompt=b"login: ")
    >>> dialog.start(now=0.0)
    [Write(data=b'Welcome\\r\\n\\r\\nlogin: ')]
    >>> dialog.receive_data(b"joe\\r", now=1.0)
    [Write(data=b'joe\\r\\n')]
    >>> dialog.handle_timer(now=dialog.get_timer())
    [NameEntered(name='joe', line_end=<LineEnd.CR: 'cr'>)]
    """

    def __init__(
        self,
        *,
        issue: bytes,
        prompt: bytes,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        warning_s: float = DEFAULT_WARNING_S,
        max_name: int = DEFAULT_MAX_NAME,
        autoppp: bool = True,
        result_guard_s: float = DEFAULT_RESULT_GUARD_S,
        numeric_results: bool = False,
    ) -> None:
        """Create a dialog; nothing is written until :meth:`start`.

        Args:
            issue: the expanded issue text, already line bytes (see ``to_line_bytes``); may be empty.
            prompt: the expanded login prompt, e.g. ``b"host login: "``.
            timeout_s: how long the caller has, from :meth:`start`, to enter a name.
            warning_s: how long before the end to warn; 0 (or not less than ``timeout_s``) for no warning.
            max_name: the longest acceptable name, in characters.
            autoppp: detect a PPP peer (mgetty's AutoPPP) and end with :class:`PppDetected`; turn it off
                when no ``/AutoPPP/`` dispatch rule exists.
            result_guard_s: how long an entered name is held for a framed modem result (0: not at all).
            numeric_results: the modem sends numeric (``V0``) result codes, so ``3`` is its NO CARRIER.

        Raises:
            ValueError: ``timeout_s`` is not positive, ``warning_s`` or ``result_guard_s`` is negative, or
                ``max_name`` < 1.
        """
        if not timeout_s > 0:
            raise ValueError(f"timeout_s must be positive, not {timeout_s!r}")
        if not warning_s >= 0:
            raise ValueError(f"warning_s must not be negative, not {warning_s!r}")
        if max_name < 1:
            raise ValueError(f"max_name must be at least 1, not {max_name!r}")
        if not result_guard_s >= 0:
            raise ValueError(f"result_guard_s must not be negative, not {result_guard_s!r}")
        self._issue = bytes(issue)
        self._prompt = bytes(prompt)
        self._timeout_s = timeout_s
        self._warning_s = warning_s
        self._max_name = max_name
        self._phase = LoginPhase.NEW
        self._name = bytearray()
        self._overflowed = False
        self._after_cr = False
        self._warn_at: float | None = None
        self._deadline: float | None = None
        self._trailing = b""
        self._lcp = LcpDetector() if autoppp else None
        self._leftover = b""
        self._numeric = numeric_results
        self._framed = FramedResultDetector(numeric=numeric_results)
        self._guard_s = result_guard_s
        self._held: NameEntered | None = None
        self._guard_at: float | None = None
        self._held_trailing = bytearray()

    @property
    def phase(self) -> LoginPhase:
        """The current phase."""
        return self._phase

    @property
    def done(self) -> bool:
        """Whether the dialog has produced its :class:`NameEntered`, :class:`LoginFailed` or :class:`PppDetected`."""
        return self._phase is LoginPhase.DONE

    @property
    def partial_name(self) -> str:
        """The name as typed so far (never more than ``max_name`` characters)."""
        return self._name.decode("ascii")

    @property
    def trailing_data(self) -> bytes:
        """Bytes received after the name ended, in the same chunk: they belong to the program that follows.

        Empty until the dialog is done. If the dialog timed out inside :meth:`receive_data`, the whole
        chunk is here (after any bytes still held as a possible PPP frame start). After :class:`PppDetected`
        it equals its ``trailing`` (the frame from its ``7E`` on).
        """
        return self._trailing

    def start(self, now: float) -> list[Write]:
        """Write the issue and the first prompt, and arm the timers.

        As in mgetty, the prompt always starts on a fresh line: ``issue + CR LF + prompt``.

        Args:
            now: monotonic time, in seconds.

        Returns:
            One :class:`Write`.

        Raises:
            LocalProtocolError: the dialog was already started.
        """
        self._require(_Input.START)
        self._phase = LoginPhase.READING
        self._deadline = now + self._timeout_s
        if 0 < self._warning_s < self._timeout_s:
            self._warn_at = self._deadline - self._warning_s
        return [Write(data=self._issue + _NEWLINE + self._prompt)]

    def receive_data(self, data: bytes, now: float) -> list[DialogOutput]:
        """Handle bytes from the caller.

        Timers that are due at ``now`` run first, so a late call behaves as if :meth:`handle_timer` had
        been called in time. ``b""`` only runs due timers.

        Args:
            data: the bytes read from the line, in any chunking.
            now: monotonic time, in seconds.

        Returns:
            Whatever a due timer produced, then the echo as one :class:`Write`, then at most one
            :class:`NameEntered`, :class:`LoginFailed` or :class:`PppDetected` (always last). Bytes after
            the end of the name go to :attr:`trailing_data`.

        Raises:
            LocalProtocolError: the dialog is not started, or is done.
        """
        self._require(_Input.DATA)
        outputs = self._run_timers(now)
        if self.done:
            if self._trailing or any(isinstance(output, NameEntered) for output in outputs):
                self._trailing += bytes(data)  # the held name was accepted: the chunk is the program's
            else:
                # Bytes still held as a possible LCP frame start were never used either.
                self._trailing = (self._lcp.held if self._lcp is not None else b"") + bytes(data)
            return outputs
        if self._phase is LoginPhase.CONFIRMING:
            failed = self._confirm(bytes(data))
            return outputs if failed is None else [*outputs, failed]
        echo = bytearray()
        result: DialogResult | None = None
        for index, raw in enumerate(data):
            found = self._on_byte(raw, echo)
            if found is None:
                continue
            rest = bytes(data[index + 1 :])
            if isinstance(found, NameEntered) and self._guard_s > 0:
                # Not final yet: this CR may have begun the modem's "CR LF NO CARRIER CR LF".
                self._phase = LoginPhase.CONFIRMING
                self._held = found
                self._guard_at = now + self._guard_s
                self._held_trailing = bytearray(self._leftover[:_MAX_HELD_TRAILING])
                result = self._confirm(rest)
                break
            self._finish()
            if isinstance(found, LcpMatch):
                result = PppDetected(trailing=found.header + rest)
                self._trailing = result.trailing
            else:
                result = found
                self._trailing = self._leftover + rest
            break
        if echo:
            outputs.append(Write(data=bytes(echo)))
        if result is not None:
            outputs.append(result)
        return outputs

    def get_timer(self) -> float | None:
        """Return when :meth:`handle_timer` should next be called, or ``None`` when no timer is armed."""
        if self._phase is LoginPhase.CONFIRMING:
            return self._guard_at
        if self._phase is not LoginPhase.READING:
            return None
        assert self._deadline is not None
        if self._warn_at is None:
            return self._deadline
        return min(self._warn_at, self._deadline)

    def handle_timer(self, now: float) -> list[DialogOutput]:
        """Run the timers due at ``now``: the warning, the end of the login time, or the end of the guard.

        An early call (``now`` before :meth:`get_timer`) does nothing. If both are due, only the timeout
        happens; a warning is pointless then. While a name is held, only the guard runs: the name was entered
        in time.

        Args:
            now: monotonic time, in seconds.

        Returns:
            Nothing, the warning (one :class:`Write`), a goodbye :class:`Write` and ``LoginFailed(TIMEOUT)``,
            or the held :class:`NameEntered`.

        Raises:
            LocalProtocolError: the dialog is not started, or is done.
        """
        self._require(_Input.TIMER)
        return self._run_timers(now)

    # --- internals -------------------------------------------------------------------------------------

    def _require(self, kind: _Input) -> None:
        """Raise (changing nothing) unless the current phase accepts ``kind``."""
        if kind not in _ACCEPTS[self._phase]:
            phase = self._phase.value
            raise LocalProtocolError(f"login dialog cannot take {kind.value} input in phase {phase}")

    def _finish(self) -> None:
        """Enter DONE and disarm the timers."""
        self._phase = LoginPhase.DONE
        self._warn_at = None
        self._deadline = None
        self._guard_at = None

    def _confirm(self, data: bytes) -> LoginFailed | None:
        """While a name is held: look for a framed modem result; keep the rest for the program."""
        room = _MAX_HELD_TRAILING - len(self._held_trailing)
        for index, raw in enumerate(data):
            said = self._framed.step(raw)
            if said is not None:
                self._finish()
                self._held = None
                self._trailing = data[index + 1 :]
                return LoginFailed(reason=FailReason.MODEM_ERROR, detail=said.text)
        self._held_trailing += data[: max(0, room)]
        return None

    def _run_timers(self, now: float) -> list[DialogOutput]:
        """Fire whatever is due at ``now``."""
        if self._phase is LoginPhase.CONFIRMING:
            assert self._guard_at is not None
            assert self._held is not None
            if now < self._guard_at:
                return []
            held, self._held = self._held, None
            self._finish()
            self._trailing = bytes(self._held_trailing)
            return [held]
        assert self._deadline is not None
        if now >= self._deadline:
            self._finish()
            return [
                Write(data=b"\r\n\aYour login time ran out. Goodbye.\r\n"),
                LoginFailed(reason=FailReason.TIMEOUT),
            ]
        if self._warn_at is not None and now >= self._warn_at:
            self._warn_at = None
            warning = f"\r\n\aHey! Please login now. You have {_remaining(self._warning_s)} left\r\n"
            return [Write(data=warning.encode("ascii") + self._prompt + bytes(self._name))]
        return []

    def _on_byte(self, raw: int, echo: bytearray) -> NameEntered | LoginFailed | LcpMatch | None:
        """Process one received byte, appending what to echo; return the result if this byte ends it all.

        This is the single place every byte passes while the prompt is up. The framed-result detector sees
        the raw byte first (a modem result ends the dialog whatever the editor made of its bytes), then the
        AutoPPP detector, which releases to the editor only the bytes that cannot start an LCP frame (see
        the module docstring). If the editor ends the dialog before all released bytes were used, the rest
        is kept in ``_leftover`` for :attr:`trailing_data`.
        """
        said = self._framed.step(raw)
        if said is not None:
            return LoginFailed(reason=FailReason.MODEM_ERROR, detail=said.text)
        if self._lcp is None:
            return self._edit(raw, echo)
        step = self._lcp.step(raw)
        if isinstance(step, LcpMatch):
            return step
        for index, byte in enumerate(step):
            result = self._edit(byte, echo)
            if result is not None:
                self._leftover = step[index + 1 :]
                return result
        return None

    def _edit(self, raw: int, echo: bytearray) -> NameEntered | LoginFailed | None:
        """Apply one byte to the name being typed, appending what to echo; return the result if it ends it."""
        after_cr, self._after_cr = self._after_cr, False
        byte = raw & 0x7F
        match byte:
            case _Key.BS | _Key.DEL:
                if self._name:
                    del self._name[-1]
                    echo += _ERASE_ONE
            case _Key.CTRL_U:
                echo += _ERASE_ONE * len(self._name)
                self._clear()
            case _Key.CTRL_C:
                echo += _NEWLINE + self._prompt
                self._clear()
            case _Key.CTRL_D:
                if not self._name:
                    return LoginFailed(reason=FailReason.ABORTED)
            case _Key.CR:
                self._after_cr = True
                return self._end_of_line(LineEnd.CR, echo)
            case _Key.LF:
                if not after_cr:
                    return self._end_of_line(LineEnd.LF, echo)
            case _ if 0x20 <= byte < 0x7F:
                if len(self._name) < self._max_name:
                    self._name.append(byte)
                    echo.append(byte)
                else:
                    self._overflowed = True
                    echo += _BEL
            case _:
                pass  # NUL, XON/XOFF, ESC and every other control code: ignored, not echoed.
        return None

    def _end_of_line(self, line_end: LineEnd, echo: bytearray) -> NameEntered | LoginFailed | None:
        """Judge the name the caller just ended; re-prompt unless it is final."""
        name = self._name.decode("ascii").strip(" ")
        refused = self._overflowed or name.startswith("-")
        self._clear()
        said = None if refused else modem_text(name, numeric=self._numeric)
        if said is not None:
            return LoginFailed(reason=FailReason.MODEM_ERROR, detail=said.text)
        echo += _NEWLINE
        if refused:
            echo += _INVALID_NAME + self._prompt
            return None
        if not name:
            echo += self._prompt
            return None
        return NameEntered(name=name, line_end=line_end)

    def _clear(self) -> None:
        """Forget the name typed so far (and that it overflowed)."""
        self._name.clear()
        self._overflowed = False


def _remaining(seconds: float) -> str:
    """Say how long is left, in mgetty's words where they fit.

    >>> _remaining(60.0), _remaining(120.0), _remaining(30.0)
    ('one minute', '2 minutes', '30 seconds')
    """
    if seconds == 60:
        return "one minute"
    if seconds % 60 == 0:
        return f"{int(seconds // 60)} minutes"
    return f"{seconds:g} seconds"
