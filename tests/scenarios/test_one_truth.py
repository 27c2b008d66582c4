"""One truth about a client: /hours, the welcome, the App Home, /client and /clients agree."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.service.client_flow import ANSWER_WINDOW
from bot.service.home import home
from bot.store.models import Client, Identity, Message
from bot.store.unit import looking
from bot.transports.slack_home import home_view
from tests.harness import Harness

CODE = re.compile(r"start=([A-Za-z0-9_-]+)")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)  # Mon, Melody is in
PASSED = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)  # last Friday's session


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    """Melody (London), Alex whose contract ended last month, and Sam whose session passed."""
    harness = Harness(chat_engine, clock)
    harness.add_coach(policy={"timezone": "Europe/London", "hours": "mon-fri 09:00-17:00"})
    harness.add_client(
        "Alex",
        user_id="201",
        contract_start=date(2026, 9, 1),
        contract_end=date(2026, 10, 31),
        next_session=datetime(2026, 12, 3, 10, 0, tzinfo=UTC),
    )
    harness.add_client("Sam", user_id="202", next_session=PASSED)
    return harness


def test_a_former_clients_hours_say_coaching_has_ended(h: Harness) -> None:
    [said] = h.say("alex", "/hours")
    assert said.startswith("Your coaching contract with Melody ended on Sat 31 Oct 2026,")
    assert "passed on straight away" not in said
    assert "Next session" not in said
    assert "/fyi" in said


def test_a_former_client_joining_on_another_account_is_told_coaching_has_ended(
    h: Harness,
) -> None:
    said = h.say("melody", "/invite Alex")[-1]
    match = CODE.search(said)
    assert match, said
    [welcome] = h.say("alex-on-phone", f"/start {match.group(1)}")
    assert welcome.startswith("Welcome, Alex! Your coaching contract with Melody ended on")
    assert "passed on straight away" not in welcome
    with Session(h.engine) as session:
        alex = session.exec(select(Client).where(Client.name == "Alex")).one()
        accounts = session.exec(select(Identity).where(Identity.client_id == alex.id)).all()
    assert len(accounts) == 2


def test_a_former_clients_slack_home_says_coaching_has_ended(h: Harness) -> None:
    with Session(h.engine) as session:
        alex = session.exec(select(Client).where(Client.name == "Alex")).one()
        session.add(Identity(platform="slack", user_id="U201", chat_id="D201", client_id=alex.id))
        session.commit()
    with looking(h.engine) as uow:
        view = json.dumps(home_view(home(uow, "slack", user_id="U201", now=NOW)))
    assert "ended on Sat 31 Oct 2026" in view
    assert "passed on straight away" not in view


def test_the_coach_sees_a_former_client_as_former(h: Harness) -> None:
    [one] = h.say("melody", "/client Alex")
    assert "former client since 2026-11-01" in one
    assert "Coaching ended on 2026-10-31" in one
    [listing] = h.say("melody", "/clients")
    [alex_line] = [line for line in listing.splitlines() if line.startswith("• Alex")]
    assert "former client since 2026-11-01" in alex_line
    assert "next session" not in alex_line


def test_a_session_that_has_passed_is_never_shown_as_the_next(h: Harness) -> None:
    [hours] = h.say("sam", "/hours")
    assert "Next session: not booked yet." in hours
    [one] = h.say("melody", "/client Sam")
    assert "Next session: none" in one
    assert "Last session: Fri 20 Nov, 10:00 GMT" in one
    assert "Fri 20 Nov" not in one.split("What Sam would get right now:")[1]
    [listing] = h.say("melody", "/clients")
    [sam_line] = [line for line in listing.splitlines() if line.startswith("• Sam")]
    assert "next session" not in sam_line


def test_a_weekly_quota_of_one_reads_one_message(h: Harness) -> None:
    h.say("melody", "/quota Sam 1")
    [said] = h.say("sam", "/hours")
    assert "Up to 1 message a week that needs a reply is passed on" in said
    assert "1 messages" not in said
    h.say("melody", "/reply_within 1h")
    [said] = h.say("sam", "/hours")
    assert "Melody replies within 1 open hour." in said


def test_scheduling_never_uses_up_the_weekly_quota(h: Harness) -> None:
    """Over a quota of one, Sam can still move his session; a second question is kept."""
    h.say("melody", "/quota Sam 1")
    for text in ("/reschedule Could we move to Friday?", "/reschedule Or Thursday?"):
        h.clock.advance(ANSWER_WINDOW)  # the same answer within a minute is not said again
        [said] = h.say("sam", text)
        assert said.startswith("Thanks — Melody has your message and will reply by"), said
    h.clock.advance(ANSWER_WINDOW)
    [first] = h.say("sam", "/ask Should I bring my journal?")
    assert first.startswith("Thanks — Melody has your message"), first
    [second] = h.say("sam", "/ask And my notes?")
    assert second.startswith("You've reached this week's limit"), second
    with Session(h.engine) as session:
        decided = [m.decision for m in session.exec(select(Message).order_by(Message.id)).all()]
    assert decided == ["forward", "forward", "forward", "park"]
