"""Input that means nothing is refused with one line, and nothing is stored."""

from __future__ import annotations

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.store.models import Coach, Message
from tests.harness import Harness


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    harness = Harness(chat_engine, clock)
    harness.add_coach(policy={"timezone": "Europe/London"})
    harness.add_client("Alex", user_id="201")
    return harness


def messages(h: Harness) -> list[Message]:
    with Session(h.engine) as session:
        return list(session.exec(select(Message)).all())


@pytest.mark.parametrize("command", ["/ask", "/fyi", "/goals", "/reschedule", "/ask   "])
def test_a_kind_command_without_text_says_what_is_missing(h: Harness, command: str) -> None:
    [said] = h.say("alex", command)
    assert said.startswith(f"{command.strip()} needs ")
    assert messages(h) == []
    assert h.inbox("melody") == []


@pytest.mark.parametrize(
    ("zone", "hint"),
    [("EST", "America/New_York"), ("CET", "Europe/Paris"), ("PST8PDT", "America/Los_Angeles"),
     ("GMT+5", "Europe/London"), ("Etc/GMT-5", "Europe/London"), ("UTC+02:00", "Europe/London")],
)  # fmt: skip
def test_abbreviations_and_offsets_are_refused_by_both_timezone_commands(
    h: Harness, zone: str, hint: str
) -> None:
    [coach] = h.say("melody", f"/timezone {zone}")
    [client] = h.say("alex", f"/timezone {zone}")
    for said in (coach, client):
        assert said.startswith(f"/timezone: {zone} is ")
        assert f"not a place: use a zone like {hint}" in said
    with Session(h.engine) as session:
        assert session.exec(select(Coach)).one().policy.get("timezone") == "Europe/London"


def test_utc_itself_is_still_a_zone(h: Harness) -> None:
    [said] = h.say("melody", "/timezone UTC")
    assert said.startswith("Time zone set: UTC.")


def test_quota_out_of_range_has_the_one_shape(h: Harness) -> None:
    assert h.say("melody", "/quota Alex 500") == [
        "/quota: 500 is out of range — use a number from 0 to 100, like /quota Alex 3"
    ]
