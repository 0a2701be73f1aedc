"""Settings for real modems (issue 12): family, caller ID, speed caps, carrier mode, limits, hang-up."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from answerd.config import ConfigError, PortSettings
from answerd.config.load import config_from_document
from answerd.config.settings import numeric_results_of
from answerd.core import AnswerMachine, Decision, ModemFamily, SpeedCap, parse_chat
from answerd.core._effects import Write


def errors_of(data: dict[str, Any]) -> list[str]:
    """The error lines loading ``data`` reports."""
    with pytest.raises(ConfigError) as info:
        config_from_document(data)
    return info.value.errors


class TestFamilyAndCallerId:
    def test_defaults(self) -> None:
        """auto family (identified at each open) and auto caller ID."""
        profile = PortSettings().to_profile()
        assert (None, "auto") == (profile.family, profile.caller_id)

    @pytest.mark.parametrize("family", ["usr", "rockwell", "agere", "multitech", "xecom", "huawei", "v250"])
    def test_named_family(self, family: str) -> None:
        """A named family reaches the core as itself."""
        assert ModemFamily(family) == PortSettings(modem_family=family).to_profile().family  # type: ignore[arg-type]

    def test_unknown_family_is_refused_with_its_path(self) -> None:
        """A family the document does not group is an error naming the key."""
        assert any(
            line.startswith("defaults.modem_family:") for line in errors_of({"defaults": {"modem_family": "zyxel"}})
        )

    def test_caller_id_chat(self) -> None:
        """caller_id may be a chat of one's own."""
        chat = ["", "AT+VCID=2", "OK"]
        assert parse_chat(chat) == PortSettings(caller_id=chat).to_profile().caller_id

    def test_caller_id_word_must_be_auto_or_off(self) -> None:
        """Any other word is refused."""
        assert any(line.startswith("defaults.caller_id") for line in errors_of({"defaults": {"caller_id": "on"}}))


class TestStartWarnings:
    def test_filter_with_caller_id_off_warns(self) -> None:
        """A caller filter with caller_id off: a warning that says so (and rings 2, so only that one)."""
        warnings = PortSettings(caller_filter=["!none"], caller_id="off", rings=2).start_warnings()
        assert [True] == ["caller_id is 'off'" in warning for warning in warnings]

    def test_filter_with_rings_1_warns_about_rings(self) -> None:
        """The rings < 2 warning comes from the same function (caller ID on by default, so only that one)."""
        warnings = PortSettings(caller_filter=["all"], rings=1).start_warnings()
        assert [True] == ["rings is 1" in warning for warning in warnings]

    def test_no_policy_no_warning(self) -> None:
        """Without screening, caller_id off is fine."""
        assert [] == PortSettings(caller_id="off").start_warnings()


class TestNumericResults:
    @pytest.mark.parametrize(
        ("chats", "numeric"),
        [
            ((["", "ATZ", "OK", "ATE0Q0V1&C1&D2S0=0", "OK"],), False),  # the default init chat
            ((["", "ATZ", "OK", "ATE0Q0V0", "0"],), True),
            ((["", "ATV0", "0"], ["", "ATV1", "OK"]), False),  # init_chat_extra's last V wins
            ((["", "AT&V1", "OK"],), False),  # &V1 shows the settings, it is not V1
            ((["", "AT+VCID=0", "OK"],), False),
            ((["", "AT\\V0", "OK"],), False),  # Xecom's \V0 is single-line CONNECT, not numeric
        ],
    )
    def test_derived_from_the_init_chat(self, chats: tuple[list[str], ...], numeric: bool) -> None:
        """numeric_results is the init chat's own last V0/V1."""
        assert numeric == numeric_results_of(*chats)

    def test_reaches_the_profile(self) -> None:
        """An init chat that sets V0 gives a numeric profile."""
        assert PortSettings(init_chat=["", "ATV0", "0"]).to_profile().numeric_results


class TestSpeedCaps:
    def test_none_by_default(self) -> None:
        """No cap unless one is set."""
        assert None is PortSettings().to_profile().speed_cap

    def test_voip_preset(self) -> None:
        """The VoIP preset is V.32bis at 14400 at most."""
        assert SpeedCap(max_speed=14400, modulation="v32b") == PortSettings(speed_preset="voip").speed_cap()

    def test_fields_override_the_preset(self) -> None:
        """max_speed set next to the preset wins over the preset's value."""
        cap = PortSettings(speed_preset="voip", max_speed=9600, min_speed=4800).speed_cap()
        assert SpeedCap(max_speed=9600, min_speed=4800, modulation="v32b") == cap

    def test_min_above_max_is_refused(self) -> None:
        """The core's check reaches the user."""
        assert errors_of({"defaults": {"max_speed": 9600, "min_speed": 14400}})

    def test_caller_rule_cap_is_sent_before_ata(self) -> None:
        """A caller_init rule with only max_speed caps that caller, in the family's command."""
        settings = PortSettings(modem_family="v250", caller_id="off", caller_init=[{"match": "555", "max_speed": 9600}])  # type: ignore[list-item]
        machine = AnswerMachine(replace(settings.to_profile(), toggle_dtr=False))
        machine.port_opened(0.0)
        machine.receive_data(b"OK\r\nOK\r\n", 0.0)
        machine.receive_data(b"RING\r\n\r\nNMBR = 5551234\r\n", 1.0)
        sent = [e.data for e in machine.decide(1.1, 1, Decision.ACCEPT) if isinstance(e, Write)]
        assert [b"AT+MS=V34,1,,9600\r"] == sent

    def test_caller_rule_that_does_nothing_is_refused(self) -> None:
        """A rule with neither chat nor cap is an error at its path."""
        found = errors_of({"defaults": {"caller_init": [{"match": "555"}]}})
        assert any(line.startswith("defaults.caller_init[0]: a caller_init rule needs") for line in found)


class TestCarrierLimitsHangup:
    def test_defaults(self) -> None:
        """dcd carrier, no limits, a 500 ms DTR hold and a 2 s DCD wait."""
        settings = PortSettings()
        profile = settings.to_profile()
        assert ("dcd", 0.0, 0.0, 0.5, 2.0, True) == (
            settings.carrier,
            settings.max_session_s,
            settings.max_idle_s,
            profile.hangup_dtr_s,
            profile.hangup_dcd_wait_s,
            profile.dcd,
        )

    def test_modem_text_does_not_trust_dcd(self) -> None:
        """carrier = modem-text: the hang-up does not wait for DCD."""
        assert not PortSettings(carrier="modem-text").to_profile().dcd

    @pytest.mark.parametrize("key", ["max_session_s", "max_idle_s"])
    def test_negative_limit_refused(self, key: str) -> None:
        """Limits are 0 (off) or positive."""
        assert any(line.startswith(f"defaults.{key}:") for line in errors_of({"defaults": {key: -1.0}}))

    def test_bad_carrier_mode_refused(self) -> None:
        """Only dcd and modem-text."""
        assert any(line.startswith("defaults.carrier:") for line in errors_of({"defaults": {"carrier": "ri"}}))
