"""Coach commands are for coaches: a client or a stranger is refused and nothing changes."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel

from bot.app import build_commands
from bot.clock import ManualClock
from bot.service.commands.registry import Command, Role
from bot.service.dispatch import STRANGER_WINDOW
from rules.lines import STRANGER_LINE
from tests.harness import Harness

COMMANDS = build_commands()

#: Arguments that would change something if the asker were the coach.
SAMPLE_ARGS = {
    "timezone": "Asia/Tokyo",
    "hours": "mon 09:00-10:00",
    "reply_within": "2d",
    "closed": "2026-12-24 2027-01-02 Christmas",
    "reopen": "1",
    "holidays": "GB",
    "digest": "07:00",
    "invite": "Sam open_door",
    "mode": "Alex sessions_only",
    "allow": "Alex fyi",
    "quota": "Alex 1",
    "session": "Alex 2026-12-03 10:00",
    "contract": "Alex 2026-01-01 2026-02-01",
    "reply": "Alex hello",
    "log": "Alex 20m",
    "billing": "5 60 GBP",
    "report": "2026-11",
    "message": "digest Hi {coach}",
    "crisis": "Call 999",
    "export": "Alex",
    "forget": "Alex confirm",
}
#: A stranger is refused by the command registry, or before it by the dispatcher's polite line.
REFUSED_STRANGER = ([STRANGER_LINE],)  # never "that command is for coaches"
#: Tables a refused command may touch: the refusal itself and the event it answers.
BOOKKEEPING = {"outbox", "processedevent"}


def coach_only() -> list[Command]:
    """Every registered command only coaches may use."""
    return [c for c in COMMANDS.for_role(Role.COACH) if c.roles == {Role.COACH}]


def snapshot(engine: Engine) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table but the bookkeeping ones."""
    with Session(engine) as session:
        return {
            table.name: sorted(
                map(tuple, session.execute(text(f"SELECT * FROM {table.name}"))), key=repr
            )
            for table in SQLModel.metadata.sorted_tables
            if table.name not in BOOKKEEPING
        }


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    """Melody with a client, Alex, a closure and an unused invite."""
    harness = Harness(chat_engine, clock)
    harness.add_coach()
    harness.add_client("Alex", user_id="201")
    harness.say("melody", "/closed 2026-12-24 2026-12-26")
    harness.say("melody", "/invite Jo")
    return harness


def test_every_coach_command_is_registered_for_coaches_only() -> None:
    names = {c.name for c in coach_only()}
    assert {"policy", "reply_within", "closed", "reopen", "holidays", "digest", "invite"} <= names
    assert {"clients", "client", "mode", "allow", "quota", "session", "contract"} <= names
    assert {"reply", "log", "billing", "message", "crisis"} <= names


@pytest.mark.parametrize("command", coach_only(), ids=lambda c: c.name)
def test_a_client_trying_a_coach_command_is_refused_and_nothing_changes(
    h: Harness, command: Command
) -> None:
    before = snapshot(h.engine)
    said = h.say("alex", f"/{command.name} {SAMPLE_ARGS.get(command.name, 'Alex')}")
    assert said == ["That command is for coaches."]
    assert snapshot(h.engine) == before


@pytest.mark.parametrize("command", coach_only(), ids=lambda c: c.name)
def test_a_stranger_trying_a_coach_command_is_refused_and_nothing_is_stored(
    h: Harness, command: Command
) -> None:
    before = snapshot(h.engine)
    rows_before = len(h.rows("stranger"))
    said = h.say("stranger", f"/{command.name} {SAMPLE_ARGS.get(command.name, 'Alex')}")
    assert said in REFUSED_STRANGER
    assert snapshot(h.engine) == before
    assert rows_before == 0  # the join line is the only row, one per stranger and window
    assert [(r.idempotency_key.split(":")[0], r.text) for r in h.rows("stranger")] == [
        ("stranger", STRANGER_LINE)
    ]


def test_a_clients_timezone_and_hours_never_touch_the_coachs_policy(h: Harness) -> None:
    before = snapshot(h.engine)
    h.say("alex", "/hours mon 09:00-10:00")
    assert snapshot(h.engine) == before
    h.say("alex", "/timezone Asia/Tokyo")
    after = snapshot(h.engine)
    assert after["coach"] == before["coach"]
    assert after["client"] != before["client"]  # only Alex's own display zone


def test_a_strangers_timezone_and_hours_are_refused(h: Harness) -> None:
    before = snapshot(h.engine)
    assert h.say("stranger", "/timezone Asia/Tokyo") in REFUSED_STRANGER
    h.clock.advance(STRANGER_WINDOW)  # within the window the join line is not said again
    assert h.say("stranger", "/hours") in REFUSED_STRANGER
    assert snapshot(h.engine) == before


def test_a_coach_sees_only_their_own_clients(h: Harness) -> None:
    h.add_coach("sam", "Sam", user_id="300")
    assert h.say("sam", "/client Alex") == ["No client called 'Alex'. /clients lists yours."]
    assert h.say("sam", "/reply Alex hi") == ["No client called 'Alex'. /clients lists yours."]
    assert h.say("sam", "/clients") == ["No clients yet. /invite Alex adds one."]
    assert h.inbox("alex") == []
