"""An imported mgetty setup runs: ``answerd run`` with the imported file answers a call on ``answerd sim``.

The setup is the VoIP blog's (Debian's files, its port section, its unit's ``-x0 -s 57600``), with the port
named after the bench's (``sim0``) and the issue file in the test's directory. The imported text is used
as it is; the bench only appends what a pty needs (its path, no modem-control lines) and its fast timings
to the last table, ``[ports.sim0]``.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from answerd.mgetty.importer import import_mgetty
from tests.integration.harness import FAST_PORT, Bench, toml_value


@dataclass
class ImportedBench(Bench):
    """A bench whose daemon reads the imported configuration instead of one the bench writes."""

    imported: str = ""

    def write_config(self) -> Path:
        """The imported text, with the pty's device and the bench's timings added to ``[ports.sim0]``."""
        added = {"device": str(self.link), **FAST_PORT}
        lines = [f"{key} = {toml_value(value)}" for key, value in added.items()]
        path = self.tmp / "answerd.toml"
        path.write_text(self.imported + "\n# the bench: the simulated modem's pty, fast timings\n" + "\n".join(lines))
        return path


@pytest.fixture(name="imported_setup")
def _imported_setup(setup_dir: Callable[[str], Path], tmp_path: Path) -> tuple[str, Path]:
    """The seed setup on port sim0, imported: (TOML text, the test's directory)."""
    directory = setup_dir("seed-voip-usr")
    (tmp_path / "issue.mgetty").write_text("Debian GNU/\\s \\P \\S (\\I)\n")  # Debian's /etc/issue.mgetty
    config = directory / "mgetty.config"
    text = config.read_text().replace("port ttyUSB0", "port sim0")
    config.write_text(text.replace("issue-file /etc/issue.mgetty", f"issue-file {tmp_path}/issue.mgetty"))
    result = import_mgetty(
        str(directory), args="ExecStart=/sbin/mgetty -x0 -s 57600 /dev/sim0", trusted_uid=os.getuid()
    )
    return result.text, tmp_path


@pytest.mark.skipif(os.geteuid() != 0, reason="/bin/login only prompts for a password when run by root")
def test_imported_seed_setup_answers_a_call_on_the_simulator(imported_setup: tuple[str, Path]) -> None:
    """The daemon starts on the imported file, answers on the first RING (no rings key: mgetty's 1), shows
    the imported issue (speed 57600 from -s) and prompt, and its ``*`` rule runs the real /bin/login with the
    name, which asks for a password; the caller hangs up and the call record names the user and program."""
    text, tmp_path = imported_setup
    assert "sim0" == list(tomllib.loads(text)["ports"])[-1]  # the bench appends to this table
    bench = ImportedBench(tmp=tmp_path / "bench", imported=text)
    bench.tmp.mkdir()
    try:
        bench.start()
        caller = bench.dial()
        screen = caller.read_until(b"login: ")
        assert b"Debian GNU/Linux sim0 57600 (33600/ARQ/V34/LAPM/V42BIS)" in screen  # \s \P \S (\I)
        assert screen.endswith(b" sim0 login: ")  # login_prompt "@ \P login:\040"
        caller.send(b"demo\r")
        assert b"Password:" in caller.read_until(b"Password:")  # login.config's "* - - /bin/login @"
        caller.hang_up()
        ended = bench.ended()
        assert ("carrier-lost", 1, "demo", "/bin/login") == (
            ended["outcome"],
            ended["rings"],
            ended["user"],
            ended["program"],
        )
    finally:
        assert 0 == bench.stop()
