"""The coach's own boundary: no digest on her days off, briefs in her hours, no stale reminders."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.service.schedule import Scheduler, brief_due, plan_reminder
from bot.store.db import transaction
from bot.store.models import Client, Closure, Coach, Message
from bot.store.unit import UnitOfWork
from rules.calendar import BusinessCalendar
from tests.bot.factories import add_client, add_coach, add_message, add_promise, outbox_rows

WEEKDAYS = BusinessCalendar("Europe/London", "mon-fri 09:00-17:00")
COACH_CHAT = "100"
HOURS = 60 * 60


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC moment (London is on GMT in these weeks)."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def melody(engine: Engine) -> Coach:
    """Melody (London, Mon-Fri 09:00-17:00, digest 18:00) with her client Alex."""
    with transaction(engine) as session:
        coach = add_coach(session)
        add_client(session, coach)
    return coach


def alex(session: Session) -> Client:
    return session.exec(select(Client).where(Client.name == "Alex")).one()


def update_from_alex(engine: Engine, when: datetime, text: str) -> None:
    with transaction(engine) as session:
        add_message(session, alex(session), received_at=when, text=text)


def digests_on(engine: Engine) -> list[tuple[date, str]]:
    rows = [r for r in outbox_rows(engine, chat_id=COACH_CHAT) if r.text.startswith("Your daily")]
    return [(r.created_at.date(), r.text) for r in rows]


def run_days(engine: Engine, clock: ManualClock, days: list[int]) -> None:
    """Plan and run the digest at 18:00 on each day of December 2026 in `days`."""
    scheduler = Scheduler(engine, clock)
    for day in days:
        clock.set(at(2026, 12, day, 17))
        scheduler.ensure()
        clock.set(at(2026, 12, day, 18))
        scheduler.run_due()


def test_no_digest_on_a_weekend_and_monday_gathers_what_waited(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    update_from_alex(engine, at(2026, 12, 5, 10), "Saturday run")  # Sat 5 Dec
    run_days(engine, clock, [5, 6, 7])
    [(day, text)] = digests_on(engine)
    assert day == date(2026, 12, 7)  # Monday
    assert "Saturday run" in text


def test_no_digest_on_a_closure_day(engine: Engine, clock: ManualClock, melody: Coach) -> None:
    with transaction(engine) as session:
        session.add(
            Closure(coach_id=melody.id or 0, start=date(2026, 12, 8), end=date(2026, 12, 8))
        )
    update_from_alex(engine, at(2026, 12, 8, 10), "news on a closed day")
    run_days(engine, clock, [8, 9])
    assert [day for day, _ in digests_on(engine)] == [date(2026, 12, 9)]


def test_no_digest_on_a_public_holiday(engine: Engine, clock: ManualClock) -> None:
    with transaction(engine) as session:
        add_client(session, add_coach(session, holidays="GB"))
    update_from_alex(engine, at(2026, 12, 25, 10), "merry christmas")  # a Friday
    run_days(engine, clock, [25, 28])  # 28 Dec is the Boxing Day substitute in 2026
    run_days(engine, clock, [29])
    assert [day for day, _ in digests_on(engine)] == [date(2026, 12, 29)]


def test_a_coach_who_opts_in_gets_a_digest_every_day(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        coach = session.exec(select(Coach)).one()
        coach.policy = {**coach.policy, "digest_daily": True}
        session.add(coach)
    update_from_alex(engine, at(2026, 12, 5, 10), "Saturday run")
    run_days(engine, clock, [5])
    assert [day for day, _ in digests_on(engine)] == [date(2026, 12, 5)]


def test_a_brief_due_at_night_moves_back_to_the_last_open_minute() -> None:
    # session Thu 09:00, 12 hours before is Wed 21:00
    due = brief_due(
        WEEKDAYS,
        session_at=at(2026, 12, 3, 9),
        ahead=at(2026, 12, 3, 9) - at(2026, 12, 2, 21),
        now=at(2026, 11, 30, 9),
    )
    assert due == at(2026, 12, 2, 16, 59)


def test_a_brief_in_open_hours_keeps_its_time() -> None:
    session_at = at(2026, 12, 3, 15)
    due = brief_due(
        WEEKDAYS,
        session_at=session_at,
        ahead=session_at - at(2026, 12, 3, 11),
        now=at(2026, 11, 30, 9),
    )
    assert due == at(2026, 12, 3, 11)


def test_a_late_brief_with_no_open_time_before_its_due_comes_before_the_session() -> None:
    # booked Wed 18:00 for Thu 15:00 with 24 h ahead: due Wed 15:00 is past; Thu morning it is
    session_at = at(2026, 12, 3, 15)
    due = brief_due(
        WEEKDAYS,
        session_at=session_at,
        ahead=session_at - at(2026, 12, 2, 15),
        now=at(2026, 12, 2, 18),
    )
    assert due == at(2026, 12, 3, 14, 59)


def test_a_brief_for_a_session_at_opening_booked_on_the_weekend_comes_at_the_opening() -> None:
    session_at = at(2026, 12, 7, 9)  # Mon 09:00; 12 h before is Sun 21:00
    due = brief_due(
        WEEKDAYS,
        session_at=session_at,
        ahead=session_at - at(2026, 12, 6, 21),
        now=at(2026, 12, 5, 20),
    )
    assert due == at(2026, 12, 7, 9)


def test_a_brief_for_a_session_on_a_day_without_hours_comes_an_hour_before_not_at_night() -> None:
    saturdays = BusinessCalendar("Europe/London", "sat 10:00-12:00")
    session_at = at(2026, 12, 3, 10)  # Thu 10:00; her only hours are on Saturdays
    due = brief_due(
        saturdays, session_at=session_at, ahead=timedelta(hours=12), now=at(2026, 12, 2, 9)
    )
    assert due == at(2026, 12, 3, 9)  # not Wed 22:00, the night before


def test_a_reminder_whose_promise_is_past_is_skipped_after_downtime(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        message = add_message(
            session,
            alex(session),
            received_at=at(2026, 12, 1, 10),
            decision="forward",
            kind="question",
            text="Can we talk?",
        )
        promise = add_promise(session, message, reply_by=at(2026, 12, 2, 10))
        plan_reminder(UnitOfWork(session), promise=promise, calendar=WEEKDAYS)
    clock.set(at(2026, 12, 2, 12))  # the bot was down through the reminder and the promise
    Scheduler(engine, clock).run_due()
    assert [r.text for r in outbox_rows(engine) if r.text.startswith("Reminder")] == []


def test_a_reminder_still_in_time_is_sent(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        message = add_message(
            session,
            alex(session),
            received_at=at(2026, 12, 1, 10),
            decision="forward",
            kind="question",
            text="Can we talk?",
        )
        promise = add_promise(session, message, reply_by=at(2026, 12, 2, 10))
        plan_reminder(UnitOfWork(session), promise=promise, calendar=WEEKDAYS)
    clock.set(at(2026, 12, 2, 9, 30))
    Scheduler(engine, clock).run_due()
    reminders = [r.text for r in outbox_rows(engine) if r.text.startswith("Reminder")]
    assert len(reminders) == 1 and "Alex is waiting" in reminders[0]


def test_a_former_clients_session_gets_no_brief(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        client = alex(session)
        client.next_session = at(2026, 12, 3, 15)
        client.contract_end = date(2026, 11, 30)
        session.add(client)
        add_message(session, client, received_at=at(2026, 12, 1, 10), text="still running")
    clock.set(at(2026, 12, 1, 12))
    scheduler = Scheduler(engine, clock)
    scheduler.ensure()
    clock.set(at(2026, 12, 3, 14))
    scheduler.tick()
    assert [r.text for r in outbox_rows(engine) if r.text.startswith("Before your")] == []


def test_the_brief_counts_urgent_messages_apart(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        client = alex(session)
        client.next_session = at(2026, 12, 3, 15)
        session.add(client)
        add_message(session, client, received_at=at(2026, 12, 1, 9), text="a")
        add_message(session, client, received_at=at(2026, 12, 1, 10), text="b")
        add_message(
            session, client, received_at=at(2026, 12, 1, 11), decision="urgent", text="help"
        )
        add_message(  # plain text the client chose to save for the session
            session, client, received_at=at(2026, 12, 1, 12), decision="park", kind=None, text="c"
        )
    clock.set(at(2026, 12, 1, 12))
    scheduler = Scheduler(engine, clock)
    scheduler.ensure()
    clock.set(at(2026, 12, 3, 14))
    scheduler.tick()
    [brief] = [r.text for r in outbox_rows(engine) if r.text.startswith("Before your")]
    assert "Since Alex joined: 4 messages — 1 urgent, 2 updates, 1 kept for the session." in brief


def test_an_unanswered_urgent_message_tops_the_digest_marked_urgent(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        client = alex(session)
        question = add_message(
            session,
            client,
            received_at=at(2026, 12, 1, 9),
            decision="forward",
            kind="question",
            text="When is our next session?",
        )
        add_promise(session, question, reply_by=at(2026, 12, 2, 9))
        add_message(
            session,
            client,
            received_at=at(2026, 12, 1, 11),
            decision="urgent",
            kind="question",
            text="I can't cope",
        )
    run_days(engine, clock, [1])
    [(_, text)] = digests_on(engine)
    waiting = text[text.index("Waiting for your reply (2)") :]
    assert waiting.index("🚨 URGENT · Alex") < waiting.index("When is our next session?")
    assert "I can't cope" in waiting and "not answered yet" in waiting


def test_a_release_due_on_a_day_closed_since_waits_for_the_next_opening(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    from bot.service.schedule import plan_release

    with transaction(engine) as session:
        client = alex(session)
        add_message(
            session,
            client,
            received_at=at(2026, 12, 5, 10),
            decision="queue",
            kind="question",
            text="weekend question",
            release_at=at(2026, 12, 7, 9),
        )
        plan_release(
            UnitOfWork(session),
            coach_id=client.coach_id,
            client_id=client.id or 0,
            release_at=at(2026, 12, 7, 9),
        )
        session.add(
            Closure(coach_id=melody.id or 0, start=date(2026, 12, 7), end=date(2026, 12, 7))
        )
    scheduler = Scheduler(engine, clock)
    clock.set(at(2026, 12, 7, 9))
    scheduler.run_due()
    assert outbox_rows(engine, chat_id=COACH_CHAT) == []
    clock.set(at(2026, 12, 8, 9))
    scheduler.run_due()
    [row] = outbox_rows(engine, chat_id=COACH_CHAT)
    assert "weekend question" in row.text
    with Session(engine) as session:
        assert session.exec(select(Message)).one().delivered_at == at(2026, 12, 8, 9)


def test_a_reminder_that_falls_on_a_day_she_no_longer_works_waits_for_her_opening(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        message = add_message(
            session,
            alex(session),
            received_at=at(2026, 12, 1, 10),
            decision="forward",
            kind="question",
            text="Can we talk?",
        )
        promise = add_promise(session, message, reply_by=at(2026, 12, 3, 15))
        plan_reminder(UnitOfWork(session), promise=promise, calendar=WEEKDAYS)  # due Thu 14:00
        coach = session.get(Coach, melody.id)
        assert coach is not None
        coach.policy = {**coach.policy, "hours": "mon-tue,fri 09:00-17:00"}  # Thursday off now
        session.add(coach)
    clock.set(at(2026, 12, 3, 14))
    Scheduler(engine, clock).run_due()
    assert [r.text for r in outbox_rows(engine) if r.text.startswith("Reminder")] == []

    clock.set(at(2026, 12, 4, 9))
    Scheduler(engine, clock).run_due()
    # by Friday's opening the promise has passed: the digest shows it as overdue instead
    assert [r.text for r in outbox_rows(engine) if r.text.startswith("Reminder")] == []


def test_a_reminder_outside_her_new_hours_comes_at_her_next_opening(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        message = add_message(
            session,
            alex(session),
            received_at=at(2026, 12, 1, 10),
            decision="forward",
            kind="question",
            text="Can we talk?",
        )
        promise = add_promise(session, message, reply_by=at(2026, 12, 3, 16))
        plan_reminder(UnitOfWork(session), promise=promise, calendar=WEEKDAYS)  # due Thu 15:00
        coach = session.get(Coach, melody.id)
        assert coach is not None
        coach.policy = {**coach.policy, "hours": "mon-fri 09:00-12:00,15:30-17:00"}
        session.add(coach)
    clock.set(at(2026, 12, 3, 15))
    Scheduler(engine, clock).run_due()
    assert [r.text for r in outbox_rows(engine) if r.text.startswith("Reminder")] == []

    clock.set(at(2026, 12, 3, 15, 30))
    Scheduler(engine, clock).run_due()
    reminders = [r.text for r in outbox_rows(engine) if r.text.startswith("Reminder")]
    assert len(reminders) == 1 and "Alex is waiting" in reminders[0]


def test_a_brief_is_not_sent_after_its_session_has_begun(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        client = alex(session)
        client.next_session = at(2026, 12, 3, 15)
        session.add(client)
        add_message(session, client, received_at=at(2026, 12, 1, 10), text="for the session")
    clock.set(at(2026, 12, 1, 12))
    Scheduler(engine, clock).ensure()
    clock.set(at(2026, 12, 5, 10))  # back after downtime, two days after the session
    Scheduler(engine, clock).run_due()
    assert [r.text for r in outbox_rows(engine) if r.text.startswith("Before your session")] == []


def test_a_brief_already_due_is_sent_not_moved_when_the_worker_comes_back(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    """Planned for Wed's last open minute; the worker is down until Thu 14:30, and plans first."""
    with transaction(engine) as session:
        client = alex(session)
        client.next_session = at(2026, 12, 3, 15)
        session.add(client)
        add_message(session, client, received_at=at(2026, 12, 1, 10), text="for the session")
    clock.set(at(2026, 12, 1, 12))
    Scheduler(engine, clock).ensure()
    clock.set(at(2026, 12, 3, 14, 30))  # past the planned time, before the session
    scheduler = Scheduler(engine, clock)
    scheduler.ensure()  # the worker's loop plans before it runs what is due
    scheduler.run_due()
    briefs = [r.text for r in outbox_rows(engine) if r.text.startswith("Before your session")]
    assert briefs == [
        "Before your session with Alex · Thu 3 Dec, 15:00 GMT\n"
        "Since Alex joined: 1 message — 1 update."
    ]
