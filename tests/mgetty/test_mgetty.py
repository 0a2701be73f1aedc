"""mgetty's configuration formats into answerd's (``answerd.mgetty``): login.config and dialin.config."""

# The style guide puts the expected value first (``assert expected == actual``); ruff's SIM300 wants the
# opposite, so it is off for tests.

from __future__ import annotations

import doctest

import pytest

import answerd.mgetty
from answerd.core import AUTOPPP, DispatchRule, select_rule
from answerd.mgetty import LoginConfigError, from_login_config_line, parse_dialin_config

#: The login.config Debian's mgetty package installs (its sample lines), as a reader of the file sees it.
DEBIAN_LOGIN_CONFIG = """\
# login.config
#
# This is a sample "login dispatcher" configuration file for mgetty
#
#U*\tuucp\t@\t/usr/sbin/uucico -l -u @

#/FIDO/\tuucp\tfido\t/usr/lib/fnet/ifcico @

#  NOTE4: max. 9 arguments allowed.
#
/AutoPPP/ -\ta_ppp\t/usr/sbin/pppd auth -chap +pap login debug

#telnet-smarty\tgast\ttelnet\t/usr/bin/telnet -8 smarty
#
*\t-\t-\t/bin/login @
"""


def _rules_from(text: str) -> list[DispatchRule]:
    """What an importer does: skip blank and comment lines, convert the rest."""
    return [
        from_login_config_line(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


def _rules_from(text: str) -> list[DispatchRule]:
    """What an importer does: skip blank and comment lines, convert the rest."""
    return [
        from_login_config_line(line) for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]


class TestLoginConfig:
    """mgetty login.config lines become rules; Debian's template converts completely."""

    def test_debian_template(self) -> None:
        """Debian's active lines become the AutoPPP rule and the login catch-all."""
        assert [
            DispatchRule(
                AUTOPPP,
                ("/usr/sbin/pppd", "auth", "-chap", "+pap", "login", "debug"),
                user=None,
                utmp=True,
                ok_exit_codes=(0, 5, 15, 16),
                utmp_name="a_ppp",
            ),
            DispatchRule("*", ("/bin/login", "--", "{user}"), user=None, utmp=False),
        ] == _rules_from(DEBIAN_LOGIN_CONFIG)

    def test_debian_template_dispatches(self) -> None:
        """With Debian's table a PPP peer gets pppd and a typed name gets login."""
        rules = _rules_from(DEBIAN_LOGIN_CONFIG)
        assert (["/usr/sbin/pppd"], ["/bin/login", "--", "joe"]) == (
            select_rule(rules, "", ppp=True).expand({})[:1],
            select_rule(rules, "joe", ppp=False).expand({"user": "joe"}),
        )

    def test_uucp_sample(self) -> None:
        """``U* uucp @ uucico -l -u @``: run as uucp, utmp with the name, no ``--`` for uucico."""
        rule = from_login_config_line("U*\tuucp\t@\t/usr/sbin/uucico -l -u @")
        assert DispatchRule("U*", ("/usr/sbin/uucico", "-l", "-u", "{user}"), user="uucp", utmp=True) == rule

    def test_telnet_sample(self) -> None:
        """``telnet-smarty gast telnet ...``: a fixed utmp name, no name in the arguments."""
        rule = from_login_config_line("telnet-smarty\tgast\ttelnet\t/usr/bin/telnet -8 smarty")
        assert ("telnet-smarty", ("/usr/bin/telnet", "-8", "smarty"), "gast", "telnet") == (
            rule.match,
            rule.program,
            rule.user,
            rule.utmp_name,
        )

    def test_www_style_line(self) -> None:
        """``Uwww - www /usr/bin/lynx``: root kept, utmp entry ``www``."""
        rule = from_login_config_line("Uwww - www /usr/bin/lynx")
        assert DispatchRule("Uwww", ("/usr/bin/lynx",), user=None, utmp=True, utmp_name="www") == rule

    def test_fido_is_refused(self) -> None:
        """``/FIDO/`` lines cannot be imported: answerd has no FidoNet support."""
        with pytest.raises(LoginConfigError):
            from_login_config_line("/FIDO/\tuucp\tfido\t/usr/lib/fnet/ifcico @")

    def test_connect_and_caller_id(self) -> None:
        """``\\I`` and ``\\Y`` as whole arguments become ``{connect}`` and ``{caller_id}``."""
        rule = from_login_config_line("fax - - /usr/local/bin/answer \\I \\Y x\\Y")
        assert ("/usr/local/bin/answer", "{connect}", "{caller_id}", "x\\Y") == rule.program

    def test_at_inside_an_argument_is_literal(self) -> None:
        """mgetty substitutes ``@`` only as a whole argument."""
        assert ("/bin/x", "joe@host") == from_login_config_line("x - - /bin/x joe@host").program

    def test_braces_are_escaped(self) -> None:
        """Braces in a login.config argument stay literal text."""
        rule = from_login_config_line("x - - /bin/echo {user} }")
        assert ["/bin/echo", "{user}", "}"] == rule.expand({"user": "joe"})

    def test_login_options_get_double_dash_before_the_name(self) -> None:
        """``/bin/login -p @`` becomes ``/bin/login -p -- {user}``."""
        assert ("/bin/login", "-p", "--", "{user}") == from_login_config_line("* - - /bin/login -p @").program

    def test_existing_double_dash_is_not_doubled(self) -> None:
        """A line that already has ``--`` keeps one."""
        assert ("/bin/login", "--", "{user}") == from_login_config_line("* - - /bin/login -- @").program

    def test_nine_arguments_are_fine(self) -> None:
        """mgetty passes up to 9 arguments."""
        rule = from_login_config_line("x - - /bin/x 1 2 3 4 5 6 7 8 9")
        assert 10 == len(rule.program)

    def test_ten_arguments_are_refused(self) -> None:
        """A 10th argument, which mgetty silently drops, is an import error."""
        with pytest.raises(LoginConfigError):
            from_login_config_line("x - - /bin/x 1 2 3 4 5 6 7 8 9 10")

    @pytest.mark.parametrize(
        "line",
        [
            "",
            "   ",
            "# comment",
            "  #U*\tuucp\t@\t/usr/sbin/uucico",
            "!version 2",
            "joe",
            "joe - -",
            "joe - - login",
            "a*b - - /bin/login @",
            "/autoppp/ - a_ppp /usr/sbin/pppd",
        ],
    )
    def test_not_a_usable_rule(self, line: str) -> None:
        """Blank, comment, version, short lines, a relative program and bad patterns are LoginConfigErrors."""
        with pytest.raises(LoginConfigError):
            from_login_config_line(line)

    @pytest.mark.parametrize("flag", ["N", "n", "-"])
    def test_version_2_callback_column(self, flag: str) -> None:
        """In a version 2 file the callback column follows the name; ``N``/``-`` lines apply to answerd."""
        rule = from_login_config_line(f"joe {flag} - - /bin/login @", version=2)
        assert ("joe", ("/bin/login", "--", "{user}")) == (rule.match, rule.program)

    def test_version_2_callback_only_is_refused(self) -> None:
        """A callback-only (``Y``) line never applies: answerd does not call back."""
        with pytest.raises(LoginConfigError):
            from_login_config_line("joe Y - - /bin/login @", version=2)

    def test_unknown_version(self) -> None:
        """Only versions 1 and 2 exist."""
        with pytest.raises(LoginConfigError):
            from_login_config_line("* - - /bin/login @", version=3)

    def test_pppd_rule_accepts_normal_pppd_exits(self) -> None:
        """Any pppd line gets 0, 5, 15 and 16 as normal ends; other programs only 0."""
        assert ((0, 5, 15, 16), (0,)) == (
            from_login_config_line("/AutoPPP/ - - /usr/sbin/pppd").ok_exit_codes,
            from_login_config_line("* - - /bin/login @").ok_exit_codes,
        )


class TestDialinConfig:
    """mgetty's dialin.config becomes the tokens of caller_filter."""

    def test_dialin_config(self) -> None:
        """mgetty's sample dialin.config (with answerd's out-of-area keyword) parses in order."""
        text = "# friends\n3433535, 7445343, 5551212\n\n  # dad's fax\n4164646777\n!416\n!none\nout-of-area\n!all\n"

        assert ("3433535", "7445343", "5551212", "4164646777", "!416", "!none", "out-of-area", "!all") == (
            parse_dialin_config(text)
        )

    def test_dialin_config_error_has_the_line(self) -> None:
        """An invalid token in a dialin.config names its line."""
        with pytest.raises(ValueError, match=r"^line 3: invalid caller-ID rule 'OUT_OF_AREA'"):
            parse_dialin_config("# x\n555\nOUT_OF_AREA\n")


class TestDoctests:
    """The module's doctests hold."""

    def test_doctests(self) -> None:
        """Every example in the docstrings passes."""
        assert 0 == doctest.testmod(answerd.mgetty).failed
