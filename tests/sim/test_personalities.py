"""The shipped modem personalities: each loads, cites a source (or says it is a gap) for every key, and
behaves the way its rows in the modem personalities research note say.

Time is injected as in test_modem: a test jumps to the modem's next deadline; nothing sleeps.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from answerd.sim import Action, Exchange, ModemMode, ModemProfile, SimModem, ToDte, load_profile
from answerd.sim._profile_file import PROFILES, find_profile, profile_names

PERSONALITIES = ["agere", "generic", "huawei", "multitech", "rockwell", "usr", "xecom"]
CITED = re.compile(r"modem-personalities: §\d|\bgap\b|GAP|INFERRED")


def personality(name: str) -> ModemProfile:
    return load_profile(find_profile(name))


def to_dte(actions: list[Action]) -> bytes:
    return b"".join(a.data for a in actions if isinstance(a, ToDte))


def cmd(modem: SimModem, line: str, now: float = 0.0) -> bytes:
    return to_dte(modem.dte_data(line.encode() + b"\r", now))


def modem(name: str, *, caller: str | None = "5551234") -> SimModem:
    """The personality's modem with echo off and, for ringing tests, a caller number."""
    profile = personality(name)
    if caller is not None:
        profile = profile.override(caller_number=caller)
    m = SimModem(profile)
    cmd(m, "ATE0")
    return m


def answer(m: SimModem) -> bytes:
    """A caller rings, ATA, the handshake finishes: what the DTE got from ATA on."""
    m.caller_arrived(0.0)
    out = cmd(m, "ATA", 0.1)
    when = m.get_timer()
    assert when is not None
    return out + to_dte(m.handle_timer(when))


def test_every_personality_is_shipped() -> None:
    """The seven personalities the issue asks for exist next to the default modem."""
    assert sorted([*PERSONALITIES, "default"]) == profile_names()


@pytest.mark.parametrize("name", PERSONALITIES)
def test_personality_loads_under_its_own_name(name: str) -> None:
    """Each file is a valid profile whose name is its file name."""
    assert name == personality(name).name


@pytest.mark.parametrize("name", PERSONALITIES)
def test_every_key_cites_its_row_or_says_it_is_a_gap(name: str) -> None:
    """Every key line has a citation (modem-personalities: §N ...) or a gap note on it, above it, or on its table."""
    lines = (PROFILES / f"{name}.toml").read_text().splitlines()
    table_note, block = "", ""
    missing = []
    for line in lines:
        stripped = line.strip()
        if stripped.startswith("#"):
            block += stripped
            continue
        if stripped.startswith("["):
            table_note, block = stripped + block, ""
            continue
        cited = CITED.search(stripped + block + table_note)
        if "=" in stripped and not stripped.startswith("name =") and not cited:
            missing.append(stripped)
        if not stripped:
            block = ""
    assert [] == missing


@pytest.mark.parametrize("name", PERSONALITIES)
def test_profiles_point_nowhere_outside_the_repository(name: str) -> None:
    """The shipped files cite the research note by name, never by a path outside the repository."""
    text = (PROFILES / f"{name}.toml").read_text()
    assert "../" not in text
    assert "/work/" not in text


def test_usr_switches_caller_id_with_hash_cid_only() -> None:
    """USR: AT#CID=1 is OK, AT+VCID=1 is ERROR (the Courier has no V.253 name)."""
    m = modem("usr")
    assert b"\r\nOK\r\n" == cmd(m, "AT#CID=1")
    assert b"\r\nERROR\r\n" == cmd(m, "AT+VCID=1")


def test_usr_numeric_connect_is_the_a2_code() -> None:
    """USR in V0: CONNECT 28800/ARQ/V34/LAPM/V42BIS is code 118."""
    m = modem("usr")
    cmd(m, "ATV0")
    assert answer(m).endswith(b"118\r")


def test_rockwell_w0_reports_the_computers_port_rate() -> None:
    """Rockwell W0: CONNECT carries the DTE rate the computer set, 38400 here, and V0 gives its code 17."""
    m = modem("rockwell")
    m.set_dte_rate(38400)
    assert b"\r\nCONNECT 38400\r\n" == answer(m)
    m = modem("rockwell")
    m.set_dte_rate(38400)
    cmd(m, "ATV0")
    assert answer(m).endswith(b"17\r")


def test_rockwell_w1_sends_carrier_protocol_compression_before_connect() -> None:
    """Rockwell W1: separate CARRIER, PROTOCOL and COMPRESSION lines come before CONNECT."""
    m = modem("rockwell")
    cmd(m, "ATW1")
    assert answer(m).startswith(b"\r\nCARRIER 33600\r\n\r\nPROTOCOL: NONE\r\n")


def test_agere_accepts_vcid_but_sends_no_caller_id() -> None:
    """Agere LT: AT+VCID=1 answers OK, yet between the RINGs no caller-ID line ever comes."""
    m = modem("agere")
    assert b"\r\nOK\r\n" == cmd(m, "AT+VCID=1")
    heard = to_dte(m.caller_arrived(0.0)) + to_dte(m.handle_timer(6.0))
    assert b"\r\nRING\r\n\r\nRING\r\n" == heard


def test_multitech_external_answers_on_the_first_ring_by_itself() -> None:
    """MultiTech ZBA: S0=1 out of the box, so a caller gets CONNECT with no ATA from the computer."""
    m = modem("multitech")
    heard = to_dte(m.caller_arrived(0.0))
    when = m.get_timer()
    assert when is not None
    heard += to_dte(m.handle_timer(when))
    assert (b"\r\nRING\r\n\r\nCONNECT 33600\r\n", ModemMode.ONLINE) == (heard, m.mode)


def test_huawei_sends_clip_after_every_ring_once_enabled() -> None:
    """Huawei: AT+CLIP=1, then each RING is followed by +CLIP: "<number>",129,,,,0."""
    m = modem("huawei")
    assert b"\r\nOK\r\n" == cmd(m, "AT+CLIP=1")
    heard = to_dte(m.caller_arrived(0.0))
    for _ in range(2):
        when = m.get_timer()
        assert when is not None
        heard += to_dte(m.handle_timer(when))
    clip = b'\r\n+CLIP: "5551234",129,,,,0\r\n'
    assert (b"\r\nRING\r\n" + clip) * 3 == heard


def test_huawei_refuses_unknown_commands_its_own_way() -> None:
    """Huawei E1752: a command it lacks gets COMMAND NOT SUPPORT, and +CGMI names the maker."""
    m = modem("huawei")
    assert b"\r\nCOMMAND NOT SUPPORT\r\n" == cmd(m, "AT#CID=1")
    assert b"\r\nhuawei\r\n\r\nOK\r\n" == cmd(m, "AT+CGMI")


def test_ms_caps_the_connect_rate() -> None:
    """A speed cap AT+MS=11,1,300,14400 holds CONNECT to 14400 on a line-rate modem."""
    m = modem("usr")
    cmd(m, "AT+MS=11,1,300,14400")
    assert b"\r\nCONNECT 14400/ARQ/V34/LAPM/V42BIS\r\n" == answer(m)


@pytest.mark.parametrize("name", PERSONALITIES)
def test_every_personality_answers_a_call_on_the_exchange(name: str) -> None:
    """On the exchange, a generic caller dials each personality: it rings, ATA, and both sides get CONNECT."""
    ex = Exchange({"881": personality(name), "882": personality("generic")})
    ex.dte_data("881", b"ATE0S0=0\r", 0.0)
    ex.dte_data("882", b"ATE0DT881\r", 0.0)
    assert ex.modem("881").mode is ModemMode.RINGING
    ex.dte_data("881", b"ATA\r", 1.0)
    when = ex.get_timer()
    assert when is not None
    ex.handle_timer(when)
    assert ModemMode.ONLINE is ex.modem("881").mode is ex.modem("882").mode


def test_find_profile_takes_a_path_too(tmp_path: Path) -> None:
    """A profile argument with a slash is a file path, relative to the given base."""
    assert tmp_path / "my.toml" == find_profile("my.toml", tmp_path)


def test_usr_fixed_rate_is_the_connect_rate() -> None:
    """USR AT&N6 (9600, Courier V.34 manual p.F-5): the call connects at 9600, verbose and numeric (code 134)."""
    m = modem("usr")
    cmd(m, "AT&N6")
    assert b"\r\nCONNECT 9600/ARQ/V34/LAPM/V42BIS\r\n" == answer(m)
    numeric = modem("usr")
    cmd(numeric, "AT&N6V0")
    assert b"134\r" == answer(numeric)


def test_usr_variable_rate_is_the_lines_rate() -> None:
    """AT&N0 (variable, the default) after a fixed rate: the line's own 28800 again."""
    m = modem("usr")
    cmd(m, "AT&N6")
    cmd(m, "AT&N0")
    assert b"\r\nCONNECT 28800/ARQ/V34/LAPM/V42BIS\r\n" == answer(m)


def test_usr_fixed_rate_the_line_cannot_carry_hangs_up() -> None:
    """On a 9600 line, AT&N8 (14400) cannot connect: the modem hangs up with NO CARRIER (p.4-22)."""
    m = SimModem(personality("usr").override(connect_text="9600/ARQ/V32/LAPM/V42BIS", caller_number="5551234"))
    cmd(m, "ATE0&N8")
    assert b"\r\nNO CARRIER\r\n" == answer(m)
    assert ModemMode.IDLE is m.mode


def test_usr_fixed_rate_survives_atz_only_when_stored() -> None:
    """&N is a setting like the others: AT&W stores it, ATZ restores what was stored."""
    m = modem("usr")
    cmd(m, "AT&N4&W")
    cmd(m, "AT&N6Z")
    assert b"\r\nCONNECT 4800/ARQ/V34/LAPM/V42BIS\r\n" == answer(m)


@pytest.mark.parametrize("line", ["AT&N1", "AT&N11", "AT&N14", "AT&U4"])
def test_usr_rates_not_in_the_sourced_table_are_errors(line: str) -> None:
    """&N1 (reserved on p.F-5), &N11-&N14 (not in that table) and &U (56K only, not verified) are ERROR."""
    assert b"\r\nERROR\r\n" == cmd(modem("usr"), line)


@pytest.mark.parametrize("name", [p for p in PERSONALITIES if p not in ("usr", "huawei")])
def test_other_personalities_have_no_fixed_rate_command(name: str) -> None:
    """&N is USR's: the other families (no &N row in their sections) refuse it with ERROR."""
    assert b"\r\nERROR\r\n" == cmd(modem(name), "AT&N6")


def test_usr_fixed_rate_on_the_exchange() -> None:
    """A generic caller dials a USR set to AT&N6: the USR reports CONNECT 9600 and both sides are online."""
    ex = Exchange({"881": personality("usr"), "882": personality("generic")})
    ex.dte_data("881", b"ATE0&N6\r", 0.0)
    ex.dte_data("882", b"ATE0DT881\r", 0.0)
    ex.dte_data("881", b"ATA\r", 1.0)
    when = ex.get_timer()
    assert when is not None
    heard = ex.handle_timer(when)
    assert ModemMode.ONLINE is ex.modem("881").mode is ex.modem("882").mode
    usr_heard = b"".join(a.data for number, a in heard if number == "881" and isinstance(a, ToDte))
    assert b"\r\nCONNECT 9600/ARQ/V34/LAPM/V42BIS\r\n" == usr_heard
