"""Durable timers: releases, reminders, digests, briefs and notices, each done exactly once."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from bot.clock import ManualClock
from bot.service import notices
from bot.service.schedule import (
    REPLAN_EVERY,
    Scheduler,
    ensure_timers,
    next_local,
    plan_release,
    plan_reminder,
    reminder_due,
)
from bot.store.db import is_postgres, make_engine, transaction
from bot.store.models import Client, Closure, Coach, Message, Promise, Timer
from bot.store.unit import UnitOfWork
from rules.calendar import BusinessCalendar
from tests.bot.factories import (
    add_client,
    add_coach,
    add_message,
    add_promise,
    outbox_rows,
    texts,
    timers,
)

LONDON = ZoneInfo("Europe/London")
WEEKDAYS = BusinessCalendar("Europe/London", "mon-fri 09:00-17:00")
COACH_CHAT, ALEX_CHAT = "100", "200"


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC moment."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def sent(engine: Engine, kind: str) -> list[str]:
    """The texts of outbox rows a kind of timer wrote (their keys start with the kind)."""
    return [row.text for row in outbox_rows(engine) if row.idempotency_key.startswith(kind + ":")]


def run_at(scheduler: Scheduler, clock: ManualClock, when: datetime) -> int:
    """Move the clock to `when` and run what is due."""
    clock.set(when)
    return scheduler.run_due()


def queued(
    engine: Engine, *, received: list[tuple[datetime, str, list[dict[str, str]]]], release: datetime
) -> None:
    """Alex's messages queued until `release` with reply promises, planned as dispatch does."""
    with transaction(engine) as session:
        alex = session.exec(select(Client).where(Client.name == "Alex")).one()
        for when, text, attachments in received:
            message = add_message(
                session,
                alex,
                received_at=when,
                decision="queue",
                kind="question",
                text=text,
                release_at=release,
                attachments=attachments,
            )
            add_promise(session, message, reply_by=at(2026, 12, 2, 17))
            plan_release(
                UnitOfWork(session),
                coach_id=alex.coach_id,
                client_id=alex.id or 0,
                release_at=release,
            )


@pytest.fixture
def melody(engine: Engine) -> Coach:
    """Melody (London, Mon-Fri 09:00-17:00, digest 18:00) with her client Alex."""
    with transaction(engine) as session:
        coach = add_coach(session)
        add_client(session, coach)
    return coach


def test_queued_messages_are_released_at_the_opening_as_one_message_in_arrival_order(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    photo = {"type": "photo", "file_id": "f1", "name": "", "chat_id": ALEX_CHAT, "message_id": "55"}
    queued(
        engine,
        received=[
            (at(2026, 11, 27, 18), "First: can we move Thursday?", []),
            (at(2026, 11, 28, 10), "Second, with a photo", [photo, dict(photo, file_id="f2")]),
        ],
        release=at(2026, 11, 30, 9),
    )
    assert len(timers(engine, "release")) == 1
    scheduler = Scheduler(engine, clock)

    assert run_at(scheduler, clock, at(2026, 11, 30, 8, 59)) == 0
    assert run_at(scheduler, clock, at(2026, 11, 30, 9)) == 1

    [row] = outbox_rows(engine, chat_id=COACH_CHAT)
    assert row.text.startswith(
        "Alex · 2 messages while you were closed · reply by Wed 2 Dec, 17:00 GMT"
    )
    first, second = "[Fri 27 Nov, 18:00 GMT] question", "[Sat 28 Nov, 10:00 GMT] question (+ photo"
    assert row.text.index(first) < row.text.index("First: can") < row.text.index(second)
    assert row.text.index("Second, with a photo") < row.text.index("Reply to this message")
    assert row.payload["copy_from"] == [[ALEX_CHAT, "55"]]
    with Session(engine) as session:
        alex = session.exec(select(Client).where(Client.name == "Alex")).one()
    assert (row.client_id, row.coach_id) == (alex.id, melody.id)
    with Session(engine) as session:
        delivered = [m.delivered_at for m in session.exec(select(Message)).all()]
    assert delivered == [at(2026, 11, 30, 9)] * 2
    assert run_at(scheduler, clock, at(2026, 11, 30, 10)) == 0
    assert len(outbox_rows(engine)) == 1


def test_a_release_due_during_downtime_happens_once_at_start_up(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    queued(engine, received=[(at(2026, 11, 27, 18), "Are we on?", [])], release=at(2026, 11, 30, 9))
    clock.set(at(2026, 12, 4, 15))  # the bot was down from Friday to the next Friday

    first, second = Scheduler(engine, clock), Scheduler(engine, clock)
    assert first.run_due() == 1
    assert first.run_due() == 0
    assert second.run_due() == 0
    assert len(texts(engine, COACH_CHAT)) == 1


def test_a_message_queued_just_after_its_release_ran_is_released_too(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    scheduler = Scheduler(engine, clock)
    queued(engine, received=[(at(2026, 11, 28, 10), "One", [])], release=at(2026, 11, 30, 9))
    assert run_at(scheduler, clock, at(2026, 11, 30, 9)) == 1
    # committed late by a slow transaction: it was decided before the opening
    queued(engine, received=[(at(2026, 11, 30, 8, 59), "Two", [])], release=at(2026, 11, 30, 9))

    assert scheduler.run_due() == 1
    one, two = texts(engine, COACH_CHAT)
    assert "One" in one and "Two" not in one
    assert "Two" in two and "One" not in two


def remind(engine: Engine, *, arrival: datetime, reply_by: datetime, **promise: object) -> Timer:
    """Alex's message with a promise, its reminder planned as dispatch does; the timer."""
    with transaction(engine) as session:
        alex = session.exec(select(Client).where(Client.name == "Alex")).one()
        message = add_message(
            session, alex, received_at=arrival, decision="forward", kind="question"
        )
        made = add_promise(session, message, reply_by=reply_by, **promise)
        plan_reminder(UnitOfWork(session), promise=made, calendar=WEEKDAYS)
    [timer] = timers(engine, "reminder")
    return timer


def test_reminder_comes_once_an_hour_of_open_time_before_a_friday_evening_promise_on_monday(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    timer = remind(engine, arrival=at(2026, 11, 27, 18), reply_by=at(2026, 11, 30, 17))
    assert timer.due_at == at(2026, 11, 30, 16)
    scheduler = Scheduler(engine, clock)

    for day in (28, 29):
        assert run_at(scheduler, clock, at(2026, 11, day, 16)) == 0
    assert run_at(scheduler, clock, at(2026, 11, 30, 15, 59)) == 0
    assert run_at(scheduler, clock, at(2026, 11, 30, 16)) == 1
    assert run_at(scheduler, clock, at(2026, 11, 30, 18)) == 0

    [reminder] = texts(engine, COACH_CHAT)
    assert reminder.startswith("Reminder: Alex is waiting for a reply by Mon 30 Nov, 17:00 GMT")
    with Session(engine) as session:
        assert session.exec(select(Promise)).one().reminded_at == at(2026, 11, 30, 16)


def test_reminder_walks_back_over_the_weekend_when_monday_has_too_little_open_time() -> None:
    due = reminder_due(WEEKDAYS, arrival=at(2026, 11, 27, 12), reply_by=at(2026, 11, 30, 9, 30))
    assert due == at(2026, 11, 27, 16, 30)


def test_a_promise_with_under_two_open_hours_is_reminded_halfway() -> None:
    due = reminder_due(WEEKDAYS, arrival=at(2026, 11, 23, 10), reply_by=at(2026, 11, 23, 11))
    assert due == at(2026, 11, 23, 10, 30)


def test_no_reminder_once_the_coach_has_replied(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    remind(
        engine,
        arrival=at(2026, 11, 23, 10),
        reply_by=at(2026, 11, 24, 10),
        replied_at=at(2026, 11, 23, 12),
        on_time=True,
    )
    assert run_at(Scheduler(engine, clock), clock, at(2026, 11, 24, 9)) == 1
    assert outbox_rows(engine) == []


def walk(
    engine: Engine,
    clock: ManualClock,
    start: datetime,
    days: int,
    *,
    each_noon: Callable[[datetime], None] | None = None,
) -> None:
    """Run the scheduler every hour from `start` for `days`, as the loop would."""
    scheduler = Scheduler(engine, clock)
    clock.set(start)
    scheduler.ensure()
    for _ in range(days * 24):
        clock.advance(timedelta(hours=1))
        if each_noon and clock.now().astimezone(LONDON).hour == 12:
            each_noon(clock.now())
        scheduler.tick()


def fyi_from_alex(engine: Engine) -> Callable[[datetime], None]:
    """A function that files an FYI update from Alex at a given time."""

    def file(now: datetime) -> None:
        with transaction(engine) as session:
            alex = session.exec(select(Client).where(Client.name == "Alex")).one()
            add_message(session, alex, received_at=now, text=f"update of {now:%d %b}")

    return file


def every_day(engine: Engine) -> None:
    """Melody opts in to a digest on her days off too (/digest 18:00 daily)."""
    with transaction(engine) as session:
        coach = session.exec(select(Coach)).one()
        coach.policy = {**coach.policy, "digest_daily": True}
        session.add(coach)


@pytest.mark.parametrize(
    "start", [at(2026, 10, 22, 23), at(2027, 3, 25, 23)], ids=["october", "march"]
)
def test_digest_comes_at_1800_london_time_once_a_day_across_the_clock_change(
    engine: Engine, clock: ManualClock, melody: Coach, start: datetime
) -> None:
    every_day(engine)  # the clocks change on a Sunday
    walk(engine, clock, start, 5, each_noon=fyi_from_alex(engine))

    rows = outbox_rows(engine, chat_id=COACH_CHAT)
    local = [row.created_at.astimezone(LONDON) for row in rows]
    assert [(t.hour, t.minute) for t in local] == [(18, 0)] * 5
    assert [t.date() for t in local] == [start.date() + timedelta(days=n) for n in range(1, 6)]
    assert {t.utcoffset() for t in local} == {timedelta(0), timedelta(hours=1)}  # DST changed
    assert all(row.text.count("update of") == 1 for row in rows)


def test_no_digest_on_a_day_with_nothing_in_it(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    walk(engine, clock, at(2026, 11, 23, 0), 2)
    assert outbox_rows(engine) == []
    assert [t.key for t in timers(engine, "digest") if t.status == "done"] == [
        f"digest:{melody.id}:2026-11-23",
        f"digest:{melody.id}:2026-11-24",
    ]


def test_after_a_multi_day_gap_only_the_newest_missed_digest_is_sent(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    scheduler = Scheduler(engine, clock)
    for day in (23, 24, 25):  # timers planned, but nothing ran them
        clock.set(at(2026, 11, day, 17))
        scheduler.ensure()
        fyi_from_alex(engine)(clock.now())
    assert len(timers(engine, "digest")) == 3

    assert run_at(scheduler, clock, at(2026, 11, 27, 11)) == 3
    [row] = outbox_rows(engine)
    assert row.idempotency_key == f"digest:{melody.id}:2026-11-25"
    assert row.text.count("update of") == 3


def test_ensure_timers_twice_plans_one_digest_per_coach_per_day(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        add_coach(session, key="rob", name="Rob", chat_id="101", timezone="America/New_York")
        add_coach(session, key="off", name="Off", chat_id="102", digest_time=None)
    for _ in range(2):
        with transaction(engine) as session:
            ensure_timers(UnitOfWork(session), clock.now())
    assert sorted(t.due_at for t in timers(engine, "digest")) == [
        at(2026, 11, 23, 18),
        at(2026, 11, 23, 23),
    ]


def test_next_local_is_the_wall_clock_time_whatever_the_offset() -> None:
    london = WEEKDAYS.tz
    assert next_local(london, time(18), now=at(2026, 10, 24, 17)) == at(2026, 10, 25, 18)
    assert next_local(london, time(18), now=at(2026, 10, 24, 16, 59)) == at(2026, 10, 24, 17)
    assert next_local(london, time(1, 30), now=at(2027, 3, 27, 12)) == at(2027, 3, 28, 1, 30)


def alex_since_last_session(engine: Engine) -> None:
    """Alex's last session was Thu 19 Nov, the next is Thu 3 Dec; messages before and since."""
    with transaction(engine) as session:
        alex = session.exec(select(Client).where(Client.name == "Alex")).one()
        alex.last_session, alex.next_session = at(2026, 11, 19, 10), at(2026, 12, 3, 10)
        park = {"decision": "park", "kind": "goals"}
        add_message(session, alex, received_at=at(2026, 11, 18, 9), text="before the last", **park)
        add_message(session, alex, received_at=at(2026, 11, 23, 9), text="ran 5k")
        add_message(session, alex, received_at=at(2026, 11, 24, 9), text="slept well")
        add_message(
            session, alex, received_at=at(2026, 11, 25, 9), decision="forward", kind="question"
        )
        goal = "My goal for December: " + "x" * 400
        add_message(session, alex, received_at=at(2026, 11, 26, 20), text=goal, **park)


def test_pre_session_brief_lists_what_was_sent_and_parked_since_the_last_session(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    alex_since_last_session(engine)
    scheduler = Scheduler(engine, clock)
    scheduler.ensure()
    [timer] = timers(engine, "brief")
    # 12 hours before is Wed 22:00, after her hours: the last open minute before it instead
    assert timer.due_at == at(2026, 12, 2, 16, 59)

    run_at(scheduler, clock, at(2026, 12, 2, 16, 58))
    assert sent(engine, "brief") == []
    run_at(scheduler, clock, at(2026, 12, 2, 16, 59))
    [brief] = sent(engine, "brief")
    lines = brief.splitlines()
    assert lines[0] == "Before your session with Alex · Thu 3 Dec, 10:00 GMT"
    assert lines[1] == (
        "Since your last session (Thu 19 Nov, 10:00 GMT): 4 messages — "
        "2 updates, 1 question, 1 goals message."
    )
    assert "Kept for this session (1):" in lines
    assert "• Thu 26 Nov, 20:00 GMT · goals" in lines
    assert "before the last" not in brief
    assert any(line.startswith("  My goal for December: xx") for line in lines)
    assert "xxx… (/show " in brief and "x" * 279 not in brief
    with Session(engine) as session:
        parked = session.exec(select(Message).where(Message.decision == "park")).all()
    assert [m.briefed_at for m in parked] == [None, at(2026, 12, 2, 16, 59)]


def test_a_brief_for_a_session_that_moved_is_not_sent(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        alex = session.exec(select(Client).where(Client.name == "Alex")).one()
        alex.next_session = at(2026, 11, 24, 10)
        add_message(session, alex, received_at=at(2026, 11, 23, 9), text="ran 5k")
    scheduler = Scheduler(engine, clock)
    scheduler.ensure()
    with transaction(engine) as session:
        alex = session.exec(select(Client).where(Client.name == "Alex")).one()
        alex.next_session = at(2026, 11, 26, 10)
    scheduler.ensure()

    run_at(scheduler, clock, at(2026, 11, 24, 9))  # the old one: done, nothing sent
    assert [t.status for t in timers(engine, "brief")] == ["done", "pending"]
    assert sent(engine, "brief") == []
    run_at(scheduler, clock, at(2026, 11, 25, 22))
    [brief] = sent(engine, "brief")
    assert brief.startswith("Before your session with Alex · Thu 26 Nov")


def test_clients_hear_of_a_closure_three_days_ahead_in_their_own_zone(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    with transaction(engine) as session:
        add_client(session, melody, name="Kim", chat_id="201", timezone="America/New_York")
        add_client(session, melody, name="Sam", chat_id="202", contract_end=date(2026, 11, 30))
        add_client(session, melody, name="Jo", chat_id=None)
        session.add(
            Closure(
                coach_id=melody.id or 0,
                start=date(2026, 12, 24),
                end=date(2027, 1, 2),
                note="Christmas break",
            )
        )
    scheduler = Scheduler(engine, clock)
    clock.set(at(2026, 12, 20, 12))  # Sunday: four days ahead
    scheduler.ensure()
    assert timers(engine, "notice") == []

    clock.set(at(2026, 12, 21, 7))  # Monday, before opening
    scheduler.ensure()
    assert [t.due_at for t in timers(engine, "notice")] == [at(2026, 12, 21, 9)]
    run_at(scheduler, clock, at(2026, 12, 21, 8, 59))
    assert sent(engine, "notice") == []
    run_at(scheduler, clock, at(2026, 12, 21, 9))
    scheduler.tick()
    assert [t.status for t in timers(engine, "notice")] == ["done"]

    assert texts(engine, ALEX_CHAT) == [
        "Heads-up: Melody is away from Thu 24 Dec to Sat 2 Jan (Christmas break), "
        "back Mon 4 Jan 2027, 09:00 GMT. Messages sent then are saved and answered after."
    ]
    assert texts(engine, "201") == [
        "Heads-up: Melody is away from Thu 24 Dec to Sat 2 Jan London time (Christmas break), "
        "back Mon 4 Jan 2027, 04:00 EST. Messages sent then are saved and answered after."
    ]
    assert texts(engine, "202") == []
    assert len(outbox_rows(engine)) == 2


def test_a_bad_timer_is_dropped_with_a_reason_and_the_rest_go_on(
    engine: Engine, clock: ManualClock, melody: Coach, caplog: pytest.LogCaptureFixture
) -> None:
    with transaction(engine) as session:
        broken = add_coach(
            session, key="broken", name="Broken", chat_id="109", timezone="Mars/Olympus_Mons"
        )
        for key, kind, ref in [
            ("reminder:999", "reminder", 999),
            ("notice:999", "notice", 999),
            ("mystery:1", "mystery", None),
        ]:
            session.add(Timer(key=key, kind=kind, due_at=at(2026, 11, 23, 8), ref_id=ref))
        session.add(
            Timer(
                key="digest:broken", kind="digest", due_at=at(2026, 11, 23, 8), coach_id=broken.id
            )
        )
        stranded = add_client(session, broken, name="Stranded", chat_id="209")
        add_message(session, stranded, received_at=at(2026, 11, 22, 8), text="news")
    secret: list[tuple[datetime, str, list[dict[str, str]]]] = [
        (at(2026, 11, 21, 10), "secret words", [])
    ]
    queued(engine, received=secret, release=at(2026, 11, 23, 9))
    caplog.set_level(logging.WARNING, logger="bot.service.schedule")

    assert Scheduler(engine, clock).run_due() == 5
    assert len(texts(engine, COACH_CHAT)) == 1
    assert all(t.status == "done" for t in timers(engine))
    dropped = [r.getMessage() for r in caplog.records]
    assert dropped[:3] == [
        "timer reminder:999 dropped: promise gone",
        "timer notice:999 dropped: closure gone",
        "timer mystery:1 dropped: unknown kind 'mystery'",
    ]
    assert len(dropped) == 4 and dropped[3].startswith("timer digest:broken dropped: ")
    assert not any("secret" in line for line in dropped)


def many_due_timers(engine: Engine, melody: Coach, clients: int, coaches: int) -> None:
    """Queued questions with reminders for many clients, and coaches with a digest to send."""
    with transaction(engine) as session:
        for n in range(clients):
            client = add_client(session, melody, name=f"Client {n}", chat_id=f"c{n}")
            message = add_message(
                session,
                client,
                received_at=at(2026, 11, 21, 10),
                text=f"q{n}",
                decision="queue",
                kind="question",
                release_at=at(2026, 11, 23, 9),
            )
            promise = add_promise(session, message, reply_by=at(2026, 11, 23, 17))
            plan_release(
                UnitOfWork(session),
                coach_id=melody.id or 0,
                client_id=client.id or 0,
                release_at=at(2026, 11, 23, 9),
            )
            plan_reminder(UnitOfWork(session), promise=promise, calendar=WEEKDAYS)
        for n in range(coaches):
            coach = add_coach(session, key=f"k{n}", name=f"Coach {n}", chat_id=f"k{n}")
            client = add_client(session, coach, name="C", chat_id=f"kc{n}")
            add_message(session, client, received_at=at(2026, 11, 22, 10), text="news")
        ensure_timers(UnitOfWork(session), at(2026, 11, 22, 10))


def count_handler_runs(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Wrap every timer handler to count its runs per timer key (across threads)."""
    calls: Counter[str] = Counter()
    lock = threading.Lock()
    for kind, handler in list(notices.HANDLERS.items()):

        def counted(
            uow: UnitOfWork,
            timer: Timer,
            *,
            now: datetime,
            handler: Callable[..., None] = handler,
        ) -> None:
            with lock:
                calls[timer.key] += 1
            handler(uow, timer, now=now)

        monkeypatch.setitem(notices.HANDLERS, kind, counted)
    return calls


def run_workers_in_threads(url: str, clock: ManualClock, lease: timedelta) -> list[int]:
    """Two schedulers with their own engines, each in a thread, until nothing is due; counts."""
    engines = [make_engine(url), make_engine(url)]
    workers = [Scheduler(e, clock, lease=lease) for e in engines]
    done = [0, 0]

    def work(index: int) -> None:
        while (count := workers[index].run_due(limit=7)) > 0:
            done[index] += count

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for e in engines:
        e.dispose()
    return done


@pytest.mark.parametrize("lease", [timedelta(minutes=5), timedelta(0)], ids=["lease", "no-lease"])
def test_two_workers_on_one_postgres_database_do_every_due_timer_exactly_once(
    engine: Engine,
    clock: ManualClock,
    melody: Coach,
    lease: timedelta,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if not is_postgres(engine):
        pytest.skip("SQLite runs one writer; several workers need PostgreSQL")
    many_due_timers(engine, melody, clients=40, coaches=10)
    calls = count_handler_runs(monkeypatch)
    clock.set(at(2026, 11, 23, 19))

    done = run_workers_in_threads(engine.url.render_as_string(hide_password=False), clock, lease)

    due = [t for t in timers(engine) if t.due_at <= clock.now()]
    assert len(due) == 40 + 40 + 10 + 1  # releases, reminders, other coaches' digests, Melody's
    assert all(t.status == "done" for t in due)
    assert sum(done) == len(due)
    assert set(calls.values()) == {1} and len(calls) == len(due)
    keys = Counter(row.idempotency_key.split(":")[0] for row in outbox_rows(engine))
    # the reminders ran once each but sent nothing: at 19:00 their promises (17:00) had passed,
    # so the digest lists them as overdue instead of 40 reminders arriving one by one
    assert keys == {"release": 40, "digest": 11}


def test_the_run_loop_plans_runs_due_timers_and_nudges_the_outbox_until_stopped(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    queued(engine, received=[(at(2026, 11, 21, 10), "Hello?", [])], release=at(2026, 11, 23, 9))
    nudges: list[int] = []
    scheduler = Scheduler(engine, clock, notify_outbox=lambda: nudges.append(1))

    async def main() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(scheduler.run(stop, interval=0.01))
        for _ in range(500):
            if outbox_rows(engine) and timers(engine, "digest"):
                break
            await asyncio.sleep(0.01)
        stop.set()
        await asyncio.wait_for(task, timeout=5)

    asyncio.run(main())
    assert len(texts(engine, COACH_CHAT)) == 1
    assert nudges == [1]
    assert [t.due_at for t in timers(engine, "digest")] == [at(2026, 11, 23, 18)]


def planned_marks(engine: Engine) -> dict[str, datetime | None]:
    with Session(engine) as session:
        return {c.key: c.plan_after for c in session.exec(select(Coach)).all()}


def test_an_idle_tick_plans_nobody_and_a_change_plans_only_that_coach(
    engine: Engine, clock: ManualClock
) -> None:
    with transaction(engine) as session:
        for key in ("melody", "nadia", "omar"):
            coach = add_coach(session, key=key, name=key.title(), chat_id=f"c-{key}")
            add_client(session, coach, name=f"Client of {key}", chat_id=f"k-{key}")
    scheduler = Scheduler(engine, clock)
    scheduler.ensure()
    first = planned_marks(engine)
    assert all(mark is not None and mark > clock.now() for mark in first.values())

    clock.advance(timedelta(minutes=30))
    scheduler.ensure()  # nothing changed, nothing due again: nobody is planned
    assert planned_marks(engine) == first

    with transaction(engine) as session:  # Nadia books a session with her client
        client = session.exec(select(Client).where(Client.name == "Client of nadia")).one()
        client.next_session = clock.now() + timedelta(days=2)
        session.add(client)
    assert planned_marks(engine)["nadia"] is None  # marked in the same transaction
    scheduler.ensure()
    again = planned_marks(engine)
    assert again["melody"] == first["melody"] and again["omar"] == first["omar"]
    assert again["nadia"] is not None and again["nadia"] > first["nadia"]  # type: ignore[operator]
    assert [t.key for t in timers(engine, "brief")] == [
        f"brief:{client.id}:{(clock.now() + timedelta(days=2)).astimezone(UTC):%Y-%m-%dT%H:%MZ}"
    ]


def test_a_coach_is_planned_again_as_the_dates_move_on(engine: Engine, clock: ManualClock) -> None:
    with transaction(engine) as session:
        add_coach(session)
    scheduler = Scheduler(engine, clock)
    scheduler.ensure()
    [mark] = planned_marks(engine).values()
    assert mark == clock.now() + REPLAN_EVERY
    clock.advance(REPLAN_EVERY)
    scheduler.ensure()
    assert planned_marks(engine)["melody"] == clock.now() + REPLAN_EVERY


def test_after_a_digest_runs_the_next_one_is_planned_at_once(
    engine: Engine, clock: ManualClock, melody: Coach
) -> None:
    scheduler = Scheduler(engine, clock)
    scheduler.ensure()
    [today] = [t for t in timers(engine, "digest") if t.status == "pending"]
    clock.set(today.due_at)
    scheduler.tick()
    pending = [t for t in timers(engine, "digest") if t.status == "pending"]
    assert [t.due_at for t in pending] == [today.due_at + timedelta(days=1)]
