"""Command line: ``answerd run | check-config | sim | demo``.

Exit codes (also in the README; systemd's ``RestartPreventExitStatus=6`` relies on them):

====  =================================================================
0     stopped normally (SIGTERM/SIGINT)
1     internal error (a bug: please report it with the log)
2     bad command-line usage
6     configuration missing or invalid (not restarted by systemd)
69    the modem does not initialise, or the device is missing
75    the device is busy (another answerd holds it)
77    no permission to open the device
====  =================================================================
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import os
import sys
from collections.abc import Sequence

from answerd import __version__
from answerd.service.exitcodes import ExitCode
from answerd.config.settings import Config, ConfigError, parse_toml, read_config_text

# The heavy modules are imported where they are used: ``run`` must fork its configuration check before
# it imports asyncio and the daemon (answerd.config.verdict says why), and ``check-config`` is the only command
# that loads pydantic in this process.

__all__ = ["main"]

EXIT_CODES_HELP = """exit codes:
  0   stopped normally          6   configuration missing or invalid
  1   internal error            69  modem does not initialise / device missing
  2   bad usage                 75  device busy      77  permission denied
"""


def _terminal_columns() -> int:
    """``shutil.get_terminal_size().columns``, without importing shutil.

    argparse imports shutil for this as soon as it builds a parser with subcommands, and shutil brings
    bz2 and lzma (and their libraries) into every port's process for its whole life.
    """
    with contextlib.suppress(KeyError, ValueError):
        return int(os.environ["COLUMNS"])
    if sys.__stdout__ is not None:
        with contextlib.suppress(ValueError, OSError):
            return os.get_terminal_size(sys.__stdout__.fileno()).columns
    return 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, told the width instead of asking shutil."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24, width: int | None = None):
        super().__init__(prog, indent_increment, max_help_position, width or max(_terminal_columns() - 2, 11))


class _RawHelpFormatter(_HelpFormatter, argparse.RawDescriptionHelpFormatter):
    """The same, keeping the line breaks of descriptions and epilogs (the exit code table)."""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="answerd",
        description="Answer calls on a Hayes modem and hand the line to login, pppd or a program.",
        epilog=EXIT_CODES_HELP,
        formatter_class=_RawHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"answerd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="answer calls on one port (foreground; logs to stderr)",
        description="Answer calls on one modem port until stopped. One process per port: under systemd, "
        "answerd@PORT.service runs `answerd run --port PORT`.",
        epilog=EXIT_CODES_HELP,
        formatter_class=_RawHelpFormatter,
    )
    run.add_argument("--config", "-c", required=True, metavar="FILE", help="TOML configuration file")
    run.add_argument(
        "--port",
        "-p",
        metavar="NAME",
        help="port to answer on: a [ports.NAME] table, or any name (device /dev/NAME, [defaults] settings); "
        "may be left out when the file has exactly one [ports.*] table",
    )
    run.add_argument(
        "--log-level", choices=["debug", "info", "warning", "error"], help="override log_level from the file"
    )
    run.add_argument(
        "--log-format",
        choices=["console", "json", "journal"],
        default=None,
        help="log output: console (readable), json (one object per line) or journal (native journald fields); "
        "default: journal when stderr is connected to the journal (under systemd), else console",
    )

    check = sub.add_parser(
        "check-config",
        help="validate a configuration file and show the effective settings of each port",
        description="Validate FILE. Prints every problem with its TOML path and exits 6, or prints the "
        "effective settings of each port and exits 0.",
        formatter_class=_HelpFormatter,
    )
    check.add_argument("file", metavar="FILE")

    sub.add_parser(
        "sim",
        help="run the simulated modem (see `answerd sim --help`)",
        add_help=False,
        formatter_class=_HelpFormatter,
    )
    demo = sub.add_parser(
        "demo",
        help="place one call end to end on the simulated modem and show both sides",
        description="Start a simulated modem and answerd on it, dial in over the simulated phone line, "
        "show the caller's screen (banner, login prompt, Password: from the real /bin/login), hang up, and "
        "show answerd back at 'waiting for RING'. Needs root (login only runs as root).",
        formatter_class=_HelpFormatter,
    )
    demo.add_argument("--verbose", action="store_true", help="also show answerd's debug log")
    return parser


def _choose_port(config: Config, wanted: str | None) -> str:
    if wanted is not None:
        return wanted
    if len(config.ports) == 1:
        return next(iter(config.ports))
    if not config.ports:
        raise ValueError("the configuration has no [ports.NAME] table: name the port with --port")
    names = ", ".join(sorted(config.ports))
    raise ValueError(f"the configuration has several ports ({names}): choose one with --port")


def _one_line(text: str) -> str:
    """``text`` with control characters escaped: a TOML key or file name may hold a newline."""
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode("ascii") for ch in text)


def _print_config_errors(exc: ConfigError) -> None:
    print(f"answerd: invalid configuration {_one_line(exc.source)}:", file=sys.stderr)
    for line in exc.errors:
        print(f"  {_one_line(line)}", file=sys.stderr)


def _keep_out_unused_modules() -> None:
    """Make sure two optional imports of our dependencies never happen in the daemon.

    asyncio imports ``ssl`` for TLS transports and structlog imports ``rich`` (when it is installed) for
    pretty tracebacks; answerd uses neither, and together they cost each port's process about 9 MiB and
    50 ms at start (OpenSSL's libcrypto; rich's modules). Both libraries treat the module as absent when
    it cannot be imported, and a ``None`` in ``sys.modules`` is the interpreter's documented way to say so.
    """
    for name in ("ssl", "rich"):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def _cmd_run(args: argparse.Namespace) -> int:
    try:
        text = read_config_text(args.config)
        document = parse_toml(text, args.config)
    except ConfigError as exc:
        _print_config_errors(exc)
        return ExitCode.CONFIG
    from answerd.config import verdict  # noqa: PLC0415

    verdict.gate_fingerprint()  # now, before an upgrade can change the files (reloads compare against it)
    try:
        # The check runs on the other core while this process imports the daemon.
        wait_for_verdict = verdict.start_check(text, document)
    except OSError as exc:
        print(f"answerd: cannot start the configuration check: {exc.strerror or exc}", file=sys.stderr)
        return ExitCode.INTERNAL_ERROR
    _keep_out_unused_modules()
    import asyncio  # noqa: PLC0415

    from answerd.service.daemon import PortDaemon  # noqa: PLC0415
    from answerd.service.journal import configure_logging  # noqa: PLC0415
    from answerd.service.notify import make_notifier  # noqa: PLC0415

    try:
        errors = wait_for_verdict()
    except verdict.VerdictError as exc:
        print(f"answerd: {exc}", file=sys.stderr)
        return ExitCode.INTERNAL_ERROR
    if errors:
        _print_config_errors(ConfigError(args.config, errors))
        return ExitCode.CONFIG
    config = Config.from_document(document)
    try:
        port = _choose_port(config, args.port)
    except ValueError as exc:
        print(f"answerd: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    configure_logging(args.log_level or config.log_level, args.log_format)
    daemon = PortDaemon(port, config.port(port), notifier=make_notifier(), config_path=args.config)
    return asyncio.run(daemon.run())


def _cmd_check_config(args: argparse.Namespace) -> int:
    from answerd.config.gate import load_config  # noqa: PLC0415  (pydantic: only this command loads it in-process)

    try:
        config = load_config(args.file)
    except ConfigError as exc:
        _print_config_errors(exc)
        return ExitCode.CONFIG
    print(f"{args.file}: OK")
    ports = config.ports or {"(any port, from [defaults])": config.defaults}
    for name, settings in ports.items():
        print(f"[ports.{name}]")
        for key, value in dataclasses.asdict(settings).items():
            print(f"  {key} = {value!r}")
    return ExitCode.OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``answerd`` command."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sim"]:
        from answerd.sim.cli import main as sim_main  # noqa: PLC0415  (the simulator's own parser)

        return sim_main(args_list[1:])
    parser = _build_parser()
    args = parser.parse_args(args_list)
    try:
        match args.command:
            case "run":
                return _cmd_run(args)
            case "check-config":
                return _cmd_check_config(args)
            case "demo":
                from answerd.demo import run_demo  # noqa: PLC0415  (only needed for the demo)

                return run_demo(verbose=args.verbose)
    except KeyboardInterrupt:
        return ExitCode.OK
    parser.error(f"unknown command {args.command}")
    return ExitCode.USAGE  # not reached: parser.error exits


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
