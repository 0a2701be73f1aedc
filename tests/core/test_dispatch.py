"""Tests for the dispatch table: matching, argv templates, pppd exits (``_dispatch``)."""

# The style guide puts the expected value first (``assert expected == actual``); ruff's SIM300 wants the
# opposite, so it is off for tests.

from __future__ import annotations

import doctest

import pytest
from hypothesis import given
from hypothesis import strategies as st

from answerd.core import _dispatch
from answerd.core._dispatch import (
    AUTOPPP,
    DEFAULT_RULE,
    MAX_VALUE_LENGTH,
    PPPD_EXIT,
    PPPD_NORMAL_EXITS,
    ArgvError,
    DispatchRule,
    NoPppRuleError,
    Placeholder,
    PppdExit,
    classify_pppd_exit,
    expand_argv,
    has_ppp_rule,
    select_rule,
)

LOGIN = DispatchRule("*", ("/bin/login", "--", "{user}"), utmp=False)
PPPD = DispatchRule(AUTOPPP, ("/usr/sbin/pppd", "auth", "-chap", "+pap", "login"), utmp_name="a_ppp")
UUCP = DispatchRule("U*", ("/usr/sbin/uucico", "-l", "-u", "{user}"), user="uucp")

#: Every placeholder with a harmless value.
VALUES = {
    "user": "joe",
    "connect": "33600/ARQ/V34/LAPM/V42BIS",
    "caller_id": "+4930123456",
    "caller_name": "Joe Average",
    "device": "/dev/ttyUSB0",
    "port": "ttyUSB0",
}


class TestMatching:
    """Every match form of mgetty's ``match()``, case-sensitive."""

    @pytest.mark.parametrize(
        ("pattern", "name", "expected"),
        [
            ("joe", "joe", True),
            ("joe", "joey", False),
            ("joe", "Joe", False),
            ("U*", "Uhost", True),
            ("U*", "U", True),
            ("U*", "uhost", False),
            ("*.ppp", "joe.ppp", True),
            ("*.ppp", ".ppp", True),
            ("*.ppp", "joe.pppx", False),
            ("*guest*", "guest", True),
            ("*guest*", "my-guest-1", True),
            ("*guest*", "gues", False),
            ("*", "anything", True),
            ("*", "/AutoPPP/", True),
            ("**", "anything", True),
        ],
    )
    def test_pattern(self, pattern: str, name: str, expected: bool) -> None:
        """Exact, prefix*, *suffix, *infix* and * match as in mgetty."""
        assert expected == DispatchRule(pattern, ("/bin/true",)).matches(name, ppp=False)

    def test_typed_autoppp_never_matches_the_ppp_rule(self) -> None:
        """Typing ``/AutoPPP/`` at the prompt does not select the PPP rule (mgetty would run pppd)."""
        assert not PPPD.matches("/AutoPPP/", ppp=False)

    def test_detected_ppp_matches_only_the_ppp_rule(self) -> None:
        """A detected PPP peer is not taken by ``*`` or any other typed-name rule."""
        assert (True, False, False) == (
            PPPD.matches("", ppp=True),
            LOGIN.matches("/AutoPPP/", ppp=True),
            DispatchRule("*PPP*", ("/bin/true",)).matches("/AutoPPP/", ppp=True),
        )


class TestSelectRule:
    """The first matching rule wins; no match falls back to ``/bin/login -- {user}``."""

    def test_first_match_wins(self) -> None:
        """Of two matching rules the earlier one is chosen."""
        first = DispatchRule("jo*", ("/bin/first",))
        second = DispatchRule("joe", ("/bin/second",))
        assert first is select_rule([first, second], "joe", ppp=False)

    def test_order_decides_for_wildcards(self) -> None:
        """A ``*`` before a specific rule hides it, as in mgetty."""
        assert LOGIN is select_rule([LOGIN, UUCP], "Uhost", ppp=False)

    def test_specific_rule_before_catch_all(self) -> None:
        """With the specific rule first, it is chosen."""
        assert UUCP is select_rule([UUCP, LOGIN], "Uhost", ppp=False)

    def test_default_rule_when_nothing_matches(self) -> None:
        """No match gives the built-in default."""
        assert DEFAULT_RULE is select_rule([UUCP], "joe", ppp=False)

    def test_default_rule_is_login_with_double_dash(self) -> None:
        """The default runs login with ``--`` before the name and writes no utmp entry (login does)."""
        assert (("/bin/login", "--", "{user}"), None, False) == (
            DEFAULT_RULE.program,
            DEFAULT_RULE.user,
            DEFAULT_RULE.utmp,
        )

    def test_ppp_selects_autoppp_behind_a_catch_all(self) -> None:
        """A PPP peer gets the ``/AutoPPP/`` rule even when ``*`` comes first (mgetty: /bin/login /AutoPPP/)."""
        assert PPPD is select_rule([LOGIN, PPPD], "", ppp=True)

    def test_typed_autoppp_falls_through(self) -> None:
        """A typed ``/AutoPPP/`` skips the PPP rule and reaches the next matching one."""
        assert LOGIN is select_rule([PPPD, LOGIN], "/AutoPPP/", ppp=False)

    def test_typed_autoppp_with_no_other_rule_gets_login(self) -> None:
        """With only the PPP rule, a typed ``/AutoPPP/`` gets the default login, which refuses it."""
        assert DEFAULT_RULE is select_rule([PPPD], "/AutoPPP/", ppp=False)

    def test_ppp_without_rule_raises(self) -> None:
        """A PPP peer with no ``/AutoPPP/`` rule is an error, not ``/bin/login /AutoPPP/``."""
        with pytest.raises(NoPppRuleError):
            select_rule([LOGIN, UUCP], "", ppp=True)

    def test_has_ppp_rule(self) -> None:
        """has_ppp_rule tells whether AutoPPP detection is worth turning on."""
        assert (True, False) == (has_ppp_rule([LOGIN, PPPD]), has_ppp_rule([LOGIN]))


class TestRuleValidation:
    """A bad rule fails when the table is loaded, not when a call comes in."""

    @pytest.mark.parametrize(
        "pattern", ["", "a*b", "***", "a**", "**a", "a b", "jo\te", "/autoppp/", "/AUTOPPP/", "/FIDO/", "//"]
    )
    def test_bad_pattern(self, pattern: str) -> None:
        """Empty, inner ``*``, blanks and reserved ``/.../`` patterns other than ``/AutoPPP/`` are refused."""
        with pytest.raises(ValueError):
            DispatchRule(pattern, ("/bin/true",))

    @pytest.mark.parametrize(
        "program",
        [(), ("login",), ("bin/login",), ("/bin/{user}",), ("/bin/login", "{nope}"), ("/bin/x", "{"), ("/x", "a\0")],
    )
    def test_bad_program(self, program: tuple[str, ...]) -> None:
        """No program, a relative path, placeholders in the path, unknown placeholders, stray braces, NUL."""
        with pytest.raises(ArgvError):
            DispatchRule("*", program)

    @pytest.mark.parametrize(
        "kwargs",
        [
            {"user": ""},
            {"user": "-root"},
            {"user": "a b"},
            {"utmp": False, "utmp_name": "a_ppp"},
            {"utmp_name": "x" * 33},
            {"ok_exit_codes": (256,)},
            {"ok_exit_codes": (-1,)},
        ],
    )
    def test_bad_fields(self, kwargs: dict[str, object]) -> None:
        """Account names must be plain, utmp_name needs utmp, exit codes are 0..255."""
        with pytest.raises(ValueError):
            DispatchRule("*", ("/bin/true",), **kwargs)  # type: ignore[arg-type]


class TestExpandArgv:
    """Placeholders fill one argument each; hostile values are refused or made printable."""

    @pytest.mark.parametrize("placeholder", list(Placeholder))
    def test_every_placeholder(self, placeholder: Placeholder) -> None:
        """Each placeholder is replaced by its value."""
        template = ["/bin/x", f"<{{{placeholder.value}}}>"]
        assert ["/bin/x", f"<{VALUES[placeholder.value]}>"] == expand_argv(template, VALUES)

    def test_literal_braces(self) -> None:
        """``{{`` and ``}}`` are literal braces."""
        assert ["/bin/x", "{user}", "{joe}"] == expand_argv(["/bin/x", "{{user}}", "{{{user}}}"], VALUES)

    def test_several_placeholders_in_one_element(self) -> None:
        """Placeholders and text combine inside one element."""
        assert ["/x", "joe@ttyUSB0"] == expand_argv(["/x", "{user}@{port}"], VALUES)

    def test_value_with_spaces_stays_one_argument(self) -> None:
        """A caller name with spaces is one argv element, never split."""
        assert ["/x", "Joe Average"] == expand_argv(["/x", "{caller_name}"], VALUES)

    def test_shell_metacharacters_are_just_text(self) -> None:
        """``'; rm -rf /`` is passed verbatim as one argument: there is no shell."""
        argv = expand_argv(["/x", "{caller_name}"], {**VALUES, "caller_name": "'; rm -rf /"})
        assert ["/x", "'; rm -rf /"] == argv

    @pytest.mark.parametrize(
        ("element", "key", "value"),
        [
            ("{user}", "user", "-f root"),
            ("{user}", "user", "-froot"),
            ("{user}", "user", "--"),
            ("{caller_id}", "caller_id", "-5551234"),
            ("{connect}", "connect", "-o"),
            ("{caller_name}{user}", "caller_name", "-x"),
        ],
    )
    def test_dash_led_values_are_refused(self, element: str, key: str, value: str) -> None:
        """A value that would make an argument start with ``-`` is refused (the ``-f root`` class)."""
        with pytest.raises(ArgvError):
            expand_argv(["/bin/login", "--", element], {**VALUES, key: value})

    def test_empty_value_cannot_expose_a_literal_dash(self) -> None:
        """An element led by a placeholder may not start with ``-`` even through literal text after it."""
        with pytest.raises(ArgvError):
            expand_argv(["/x", "{caller_id}-x"], {**VALUES, "caller_id": ""})

    def test_template_dash_is_allowed(self) -> None:
        """An element the template itself starts with ``-`` may carry a ``-`` value."""
        assert ["/x", "--cid=-5551234"] == expand_argv(["/x", "--cid={caller_id}"], {"caller_id": "-5551234"})

    def test_plus_led_caller_id_is_fine(self) -> None:
        """E.164 numbers start with ``+``; that is not an option."""
        assert ["/x", "+4930123456"] == expand_argv(["/x", "{caller_id}"], VALUES)

    def test_control_bytes_become_question_marks(self) -> None:
        """Control characters and non-ASCII in a value are made printable."""
        argv = expand_argv(["/x", "{caller_name}"], {"caller_name": "a\r\nb\x1b[2J\x00c\u00e9"})
        assert ["/x", "a??b?[2J?c?"] == argv

    def test_ten_kilobytes_are_refused(self) -> None:
        """A 10 kB value is refused, not passed on."""
        with pytest.raises(ArgvError):
            expand_argv(["/x", "{caller_id}"], {"caller_id": "1" * 10_000})

    def test_value_at_the_limit_is_accepted(self) -> None:
        """A value of exactly MAX_VALUE_LENGTH characters is fine."""
        assert ["/x", "1" * MAX_VALUE_LENGTH] == expand_argv(["/x", "{caller_id}"], {"caller_id": "1" * 256})

    def test_unused_long_value_is_ignored(self) -> None:
        """Only values the template uses are checked."""
        assert ["/x", "joe"] == expand_argv(["/x", "{user}"], {**VALUES, "caller_name": "x" * 10_000})

    def test_empty_value_keeps_its_position(self) -> None:
        """An empty value is an empty argument, so later arguments keep their meaning."""
        assert ["/x", "", "auth"] == expand_argv(["/x", "{caller_id}", "auth"], {"caller_id": ""})

    def test_missing_value_is_refused(self) -> None:
        """A placeholder with no value is an error."""
        with pytest.raises(ArgvError):
            expand_argv(["/x", "{caller_id}"], {"user": "joe"})

    def test_unknown_value_key_is_refused(self) -> None:
        """A value for a placeholder that does not exist is a typo in the shell."""
        with pytest.raises(ArgvError):
            expand_argv(["/x"], {"usr": "joe"})

    def test_rule_expand(self) -> None:
        """DispatchRule.expand is expand_argv on its program."""
        assert ["/usr/sbin/uucico", "-l", "-u", "Uhost"] == UUCP.expand({"user": "Uhost"})

    @given(value=st.text(max_size=300))
    def test_argument_count_never_changes(self, value: str) -> None:
        """Whatever the value, the argv has as many elements as the template, all printable, or is refused."""
        try:
            argv = expand_argv(["/x", "--", "{user}", "n={caller_name}"], {"user": value, "caller_name": value})
        except ArgvError:
            assert value.startswith("-") or len(value) > MAX_VALUE_LENGTH
            return
        assert 4 == len(argv)
        assert all(" " <= char <= "~" for char in argv[2] + argv[3])


class TestPppdExit:
    """pppd's exit statuses, from pppd(8)."""

    def test_every_documented_code(self) -> None:
        """pppd(8) documents 0 to 19, all present."""
        assert list(range(20)) == sorted(PPPD_EXIT)

    def test_normal_ends(self) -> None:
        """0 (peer ended), 5 (signal, e.g. the hang-up's SIGHUP), 15 (no echo replies) and 16 (modem hung up)."""
        assert {0, 5, 15, 16} == {code for code in PPPD_EXIT if classify_pppd_exit(code).normal}
        assert frozenset({0, 5, 15, 16}) == PPPD_NORMAL_EXITS

    def test_modem_hang_up(self) -> None:
        """16 is the modem hanging up: normal."""
        assert PppdExit(normal=True, meaning="the link was terminated by the modem hanging up") == (
            classify_pppd_exit(16)
        )

    def test_failures(self) -> None:
        """Authentication and negotiation failures are not normal."""
        assert (False, False, False) == tuple(classify_pppd_exit(code).normal for code in (10, 11, 19))

    def test_unpacks_as_a_pair(self) -> None:
        """The result unpacks as (normal, meaning)."""
        normal, meaning = classify_pppd_exit(11)
        assert (False, "the peer failed (or refused) to authenticate itself") == (normal, meaning)

    def test_unknown_code(self) -> None:
        """An undocumented status is not normal and says so."""
        assert PppdExit(normal=False, meaning="unknown pppd exit status 42") == classify_pppd_exit(42)

    def test_signal(self) -> None:
        """A negative status is death by that signal."""
        assert PppdExit(normal=False, meaning="pppd was killed by signal 9") == classify_pppd_exit(-9)


class TestDoctests:
    """The module's doctests hold."""

    def test_doctests(self) -> None:
        """Every example in the docstrings passes."""
        assert 0 == doctest.testmod(_dispatch).failed
