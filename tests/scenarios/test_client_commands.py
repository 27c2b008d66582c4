"""A client's commands, and /help for everyone: what each person sees and what is stored."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.app import build_commands
from bot.clock import ManualClock
from bot.service.commands.registry import Role
from bot.store.models import Client, Coach
from tests.harness import Harness

COMMANDS = build_commands()


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    """Melody (London hours) and her client Alex, with a session booked."""
    harness = Harness(chat_engine, clock)
    harness.add_coach(policy={"timezone": "Europe/London", "hours": "mon-fri 09:00-17:00"})
    harness.add_client("Alex", user_id="201", next_session=datetime(2026, 12, 3, 10, 0, tzinfo=UTC))
    return harness


def alex(h: Harness) -> Client:
    with Session(h.engine) as session:
        return session.exec(select(Client).where(Client.name == "Alex")).one()


def test_hours_tell_the_client_availability_reply_promise_and_next_session(h: Harness) -> None:
    [said] = h.say("alex", "/hours")
    assert said.splitlines() == [
        "Melody's hours: Mon–Fri 09:00–17:00 London time.",
        "Right now Melody is in: messages are passed on straight away.",
        "Melody replies within 24 open hours.",
        "Between sessions you can send updates any time with /fyi (no reply needed) and "
        "questions with /ask.",
        "Next session: Thu 3 Dec, 10:00 GMT.",
    ]


def test_hours_after_closing_time_say_when_the_coach_is_back(h: Harness) -> None:
    [said] = h.say("alex", "/hours", at=datetime(2026, 11, 27, 18, 0, tzinfo=UTC))
    assert "Right now Melody is out of the office until Mon 30 Nov, 09:00 GMT." in said


def test_a_client_sees_times_in_their_own_time_zone(h: Harness) -> None:
    assert h.say("alex", "/timezone America/New_York") == [
        "Times are now shown to you in America/New_York: it is Mon 23 Nov, 05:00 EST there."
    ]
    assert alex(h).timezone == "America/New_York"
    [said] = h.say("alex", "/hours")
    assert "Melody's hours: Mon–Fri 04:00–12:00 New York time." in said
    assert "Next session: Thu 3 Dec, 05:00 EST." in said


def test_a_clients_time_zone_leaves_the_coachs_alone(h: Harness) -> None:
    h.say("alex", "/timezone Asia/Tokyo")
    with Session(h.engine) as session:
        coach = session.exec(select(Coach)).one()
    assert coach.policy["timezone"] == "Europe/London"
    assert coach.chat_set == []


def test_a_client_can_go_back_to_the_coachs_time_zone(h: Harness) -> None:
    h.say("alex", "/timezone Asia/Tokyo")
    assert h.say("alex", "/timezone default") == [
        "Times are now shown to you in Europe/London: it is Mon 23 Nov, 10:00 GMT there."
    ]
    assert alex(h).timezone is None


def test_timezone_without_a_zone_says_which_one_is_used(h: Harness) -> None:
    assert h.say("alex", "/timezone") == [
        "I show you times in Europe/London. Change it like this: /timezone Europe/Paris"
    ]


def test_client_help_lists_the_kinds_and_their_own_commands(h: Harness) -> None:
    [said] = h.say("alex", "/help")
    lines = said.splitlines()
    assert lines[:4] == [
        "/fyi text — an update for your coach; no reply needed",
        "/ask text — a question that needs a reply",
        "/reschedule text — about moving or booking a session",
        "/goals text — your goals for your coach",
    ]
    assert "/hours — when your coach is available, how soon they reply, your next session" in lines
    assert "/timezone Europe/Paris — the time zone I show you times in" in lines
    assert not any(line.startswith(("/policy", "/invite", "/start")) for line in lines)


def test_coach_help_has_one_line_per_coach_command(h: Harness) -> None:
    [said] = h.say("melody", "/help")
    lines = said.splitlines()
    commands = [c for c in COMMANDS.for_role(Role.COACH) if c.name not in ("start", "join")]
    assert lines == [f"{c.usage} — {c.help}" for c in commands]
    assert lines[0] == "/policy — Your settings, and exactly what a client would be told right now."
    assert (
        "/session Alex 2026-12-03 10:00|none — A client's next session, in your time zone; "
        "none when none is booked." in lines
    )


def test_stranger_help_explains_joining_only(h: Harness) -> None:
    assert h.say("stranger", "/help") == [
        "I pass messages between coaches and their clients.\n"
        "/start CODE — Join your coach with the invite code they gave you.\n"
        "/boundary join CODE — Join your coach with the invite code they gave you.\n"
        "/help — What you can ask me, one command a line."
    ]
