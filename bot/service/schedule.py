"""Durable timers: queued releases, reply reminders, daily digests, pre-session briefs, notices.

Planning writes `Timer` rows in the caller's transaction; a key per piece of work (one digest a
coach a day, one release a client an opening) makes planning idempotent, whoever plans it and
however often. `Scheduler.run_due` claims due rows (a lease in `claimed_until`, SKIP LOCKED on
PostgreSQL) and runs each in one transaction that also marks it done: its outbox rows and its
`done` commit together, so a crash means it is redone or was done, never done twice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta

import pytz
from sqlalchemy.engine import Engine

from bot.clock import Clock
from bot.service.notices import REMINDER_GROUP, Skip, run_timer, setting_or_off, utc_minute
from bot.service.retention import DEFAULT_DAYS, has_expired
from bot.store.db import unreachable
from bot.store.models import Coach, Promise
from bot.store.policy import coach_policy
from bot.store.unit import UnitOfWork, unit_of_work
from rules.calendar import BusinessCalendar
from rules.localtime import time_zone

log = logging.getLogger(__name__)

REMINDER_LEAD = timedelta(hours=1)  # open time left before reply-by when the coach is reminded
BRIEF_UNWORKED_LEAD = timedelta(hours=1)  # a brief before a session on a day without hours
BRIEF_LOOKBACK = timedelta(days=14)  # how far before its due time a brief may move
LEASE = timedelta(minutes=5)  # how long a claim holds before another worker may redo the timer


def plan_release(uow: UnitOfWork, *, coach_id: int, client_id: int, release_at: datetime) -> None:
    """Plan the delivery of a client's queued messages at `release_at` (the next opening)."""
    # rearm: a message that committed just after its opening's release ran is not left behind
    uow.timers.put(
        key=f"release:{client_id}:{utc_minute(release_at)}",
        kind="release",
        due_at=release_at,
        coach_id=coach_id,
        client_id=client_id,
        on_conflict="rearm",
    )


def plan_reminder(uow: UnitOfWork, *, promise: Promise, calendar: BusinessCalendar) -> None:
    """Plan the coach's reminder about an unanswered message (see `reminder_due`).

    One reminder a client and promise window: a promise due within `REMINDER_GROUP` after one
    whose reminder is still to come plans none of its own; that reminder names them all.
    """
    if promise.id is None:
        uow.flush()
    if uow.timers.reminder_covering(promise, group=REMINDER_GROUP) is not None:
        return
    message = uow.messages.get(promise.message_id)
    arrival = message.received_at if message is not None else promise.reply_by
    uow.timers.put(
        key=f"reminder:{promise.id}",
        kind="reminder",
        due_at=reminder_due(calendar, arrival=arrival, reply_by=promise.reply_by),
        coach_id=promise.coach_id,
        client_id=promise.client_id,
        ref_id=promise.id,
    )


def reminder_due(calendar: BusinessCalendar, *, arrival: datetime, reply_by: datetime) -> datetime:
    """When an hour of open time is left before `reply_by`, walking the open hours backwards.

    A promise with less than two open hours between arrival and reply-by is reminded halfway
    through its open time instead, so a `1h` promise is not reminded the moment it arrives.
    """
    spans = [
        (max(start, arrival), min(end, reply_by))
        for start, end in calendar.open_intervals(arrival, reply_by)
    ]
    spans = [(start, end) for start, end in spans if end > start]
    if not spans:
        return reply_by
    total = sum((end - start for start, end in spans), timedelta())
    left = min(REMINDER_LEAD, total / 2)
    for start, end in reversed(spans):
        if end - start >= left:
            return end - left
        left -= end - start
    return spans[0][0]


#: A planned coach is planned again after this long even if nothing changed: notices enter
#: their window and digests their day as the dates move on.
REPLAN_EVERY = timedelta(hours=6)


def ensure_timers(uow: UnitOfWork, now: datetime, *, everyone: bool = False) -> None:
    """Plan the next digest, upcoming briefs and closure notices of each coach who needs it.

    That is a coach something changed for (policy, closures, clients: `bot.store.planning`),
    one whose timer just ran, or one not planned for `REPLAN_EVERY`; `everyone` at start-up.
    Idempotent, so planning a coach twice changes nothing.
    """
    for coach in uow.coaches.all() if everyone else uow.coaches.to_plan(now):
        try:
            _ensure_for_coach(uow, coach, now=now)
        except (ValueError, LookupError) as exc:  # a broken policy must not stop the others
            log.warning("no timers for coach %s: %s", coach.id, type(exc).__name__)
        coach.plan_after = now + REPLAN_EVERY


def _ensure_for_coach(uow: UnitOfWork, coach: Coach, *, now: datetime) -> None:
    policy = coach_policy(uow, coach)
    zone = time_zone(policy.timezone)
    if policy.digest_time is not None:
        due = next_local(zone, policy.digest_time, now=now)
        uow.timers.put(
            key=f"digest:{coach.id}:{due.astimezone(zone).date().isoformat()}",
            kind="digest",
            due_at=due,
            coach_id=coach.id,
            on_conflict="retime",
            now=now,
        )
    brief_hours = setting_or_off(coach, "brief_hours")
    if brief_hours:  # 0 would brief at the session itself: off too
        _ensure_briefs(
            uow, coach, calendar=policy.calendar, ahead=timedelta(hours=brief_hours), now=now
        )
    notice_days = setting_or_off(coach, "notice_days")
    if notice_days is not None:
        _ensure_notices(uow, coach, calendar=policy.calendar, days=notice_days, now=now)


def next_local(zone: pytz.BaseTzInfo, at: time, *, now: datetime) -> datetime:
    """The next moment after `now` when the clock in `zone` shows `at` (DST-aware, UTC result)."""
    today = now.astimezone(zone).date()
    for day in (today, today + timedelta(days=1)):
        when = local_moment(zone, day, at=at)
        if when > now:
            return when
    return local_moment(zone, today + timedelta(days=2), at=at)


def local_moment(zone: pytz.BaseTzInfo, day: date, *, at: time) -> datetime:
    """`day` at `at` on the wall clock of `zone`, in UTC (a skipped time moves forward)."""
    return zone.normalize(zone.localize(datetime.combine(day, at), is_dst=False)).astimezone(UTC)


def _ensure_briefs(
    uow: UnitOfWork, coach: Coach, *, calendar: BusinessCalendar, ahead: timedelta, now: datetime
) -> None:
    today = now.astimezone(calendar.tz).date()
    for client in uow.clients.with_session_ahead(coach.id or 0, now, today=today):
        assert client.next_session is not None
        uow.timers.put(
            key=f"brief:{client.id}:{utc_minute(client.next_session)}",
            kind="brief",
            due_at=brief_due(calendar, session_at=client.next_session, ahead=ahead, now=now),
            coach_id=coach.id,
            client_id=client.id,
            on_conflict="retime",
            now=now,
        )


def brief_due(
    calendar: BusinessCalendar, *, session_at: datetime, ahead: timedelta, now: datetime
) -> datetime:
    """When a brief reaches the coach: `ahead` of the session, moved into her open time.

    A due time outside her hours moves back to the last open minute before it; if she has no
    open time between now and then, to the last open minute before the session; if none, at
    her opening if that is by the session, else an hour before the session (she works then).
    """
    due = session_at - ahead
    if calendar.is_open(due) and due >= now:
        return due
    before_due = _last_open_minute(calendar, max(now, due - BRIEF_LOOKBACK), end=due)
    if before_due is not None and before_due >= now:
        return before_due
    before_session = _last_open_minute(calendar, max(now, due), end=session_at)
    if before_session is not None:
        return before_session
    opening = calendar.next_open(due)  # no open time before it: as she opens, not at night
    if opening <= session_at:
        return opening
    # No open time at all before the session (booked on a day she does not otherwise work):
    # shortly before it, when she is about to work anyway, never the night before.
    return max(now, session_at - min(ahead, BRIEF_UNWORKED_LEAD))


def _last_open_minute(
    calendar: BusinessCalendar, start: datetime, *, end: datetime
) -> datetime | None:
    """The last open minute in [start, end), or None when the coach is closed all through it."""
    if end <= start:
        return None
    spans = [(max(s, start), min(e, end)) for s, e in calendar.open_intervals(start, end)]
    spans = [(s, e) for s, e in spans if e > s]
    if not spans:
        return None
    s, e = spans[-1]
    return max(s, e - timedelta(minutes=1))


def _ensure_notices(
    uow: UnitOfWork, coach: Coach, *, calendar: BusinessCalendar, days: int, now: datetime
) -> None:
    today = now.astimezone(calendar.tz).date()
    for closure in uow.coaches.closures_touching(
        coach.id or 0, today, last=today + timedelta(days)
    ):
        begins = local_moment(calendar.tz, closure.start, at=time(0))
        try:
            opening = calendar.next_open(now)  # tell clients during the coach's hours...
        except ValueError:
            opening = begins
        due = opening if opening < begins else now  # ...but always before the closure begins
        uow.timers.put(
            key=f"notice:{closure.id}",
            kind="notice",
            due_at=due,
            coach_id=coach.id,
            ref_id=closure.id,
        )


def plan_retention(uow: UnitOfWork, now: datetime, *, days: int) -> bool:
    """Plan today's retention purge if anything has outlived `days`; True if there is work."""
    if not has_expired(uow, now, days=days):
        return False
    uow.timers.put(
        key=f"retention:{now.astimezone(UTC).date().isoformat()}",
        kind="retention",
        due_at=now,
        ref_id=days,
    )
    return True


class Scheduler:
    """Runs due timers, each exactly once, however many workers share the database."""

    def __init__(
        self,
        engine: Engine,
        clock: Clock,
        *,
        notify_outbox: Callable[[], None] | None = None,
        lease: timedelta = LEASE,
        retention_days: int = DEFAULT_DAYS,
    ) -> None:
        self.engine = engine
        self.clock = clock
        self.notify_outbox = notify_outbox
        self.lease = lease
        self.retention_days = retention_days
        self._retention_checked: date | None = None  # looked for expired texts on this day

    def ensure(self) -> None:
        """Plan the timers new coaches, sessions and closures need; once a day, retention."""
        now = self.clock.now()
        with unit_of_work(self.engine) as uow:
            ensure_timers(uow, now)
            if self._retention_checked != now.date():
                plan_retention(uow, now, days=self.retention_days)
                self._retention_checked = now.date()

    def run_due(self, limit: int = 100) -> int:
        """Run up to `limit` due timers; return how many were done (or dropped as bad)."""
        now = self.clock.now()
        done = sum(self._run_one(timer_id, now) for timer_id in self._claim(now, limit))
        if done and self.notify_outbox is not None:
            self.notify_outbox()
        return done

    def tick(self, limit: int = 100) -> int:
        """One pass: run everything due, then plan what comes next."""
        total = 0
        while (count := self.run_due(limit)) > 0:
            total += count
            if count < limit:
                break
        self.ensure()
        return total

    async def run(self, stop: asyncio.Event, interval: float = 30.0) -> None:
        """Plan, then run due timers every `interval` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                await asyncio.to_thread(self.tick)
            except Exception as exc:  # keep the loop alive; the next pass retries
                log.warning("scheduler pass failed: %s", type(exc).__name__)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=interval)

    def _claim(self, now: datetime, limit: int) -> Sequence[int]:
        """Lease up to `limit` due, unclaimed timers to this worker, oldest first."""
        with unit_of_work(self.engine) as uow:
            return uow.timers.claim_due(now, limit=limit, lease=self.lease)

    def _run_one(self, timer_id: int, now: datetime) -> bool:
        """Run one timer and mark it done in one transaction; a bad one is dropped, logged."""
        try:
            with unit_of_work(self.engine) as uow:
                timer = uow.timers.take(timer_id, now)
                if timer is None:
                    return False
                run_timer(uow, timer, now=now)
                uow.coaches.replan(timer.coach_id)  # the next digest, brief or notice
            return True
        except Exception as exc:
            if unreachable(exc):  # the database, not the timer: retried when the lease ends
                log.warning("timer %s not run, will retry: %s", timer_id, type(exc).__name__)
                return False
            reason = exc.reason if isinstance(exc, Skip) else type(exc).__name__
            with unit_of_work(self.engine) as uow:
                timer = uow.timers.take(timer_id, now)
                if timer is None:
                    return False
                log.warning("timer %s dropped: %s", timer.key, reason)
            return True
