"""``python -m bench.relay``: what the ``carrier = "modem-text"`` relay costs, at 115200 bit/s and flat out.

The relay (:mod:`answerd.call.relay`) runs exactly as in a call, on its own event loop in a child process: the
"modem port" is a pty opened with answerd's own :class:`~answerd.line.port.SerialPort` (raw, 115200), the
program's side is the relay's pty pair. This process plays the modem (the master of the port's pty) and the
program (the relay's slave), with blocking I/O and ``time.perf_counter``.

Measured:

* **added latency**: one byte from the modem to the program (and back), through the relay, against the same
  hop through a bare pty (what a program on the modem's own tty would see); medians and 99th percentiles of
  ``--pings`` single-byte trips, so the difference is the relay's own wake-up, read and write;
* **throughput at 115200 bit/s**: ``--seconds`` of bytes offered at the line's pace (11 520 B/s, 8N1), both
  directions at once; the relay must deliver them all at the offered rate, with the delay of each 64-byte
  block from send to arrival;
* **capacity**: 4 MiB each way as fast as the pty takes it, i.e. how far above 115200 the relay could go.

Prints a report; ``--json FILE`` keeps the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import tty
from pathlib import Path
from typing import Any

import structlog

from answerd.call.relay import Relay, open_pty_pair
from answerd.call.stage import CallLine
from answerd.clock import LoopClock
from answerd.core import ModemTextCarrier
from answerd.line.port import LineSettings, ModemControl, SerialPort

RATE = 115200
BYTES_PER_S = RATE // 10


class RelayProcess:
    """The relay in a process of its own (as in answerd: no other thread competes with it), between a pty
    "modem port" and a pty pair for the "program"; this process holds the far ends of both."""

    def __init__(self, tmp: Path) -> None:
        self.modem, port_slave = os.openpty()
        tty.setraw(port_slave)
        link = tmp / "ttyBENCH"
        link.symlink_to(os.ttyname(port_slave))
        self._child = subprocess.Popen(
            [sys.executable, "-m", "bench.relay", "--serve", str(link)], stdout=subprocess.PIPE, text=True
        )
        assert self._child.stdout is not None
        program_tty = self._child.stdout.readline().strip()
        os.close(port_slave)  # answerd has it open now
        self.program = os.open(program_tty, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.program)

    def close(self) -> None:
        self._child.terminate()
        self._child.wait(10)
        for fd in (self.modem, self.program):
            os.close(fd)


async def serve(link: str) -> None:
    """The child: answerd's port on ``link``, the relay to a pty pair whose slave's name goes to stdout."""
    line = CallLine()
    settings = LineSettings(path=link, speed=RATE, rtscts=False, modem_control=ModemControl.NONE)
    port = await SerialPort.open(settings, on_data=line.receive, on_lost=lambda _exc: None)
    master, slave = open_pty_pair(port.fd)  # the slave stays open here: the relay must not see EIO
    relay = Relay(
        port, line, master=master, clock=LoopClock(), log=structlog.get_logger("bench"),
        carrier=ModemTextCarrier(quiet_s=1.0), line_rate=RATE,
    )  # fmt: skip
    relay.start()
    print(os.ttyname(slave), flush=True)
    await asyncio.Event().wait()


def _read_exact(fd: int, size: int) -> bytes:
    got = b""
    while len(got) < size:
        got += os.read(fd, size - len(got))
    return got


def _pings(send: int, receive: int, count: int) -> list[float]:
    """One-byte trips from ``send`` to ``receive``, in microseconds."""
    trips = []
    for i in range(count):
        byte = bytes([i % 200 + 32])
        start = time.perf_counter()
        os.write(send, byte)
        assert _read_exact(receive, 1) == byte
        trips.append((time.perf_counter() - start) * 1e6)
        time.sleep(0.0005)  # let both sides go idle again, as between a caller's keystrokes
    return trips


def _summary(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {"median": statistics.median(ordered), "p99": ordered[int(len(ordered) * 0.99) - 1]}


def measure_latency(relay: RelayProcess, count: int) -> dict[str, Any]:
    bare_master, bare_slave = os.openpty()
    tty.setraw(bare_slave)
    try:
        bare = _summary(_pings(bare_master, bare_slave, count))
    finally:
        os.close(bare_master)
        os.close(bare_slave)
    to_program = _summary(_pings(relay.modem, relay.program, count))
    to_modem = _summary(_pings(relay.program, relay.modem, count))
    return {
        "bare_pty_us": bare,
        "modem_to_program_us": to_program,
        "program_to_modem_us": to_modem,
        "added_median_us": {
            "modem_to_program": to_program["median"] - bare["median"],
            "program_to_modem": to_modem["median"] - bare["median"],
        },
        "one_byte_at_115200_us": 1e6 / BYTES_PER_S,
    }


def _paced_sender(fd: int, seconds: float, block: int, stamps: list[float]) -> None:
    interval = block / BYTES_PER_S
    start = time.perf_counter()
    for n in range(int(seconds / interval)):
        due = start + n * interval
        time.sleep(max(0.0, due - time.perf_counter()))
        stamps.append(time.perf_counter())
        os.write(fd, bytes([n % 251]) * block)


def _paced_receiver(fd: int, total: int, block: int, stamps: list[float]) -> None:
    got = 0
    while got < total:
        got += len(os.read(fd, 65536))
        now = time.perf_counter()
        while len(stamps) * block < got:
            stamps.append(now)


def measure_paced(relay: RelayProcess, seconds: float, block: int = 64) -> dict[str, Any]:
    """Both directions at once at the line's pace; delivered rate and the delay of each block."""
    result: dict[str, Any] = {}
    blocks = int(seconds / (block / BYTES_PER_S))
    runs = {"modem_to_program": (relay.modem, relay.program), "program_to_modem": (relay.program, relay.modem)}
    stamps = {name: ([], []) for name in runs}
    threads = []
    for name, (send, receive) in runs.items():
        sent, received = stamps[name]
        threads.append(threading.Thread(target=_paced_sender, args=(send, seconds, block, sent)))
        threads.append(threading.Thread(target=_paced_receiver, args=(receive, blocks * block, block, received)))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(seconds * 3 + 10)
    for name, (sent, received) in stamps.items():
        delays = [(r - s) * 1e3 for s, r in zip(sent, received, strict=False)]
        span = received[-1] - sent[0]
        result[name] = {
            "offered_Bps": BYTES_PER_S,
            "delivered_Bps": round(len(received) * block / span),
            "block_delay_ms": _summary(delays),
            "bytes": len(received) * block,
        }
    return result


def measure_capacity(relay: RelayProcess, size: int = 4 << 20) -> dict[str, float]:
    """``size`` bytes each way, one direction after the other, as fast as the ptys take them."""
    out = {}
    for name, (send, receive) in {"modem_to_program": (relay.modem, relay.program),
                                  "program_to_modem": (relay.program, relay.modem)}.items():  # fmt: skip
        received: list[int] = [0]

        def drain(fd: int = receive, box: list[int] = received) -> None:
            while box[0] < size:
                box[0] += len(os.read(fd, 65536))

        reader = threading.Thread(target=drain)
        start = time.perf_counter()
        reader.start()
        chunk = bytes(range(256)) * 256
        for _ in range(size // len(chunk)):
            view = memoryview(chunk)
            while view:
                view = view[os.write(send, view) :]
        reader.join(60)
        out[name + "_MBps"] = round(size / (time.perf_counter() - start) / 1e6, 2)
    out["x_115200"] = round(min(out.values()) * 1e6 / BYTES_PER_S)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.relay", description=__doc__.split("\n\n")[0])
    parser.add_argument("--pings", type=int, default=2000, help="single-byte trips each way (2000)")
    parser.add_argument("--seconds", type=float, default=5.0, help="paced run at 115200 bit/s (5)")
    parser.add_argument("--json", metavar="FILE", help="write the numbers here")
    parser.add_argument("--serve", metavar="LINK", help=argparse.SUPPRESS)  # the relay's own process
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(30))
    if args.serve:
        asyncio.run(serve(args.serve))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        relay = RelayProcess(Path(tmp))
        try:
            report = {
                "latency": measure_latency(relay, args.pings),
                "paced_115200": measure_paced(relay, args.seconds),
                "capacity": measure_capacity(relay),
            }
        finally:
            relay.close()
    print(json.dumps(report, indent=2))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
