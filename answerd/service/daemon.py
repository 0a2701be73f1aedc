"""The imperative shell for one port: feeds the pure core, carries out its effects, runs each call.

Shape (aioquic's ``transmit()`` pattern): every input — bytes from the port, a timer, the port being
reopened, a call ending — goes into :class:`~answerd.core.AnswerMachine`, and the effects it returns are
carried out in order by :meth:`PortDaemon._apply`. One ``loop.call_at`` handle is re-armed from
``machine.get_timer()`` after every input. ``loop.time()`` is the only clock.

Effects that need ``await`` (reopening the device, running a call) become tasks; the machine waits for
them in a phase of its own (``REOPENING``, ``CONNECTED``), so nothing else can interleave.

A connected call runs in :class:`~answerd.call.runner.CallRunner` (a sequence: settle or silent PPP window, login
dialog, dispatch, the program, clean-up), fed from the same data callback; whether to answer at all is
decided by :mod:`answerd.call.screening` when the machine asks (``AnswerPending``).

This module also owns what spans calls: the UUCP lock (held only while answerd uses the line; while idle
the port is not read and a dial-out program may take it), reload on SIGHUP (applied between calls), the
watchdog (fed only while the line is healthy), SIGUSR1 (answer now) and SIGTERM (hang up, exit 0).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import signal
from dataclasses import dataclass
from typing import Any

import structlog

from answerd.call.runner import CallEnd, CallLine, CallRunner
from answerd.call.screening import Screening, screen_call, screen_now
from answerd.config import ConfigError, PortSettings, load_config
from answerd.core import (
    Answered,
    AnswerMachine,
    AnswerPending,
    CallEnded,
    CallRecord,
    Effect,
    Fatal,
    FatalReason,
    FlushInput,
    Outcome,
    Phase,
    Ready,
    Reopen,
    Report,
    SetDtr,
    Status,
    Write,
)
from answerd.core._policy import cid_needs_rings
from answerd.line.lock import LockDirWatch, LockError, UucpLock, wait_until_free
from answerd.line.port import LineSettings, ModemControl, PortOpenError, SerialPort
from answerd.service.exitcodes import ExitCode
from answerd.service.notify import Notifier

__all__ = ["ExitCode", "PortDaemon"]


#: How long the port may stay missing after a call (USB re-enumeration) before answerd gives up.
REOPEN_PATIENCE_S = 15.0


def _line_settings(name: str, settings: PortSettings) -> LineSettings:
    return LineSettings(
        path=settings.device_path(name),
        speed=settings.speed,
        rtscts=settings.flow_control == "rtscts",
        modem_control=ModemControl(settings.modem_control),
        close_timeout_s=settings.close_timeout_s,
    )


@dataclass(frozen=True, slots=True)
class _Sent:
    """What was written to the modem, for the log: the write happens at once, the record in its turn."""

    data: bytes


class PortDaemon:
    """Answers calls on one port until stopped or until the port cannot go on."""

    def __init__(
        self, name: str, settings: PortSettings, *, notifier: Notifier, config_path: str | None = None
    ) -> None:
        self.name = name
        self.settings = settings
        self._config_path = config_path
        self._notifier = notifier
        self._machine = AnswerMachine(settings.to_profile())
        self._line = _line_settings(name, settings)
        self._reload: PortSettings | None = None
        self._watchdog: asyncio.TimerHandle | None = None
        # UUCP locking: answerd holds the line's lock only while it talks to the modem; while idle it holds
        # none and does not read the port (mgetty's "wait without reading"), so a dial-out program can take
        # the line at any moment.
        self._lock: UucpLock | None = None
        self._lock_watch: LockDirWatch | None = None
        self._idle_watch = False
        # port is bound on the logger itself, not in contextvars: signal handlers and loop callbacks run
        # outside the run() task's context and must still say which port they are about.
        self._log = structlog.get_logger("answerd").bind(port=name)
        self._port: SerialPort | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at: float | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._call: CallLine | None = None
        self._done = asyncio.Event()
        self._stopping = False
        self._reload_checking = False
        self._reload_again = False
        self._telling: list[Effect | _Sent] | None = None  # log/notify effects waiting for the current step's actions
        self._exit_code = ExitCode.OK
        self._fallback_warned = False
        self._tty_owner: tuple[int, int, int] | None = None

    # ------------------------------------------------------------------ lifecycle

    async def run(self) -> int:
        """Run until SIGTERM/SIGINT or a fatal condition; return the exit code."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.request_stop)
        loop.add_signal_handler(signal.SIGHUP, self.request_reload)
        loop.add_signal_handler(signal.SIGUSR1, self._answer_now)
        self._log.info("port.starting", device=self._line.path, speed=self._line.speed)
        screening_on = bool(self.settings.caller_filter or self.settings.decision_program or self.settings.caller_init)
        if (warning := cid_needs_rings(self.settings.rings, screening_on)) is not None:
            self._log.warning("config.caller_id_rings", warning=warning)
        self._start_watchdog()
        try:
            if await self._open_port(patience_s=0.0):
                self._apply(self._machine.port_opened(loop.time(), dtr_hangs_up=self._dtr_hangs_up()))
            await self._done.wait()
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1):
                loop.remove_signal_handler(sig)
            if self._watchdog is not None:
                self._watchdog.cancel()
            await self._shutdown()
        return self._exit_code

    # ------------------------------------------------------------------ reload and watchdog

    def request_reload(self) -> None:
        """Re-read the configuration (SIGHUP, ``systemctl reload``); apply it at the next idle moment.

        The file is checked in-process (:func:`answerd.config.load_config`). An invalid new
        file is logged with every problem and the running configuration is kept:
        a typo made while a line is in use must not take the line down.
        """
        if self._config_path is None or self._stopping:
            return
        if self._reload_checking:
            self._reload_again = True  # the file may have changed after the running check read it
            return
        self._reload_checking = True
        self._spawn(self._reload_config(self._config_path))

    async def _reload_config(self, path: str) -> None:
        try:
            new = await self._checked_settings(path)
            while self._reload_again and not self._stopping:
                self._reload_again = False
                new = await self._checked_settings(path)
        finally:
            self._reload_checking = False
        if new is None or self._stopping:
            return
        if new == self.settings and self._reload is None:
            self._log.info("config.reloaded", changed=False)
            self._notifier.reloading()
            self._notifier.ready()
            return
        self._log.info("config.reload_pending", phase=self._machine.phase.value)
        self._reload = new
        self._apply_reload_if_idle()
        if self._reload is not None:
            # Not now (a call is up): RELOADING=1 is sent when the change is applied, so the unit does not
            # sit in "reloading" for the length of a call.
            self._notifier.status("configuration reload pending until the line is idle")

    async def _checked_settings(self, path: str) -> PortSettings | None:
        """This port's settings from the file at ``path``, or None (logged) if the file cannot be used."""
        try:
            return load_config(path).port(self.name)
        except ConfigError as exc:
            self._log.error("config.reload_failed", source=exc.source, errors="; ".join(exc.errors))
            self._notifier.status(f"reload failed, keeping the old configuration: {exc.errors[0]}")
        except Exception as exc:  # a bug must not take a line in use down: keep what works, report it
            self._log.error("config.reload_failed", source=path, errors=repr(exc), exc_info=exc)
            self._notifier.status("reload failed (internal error), keeping the old configuration")
        return None

    def _take_reload(self) -> bool:
        """Switch to the pending settings (between calls only); return whether there were any."""
        new = self._reload
        if new is None:
            return False
        self._reload = None
        self._notifier.reloading()  # READY=1 follows once the modem is initialised with the new settings
        old = self.settings
        self.settings = new
        self._line = _line_settings(self.name, new)
        if (new.device, new.lock_dir, new.locking) != (old.device, old.lock_dir, old.locking):
            self._release_lock()  # the next open takes the lock of the (new) line
            self._lock = None
        self._machine.set_profile(new.to_profile(), announce_ready=True)
        self._log.info("config.reloaded", changed=True)
        return True

    def _apply_reload_if_idle(self) -> None:
        if self._reload is None or self._machine.phase is not Phase.IDLE:
            return
        if self._idle_watch and not self._claim_line():
            return  # a dial-out program has the line; the reload applies when it gives it back
        if self._take_reload():
            self._apply(self._machine.reinitialize(asyncio.get_running_loop().time()))

    def _start_watchdog(self) -> None:
        interval = self._notifier.watchdog_interval_s
        if interval is None:
            return

        def tick() -> None:
            # Only a healthy line keeps the service alive: a modem that stopped answering gets answerd
            # restarted by systemd (WatchdogSec=) even though the event loop itself is fine.
            if self._machine.healthy:
                self._notifier.watchdog()
            else:
                self._log.warning("watchdog.withheld", phase=self._machine.phase.value)
            self._watchdog = asyncio.get_running_loop().call_later(interval, tick)

        self._notifier.watchdog()
        self._watchdog = asyncio.get_running_loop().call_later(interval, tick)

    def request_stop(self) -> None:
        """Stop answering: end a call in progress, hang up, exit 0 (SIGTERM)."""
        if self._stopping:
            return
        self._stopping = True
        self._log.info("port.stopping")
        self._notifier.stopping()
        if self._call is not None:
            self._call.drop("shutdown")  # the call stage ends the session and finishes the call, then _done
        else:
            self._done.set()

    def _fail(self, code: int) -> None:
        if self._exit_code == ExitCode.OK:
            self._exit_code = code
        self._stopping = True
        self._done.set()

    async def _shutdown(self) -> None:
        for task in list(self._tasks):
            if not task.done():
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await asyncio.wait_for(asyncio.shield(task), self.settings.stop_grace_s * 3 + 1)
        self._cancel_timer()
        if self._machine.phase not in {Phase.STOPPED, Phase.FAILED, Phase.CONNECTED}:
            self._apply(self._machine.shutdown(asyncio.get_running_loop().time()))
        if self._port is not None:
            # Drop DTR before closing: HUPCL does it too on a real line, but on a line without modem control
            # only speed B0 tells the modem to hang up.
            with contextlib.suppress(OSError):
                self._port.lines.set_dtr(False)
            self._stop_idle_watch()  # before the close: the fd number must not be watched once it is gone
            await self._port.close()
            self._port = None
        self._stop_idle_watch()
        if self._lock is not None:
            with contextlib.suppress(OSError):
                self._lock.release()
        self._log.info("port.stopped", exit_code=self._exit_code)

    # ------------------------------------------------------------------ the port

    async def _open_port(self, patience_s: float) -> bool:
        """Take the line's lock, open the device (retrying for ``patience_s`` if it is missing)."""
        if not await self._take_lock():
            return False
        loop = asyncio.get_running_loop()
        deadline = loop.time() + patience_s
        delay = 0.25
        while True:
            try:
                self._port = await SerialPort.open(
                    self._line, on_data=self._on_data, on_lost=self._on_lost, on_fallback=self._on_fallback
                )
                self._remember_tty_owner()
                if self.settings.open_delay_ms:
                    await asyncio.sleep(self.settings.open_delay_ms / 1000)
                    self._port.flush_input()
                return True
            except PortOpenError as exc:
                missing = exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO)
                if missing and loop.time() + delay <= deadline and not self._stopping:
                    await asyncio.sleep(delay)
                    delay = min(delay * 2, 2.0)
                    continue
                code = {
                    errno.EBUSY: ExitCode.TEMPFAIL,
                    errno.EACCES: ExitCode.NOPERM,
                    errno.EPERM: ExitCode.NOPERM,
                }.get(exc.errno or 0, ExitCode.UNAVAILABLE)
                self._log.error("port.open_failed", error=str(exc), exit_code=code)
                self._notifier.status(f"cannot open {self._line.path}: {exc}")
                self._fail(code)
                return False

    def _dtr_hangs_up(self) -> bool:
        return self._port is not None and self._port.lines.kind == "tiocm"

    def _on_fallback(self, reason: str) -> None:
        if not self._fallback_warned:
            self._fallback_warned = True
            self._log.warning("port.no_modem_lines", reason=reason)

    def _remember_tty_owner(self) -> None:
        if self._tty_owner is None:
            with contextlib.suppress(OSError):
                st = os.stat(self._line.path)
                self._tty_owner = (st.st_mode & 0o7777, st.st_uid, st.st_gid)

    def _restore_tty_owner(self) -> None:
        if self._tty_owner is not None:
            mode, uid, gid = self._tty_owner
            with contextlib.suppress(OSError):
                os.chown(self._line.path, uid, gid)
                os.chmod(self._line.path, mode)

    def _on_data(self, data: bytes) -> None:
        now = asyncio.get_running_loop().time()
        if self._call is not None:
            self._call.receive(data)
            return
        if self._machine.reading:
            self._apply(self._machine.receive_data(data, now))
        else:
            self._log.debug("port.data_dropped", bytes=len(data), phase=self._machine.phase.value)

    def _on_lost(self, exc: Exception | None) -> None:
        now = asyncio.get_running_loop().time()
        self._log.debug("port.hangup", error=str(exc) if exc else None)
        if self._call is not None:
            self._call.drop("carrier")
        elif self._machine.reading:
            self._apply(self._machine.port_lost(now))

    # ------------------------------------------------------------------ effects

    def _apply(self, effects: list[Effect]) -> None:
        """Carry out the core's effects: first everything that acts, then, in order, everything that tells.

        Log records and sd_notify messages (Status, Report, Ready, CallEnded) wait until the effects that act
        on the line are done, here and in any nested step (screening's decision, for one), so that ``ATA``
        leaves as soon as the core has decided on it rather than after the log lines and notify messages of
        the RING that led to it. They keep their order among themselves.
        """
        outermost = self._telling is None
        if outermost:
            self._telling = []
        try:
            self._act(effects)
        finally:
            if outermost:
                telling, self._telling = self._telling, None
                for effect in telling or ():
                    self._tell(effect)

    def _tell(self, effect: Effect | _Sent) -> None:
        match effect:
            case _Sent(data=data):
                self._log.debug("modem.send", data=data)
            case Status(text=text):
                self._notifier.status(text)
                self._log.info("port.status", status=text)
            case Report(event=event, fields=fields, level=level):
                self._log.log(_LEVELS.get(level, 20), event, **dict(fields))
            case Ready():
                self._notifier.ready()
                self._log.info(
                    "port.ready",
                    device=self._line.path,
                    lines=self._port.lines.kind if self._port else None,
                )
            case CallEnded(record=record):
                self._log_call(record)

    def _act(self, effects: list[Effect]) -> None:
        for effect in effects:
            match effect:
                case Status() | Report() | Ready() | CallEnded():
                    assert self._telling is not None  # _act runs inside _apply
                    self._telling.append(effect)
                case Write(data=data):
                    if self._port is not None:
                        self._port.write(data)
                    assert self._telling is not None
                    self._telling.append(_Sent(data))  # logged in its place among the step's records
                case SetDtr(high=high):
                    self._set_dtr(high)
                case FlushInput():
                    if self._port is not None:
                        self._port.flush_input()
                case Reopen():
                    self._spawn(self._reopen())
                case Answered():
                    self._spawn(self._run_call(effect))
                case AnswerPending(call=record):
                    quick = screen_now(settings=self.settings, port=self.name, record=record)
                    if quick is None:  # the decision program has to be asked: that takes a task
                        self._spawn(self._screen(record))
                    else:
                        self._decided(record, quick)
                case Fatal(reason=reason, detail=detail):
                    self._log.error("modem.failed", reason=reason.value, detail=detail)
                    modem = {FatalReason.MODEM_INIT_FAILED, FatalReason.MODEM_DEAD}
                    code = ExitCode.UNAVAILABLE if reason in modem else ExitCode.INTERNAL_ERROR
                    self._fail(code)
        self._rearm_timer()
        if self._reload is not None:
            self._apply_reload_if_idle()
        if self._machine.phase is Phase.IDLE and not self._idle_watch:
            self._start_idle_watch()

    def _set_dtr(self, high: bool) -> None:
        if self._port is None:
            return
        try:
            self._port.lines.set_dtr(high)
        except OSError as exc:
            self._log.warning("port.dtr_failed", high=high, error=exc.strerror or str(exc))

    def _spawn(self, coro: Any) -> None:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            self._log.error("internal.error", error=repr(task.exception()), exc_info=task.exception())
            self._fail(ExitCode.INTERNAL_ERROR)

    def _rearm_timer(self) -> None:
        deadline = self._machine.get_timer()
        if deadline == self._timer_at:
            return
        self._cancel_timer()
        if deadline is not None:
            self._timer = asyncio.get_running_loop().call_at(deadline, self._on_timer)
            self._timer_at = deadline

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = None
        self._timer_at = None

    def _on_timer(self) -> None:
        self._timer = None
        self._timer_at = None
        if self._idle_watch and not self._claim_line():
            return  # a dial-out program has the line: the health check waits for the modem to come back
        self._apply(self._machine.handle_timer(asyncio.get_running_loop().time()))

    def _log_call(self, record: CallRecord) -> None:
        self._log.info(
            "call.ended",
            call_id=record.call_id,
            outcome=record.outcome.value,
            caller_id=record.caller_id,
            caller_name=record.caller_name,
            called_id=record.called_id,
            rings=record.rings,
            connect=record.connect,
            user=record.user,
            program=record.program,
            exit_status=record.exit_status,
            signal=signal.Signals(record.signal).name if record.signal else None,
            duration_s=round(record.duration_s, 3),
            detail=record.detail,
            statistics=" | ".join(record.statistics) if record.statistics else None,
        )

    # ------------------------------------------------------------------ UUCP lock and dial-out

    async def _take_lock(self) -> bool:
        """Hold the line's UUCP lock, waiting while a dial-out program has it. False: answerd is stopping."""
        if not self.settings.locking:
            return True
        if self._lock is None:
            self._lock = UucpLock(self._line.path, lock_dir=self.settings.lock_dir)
        while not self._stopping:
            try:
                if self._lock.acquire():
                    return True
                holder = self._lock.holder()
                self._log.info("port.line_in_use", holder=holder, lock=self._lock.path)
                self._notifier.status(f"line in use by pid {holder} (dial-out), waiting")
                await wait_until_free(self._lock)
            except LockError as exc:
                # A missing or read-only lock directory must not stop the answering: say so and go on.
                self._log.error("lock.unusable", error=str(exc), lock_dir=self.settings.lock_dir)
                self._lock = None
                return True
        return False

    def _release_lock(self) -> None:
        if self._lock is not None:
            try:
                self._lock.release()
            except LockError as exc:
                self._log.warning("lock.release_failed", error=str(exc))

    def _start_idle_watch(self) -> None:
        """Idle: give the lock back, stop reading, and wake only when the modem speaks or a lock appears."""
        if self._lock is None or self._port is None:
            return
        loop = asyncio.get_running_loop()
        self._release_lock()
        self._port.pause_reading()
        loop.add_reader(self._port.fd, self._on_idle_activity)
        if self._lock_watch is None:
            try:
                self._lock_watch = LockDirWatch(self.settings.lock_dir, appear_only=True)
            except OSError as exc:
                self._log.warning("lock.watch_unavailable", error=str(exc))
        if self._lock_watch is not None:
            loop.add_reader(self._lock_watch.fileno(), self._on_lock_dir_event)
        self._idle_watch = True

    def _stop_idle_watch(self) -> None:
        if not self._idle_watch:
            return
        loop = asyncio.get_running_loop()
        if self._port is not None:
            loop.remove_reader(self._port.fd)
        if self._lock_watch is not None:
            loop.remove_reader(self._lock_watch.fileno())
        self._idle_watch = False

    def _claim_line(self) -> bool:
        """Leave the idle watch holding the lock and reading; False (and the line yielded) if it is taken."""
        assert self._lock is not None
        try:
            taken = self._lock.acquire()
        except LockError as exc:
            self._log.error("lock.unusable", error=str(exc))
            taken = True
        if not taken:
            self._yield_line(self._lock.holder())
            return False
        self._stop_idle_watch()
        if self._port is not None:
            self._port.resume_reading()
        return True

    def _on_idle_activity(self) -> None:
        """The modem sent something while idle (a RING, or a dial-out program's modem talking)."""
        if self._idle_watch:
            self._claim_line()

    def _on_lock_dir_event(self) -> None:
        assert self._lock_watch is not None
        names = self._lock_watch.read_events()
        if not self._idle_watch or self._lock is None:
            return
        # Another line's lock (a pool's every call) is not looked at: "" means the queue overflowed.
        ours = any(name == "" or name in self._lock.names for name in names)
        if ours and (holder := self._lock.holder()) is not None:
            self._yield_line(holder)

    def _yield_line(self, holder: int | None) -> None:
        """A dial-out program took the line: close the port until its lock is gone, then re-initialise."""
        self._stop_idle_watch()
        self._log.info("port.dialout", holder=holder)
        now = asyncio.get_running_loop().time()
        self._apply(self._machine.suspend(now, f"line in use by pid {holder} (dial-out)"))
        self._spawn(self._after_dialout())

    async def _after_dialout(self) -> None:
        if self._port is not None:
            await self._port.close()
            self._port = None
        if await self._open_port(patience_s=REOPEN_PATIENCE_S):
            self._log.info("port.dialout_ended")
            self._apply(self._machine.port_opened(asyncio.get_running_loop().time(), dtr_hangs_up=self._dtr_hangs_up()))
        elif self._stopping:
            self._done.set()

    def _hand_lock_to(self, pid: int) -> None:
        """The call's program holds the line now (pppd's own ``lock`` then accepts it, as with mgetty)."""
        if self._lock is not None:
            try:
                self._lock.hand_over(pid)
            except LockError as exc:
                self._log.warning("lock.hand_over_failed", pid=pid, error=str(exc))

    async def _reopen(self) -> None:
        self._stop_idle_watch()  # before the close: the old fd number must not stay watched
        if self._port is not None:
            await self._port.close()
            self._port = None
        if self._stopping:
            self._done.set()
            return
        self._take_reload()  # between calls: a pending reload takes effect with this open
        if await self._open_port(patience_s=REOPEN_PATIENCE_S):
            self._apply(self._machine.port_opened(asyncio.get_running_loop().time(), dtr_hangs_up=self._dtr_hangs_up()))

    # ------------------------------------------------------------------ a connected call

    async def _run_call(self, answered: Answered) -> None:
        loop = asyncio.get_running_loop()
        line = CallLine()
        line.receive(answered.trailing_data)
        self._call = line
        port = self._port
        assert port is not None
        structlog.contextvars.bind_contextvars(call_id=answered.call.call_id)
        end = CallEnd(outcome=Outcome.PROGRAM_FAILED, detail="internal error in the call stage")
        try:
            runner = CallRunner(
                port_name=self.name,
                device=self._line.path,
                settings=self.settings,
                port=port,
                answered=answered,
                line=line,
                notifier=self._notifier,
                log=self._log,
                on_program=self._hand_lock_to,
            )
            end = await runner.run()
        finally:
            self._call = None
            self._restore_tty_owner()
            structlog.contextvars.unbind_contextvars("call_id")
            self._apply(self._machine.call_finished(loop.time(), **end.fields()))
            if self._stopping:
                self._done.set()

    async def _screen(self, record: CallRecord) -> None:
        """Busy-out, caller filter, decision program: then tell the machine."""
        self._decided(record, await screen_call(settings=self.settings, port=self.name, record=record, log=self._log))

    def _decided(self, record: CallRecord, screening: Screening) -> None:
        """Hand the screening's verdict to the machine (it reports call.rejected / call.busy_out itself)."""
        now = asyncio.get_running_loop().time()
        self._apply(
            self._machine.decide(now, record.call_id, screening.verdict, reason=screening.reason, chat=screening.chat)
        )

    def _answer_now(self) -> None:
        """SIGUSR1: answer the ringing call now, or the next one at its first RING."""
        self._log.info("call.answer_now_requested", phase=self._machine.phase.value)
        if self._call is None and not self._stopping:
            self._apply(self._machine.answer_now(asyncio.get_running_loop().time()))


_LEVELS = {"debug": 10, "info": 20, "warning": 30, "error": 40}
