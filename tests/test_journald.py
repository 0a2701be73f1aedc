"""Journal logging: journald fields, MESSAGE_IDs and their catalog, format auto-detection, a real journald."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from answerd.service import journal
from answerd.service.journal import (
    CATALOG_FILE,
    MAX_VALUE_CHARS,
    MESSAGE_IDS,
    JournalLogger,
    configure_logging,
    detect_format,
    journal_field_name,
    sanitize,
    stderr_is_journal,
    to_journal_fields,
)

REPO = Path(__file__).resolve().parent.parent
JOURNALD = Path("/lib/systemd/systemd-journald")
HOSTILE = "\x1b[2J\r\nFAKE=1" + "A" * 10_000
# What journald adds itself, or what this module adds to every record.
BASE_FIELDS = {"MESSAGE", "PRIORITY", "SYSLOG_IDENTIFIER", "EVENT"}


def fields_of(event: str, method: str = "info", **kw: Any) -> dict[str, Any]:
    """The journal fields for one record, through the same sanitize → to_journal_fields chain as production."""
    event_dict: dict[str, Any] = {"event": event, "level": method, **kw}
    return to_journal_fields(None, method, sanitize(None, method, event_dict))


@pytest.fixture(autouse=True)
def _reset_structlog() -> Iterator[None]:
    """Every test starts from and leaves structlog's defaults and empty contextvars."""
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()
    yield
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


class TestFieldNames:
    @pytest.mark.parametrize(
        ("key", "expected"),
        [
            ("port", "PORT"),
            ("call_id", "CALL_ID"),
            ("caller_id", "CALLER_ID"),
            ("caller_name", "CALLER_NAME"),
            ("user", "USER"),
            ("program", "PROGRAM"),
            ("exit_status", "EXIT_STATUS"),
            ("outcome", "OUTCOME"),
            ("duration_s", "DURATION_S"),
            ("bad key!", "BAD_KEY_"),
            ("_pid", "PID"),
            ("__comm", "COMM"),
            ("9lives", "X_9LIVES"),
            ("", "X_"),
            ("caller-name", "CALLER_NAME"),
            ("k\u00e9y", "K_Y"),
            ("message", "X_MESSAGE"),
            ("priority", "X_PRIORITY"),
            ("event", "X_EVENT"),
            ("a" * 100, "A" * 64),
        ],
    )
    def test_key_to_field_name(self, key: str, expected: str) -> None:
        """Record keys become valid journald field names that cannot replace the fields answerd sets."""
        assert expected == journal_field_name(key)

    @pytest.mark.parametrize("key", ["port", "_x", "9", "\r\nFAKE", "message", "\x00" * 80, "ab c" * 40])
    def test_every_name_is_valid(self, key: str) -> None:
        """Whatever the key, the name matches journald's rule (A-Z 0-9 _, no leading _ or digit, ≤ 64)."""
        assert re.fullmatch(r"[A-Z][A-Z0-9_]{0,63}", journal_field_name(key))


class TestToJournalFields:
    def test_call_ended(self) -> None:
        """A canonical call.ended record gives every field by name, a readable MESSAGE and its MESSAGE_ID."""
        fields = fields_of(
            "call.ended",
            port="ttyS0",
            call_id="c7",
            outcome="carrier-lost",
            caller_id="5551234",
            caller_name=None,
            rings=2,
            connect="33600/ARQ/V34/LAPM/V42BIS",
            user="demo",
            program="/bin/login",
            exit_status=0,
            duration_s=12.3,
        )

        assert {
            "MESSAGE": "call c7 on ttyS0 from 5551234 ended: carrier-lost after 12 s at 33600/ARQ/V34/LAPM/V42BIS "
            "(user demo, /bin/login)",
            "PRIORITY": "6",
            "SYSLOG_IDENTIFIER": "answerd",
            "EVENT": "call.ended",
            "MESSAGE_ID": journal.MESSAGE_ID_CALL_ENDED,
            "PORT": "ttyS0",
            "CALL_ID": "c7",
            "OUTCOME": "carrier-lost",
            "CALLER_ID": "5551234",
            "RINGS": "2",
            "CONNECT": "33600/ARQ/V34/LAPM/V42BIS",
            "CONNECT_RATE": "33600",
            "PROTOCOL": "ARQ/V34/LAPM/V42BIS",
            "USER": "demo",
            "PROGRAM": "/bin/login",
            "EXIT_STATUS": "0",
            "DURATION_S": "12.3",
        } == fields

    def test_summary_of_the_issue_example(self) -> None:
        """Issue 13: the MESSAGE of call.ended is a sentence with the key facts, as in the issue's example."""
        fields = fields_of(
            "call.ended", port="ttyUSB0", call_id=12, outcome="carrier-lost", caller_id="5551234", user="demo",
            program="/bin/login", duration_s=63.2,
        )  # fmt: skip

        expected = "call 12 on ttyUSB0 from 5551234 ended: carrier-lost after 63 s (user demo, /bin/login)"
        assert expected == fields["MESSAGE"]

    def test_long_values_do_not_hide_the_outcome(self) -> None:
        """Issue 13: a long caller name or program path cannot push the outcome out of the MESSAGE's start."""
        fields = fields_of(
            "call.ended", port="ttyS0", call_id=3, outcome="program-error", caller_name="N" * 300,
            program="/opt/" + "p" * 300, exit_status=2, detail="D" * 300, duration_s=1.25,
        )  # fmt: skip

        message = fields["MESSAGE"]
        assert message.startswith("call 3 on ttyS0 (" + "N" * 64 + "...) ended: program-error after 1.2 s (")
        assert ("exit status 2" in message, len(message) < 500, "N" * 300) == (True, True, fields["CALLER_NAME"])

    @pytest.mark.parametrize(
        ("event", "values", "expected"),
        [
            (
                "call.connected",
                {"connect": "33600/ARQ", "rings": 2, "trailing_bytes": 0},
                "call 4 on ttyS0 connected at 33600/ARQ after 2 rings",
            ),
            (
                "call.rejected",
                {"caller_id": "5551234", "reason": "caller 5551234 matches '!555': reject"},
                "call 4 on ttyS0 from 5551234 rejected: caller 5551234 matches '!555': reject",
            ),
            (
                "call.busy_out",
                {"caller_id": "P", "reason": "/etc/nologin.ttyS0 exists"},
                "call 4 on ttyS0 from a withheld number not answered, the line is busied out: /etc/nologin.ttyS0 "
                "exists",
            ),
            (
                "call.ended",
                {"outcome": "program-error", "program": "/usr/sbin/pppd", "exit_status": 19, "signal": None},
                "call 4 on ttyS0 ended: program-error (/usr/sbin/pppd, exit status 19)",
            ),
            (
                "modem.failed",
                {"reason": "modem-init-failed", "detail": "no answer"},
                "the modem on ttyS0 failed: modem-init-failed (no answer); the port's service stops",
            ),
            (
                "config.autoppp_without_rule",
                {"warning": 'autoppp is on but no dispatch rule has match = "/AutoPPP/"'},
                'port ttyS0: autoppp is on but no dispatch rule has match = "/AutoPPP/"',
            ),
        ],
    )
    def test_key_events_are_sentences(self, event: str, values: dict[str, Any], expected: str) -> None:
        """Issue 13: each key event's MESSAGE is a sentence naming the call, port and what happened."""
        assert expected == fields_of(event, port="ttyS0", call_id=4, **values)["MESSAGE"]

    def test_summary_of_other_events(self) -> None:
        """Other events summarise all their values except the port and call context, quoting values with spaces."""
        fields = fields_of("modem.init.retry", "warning", port="ttyS0", attempt=2, reason="no answer", backoff_s=4)

        assert 'modem.init.retry attempt=2 reason="no answer" backoff=4s' == fields["MESSAGE"]
        assert ("4", "4") == (fields["PRIORITY"], fields["BACKOFF_S"])

    @pytest.mark.parametrize(
        ("connect", "rate", "protocol"),
        [
            ("33600/ARQ/V34/LAPM/V42BIS", "33600", "ARQ/V34/LAPM/V42BIS"),
            ("2400", "2400", None),
            ("9600/REL", "9600", "REL"),
            ("14400 / V42BIS", "14400", "V42BIS"),
            ("2400 V42BIS", "2400", "V42BIS"),
            ("FAX", None, "FAX"),
        ],
    )
    def test_connect_rate_and_protocol(self, connect: str, rate: str | None, protocol: str | None) -> None:
        """CONNECT_RATE is the leading number of connect and PROTOCOL the rest; CONNECT stays as it came."""
        fields = fields_of("call.connected", connect=connect)

        assert (connect, rate, protocol) == (fields["CONNECT"], fields.get("CONNECT_RATE"), fields.get("PROTOCOL"))

    @pytest.mark.parametrize(
        ("event", "expected"),
        [
            ("call.connected", journal.MESSAGE_ID_CALL_CONNECTED),
            ("call.ended", journal.MESSAGE_ID_CALL_ENDED),
            ("call.rejected", journal.MESSAGE_ID_CALL_REJECTED),
            ("modem.failed", journal.MESSAGE_ID_MODEM_FAILED),
            ("port.ready", None),
            ("modem.init.retry", None),
            ("call.ring", None),
        ],
    )
    def test_message_id(self, event: str, expected: str | None) -> None:
        """The four key events carry their MESSAGE_ID and other events none."""
        assert expected == fields_of(event).get("MESSAGE_ID")

    def test_message_ids_are_distinct_128_bit_hex(self) -> None:
        """Each MESSAGE_ID is 32 lowercase hex digits, and no two are equal."""
        ids = list(MESSAGE_IDS.values())

        assert len(ids) == len(set(ids))
        assert all(re.fullmatch(r"[0-9a-f]{32}", i) for i in ids)

    @pytest.mark.parametrize(
        ("method", "expected"),
        [("debug", "7"), ("info", "6"), ("warning", "4"), ("warn", "4"), ("error", "3"), ("critical", "2")],
    )
    def test_priority(self, method: str, expected: str) -> None:
        """PRIORITY is the syslog number of the level."""
        assert expected == fields_of("x", method)["PRIORITY"]

    def test_none_values_are_omitted(self) -> None:
        """A None value gives no field at all, and no entry in MESSAGE."""
        fields = fields_of("call.ended", outcome="abandoned", caller_id=None, user=None, signal=None)

        assert {*BASE_FIELDS, "MESSAGE_ID", "OUTCOME"} == set(fields)
        assert "call ended: abandoned" == fields["MESSAGE"]

    def test_invalid_keys_are_sanitised(self) -> None:
        """Keys that are not journald names are renamed, and cannot replace MESSAGE or journald's own fields."""
        event_dict: dict[str, Any] = {"event": "call.caller_id", "message": "HELLO", "bad key": 1, "_PID": 2, "9x": 3}

        fields = to_journal_fields(None, "info", event_dict)

        assert {*BASE_FIELDS, "X_MESSAGE", "BAD_KEY", "PID", "X_9X"} == set(fields)
        assert ("HELLO", "call.caller_id message=HELLO bad key=1 _PID=2 9x=3") == (
            fields["X_MESSAGE"],
            fields["MESSAGE"],
        )

    @pytest.mark.parametrize("key", ["caller_name", "connect", "detail"])
    def test_hostile_value_is_escaped_capped_and_one_field(self, key: str) -> None:
        """Escape sequences, CR/LF with a fake field and 10 kB from the line stay one escaped, capped value."""
        fields = fields_of("call.ended", **{key: HOSTILE})

        name = key.upper()
        expected_fields = {*BASE_FIELDS, "MESSAGE_ID", name} | ({"PROTOCOL"} if key == "connect" else set())
        assert expected_fields == set(fields)
        assert fields[name].startswith("\\x1b[2J\\r\\nFAKE=1AAA")
        assert fields[name].endswith("...")
        assert MAX_VALUE_CHARS + 3 >= len(fields[name])
        for value in fields.values():
            assert re.fullmatch(r"[ -~]*", value), value
        assert 400 > len(fields["MESSAGE"])

    def test_hostile_non_string_value_is_escaped(self) -> None:
        """A value that is not a str is escaped after str(), so it cannot smuggle a newline in either."""

        class Sneaky:
            def __str__(self) -> str:
                return "ok\nFAKE=1"

        fields = fields_of("port.status", status=Sneaky())

        assert ("ok\\nFAKE=1", 'port.status status="ok\\nFAKE=1"') == (fields["STATUS"], fields["MESSAGE"])

    def test_exception_becomes_a_multiline_field(self) -> None:
        """A formatted traceback becomes EXCEPTION, one escaped line per traceback line."""
        event_dict = {"event": "internal.error", "exception": "Traceback:\n  boom \x1b[2J\nValueError: x"}

        fields = to_journal_fields(None, "error", event_dict)

        assert "Traceback:\n  boom \\x1b[2J\nValueError: x" == fields["EXCEPTION"]
        assert ("internal.error", "3") == (fields["MESSAGE"], fields["PRIORITY"])


class TestJournalLogger:
    def test_every_level_method_sends(self) -> None:
        """Each method structlog may call sends the fields as keyword arguments."""
        sent: list[dict[str, Any]] = []
        logger = JournalLogger("answerd", send=lambda **f: sent.append(f))

        for method in ("msg", "debug", "info", "warning", "warn", "error", "critical", "exception", "fatal"):
            getattr(logger, method)(MESSAGE=method)

        assert ["msg", "debug", "info", "warning", "warn", "error", "critical", "exception", "fatal"] == [
            f["MESSAGE"] for f in sent
        ]

    def test_configured_journal_output(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """With fmt "journal", records reach systemd.journal.send with context, callsite and level filtering."""
        from systemd import journal as systemd_journal  # noqa: PLC0415

        sent: list[dict[str, Any]] = []
        monkeypatch.setattr(systemd_journal, "send", lambda **f: sent.append(f))
        configure_logging("info", "journal")
        structlog.contextvars.bind_contextvars(port="ttyS1", call_id="c1")
        log = structlog.get_logger("answerd")

        log.debug("modem.line", line="OK")
        log.error("modem.failed", reason="modem-init-failed", detail=HOSTILE)

        assert 1 == len(sent)
        fields = sent[0]
        assert (
            "3",
            journal.MESSAGE_ID_MODEM_FAILED,
            "ttyS1",
            "c1",
            "test_configured_journal_output",
            __file__,
        ) == (
            fields["PRIORITY"],
            fields["MESSAGE_ID"],
            fields["PORT"],
            fields["CALL_ID"],
            fields["CODE_FUNC"],
            fields["CODE_FILE"],
        )
        assert isinstance(fields["CODE_LINE"], int)
        assert "TIMESTAMP" not in fields

    def test_exception_is_sent(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """log.exception() sends PRIORITY 3 with the traceback in EXCEPTION."""
        from systemd import journal as systemd_journal  # noqa: PLC0415

        sent: list[dict[str, Any]] = []
        monkeypatch.setattr(systemd_journal, "send", lambda **f: sent.append(f))
        configure_logging("info", "journal")
        try:
            raise ValueError("bad \x1b value")
        except ValueError:
            structlog.get_logger("answerd").exception("internal.error")

        assert "3" == sent[0]["PRIORITY"]
        assert sent[0]["EXCEPTION"].endswith("ValueError: bad \\x1b value")


class TestConsoleAndJson:
    def test_json_is_one_escaped_object_per_line(self, capsys: pytest.CaptureFixture[str]) -> None:
        """JSON output stays one object per line, with hostile text escaped by sanitize."""
        configure_logging("info", "json")

        structlog.get_logger("answerd").info("call.ended", caller_name=HOSTILE)

        lines = capsys.readouterr().err.splitlines()
        assert 1 == len(lines)
        record = json.loads(lines[0])
        assert ("call.ended", "info") == (record["event"], record["level"])
        assert record["caller_name"].startswith("\\x1b[2J\\r\\nFAKE=1")
        assert "timestamp" in record

    def test_console_is_readable_and_escaped(self, capsys: pytest.CaptureFixture[str]) -> None:
        """Console output is one line per event without raw control characters (not a tty: no colour)."""
        configure_logging("info", "console")

        structlog.get_logger("answerd").info("call.ended", caller_name=HOSTILE)

        err = capsys.readouterr().err
        assert 1 == err.count("\n")
        assert "call.ended" in err
        assert "\x1b" not in err


class TestDetection:
    def test_matching_stream(self, tmp_path: Path) -> None:
        """stderr_is_journal is true when JOURNAL_STREAM names the device and inode of the fd."""
        with (tmp_path / "stream").open("w") as f:
            st = os.fstat(f.fileno())

            assert stderr_is_journal({"JOURNAL_STREAM": f"{st.st_dev}:{st.st_ino}"}, f.fileno())

    @pytest.mark.parametrize("value", ["", "garbage", "1:2:3", "{dev}:{other}", "{other}:{ino}"])
    def test_not_matching_stream(self, tmp_path: Path, value: str) -> None:
        """stderr_is_journal is false when JOURNAL_STREAM is absent, malformed or names another file."""
        with (tmp_path / "stream").open("w") as f:
            st = os.fstat(f.fileno())
            environ = {"JOURNAL_STREAM": value.format(dev=st.st_dev, ino=st.st_ino, other=st.st_ino + 1)}

            assert not stderr_is_journal(environ, f.fileno())

    def test_closed_fd(self) -> None:
        """A closed or invalid stderr is not the journal."""
        assert not stderr_is_journal({"JOURNAL_STREAM": "1:1"}, 987654)

    @pytest.mark.parametrize(("match", "expected"), [(True, "journal"), (False, "console")])
    def test_auto_format_in_a_process(self, tmp_path: Path, match: bool, expected: str) -> None:
        """configure_logging(fmt=None) picks journal only when fd 2 is the JOURNAL_STREAM file."""
        program = textwrap.dedent(
            """
            import structlog
            from answerd.service.journal import configure_logging, detect_format
            print(detect_format())
            configure_logging("info", None)
            structlog.get_logger("answerd").info("port.ready", device="/dev/ttyS0")
            """
        )
        stream = tmp_path / "stderr"
        with stream.open("w") as err:
            st = os.fstat(err.fileno())
            env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
            env["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino if match else st.st_ino + 1}"
            env["PYTHONPATH"] = str(REPO)
            result = subprocess.run(
                [sys.executable, "-c", program], stdout=subprocess.PIPE, stderr=err, env=env, text=True, check=True
            )

        assert expected == result.stdout.strip()
        # The journal mode sends to the socket (absent here: dropped silently), the console writes to stderr.
        assert (expected == "console") == ("port.ready" in stream.read_text())

    def test_detect_without_variable(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without JOURNAL_STREAM the format is console."""
        monkeypatch.delenv("JOURNAL_STREAM", raising=False)

        assert "console" == detect_format()


def catalog_entries(text: str) -> dict[str, dict[str, str]]:
    """Parse a journald catalog: message ID → its header fields plus ``body``."""
    entries: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    in_header = False
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        if header := re.fullmatch(r"-- ([0-9a-f]{32})", line):
            current = entries.setdefault(header[1], {"body": ""})
            in_header = True
        elif current is not None and in_header and line:
            key, _, value = line.partition(": ")
            current[key] = value
        elif current is not None:
            in_header = False
            current["body"] += line + "\n"
    return entries


class TestCatalog:
    def test_every_message_id_has_an_entry_and_back(self) -> None:
        """The catalog explains exactly the MESSAGE_ID constants of answerd.service.journal."""
        constants = {v for k, v in vars(journal).items() if k.startswith("MESSAGE_ID_")}

        assert constants == set(catalog_entries(Path(CATALOG_FILE).read_text()))
        assert constants == set(MESSAGE_IDS.values())

    def test_entries_are_complete(self) -> None:
        """Each entry has a Subject, Defined-By: answerd, a Support URI, a body, and only known @FIELD@ references."""
        known = {"PORT", "CALL_ID", "CALLER_ID", "CALLER_NAME", "CONNECT", "CONNECT_RATE", "PROTOCOL", "RINGS"}
        known |= {"OUTCOME", "DURATION_S", "REASON", "DETAIL", "USER", "PROGRAM", "EXIT_STATUS"}
        for message_id, entry in catalog_entries(Path(CATALOG_FILE).read_text()).items():
            assert ("answerd", True) == (entry.get("Defined-By"), bool(entry.get("Subject"))), message_id
            assert re.match(r"[a-z]+:", entry.get("Support", "")), message_id
            assert entry["body"].strip(), message_id
            assert set() == set(re.findall(r"@([A-Z0-9_]+)@", entry["Subject"] + entry["body"])) - known

    @pytest.mark.skipif(shutil.which("journalctl") is None, reason="journalctl is not installed")
    def test_journalctl_accepts_the_catalog(self, tmp_path: Path) -> None:
        """journalctl --update-catalog compiles the file and lists every entry as Defined-By answerd."""
        source = tmp_path / "usr/lib/systemd/catalog"
        source.mkdir(parents=True)
        (tmp_path / "var/lib/systemd/catalog").mkdir(parents=True)
        shutil.copy(CATALOG_FILE, source)

        subprocess.run(["journalctl", f"--root={tmp_path}", "--update-catalog"], check=True)
        listing = subprocess.run(
            ["journalctl", f"--root={tmp_path}", "--list-catalog"], capture_output=True, text=True, check=True
        ).stdout

        assert sorted(MESSAGE_IDS.values()) == sorted(line.split()[0] for line in listing.splitlines())
        assert all(" answerd: " in line for line in listing.splitlines())


# Runs as root in a private mount namespace (see TestRealJournald). argv: catalog directory, hostile caller name.
_IN_NAMESPACE = r"""
import json, os, subprocess, sys, time
import structlog
from answerd.service import journal
from answerd.service.journal import configure_logging

def mount_tmpfs(path):
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755", "tmpfs", path], check=True)

# Private /run: the only journal socket libsystemd talks to is /run/systemd/journal/socket.
mount_tmpfs("/run")
os.makedirs("/run/systemd")
os.makedirs("/run/log")
# journald writes /var/log/journal when it exists (Storage=auto): keep that private too.
if os.path.isdir("/var/log/journal"):
    mount_tmpfs("/var/log/journal")
# The catalog database, built from answerd's catalog only, for journalctl -x.
mount_tmpfs("/var/lib/systemd")
os.makedirs("/var/lib/systemd/catalog")
subprocess.run(["mount", "--bind", sys.argv[1], "/usr/lib/systemd/catalog"], check=True)
subprocess.run(["journalctl", "--update-catalog"], check=True)

# SYSTEMD_LOG_TARGET=console: journald's own messages go to our pipe, not to the host's kernel log.
journald = subprocess.Popen(
    ["/lib/systemd/systemd-journald"],
    stdout=subprocess.DEVNULL,
    stderr=subprocess.PIPE,
    env={**os.environ, "SYSTEMD_LOG_TARGET": "console"},
)
try:
    deadline = time.monotonic() + 5
    while not os.path.exists("/run/systemd/journal/socket"):
        if time.monotonic() > deadline or journald.poll() is not None:
            sys.exit("journald did not start: " + journald.stderr.read().decode(errors="replace"))
        time.sleep(0.02)

    configure_logging("info", "journal")
    structlog.contextvars.bind_contextvars(port="ttyTEST", call_id="c42")
    log = structlog.get_logger("answerd")
    log.debug("modem.line", line="RING")
    log.info("call.connected", connect="33600/ARQ/V34/LAPM/V42BIS", rings=2)
    log.info(
        "call.ended", outcome="carrier-lost", caller_id="5551234", caller_name=sys.argv[2],
        connect="33600/ARQ/V34/LAPM/V42BIS", user="demo", duration_s=12.34, signal=None,
    )
    log.error("modem.failed", reason="modem-init-failed", detail="no answer")

    def query(*args):
        out = subprocess.run(["journalctl", "--no-pager", *args], capture_output=True, text=True, check=True)
        return out.stdout

    ended = "MESSAGE_ID=" + journal.MESSAGE_ID_CALL_ENDED
    subprocess.run(["journalctl", "--sync"], check=True)
    deadline = time.monotonic() + 5
    while len(query("-o", "json", "PORT=ttyTEST").splitlines()) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    print(json.dumps({
        "port": [json.loads(line) for line in query("-o", "json", "PORT=ttyTEST").splitlines()],
        "ended": [json.loads(line) for line in query("-o", "json", ended).splitlines()],
        "explained": query("-x", "-o", "short", ended),
    }))
finally:
    journald.terminate()
    journald.wait(5)
"""


def _unshare_command() -> list[str]:
    """The unshare prefix for a private mount namespace (mapping root when not already root)."""
    command = ["unshare", "--mount", "--propagation", "private"]
    return command if os.geteuid() == 0 else [*command, "--map-root-user"]


@pytest.fixture(name="journal_json", scope="module")
def _journal_json() -> dict[str, Any]:
    """Run the namespace program once and return what journalctl printed (see TestRealJournald)."""
    probe = subprocess.run([*_unshare_command(), "true"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip(f"cannot create a mount namespace here: {probe.stderr.decode(errors='replace').strip()}")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("JOURNAL_STREAM", None)
    result = subprocess.run(
        [*_unshare_command(), sys.executable, "-c", _IN_NAMESPACE, str(Path(CATALOG_FILE).parent), HOSTILE],
        capture_output=True,
        text=True,
        env=env,
        timeout=25,
        check=False,
    )
    assert 0 == result.returncode, result.stderr
    data: dict[str, Any] = json.loads(result.stdout)
    return data


@pytest.mark.skipif(shutil.which("unshare") is None, reason="unshare (util-linux) is not installed")
@pytest.mark.skipif(not JOURNALD.exists(), reason="systemd-journald is not installed")
@pytest.mark.timeout(30)
class TestRealJournald:
    """Records reach a real systemd-journald and come back from journalctl with their fields.

    libsystemd always sends to ``/run/systemd/journal/socket`` (no override), and there is no journald on
    the host. So the whole body runs in a subprocess under ``unshare --mount --propagation private``: it
    mounts a tmpfs over ``/run`` (then creates ``/run/systemd`` and ``/run/log``), over ``/var/log/journal``
    if it exists (journald's persistent storage) and over ``/var/lib/systemd`` (the catalog database),
    bind-mounts ``answerd/catalog`` over ``/usr/lib/systemd/catalog`` and runs ``journalctl
    --update-catalog``; it starts ``/lib/systemd/systemd-journald`` (socket up in ~0.1 s), logs with
    ``configure_logging("info", "journal")``, runs ``journalctl --sync`` and queries with plain
    ``journalctl -o json FIELD=value``: without ``-D`` it reads both ``/run/log/journal`` and
    ``/var/log/journal``, wherever journald wrote, and sees only this namespace's tmpfs. Nothing on the host
    is touched; the mounts vanish with the namespace.
    """

    def test_events_and_fields(self, journal_json: dict[str, Any]) -> None:
        """journalctl PORT=ttyTEST returns the three info-or-higher events, with answerd's fields."""
        entries = journal_json["port"]

        assert ["call.connected", "call.ended", "modem.failed"] == [e["EVENT"] for e in entries]
        connected, ended, failed = entries
        assert {
            "MESSAGE": "call c42 on ttyTEST connected at 33600/ARQ/V34/LAPM/V42BIS after 2 rings",
            "MESSAGE_ID": journal.MESSAGE_ID_CALL_CONNECTED,
            "PRIORITY": "6",
            "SYSLOG_IDENTIFIER": "answerd",
            "CALL_ID": "c42",
            "CONNECT_RATE": "33600",
            "PROTOCOL": "ARQ/V34/LAPM/V42BIS",
            "RINGS": "2",
        }.items() <= connected.items()
        assert {
            "MESSAGE_ID": journal.MESSAGE_ID_CALL_ENDED,
            "OUTCOME": "carrier-lost",
            "CALLER_ID": "5551234",
            "USER": "demo",
            "DURATION_S": "12.34",
            "CODE_FILE": "<string>",
            "_TRANSPORT": "journal",
        }.items() <= ended.items()
        assert {
            "PRIORITY": "3",
            "MESSAGE_ID": journal.MESSAGE_ID_MODEM_FAILED,
            "REASON": "modem-init-failed",
        }.items() <= (failed.items())

    def test_hostile_caller_name(self, journal_json: dict[str, Any]) -> None:
        """The hostile caller name is stored escaped and capped, and created no field of its own."""
        ended = journal_json["port"][1]

        assert ended["CALLER_NAME"].startswith("\\x1b[2J\\r\\nFAKE=1AAA")
        assert MAX_VALUE_CHARS + 3 >= len(ended["CALLER_NAME"])
        assert "FAKE" not in ended
        assert "SIGNAL" not in ended
        assert re.fullmatch(r"[ -~]*", ended["MESSAGE"])

    def test_message_id_query(self, journal_json: dict[str, Any]) -> None:
        """journalctl MESSAGE_ID=<call ended> finds exactly the call.ended entry."""
        assert ["call.ended"] == [e["EVENT"] for e in journal_json["ended"]]

    def test_catalog_explains_the_entry(self, journal_json: dict[str, Any]) -> None:
        """journalctl -x shows the catalog text with the entry's fields filled in."""
        assert "Call on ttyTEST ended: carrier-lost" in journal_json["explained"]
        assert "Defined-By: answerd" in journal_json["explained"]
