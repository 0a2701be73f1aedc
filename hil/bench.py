"""The bench a HIL run uses: read from a bench description (TOML), or built from simulated modems.

A bench description names the answering port (where answerd runs), the calling port (a second modem that
dials in), the number to dial, the caller ID answerd should see, a test account, whether PPP can be tried,
and the modem family of each side. See ``hil/bench.example.toml`` for every key.

``--bench sim`` builds one simulated bench per modem personality instead: ``answerd sim --bench`` with the
personality answering and a generic V.250 modem calling, joined by the simulated exchange.
"""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CALLER_ID_ON", "FAMILIES", "SIM_CALLS", "Bench", "BenchError", "load_bench", "sim_bench"]

#: The command that switches caller ID on, per modem family (hil/README.md lists the sources).
CALLER_ID_ON = {
    "usr": "AT#CID=1",
    "rockwell": "AT+VCID=1",
    "agere": "AT+VCID=1",
    "multitech": "AT+VCID=1",
    "xecom": "AT+VCID=1",
    "huawei": "AT+CLIP=1",
    "generic": "AT+VCID=1",
}
FAMILIES = tuple(CALLER_ID_ON)

#: Calls in a row on the simulated bench: 20 for the seeds' USB modems (Conexant/Rockwell), 3 for the others.
SIM_CALLS = {"rockwell": 20}
SIM_CALLS_OTHERS = 3

#: The simulated bench's numbers: the answering line and the calling line (its caller ID).
SIM_ANSWER_NUMBER = "881"
SIM_CALLER_NUMBER = "882"

#: The simulated bench's phone line is faster than a real one: 1 s between RINGs, 0.2 s of handshake.
SIM_TIMINGS = "{ ring_interval_s = 1.0, answer_delay_s = 0.2 }"


class BenchError(Exception):
    """A bench description that cannot be used; the message names the key."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Bench:
    """One bench: two modems on one line, answerd on the answering one."""

    name: str
    answer_port: Path
    call_port: Path
    number: str
    answer_family: str
    call_family: str
    user: str
    password: str
    expected_caller_id: str | None = None
    ppp: bool = False
    speed: int = 38400
    calls: int = 20
    simulated: bool = False
    #: Why the caller-ID test cannot run on this bench, if it cannot.
    no_caller_id: str | None = None
    extra_port_settings: dict[str, object] = field(default_factory=dict)

    @property
    def real_login(self) -> bool:
        """Whether ``/bin/login`` can be used: hardware always; the sim only as root with the account present."""
        if not self.simulated:
            return True
        try:
            pwd.getpwnam(self.user)
        except KeyError:
            return False
        return os.geteuid() == 0


_KEYS = {
    "answer_port": str,
    "call_port": str,
    "number": str,
    "expected_caller_id": str,
    "user": str,
    "password": str,
    "ppp": bool,
    "answer_family": str,
    "call_family": str,
    "speed": int,
    "calls": int,
}
_REQUIRED = ("answer_port", "call_port", "number", "user", "password", "answer_family", "call_family")


def load_bench(path: Path) -> Bench:
    """Read a bench description.

    Raises:
        BenchError: not readable, not TOML, an unknown or missing key, a value of the wrong type.
    """
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise BenchError(f"{path}: {exc}") from None
    for key, value in document.items():
        kind = _KEYS.get(key)
        if kind is None:
            raise BenchError(f"{path}: {key}: unknown key (known: {', '.join(_KEYS)})")
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise BenchError(f"{path}: {key}: must be {kind.__name__} (got {value!r})")
    for key in _REQUIRED:
        if key not in document:
            raise BenchError(f"{path}: {key}: missing")
    for key in ("answer_family", "call_family"):
        if document[key] not in FAMILIES:
            raise BenchError(f"{path}: {key}: one of {', '.join(FAMILIES)} (got {document[key]!r})")
    if document["user"].startswith("-"):
        raise BenchError(f"{path}: user: must not start with '-'")
    expected = document.get("expected_caller_id")
    return Bench(
        name=path.stem,
        answer_port=Path(document["answer_port"]),
        call_port=Path(document["call_port"]),
        number=document["number"],
        answer_family=document["answer_family"],
        call_family=document["call_family"],
        user=document["user"],
        password=document["password"],
        expected_caller_id=expected,
        ppp=document.get("ppp", False),
        speed=document.get("speed", 38400),
        calls=document.get("calls", 20),
        no_caller_id=None if expected else "the bench description gives no expected_caller_id",
    )


@contextmanager
def sim_bench(personality: str, workdir: Path) -> Iterator[Bench]:
    """``answerd sim --bench`` with ``personality`` answering and a generic modem calling; the bench it is."""
    answer, call = workdir / "ttyANSWER", workdir / "ttyCALLER"
    description = workdir / "sim-bench.toml"
    description.write_text(
        "\n".join(
            [
                "[[line]]",
                f'link = "{answer}"',
                f'number = "{SIM_ANSWER_NUMBER}"',
                f'profile = "{personality}"',
                f"timings = {SIM_TIMINGS}",
                "",
                "[[line]]",
                f'link = "{call}"',
                f'number = "{SIM_CALLER_NUMBER}"',
                'profile = "generic"',
                f"timings = {SIM_TIMINGS}",
                "",
            ]
        )
    )
    log = (workdir / "answerd-sim.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "answerd", "sim", "--bench", str(description), "--verbose"],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline()
        if not ready.startswith("answerd-sim: ready bench"):
            raise BenchError(f"answerd sim --bench did not start: {ready!r}; see {workdir / 'answerd-sim.log'}")
        no_cid = (
            "the agere personality accepts +VCID=1 but never delivers caller ID" if personality == "agere" else None
        )
        yield Bench(
            name=f"sim-{personality}",
            answer_port=answer,
            call_port=call,
            number=SIM_ANSWER_NUMBER,
            answer_family=personality,
            call_family="generic",
            user="hiltest",
            password="hil-secret",
            expected_caller_id=None if no_cid else SIM_CALLER_NUMBER,
            calls=SIM_CALLS.get(personality, SIM_CALLS_OTHERS),
            simulated=True,
            no_caller_id=no_cid,
            # A pty has no modem-control lines: DTR is dropped with B0, briefly; no settle pause needed.
            extra_port_settings={"modem_control": "none", "dtr_drop_ms": 50, "settle_ms": 0},
        )
    finally:
        proc.terminate()
        proc.wait(10)
        log.close()
