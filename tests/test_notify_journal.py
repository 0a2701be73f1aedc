"""sd_notify messages to a real datagram socket, and the log sanitizer that keeps line bytes harmless.

The notifier is checked both ways it can send: through systemd-python when ``$NOTIFY_SOCKET`` names the
socket, and through its own datagram sender otherwise; each with a path and with an abstract ``@name``.
"""

from __future__ import annotations

import json
import select
import socket
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import structlog

from answerd.service.journal import MAX_VALUE_CHARS, configure_logging, printable, sanitize
from answerd.service.notify import NullNotifier, SystemdNotifier, make_notifier


@dataclass
class Receiver:
    """A bound AF_UNIX datagram socket standing in for systemd's notify socket."""

    sock: socket.socket
    address: str  # as it goes into NOTIFY_SOCKET: a path, or "@name"

    def receive(self) -> bytes:
        """The next datagram (fails after a deadline)."""
        return self.sock.recv(4096)

    def pending(self) -> bytes | None:
        """A datagram already waiting, or None."""
        ready, _, _ = select.select([self.sock], [], [], 0)
        return self.sock.recv(4096) if ready else None


@pytest.fixture(name="receiver", params=["path", "path+env", "abstract", "abstract+env"])
def _receiver(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Receiver]:
    """A notify socket; with ``+env``, NOTIFY_SOCKET points to it (systemd-python's path), else it is unset."""
    kind: str = request.param
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.settimeout(2.0)
    if kind.startswith("abstract"):
        name = f"answerd-test-{uuid.uuid4().hex}"
        sock.bind("\0" + name)
        address = "@" + name
    else:
        address = str(tmp_path / "notify.sock")
        sock.bind(address)
    if kind.endswith("+env"):
        monkeypatch.setenv("NOTIFY_SOCKET", address)
    else:
        monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    yield Receiver(sock, address)
    sock.close()


class TestSystemdNotifier:
    """What reaches the notify socket."""

    def test_ready(self, receiver: Receiver) -> None:
        """ready() sends READY=1."""
        SystemdNotifier(receiver.address).ready()
        assert b"READY=1" == receiver.receive()

    def test_stopping(self, receiver: Receiver) -> None:
        """stopping() sends STOPPING=1."""
        SystemdNotifier(receiver.address).stopping()
        assert b"STOPPING=1" == receiver.receive()

    def test_status(self, receiver: Receiver) -> None:
        """status() sends STATUS= with the text."""
        SystemdNotifier(receiver.address).status("waiting for RING")
        assert b"STATUS=waiting for RING" == receiver.receive()

    def test_status_is_one_line(self, receiver: Receiver) -> None:
        """Newlines in the status text become spaces, so no second assignment can be smuggled in."""
        SystemdNotifier(receiver.address).status("connected\nREADY=1\nMAINPID=1")
        assert b"STATUS=connected READY=1 MAINPID=1" == receiver.receive()

    def test_one_datagram_per_message(self, receiver: Receiver) -> None:
        """Each call is one datagram, in order."""
        notifier = SystemdNotifier(receiver.address)
        notifier.status("initialising")
        notifier.ready()
        assert [b"STATUS=initialising", b"READY=1", None] == [
            receiver.receive(),
            receiver.receive(),
            receiver.pending(),
        ]

    def test_status_non_ascii(self, receiver: Receiver) -> None:
        """A non-ASCII status is sent as UTF-8."""
        SystemdNotifier(receiver.address).status("Grüße")
        assert "STATUS=Grüße".encode() == receiver.receive()


class TestKeptSocket:
    """One socket for the daemon's life, and a new one when the manager's socket is replaced."""

    def test_one_socket_for_many_messages(self, tmp_path: Path) -> None:
        """Every message leaves from the same socket (no socket per message)."""
        path = tmp_path / "notify"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
            manager.bind(str(path))
            notifier = SystemdNotifier(str(path))
            notifier.status("one")
            first = notifier._sock
            notifier.status("two")
            assert first is not None
            assert first is notifier._sock
            assert [b"STATUS=one", b"STATUS=two"] == [manager.recv(100), manager.recv(100)]
        notifier.close()

    def test_a_replaced_manager_socket_is_found_again(self, tmp_path: Path) -> None:
        """systemctl daemon-reexec makes a new notify socket at the same path: the next message reaches it."""
        path = tmp_path / "notify"
        notifier = SystemdNotifier(str(path))
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as old:
            old.bind(str(path))
            notifier.ready()
            assert b"READY=1" == old.recv(100)
        path.unlink()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as new:
            new.bind(str(path))
            notifier.status("after re-exec")
            assert b"STATUS=after re-exec" == new.recv(100)
        notifier.close()


@pytest.fixture(name="env_mode", params=["no env", "env"])
def _env_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Whether NOTIFY_SOCKET names the (broken) socket the test uses; set by :func:`point`."""
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    mode: str = request.param
    return mode


def point(monkeypatch: pytest.MonkeyPatch, env_mode: str, address: str) -> SystemdNotifier:
    """A notifier for ``address``, with NOTIFY_SOCKET set to it in ``env`` mode."""
    if env_mode == "env":
        monkeypatch.setenv("NOTIFY_SOCKET", address)
    return SystemdNotifier(address)


def missing_path(tmp_path: Path) -> tuple[str, Callable[[], None]]:
    """A socket path that does not exist yet: the manager can bind there at once."""
    return str(tmp_path / "gone.sock"), lambda: None


def dead_socket(tmp_path: Path) -> tuple[str, Callable[[], None]]:
    """A socket file whose receiver has closed (ECONNREFUSED); it must be removed before a new bind."""
    path = tmp_path / "dead.sock"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(path))
    return str(path), path.unlink


def regular_file(tmp_path: Path) -> tuple[str, Callable[[], None]]:
    """A path that is a regular file, not a socket."""
    path = tmp_path / "plain"
    path.write_text("")
    return str(path), path.unlink


def missing_abstract(_tmp_path: Path) -> tuple[str, Callable[[], None]]:
    """An abstract name nobody listens on."""
    return f"@answerd-nobody-{uuid.uuid4().hex}", lambda: None


class TestBrokenManagerSocket:
    """sd_notify is advisory: a missing or dead manager costs nothing, and messages reach it once it is there."""

    @pytest.mark.parametrize("broken", [missing_path, dead_socket, regular_file, missing_abstract])
    def test_messages_reach_the_manager_once_it_listens(
        self,
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
        env_mode: str,
        broken: Callable[[Path], tuple[str, Callable[[], None]]],
    ) -> None:
        """Messages to a broken target are dropped without an error; the next one after the manager binds arrives."""
        address, make_way = broken(tmp_path)
        notifier = point(monkeypatch, env_mode, address)
        notifier.ready()
        notifier.status("nobody listens")
        make_way()
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
            manager.settimeout(2.0)
            manager.bind("\0" + address[1:] if address.startswith("@") else address)
            notifier.stopping()
            assert b"STOPPING=1" == manager.recv(100)
        notifier.close()

    def test_status_with_nul(self, receiver: Receiver) -> None:
        """A NUL in a status text (which libsystemd refuses) is sent as a space, like a newline."""
        SystemdNotifier(receiver.address).status("a\0b")
        assert b"STATUS=a b" == receiver.receive()


class TestMakeNotifier:
    """Choosing a notifier from the environment."""

    def test_without_notify_socket(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Without NOTIFY_SOCKET the notifier is a NullNotifier."""
        monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
        assert NullNotifier is type(make_notifier())

    def test_empty_notify_socket(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """An empty NOTIFY_SOCKET counts as unset."""
        monkeypatch.setenv("NOTIFY_SOCKET", "")
        assert NullNotifier is type(make_notifier())

    def test_with_notify_socket(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        """With NOTIFY_SOCKET set the notifier sends to it."""
        path = tmp_path / "notify.sock"
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.bind(str(path))
            sock.settimeout(2.0)
            monkeypatch.setenv("NOTIFY_SOCKET", str(path))
            make_notifier().ready()
            assert b"READY=1" == sock.recv(100)


PRINTABLE_CASES = [
    # (input, expected) — what a hostile line may carry, and how it appears in the log
    ("hello, world ~!", "hello, world ~!"),
    ("", ""),
    ("NO CARRIER\r\n", "NO CARRIER\\r\\n"),
    ("\x1b[2J\x1b]0;pwned\x07", "\\x1b[2J\\x1b]0;pwned\\x07"),
    ("\x00\x01\t\x7f", "\\x00\\x01\\x09\\x7f"),
    ("\x9b31m", "\\x9b31m"),  # the 8-bit CSI
    ("Grüße", "Gr\\xfc\\xdfe"),
    ("\u20ac\u202e", "\\u20ac\\u202e"),  # euro, right-to-left override
    ("fake\nlevel=error event=intrusion", "fake\\nlevel=error event=intrusion"),
]


class TestPrintable:
    """Escaping of hostile text."""

    @pytest.mark.parametrize(("text", "expected"), PRINTABLE_CASES)
    def test_escapes(self, text: str, expected: str) -> None:
        """Control bytes, escape sequences and non-ASCII come out as visible escapes."""
        assert expected == printable(text)

    @pytest.mark.parametrize(("text", "_expected"), PRINTABLE_CASES)
    def test_result_is_printable_ascii(self, text: str, _expected: str) -> None:
        """Every character of the result is printable ASCII."""
        assert all(" " <= ch <= "~" for ch in printable(text))

    def test_long_value_capped(self) -> None:
        """A value over the limit is cut to the limit and marked with '...'."""
        assert "a" * MAX_VALUE_CHARS + "..." == printable("a" * (MAX_VALUE_CHARS * 4))

    def test_value_at_limit_kept(self) -> None:
        """A value exactly at the limit is kept whole, without '...'."""
        assert "a" * MAX_VALUE_CHARS == printable("a" * MAX_VALUE_CHARS)

    def test_cap_counts_escaped_size(self) -> None:
        """The cap applies to the escaped text, and never cuts an escape in half."""
        result = printable("\x00" * MAX_VALUE_CHARS)
        assert "\\x00" * (MAX_VALUE_CHARS // 4) + "..." == result

    def test_custom_limit(self) -> None:
        """The limit can be given."""
        assert "abc..." == printable("abcdef", limit=3)

    def test_megabyte_stays_small(self) -> None:
        """A megabyte of line noise becomes at most limit + 3 characters."""
        assert len(printable("\xff" * 1_000_000)) <= MAX_VALUE_CHARS + 3

    @pytest.mark.parametrize(
        ("text", "expected"),
        [
            pytest.param("\\x1b", "\\\\x1b", id="literal-backslash"),
            pytest.param("\U0001f600", "\\U0001f600", id="astral"),
        ],
    )
    def test_unambiguous(self, text: str, expected: str) -> None:
        """Escapes can be told apart from the same characters typed literally."""
        assert expected == printable(text)


class TestSanitize:
    """The structlog processor over a whole event."""

    def test_strings_escaped(self) -> None:
        """String values are made printable."""
        event = sanitize(None, "info", {"event": "modem.recv", "data": "RING\r\n"})
        assert {"event": "modem.recv", "data": "RING\\r\\n"} == event

    def test_bytes_decoded_and_escaped(self) -> None:
        """bytes values become escaped text, byte for byte (latin-1)."""
        event = sanitize(None, "info", {"event": "modem.recv", "data": b"CONNECT\xff\x1b\r"})
        assert "CONNECT\\xff\\x1b\\r" == event["data"]

    def test_other_values_untouched(self) -> None:
        """Numbers, None, booleans and lists pass through."""
        values = {"event": "call.ended", "rings": 2, "signal": None, "ok": True, "ratio": 0.5, "argv": ["a"]}
        assert dict(values) == sanitize(None, "info", dict(values))

    def test_long_bytes_capped(self) -> None:
        """A long bytes value is capped like a string."""
        event = sanitize(None, "debug", {"event": "port.data", "data": b"x" * 10_000})
        assert MAX_VALUE_CHARS + 3 == len(event["data"])


@pytest.fixture(name="json_log")
def _json_log() -> Iterator[Callable[[], None]]:
    """Configures structlog for JSON to the current (captured) stderr when called; resets it afterwards."""
    yield lambda: configure_logging("debug", "json")
    structlog.reset_defaults()


class TestConfiguredLog:
    """The configured logger applies the sanitizer whatever renders the record."""

    def test_json_record_sanitized(self, json_log: Callable[[], None], capsys: pytest.CaptureFixture[str]) -> None:
        """A hostile value reaches the JSON log escaped, on one line."""
        json_log()
        structlog.get_logger().info("call.login", user="root\n\x1b[31m", raw=b"\x00\xff")
        lines = capsys.readouterr().err.splitlines()
        record = json.loads(lines[0])
        assert (1, "root\\n\\x1b[31m", "\\x00\\xff") == (len(lines), record["user"], record["raw"])

    def test_json_record_has_level_and_time(
        self, json_log: Callable[[], None], capsys: pytest.CaptureFixture[str]
    ) -> None:
        """Each JSON record carries the event, its level and a timestamp."""
        json_log()
        structlog.get_logger().warning("port.no_modem_lines", reason="pty")
        record = json.loads(capsys.readouterr().err)
        assert ("port.no_modem_lines", "warning", True) == (record["event"], record["level"], "timestamp" in record)
