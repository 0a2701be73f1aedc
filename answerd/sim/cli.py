"""``answerd sim``: run the simulated modem until SIGTERM/SIGINT.

The command is a product feature, not only a test fixture: it lets answerd (or mgetty, or minicom) be run
and tried with no modem at all. The computer opens ``--link``; a person "dials in" with
``telnet 127.0.0.1 2323`` or ``nc``. Once everything is up it prints exactly one line to stdout::

    answerd-sim: ready tty=/dev/ttySIM0 pty=/dev/pts/3 listen=127.0.0.1:2323

which is what tests and ``answerd demo`` wait for. Every mistake in the arguments or the environment
(bad ``--listen``, a link directory that cannot be written, a port in use) is one line on stderr and exit
status 2, never a traceback.

SIGUSR1 toggles ``--silent`` while the sim runs: the modem goes dead (answers nothing, reports no RING) and
comes back at the next SIGUSR1, so answerd's idle health check and its recovery can be tried.

``--bench FILE.toml`` runs a simulated bench instead: several modems on ptys (or one on an existing tty,
``serve =``) joined by a simulated exchange (:mod:`answerd.sim._bench`), so ``ATDT881`` on one rings the
modem numbered 881, with the caller's number as caller ID. It prints
``answerd-sim: ready bench 881=<link> 882=<link>`` once every link is up.

How the modem behaves is a modem profile (:class:`~answerd.sim.ModemProfile`): the built-in default modem,
or ``--profile FILE.toml`` (``answerd/sim/profiles/default.toml`` spells out every key). The other modem
flags override single fields of the profile, so ``--profile rockwell.toml --ring-interval 0.3`` works.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

from answerd.sim._bench import BenchServer, load_bench
from answerd.sim._caller_id import CidFormat
from answerd.sim._profile import CRING_TYPES, ModemProfile, ProfileError
from answerd.sim._profile_file import DEFAULT_PROFILE, find_profile, load_profile, profile_names
from answerd.sim._serve import TtyServer, run_until_stopped
from answerd.sim._server import ServerConfig, SimError, SimServer

__all__ = ["build_parser", "build_profile", "main"]

_PROG = "answerd sim"
_DEFAULT_LINK = Path("/dev/ttySIM0")
_DEFAULT_LISTEN = ("127.0.0.1", 2323)


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line on stderr (no usage dump), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    host = host.removeprefix("[").removesuffix("]")
    if not sep or not host or not port.isdigit() or int(port) > 65535:
        raise argparse.ArgumentTypeError(f"expected HOST:PORT (e.g. 127.0.0.1:2323), got {text!r}")
    return host, int(port)


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected seconds, got {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a non-negative number of seconds, got {text!r}")
    return value


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def _digits4(text: str) -> str:
    if len(text) != 4 or not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected four digits, got {text!r}")
    return text


def _printable(text: str) -> str:
    if any(not 32 <= ord(c) < 127 for c in text):
        raise argparse.ArgumentTypeError(f"expected printable ASCII, got {text!r}")
    return text


def _cid_format(text: str) -> CidFormat:
    try:
        return CidFormat.from_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


#: ``answerd sim``'s modem flags: the argparse ``dest`` of each, and the profile field it overrides (flat name).
_OVERRIDES = {
    "ring_interval": "ring_interval",
    "max_rings": "max_rings",
    "answer_delay": "answer_delay",
    "connect": "connect_text",
    "call_type": "cring_type",
    "caller_id": "caller_number",
    "caller_name": "caller_name",
    "cid": "force_cid",
    "cid_format": "cid_format",
    "cid_date": "cid_date",
    "cid_time": "cid_time",
    "answer_result": "answer_result",
    "never_connect": "never_connect",
    "error_first": "error_first",
    "silent": "silent",
    "unsolicited_connect": "unsolicited_connect",
}

_EPILOG = f"""modem profiles:
  --profile FILE.toml describes the whole modem; the flags above override single fields of it.
  Tables and keys (every key optional; the default modem is {DEFAULT_PROFILE}):
    [identity]   ident, manufacturer, revision
    [defaults]   echo, verbose, quiet, result_level, dcd, dtr, w; [defaults.registers] S0 = 0 ...
    [results]    connect, connect_rate ("line"/"dte"), ring, error, cring_type (AT+CRC=1's +CRING type);
                 [results.connect_codes] "28800" = 64 ...
    [caller_id]  format, force, commands, every_ring, delivered, number, name, date (MMDD), time (HHMM)
    [timings]    ring_interval_s, answer_delay_s, idle_answer_timeout_s, max_rings
    [speed.fixed_rates]  "6" = 9600 ...: AT&Nn fixed link rates (USR); without it &N answers ERROR
    [faults]     error_first, silent, never_connect, unsolicited_connect, answer_result, echo_stuck,
                 dtr_ignored
    [[faults.online_reports]]  after_s, text, repeat (1), interval_s (0.0): the modem itself sends
                 \\r\\n<text>\\r\\n to the computer while online, e.g. text = "OK" (a modem that resets at the
                 login prompt) or text = "RING", repeat = 200, interval_s = 0.005 (a RING storm)
    [[faults.line_noise]]  after_s, data, length (0), repeat (1), interval_s (0.0): raw bytes (U+0000..U+00FF
                 each one byte) on the serial line in any state, counted from the computer's first write,
                 e.g. data = "X", length = 1048576 (a 1 MiB line with no terminator)
  An unknown key or a bad value is one error line naming its TOML path, and exit status 2.

simulated bench (--bench FILE.toml): modems on ptys joined by a simulated exchange, one [[line]] each:
    [[line]]
    link = "/dev/ttySIM0"   # where this modem's pty is published (relative: from the file's directory)
    number = "881"          # another line's ATDT881 rings it, with the caller's number as caller ID
    profile = "usr"         # a shipped profile's name, or a TOML file (relative: from the file's directory)
    timings = {{ ring_interval_s = 1.0 }}   # optional: change keys of the profile's [timings]
  A line may say serve = "/dev/ttyGS0" instead of link: that modem serves an existing tty as --serve does
  (the gadget side of a USB ACM gadget: carrier loss closes the tty, DTR is not seen), e.g. the answering
  modem on /dev/ttyGS0 (answerd on /dev/ttyACM0) and the calling one on a pty.
  ATA on the rung line connects both (each side's CONNECT is its own profile's); data flows both ways; a
  hang-up on either side (ATH, DTR drop, +++ then ATH) drops the other's carrier with NO CARRIER. A number
  in a call is BUSY (NO CARRIER below X3); no carrier within S7 seconds is NO CARRIER (NO ANSWER for ATD...@
  at X4). --bench cannot be combined with --link, --listen or the modem flags: the file describes it all.
  shipped profiles: {", ".join(profile_names())}

signals: SIGTERM/SIGINT stop the sim; SIGUSR1 toggles --silent (every modem dies or comes back).
"""


def build_parser(prog: str = _PROG) -> argparse.ArgumentParser:
    """The argument parser for ``answerd sim`` (``prog`` is the name shown in help and errors)."""
    parser = _Parser(
        prog=prog,
        description=(
            "Emulate a Hayes data modem on a pseudo-terminal. The computer side is the pty published at "
            "--link; the phone line is TCP: connect with telnet or nc to call in. Defaults below are the "
            "default profile's."
        ),
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--link",
        type=Path,
        metavar="PATH",
        help=f"symlink to publish for the pty slave; an existing symlink is replaced (default: {_DEFAULT_LINK})",
    )
    parser.add_argument(
        "--listen",
        type=_listen,
        metavar="HOST:PORT",
        help="TCP address of the phone line; port 0 picks a free port (default: 127.0.0.1:2323)",
    )
    parser.add_argument(
        "--serve",
        type=Path,
        metavar="TTY",
        help="serve an existing tty as the modem (e.g. /dev/ttyGS0 of a USB ACM gadget) instead of a pty; "
        "--link is not used then",
    )
    parser.add_argument(
        "--profile",
        type=Path,
        metavar="FILE",
        help=(
            "the modem profile to run: a shipped profile's name (usr, rockwell, ...) or a TOML file (see 'modem "
            "profiles' below); default: the built-in default modem"
        ),
    )
    parser.add_argument(
        "--bench",
        type=Path,
        metavar="FILE",
        help="run a simulated bench: several modems joined by a simulated exchange (see below)",
    )
    parser.add_argument(
        "--ring-interval",
        type=_seconds,
        metavar="SECONDS",
        help="time from one RING to the next (default: 6.0, US 2 s on / 4 s off)",
    )
    parser.add_argument(
        "--max-rings",
        type=_count,
        metavar="N",
        help="the caller gives up after N unanswered rings; 0 rings until the caller leaves (default: 0)",
    )
    parser.add_argument(
        "--answer-delay",
        type=_seconds,
        metavar="SECONDS",
        help="handshake time from ATA (or auto-answer) to CONNECT (default: 1.0)",
    )
    parser.add_argument(
        "--connect",
        type=_printable,
        metavar="TEXT",
        help="text after CONNECT; its leading number picks the numeric code (default: 33600/ARQ/V34/LAPM/V42BIS)",
    )
    parser.add_argument(
        "--call-type",
        choices=CRING_TYPES,
        metavar="TYPE",
        help="what +CRING says the call is once the computer sets AT+CRC=1: ASYNC, SYNC, REL ASYNC, REL SYNC "
        "(data), FAX, VOICE, ALT ... (default: ASYNC)",
    )
    parser.add_argument(
        "--caller-id",
        type=_printable,
        metavar="NUMBER",
        help="caller number to send between the first two RINGs (when caller ID is on)",
    )
    parser.add_argument(
        "--caller-name",
        type=_printable,
        metavar="NAME",
        help="caller name for the NAME = line",
    )
    parser.add_argument(
        "--cid",
        action="store_true",
        default=None,
        help="send caller ID lines even if the computer did not enable them with AT+VCID=1 or AT#CID=1",
    )
    parser.add_argument(
        "--cid-format",
        type=_cid_format,
        metavar="NAME",
        help=(
            "how caller ID is presented: "
            + ", ".join(name.lower() for name in CidFormat.__members__)
            + " (default: rockwell; private/out_of_area send NMBR = P/O and need no --caller-id)"
        ),
    )
    parser.add_argument(
        "--cid-date",
        type=_digits4,
        metavar="MMDD",
        help="the DATE = value of caller ID (default: the profile's, else today)",
    )
    parser.add_argument(
        "--cid-time",
        type=_digits4,
        metavar="HHMM",
        help="the TIME = value of caller ID (default: the profile's, else the time the sim started)",
    )
    parser.add_argument(
        "--answer-result",
        type=_printable,
        metavar="TEXT",
        help='fault: answer with this result instead of CONNECT (e.g. "NO CARRIER"; the caller is dropped)',
    )
    parser.add_argument(
        "--never-connect",
        action="store_true",
        default=None,
        help="fault: ATA never gets a result (for answer-timeout tests)",
    )
    parser.add_argument(
        "--error-first",
        type=_count,
        metavar="N",
        help="fault: the first N command lines get ERROR (default: 0)",
    )
    parser.add_argument(
        "--silent",
        action="store_true",
        default=None,
        help=(
            "fault: a dead modem that answers nothing and never rings; SIGUSR1 to the running sim toggles "
            "this at run time (the modem dies, and comes back at the next SIGUSR1)"
        ),
    )
    parser.add_argument(
        "--unsolicited-connect",
        action="store_true",
        default=None,
        help="fault: a caller gets CONNECT at once with no RING (a modem auto-answering on its own)",
    )
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="write a transcript (DTE> ATA, DCE< RING, caller connected, DTR low, ...) to stderr",
    )
    return parser


def build_profile(args: argparse.Namespace, started: time.struct_time) -> ModemProfile:
    """The profile ``answerd sim`` runs: ``--profile`` (or the default modem), then each flag given over it.

    Caller ID's date and time, where neither the profile nor a flag sets them, are ``started``'s.

    Raises:
        ProfileError: the profile file cannot be used (one line, with the file and the TOML path).
        ValueError: a flag's value does not fit the profile (e.g. ``--cid-format digits --caller-id 12``).
    """
    profile = load_profile(find_profile(str(args.profile))) if args.profile is not None else ModemProfile()
    flat = {field: getattr(args, dest) for dest, field in _OVERRIDES.items() if getattr(args, dest) is not None}
    if profile.caller_id.date is None:
        flat.setdefault("cid_date", time.strftime("%m%d", started))
    if profile.caller_id.time is None:
        flat.setdefault("cid_time", time.strftime("%H%M", started))
    return profile.override(**flat)


def main(argv: list[str] | None = None) -> int:
    """Run ``answerd sim`` with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, or a usage error already reported on stderr
        return exc.code if isinstance(exc.code, int) else 2
    if args.bench is not None:
        return _run_bench(parser, args)
    host, port = args.listen or _DEFAULT_LISTEN
    try:
        profile = build_profile(args, time.localtime())
    except ProfileError as exc:
        print(f"{parser.prog}: error: profile {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    config = ServerConfig(link=args.link or _DEFAULT_LINK, host=host, port=port, verbose=args.verbose)
    try:
        server = SimServer(profile, config) if args.serve is None else TtyServer(profile, config, args.serve)
        asyncio.run(run_until_stopped(server))
    except SimError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # SIGINT before the handler was installed: still a clean stop
        return 0
    return 0


def _run_bench(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    """``answerd sim --bench FILE``: load the bench and run it until SIGTERM/SIGINT."""
    dests = (*_OVERRIDES, "profile", "link", "listen")
    others = [f"--{dest.replace('_', '-')}" for dest in dests if getattr(args, dest) is not None]
    if others:
        print(f"{parser.prog}: error: --bench describes every modem; drop {', '.join(others)}", file=sys.stderr)
        return 2
    try:
        lines = load_bench(args.bench)
    except ProfileError as exc:
        print(f"{parser.prog}: error: bench {exc}", file=sys.stderr)
        return 2
    started = time.localtime()  # caller ID's date and time where a profile leaves them out, as without --bench
    lines = [replace(line, profile=_dated(line.profile, started)) for line in lines]
    try:
        asyncio.run(run_until_stopped(BenchServer(lines, verbose=args.verbose)))
    except SimError as exc:
        print(f"{parser.prog}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0
    return 0


def _dated(profile: ModemProfile, started: time.struct_time) -> ModemProfile:
    cid = profile.caller_id
    return profile.override(
        cid_date=cid.date or time.strftime("%m%d", started), cid_time=cid.time or time.strftime("%H%M", started)
    )
