r"""``carrier = "modem-text"``: answerd stays between the modem and the program, through a pty pair (issue 12.9).

Where DCD cannot be read (a software modem on a pty, a cable without it), the caller's hang-up reaches
answerd only as the modem's ``NO CARRIER`` text, which a program holding the modem's tty would read as data:
the session would never end. So the program gets the slave of a fresh pty pair as its controlling terminal,
and answerd relays between the pty's master and the modem port:

* **Byte-exact both ways.** The modem port stays raw; the program's own line discipline (echo, line editing,
  CR/NL mapping) runs on the pty slave, exactly as it would have on the modem's tty.
* **Its end.** The modem-to-program bytes are fed to the core's :class:`~answerd.core.ModemTextCarrier`
  (and passed on unchanged): a framed ``NO CARRIER`` *followed by silence* drops the line, which hangs the
  program's session up as a carrier loss would. The same bytes inside a data stream (PPP with
  ``asyncmap 0``, a text about modems) are followed by more bytes and end nothing.
* **The program's termios changes reach the modem port.** The master is in packet mode (``TIOCPKT``): its
  control packets say when the program flushed or stopped output. Linux signals other termios changes only
  with ``EXTPROC``, which would switch off the slave's line discipline, so the slave's settings are also read
  (``tcgetattr`` on the master) after every packet and every :data:`WIRE_POLL_S` (a program may change its
  settings and then neither write nor flush: ``stty 0``, then wait for the hang-up); what concerns the wire
  (speed, ``CSTOPB``, ``CRTSCTS``) is applied to the modem port. A pty forces CS8 without parity on its
  slave, so character size and parity are never the program's to change.
* **Flushes, flow stops, the hang-up** (what the program's tty would have done had it been the modem's):

  - ``TIOCPKT_FLUSHWRITE`` (the program discarded its output: ``tcflush(TCOFLUSH)``, or the line discipline
    did, on ^C with ``ISIG``): what answerd still holds for the modem is dropped and the modem port's output
    queue flushed. What the pty itself still held from before the flush, the kernel dropped where it could;
    the rest cannot be told apart from what the program wrote after the flush, so it is relayed. A flush while
    the modem holds the relay back (back-pressure) is seen too: the master's ``POLLPRI`` says a control
    packet waits, and the status byte is read before any data.
  - ``TIOCPKT_FLUSHREAD`` (the program discarded its unread input: ``tcflush(TCIFLUSH)``, ``TCSAFLUSH``):
    what answerd still holds for the program is dropped. The modem port's input queue is not flushed: every
    byte from the modem must pass the end-of-session detector (a ``NO CARRIER`` in it ends the session).
  - ``TIOCPKT_STOP`` / ``TIOCPKT_START`` (the program's output stopped by ^S with ``IXON``, or
    ``tcflow(TCOOFF)``): the kernel already holds the program's writes at the slave; the modem port's output
    is stopped and started the same way (``tcflow``), so what is already on its way waits too, as it would
    in the modem tty's own output queue. Output is always started again when the program is gone (its tty's
    stop went with it, and the hang-up's escape must get out). ``NOSTOP`` / ``DOSTOP`` only say whether ^S
    and ^Q are flow characters: nothing to relay.
  - **Speed B0** is a program's request to hang up (POSIX; pppd drops DTR that way). A pty slave has no DTR,
    so the relay does what the line would: it stops relaying the program's output, logs
    ``call.program_hangup`` once and drops the call's line (``program-hangup``), which hangs the program's
    session up as a carrier loss would; the call is then recorded as ``answered``, detail
    :data:`PROGRAM_HANGUP_DETAIL`, and answerd hangs the modem up after the call as always (DTR held low,
    the escape and ``ATH0`` where the modem may still be online). What the program wrote before it is still
    drained to the caller first (``finish``).
* **Back-pressure, bounded buffers.** A modem that takes bytes slower than the program writes (the port's
  queue above :data:`HIGH_WATER`) stops the reading of the master; a program that does not read stops the
  reading of the modem port. Nothing is dropped and nothing grows without bound.
* **The last output reaches the caller.** When the program has ended, the master is read to its end (EIO:
  no slave is open any more), the port's queue is written and drained, and then answerd waits as long as the
  line needs to send what the modem still holds, at the link's rate (a pty modem cannot be drained: its
  "output queue" is the other program's input), at most ``timeout_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import select
import struct
import termios
from collections.abc import Callable
from typing import Any, Protocol

from answerd.call.stage import PROGRAM_HANGUP, CallLine
from answerd.clock import Clock, TimerHandle
from answerd.core import ModemTextCarrier

__all__ = ["HIGH_WATER", "PROGRAM_HANGUP_DETAIL", "WIRE_POLL_S", "Relay", "RelayPort", "open_pty_pair"]

#: Queue size (bytes) above which the other side's reading stops; it starts again below a quarter of it.
HIGH_WATER = 16384
_READ_SIZE = 4096
#: How often a side stopped by back-pressure looks again.
_RESUME_POLL_S = 0.005
#: How often the program's tty settings are read when no packet says anything (a B0 followed by silence).
WIRE_POLL_S = 0.2
#: The call record's detail when the program hung up (speed B0).
PROGRAM_HANGUP_DETAIL = "the program hung up (speed B0)"
_SPEED, _CFLAG = 5, 2
_WIRE_CFLAGS = termios.CSTOPB | termios.CRTSCTS


class RelayPort(Protocol):
    """The modem port, as the relay uses it (:class:`~answerd.line.port.SerialPort`)."""

    fd: int

    def write(self, data: bytes) -> None:
        """Send bytes to the modem, never blocking."""

    def write_buffer_size(self) -> int:
        """Bytes queued in answerd for the port."""

    def pause_reading(self) -> None:
        """Stop reading the modem."""

    def resume_reading(self) -> None:
        """Read the modem again."""

    async def drain(self, timeout_s: float = 5.0) -> None:
        """Wait until what was written has left answerd and the kernel."""

    def discard_output(self) -> None:
        """Drop what answerd queued for the modem and what the kernel has not sent yet (``TCOFLUSH``)."""


def open_pty_pair(modem_fd: int) -> tuple[int, int]:
    """A pty pair for the program: (master, slave). The master non-blocking, in packet mode; the slave raw
    at the modem port's speed and flow control, so a program that asks sees the line as it is."""
    master, slave = os.openpty()
    try:
        os.set_blocking(master, False)
        fcntl.ioctl(master, termios.TIOCPKT, struct.pack("i", 1))
        for fd in (master, slave):
            flags = fcntl.fcntl(fd, fcntl.F_GETFD)
            fcntl.fcntl(fd, fcntl.F_SETFD, flags | fcntl.FD_CLOEXEC)
        modem = termios.tcgetattr(modem_fd)
        attrs = termios.tcgetattr(slave)
        attrs[0] = attrs[1] = attrs[3] = 0
        attrs[_CFLAG] = (attrs[_CFLAG] & ~_WIRE_CFLAGS) | (modem[_CFLAG] & _WIRE_CFLAGS)
        attrs[4] = attrs[_SPEED] = modem[_SPEED]
        attrs[6][termios.VMIN] = 1
        attrs[6][termios.VTIME] = 0
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
    except OSError:
        os.close(master)
        os.close(slave)
        raise
    return master, slave


class Relay:
    """Relays one call between the modem port and a pty master; see the module's description.

    Args:
        port: the modem port (read by the daemon: its bytes come through ``line``'s sink).
        line: the call's line; the relay becomes its sink, and drops it when the modem's text ends the call.
        master: the pty master from :func:`open_pty_pair` (the relay closes it).
        carrier: the end-of-session detector, or ``None`` to relay only (a session ended by DCD).
        line_rate: bit/s the caller's line carries (the link's rate; else the port's), for the final wait.
        on_activity: called for every chunk either way (the session limits).
    """

    def __init__(
        self,
        port: RelayPort,
        line: CallLine,
        *,
        master: int,
        clock: Clock,
        log: Any,
        carrier: ModemTextCarrier | None,
        line_rate: int,
        on_activity: Callable[[], None] | None = None,
    ) -> None:
        self._port = port
        self._line = line
        self._master = master
        self._clock = clock
        self._log = log
        self._carrier = carrier
        self._byte_s = 10 / max(300, line_rate)  # 8N1: ten bits a byte
        self._on_activity = on_activity or (lambda: None)
        self._loop = asyncio.get_running_loop()
        self._to_program = bytearray()
        self._reading_master = False
        self._writing_master = False
        self._modem_paused = False
        self._timer: TimerHandle | None = None
        self._wire_timer: TimerHandle | None = None
        self._line_free_at = 0.0
        self._wire = self._wire_settings()
        self._output_stopped = False
        self._control_waiting = select.poll()
        self._control_waiting.register(master, select.POLLPRI)
        self.program_gone = asyncio.Event()
        #: The program asked for a hang-up (speed B0); its output is no longer relayed.
        self.program_hung_up = False
        #: Bytes relayed each way, for the log.
        self.to_program_bytes = 0
        self.to_modem_bytes = 0

    # ------------------------------------------------------------------ life cycle

    def start(self) -> None:
        """Relay from now on: the caller's bytes (buffered ones first) to the program, its bytes to the modem."""
        early = self._line.take_early()
        self._line.sink = self._from_modem
        if early:
            self._from_modem(early)
        self._read_master(True)
        self._poll_wire()

    async def finish(self, timeout_s: float) -> None:
        """After the program ended: its last output to the modem, drained, and sent by the line (bounded)."""
        deadline = self._clock.now() + timeout_s
        if not self.program_gone.is_set() and not self.program_hung_up:
            self._read_master(True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.program_gone.wait(), max(0.0, deadline - self._clock.now()))
        self._stop_output(False)  # the program's tty, and the stop it asked for, are gone
        while self._port.write_buffer_size() and self._clock.now() < deadline:
            await self._clock.sleep(_RESUME_POLL_S)
        await self._port.drain(max(0.1, deadline - self._clock.now()))
        wait = min(self._line_free_at, deadline) - self._clock.now()
        if wait > 0:
            await self._clock.sleep(wait)

    def close(self) -> None:
        """Stop relaying and close the master (the program's session, if any is left, is hung up)."""
        self._line.sink = None
        self._read_master(False)
        self._write_master(False)
        for timer in (self._timer, self._wire_timer):
            if timer is not None:
                timer.cancel()
        self._timer = self._wire_timer = None
        self._stop_output(False)  # the hang-up that follows must be able to write
        if self._modem_paused:
            self._modem_paused = False
            self._port.resume_reading()
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
        self._log.info("call.relay_closed", to_program=self.to_program_bytes, to_modem=self.to_modem_bytes)

    # ------------------------------------------------------------------ modem → program

    def _from_modem(self, data: bytes) -> None:
        now = self._clock.now()
        self._on_activity()
        self.to_program_bytes += len(data)
        if self._carrier is not None:
            self._carrier.feed(data, now)
            self._arm_carrier_timer()
        if self._master < 0:
            return
        self._to_program += data
        self._flush_to_program()

    def _flush_to_program(self) -> None:
        while self._to_program and self._master >= 0:
            try:
                sent = os.write(self._master, self._to_program[:_READ_SIZE])
            except BlockingIOError:
                break
            except OSError:  # EIO: no slave open any more; the program is gone and takes nothing
                self._to_program.clear()
                break
            del self._to_program[:sent]
        self._write_master(bool(self._to_program))
        # The program does not keep up: stop reading the modem (RTS/CTS then holds it) until it does.
        if len(self._to_program) > HIGH_WATER and not self._modem_paused:
            self._modem_paused = True
            self._port.pause_reading()
        elif len(self._to_program) < HIGH_WATER // 4 and self._modem_paused:
            self._modem_paused = False
            self._port.resume_reading()

    def _write_master(self, on: bool) -> None:
        if on and not self._writing_master and self._master >= 0:
            self._loop.add_writer(self._master, self._flush_to_program)
            self._writing_master = True
        elif not on and self._writing_master:
            self._loop.remove_writer(self._master)
            self._writing_master = False

    def _arm_carrier_timer(self) -> None:
        assert self._carrier is not None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        due = self._carrier.timer
        if due is not None:
            self._timer = self._clock.call_at(due, self._carrier_due)

    def _carrier_due(self) -> None:
        self._timer = None
        assert self._carrier is not None
        verdict = self._carrier.handle_timer(self._clock.now())
        if verdict is None:
            self._arm_carrier_timer()
            return
        self._log.info("call.modem_text_carrier", reason=verdict)
        self._line.drop("carrier", detail=verdict)

    # ------------------------------------------------------------------ program → modem

    def _read_master(self, on: bool) -> None:
        stopped = self._master < 0 or self.program_gone.is_set() or self.program_hung_up
        if on and not self._reading_master and not stopped:
            self._loop.add_reader(self._master, self._from_program)
            self._reading_master = True
        elif not on and self._reading_master:
            self._loop.remove_reader(self._master)
            self._reading_master = False

    def _from_program(self) -> None:
        try:
            packet = os.read(self._master, _READ_SIZE + 1)
        except BlockingIOError:
            return
        except OSError as exc:
            if exc.errno != errno.EIO:
                self._log.warning("call.relay_read_failed", error=exc.strerror or str(exc))
            packet = b""
        if not packet:  # EIO: every slave descriptor is closed, all the program wrote has been read
            self._read_master(False)
            self.program_gone.set()
            return
        if packet[0] != termios.TIOCPKT_DATA:
            self._control(packet[0])  # a control packet: the program changed its tty (flow, flush, mode)
            return
        data = packet[1:]
        self._on_activity()
        self.to_modem_bytes += len(data)
        self._port.write(data)
        now = self._clock.now()
        self._line_free_at = max(self._line_free_at, now) + len(data) * self._byte_s
        self._sync_wire()
        if self._port.write_buffer_size() > HIGH_WATER:
            self._read_master(False)
            self._clock.call_at(now + _RESUME_POLL_S, self._maybe_resume_master)

    def _maybe_resume_master(self) -> None:
        if self._master < 0 or self.program_gone.is_set() or self.program_hung_up:
            return
        if self._control_pending():
            self._from_program()  # the status byte comes before any data: this reads no data
        if self._port.write_buffer_size() < HIGH_WATER // 4:
            self._read_master(True)
        else:
            self._clock.call_at(self._clock.now() + _RESUME_POLL_S, self._maybe_resume_master)

    # ------------------------------------------------------------------ control packets

    def _control_pending(self) -> bool:
        """Whether a control packet waits on the master (``POLLPRI``), also while its data is not read."""
        return any(events & select.POLLPRI for _, events in self._control_waiting.poll(0))

    def _control(self, status: int) -> None:
        """What a control packet says the program did to its tty, done to the modem port (module description)."""
        if status & termios.TIOCPKT_FLUSHWRITE:
            queued = self._port.write_buffer_size()
            try:
                self._port.discard_output()
            except (termios.error, OSError) as exc:
                self._log.warning("call.relay_flush_failed", error=str(exc))
            self._log.debug("call.relay_flushed", toward="modem", dropped=queued)
        if status & termios.TIOCPKT_FLUSHREAD:
            dropped = len(self._to_program)
            self._to_program.clear()
            self._flush_to_program()  # the modem is read again if the program's backlog held it
            self._log.debug("call.relay_flushed", toward="program", dropped=dropped)
        if status & termios.TIOCPKT_STOP:
            self._stop_output(True)
        elif status & termios.TIOCPKT_START:
            self._stop_output(False)
        self._sync_wire()

    def _stop_output(self, stop: bool) -> None:
        """Stop (``TCOOFF``) or restart (``TCOON``) the modem port's output, as the program's tty did."""
        if stop == self._output_stopped:
            return
        try:
            termios.tcflow(self._port.fd, termios.TCOOFF if stop else termios.TCOON)
        except (termios.error, OSError) as exc:
            self._log.warning("call.relay_flow_failed", stop=stop, error=str(exc))
            return
        self._output_stopped = stop
        self._log.debug("call.relay_output", stopped=stop)

    def _program_hangs_up(self) -> None:
        """Speed B0: the program asked for a hang-up. Its session is hung up as the line would (once)."""
        if self.program_hung_up or self.program_gone.is_set():
            return
        self.program_hung_up = True
        self._read_master(False)  # after the hang-up nothing the program writes reaches the caller
        self._log.info("call.program_hangup", reason="the program set its tty's speed to B0")
        self._line.drop(PROGRAM_HANGUP, detail=PROGRAM_HANGUP_DETAIL)

    # ------------------------------------------------------------------ termios

    def _poll_wire(self) -> None:
        self._wire_timer = None
        if self._master < 0 or self.program_gone.is_set() or self.program_hung_up:
            return
        self._sync_wire()
        self._wire_timer = self._clock.call_at(self._clock.now() + WIRE_POLL_S, self._poll_wire)

    def _wire_settings(self) -> tuple[int, int] | None:
        """The slave's settings that concern the wire: (speed, CSTOPB|CRTSCTS); ``None`` if unreadable."""
        try:
            attrs = termios.tcgetattr(self._master)
        except termios.error:
            return None
        return attrs[_SPEED], attrs[_CFLAG] & _WIRE_CFLAGS

    def _sync_wire(self) -> None:
        wire = self._wire_settings()
        if wire is None or wire == self._wire:
            return
        self._wire = wire
        speed, cflags = wire
        if speed == termios.B0:  # a hang-up, not a speed: the modem port keeps its own
            self._program_hangs_up()
            return
        try:
            attrs = termios.tcgetattr(self._port.fd)
            attrs[4] = attrs[_SPEED] = speed
            attrs[_CFLAG] = (attrs[_CFLAG] & ~_WIRE_CFLAGS) | cflags
            termios.tcsetattr(self._port.fd, termios.TCSADRAIN, attrs)
        except (termios.error, OSError) as exc:
            self._log.warning("call.relay_termios_failed", error=str(exc))
            return
        self._log.info("call.relay_termios", speed=speed, cstopb=bool(cflags & termios.CSTOPB),
                       crtscts=bool(cflags & termios.CRTSCTS))  # fmt: skip
