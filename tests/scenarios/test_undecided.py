"""A message whose kind the client never picks still reaches the coach, and the client is told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.messages import Attachment
from bot.service.schedule import Scheduler
from bot.service.undecided import GRACE
from bot.store.models import Message
from tests.harness import Harness


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    """Melody (London, Mon-Fri 09:00-17:00) with open-door Alex and `specific` Priya."""
    harness = Harness(chat_engine, clock)
    harness.add_coach(policy={"timezone": "Europe/London", "hours": "mon-fri 09:00-17:00"})
    harness.add_client("Alex", user_id="201")
    harness.add_client("Priya", user_id="202", mode="specific", allowed="goals,question")
    return harness


def messages(h: Harness) -> list[Message]:
    with Session(h.engine) as session:
        return list(session.exec(select(Message).order_by(Message.id)).all())


def after_grace(h: Harness, clock: ManualClock) -> None:
    clock.set(clock.now() + GRACE + timedelta(minutes=1))
    Scheduler(h.engine, clock).run_due()


def test_an_open_door_update_nobody_labels_goes_to_the_digest_and_the_client_is_told(
    h: Harness, clock: ManualClock
) -> None:
    [asked] = h.say("alex", "I had a breakthrough today")
    assert "what kind of message is it?" in asked
    assert [m.decision for m in messages(h)] == ["ask"]

    after_grace(h, clock)

    [message] = messages(h)
    assert (message.decision, message.kind) == ("digest", "fyi")
    told = h.inbox("alex")[-1]
    assert told.startswith("You didn't pick a kind")
    assert "daily round-up" in told


def test_a_voice_note_nobody_labels_is_decided_too(h: Harness, clock: ManualClock) -> None:
    h.say("alex", "", attachments=(Attachment("voice", "file-1"),))
    after_grace(h, clock)
    assert [(m.decision, m.kind) for m in messages(h)] == [("digest", "fyi")]


def test_several_unlabelled_messages_are_each_decided(h: Harness, clock: ManualClock) -> None:
    h.say("alex", "one")
    h.say("alex", "two")
    after_grace(h, clock)
    assert [m.decision for m in messages(h)] == ["digest", "digest"]


def test_a_specific_clients_unlabelled_text_is_kept_for_the_session(
    h: Harness, clock: ManualClock
) -> None:
    """Under a contract that keeps the rest for sessions, nobody's choice means just that."""
    [asked] = h.say("priya", "my goals for this month")
    assert "what kind of message is it?" in asked
    after_grace(h, clock)
    [message] = messages(h)
    assert (message.decision, message.kind) == ("park", None)
    assert h.inbox("priya")[-1] == (
        "You didn't pick a kind, so I've kept your message. "
        "I've saved this for your next session with Melody, once one is booked."
    )


def test_a_sessions_only_client_picks_scheduling_or_saves_for_the_session(
    h: Harness, clock: ManualClock
) -> None:
    h.add_client("Lena", user_id="203", mode="sessions_only")
    h.say("lena", "Could we move Thursday to Friday?")
    assert h.press("lena", "Scheduling")[-1].startswith("Thanks — Melody has your message")
    h.say("lena", "I had a hard week at work")
    assert h.press("lena", "Save for my session")[-1] == (
        "I've saved this for your next session with Melody, once one is booked."
    )
    assert [(m.decision, m.kind) for m in messages(h)] == [
        ("forward", "scheduling"),
        ("park", None),
    ]
    assert h.press("lena", "Save for my session")[-1].startswith("Already sorted")
    report = h.say("melody", "/report")[-1]
    assert "• Lena: 2 messages (1 scheduling, 1 kept for a session)" in report


def test_a_press_after_the_grace_decision_is_told_it_was_sorted(
    h: Harness, clock: ManualClock
) -> None:
    h.say("alex", "I had a breakthrough today")
    after_grace(h, clock)
    said = h.press("alex", "Needs a reply")
    assert said[-1].startswith("Already sorted")
    assert [m.decision for m in messages(h)] == ["digest"]


def test_a_press_inside_the_grace_period_wins(h: Harness, clock: ManualClock) -> None:
    h.say("alex", "can we move Thursday?")
    h.press("alex", "Needs a reply")
    after_grace(h, clock)
    [message] = messages(h)
    assert (message.decision, message.kind) == ("forward", "question")
