"""After init (``answerd.core._setup``): the family identified, caller ID switched on, the speed cap — never fatal.

Commands and answers are the modem-personalities note's facts (source keys in the comments).
"""

from __future__ import annotations

import pytest

from answerd.core import (
    AnswerMachine,
    Decision,
    Effect,
    ModemFamily,
    Outcome,
    Phase,
    Profile,
    Ready,
    Report,
    SpeedCap,
    parse_chat,
)

from .effects import of, writes

F = ModemFamily


def lines(*texts: str) -> bytes:
    """Verbose modem output: each text framed in CR LF."""
    return b"".join(b"\r\n" + text.encode("ascii") + b"\r\n" for text in texts)


def reports(effects: list[Effect], event: str) -> list[dict[str, object]]:
    """The fields of every Report named ``event``."""
    return [dict(e.fields) for e in of(Report, effects) if e.event == event]


def through_init(**profile: object) -> tuple[AnswerMachine, list[Effect]]:
    """A machine (no DTR toggle) that has just passed its init chat; the effects of that."""
    machine = AnswerMachine(Profile(toggle_dtr=False, **profile))  # type: ignore[arg-type]
    machine.port_opened(0.0)
    machine.receive_data(b"OK\r\n", 0.0)  # to ATZ; the second OK ends the default init chat
    return machine, machine.receive_data(b"OK\r\n", 0.0)


def answer_all(machine: AnswerMachine, answers: dict[bytes, bytes], effects: list[Effect]) -> list[Effect]:
    """Answer each command the machine writes from ``answers`` (default ERROR) until it is idle."""
    seen = list(effects)
    now = 0.0
    while machine.phase is Phase.INITIALIZING:
        command = writes(effects)[-1]
        now += 0.1
        effects = machine.receive_data(answers.get(command, lines("ERROR")), now)
        seen += effects
    return seen


class TestIdentify:
    """``modem_family = "auto"``: ask until an answer names a family; vendor commands only for that family."""

    @pytest.mark.parametrize(
        ("answers", "family", "caller_id"),
        [
            ({b"AT+GMI\r": lines("huawei", "OK")}, F.HUAWEI, b"AT+CLIP=1\r"),  # [GSMM], [HW-MU509]
            ({b"ATI3\r": lines("SoftK56V_B2.1_V7.04.05", "OK")}, F.ROCKWELL, b"AT+VCID=1\r"),  # [USR-SCR]
            ({b"AT+GMI\r": lines("U.S. Robotics", "OK")}, F.USR, b"AT#CID=1\r"),  # [USR-BM]
            ({b"AT+GMM\r": lines("Multi-Tech Systems MT5634ZBA", "OK")}, F.MULTITECH, b"AT+VCID=1\r"),
        ],
    )
    def test_identifies_then_sends_its_caller_id_command(
        self, answers: dict[bytes, bytes], family: ModemFamily, caller_id: bytes
    ) -> None:
        """The family named by an answer decides the caller-ID command; then the port is ready."""
        machine, effects = through_init(family=None, caller_id="auto")
        assert [b"AT+GMI\r"] == writes(effects)
        seen = answer_all(machine, {**answers, caller_id: lines("OK")}, effects)
        assert family == machine.family
        assert [{"command": caller_id.decode().strip()}] == reports(seen, "modem.caller_id")
        assert (Phase.IDLE, 1) == (machine.phase, len(of(Ready, seen)))

    def test_stops_asking_once_identified(self) -> None:
        """The first answer that names a family ends the questions."""
        machine, effects = through_init(family=None)
        seen = answer_all(machine, {b"AT+GMI\r": lines("huawei", "OK")}, effects)
        assert [b"AT+GMI\r"] == writes(seen)

    def test_unidentified_modem_gets_v250_only(self) -> None:
        """No answer names a family: V.250, and no vendor command is ever sent."""
        machine, effects = through_init(family=None, caller_id="auto")
        seen = answer_all(machine, {b"AT+VCID=1\r": lines("OK")}, effects)
        sent = writes(seen)
        assert [b"AT+GMI\r", b"AT+GMM\r", b"ATI3\r", b"ATI0\r", b"AT+VCID=1\r"] == sent
        assert F.V250 == machine.family
        assert not any(command.startswith((b"AT#", b"AT%", b"AT+CLIP")) for command in sent)

    def test_numbers_alone_identify_nothing(self) -> None:
        """A product code (ATI0 ``56000``) names no family: V.250 commands only."""
        machine, effects = through_init(family=None)
        answer_all(machine, {b"ATI0\r": lines("56000", "OK")}, effects)
        assert F.V250 == machine.family

    def test_identified_again_at_every_open(self) -> None:
        """The answer is kept for the open only: the next port_opened asks again."""
        machine, effects = through_init(family=None)
        answer_all(machine, {b"AT+GMI\r": lines("huawei", "OK")}, effects)
        machine.receive_data(b"RING\r\nCONNECT\r\n", 1.0)
        machine.call_finished(2.0, outcome=Outcome.ANSWERED)
        machine.port_opened(3.0)
        assert None is machine.family
        machine.receive_data(b"OK\r\n", 3.0)
        assert [b"AT+GMI\r"] == writes(machine.receive_data(b"OK\r\n", 3.0))

    def test_a_set_family_is_never_asked(self) -> None:
        """``modem_family = "usr"``: no identification, USR's own command at once."""
        _, effects = through_init(family=F.USR, caller_id="auto")
        assert [b"AT#CID=1\r"] == writes(effects)


class TestCallerId:
    """``caller_id``: auto tries the family's commands in order; failing is a warning, never a failed init."""

    def test_rockwell_falls_back_to_hash_cid(self) -> None:
        """Conexant's +VCID refused: Rockwell's #CID is tried and logged as the one used [RW-1048]."""
        machine, effects = through_init(family=F.ROCKWELL, caller_id="auto")
        seen = answer_all(machine, {b"AT#CID=1\r": lines("OK")}, effects)
        assert [b"AT+VCID=1\r", b"AT#CID=1\r"] == writes(seen)
        assert [{"command": "AT#CID=1"}] == reports(seen, "modem.caller_id")
        assert ["AT+VCID=1"] == [r["command"] for r in reports(seen, "modem.caller_id.refused")]

    def test_refused_everywhere_is_a_warning_and_the_port_is_ready(self) -> None:
        """ERROR to every caller-ID command: one warning, Ready, idle."""
        machine, effects = through_init(family=F.ROCKWELL, caller_id="auto")
        seen = answer_all(machine, {}, effects)
        warnings = [e for e in of(Report, seen) if e.event == "modem.caller_id.failed"]
        assert (["warning"], Phase.IDLE, 1) == ([w.level for w in warnings], machine.phase, len(of(Ready, seen)))

    def test_no_answer_is_a_warning_too(self) -> None:
        """A modem that says nothing to the command: the chat times out, a warning, then idle."""
        machine, _ = through_init(family=F.V250, caller_id="auto")
        timer = machine.get_timer()
        assert timer is not None
        effects = machine.handle_timer(timer)
        assert (1, Phase.IDLE) == (len(reports(effects, "modem.caller_id.failed")), machine.phase)

    def test_off_sends_nothing(self) -> None:
        """``caller_id = "off"``: straight to idle after the init chat."""
        machine, effects = through_init(family=F.V250, caller_id="off")
        assert ([], Phase.IDLE) == (writes(effects), machine.phase)

    def test_own_chat(self) -> None:
        """A chat of the operator's own is sent as given, whatever the family."""
        chat = parse_chat(["", "AT+VCID=2", "OK"])
        machine, effects = through_init(family=F.USR, caller_id=chat)
        assert [b"AT+VCID=2\r"] == writes(effects)
        assert [{"command": "caller_id chat"}] == reports(machine.receive_data(lines("OK"), 0.1), "modem.caller_id")


class TestSpeedCap:
    """``speed_cap``: after caller ID, in the family's own command; one it cannot say is a warning."""

    def test_port_cap_after_caller_id(self) -> None:
        """Rockwell: +VCID, then +MS with the cap."""
        cap = SpeedCap(max_speed=14400, modulation="v32b")
        machine, effects = through_init(family=F.ROCKWELL, caller_id="auto", speed_cap=cap)
        seen = answer_all(machine, {b"AT+VCID=1\r": lines("OK"), b"AT+MS=V32B,1,,14400\r": lines("OK")}, effects)
        assert [b"AT+VCID=1\r", b"AT+MS=V32B,1,,14400\r"] == writes(seen)
        assert [{"command": "AT+MS=V32B,1,,14400"}] == reports(seen, "modem.speed_cap")

    def test_usr_ceiling_is_reported_not_sent(self) -> None:
        """USR has only fixed rates (&N): a ceiling is a warning and nothing is sent for it."""
        machine, effects = through_init(family=F.USR, speed_cap=SpeedCap(max_speed=14400))
        assert ([], Phase.IDLE) == (writes(effects), machine.phase)
        assert 1 == len(reports(effects, "modem.speed_cap.unsupported"))

    def test_refused_cap_is_a_warning(self) -> None:
        """ERROR to the cap: a warning, and the port is ready anyway."""
        machine, effects = through_init(family=F.V250, speed_cap=SpeedCap(max_speed=9600))
        seen = answer_all(machine, {}, effects)
        assert (1, Phase.IDLE) == (len(reports(seen, "modem.speed_cap.failed")), machine.phase)

    def test_caller_rule_cap_before_ata(self) -> None:
        """A caller rule's cap is sent in the family's command before ATA."""
        machine, _ = through_init(family=F.USR, answer_gate=True)
        machine.receive_data(b"RING\r\n", 1.0)
        cap = SpeedCap(min_speed=9600, max_speed=9600)
        assert [b"AT&N6\r"] == writes(machine.decide(1.1, 1, Decision.ACCEPT, speed_cap=cap))
        assert [b"ATA\r"] == writes(machine.receive_data(lines("OK"), 1.2))
