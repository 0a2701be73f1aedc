"""The imperative shell for one port: feeds the pure core, carries out its effects in order, runs each call.

Shape (aioquic's ``transmit()`` pattern): every input — bytes from the port, a timer, the port being
reopened, a call ending — goes into :class:`~answerd.core.AnswerMachine`, and the effects it returns are
carried out one after the other by :meth:`PortDaemon._apply`. One timer is re-armed from
``machine.get_timer()`` after every input. The injected :class:`~answerd.clock.Clock` is the only
clock, and the injected port factory the only way to the device, so tests run this class in-process
against the simulated modem's core.

Effects that need ``await`` (reopening the device, running a call) become tasks; the machine waits for
them in a phase of its own (``REOPENING``, ``CONNECTED``), so nothing else can interleave.

Who owns the line is the core's call (``ReleaseLine``, ``ClaimLine``) and :mod:`answerd.line.owner`'s
business; a connected call runs in :class:`~answerd.call.runner.CallRunner`; whether to answer is decided
by :mod:`answerd.call.screening`; reload is :mod:`answerd.service.reload`, the watchdog
:mod:`answerd.service.watchdog`. What is left here: the port's life cycle, carrying out the effects, and
the signals (SIGHUP reload, SIGUSR1 answer now, SIGTERM stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import signal
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, cast

import structlog

from answerd import __version__
from answerd.call.outcome import record_fields
from answerd.call.runner import CallEnd, CallLine, CallRunner
from answerd.call.screening import Screening, nologin_path, screen_call, screen_now
from answerd.clock import Clock, LoopClock, TimerHandle
from answerd.config import PortSettings
from answerd.core import (
    STOP_HANGUP_S,
    Answered,
    AnswerMachine,
    AnswerPending,
    CallEnded,
    CallRecord,
    CheckCarrier,
    ClaimLine,
    Effect,
    Fatal,
    FatalReason,
    FlushInput,
    Outcome,
    Phase,
    Ready,
    ReleaseLine,
    Reopen,
    Report,
    SetDtr,
    Status,
    Write,
    cid_needs_rings,
    cid_switched_off,
)
from answerd.line.owner import REOPEN_PATIENCE_S, LineOwner, Ours, PortCallbacks
from answerd.line.port import Port, PortFactory, PortOpenError, SerialPort
from answerd.line.trace import line_trace, traced_factory
from answerd.service.exitcodes import ExitCode
from answerd.service.line_setup import line_kind, line_settings, new_owner, owner_changed
from answerd.service.notify import Notifier
from answerd.service.reload import ConfigReloader, runtime_dir
from answerd.service.state import StateKeeper
from answerd.service.watchdog import Watchdog

__all__ = ["REOPEN_PATIENCE_S", "ExitCode", "PortDaemon", "RunCall"]

#: Runs one connected call to its end: the default builds a :class:`CallRunner`; tests pass a stand-in.
RunCall = Callable[[Answered, CallLine], Awaitable[CallEnd]]

_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}


class PortDaemon:
    """Answers calls on one port until stopped or until the port cannot go on."""

    def __init__(
        self,
        name: str,
        settings: PortSettings,
        *,
        notifier: Notifier,
        config_path: str | None = None,
        port_factory: PortFactory = SerialPort.open,
        clock: Clock | None = None,
        verdict_dir: str | None = None,
        run_call: RunCall | None = None,
    ) -> None:
        """Describe the port; nothing is opened until :meth:`run`.

        Args:
            config_path: the file to re-read on SIGHUP (none: reloads are ignored).
            port_factory: opens the device (``SerialPort.open``; a fake in tests).
            clock: the only clock (the event loop's by default).
            verdict_dir: where reload verdicts and the state file are published (``$RUNTIME_DIRECTORY`` or
                /run/answerd).
        """
        self.name = name
        self.settings = settings
        self._run_call_with = run_call or self._call_runner
        self._clock = clock or LoopClock()
        # port is bound on the logger itself, not in contextvars: signal handlers and loop callbacks run
        # outside the run() task's context and must still say which port they are about.
        self._log = structlog.get_logger("answerd").bind(port=name)
        trace = line_trace(settings.trace_line, port=name, now=self._clock.now, warn=self._log.warning)
        self._open_port_with = traced_factory(port_factory, trace)  # trace_line: read at start, not on reload
        # Every STATUS= passes through the state file's keeper, so `answerd status` says what systemd says.
        self._runtime_dir = verdict_dir or runtime_dir()
        self._state = StateKeeper(name, notifier, directory=self._runtime_dir, log=self._log,
                                  phase=lambda: self._machine.phase.value,
                                  busy_file=lambda: nologin_path(self.settings, self.name))  # fmt: skip
        self._notifier: Notifier = self._state
        self._machine = AnswerMachine(settings.to_profile())
        self._line = line_settings(name, settings)
        self._owner = self._new_owner()
        self._reloader = None
        if config_path is not None:
            self._reloader = ConfigReloader(name, config_path, directory=self._runtime_dir, notifier=self._state,
                                            log=self._log)  # fmt: skip
        self._port: Port | None = None
        self._callbacks = PortCallbacks(on_data=self._on_data, on_lost=self._on_lost, on_fallback=self._on_fallback)
        self._released = False  # ReleaseLine carried out: idle, lock given back, port not read
        self._timer: TimerHandle | None = None
        self._timer_at: float | None = None
        self._watchdog = Watchdog(
            notifier, self._clock, lambda: self._machine.healthy, lambda: self._machine.phase.value, self._log
        )
        self._tasks: set[asyncio.Task[None]] = set()
        self._call: CallLine | None = None
        self._done = asyncio.Event()
        self._stopping = False
        self._exit_code = ExitCode.OK
        self._exit_why: str | None = None
        self._fallback_warned = False

    def _new_owner(self) -> LineOwner:
        return new_owner(self._line.path, self.settings, clock=self._clock, log=self._log, show=self._notifier.status)

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT or a fatal condition; return the exit code."""
        loop = asyncio.get_running_loop()
        handlers = {signal.SIGTERM: self.request_stop, signal.SIGINT: self.request_stop,
                    signal.SIGHUP: self.request_reload, signal.SIGUSR1: self.answer_now}  # fmt: skip
        for sig, handler in handlers.items():
            loop.add_signal_handler(sig, handler)
        self._log.info("port.starting", device=self._line.path, speed=self._line.speed, version=__version__)
        screening_on = bool(self.settings.caller_filter or self.settings.decision_program or self.settings.caller_init)
        if (warning := cid_needs_rings(self.settings.rings, screening_on)) is not None:
            self._log.warning("config.caller_id_rings", warning=warning)
        if (warning := cid_switched_off(self.settings.caller_id == "off", screening_on)) is not None:
            self._log.warning("config.caller_id_off", warning=warning)
        if self._reloader is not None:
            self._reloader.publish_start()
        leftover = self._state.left_behind()  # read before start() replaces the dead daemon's file
        self._state.start()
        self._watchdog.start()
        try:
            await self._owner.hang_up_leftover(leftover, grace_s=self.settings.stop_grace_s)
            # A start that has to wait for the line (a dial-out has it, no lock can be made) is still a start:
            # READY=1 now, with the status saying why no call is answered. Waiting for READY instead would
            # run into TimeoutStartSec= and restarts that cannot change anything (issue 10.3).
            if await self._open_line(patience_s=0.0, waiting=self._notifier.ready):
                self._apply(self._machine.port_opened(self._clock.now(), **line_kind(self._port)))
            await self._done.wait()
        finally:
            for sig in handlers:
                loop.remove_signal_handler(sig)
            await self._shutdown()
        return self._exit_code

    def request_stop(self) -> None:
        """Stop answering: end a call in progress, hang up, exit 0 (SIGTERM)."""
        if self._stopping:
            return
        self._stopping = True
        self._log.info("port.stopping")
        self._notifier.stopping()
        self._owner.interrupt()  # a wait for a dial-out program or a lockable directory ends now
        if self._call is not None:
            self._call.drop("shutdown")  # the call stage ends the session and finishes the call, then _done
        else:
            self._done_after_hangup()

    def _done_after_hangup(self) -> None:
        """Stop now, or once the hang-up after a call is over (its ``Reopen`` ends the daemon while stopping):
        a modem that ignores DTR is escaped and ``ATH0``-ed, not left online. Bounded by ``STOP_HANGUP_S``."""
        if self._machine.phase is Phase.HANGING_UP:
            self._clock.call_at(self._clock.now() + STOP_HANGUP_S, self._done.set)
        else:
            self._done.set()

    def _fail(self, code: int, why: str) -> None:
        if self._exit_code == ExitCode.OK:
            self._exit_code, self._exit_why = code, why
        self._stopping = True
        self._owner.interrupt()
        self._done.set()

    async def _shutdown(self) -> None:
        """Every exit path: hang up and close whatever state the device is in, and always free the lock."""
        try:
            self._watchdog.stop()
            for task in list(self._tasks):
                if not task.done():
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await asyncio.wait_for(asyncio.shield(task), self.settings.stop_grace_s * 3 + 1)
            self._cancel_timer()
            if self._machine.phase not in {Phase.STOPPED, Phase.FAILED, Phase.CONNECTED}:
                self._apply(self._machine.shutdown(self._clock.now()))
            if self._port is not None:
                # Drop DTR before closing: HUPCL does it too on a real line, but on a line without modem
                # control only speed B0 tells the modem to hang up. A vanished device refuses: nothing to do.
                self._set_dtr(False)
                await self._close_port()
        finally:
            self._owner.release()
            if self._reloader is not None:
                self._reloader.withdraw()
            self._state.stopped(self._exit_code, self._exit_why)  # STATUS= says why, not "stopping"
            self._log.info("port.stopped", exit_code=self._exit_code)

    # ------------------------------------------------------------------ reload

    def request_reload(self) -> None:
        """SIGHUP (``answerd reload``): check the file now; apply it between calls, or keep the old one."""
        if self._reloader is None or self._stopping:
            return
        if not self._reloader.request(self.settings, idle=self._released):
            return
        if self._released:
            self._apply(self._machine.reinitialize(self._clock.now()))  # claims the line, then reopens
        elif self._port is None:
            self._owner.wake()  # waiting for the line: the new settings may name another lock directory

    def _take_reload(self) -> None:
        """Switch to the settings a reload accepted (between calls only: the port is closed)."""
        new = None if self._reloader is None else self._reloader.take()
        if new is None:
            return
        old, self.settings = self.settings, new
        self._line = line_settings(self.name, new)
        if owner_changed(old, new):
            self._owner.release()
            self._owner = self._new_owner()  # the next open takes the lock of the (new) line, sets its ownership
        self._machine.set_profile(new.to_profile(), announce_ready=True)  # READY=1 after the next init

    # ------------------------------------------------------------------ the line: lock, open, close

    async def _open_line(self, patience_s: float, waiting: Callable[[], None] | None = None) -> bool:
        """Hold the line (waiting while someone else has it), then open the device. False: not opened.

        A reload accepted while waiting is applied at once: it may name another lock directory or device.
        """
        while not self._stopping:
            self._take_reload()  # between calls: a pending reload takes effect with this open
            if await self._owner.take(waiting=waiting, give_up=self._reload_pending):
                return await self._open_port(patience_s)
            waiting = None
        return False

    def _reload_pending(self) -> bool:
        return self._reloader is not None and self._reloader.pending

    async def _open_port(self, patience_s: float) -> bool:
        """Open the device (waiting ``patience_s`` for it to appear); a failure ends the daemon, logged."""
        try:
            self._port = await self._owner.open_device(
                self._open_port_with, self._line, patience_s=patience_s, callbacks=self._callbacks
            )
        except PortOpenError as exc:
            self._open_failed(exc)
            return False
        return True

    def _open_failed(self, exc: PortOpenError) -> None:
        if self._stopping:
            return
        code = {errno.EBUSY: ExitCode.TEMPFAIL, errno.EACCES: ExitCode.NOPERM,
                errno.EPERM: ExitCode.NOPERM}.get(exc.errno or 0, ExitCode.UNAVAILABLE)  # fmt: skip
        self._log.error("port.open_failed", error=str(exc), exit_code=code)
        self._notifier.status(f"cannot open {self._line.path}: {exc}")
        self._fail(code, f"cannot open {self._line.path}: {exc}")

    async def _close_port(self) -> None:
        port, self._port = self._port, None
        self._released = False
        if port is not None:
            await port.close()

    async def _reopen(self) -> None:
        """``Reopen`` (after a call, a loss, a reload) and the way back from a yield: close, wait, open."""
        await self._close_port()
        if await self._open_line(patience_s=REOPEN_PATIENCE_S):
            self._apply(self._machine.port_opened(self._clock.now(), **line_kind(self._port)))
        elif self._stopping:
            self._done.set()

    def _release_line(self) -> None:
        """``ReleaseLine``: idle. A pending reload goes first; else the lock goes back and the port rests."""
        if self._reload_pending():
            self._apply(self._machine.reinitialize(self._clock.now()))
            return
        assert self._port is not None
        self._released = True
        self._owner.let_go(self._port, self._on_idle_readable)

    def _take_line_back(self) -> bool:
        """Before the idle line is read or written: claim it, or yield it (the machine suspended, reopened)."""
        assert self._port is not None
        claim = self._owner.take_back(self._port)
        if isinstance(claim, Ours):
            self._released = False
            return True
        self._apply(self._machine.suspend(self._clock.now(), claim.describe()))
        self._spawn(self._reopen())
        return False

    def _on_idle_readable(self) -> None:
        """The idle line has input (a RING, or a dial-out program's modem): whose is it? Not a byte read yet."""
        if self._released and self._take_line_back():
            self._log.debug("port.line_claimed", reason="input")

    def _claim_line(self) -> None:
        """``ClaimLine``: the idle machine wants to write (health check, re-init)."""
        if not self._released or self._take_line_back():
            self._apply(self._machine.line_claimed(self._clock.now()))

    def _on_fallback(self, reason: str) -> None:
        if not self._fallback_warned:
            self._fallback_warned = True
            self._log.warning("port.no_modem_lines", reason=reason)

    def _on_data(self, data: bytes) -> None:
        if self._call is not None:
            self._call.receive(data)
        elif self._machine.reading:
            self._apply(self._machine.receive_data(data, self._clock.now()))
        else:
            self._log.debug("port.data_dropped", bytes=len(data), phase=self._machine.phase.value)

    def _on_lost(self, exc: Exception | None) -> None:
        self._log.debug("port.hangup", error=str(exc) if exc else None)
        if self._call is not None:
            self._call.drop("carrier")
        elif self._machine.reading:
            self._apply(self._machine.port_lost(self._clock.now()))

    # ------------------------------------------------------------------ effects

    def _apply(self, effects: list[Effect]) -> None:
        """Carry out the core's effects, in the order given (the log and sd_notify in their places)."""
        for effect in effects:
            match effect:
                case Write(data=data):
                    if self._port is not None:
                        self._port.write(data)
                    self._log.debug("modem.send", data=data)
                case SetDtr(high=high):
                    self._set_dtr(high)
                case CheckCarrier():
                    self._check_carrier()
                case FlushInput():
                    if self._port is not None:
                        self._port.flush_input()
                case ReleaseLine():
                    self._release_line()
                case ClaimLine():
                    self._claim_line()
                case Reopen():
                    self._spawn(self._reopen())
                case Answered(connect=connect, call=record):
                    self._state.caller(record.caller_id, record.caller_name)
                    self._state.connected(connect.text or connect.line, connect.rate, effect.carrier_details)
                    self._spawn(self._run_call(effect))
                case AnswerPending(call=record):
                    self._state.caller(record.caller_id, record.caller_name)
                    quick = screen_now(settings=self.settings, port=self.name, record=record)
                    if quick is None:  # the decision program has to be asked: that takes a task
                        self._spawn(self._screen(record))
                    else:
                        self._decided(record, quick)
                case Status(text=text):
                    self._log.info("port.status", status=self._state.say(text))  # busied out, if it is
                case Report(event=event, fields=fields, level=level):
                    self._log.log(_LEVELS.get(level, 20), event, **dict(fields))
                case Ready():
                    self._notifier.ready()
                    lines = self._port.lines.kind if self._port else None
                    self._log.info("port.ready", device=self._line.path, lines=lines)
                case CallEnded(record=record):
                    self._log.info("call.ended", **record_fields(record))
                    self._state.call_ended(record.outcome.value, record.caller_id, record.detail)
                case Fatal(reason=reason, detail=detail):
                    self._log.error("modem.failed", reason=reason.value, detail=detail)
                    modem = {FatalReason.MODEM_INIT_FAILED, FatalReason.MODEM_DEAD}
                    self._fail(ExitCode.UNAVAILABLE if reason in modem else ExitCode.INTERNAL_ERROR, detail)
        self._rearm_timer()

    def _set_dtr(self, high: bool) -> None:
        if self._port is not None:
            self._owner.set_dtr(self._port, high)

    def _check_carrier(self) -> None:
        """``CheckCarrier`` (the hang-up waits for DCD to fall): one read, told to the machine."""
        if self._port is not None and (up := self._owner.carrier(self._port)) is not None:
            self._apply(self._machine.carrier_changed(self._clock.now(), up=up))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("internal.error", error=repr(task.exception()), exc_info=task.exception())
            self._fail(ExitCode.INTERNAL_ERROR, f"internal error: {task.exception()!r}")

    def _rearm_timer(self) -> None:
        deadline = self._machine.get_timer()
        if deadline == self._timer_at:
            return
        self._cancel_timer()
        if deadline is not None:
            self._timer = self._clock.call_at(deadline, self._on_timer)
            self._timer_at = deadline

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._timer_at = None

    def _on_timer(self) -> None:
        self._timer = self._timer_at = None
        self._apply(self._machine.handle_timer(self._clock.now()))

    # ------------------------------------------------------------------ a call

    async def _run_call(self, answered: Answered) -> None:
        line = CallLine()
        line.receive(answered.trailing_data)
        self._call = line
        assert self._port is not None
        structlog.contextvars.bind_contextvars(call_id=answered.call.call_id)
        end = CallEnd(outcome=Outcome.PROGRAM_FAILED, detail="internal error in the call stage")
        try:
            end = await self._run_call_with(answered, line)
        finally:
            self._call = None
            self._owner.restore_tty(self._line.path)
            structlog.contextvars.unbind_contextvars("call_id")
            if self.settings.hangup_dtr_ms:  # stopping too: a modem that ignores DTR must not stay online
                port, self._port = self._port, None  # nothing uses the port while it may be reopened
                patience_s = 0.0 if self._stopping else REOPEN_PATIENCE_S  # a stop does not wait for a device
                try:
                    self._port = await self._owner.port_for_hangup(
                        port, self._open_port_with, self._line, patience_s=patience_s, callbacks=self._callbacks
                    )
                except PortOpenError as exc:
                    self._open_failed(exc)
            self._apply(self._machine.call_finished(self._clock.now(), **end.fields()))
            if self._stopping:
                self._done_after_hangup()

    async def _call_runner(self, answered: Answered, line: CallLine) -> CallEnd:
        runner = CallRunner(
            port_name=self.name, device=self._line.path, settings=self.settings,
            port=cast(SerialPort, self._port), answered=answered, line=line, notifier=self._notifier,
            log=self._log, on_program=lambda pid: self._state.program(self._owner.hand_to(pid)), clock=self._clock,
            runtime_dir=self._runtime_dir,
        )  # fmt: skip
        return await runner.run()

    async def _screen(self, record: CallRecord) -> None:
        """Busy-out, caller filter, decision program: then tell the machine."""
        self._decided(record, await screen_call(settings=self.settings, port=self.name, record=record, log=self._log))

    def _decided(self, record: CallRecord, screening: Screening) -> None:
        """Hand the screening's verdict to the machine (it reports call.rejected / call.busy_out itself)."""
        now = self._clock.now()
        self._apply(self._machine.decide(now, record.call_id, screening.verdict, reason=screening.reason,
                                         chat=screening.chat))  # fmt: skip

    def answer_now(self) -> None:
        """SIGUSR1: answer the ringing call now, or the next one at its first RING."""
        self._log.info("call.answer_now_requested", phase=self._machine.phase.value)
        if self._call is None and not self._stopping:
            self._apply(self._machine.answer_now(self._clock.now()))
