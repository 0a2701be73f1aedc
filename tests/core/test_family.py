"""Modem families (``answerd.core.hayes.family``, ``.numeric``): identification, vendor commands, numeric codes.

Every expected value is a fact of the modem-personalities research note; the row names its source key.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from answerd.core.hayes.codes import classify
from answerd.core.hayes.events import CallerIdField, CarrierReport, Connect, Ok, Ring, Unknown, Verdict
from answerd.core.hayes.family import (
    ModemFamily,
    SpeedCap,
    SpeedCapUnsupported,
    caller_id_commands,
    identify_family,
    speed_cap_command,
)
from answerd.core.hayes.numeric import numeric_codes

F = ModemFamily


class TestIdentify:
    """``identify_family`` names the family an identification answer points to."""

    @pytest.mark.parametrize(
        ("lines", "family"),
        [
            (["huawei"], F.HUAWEI),  # +CGMI answer [GSMM]
            (["E1752", "huawei"], F.HUAWEI),  # +CGMM then +CGMI [GSMM]
            (["SoftK56V_B2.1_V7.04.05"], F.ROCKWELL),  # USR-branded Conexant ATI3 [USR-SCR] p.22
            (["Conexant Systems (Rockwell), Inc."], F.ROCKWELL),  # USB id 0572:1340 [SE-215381]
            (["U.S. Robotics 56K FAX EXT"], F.USR),
            (["USRobotics Courier"], F.USR),
            (["Agere Systems"], F.AGERE),
            (["Lucent Technologies"], F.AGERE),
            (["Multi-Tech Systems"], F.MULTITECH),
            (["Xecom XE3314C"], F.XECOM),
        ],
    )
    def test_names_the_family(self, lines: list[str], family: ModemFamily) -> None:
        """The vendor or chipset name in any line gives its family."""
        assert family == identify_family(lines)

    def test_conexant_sold_as_usr_is_rockwell(self) -> None:
        """A Conexant part under the USR brand is a Rockwell-family modem (its commands are Conexant's)."""
        assert F.ROCKWELL == identify_family(["U.S. Robotics", "SoftK56V_B2.1_V7.04.05"])

    @pytest.mark.parametrize("lines", [[], ["56000"], ["255", "OK"], ["12AB"], ["94"]])
    def test_codes_and_checksums_name_nothing(self, lines: list[str]) -> None:
        """Product codes and checksums (ATI0/I1/I4 [USR-SP144], [MT-3334]) name no family: None, not a guess."""
        assert None is identify_family(lines)


class TestCallerIdCommands:
    """The caller-ID enable command per family, in the order to try."""

    @pytest.mark.parametrize(
        ("family", "commands"),
        [
            (F.USR, ("AT#CID=1",)),  # [USR-BM]
            (F.ROCKWELL, ("AT+VCID=1", "AT#CID=1")),  # Conexant [AIRLINK]/[ASKEY], Rockwell [RW-1048]
            (F.AGERE, ("AT+VCID=1",)),  # [MODEMSITE-LT]
            (F.MULTITECH, ("AT+VCID=1",)),  # [MT-272]
            (F.HUAWEI, ("AT+CLIP=1",)),  # [HW-MU509]
            (F.V250, ("AT+VCID=1",)),  # [HAYES-VCID]
            (F.XECOM, ("AT+VCID=1",)),  # not sourced: V.250 only
        ],
    )
    def test_commands(self, family: ModemFamily, commands: tuple[str, ...]) -> None:
        """Each family gets its own command(s)."""
        assert commands == caller_id_commands(family)

    @pytest.mark.parametrize("family", [f for f in F if f not in (F.USR, F.ROCKWELL)])
    def test_hash_cid_only_for_its_families(self, family: ModemFamily) -> None:
        """``#CID`` is USR's and Rockwell's; no other family is ever sent it."""
        assert not any(command.startswith("AT#") for command in caller_id_commands(family))


class TestSpeedCap:
    """A speed cap in the family's own command."""

    @pytest.mark.parametrize(
        ("family", "cap", "command"),
        [
            (F.V250, SpeedCap(max_speed=14400), "AT+MS=V34,1,,14400"),
            (F.V250, SpeedCap(min_speed=9600, max_speed=28800), "AT+MS=V34,1,9600,28800"),  # pi-isp form
            (F.ROCKWELL, SpeedCap(max_speed=14400, modulation="v32b"), "AT+MS=V32B,1,,14400"),
            (F.AGERE, SpeedCap(modulation="v32b"), "AT+MS=V32B,1"),
            (F.MULTITECH, SpeedCap(min_speed=4800), "AT+MS=V34,1,4800"),
            (F.USR, SpeedCap(min_speed=9600, max_speed=9600), "AT&N6"),  # [USR-C34] p.F-5
            (F.USR, SpeedCap(min_speed=14400, max_speed=14400), "AT&N8"),
            (F.V250, SpeedCap(), None),
        ],
    )
    def test_command(self, family: ModemFamily, cap: SpeedCap, command: str | None) -> None:
        """The cap is rendered in the family's command (None for an empty cap)."""
        assert command == speed_cap_command(family, cap)

    @pytest.mark.parametrize(
        ("family", "cap"),
        [
            (F.USR, SpeedCap(max_speed=14400)),  # &N is a fixed rate, not a ceiling [USR-C34] p.4-22
            (F.USR, SpeedCap(min_speed=28800, max_speed=28800)),  # not in the sourced &N table
            (F.USR, SpeedCap(min_speed=9600, max_speed=9600, modulation="v32")),
            (F.HUAWEI, SpeedCap(max_speed=9600)),  # not a data modem (§5)
        ],
    )
    def test_unsupported(self, family: ModemFamily, cap: SpeedCap) -> None:
        """A cap the family cannot say is refused with a reason, never approximated."""
        with pytest.raises(SpeedCapUnsupported):
            speed_cap_command(family, cap)

    @pytest.mark.parametrize(
        "kwargs", [{"modulation": "v99"}, {"max_speed": 100}, {"min_speed": 14400, "max_speed": 9600}]
    )
    def test_invalid_cap(self, kwargs: dict[str, object]) -> None:
        """An unknown modulation, a rate that is no line rate, or min above max is refused when built."""
        with pytest.raises(ValueError, match=r"modulation|line rate|above"):
            SpeedCap(**kwargs)  # type: ignore[arg-type]


class TestNumericCodes:
    """Numeric (V0) codes are read with the family's table, and never taken for anything else."""

    @pytest.mark.parametrize(
        ("family", "code", "event"),
        [
            # Basic codes, every family [USR-5631], [TANDY-3252].
            (F.V250, "0", Ok(line="0")),
            (F.V250, "1", Connect(line="1", rate=None, text="")),  # plain CONNECT: no rate
            (F.HUAWEI, "2", Ring(line="2")),
            (F.AGERE, "3", Verdict(code="NO CARRIER", line="3")),
            (F.XECOM, "10", Connect(line="10", rate=2400, text="2400")),
            # USR &A1/&A2 [USR-C34] pp.4-17/4-18.
            (F.USR, "14", Connect(line="14", rate=None, suffixes=("ARQ",), text="/ARQ")),
            (F.USR, "108", Connect(line="108", rate=28800, suffixes=("ARQ",), text="28800/ARQ")),
            (F.USR, "117", Connect(line="117", rate=28800, suffixes=("V34",), text="28800/V34")),
            (F.USR, "118", Connect(line="118", rate=28800, suffixes=("ARQ", "V34"), text="28800/ARQ/V34")),
            (F.USR, "110", Connect(line="110", rate=28800, suffixes=("ARQ", "VFC"), text="28800/ARQ/VFC")),
            # Rockwell/Conexant numbering [MT-2456], [LEN-T420]; W1 intermediate codes [WESTERMO-TD22].
            (F.ROCKWELL, "14", Connect(line="14", rate=12000, text="12000")),
            (F.ROCKWELL, "84", Connect(line="84", rate=33600, text="33600")),
            (F.ROCKWELL, "91", Connect(line="91", rate=31200, text="31200")),
            (F.MULTITECH, "64", Connect(line="64", rate=28800, text="28800")),
            (F.ROCKWELL, "47", CarrierReport(line="47", key="carrier", value="2400")),
            (F.ROCKWELL, "67", CarrierReport(line="67", key="compression", value="V.42 bis")),
            (F.ROCKWELL, "83", Verdict(code="LINE IN USE", line="83")),
        ],
    )
    def test_code(self, family: ModemFamily, code: str, event: object) -> None:
        """The number means what the family's table says."""
        assert event == classify(code, numeric=numeric_codes(family))

    @pytest.mark.parametrize(("family", "code"), [(F.V250, "84"), (F.AGERE, "64"), (F.USR, "64"), (F.V250, "118")])
    def test_unlisted_code_is_unknown(self, family: ModemFamily, code: str) -> None:
        """A number the family's table lacks is Unknown: not a rate from another family's table."""
        assert Unknown(line=code) == classify(code, numeric=numeric_codes(family))

    @pytest.mark.parametrize("code", ["118", "5551234", "12345678"])
    def test_digits_are_never_a_caller_number_in_v0(self, code: str) -> None:
        """With the modem in V0 a line of digits is a result code or Unknown, never a caller-ID field."""
        assert not isinstance(classify(code, numeric=numeric_codes(F.V250)), CallerIdField)

    def test_usr_14_differs_from_rockwell_14(self) -> None:
        """The same number is CONNECT/ARQ on USR and CONNECT 12000 on Rockwell: the family decides."""
        usr = classify("14", numeric=numeric_codes(F.USR))
        rockwell = classify("14", numeric=numeric_codes(F.ROCKWELL))
        assert (None, 12000) == (getattr(usr, "rate", "?"), getattr(rockwell, "rate", "?"))


class TestNumericProperties:
    """Hypothesis: numeric classification is total, and digits stay result codes in every family."""

    @given(line=st.text(max_size=300), family=st.sampled_from(list(ModemFamily)))
    def test_never_raises(self, line: str, family: ModemFamily) -> None:
        """Any line, any family's table: exactly one event, no exception."""
        assert classify(line, numeric=numeric_codes(family)) is not None

    @given(digits=st.text(alphabet="0123456789", min_size=1, max_size=7), family=st.sampled_from(list(ModemFamily)))
    def test_digits_are_a_listed_code_or_unknown(self, digits: str, family: ModemFamily) -> None:
        """Up to 7 digits (shorter than any caller-ID packet): the family's listed code, else Unknown; never
        a caller number."""
        event = classify(digits, numeric=numeric_codes(family))
        listed = (digits.lstrip("0") or "0") in numeric_codes(family)
        assert listed != isinstance(event, Unknown)
        assert not isinstance(event, CallerIdField)
