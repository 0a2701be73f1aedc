"""One connected call, from CONNECT to the end of the handed-off program.

The answer machine (``answerd.core``) stops reading the line at CONNECT; :class:`CallRunner` takes over
until the call ends, then the daemon hands the outcome back to the machine. The steps, in order:

1. **Carrier.** CLOCAL is cleared (unless ``ignore_carrier``), so a carrier drop hangs the tty up and
   SIGHUPs whatever has it as controlling terminal; where DCD can be read it is also polled.
2. **Silent PPP window / settle.** With ``ppp_wait_ms`` the caller's first bytes are watched for the start
   of a PPP LCP frame before anything is printed, so a PPP client never sees text. Otherwise the line
   settles for ``settle_ms`` (mgetty's prompt-waittime). Bytes that arrive meanwhile are kept (bounded)
   and given to the login dialog, so a user's first key press is not lost.
3. **Login dialog** (``mode = "login"``): issue text, prompt, the name read with mgetty's editing rules and
   answerd's name safety; AutoPPP detection runs on the same bytes. ``mode = "direct"`` skips it.
4. **Dispatch.** The name (or ``/AutoPPP/``) picks a rule from the dispatch table; its argv template is
   filled with whole-element placeholders (never a shell).
5. **The program** runs on the tty (``answerd.call.session``): raw for PPP and direct programs, a sane cooked
   mode with the CR/LF mapping the user's terminal needs for everything else; as the rule's user; with
   utmp/wtmp entries when the rule asks for them.
6. **The outcome**: the exit status is judged against the rule's normal exit codes (pppd's 0, 5, 15, 16);
   a SIGHUP that answerd did not send means the carrier dropped.

Bytes of a PPP frame already read when AutoPPP matched cannot be given back to the tty's input queue
(``TIOCSTI`` is root-only and disabled on hardened kernels): they are counted in the log and dropped.
That costs nothing: the peer repeats its LCP Configure-Request every 3 s until pppd answers (RFC 1661
restart timer), and pppd's first Configure-Request goes out as soon as it starts.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import signal
import termios
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

from answerd.call import utmp
from answerd.call.session import Session, SessionResult, SpawnError, clean_environment
from answerd.config.errors import ConfigError
from answerd.config.files import read_user_file
from answerd.config.settings import PortSettings
from answerd.core import (
    AUTOPPP,
    DEFAULT_RULE,
    Answered,
    ArgvError,
    DispatchRule,
    EscapeContext,
    Expired,
    FailReason,
    LineEnd,
    LoginDialog,
    LoginFailed,
    NameEntered,
    NoPppRuleError,
    Outcome,
    PppDetected,
    SilentWindow,
    Write,
    classify_pppd_exit,
    expand_escapes,
    has_ppp_rule,
    select_rule,
    to_line_bytes,
)
from answerd.line.port import SerialPort
from answerd.service.notify import Notifier

__all__ = ["CallEnd", "CallLine", "CallRunner", "dispatch_rules"]

T = TypeVar("T")

#: How often DCD is read while a call is up (only on lines that have DCD).
CARRIER_POLL_S = 0.2
#: Bytes of caller input held while nothing reads them yet (settle wait): bounded.
MAX_EARLY_INPUT = 4096
#: How long the program's last output may take to drain to the caller before answerd hangs up.
DRAIN_TIMEOUT_S = 5.0
#: The longest issue file read (mgetty caps the expanded text at 300 characters anyway).
MAX_ISSUE_FILE = 16384


@dataclass
class CallLine:
    """What the daemon's data and hang-up callbacks share with the running call."""

    #: Where bytes from the caller go now (the silent window, the dialog), or ``None`` to buffer them.
    sink: Callable[[bytes], None] | None = None
    early: bytearray = field(default_factory=bytearray)
    lost: asyncio.Event = field(default_factory=asyncio.Event)
    #: ``"carrier"`` (the line dropped) or ``"shutdown"`` (answerd is stopping).
    lost_reason: str = ""

    def receive(self, data: bytes) -> None:
        """Bytes from the caller: to the current sink, or kept (bounded) until one is set."""
        if self.sink is not None:
            self.sink(data)
        else:
            self.early += data[: MAX_EARLY_INPUT - len(self.early)]

    def take_early(self) -> bytes:
        """The buffered bytes, removed."""
        data = bytes(self.early)
        self.early.clear()
        return data

    def drop(self, reason: str) -> None:
        """The call is over from outside: the carrier dropped, or answerd is stopping."""
        if not self.lost.is_set():
            self.lost_reason = reason
            self.lost.set()

    @property
    def lost_outcome(self) -> Outcome:
        """The outcome for a call that ended because of :meth:`drop`."""
        return Outcome.SHUTDOWN if self.lost_reason == "shutdown" else Outcome.CARRIER_LOST


@dataclass(frozen=True, slots=True, kw_only=True)
class CallEnd:
    """How the call ended, for :meth:`AnswerMachine.call_finished`."""

    outcome: Outcome
    user: str | None = None
    program: str | None = None
    exit_status: int | None = None
    signal: int | None = None
    detail: str | None = None

    def fields(self) -> dict[str, Any]:
        """Keyword arguments for ``call_finished``."""
        return {
            "outcome": self.outcome,
            "user": self.user,
            "program": self.program,
            "exit_status": self.exit_status,
            "signal": self.signal,
            "detail": self.detail,
        }


def dispatch_rules(settings: PortSettings) -> tuple[tuple[DispatchRule, ...], DispatchRule]:
    """The port's dispatch table in the core's form, and the rule for names no entry takes.

    ``login_program`` is the fallback. ``login`` writes utmp itself and its exit status is never a
    failure of the call (a failed password is a normal end), so the fallback takes every status.
    """
    rules = tuple(rule.to_rule() for rule in settings.dispatch)
    fallback = DispatchRule("*", tuple(settings.login_program), utmp=False, ok_exit_codes=tuple(range(256)))
    return rules, fallback


def _logged_users(path: str = utmp.UTMP_PATH) -> int:
    """Number of USER_PROCESS records in utmp (for the ``\\U`` escape); 0 if it cannot be read."""
    try:
        records = utmp.read_records(path)
    except OSError:
        return 0
    return sum(1 for record in records if record.type == utmp.UtType.USER_PROCESS)


def _open_for_program(device: str) -> int:
    """A fresh, blocking file description of the tty for the program's fds 0-2.

    Not answerd's own: pyserial keeps that one ``O_NONBLOCK``, and a program reading its stdin would get
    EAGAIN at once (``read`` in a shell exits 1). A description of its own also keeps the program's file
    status flags from leaking back to answerd. The open itself is non-blocking (with CLOCAL clear, a
    blocking open of a modem tty waits for carrier); the flag is cleared afterwards.
    """
    fd = os.open(device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~os.O_NONBLOCK)
    except OSError:
        os.close(fd)
        raise
    return fd


class CallRunner:
    """Runs one connected call on an open port. Create one per call and ``await run()``."""

    def __init__(
        self,
        *,
        port_name: str,
        device: str,
        settings: PortSettings,
        port: SerialPort,
        answered: Answered,
        line: CallLine,
        notifier: Notifier,
        log: Any,
        on_program: Callable[[int], None] | None = None,
    ) -> None:
        """Prepare the call.

        Args:
            on_program: called with the program's pid when it starts, and with answerd's own pid when it has
                ended (the daemon hands the line's UUCP lock over and takes it back).
        """
        self._on_program = on_program or (lambda _pid: None)
        self._name = port_name
        self._device = device
        self._settings = settings
        self._port = port
        self._answered = answered
        self._line = line
        self._notifier = notifier
        self._log = log
        self._rules, self._fallback = dispatch_rules(settings)
        self._autoppp = settings.autoppp and has_ppp_rule(self._rules)
        connect = answered.connect
        self._connect = connect.text or connect.line
        self._values = {
            "connect": self._connect,
            # mgetty's \Y (and $CALLER_ID) say "none" when no caller ID came.
            "caller_id": answered.call.caller_id or "none",
            "caller_name": answered.call.caller_name or "",
            "device": device,
            "port": port_name,
        }

    async def run(self) -> CallEnd:
        """Run the call to its end; never raises for anything the caller or the program does."""
        if not self._settings.ignore_carrier:
            try:
                self._port.set_carrier_sensitive(True)
            except OSError as exc:
                self._log.warning("port.carrier_sensitive_failed", error=exc.strerror or str(exc))
        watch = self._watch_carrier()
        try:
            return await self._stages()
        finally:
            if watch is not None:
                watch.cancel()

    def _watch_carrier(self) -> asyncio.Task[None] | None:
        lines = self._port.lines
        if lines.carrier() is None:
            return None

        async def watch() -> None:
            while not self._line.lost.is_set():
                await asyncio.sleep(CARRIER_POLL_S)
                try:
                    up = lines.carrier()
                except OSError:
                    up = False
                if up is False:
                    self._line.drop("carrier")

        return asyncio.get_running_loop().create_task(watch())

    # ------------------------------------------------------------------ the stages

    async def _stages(self) -> CallEnd:
        settings = self._settings
        ppp: PppDetected | None = None
        if self._autoppp and settings.ppp_wait_ms > 0:
            result = await self._silent_window(settings.ppp_wait_ms / 1000)
            if result is None:
                return CallEnd(outcome=self._line.lost_outcome, detail="line dropped before the prompt")
            if isinstance(result, PppDetected):
                ppp = result
            else:
                self._line.early[:0] = result.buffered  # keep what a terminal user typed, in order
        elif await self._wait_or_lost(settings.settle_ms / 1000):
            return CallEnd(outcome=self._line.lost_outcome, detail="line dropped before the prompt")

        name: str | None = None
        map_crlf = True
        if ppp is None and settings.mode == "login":
            dialog = await self._login_dialog()
            if dialog is None:
                return CallEnd(outcome=self._line.lost_outcome, detail="line dropped at the login prompt")
            if isinstance(dialog, LoginFailed):
                return self._failed_dialog(dialog)
            if isinstance(dialog, PppDetected):
                ppp = dialog
            else:
                name = dialog.name
                map_crlf = dialog.line_end is LineEnd.CR

        if ppp is not None:
            self._log.info("call.ppp_detected", dropped_bytes=len(ppp.trailing))
            try:
                rule = select_rule(self._rules, "", ppp=True)
            except NoPppRuleError as exc:  # not reachable: AutoPPP is only on when a rule exists
                return CallEnd(outcome=Outcome.PROGRAM_FAILED, detail=str(exc))
        elif settings.mode == "direct":
            assert settings.direct_program is not None
            rule = DispatchRule("*", tuple(settings.direct_program), utmp=True)
        else:
            assert name is not None
            rule = select_rule(self._rules, name, ppp=False)
            if rule is DEFAULT_RULE:  # no entry took the name: login_program
                rule = self._fallback
        # {user} is the entered name, or /AutoPPP/ for a PPP caller (mgetty's @ in login.config).
        values = {**self._values, "user": AUTOPPP if ppp is not None else name or ""}
        try:
            argv = rule.expand(values)
        except ArgvError as exc:
            self._log.warning("call.program_refused", reason=str(exc), rule=rule.match)
            return CallEnd(outcome=Outcome.PROGRAM_FAILED, user=name, program=rule.program[0], detail=str(exc))
        raw = ppp is not None or settings.mode == "direct"
        return await self._run_program(rule, argv, user=name, raw=raw, map_crlf=map_crlf, ppp=ppp is not None)

    @staticmethod
    def _failed_dialog(result: LoginFailed) -> CallEnd:
        if result.reason is FailReason.MODEM_ERROR and result.detail == "NO CARRIER":
            # The modem's own NO CARRIER arrived as the "name": the caller hung up at the prompt.
            return CallEnd(outcome=Outcome.CARRIER_LOST, detail="NO CARRIER at the login prompt")
        outcome = {
            FailReason.TIMEOUT: Outcome.LOGIN_TIMEOUT,
            FailReason.MODEM_ERROR: Outcome.MODEM_ERROR,
            FailReason.ABORTED: Outcome.LOGIN_ABORTED,
        }[result.reason]
        return CallEnd(outcome=outcome, detail=f"login dialog: {result.reason.value}")

    async def _wait_or_lost(self, seconds: float) -> bool:
        """Sleep ``seconds`` unless the line drops first; return whether it dropped."""
        if seconds > 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._line.lost.wait(), seconds)
        return self._line.lost.is_set()

    async def _silent_window(self, seconds: float) -> PppDetected | Expired | None:
        """Listen for LCP for ``seconds`` before printing anything; ``None`` if the line dropped."""
        loop = asyncio.get_running_loop()
        window = SilentWindow(seconds, max_buffer=MAX_EARLY_INPUT)
        window.start(loop.time())
        result: asyncio.Future[PppDetected | Expired] = loop.create_future()

        def feed(data: bytes) -> None:
            if not result.done() and (got := window.receive_data(data, loop.time())) is not None:
                result.set_result(got)

        def on_timer(now: float) -> None:
            if (expired := window.handle_timer(now)) is not None:
                result.set_result(expired)

        return await self._drive(feed, result, window.get_timer, on_timer)

    async def _drive(
        self,
        feed: Callable[[bytes], None],
        result: asyncio.Future[T],
        get_timer: Callable[[], float | None],
        on_timer: Callable[[float], None],
    ) -> T | None:
        """Run one sans-IO stage on the line until it sets ``result``; ``None`` if the line dropped first.

        The caller's bytes go to ``feed`` (those buffered so far first), and the stage's deadline from
        ``get_timer`` is handed to ``on_timer`` when it comes.
        """
        loop = asyncio.get_running_loop()
        early = self._line.take_early()
        self._line.sink = feed
        if early:
            feed(early)
        try:
            while not result.done():
                deadline = get_timer()
                timeout = None if deadline is None else max(0.0, deadline - loop.time())
                if await self._first(result, timeout) is None:
                    return None
                if not result.done():
                    on_timer(loop.time())
            return result.result()
        finally:
            self._line.sink = None

    async def _first(self, future: asyncio.Future[Any], timeout: float | None) -> bool | None:
        """Wait for ``future`` or the line dropping or ``timeout``: ``None`` if the line dropped first."""
        lost = asyncio.get_running_loop().create_task(self._line.lost.wait())
        try:
            waitables: set[asyncio.Future[Any]] = {future, lost}
            done, _ = await asyncio.wait(waitables, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
        if lost in done and not future.done():
            return None
        return future.done()

    def _issue_text(self) -> str:
        path = self._settings.issue_file
        if path is None:
            return self._settings.issue
        try:
            # Never blocks on a FIFO or reads a device: the same limits as the configuration file.
            return read_user_file(path)[:MAX_ISSUE_FILE].decode("utf-8", "replace")
        except ConfigError as exc:
            self._log.warning("call.issue_file_unreadable", path=path, error=exc.errors[0])
            return self._settings.issue

    async def _login_dialog(self) -> NameEntered | LoginFailed | PppDetected | None:
        """Issue, prompt, name (or PPP); ``None`` if the line dropped."""
        loop = asyncio.get_running_loop()
        settings = self._settings
        uname = os.uname()
        ctx = EscapeContext(
            nodename=uname.nodename,
            sysname=uname.sysname,
            release=uname.release,
            version=uname.version,
            machine=uname.machine,
            tty=self._name,
            connect=self._connect,
            caller_id=self._answered.call.caller_id or "",
            speed=settings.speed,
            users=_logged_users(),
            when=datetime.now().astimezone(),
        )
        dialog = LoginDialog(
            issue=to_line_bytes(expand_escapes(self._issue_text(), ctx)),
            prompt=to_line_bytes(expand_escapes(settings.login_prompt, ctx)),
            timeout_s=settings.login_timeout_s,
            autoppp=self._autoppp,
        )
        result: asyncio.Future[NameEntered | LoginFailed | PppDetected] = loop.create_future()

        def handle(outputs: list[Any]) -> None:
            for item in outputs:
                if isinstance(item, Write):
                    self._port.write(item.data)
                elif isinstance(item, NameEntered | LoginFailed | PppDetected) and not result.done():
                    if isinstance(item, PppDetected):
                        # Raw at once, like mgetty: the rest of the frame must not be echoed or mangled.
                        with contextlib.suppress(OSError):
                            self._port.set_raw_mode()
                    result.set_result(item)

        def feed(data: bytes) -> None:
            if not dialog.done:
                handle(dialog.receive_data(data, loop.time()))

        def on_timer(now: float) -> None:
            if not dialog.done:
                handle(dialog.handle_timer(now))

        handle(dialog.start(loop.time()))
        outcome = await self._drive(feed, result, dialog.get_timer, on_timer)
        if dialog.trailing_data:
            self._log.debug("call.dialog_trailing", bytes=len(dialog.trailing_data))
        return outcome

    # ------------------------------------------------------------------ the program

    async def _run_program(
        self, rule: DispatchRule, argv: list[str], *, user: str | None, raw: bool, map_crlf: bool, ppp: bool
    ) -> CallEnd:
        settings = self._settings
        program = argv[0]
        port = self._port
        port.pause_reading()
        await port.drain()
        try:
            if raw:
                port.set_raw_mode()
            else:
                port.set_session_mode(map_crlf=map_crlf)
            os.chmod(self._device, 0o600)
        except OSError as exc:
            self._log.warning("port.session_mode_failed", error=exc.strerror or str(exc))
        env = clean_environment(
            {
                "CALLER_ID": self._answered.call.caller_id or "none",
                "CALLER_NAME": self._answered.call.caller_name,
                "CALLED_ID": self._answered.call.called_id,
                "CONNECT": self._connect,
                "DEVICE": self._device,
            },
            settings.term,
        )
        shown_user = "/AutoPPP/" if ppp else user
        base: dict[str, Any] = {"user": shown_user, "program": program}
        try:
            tty = _open_for_program(self._device)
        except OSError as exc:
            self._log.error("call.program_failed", program=program, error=f"cannot open the tty: {exc}")
            return CallEnd(outcome=Outcome.PROGRAM_FAILED, detail=f"cannot open the tty: {exc}", **base)
        try:
            session = await Session.start(argv, tty_fd=tty, env=env, user=rule.user)
        except SpawnError as exc:
            self._log.error("call.program_failed", program=program, error=str(exc))
            return CallEnd(outcome=Outcome.PROGRAM_FAILED, detail=str(exc), **base)
        finally:
            os.close(tty)
        self._log.info("call.program_started", program=program, pid=session.pid, user=shown_user, run_as=rule.user)
        self._notifier.status(f"connected {self._connect} user={shown_user or '-'} program={os.path.basename(program)}")
        self._on_program(session.pid)
        accounting = rule.utmp and settings.utmp
        if accounting:
            await self._utmp_login(session.pid, rule, user, ppp)
        result = await self._supervise(session)
        self._on_program(os.getpid())
        if not result.stopped_by_us and not self._line.lost.is_set():
            await self._drain_program_output()
        if accounting:  # even if the login record failed in part: never leave a live entry behind
            await self._utmp_logout(session.pid, result)
        return self._judge(rule, result, base)

    async def _drain_program_output(self) -> None:
        """Let what the program wrote before it exited reach the caller before answerd hangs up.

        A program's last screen (or pppd's last frames) can still sit in the tty's output queue when it
        exits; closing the port would discard it. Waits at most ``DRAIN_TIMEOUT_S``: with RTS/CTS and a
        peer that stopped reading, tcdrain would never return. A line that was hung up returns at once.
        """
        try:
            fd = os.open(self._device, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError:
            return
        try:
            with contextlib.suppress(TimeoutError, OSError, termios.error):
                await asyncio.wait_for(asyncio.to_thread(termios.tcdrain, fd), DRAIN_TIMEOUT_S)
        finally:
            os.close(fd)

    async def _supervise(self, session: Session) -> SessionResult:
        """Wait for the program, or end it when the line drops or answerd stops; then reap its session."""
        loop = asyncio.get_running_loop()
        waiter = loop.create_task(session.wait())
        lost = loop.create_task(self._line.lost.wait())
        try:
            done, _ = await asyncio.wait({waiter, lost}, return_when=asyncio.FIRST_COMPLETED)
            result = waiter.result() if waiter in done else await session.stop(self._settings.stop_grace_s)
        finally:
            lost.cancel()
            if not waiter.done():
                waiter.cancel()
        leftovers = await session.reap_session(self._settings.stop_grace_s)
        if leftovers:
            self._log.info("call.session_reaped", processes=leftovers)
        return result

    def _judge(self, rule: DispatchRule, result: SessionResult, base: dict[str, Any]) -> CallEnd:
        ended = {**base, "exit_status": result.returncode, "signal": result.signal}
        if result.stopped_by_us:
            return CallEnd(outcome=self._line.lost_outcome, **ended)
        if result.signal == signal.SIGHUP:
            # The kernel's hang-up (carrier drop with CLOCAL clear) or the modem's reached the session.
            return CallEnd(outcome=Outcome.CARRIER_LOST, **ended)
        if result.signal is not None:
            return CallEnd(
                outcome=Outcome.PROGRAM_ERROR, detail=f"killed by {signal.Signals(result.signal).name}", **ended
            )
        code = result.returncode
        assert code is not None
        is_pppd = os.path.basename(rule.program[0]) == "pppd"
        detail = classify_pppd_exit(code).meaning if is_pppd else None
        if code in rule.ok_exit_codes:
            # pppd's 16 is "the modem hung up": a normal end of the call, reported as what it was.
            outcome = Outcome.CARRIER_LOST if is_pppd and code == 16 else Outcome.ANSWERED
            return CallEnd(outcome=outcome, detail=detail, **ended)
        return CallEnd(outcome=Outcome.PROGRAM_ERROR, detail=detail or f"exit status {code}", **ended)

    async def _utmp_login(self, pid: int, rule: DispatchRule, user: str | None, ppp: bool) -> None:
        line = os.path.realpath(self._device).removeprefix("/dev/")
        ut_user = rule.utmp_name or (user if user else ("ppp" if ppp else "dialin"))
        host = self._answered.call.caller_id or self._connect
        try:
            await asyncio.to_thread(
                utmp.write_login, line=line, pid=pid, user=ut_user, host=host, kind="user", ut_id=self._name
            )
        except OSError as exc:
            self._log.warning("utmp.write_failed", error=str(exc))

    async def _utmp_logout(self, pid: int, result: SessionResult) -> None:
        line = os.path.realpath(self._device).removeprefix("/dev/")
        code = -result.signal if result.signal is not None else result.returncode
        try:
            await asyncio.to_thread(utmp.write_logout, line=line, pid=pid, ut_id=self._name, returncode=code)
        except OSError as exc:
            self._log.warning("utmp.write_failed", error=str(exc))
