"""Whether to answer a call that has rung enough: busy-out, the caller-ID filter, the decision program.

The answer machine asks (``AnswerPending``) once a call has rung ``rings`` times, and keeps counting RINGs
while the answer is worked out. The checks, cheapest first:

1. **Busy-out**: while ``nologin_file`` (``/etc/nologin.<port>``) exists the call is not answered now, but
   the question is asked again at the next RING, so removing the file mid-ring answers the call (mgetty).
2. **Caller-ID filter** (mgetty's dialin.config semantics, in the pure core): first match wins.
3. **Decision program**: run with an argv (never a shell), mgetty's argument order, as ``decision_user``
   (never root when answerd is root), with a timeout; exit 0 answers, 1 rejects, anything else is
   ``decision_on_error``. Its output is not read into answerd beyond a bounded amount for the log.
4. **Per-caller init**: the first matching ``caller_init`` chat is run before ``ATA``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import grp
import os
import pwd
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO, Final

from answerd.call.environment import clean_environment
from answerd.config.settings import PortSettings
from answerd.core import (
    CallerInfo,
    CallerInitRule,
    CallRecord,
    ChatStep,
    Decision,
    decision_program_argv,
    interpret_exit,
    parse_chat,
    parse_rules,
    policy_decide,
    select_caller_init,
)

__all__ = ["Screening", "caller_of", "nologin_path", "screen_call", "screen_now"]

#: At most this much of the decision program's stderr is kept for the log.
MAX_PROGRAM_OUTPUT = 1024
#: ``MFD_NOEXEC_SEAL`` from <linux/memfd.h> (Linux 6.3); ``os`` has no name for it before Python 3.12.
_MFD_NOEXEC_SEAL: Final = 0x0008


@dataclass(frozen=True, slots=True, kw_only=True)
class Screening:
    """The verdict for :meth:`AnswerMachine.decide`."""

    verdict: Decision
    reason: str
    chat: tuple[ChatStep, ...] = ()


def nologin_path(settings: PortSettings, port: str) -> str:
    """The busy-out file for ``port`` (``{port}`` in the setting is the port name)."""
    return settings.nologin_file.replace("{port}", port)


def caller_of(record: CallRecord) -> CallerInfo | None:
    """The caller as the policy sees it (``None``: no caller ID was sent at all)."""
    if record.caller_id is None and record.caller_name is None and record.called_id is None:
        return None
    return CallerInfo(number=record.caller_id, name=record.caller_name, called=record.called_id)


def screen_now(*, settings: PortSettings, port: str, record: CallRecord) -> Screening | None:
    """The checks that need no waiting (busy-out, the filter, per-caller init); ``None`` if the decision
    program still has to be asked. Answering does not wait for an event-loop round trip when this decides.
    """
    nologin = nologin_path(settings, port)
    if os.path.exists(nologin):
        return Screening(verdict=Decision.BUSY, reason=f"{nologin} exists")
    if settings.caller_filter:
        decision = policy_decide(parse_rules(settings.caller_filter), caller_of(record))
        if not decision.accept:
            return Screening(verdict=Decision.REJECT, reason=decision.reason)
    if settings.decision_program is not None:
        return None
    return _accepted(settings, caller_of(record))


def _accepted(settings: PortSettings, caller: CallerInfo | None) -> Screening:
    rules = [CallerInitRule(rule.match, tuple(rule.chat)) for rule in settings.caller_init]
    extra = select_caller_init(rules, caller)
    chat = parse_chat(list(extra)) if extra else ()
    return Screening(verdict=Decision.ACCEPT, reason="accepted", chat=chat)


async def screen_call(*, settings: PortSettings, port: str, record: CallRecord, log: Any) -> Screening:
    """Decide about ``record``; never raises for what the caller, the files or the program do."""
    quick = screen_now(settings=settings, port=port, record=record)
    if quick is not None:
        return quick
    caller = caller_of(record)
    if settings.decision_program is not None:
        code, timed_out = await _run_decision_program(settings, port, record, caller, log)
        decision = interpret_exit(code, timed_out, on_error=settings.decision_on_error)
        if not decision.accept:
            return Screening(verdict=Decision.REJECT, reason=decision.reason)
    return _accepted(settings, caller)


def _anonymous_file(name: str, memfd_create: Callable[[str, int], int] = os.memfd_create) -> BinaryIO:
    """A new read-write binary file with no name in any file system (a memfd), closed with the returned object.

    Not ``tempfile.TemporaryFile``: importing ``tempfile`` pulls ``random``, ``shutil``, ``bz2`` and ``lzma``
    (and their shared libraries) into a process that runs for months, about 0.8 MiB per port. ``name`` only
    shows in ``/proc/<pid>/fd``. The fd is close-on-exec; passed as a child's ``stderr`` it is dup2'ed onto fd 2.
    ``memfd_create`` is the system call, a parameter so a test can play an older kernel.
    """
    try:
        # MFD_NOEXEC_SEAL: since Linux 6.3 a memfd without it (or MFD_EXEC) logs a kernel warning, and is
        # refused outright under vm.memfd_noexec=2. An older kernel rejects the flag with EINVAL.
        fd = memfd_create(name, os.MFD_CLOEXEC | _MFD_NOEXEC_SEAL)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        fd = memfd_create(name, os.MFD_CLOEXEC)
    return open(fd, "w+b")  # the caller closes it, with a with-block


def _identity(user: str) -> dict[str, Any]:
    """subprocess keyword arguments to run as ``user`` (only possible, and only needed, as root)."""
    if os.geteuid() != 0:
        return {}
    account = pwd.getpwnam(user)
    groups = [g.gr_gid for g in grp.getgrall() if user in g.gr_mem]
    return {"user": account.pw_uid, "group": account.pw_gid, "extra_groups": groups}


async def _run_decision_program(
    settings: PortSettings, port: str, record: CallRecord, caller: CallerInfo | None, log: Any
) -> tuple[int | None, bool]:
    """Run the decision program; return (exit status or None if it could not run, timed out)."""
    assert settings.decision_program is not None
    argv = decision_program_argv(
        settings.decision_program, tty=port, caller=caller, distinctive=record.distinctive_ring
    )
    env = clean_environment(
        {"CALLER_ID": record.caller_id or "none", "CALLER_NAME": record.caller_name, "CALLED_ID": record.called_id},
        None,
    )
    # stderr goes to an anonymous file, not a pipe: asyncio's wait() also waits for its pipes to close,
    # and a helper the program left behind could hold one open. Only the exit status decides.
    with _anonymous_file("answerd-decision-stderr") as errors:
        try:
            identity = _identity(settings.decision_user)
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.DEVNULL,
                stderr=errors,
                env=env,
                cwd="/",
                start_new_session=True,
                **identity,
            )
        except (OSError, KeyError) as exc:
            log.error("call.decision_program_failed", program=argv[0], error=str(exc))
            return None, False
        timed_out = False
        try:
            code: int | None = await asyncio.wait_for(process.wait(), settings.decision_timeout_s)
        except TimeoutError:
            timed_out, code = True, None
        finally:
            # Its whole process group goes: nothing it started may outlive the decision.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            if process.returncode is None:
                await process.wait()
        errors.seek(0)
        output = errors.read(MAX_PROGRAM_OUTPUT)
    if timed_out:
        log.warning("call.decision_program_timeout", program=argv[0], timeout_s=settings.decision_timeout_s)
        return None, True
    log.info("call.decision_program", program=argv[0], exit_status=code, output=output.decode("utf-8", "replace"))
    return code, False
