"""One connected call, from CONNECT to the end of the handed-off program: the stages in order.

The answer machine (``answerd.core``) stops reading the line at CONNECT; :class:`CallRunner` takes over
until the call ends, then the daemon hands the outcome back to the machine. Each stage has its own module:

1. **Carrier** (:mod:`~answerd.call.carrier`). CLOCAL is cleared (unless ``ignore_carrier``), so a carrier
   drop hangs the tty up and SIGHUPs whatever has it as controlling terminal; where DCD can be read it is
   also polled, and read once more just before the program starts. With ``carrier = "modem-text"`` DCD is
   not used at all (it is what such a line cannot be trusted for): the relay ends the session instead
   (:mod:`~answerd.call.relay`). Session limits (:mod:`~answerd.call.limits`) run from here too.
2. **Silent PPP window / settle** (:mod:`~answerd.call.dialog`). With ``ppp_wait_ms`` the caller's first
   bytes are watched for the start of a PPP LCP frame before anything is printed, so a PPP client never
   sees text. Otherwise the line settles for ``settle_ms`` (mgetty's prompt-waittime).
3. **Login dialog** (``mode = "login"``, :mod:`~answerd.call.dialog`): issue text, prompt, the name read
   with mgetty's editing rules and answerd's name safety; AutoPPP detection runs on the same bytes.
   ``mode = "direct"`` skips it.
4. **Dispatch** (:mod:`~answerd.call.dispatch`): the name (or ``/AutoPPP/``) picks a rule; its argv
   template is filled with whole-element placeholders (never a shell).
5. **The program** runs on the tty, supervised (:mod:`~answerd.call.program`, :mod:`~answerd.call.session`):
   raw for PPP and direct programs, a sane cooked mode with the CR/LF mapping the user's terminal needs for
   everything else; as the rule's user; in a clean environment (:mod:`~answerd.call.environment`); with
   utmp/wtmp entries when the rule asks for them (:mod:`~answerd.call.accounting`).
6. **The outcome** (:mod:`~answerd.call.outcome`): the exit status judged against the rule's normal codes.

Bytes of a PPP frame already read when AutoPPP matched cannot be given back to the tty's input queue
(``TIOCSTI`` is root-only and disabled on hardened kernels): they are counted in the log and dropped.
That costs nothing: the peer repeats its LCP Configure-Request every 3 s until pppd answers (RFC 1661
restart timer), and pppd's first Configure-Request goes out as soon as it starts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os
import termios
from collections.abc import Callable
from typing import Any

from answerd.call import accounting
from answerd.call.carrier import carrier_gone, watch_carrier
from answerd.call.dialog import login_dialog, silent_window
from answerd.call.dispatch import call_values, choose_rule, dispatch_rules
from answerd.call.environment import call_environment
from answerd.call.limits import enforce_limits, tty_activity
from answerd.call.outcome import CallEnd, failed_dialog, judge
from answerd.call.ppp_peer import clear_peer, read_peer
from answerd.call.program import DRAIN_TIMEOUT_S, drain_output, open_for_program, supervise
from answerd.call.relay import Relay, open_pty_pair
from answerd.call.session import Session, SessionResult, SpawnError
from answerd.call.stage import CallLine, wait_or_lost
from answerd.clock import Clock, LoopClock
from answerd.config.settings import PortSettings, numeric_results_of
from answerd.core import (
    AUTOPPP,
    Answered,
    ArgvError,
    DispatchRule,
    LineEnd,
    LoginFailed,
    ModemTextCarrier,
    NoPppRuleError,
    Outcome,
    PppDetected,
    SessionLimits,
    has_ppp_rule,
)
from answerd.line.port import SerialPort, set_raw, set_session_mode
from answerd.service.notify import Notifier

__all__ = ["CallEnd", "CallLine", "CallRunner", "dispatch_rules"]


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
        clock: Clock | None = None,
        runtime_dir: str | None = None,
    ) -> None:
        """Prepare the call.

        Args:
            clock: the daemon's clock (the session limits' time line).
            runtime_dir: where pppd's ip-up hook leaves the PPP peer's name (:mod:`~answerd.call.ppp_peer`);
                ``None``: a PPP call's record keeps ``/AutoPPP/`` as its user.
            on_program: called with the program's pid when it starts, and with answerd's own pid when it has
                ended (the daemon hands the line's UUCP lock over and takes it back).
        """
        self._on_program = on_program or (lambda _pid: None)
        self._runtime_dir = runtime_dir
        self._clock = clock or LoopClock()
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
        # Without an /AutoPPP/ rule the dialog still looks for PPP (unless autoppp = false): a PPP peer's
        # frames would otherwise be read as a name, and its call must end as what it was (no-ppp-rule).
        self._detect_ppp_at_prompt = settings.autoppp
        connect = answered.connect
        # mgetty's form ("115200/33600 LAP-M" after CARRIER/PROTOCOL reports) for \I, {connect}, $CONNECT.
        self._connect = answered.call.connect_env or connect.text or connect.line

    async def run(self) -> CallEnd:
        """Run the call to its end; never raises for anything the caller or the program does."""
        by_dcd = self._settings.carrier == "dcd"
        if by_dcd and not self._settings.ignore_carrier:
            try:
                self._port.set_carrier_sensitive(True)
            except OSError as exc:
                self._log.warning("port.carrier_sensitive_failed", error=exc.strerror or str(exc))
        watch = watch_carrier(self._port.lines, self._line) if by_dcd else None
        limits = self._start_limits()
        try:
            end = await self._stages()
        finally:
            for task in (watch, limits):
                if task is not None:
                    task.cancel()
        if self._line.lost_detail and end.outcome is self._line.lost_outcome:
            # Which limit was reached, or that the modem's NO CARRIER text ended it.
            end = dataclasses.replace(end, detail=self._line.lost_detail)
        return end

    def _start_limits(self) -> asyncio.Task[None] | None:
        """Watch ``max_session_s`` / ``max_idle_s`` from now (CONNECT) on, if either is set."""
        settings = self._settings
        if not (settings.max_session_s or settings.max_idle_s):
            return None
        limits = SessionLimits(
            started_at=self._clock.now(), max_session_s=settings.max_session_s, max_idle_s=settings.max_idle_s
        )
        self._line.on_activity = lambda: limits.activity(self._clock.now())
        activity = tty_activity(self._device, self._clock)
        watch = enforce_limits(limits, self._line, clock=self._clock, log=self._log, activity=activity)
        return asyncio.get_running_loop().create_task(watch)

    async def _stages(self) -> CallEnd:
        settings = self._settings
        ppp: PppDetected | None = None
        if self._autoppp and settings.ppp_wait_ms > 0:
            window = await silent_window(self._line, settings.ppp_wait_ms / 1000)
            if window is None:
                return CallEnd(outcome=self._line.lost_outcome, detail="line dropped before the prompt")
            if isinstance(window, PppDetected):
                ppp = window
            else:
                self._line.early[:0] = window.buffered  # keep what a terminal user typed, in order
        elif await wait_or_lost(self._line, settings.settle_ms / 1000):
            return CallEnd(outcome=self._line.lost_outcome, detail="line dropped before the prompt")

        name: str | None = None
        map_crlf = True
        if ppp is None and settings.mode == "login":
            dialog = await login_dialog(
                line=self._line,
                port=self._port,
                settings=settings,
                port_name=self._name,
                connect=self._connect,
                caller_id=self._answered.call.caller_id or "",
                autoppp=self._detect_ppp_at_prompt,
                log=self._log,
            )
            if dialog is None:
                return CallEnd(outcome=self._line.lost_outcome, detail="line dropped at the login prompt")
            if isinstance(dialog, LoginFailed):
                return failed_dialog(dialog)
            if isinstance(dialog, PppDetected):
                ppp = dialog
            else:
                name = dialog.name
                map_crlf = dialog.line_end is LineEnd.CR
        if ppp is not None:
            self._log.info("call.ppp_detected", dropped_bytes=len(ppp.trailing))
            if not self._autoppp:
                return self._ppp_without_rule()  # what the call was, even if the caller hangs up meanwhile
        if settings.carrier == "dcd" and carrier_gone(self._port.lines):
            # The watch polls; this closes its window: a caller who hung up while the name was being
            # submitted (or a PPP frame was read) must not get a program on a dead line.
            where = "at the login prompt" if settings.mode == "login" else "before the program started"
            return CallEnd(outcome=Outcome.CARRIER_LOST, detail=f"carrier lost {where}")
        return await self._dispatch(name, ppp=ppp is not None, map_crlf=map_crlf)

    async def _dispatch(self, name: str | None, *, ppp: bool, map_crlf: bool) -> CallEnd:
        try:
            rule = choose_rule(self._settings, self._rules, self._fallback, name=name, ppp=ppp)
        except NoPppRuleError:  # not reachable: _stages ends such a call first
            return self._ppp_without_rule()
        values = call_values(
            self._answered, connect=self._connect, device=self._device, port_name=self._name, name=name, ppp=ppp
        )
        try:
            argv = rule.expand(values)
        except ArgvError as exc:
            self._log.warning("call.program_refused", reason=str(exc), rule=rule.match)
            return CallEnd(outcome=Outcome.PROGRAM_FAILED, user=name, program=rule.program[0], detail=str(exc))
        raw = ppp or self._settings.mode == "direct"
        return await self._run_program(rule, argv, user=name, raw=raw, map_crlf=map_crlf, ppp=ppp)

    def _ppp_without_rule(self) -> CallEnd:
        """A PPP peer on a port without an /AutoPPP/ rule: nothing can serve it (check-config warned)."""
        self._log.warning("call.ppp_without_rule", hint="add a dispatch rule with match = '/AutoPPP/', or set "
                          "autoppp = false")  # fmt: skip
        detail = "a PPP peer called but this port has no /AutoPPP/ dispatch rule: PPP callers cannot work here"
        return CallEnd(outcome=Outcome.NO_PPP_RULE, user=AUTOPPP, detail=detail)

    def _prepare_tty(self, *, raw: bool, map_crlf: bool, fd: int | None = None) -> None:
        """The tty mode the program needs (on the port, or on the relay's pty slave ``fd``), and the device
        readable by nobody else while the call is up."""
        try:
            if fd is not None and raw:
                set_raw(fd)
            elif fd is not None:
                set_session_mode(fd, map_crlf=map_crlf)
            elif raw:
                self._port.set_raw_mode()
            else:
                self._port.set_session_mode(map_crlf=map_crlf)
            os.chmod(self._device, 0o600)
        except (OSError, termios.error) as exc:
            self._log.warning("port.session_mode_failed", error=str(exc))

    def _program_tty(self, *, raw: bool, map_crlf: bool) -> tuple[int, int | None]:
        """The program's tty: the modem's own, or (``carrier = "modem-text"``) a pty slave and its master."""
        if self._settings.carrier != "modem-text":
            self._port.pause_reading()  # the program reads the modem itself
            self._prepare_tty(raw=raw, map_crlf=map_crlf)
            return open_for_program(self._device), None
        master, slave = open_pty_pair(self._port.fd)
        self._prepare_tty(raw=raw, map_crlf=map_crlf, fd=slave)
        return slave, master

    def _relay(self, master: int) -> Relay:
        settings = self._settings
        carrier = ModemTextCarrier(
            quiet_s=settings.carrier_quiet_ms / 1000,
            numeric=numeric_results_of(settings.init_chat, settings.init_chat_extra),
        )
        call = self._answered.call
        return Relay(
            self._port, self._line, master=master, clock=self._clock, log=self._log, carrier=carrier,
            line_rate=call.line_rate or call.dte_rate or settings.speed, on_activity=self._line.on_activity,
        )  # fmt: skip

    async def _run_program(
        self, rule: DispatchRule, argv: list[str], *, user: str | None, raw: bool, map_crlf: bool, ppp: bool
    ) -> CallEnd:
        settings = self._settings
        program = argv[0]
        await self._port.drain()
        env = call_environment(self._answered, connect=self._connect, device=self._device, term=settings.term)
        shown_user = "/AutoPPP/" if ppp else user
        base: dict[str, Any] = {"user": shown_user, "program": program}
        try:
            tty, master = self._program_tty(raw=raw, map_crlf=map_crlf)
        except OSError as exc:
            self._log.error("call.program_failed", program=program, error=f"cannot open the tty: {exc}")
            return CallEnd(outcome=Outcome.PROGRAM_FAILED, detail=f"cannot open the tty: {exc}", **base)
        relay = None if master is None else self._relay(master)
        if ppp and self._runtime_dir is not None:
            clear_peer(self._runtime_dir, self._device)
        try:
            session = await Session.start(argv, tty_fd=tty, env=env, user=rule.user)
        except SpawnError as exc:
            self._log.error("call.program_failed", program=program, error=str(exc))
            if relay is not None:
                relay.close()
            return CallEnd(outcome=Outcome.PROGRAM_FAILED, detail=str(exc), **base)
        finally:
            os.close(tty)  # the relay's master sees EIO once the program's session has closed the slave
        if relay is not None:
            relay.start()
        try:
            result = await self._supervised(session, rule, program, user=user, ppp=ppp, relay=relay)
        finally:
            if relay is not None:
                relay.close()
        if ppp and self._runtime_dir is not None:
            peer = read_peer(self._runtime_dir, self._device)
            if peer is not None:
                self._log.info("call.ppp_peer", peer=peer)
                base["user"] = peer  # who authenticated, rather than /AutoPPP/ (what the dialog matched)
        return judge(rule, result, lost_outcome=self._line.lost_outcome, **base)

    async def _supervised(
        self, session: Session, rule: DispatchRule, program: str, *, user: str | None, ppp: bool, relay: Relay | None
    ) -> SessionResult:
        """The program runs: status, lock hand-over, utmp; its end, its last output to the caller."""
        settings = self._settings
        shown_user = "/AutoPPP/" if ppp else user
        self._log.info("call.program_started", program=program, pid=session.pid, user=shown_user,
                       run_as=rule.user, relayed=relay is not None)  # fmt: skip
        self._notifier.status(f"connected {self._connect} user={shown_user or '-'} program={os.path.basename(program)}")
        self._on_program(session.pid)
        accounting_on = rule.utmp and settings.utmp
        if accounting_on:
            ut_user = rule.utmp_name or (user if user else ("ppp" if ppp else "dialin"))
            host = self._answered.call.caller_id or self._connect
            await accounting.write_login(
                device=self._device, ut_id=self._name, pid=session.pid, user=ut_user, host=host, log=self._log
            )
        result = await supervise(session, self._line, grace_s=settings.stop_grace_s, log=self._log)
        self._on_program(os.getpid())
        ended_itself = not result.stopped_by_us and not self._line.lost.is_set()
        if relay is not None and (ended_itself or relay.program_hung_up):
            await relay.finish(DRAIN_TIMEOUT_S)  # after a B0 too: what it wrote before goes out first
        elif ended_itself:
            await drain_output(self._device)
        if accounting_on:  # even if the login record failed in part: never leave a live entry behind
            await accounting.write_logout(
                device=self._device, ut_id=self._name, pid=session.pid, result=result, log=self._log
            )
        return result
