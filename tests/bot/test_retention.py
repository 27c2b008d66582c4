"""Retention and the coach's timer settings: old texts go, counts stay; briefs and notices off."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from bot.clock import ManualClock
from bot.delivery import outbox
from bot.service.reports import build_report, figures_line
from bot.service.retention import purge
from bot.service.schedule import Scheduler, ensure_timers
from bot.store.db import transaction
from bot.store.models import Client, Closure, Coach, Document, Message, Outbox
from bot.store.unit import UnitOfWork
from tests.bot.factories import add_client, add_coach, add_message, add_promise, texts, timers

PHOTO = {"type": "photo", "file_id": "f1", "name": "", "chat_id": "200", "message_id": "9"}


def at(year: int, month: int, day: int, hour: int = 10) -> datetime:
    """A UTC moment."""
    return datetime(year, month, day, hour, tzinfo=UTC)


@pytest.fixture
def melody(engine: Engine) -> Coach:
    """Melody with Alex, who wrote in November 2025 and in November 2026."""
    with transaction(engine) as session:
        coach = add_coach(session)
        alex = add_client(session, coach)
        old = add_message(
            session, alex, received_at=at(2025, 11, 3), text="old secret", attachments=[PHOTO]
        )
        asked = add_message(
            session,
            alex,
            received_at=at(2025, 11, 4),
            text="old question",
            decision="forward",
            kind="question",
        )
        add_promise(session, asked, reply_by=at(2025, 11, 5), replied_at=at(2025, 11, 4, 12))
        add_message(session, alex, received_at=at(2026, 11, 20), text="recent news")
        outbox.enqueue(
            UnitOfWork(session),
            key="old",
            platform="telegram",
            chat_id="100",
            text="old secret",
            now=at(2025, 11, 3),
            message_id=old.id,
        )
    return coach


def month_line(engine: Engine, now: datetime) -> str:
    """Alex's line of Melody's November 2025 report."""
    with Session(engine) as session:
        coach = session.exec(select(Coach)).one()
        [alex] = build_report(UnitOfWork(session), coach, month=date(2025, 11, 1), now=now).clients
        return figures_line(alex)


def test_texts_older_than_the_retention_period_are_removed_but_still_counted(
    engine: Engine, melody: Coach
) -> None:
    now = at(2026, 11, 23)
    before = month_line(engine, now)
    sent_row = at(2025, 11, 3)
    with transaction(engine) as session:
        row = session.exec(select(Outbox)).one()
        row.status, row.sent_at = "sent", sent_row

    with transaction(engine) as session:
        done = purge(UnitOfWork(session), now, days=365)

    assert (done.messages, done.outbox) == (2, 1)
    with Session(engine) as session:
        rows = session.exec(select(Message).order_by(col(Message.received_at))).all()
        assert [(m.text, m.attachments, m.purged) for m in rows] == [
            ("", [], True),
            ("", [], True),
            ("recent news", [], False),
        ]
        assert [m.decision for m in rows] == ["digest", "forward", "digest"]
        assert session.exec(select(Outbox)).one().text == ""
    assert month_line(engine, now) == before
    assert before.startswith("Alex: 2 messages (1 update, 1 question)")


def test_a_pending_message_keeps_its_text_whatever_its_age(engine: Engine, melody: Coach) -> None:
    with transaction(engine) as session:
        assert purge(UnitOfWork(session), at(2026, 11, 23), days=365).outbox == 0
    assert texts(engine, "100") == ["old secret"]


def test_the_scheduler_purges_once_a_day_and_only_when_something_is_old(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    scheduler = Scheduler(engine, clock, retention_days=400)
    scheduler.tick()
    assert timers(engine, "retention") == []  # nothing is 400 days old yet

    scheduler = Scheduler(engine, clock, retention_days=365)
    scheduler.tick()  # plans it, due at once
    scheduler.run_due()
    [timer] = timers(engine, "retention")
    assert (timer.key, timer.status, timer.ref_id) == ("retention:2026-11-23", "done", 365)
    with Session(engine) as session:
        rows = session.exec(select(Message).order_by(col(Message.received_at))).all()
        assert [m.purged for m in rows] == [True, True, False]

    clock.advance(timedelta(hours=5))
    scheduler.tick()  # checked today already
    clock.advance(timedelta(days=1))
    scheduler.tick()  # a new day, but nothing left to purge
    assert len(timers(engine, "retention")) == 1


def test_files_are_kept_a_month_unless_a_pending_message_still_needs_them(
    engine: Engine, melody: Coach
) -> None:
    now = at(2026, 11, 23)
    with transaction(engine) as session:
        for key, status in (("report-a", "sent"), ("report-b", "pending")):
            row = outbox.enqueue(
                UnitOfWork(session),
                key=key,
                platform="telegram",
                chat_id="100",
                text="report",
                now=now - timedelta(days=40),
                documents=[Document(filename=f"{key}.png", content=b"png", created_at=now)],
            )
            row.status = status
        outbox.enqueue(
            UnitOfWork(session),
            key="fresh",
            platform="telegram",
            chat_id="100",
            text="report",
            now=now,
            documents=[Document(filename="fresh.png", content=b"png", created_at=now)],
        )
    with transaction(engine) as session:
        assert purge(UnitOfWork(session), now, days=365).documents == 1
    with Session(engine) as session:
        names = sorted(d.filename for d in session.exec(select(Document)).all())
    assert names == ["fresh.png", "report-b.png"]


def nov(day: int) -> date:
    """A day of November 2026."""
    return date(2026, 11, day)


def set_policy(engine: Engine, **values: object) -> None:
    """Write policy keys straight into Melody's stored policy."""
    with transaction(engine) as session:
        coach = session.exec(select(Coach)).one()
        coach.policy = {**coach.policy, **values}


BRIEF_AT = datetime(2026, 11, 25, 16, 59, tzinfo=UTC)  # the last open minute before 22:00


def test_briefs_are_planned_by_default_and_not_at_all_when_turned_off(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        alex = session.exec(select(Client)).one()
        alex.next_session = at(2026, 11, 26)
    scheduler = Scheduler(engine, clock)
    scheduler.ensure()
    # inside her hours: the last open minute before 22:00
    assert [t.due_at for t in timers(engine, "brief")] == [BRIEF_AT]

    set_policy(engine, brief_hours=None)  # what /brief off stores
    with transaction(engine) as session:
        sam = add_client(session, melody, name="Sam", chat_id="201")
        sam.next_session = at(2026, 11, 27)
        ensure_timers(UnitOfWork(session), clock.now())
    assert [t.due_at for t in timers(engine, "brief")] == [BRIEF_AT]  # none for Sam

    clock.set(at(2026, 11, 25, 22))
    scheduler.run_due()  # Alex's, planned before briefs were turned off: not sent
    assert [row for row in texts(engine, "100") if row.startswith("Before your session")] == []


def test_closure_notices_are_not_sent_when_turned_off(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        session.add(
            Closure(coach_id=melody.id or 0, start=date(2026, 11, 25), end=date(2026, 11, 27))
        )
    scheduler = Scheduler(engine, clock)
    scheduler.ensure()
    assert len(timers(engine, "notice")) == 1
    set_policy(engine, notice_days=None)
    scheduler.run_due()
    assert texts(engine, "200") == []

    with transaction(engine) as session:
        session.add(
            Closure(coach_id=melody.id or 0, start=date(2026, 11, 24), end=date(2026, 11, 24))
        )
        ensure_timers(UnitOfWork(session), clock.now())
    assert len(timers(engine, "notice")) == 1
