"""The PPP peer's name, from pppd's ip-up hook to the call record: bounded, printable, never stale, never fatal."""

from __future__ import annotations

import os
from pathlib import Path

from answerd.call.ppp_peer import MAX_PEER_CHARS, clear_peer, hook_main, peer_path, read_peer, write_peer


def test_the_hook_writes_pppds_peername_for_the_tty_and_the_reader_takes_it_once(tmp_path: Path) -> None:
    """PEERNAME and DEVICE from pppd's script environment become the tty's peer file; reading removes it."""
    assert 0 == hook_main({"PEERNAME": "caller", "DEVICE": "/dev/ttyACM0"}, directory=str(tmp_path))
    assert "caller" == read_peer(str(tmp_path), "/dev/ttyACM0")
    assert read_peer(str(tmp_path), "/dev/ttyACM0") is None


def test_debians_ppp_tty_is_used_when_device_is_missing(tmp_path: Path) -> None:
    """Debian's /etc/ppp/ip-up exports the tty as PPP_TTY for the ip-up.d scripts."""
    hook_main({"PEERNAME": "caller", "PPP_TTY": "/dev/ttyUSB0"}, directory=str(tmp_path))
    assert "caller" == read_peer(str(tmp_path), "/dev/ttyUSB0")


def test_the_hook_writes_nothing_and_succeeds_without_a_peer_or_a_runtime_directory(tmp_path: Path) -> None:
    """No PEERNAME (noauth), or no answerd runtime directory: exit 0, no file (pppd's other scripts go on)."""
    assert 0 == hook_main({"DEVICE": "/dev/ttyACM0"}, directory=str(tmp_path))
    assert 0 == hook_main({"PEERNAME": "x", "DEVICE": "/dev/ttyACM0"}, directory=str(tmp_path / "missing"))
    assert [] == list(tmp_path.iterdir())


def test_a_hostile_name_is_bounded_and_printable_only(tmp_path: Path) -> None:
    """Control characters, escapes and non-ASCII are dropped; the name is capped."""
    write_peer(str(tmp_path), "/dev/ttyACM0", "ev\x1b[2Jil\r\nname\u00e9" + "x" * 500)
    name = read_peer(str(tmp_path), "/dev/ttyACM0")
    assert name is not None
    assert name.startswith("ev[2Jilname?xx")
    assert MAX_PEER_CHARS == len(name)


def test_a_file_of_garbage_is_read_bounded(tmp_path: Path) -> None:
    """A huge file (not written by the hook) is read only up to its cap; bytes >= 0x7f are dropped."""
    path = peer_path(str(tmp_path), "/dev/ttyACM0")
    assert path is not None
    Path(path).write_bytes(b"\xff\x00ok" + b"y" * 100_000)
    assert "ok" + "y" * (MAX_PEER_CHARS - 2) == read_peer(str(tmp_path), "/dev/ttyACM0")


def test_a_symlink_in_place_of_the_file_is_not_followed(tmp_path: Path) -> None:
    """A symlink planted as the peer file counts as no name (O_NOFOLLOW)."""
    secret = tmp_path / "secret"
    secret.write_text("root-only\n")
    path = peer_path(str(tmp_path), "/dev/ttyACM0")
    assert path is not None
    os.symlink(secret, path)
    assert read_peer(str(tmp_path), "/dev/ttyACM0") is None


def test_a_device_name_that_is_no_tty_name_gets_no_file(tmp_path: Path) -> None:
    """A DEVICE with a path trick or odd characters is refused: nothing outside the directory is written."""
    assert not write_peer(str(tmp_path), "../../etc/passwd", "x")
    assert not write_peer(str(tmp_path), "tty with space", "x")
    assert [] == list(tmp_path.iterdir())


def test_clearing_removes_a_stale_name(tmp_path: Path) -> None:
    """Before pppd starts the runner removes a file an earlier call left: its name would be someone else's."""
    write_peer(str(tmp_path), "/dev/ttyACM0", "earlier")
    clear_peer(str(tmp_path), "/dev/ttyACM0")
    assert read_peer(str(tmp_path), "/dev/ttyACM0") is None
