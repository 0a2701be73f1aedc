"""Tests for the answer policy: dialin rules, per-caller init, the decision program's argv and exit status."""

from __future__ import annotations

import doctest

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from answerd.core import _policy
from answerd.core._policy import (
    CallerInitRule,
    PolicyDecision,
    Rule,
    RuleKind,
    cid_needs_rings,
    decide,
    decision_program_argv,
    interpret_exit,
    parse_rules,
    select_caller_init,
)
from answerd.core.hayes.cid import AbsenceReason, CallerInfo

NUMBER = CallerInfo(number="5551234")
OTHER = CallerInfo(number="4441234")
ABSENT = CallerInfo()
PRIVATE = CallerInfo(reason_number=AbsenceReason.PRIVATE)
OUT_OF_AREA = CallerInfo(reason_number=AbsenceReason.OUT_OF_AREA)

#: (id, rule tokens, caller, accept, deciding token)
DECISIONS: list[tuple[str, list[str], CallerInfo | None, bool, str | None]] = [
    ("no rules accept a number", [], NUMBER, True, None),
    ("no rules accept no caller id", [], None, True, None),
    ("prefix accepts", ["555"], NUMBER, True, "555"),
    ("whole number is a prefix", ["5551234"], NUMBER, True, "5551234"),
    ("longer token does not match", ["!55512345"], NUMBER, True, None),
    ("deny prefix rejects", ["!555"], NUMBER, False, "!555"),
    ("deny prefix ignores others", ["!555"], OTHER, True, None),
    ("allow list then deny all: listed", ["555", "!all"], NUMBER, True, "555"),
    ("allow list then deny all: unlisted", ["555", "!all"], OTHER, False, "!all"),
    ("first match wins: deny first", ["!5551234", "555", "!all"], NUMBER, False, "!5551234"),
    ("first match wins: allow first", ["555", "!5551234"], NUMBER, True, "555"),
    ("all accepts no caller id", ["all"], None, True, "all"),
    ("deny all rejects no caller id", ["!all"], None, False, "!all"),
    ("deny all rejects a number", ["!all"], NUMBER, False, "!all"),
    ("all stops the scan", ["all", "!555"], NUMBER, True, "all"),
    ("none accepts no caller id", ["none", "!all"], None, True, "none"),
    ("deny none rejects no caller id", ["!none"], None, False, "!none"),
    ("deny none rejects an empty record", ["!none"], ABSENT, False, "!none"),
    ("deny none rejects private", ["!none"], PRIVATE, False, "!none"),
    ("deny none rejects out of area", ["!none"], OUT_OF_AREA, False, "!none"),
    ("deny none lets numbers through", ["!none"], NUMBER, True, None),
    ("deny none then deny all", ["!none", "!all"], NUMBER, False, "!all"),
    ("out of area allowed before deny none", ["out-of-area", "!none"], OUT_OF_AREA, True, "out-of-area"),
    ("private still denied by none", ["out-of-area", "!none"], PRIVATE, False, "!none"),
    ("deny private", ["!private"], PRIVATE, False, "!private"),
    ("deny private ignores out of area", ["!private"], OUT_OF_AREA, True, None),
    ("deny private ignores absent", ["!private"], None, True, None),
    ("deny out of area ignores private", ["!out-of-area"], PRIVATE, True, None),
    ("prefix never matches absent", ["555", "!all"], None, False, "!all"),
    ("deny prefix never matches private", ["!555"], PRIVATE, True, None),
    ("plus prefix", ["+4989", "!all"], CallerInfo(number="+498912345"), True, "+4989"),
    ("prefixes are literal", ["+4989", "!all"], CallerInfo(number="08912345"), False, "!all"),
    ("hash in a prefix", ["#31#"], CallerInfo(number="#31#555"), True, "#31#"),
    ("trailing star is the prefix", ["!09*"], CallerInfo(number="0912345"), False, "!09"),
    ("trailing star prefix still literal", ["!09*"], CallerInfo(number="1090"), True, None),
    ("several tokens in one string", ["!555, 666", "!all"], CallerInfo(number="666123"), True, "666"),
    ("keywords ignore case", ["!NONE"], None, False, "!none"),
    ("single digit", ["!0"], CallerInfo(number="0891"), False, "!0"),
    ("called number is not the caller", ["!8765"], CallerInfo(number="111", called="8765"), True, None),
]


class TestDecide:
    """decide(): mgetty's dialin.config semantics."""

    def test_table_is_large(self) -> None:
        """The table covers at least 25 rows."""
        assert 25 <= len(DECISIONS)

    @pytest.mark.parametrize(
        ("tokens", "caller", "accept", "rule"), [row[1:] for row in DECISIONS], ids=[row[0] for row in DECISIONS]
    )
    def test_decision(self, tokens: list[str], caller: CallerInfo | None, accept: bool, rule: str | None) -> None:
        """The rules decide as the table says, naming the deciding token."""
        decision = decide(parse_rules(tokens), caller)

        assert (accept, rule) == (decision.accept, decision.rule)

    def test_reason_names_the_caller_and_rule(self) -> None:
        """The log line says who called and which token decided."""
        expected = PolicyDecision(accept=False, rule="!555", reason="caller 5551234 matches '!555': reject")

        assert expected == decide(parse_rules(["!555"]), NUMBER)

    def test_reason_for_implicit_accept(self) -> None:
        """Without a match the log line says the implicit 'all' accepted."""
        expected = "caller without caller ID matches no rule: accept (implicit 'all')"

        assert expected == decide((), None).reason

    def test_reason_for_withheld(self) -> None:
        """A withheld number is described as such."""
        assert (
            "caller with the number withheld matches '!none': reject" == decide(parse_rules(["!none"]), PRIVATE).reason
        )

    @settings(max_examples=300, deadline=None)
    @given(
        st.text(max_size=100),
        st.text(max_size=100),
        st.lists(st.sampled_from(["555", "!555", "all", "!all", "none", "!none", "private", "!out-of-area", "+1"])),
    )
    def test_never_raises(self, number: str, name: str, tokens: list[str]) -> None:
        """Any caller string under any rules gives a decision."""
        decision = decide(parse_rules(tokens), CallerInfo(number=number, name=name))

        assert isinstance(decision.accept, bool)

    @settings(max_examples=200, deadline=None)
    @given(st.text(max_size=40), st.lists(st.sampled_from(["555", "!555", "none", "!none", "+1", "!+1"])))
    def test_deny_all_at_the_end_decides_everything(self, number: str, tokens: list[str]) -> None:
        """With '!all' appended, a call that no earlier token matches is rejected by it."""
        rules = parse_rules([*tokens, "!all"])
        decision = decide(rules, CallerInfo(number=number))

        assert decision.rule is not None


class TestParseRules:
    """parse_rules(): valid tokens parse; invalid ones raise ValueError with advice."""

    def test_parsed(self) -> None:
        """Each kind of token becomes the matching Rule."""
        expected = (
            Rule(kind=RuleKind.PREFIX, prefix="555"),
            Rule(kind=RuleKind.PREFIX, deny=True, prefix="+49"),
            Rule(kind=RuleKind.ALL),
            Rule(kind=RuleKind.NONE, deny=True),
            Rule(kind=RuleKind.PRIVATE),
            Rule(kind=RuleKind.OUT_OF_AREA, deny=True),
        )

        assert expected == parse_rules(["555", "!+49", "all", "!none", "Private", "!OUT-OF-AREA"])

    def test_trailing_star_is_the_prefix_it_means(self) -> None:
        """A trailing '*' (mgetty users write '!09*') is read as the prefix before it."""
        assert parse_rules(["!09", "555"]) == parse_rules(["!09*", "555*"])

    def test_tokens_round_trip(self) -> None:
        """A rule's token parses back to the same rule."""
        rules = parse_rules(["555", "!+49", "#31#", "all", "!none", "private", "!out-of-area"])

        assert rules == parse_rules([rule.token for rule in rules])

    @pytest.mark.parametrize(
        ("token", "message"),
        [
            ("", "empty caller-ID rule ''"),
            (" , ", "empty caller-ID rule"),
            ("!", "'!' needs a number prefix or keyword"),
            ("!!555", "use a single '!'"),
            ("555-1234", "without separators"),
            ("(089) 123", "'(089)': write the number without separators"),
            ("P", "use private"),
            ("!P", "use !private"),
            ("O", "use out-of-area"),
            ("OUT_OF_AREA", "use out-of-area"),
            ("abc", "expected a number prefix"),
            ("nonee", "expected a number prefix"),
            ("n", "expected a number prefix"),
            ("all!", "expected a number prefix"),
            ("555;rm", "expected a number prefix"),
            ("\x00", "expected a number prefix"),
            ("5" * 33, "longer than 32 characters"),
            ("*", "'*': use all (every call) instead of '*'"),
            ("!*", "use !all (every call)"),
            ("0*9", "'0*9': a rule is a number prefix, so '*' may only end it (09* is 09)"),
            ("*1234", "'*' may only end it"),
            ("!09**", "'*' may only end it"),
        ],
    )
    def test_invalid(self, token: str, message: str) -> None:
        """The error names the token and says how to fix it."""
        with pytest.raises(ValueError, match="caller-ID rule") as info:
            parse_rules([token])
        assert message in str(info.value)

    def test_hostile_token_is_shown_cleaned(self) -> None:
        """A token with control bytes is shown cleaned and shortened in the message."""
        with pytest.raises(ValueError) as info:
            parse_rules(["\x1b[2J" + "x" * 1000])
        assert (True, True) == (str(info.value).isprintable(), len(str(info.value)) < 200)


class TestCallerInit:
    """Per-caller init overrides: the first matching rule's extra chat."""

    RULES = (
        CallerInitRule("0891", ("AT+MS=V32",)),
        CallerInitRule("none", ("ATX3",)),
        CallerInitRule("089", ("AT+MS=V34",)),
        CallerInitRule("all", ()),
    )

    @pytest.mark.parametrize(
        ("caller", "expected"),
        [
            (CallerInfo(number="08912345"), ("AT+MS=V32",)),
            (CallerInfo(number="08812345"), ()),
            (CallerInfo(number="0899"), ("AT+MS=V34",)),
            (None, ("ATX3",)),
            (PRIVATE, ("ATX3",)),
        ],
    )
    def test_first_match(self, caller: CallerInfo | None, expected: tuple[str, ...]) -> None:
        """The first rule matching the caller gives the extra chat."""
        assert expected == select_caller_init(self.RULES, caller)

    def test_no_match(self) -> None:
        """Without a matching rule there is no override."""
        assert select_caller_init([CallerInitRule("089", ("X",))], NUMBER) is None

    @pytest.mark.parametrize("pattern", ["!089", "abc", "", "P"])
    def test_invalid_pattern(self, pattern: str) -> None:
        """A pattern that is not a prefix or keyword (or is negated) is refused."""
        with pytest.raises(ValueError):
            CallerInitRule(pattern, ())

    def test_extra_chat_becomes_a_tuple(self) -> None:
        """A list of chat strings is stored as a tuple, so the rule stays hashable."""
        rule = CallerInitRule("089", ["AT", "OK"])  # type: ignore[arg-type]

        assert ("AT", "OK") == rule.init_chat_extra
        assert hash(rule) == hash(CallerInitRule("089", ("AT", "OK")))


PROGRAM = ["/usr/local/sbin/check-caller"]


def argv(caller: CallerInfo | None, **kwargs: object) -> list[str]:
    """The decision program's argv after the program itself."""
    options: dict[str, object] = {"tty": "ttyS0", "distinctive": 0, **kwargs}
    return decision_program_argv(PROGRAM, caller=caller, **options)[1:]  # type: ignore[arg-type]


class TestDecisionProgramArgv:
    """decision_program_argv(): mgetty's argument order, made safe for execve."""

    @pytest.mark.parametrize(
        ("caller", "kwargs", "expected"),
        [
            (None, {}, ["ttyS0", "none", "", "0", ""]),
            (ABSENT, {}, ["ttyS0", "none", "", "0", ""]),
            (PRIVATE, {}, ["ttyS0", "P", "", "0", ""]),
            (OUT_OF_AREA, {}, ["ttyS0", "O", "", "0", ""]),
            (
                CallerInfo(number="5551234", name="SMITH", called="8765"),
                {"distinctive": 2},
                ["ttyS0", "5551234", "SMITH", "2", "8765"],
            ),
            (CallerInfo(called="8765"), {"called": "1111"}, ["ttyS0", "none", "", "0", "1111"]),
            (None, {"called": "8765"}, ["ttyS0", "none", "", "0", "8765"]),
            (None, {"distinctive": -3}, ["ttyS0", "none", "", "0", ""]),
            (None, {"tty": "ttyUSB0"}, ["ttyUSB0", "none", "", "0", ""]),
        ],
    )
    def test_arguments(self, caller: CallerInfo | None, kwargs: dict[str, object], expected: list[str]) -> None:
        """<tty> <CallerID> <Name> <dist-ring> <CalledNr>, with mgetty's placeholders."""
        assert expected == argv(caller, **kwargs)

    def test_program_arguments_are_kept(self) -> None:
        """The program's own argv comes first, untouched."""
        result = decision_program_argv(["/bin/check", "--strict", "-v"], tty="ttyS0", caller=None, distinctive=0)

        assert ["/bin/check", "--strict", "-v", "ttyS0", "none", "", "0", ""] == result

    def test_empty_program_is_refused(self) -> None:
        """An empty program argv is a configuration error."""
        with pytest.raises(ValueError, match="empty"):
            decision_program_argv([], tty="ttyS0", caller=None, distinctive=0)

    @pytest.mark.parametrize(
        ("name", "expected"),
        [
            ("'; rm -rf /", "; rm -rf /"),
            ('"$(reboot)"', "$(reboot)"),
            ("A" * 10_000, "A" * 64),
            ("EVIL\x1b[2J\x00\x07GUY", "EVIL [2J GUY"),
            ("-rf", " -rf"),
            ("--help", " --help"),
            ("\x00-x", " -x"),
        ],
    )
    def test_hostile_name(self, name: str, expected: str) -> None:
        """A hostile name is one printable, bounded element that is never an option."""
        assert expected == argv(CallerInfo(name=name))[2]

    def test_hostile_number_is_none(self) -> None:
        """A caller number of shell syntax cleans to nothing, so the caller ID is 'none'."""
        assert "none" == argv(CallerInfo(number="'; rm -rf /"))[1]

    def test_hostile_tty_is_not_an_option(self) -> None:
        """Even the tty argument cannot start with '-'."""
        assert " -x" == argv(None, tty="-x")[0]

    def test_values_are_recleaned(self) -> None:
        """A CallerInfo forced to hold raw values still gives clean elements."""
        caller = CallerInfo()
        object.__setattr__(caller, "name", "-\x00'x'" + "y" * 100)
        object.__setattr__(caller, "number", "--5551234")

        assert ["ttyS0", " --5551234", " - x" + "y" * 61, "0", ""] == argv(caller)

    @settings(max_examples=300, deadline=None)
    @given(st.text(max_size=200), st.text(max_size=200), st.text(max_size=60), st.integers())
    def test_elements_are_always_safe(self, number: str, name: str, called: str, distinctive: int) -> None:
        """Whatever the caller sent: five elements, printable ASCII, bounded, none starting with '-'."""
        result = argv(CallerInfo(number=number, name=name), called=called, distinctive=distinctive)

        assert 5 == len(result)
        assert all(e.isascii() and e.isprintable() and len(e) <= 65 and not e.startswith("-") for e in result)


class TestInterpretExit:
    """interpret_exit(): 0 accepts, 1 rejects, everything else is on_error (mgetty: accept)."""

    @pytest.mark.parametrize(
        ("code", "timed_out", "on_error", "accept"),
        [
            (0, False, "accept", True),
            (0, False, "reject", True),
            (1, False, "accept", False),
            (1, False, "reject", False),
            (2, False, "accept", True),
            (2, False, "reject", False),
            (10, False, "accept", True),
            (255, False, "reject", False),
            (-9, False, "accept", True),
            (-9, False, "reject", False),
            (None, False, "accept", True),
            (None, False, "reject", False),
            (0, True, "reject", False),
            (1, True, "accept", True),
            (None, True, "accept", True),
        ],
    )
    def test_exit(self, code: int | None, timed_out: bool, on_error: str, accept: bool) -> None:
        """The ending maps to accept/reject as the table says."""
        assert accept == interpret_exit(code, timed_out, on_error=on_error).accept  # type: ignore[arg-type]

    def test_default_is_mgettys_accept(self) -> None:
        """By default a crashing program lets the call in, as in mgetty."""
        expected = PolicyDecision(
            accept=True, rule=None, reason="decision program was killed by signal 11: accept (on_error)"
        )

        assert expected == interpret_exit(-11, False)

    @pytest.mark.parametrize(
        ("code", "timed_out", "reason"),
        [
            (0, False, "decision program accepted the call (exit 0)"),
            (1, False, "decision program rejected the call (exit 1)"),
            (3, False, "decision program exited 3: reject (on_error)"),
            (None, False, "decision program did not run or its status is unknown: reject (on_error)"),
            (None, True, "decision program timed out: reject (on_error)"),
        ],
    )
    def test_reason(self, code: int | None, timed_out: bool, reason: str) -> None:
        """The log line says how the program ended."""
        assert reason == interpret_exit(code, timed_out, on_error="reject").reason

    def test_bad_on_error(self) -> None:
        """on_error must be accept or reject."""
        with pytest.raises(ValueError, match="on_error"):
            interpret_exit(0, False, on_error="maybe")  # type: ignore[arg-type]


class TestRingsWarning:
    """cid_needs_rings(): caller ID needs at least two rings."""

    @pytest.mark.parametrize(("rings", "in_use"), [(2, True), (5, True), (0, False), (1, False)])
    def test_no_warning(self, rings: int, in_use: bool) -> None:
        """Enough rings, or no caller-ID policy: nothing to say."""
        assert cid_needs_rings(rings, in_use) is None

    @pytest.mark.parametrize("rings", [0, 1])
    def test_warning(self, rings: int) -> None:
        """Too few rings with a policy: a warning naming the setting."""
        warning = cid_needs_rings(rings, True)

        assert warning is not None
        assert (True, True) == (f"rings is {rings}" in warning, "2 or more" in warning)


class TestDocs:
    """The documentation's examples."""

    def test_doctests(self) -> None:
        """The examples in the module's docstrings hold."""
        assert 0 == doctest.testmod(_policy).failed
