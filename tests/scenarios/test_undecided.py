"""A message whose kind the client never picks still reaches the coach, and the client is told."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.messages import Attachment
from bot.schedule import Scheduler
from bot.store.models import Message
from bot.undecided import GRACE
from tests.harness import Harness


@pytest.fixture
def h(engine: Engine, clock: ManualClock) -> Harness:
    """Melody (London, Mon-Fri 09:00-17:00) with open-door Alex and `specific` Priya."""
    harness = Harness(engine, clock)
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


def test_a_specific_clients_unlabelled_text_takes_an_allowed_kind_with_a_promise(
    h: Harness, clock: ManualClock
) -> None:
    h.say("priya", "my goals for this month")
    after_grace(h, clock)
    [message] = messages(h)
    assert message.kind in {"goals", "question"}
    assert message.decision in {"forward", "queue"}


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
