"""Who has the line: answerd's UUCP lock, given back while idle, yielded to a dial-out program, taken again.

The core says when: ``ReleaseLine`` (settled idle: the lock may go, the port is not read) and ``ClaimLine``
(the idle machine wants to write: health check, re-init). The shell also claims the line itself, before
reading a byte, when the idle port becomes readable (a RING, or a dial-out program's modem answering it).
This module does the how, with mgetty's rules:

* **No watch on the lock directory.** An idle line looks at its lock only when it is wanted; other lines'
  locks (a pool) and any churn in ``/run/lock`` cost it nothing. A dial-out program creates its lock before
  it opens the tty, so the lock is there by the time its modem's answer makes our idle port readable.
* **A live lock is always honoured**, also when the directory cannot be written (read-only, full): then a
  foreign lock is still read, and without one answerd does not use the line until it can lock it
  (:class:`Unlockable`), re-checking on a timer. Never an exit: a restart cannot fix the directory.
* **Waiting without polling**: for a live holder, a pidfd (readable when it exits) on the event loop. A
  safety re-check (:data:`HOLDER_RECHECK_S`) covers a holder that removes its lock and lives on; without
  pidfd (old kernel, seccomp) and for the cases a pidfd cannot see (an unreadable young lock, a zombie
  holder, a directory that cannot be written) the re-check runs every :data:`LOCK_RECHECK_S`.
* **Before answering, the device must still be the one open** (:meth:`Port.still_the_device`): a device
  unplugged while idle leaves a file that no program can open by path (issue 10.8).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import os
import select
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

from answerd.clock import Clock
from answerd.line.lock import UNKNOWN_PID, LockError, UucpLock
from answerd.line.port import LineSettings, Port, PortFactory, PortOpenError

__all__ = [
    "HANGUP_PATIENCE_S",
    "HOLDER_RECHECK_S",
    "LOCK_RECHECK_S",
    "Claim",
    "DeviceGone",
    "HeldBy",
    "LineOwner",
    "LockClaim",
    "Ours",
    "PortCallbacks",
    "Unlockable",
]

#: Re-check interval while the line cannot be locked and no pidfd can tell when that changes (mgetty: 10 s).
LOCK_RECHECK_S: Final = 5.0
#: Safety re-check while a live holder's pidfd is watched: a program may remove its lock and live on.
HOLDER_RECHECK_S: Final = 60.0
#: How long an open may keep failing with EIO (a tty finishing a hang-up) before it counts as a failure.
HANGUP_PATIENCE_S: Final = 2.0


@dataclass(frozen=True, slots=True)
class Ours:
    """answerd holds the line (or locking is off)."""


@dataclass(frozen=True, slots=True)
class HeldBy:
    """Another live process holds the line's lock (:data:`~answerd.line.lock.UNKNOWN_PID`: not yet readable)."""

    pid: int

    def describe(self) -> str:
        """The status text."""
        return f"line in use by pid {self.pid} (dial-out)"


@dataclass(frozen=True, slots=True)
class Unlockable:
    """No live holder, but answerd cannot write its own lock: it must not use the line."""

    reason: str

    def describe(self) -> str:
        """The status text."""
        return f"not answering: {self.reason}; retrying every {LOCK_RECHECK_S:g} s"


@dataclass(frozen=True, slots=True)
class DeviceGone:
    """The configured path no longer names the open device (unplugged, or its link removed)."""

    path: str

    def describe(self) -> str:
        """The status text."""
        return f"waiting for {self.path} to come back"


#: What a look at the lock finds.
LockClaim = Ours | HeldBy | Unlockable
#: What a look at the idle line finds: the lock, and whether the device is still there.
Claim = LockClaim | DeviceGone


@dataclass(frozen=True, slots=True)
class PortCallbacks:
    """Where an open port's events go."""

    on_data: Callable[[bytes], None]
    on_lost: Callable[[Exception | None], None]
    on_fallback: Callable[[str], None]


class LineOwner:
    """The UUCP lock of one line and the rules for taking, giving back and waiting for it."""

    def __init__(
        self,
        device: str,
        *,
        lock_dir: str,
        locking: bool,
        clock: Clock,
        log: Any,
        show: Callable[[str], None],
        lock_recheck_s: float = LOCK_RECHECK_S,
        holder_recheck_s: float = HOLDER_RECHECK_S,
    ) -> None:
        """Describe the line's lock (nothing is touched yet); ``locking=False`` makes every claim succeed.

        Every change of hands is logged on ``log``; what the line waits for is passed to ``show`` (the status).
        """
        self.device = device
        self._lock_dir = lock_dir
        self._log = log
        self._show = show
        self._unusable = False  # said once per episode of an unwritable lock directory
        self._dialout = False  # the line went to a dial-out program: say when it is back
        self._lock = UucpLock(device, lock_dir=lock_dir) if locking else None
        self._clock = clock
        self._lock_recheck_s = lock_recheck_s
        self._holder_recheck_s = holder_recheck_s
        self._wake: asyncio.Future[None] | None = None
        self._exited: set[int] = set()  # holders whose pidfd fired: if they still look alive, re-check them
        self._interrupted = False
        self._tty_owner: tuple[int, int, int] | None = None

    @property
    def lock_path(self) -> str | None:
        """The lock file answerd creates, or ``None`` without locking."""
        return None if self._lock is None else self._lock.path

    # ------------------------------------------------------------------ claims

    def claim(self) -> LockClaim:
        """Take the lock now if nobody else has it; never raises."""
        if self._lock is None:
            return Ours()
        for _attempt in range(2):  # a holder that let go between our link and our look: try once more
            try:
                if self._lock.acquire():
                    return Ours()
                holder = self._lock.holder()
            except LockError as exc:
                return self._unwritable(exc)
            if holder is not None:
                return HeldBy(holder)
        return HeldBy(UNKNOWN_PID)

    def _unwritable(self, exc: LockError) -> HeldBy | Unlockable:
        # Reading works on a read-only or full directory: a live lock found there is honoured all the same.
        assert self._lock is not None
        try:
            holder = self._lock.holder()
        except LockError:
            holder = None
        if holder is not None:
            return HeldBy(holder)
        return Unlockable(f"cannot create the UUCP lock: {exc.reason}")

    def let_go(self, port: Port, on_readable: Callable[[], None]) -> None:
        """``ReleaseLine``: give the lock back and stop reading; ``on_readable`` when the modem speaks."""
        self.release()
        port.pause_until_readable(on_readable)

    def take_back(self, port: Port) -> Claim:
        """Before the idle line is read or written: the device still there, the lock ours, reading on.

        Anything else is logged; the caller then yields the line (closes the port and :meth:`take` s it).
        """
        if not port.still_the_device():
            self._log.warning("port.device_gone", device=self.device)
            return DeviceGone(self.device)
        claim = self.claim()
        match claim:
            case Ours():
                port.resume_reading()
            case HeldBy(pid=pid):
                self._dialout = True
                self._log.info("port.dialout", holder=pid)
            case Unlockable(reason=reason):
                self._unusable = True
                self._log.error("lock.unusable", error=reason, lock_dir=self._lock_dir)
        return claim

    async def take(
        self, *, waiting: Callable[[], None] | None = None, give_up: Callable[[], bool] | None = None
    ) -> bool:
        """Hold the line, waiting as long as someone else has it or no lock can be made.

        Args:
            waiting: called once, before the first wait (the daemon starting: see :meth:`PortDaemon.run`).
            give_up: asked after every wait (and :meth:`wake`): ``True`` ends the wait without the line.

        Returns:
            Whether the line is ours: ``False`` when interrupted or given up.
        """
        while not self._interrupted and not (give_up is not None and give_up()):
            claim = self.claim()
            match claim:
                case Ours():
                    if self._unusable:
                        self._unusable = False
                        self._log.info("lock.usable", lock=self.lock_path)
                    if self._dialout:
                        self._dialout = False
                        self._log.info("port.dialout_ended")
                    return True
                case HeldBy(pid=pid):
                    self._dialout = True
                    self._log.info("port.line_in_use", holder=pid, lock=self.lock_path)
                    self._show(f"{claim.describe()}, waiting")
                case Unlockable(reason=reason):
                    if not self._unusable:  # said once; the re-checks are quiet
                        self._unusable = True
                        self._log.error("lock.unusable", error=reason, lock_dir=self._lock_dir)
                    self._show(claim.describe())
            if waiting is not None:
                waiting()
                waiting = None
            await self.wait(claim)
        return False

    def release(self) -> None:
        """Remove our lock (or our program's, after :meth:`hand_to`); a failure is logged, never raised."""
        if self._lock is not None:
            try:
                self._lock.release()
            except LockError as exc:
                self._log.warning("lock.release_failed", error=str(exc))

    def hand_to(self, pid: int) -> None:
        """The call's program holds the line now (``pppd lock`` accepts it, as with mgetty's exec)."""
        if self._lock is not None:
            try:
                self._lock.hand_over(pid)
            except LockError as exc:
                self._log.warning("lock.hand_over_failed", pid=pid, error=str(exc))

    # ------------------------------------------------------------------ the device

    async def open_device(
        self, factory: PortFactory, settings: LineSettings, *, patience_s: float, callbacks: PortCallbacks
    ) -> Port:
        """Open the device, retrying with back-off for ``patience_s`` while it is missing (re-enumerating).

        Raises:
            PortOpenError: it cannot be opened (still missing after ``patience_s``, busy, no permission).
        """
        started = self._clock.now()
        deadline = started + patience_s
        delay = 0.25
        while True:
            try:
                port = await factory(settings, on_data=callbacks.on_data, on_lost=callbacks.on_lost,
                                     on_fallback=callbacks.on_fallback)  # fmt: skip
            except PortOpenError as exc:
                missing = exc.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO)
                # EIO: a tty still in the hang-up its previous user's close started (seen on ttyACM0 in the
                # virtual bench right after a restart or plug-in) refuses to be configured for a moment. It
                # gets its own short patience even at start, where a missing device gets none.
                hung_up = exc.errno == errno.EIO
                limit = max(deadline, started + HANGUP_PATIENCE_S) if hung_up else deadline
                if not (missing or hung_up) or self._interrupted or self._clock.now() + delay > limit:
                    raise
                await self._clock.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            self._remember_tty(settings.path)
            return port

    def _remember_tty(self, path: str) -> None:
        if self._tty_owner is None:
            with contextlib.suppress(OSError):
                st = os.stat(path)
                self._tty_owner = (st.st_mode & 0o7777, st.st_uid, st.st_gid)

    def restore_tty(self, path: str) -> None:
        """After a call: the tty's owner and mode as they were before the first open (login changes them)."""
        if self._tty_owner is not None:
            mode, uid, gid = self._tty_owner
            with contextlib.suppress(OSError):
                os.chown(path, uid, gid)
                os.chmod(path, mode)

    # ------------------------------------------------------------------ waiting

    async def wait(self, claim: HeldBy | Unlockable) -> None:
        """Sleep until ``claim`` may have changed: its holder's exit, a re-check, or :meth:`interrupt`."""
        if self._interrupted:
            return
        loop = asyncio.get_running_loop()
        woken: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            if not woken.done():
                woken.set_result(None)

        pidfd = None
        recheck = self._lock_recheck_s
        if isinstance(claim, HeldBy) and claim.pid != UNKNOWN_PID and claim.pid not in self._exited:
            try:
                pidfd = os.pidfd_open(claim.pid)
            except ProcessLookupError:
                return  # gone already: the next claim finds its lock stale
            except (OSError, AttributeError):
                pidfd = None  # no pidfd here: the re-check timer alone
        if pidfd is not None:
            loop.add_reader(pidfd, wake)
            recheck = self._holder_recheck_s
        timer = self._clock.call_at(self._clock.now() + recheck, wake)
        self._wake = woken
        try:
            await woken
        finally:
            self._wake = None
            timer.cancel()
            if pidfd is not None:
                loop.remove_reader(pidfd)
                if _readable(pidfd) and isinstance(claim, HeldBy):
                    self._exited.add(claim.pid)  # exited: if its pid still looks alive (zombie), re-check only
                os.close(pidfd)

    def wake(self) -> None:
        """End the current :meth:`wait` early (something changed that :meth:`take`'s ``give_up`` looks at)."""
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)

    def interrupt(self) -> None:
        """End the current and every later :meth:`wait` at once (answerd is stopping)."""
        self._interrupted = True
        if self._wake is not None and not self._wake.done():
            self._wake.set_result(None)


def _readable(fd: int) -> bool:
    with contextlib.suppress(OSError):
        return bool(select.select([fd], [], [], 0)[0])
    return False
