"""A thousand messages in a minute: every one kept and decided, a handful of answers and forwards.

One client typing a burst must not mean a thousand acknowledgements, a thousand forwards and a
thousand reminder timers; a crisis inside the burst still goes through alone and at once, and a
stranger's flood is answered once a window.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.service.dispatch import STRANGER_WINDOW
from bot.service.schedule import Scheduler
from bot.service.undecided import GRACE
from bot.store.models import Message, Promise, Timer
from rules.lines import STRANGER_LINE
from tests.harness import Harness

FLOOD = 1000
STEP = timedelta(seconds=60) / FLOOD  # the whole flood inside one minute
CRISIS = "I want to end my life"


@pytest.fixture
def h(chat_engine: Engine, clock: ManualClock) -> Harness:
    """Melody (London, Mon-Fri 09:00-17:00, Monday 10:00 now) and her open-door client Alex."""
    harness = Harness(chat_engine, clock)
    harness.add_coach(policy={"timezone": "Europe/London", "hours": "mon-fri 09:00-17:00"})
    harness.add_client("Alex", user_id="201")
    return harness


def flood(h: Harness, text: str, *, crisis_at: int | None = None) -> None:
    for i in range(FLOOD):
        h.say("alex", CRISIS if i == crisis_at else f"{text} {i}")
        h.clock.advance(STEP)


def messages(h: Harness) -> list[Message]:
    with Session(h.engine) as session:
        return list(session.exec(select(Message).order_by(col(Message.id))).all())


def timers(h: Harness, kind: str) -> list[Timer]:
    with Session(h.engine) as session:
        return list(session.exec(select(Timer).where(Timer.kind == kind)).all())


def run_timers(h: Harness, after: timedelta) -> None:
    h.clock.advance(after)
    Scheduler(h.engine, h.clock).run_due(limit=10_000)


def test_a_thousand_questions_in_a_minute_are_all_kept_and_reach_the_coach_in_a_few_messages(
    h: Harness,
) -> None:
    flood(h, "/ask question")

    stored = messages(h)
    assert len(stored) == FLOOD
    assert {m.decision for m in stored} == {"forward"}  # every one decided
    assert len(h.inbox("alex")) <= 2  # the first answer says it; the minute's others are folded
    assert len(h.rows("melody")) <= 2  # the first forward, the rest waiting for their bundle
    assert len(timers(h, "reminder")) == 1  # one reminder for the client's promise window

    run_timers(h, timedelta(minutes=2))  # the bundle timer at the minute's end

    assert all(m.delivered_at is not None for m in messages(h))
    coach_rows = h.rows("melody")
    assert len(coach_rows) <= 3
    bundle = coach_rows[-1]
    assert bundle.idempotency_key.startswith("bundle:")
    assert bundle.text.startswith("Alex · ")
    assert "more messages" in bundle.text.splitlines()[0]
    assert len(bundle.text) < 4000  # a flood is counted, not listed in full


def test_the_coachs_reply_to_a_bundle_answers_everything_in_it(h: Harness) -> None:
    h.say("alex", "/ask first")
    h.mark_sent("melody", "fwd-1")
    for i in range(5):
        h.clock.advance(timedelta(seconds=5))
        h.say("alex", f"/ask more {i}")
    run_timers(h, timedelta(minutes=1))
    h.mark_sent("melody", "bundle-1")

    said = h.say("melody", "all good", reply_to="bundle-1")

    assert said[-1] == "Sent to Alex. (5 waiting messages answered.)"
    with Session(h.engine) as session:
        open_ = session.exec(select(Promise).where(col(Promise.replied_at).is_(None))).all()
    assert [p.message_id for p in open_] == [messages(h)[0].id]  # only the first, solo forward


def test_one_reminder_names_how_many_wait_and_quotes_the_oldest(h: Harness) -> None:
    for text in ("Can we talk about my CV?\nIt is long.", "Also the cover letter", "And Friday?"):
        h.say("alex", f"/ask {text}")
        h.clock.advance(timedelta(minutes=5))
    [timer] = timers(h, "reminder")

    h.clock.set(timer.due_at)  # an hour of open time before the first reply-by
    Scheduler(h.engine, h.clock).run_due()

    reminders = [r.text for r in h.rows("melody") if r.idempotency_key.startswith("reminder:")]
    assert len(reminders) == 1
    assert "3 messages, the oldest: “Can we talk about my CV?”" in reminders[0]
    with Session(h.engine) as session:
        assert all(p.reminded_at is not None for p in session.exec(select(Promise)).all())


def test_a_burst_of_plain_messages_gets_one_prompt_whose_buttons_label_them_all(
    h: Harness,
) -> None:
    flood(h, "thinking out loud")

    prompts = [r for r in h.rows("alex") if r.payload.get("choices")]
    assert len(prompts) == 1
    assert {m.decision for m in messages(h)} == {"ask"}
    assert len(timers(h, "undecided")) == 1

    said = h.press("alex", "Needs a reply")

    assert {m.decision for m in messages(h)} == {"forward"}
    assert len(said) <= 3
    assert f"That goes for the {FLOOD - 1} messages you sent after it too." in said
    assert len(timers(h, "reminder")) == 1


def test_one_message_after_the_prompt_reads_as_one(h: Harness) -> None:
    h.say("alex", "first thought")
    h.say("alex", "second thought")
    said = h.press("alex", "Just an update")
    assert said[-1] == "That goes for the message you sent after it too."
    assert [m.decision for m in messages(h)] == ["digest", "digest"]


def test_a_burst_nobody_labels_is_decided_together_when_the_grace_ends(h: Harness) -> None:
    flood(h, "thinking out loud")
    h.inbox("alex")

    run_timers(h, GRACE + timedelta(minutes=1))

    assert "ask" not in {m.decision for m in messages(h)}
    assert 1 <= len(h.inbox("alex")) <= 2


def test_a_crisis_inside_a_flood_is_answered_and_forwarded_alone_and_at_once(
    h: Harness,
) -> None:
    for i in range(FLOOD):
        if i == FLOOD // 2:
            said = h.say("alex", CRISIS)
            assert len(said) == 1 and "straight away" in said[0]  # answered at once
            urgent = h.rows("melody")[-1]
            assert urgent.text.startswith("🚨 URGENT — Alex")  # forwarded at once, alone
            assert urgent.idempotency_key.endswith(":fwd")
        else:
            h.say("alex", f"/ask question {i}")
        h.clock.advance(STEP)

    crisis = [m for m in messages(h) if m.decision == "urgent"]
    assert len(crisis) == 1 and crisis[0].delivered_at is not None
    assert len(h.rows("melody")) <= 3


def test_a_stranger_flooding_the_bot_is_answered_once_a_window(h: Harness) -> None:
    for i in range(FLOOD):
        assert h.say("stranger", f"hello {i}") in ([STRANGER_LINE], [])
        h.clock.advance(STEP)

    rows = h.rows("stranger")
    assert [r.text for r in rows] == [STRANGER_LINE]
    assert rows[0].idempotency_key.startswith("stranger:telegram:")
    assert messages(h) == []  # nothing of theirs is stored

    h.clock.advance(STRANGER_WINDOW)
    assert h.say("stranger", "still there?") == [STRANGER_LINE]
