"""A coach's reply answers only what she has seen: the message replied to, or what reached her."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.service.client_flow import FORWARD_WINDOW
from bot.store.models import Message, Promise
from tests.harness import Harness

MON_10 = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
MON_21 = datetime(2026, 11, 23, 21, 0, tzinfo=UTC)


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    """Melody (London, Mon-Fri 09:00-17:00) and her open-door client Alex."""
    harness = Harness(chat_engine, clock)
    harness.add_coach(policy={"timezone": "Europe/London", "hours": "mon-fri 09:00-17:00"})
    harness.add_client("Alex", user_id="201")
    return harness


def answered(h: Harness) -> dict[str, bool]:
    """Each of Alex's questions, by text, and whether its promise counts as answered."""
    with Session(h.engine) as session:
        rows = session.exec(
            select(Message.text, Promise.replied_at)
            .join(Promise, col(Promise.message_id) == Message.id)
            .order_by(col(Message.id))
        ).all()
    return {text: replied is not None for text, replied in rows}


def test_replying_to_one_forward_answers_that_message_only(h: Harness) -> None:
    h.say("alex", "/ask first question", at=MON_10)
    h.mark_sent("melody", "fwd-1")
    h.clock.advance(FORWARD_WINDOW)  # within a minute it would join a bundle (test_flood.py)
    h.say("alex", "/ask second question")
    h.mark_sent("melody", "fwd-2")

    h.say("melody", "about the first: yes", reply_to="fwd-1")

    assert answered(h) == {"first question": True, "second question": False}


def test_reply_by_name_leaves_a_question_still_queued_waiting(h: Harness) -> None:
    h.say("alex", "/ask seen question", at=MON_10)
    h.say("alex", "/ask question after hours", at=MON_21)  # queued for Tuesday 09:00

    said = h.say("melody", "/reply Alex thanks for your note")

    assert said[-1] == "Sent to Alex. (1 waiting message answered.)"
    assert answered(h) == {"seen question": True, "question after hours": False}
