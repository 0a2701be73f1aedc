"""Command line: ``answerd run | check-config | reload | status | probe | sim | demo``.

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
import sys
from collections.abc import Sequence

from answerd import __version__
from answerd.config import Config, ConfigError, load_config
from answerd.config.rules import check_port_name
from answerd.service.exitcodes import ExitCode

__all__ = ["main"]

EXIT_CODES_HELP = """exit codes:
  0   stopped normally          6   configuration missing or invalid
  1   internal error            69  modem does not initialise / device missing
  2   bad usage                 75  device busy      77  permission denied
"""


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="answerd",
        description="Answer calls on a Hayes modem and hand the line to login, pppd or a program.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"answerd {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    run = sub.add_parser(
        "run",
        help="answer calls on one port (foreground; logs to stderr)",
        description="Answer calls on one modem port until stopped. One process per port: under systemd, "
        "answerd@PORT.service runs `answerd run --port PORT`.",
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
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
        description="Validate FILE as `answerd run` and a reload do: types and ranges, unknown keys, chat "
        "scripts, and that every program it names exists and is executable (so run it on the machine that runs "
        "answerd). Prints every problem with its TOML path and exits 6, or prints the effective settings of each "
        "port and exits 0.",
    )
    check.add_argument("file", metavar="FILE")

    reload = sub.add_parser(
        "reload",
        help="make a running `answerd run` re-read its configuration, and report its verdict",
        description="Send SIGHUP to the answerd of PORT and wait for its verdict on the file: exit 0 when "
        "it was accepted (it is applied between calls), 6 with every problem on stderr when it was rejected "
        "(the running configuration is kept). systemd's ExecReload= runs this, so `systemctl reload` fails "
        "visibly for a bad file.",
    )
    reload.add_argument("--port", "-p", required=True, metavar="NAME", help="the port whose daemon to reload")
    reload.add_argument("--pid", type=int, metavar="PID", help="the daemon's pid ($MAINPID); default: the one that "
                        "published its verdict file")  # fmt: skip
    reload.add_argument("--timeout", type=float, default=30.0, metavar="SECONDS", help="how long to wait (30)")

    probe = sub.add_parser(
        "probe",
        help="identify the modem on a line, test what works, and suggest its [ports.NAME] settings",
        description="Identify the modem on PORT (ATI0-ATI7, AT+GMI/GMM/GMR, AT&V) and name its family, find "
        "the caller-ID command it accepts, test which control lines work (DCD, DSR, CTS, RI, DTR drop), and "
        "print a [ports.NAME] table to start from. Takes the line's UUCP lock, refuses a line answerd or a "
        "dial-out program is using, and leaves the modem reset (ATZ). Exit 75 when the line is busy, 69 when "
        "it cannot be probed.",
    )
    probe.add_argument("port", metavar="PORT", help="a name below /dev (ttyUSB0) or a device path")
    probe.add_argument("--name", metavar="NAME", help="the [ports.NAME] table to print (default: from PORT)")
    probe.add_argument("--speed", type=int, default=38400, metavar="BPS", help="port speed (38400)")
    probe.add_argument("--lock-dir", default=None, metavar="DIR", help="UUCP lock directory (/run/lock)")
    probe.add_argument("--timeout", type=float, default=2.0, metavar="SECONDS", help="per command (2)")

    sub.add_parser(
        "sim",
        help="run the simulated modem (see `answerd sim --help`)",
        add_help=False,
    )
    demo = sub.add_parser(
        "demo",
        help="place one call end to end on the simulated modem and show both sides",
        description="Start a simulated modem and answerd on it, dial in over the simulated phone line, "
        "show the caller's screen (banner, login prompt, Password: from the real /bin/login), hang up, and "
        "show answerd back at 'waiting for RING'. Needs root (login only runs as root).",
    )
    demo.add_argument("--verbose", action="store_true", help="also show answerd's debug log")

    mgetty = sub.add_parser(
        "import-mgetty",
        help="convert an mgetty setup into an answerd configuration (TOML on stdout)",
        description="Read mgetty.config, login.config and dialin.config from DIR and print the answerd "
        "configuration that does the same. Lines answerd has no key for are kept as comments saying why; "
        "warnings go to stderr. See docs/migrating-from-mgetty.md.",
    )
    mgetty.add_argument("--config-dir", default="/etc/mgetty", metavar="DIR", help="default: /etc/mgetty")
    mgetty.add_argument(
        "--args",
        metavar="CMDLINE",
        help="the mgetty command line: an ExecStart= line, an inittab line or '/sbin/mgetty -s 57600 ttyS0'",
    )
    mgetty.add_argument("--port", metavar="NAME", help="the port the command line is for (and wildcard sections)")

    status = sub.add_parser(
        "status",
        help="show every port's state, caller, connect rate and calls (from the daemons' state files)",
        description="One line per port (every port with a state file, or the PORTs named): its state and since "
        "when, the caller and CONNECT of a call in progress, user/program, calls since the daemon started by "
        "outcome, and the last call's outcome. A port whose daemon is gone shows as gone, with its last words. "
        "The files are in /run/answerd ($RUNTIME_DIRECTORY if set).",
        epilog="exit codes: 0 every port shown runs; 3 a port shown does not run (or no port has run since "
        "boot); 4 a state file cannot be read (run as root)",
    )
    status.add_argument("ports", nargs="*", metavar="PORT", help="only these ports (default: every port)")
    status.add_argument("--json", action="store_true", help="one JSON document, for scripts")
    status.add_argument(
        "--since",
        metavar="TIME",
        help="also count calls by outcome from the journal since TIME (as journalctl --since takes it: "
        "'2026-12-01', 'yesterday', or --since=-1h)",
    )
    return parser


def _check_port_option(name: str) -> str:
    """``--port NAME`` checked by the one rule for port names (the config's ``[ports.NAME]`` rule)."""
    try:
        return check_port_name(name)
    except ValueError as exc:
        raise ValueError(f"--port {_one_line(name)!r}: {exc}") from None


def _choose_port(config: Config, wanted: str | None) -> str:
    if wanted is not None:
        return _check_port_option(wanted)
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
    pretty tracebacks; answerd uses neither. Both libraries treat the module as absent when it cannot be
    imported, and a ``None`` in ``sys.modules`` is the interpreter's documented way to say so.

    This is the one memory measure left from the old 15 MB target; it is kept because it pays per port
    (Python 3.11, an installed-layout interpreter importing what ``answerd run`` imports, median of 15):
    rich costs 3.7 MiB PSS, ssl 1.0 MiB PSS and 25 ms of start-up. ``python -m bench.floor --with-ssl-rich``
    shows the same difference on the floor (4.6 MiB). The others went with the verdict child: pydantic
    itself imports shutil, tempfile and hashlib, and the floor's libraries import pathlib.
    """
    for name in ("ssl", "rich"):
        sys.modules.setdefault(name, None)  # type: ignore[arg-type]


def _cmd_run(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.config)
    except ConfigError as exc:
        _print_config_errors(exc)
        return ExitCode.CONFIG
    try:
        port = _choose_port(config, args.port)
    except ValueError as exc:
        print(f"answerd: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    _keep_out_unused_modules()
    import asyncio  # noqa: PLC0415  (the commands that do not run the daemon do without asyncio)

    import structlog  # noqa: PLC0415

    from answerd.config.advice import start_warnings  # noqa: PLC0415
    from answerd.service.daemon import PortDaemon  # noqa: PLC0415
    from answerd.service.journal import configure_logging  # noqa: PLC0415
    from answerd.service.notify import make_notifier  # noqa: PLC0415

    configure_logging(args.log_level or config.log_level, args.log_format)
    log = structlog.get_logger("answerd").bind(port=port)
    for event, warning in start_warnings(config, port):
        log.warning(event, warning=warning)
    daemon = PortDaemon(port, config.port(port), notifier=make_notifier(), config_path=args.config)
    return asyncio.run(daemon.run())


def _cmd_check_config(args: argparse.Namespace) -> int:
    try:
        config = load_config(args.file)
    except ConfigError as exc:
        _print_config_errors(exc)
        return ExitCode.CONFIG
    from answerd.config.advice import check_config_warnings  # noqa: PLC0415  (only this command)
    from answerd.config.show import effective_settings  # noqa: PLC0415

    for warning in check_config_warnings(config):
        print(f"answerd: warning: {_one_line(warning)}", file=sys.stderr)
    print(f"# {_one_line(args.file)}: OK; the settings in effect for each port:")
    for line in effective_settings(config):
        print(line)
    return ExitCode.OK


def _cmd_import_mgetty(args: argparse.Namespace) -> int:
    from answerd.mgetty.importer import MgettyImportError, import_mgetty  # noqa: PLC0415  (only this command)

    try:
        result = import_mgetty(args.config_dir, args=args.args, port=args.port)
    except MgettyImportError as exc:
        print(f"answerd: import-mgetty: {_one_line(str(exc))}", file=sys.stderr)
        return ExitCode.CONFIG
    for warning in result.warnings:
        print(f"answerd: warning: {_one_line(warning)}", file=sys.stderr)
    sys.stdout.write(result.text)
    return ExitCode.OK


def _cmd_reload(args: argparse.Namespace) -> int:
    from answerd.service.reload import ReloadError, request_reload, runtime_dir  # noqa: PLC0415

    try:
        _check_port_option(args.port)
    except ValueError as exc:
        print(f"answerd: {exc}", file=sys.stderr)
        return ExitCode.USAGE
    try:
        verdict = request_reload(args.port, pid=args.pid, directory=runtime_dir(), timeout_s=args.timeout)
    except ReloadError as exc:
        print(f"answerd: {exc}", file=sys.stderr)
        return ExitCode.UNAVAILABLE
    if not verdict.accepted:
        print(
            f"answerd: port {_one_line(args.port)}: configuration rejected, the running one is kept:", file=sys.stderr
        )
        for line in verdict.errors:
            print(f"  {_one_line(line)}", file=sys.stderr)
        return ExitCode.CONFIG
    print(f"answerd: port {_one_line(args.port)}: configuration accepted (applied between calls)")
    return ExitCode.OK


def _cmd_probe(args: argparse.Namespace) -> int:
    from answerd.line.lock import DEFAULT_LOCK_DIR  # noqa: PLC0415  (only this command)
    from answerd.service.probe import ProbeError, probe, render_report, render_snippet  # noqa: PLC0415

    device = args.port if "/" in args.port else f"/dev/{args.port}"
    name = args.name or device.rsplit("/", 1)[-1]
    try:
        report = probe(device, speed=args.speed, lock_dir=args.lock_dir or DEFAULT_LOCK_DIR, timeout_s=args.timeout)
    except ProbeError as exc:
        print(f"answerd: probe: {_one_line(str(exc))}", file=sys.stderr)
        return ExitCode.TEMPFAIL if "in use" in str(exc) else ExitCode.UNAVAILABLE
    sys.stdout.write(render_report(report) + "\n" + render_snippet(report, name))
    return ExitCode.OK


def _cmd_status(args: argparse.Namespace) -> int:
    from answerd.service.reload import runtime_dir  # noqa: PLC0415  (only this command)
    from answerd.service.status import count_calls, exit_code, gather, render_json, render_table  # noqa: PLC0415

    views = gather(runtime_dir(), args.ports)
    counts = None if args.since is None else count_calls(args.since)
    if args.json:
        print(render_json(views, counts))
    elif views:
        sys.stdout.write(render_table(views, counts))
    else:
        print(f"answerd: no port has run answerd since boot (no state files in {runtime_dir()})")
    return exit_code(views)


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
            case "import-mgetty":
                return _cmd_import_mgetty(args)
            case "reload":
                return _cmd_reload(args)
            case "probe":
                return _cmd_probe(args)
            case "status":
                return _cmd_status(args)
            case "demo":
                from answerd.demo import run_demo  # noqa: PLC0415  (only needed for the demo)

                return run_demo(verbose=args.verbose)
    except KeyboardInterrupt:
        return ExitCode.OK
    parser.error(f"unknown command {args.command}")
    return ExitCode.USAGE  # not reached: parser.error exits


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
