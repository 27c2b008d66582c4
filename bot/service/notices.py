"""What each kind of timer does when due: releases, reminders, digests, briefs, notices, retention.

Every handler runs inside the transaction that marks its timer done and writes only outbox rows
and delivery marks there. A timer whose subject is gone raises `Skip`; nothing here logs text.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Protocol

from bot.delivery import outbox
from bot.service import coach_texts, undecided
from bot.service.digest import build_digest, preview, render_text
from bot.service.retention import retention
from bot.store.models import Client, Closure, Coach, Message, Timer
from bot.store.policy import coach_policy, coach_setting
from bot.store.unit import UnitOfWork
from rules.calendar import BusinessCalendar
from rules.decide import Outcome
from rules.localtime import time_zone
from rules.templates import format_local
from rules.texts import KIND_WORDS, day_words, kind_label

#: Promises of one client due this close together share one reminder (schedule.plan_reminder).
REMINDER_GROUP = timedelta(hours=1)
_COUNTED: dict[str | None, tuple[str, str]] = {
    **{kind.value: words.counted for kind, words in KIND_WORDS.items()},
    "session": ("kept for the session", "kept for the session"),  # plain text, no kind
    None: ("other message", "other messages"),
}


def utc_minute(when: datetime) -> str:
    """`2026-11-23T09:00Z`: the UTC minute of an aware datetime, as timer keys spell it."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%MZ")


class Skip(Exception):
    """A timer that cannot be done (its subject is gone); `reason` is logged, no client text."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def run_timer(uow: UnitOfWork, timer: Timer, *, now: datetime) -> None:
    """Do what `timer` is for, in the caller's transaction."""
    handler = HANDLERS.get(timer.kind)
    if handler is None:
        raise Skip(f"unknown kind {timer.kind!r}")
    handler(uow, timer, now=now)


def setting_or_off(coach: Coach, name: str) -> int | None:
    """`brief_hours` or `notice_days` (default if unset); None when the coach turned it off."""
    if name in coach.policy and coach.policy[name] is None:
        return None
    return coach_setting(coach, name)


def works_on(calendar: BusinessCalendar, when: datetime) -> bool:
    """True when the coach has open time on the local day of `when` (hours, closures, holidays)."""
    day = when.astimezone(calendar.tz).date()
    start = calendar.tz.localize(datetime.combine(day, time(0)))
    end = calendar.tz.localize(datetime.combine(day + timedelta(days=1), time(0)))
    return any(e > s for s, e in calendar.open_intervals(start, end))


def is_former(client: Client, zone: str, *, now: datetime) -> bool:
    """True when the client's contract ended before today (the coach's today)."""
    today = now.astimezone(time_zone(zone)).date()
    return client.contract_end is not None and client.contract_end < today


def _client(uow: UnitOfWork, client_id: int | None) -> Client:
    client = uow.clients.get(client_id)
    if client is None:
        raise Skip("client gone")
    return client


def _coach(uow: UnitOfWork, coach_id: int | None) -> Coach:
    coach = uow.coaches.get(coach_id)
    if coach is None:
        raise Skip("coach gone")
    return coach


def _coach_chat(uow: UnitOfWork, coach: Coach, *, prefer: str | None = None) -> tuple[str, str]:
    chat = uow.identities.coach_chat(coach.id or 0, prefer=prefer)
    if chat is None:
        raise Skip("coach has no chat")
    return chat


def release(uow: UnitOfWork, timer: Timer, *, now: datetime) -> None:
    """Deliver a client's queued messages to the coach as one message, in arrival order."""
    client = _client(uow, timer.client_id)
    messages = uow.messages.of_client(
        client.id, decision=Outcome.QUEUE, undelivered=True, released_by=now
    )
    if not messages:
        return
    coach = _coach(uow, client.coach_id)
    calendar = coach_policy(uow, coach).calendar
    if not works_on(calendar, now):  # a closure added after the release was planned
        from bot.service.schedule import plan_release  # schedule runs these handlers: import late

        opening = calendar.next_open(now)
        plan_release(uow, coach_id=coach.id or 0, client_id=client.id or 0, release_at=opening)
        for message in messages:
            message.release_at = opening
            uow.add(message)
        return
    platform, chat_id = _coach_chat(uow, coach, prefer=messages[-1].platform)
    text = coach_texts.released(
        client=client.name,
        items=[(m.received_at, m.kind, m.text, m.attachments) for m in messages],
        reply_by=_first_reply_by(uow, [m.id for m in messages if m.id is not None]),
        zone=coach_policy(uow, coach).timezone,
    )
    outbox.enqueue(
        uow,
        key=f"release:{client.id}:m{messages[-1].id}",  # batches are disjoint: last ids differ
        platform=platform,
        chat_id=chat_id,
        text=text,
        now=now,
        copy_from=copy_pairs(messages),
        attachments=outbox.shared_files(messages),
        coach_id=coach.id,
        client_id=client.id,
        message_id=messages[0].id,
    )
    for message in messages:
        message.delivered_at = now
        uow.add(message)


def bundle(uow: UnitOfWork, timer: Timer, *, now: datetime) -> None:
    """Deliver the forwards a client sent in a burst after an earlier one, as one message.

    A closure added since they were forwarded makes them wait for her opening, as queued ones.
    """
    client = _client(uow, timer.client_id)
    messages = uow.messages.of_client(
        client.id, decision=Outcome.FORWARD, undelivered=True, until=now
    )
    if not messages:
        return
    coach = _coach(uow, client.coach_id)
    policy = coach_policy(uow, coach)
    if not works_on(policy.calendar, now):
        from bot.service.schedule import plan_release  # schedule runs these handlers: import late

        opening = policy.calendar.next_open(now)
        plan_release(uow, coach_id=coach.id or 0, client_id=client.id or 0, release_at=opening)
        for message in messages:
            message.decision, message.release_at = Outcome.QUEUE, opening
            uow.add(message)
        return
    platform, chat_id = _coach_chat(uow, coach, prefer=messages[-1].platform)
    text = coach_texts.bundled(
        client=client.name,
        items=[(m.received_at, m.kind, m.text, m.attachments) for m in messages],
        reply_by=_first_reply_by(uow, [m.id for m in messages if m.id is not None]),
        zone=policy.timezone,
    )
    outbox.enqueue(
        uow,
        key=f"bundle:{client.id}:m{messages[-1].id}",  # bundles are disjoint: last ids differ
        platform=platform,
        chat_id=chat_id,
        text=text,
        now=now,
        copy_from=copy_pairs(messages),
        attachments=outbox.shared_files(messages),
        coach_id=coach.id,
        client_id=client.id,
        message_id=messages[0].id,
    )
    for message in messages:
        message.delivered_at = now
        uow.add(message)


def _first_reply_by(uow: UnitOfWork, message_ids: Sequence[int]) -> datetime | None:
    promises = uow.promises.open_on(message_ids)
    return min((p.reply_by for p in promises), default=None)


def copy_pairs(messages: Sequence[Message]) -> tuple[tuple[str, str], ...]:
    """The (chat id, message id) of every attachment to copy, each once, in order."""
    pairs: dict[tuple[str, str], None] = {}
    for message in messages:
        for item in message.attachments:
            if item.get("chat_id") and item.get("message_id"):
                pairs[(str(item["chat_id"]), str(item["message_id"]))] = None
    return tuple(pairs)


def reminder(uow: UnitOfWork, timer: Timer, *, now: datetime) -> None:
    """Remind the coach once of a client's messages still waiting for a reply.

    One reminder covers every open promise of the client due within `REMINDER_GROUP` of the
    timer's own (schedule.plan_reminder plans no timer for those): how many wait, by when,
    and the first line of the oldest.
    """
    promise = uow.promises.get(timer.ref_id)
    if promise is None:
        raise Skip("promise gone")
    if promise.reminded_at is not None:
        return
    if promise.reply_by <= now:  # after downtime: the digest lists it as overdue instead
        return
    client = _client(uow, promise.client_id)
    coach = _coach(uow, promise.coach_id)
    policy = coach_policy(uow, coach)
    if not policy.calendar.is_open(now):  # her hours changed since it was planned: wait for them
        _remind_at_opening(
            uow, timer, opening=policy.calendar.next_open(now), reply_by=promise.reply_by
        )
        return
    waiting = uow.promises.to_remind(
        promise.client_id, now=now, due_by=promise.reply_by + REMINDER_GROUP
    )
    if not waiting:
        return  # all answered
    oldest = waiting[0][1]
    platform, chat_id = _coach_chat(uow, coach, prefer=oldest.platform)
    first_line = next((line for line in oldest.text.splitlines() if line.strip()), "")
    quote = f"“{first_line[:80]}{'…' if len(first_line) > 80 else ''}”" if first_line else ""
    count = len(waiting)
    what = (
        f"{count} messages, the oldest: {quote or '(no text)'}"
        if count > 1
        else (quote or "a message with no text")
    )
    by = min(p.reply_by for p, _ in waiting)
    outbox.enqueue(
        uow,
        key=f"reminder:{promise.id}",
        platform=platform,
        chat_id=chat_id,
        text=(
            f"Reminder: {client.name} is waiting for a reply by "
            f"{format_local(by, policy.timezone, now)} — {what}\n"
            f"Reply to this message to answer {client.name}."
        ),
        now=now,
        reply_to=uow.outbox.copy_of(oldest.id or 0, platform=platform, chat_id=chat_id),
        coach_id=coach.id,
        client_id=client.id,
        message_id=oldest.id,
    )
    for each, _ in waiting:
        each.reminded_at = now
        uow.add(each)


def _remind_at_opening(
    uow: UnitOfWork, timer: Timer, *, opening: datetime, reply_by: datetime
) -> None:
    """Move a reminder that fell outside the coach's hours to her next opening, if still useful."""
    if opening >= reply_by:
        return  # past its promise by then: the digest lists it as overdue
    timer.status, timer.due_at, timer.done_at, timer.claimed_until = "pending", opening, None, None
    uow.add(timer)


def digest(uow: UnitOfWork, timer: Timer, *, now: datetime) -> None:
    """Send the coach's daily digest, if there is anything in it and no newer one is due."""
    coach = _coach(uow, timer.coach_id)
    policy = coach_policy(uow, coach)
    if policy.digest_time is None:
        return
    if not coach_setting(coach, "digest_daily") and not works_on(policy.calendar, now):
        return  # her day off: the next working day's digest gathers what waited
    if uow.timers.newer_due(timer, now):  # after downtime only the newest missed one goes out
        return
    platform, chat_id = _coach_chat(uow, coach)
    content = build_digest(uow, coach, now=now)
    if content is None:
        return
    outbox.enqueue(
        uow,
        key=timer.key,
        platform=platform,
        chat_id=chat_id,
        text=render_text(content),
        now=now,
        coach_id=coach.id,
        extra={"layout": "sections"},  # Slack shows it as Block Kit sections
    )


def brief(uow: UnitOfWork, timer: Timer, *, now: datetime) -> None:
    """Before a session: what the client sent and parked since the last one."""
    client = _client(uow, timer.client_id)
    session_at = datetime.fromisoformat(timer.key.split(":", 2)[2])  # brief:{client}:{minute}
    if client.next_session is None or utc_minute(client.next_session) != utc_minute(session_at):
        return  # the session moved or was cancelled; the new one has its own brief
    if client.next_session <= now:
        return  # after downtime: a brief for a session already begun helps nobody
    sent = _since_last_session(uow, client, now=now)
    parked = [m for m in sent if m.decision == Outcome.PARK]
    if not sent:
        return
    coach = _coach(uow, client.coach_id)
    if not setting_or_off(coach, "brief_hours"):
        return  # turned off after this brief was planned
    zone = coach_policy(uow, coach).timezone
    if is_former(client, zone, now=now):
        return  # the contract ended: a booked session is no longer prepared for
    platform, chat_id = _coach_chat(uow, coach)
    outbox.enqueue(
        uow,
        key=timer.key,
        platform=platform,
        chat_id=chat_id,
        text=brief_text(client=client, sent=sent, parked=parked, zone=zone, now=now),
        now=now,
        coach_id=coach.id,
        client_id=client.id,
    )
    for message in parked:
        message.briefed_at = message.briefed_at or now
        uow.add(message)


def _since_last_session(uow: UnitOfWork, client: Client, *, now: datetime) -> list[Message]:
    """The client's messages since their last session (all of them if there was none)."""
    return uow.messages.of_client(client.id, after=client.last_session, until=now)


def _counted_as(message: Message) -> str | None:
    """The brief's count a message goes in: its kind, kept for the session, or other."""
    if message.kind is not None and message.kind in _COUNTED:
        return message.kind
    return "session" if message.decision == Outcome.PARK else None


def brief_text(
    *, client: Client, sent: Sequence[Message], parked: Sequence[Message], zone: str, now: datetime
) -> str:
    """The pre-session brief: counts by kind since the last session, then the parked texts."""
    assert client.next_session is not None
    lines = [f"Before your session with {client.name} · {format_local(client.next_session, zone)}"]
    since = (
        f"Since your last session ({format_local(client.last_session, zone, now)})"
        if client.last_session is not None
        else f"Since {client.name} joined"
    )
    urgent = sum(m.decision == Outcome.URGENT for m in sent)
    counts = Counter(_counted_as(m) for m in sent if m.decision != Outcome.URGENT)
    kinds = ", ".join(
        ([f"{urgent} urgent"] if urgent else [])
        + [
            f"{counts[kind]} {_COUNTED[kind][counts[kind] != 1]}"
            for kind in _COUNTED
            if counts[kind]
        ]
    )
    lines.append(f"{since}: {len(sent)} message{'s' if len(sent) != 1 else ''} — {kinds}.")
    if parked:
        lines += ["", f"Kept for this session ({len(parked)}):"]
    for message in parked:
        text, cut = preview(message)
        label = kind_label(message.kind)
        lines.append(f"• {format_local(message.received_at, zone, now)} · {label}")
        lines.append(f"  {text}" + (f" (/show {message.id} for all of it)" if cut else ""))
    return "\n".join(lines)


def notice(uow: UnitOfWork, timer: Timer, *, now: datetime) -> None:
    """Tell each active client of the coach about a coming closure."""
    closure = uow.coaches.closure(timer.ref_id)
    if closure is None:
        raise Skip("closure gone")
    coach = _coach(uow, closure.coach_id)
    if setting_or_off(coach, "notice_days") is None:
        return  # turned off after this notice was planned
    policy = coach_policy(uow, coach)
    today = now.astimezone(time_zone(policy.timezone)).date()
    for client in uow.clients.of_coach(coach.id or 0):
        chat = uow.identities.client_chat(client.id or 0)
        if chat is None or (client.contract_end is not None and client.contract_end < today):
            continue  # not joined, or a former client
        away = closure_span(closure, coach_zone=policy.timezone, zone=client.timezone)
        note = f" ({closure.note})" if closure.note else ""
        back = _back_at(policy.calendar, closure, zone=client.timezone or policy.timezone, now=now)
        outbox.enqueue(
            uow,
            key=f"notice:{closure.id}:{client.id}",
            platform=chat[0],
            chat_id=chat[1],
            text=(
                f"Heads-up: {coach.name} is away {away}{note}{back}. "
                "Messages sent then are saved and answered after."
            ),
            now=now,
            coach_id=coach.id,
            client_id=client.id,
        )


def closure_span(closure: Closure, *, coach_zone: str, zone: str | None) -> str:
    """`from Thu 24 Dec to Sat 2 Jan`, naming the coach's zone when the reader's differs.

    The dates are the coach's days off; a reader elsewhere learns when she is back from `_back_at`.
    """
    coach_tz = time_zone(coach_zone)
    begins = coach_tz.localize(datetime.combine(closure.start, time(0)))
    reader = time_zone(zone or coach_zone)
    same = begins.astimezone(reader).utcoffset() == begins.utcoffset()
    where = "" if same else f" {coach_zone.rsplit('/', 1)[-1].replace('_', ' ')} time"
    if closure.start == closure.end:
        return f"on {_day(closure.start)}{where}"
    return f"from {_day(closure.start)} to {_day(closure.end)}{where}"


def _back_at(calendar: BusinessCalendar, closure: Closure, *, zone: str, now: datetime) -> str:
    """`, back Mon 4 Jan, 04:00 EST`: the first opening after the closure, in the reader's zone."""
    after = calendar.tz.localize(datetime.combine(closure.end + timedelta(days=1), time(0)))
    try:
        opening = calendar.next_open(after.astimezone(UTC))
    except ValueError:  # a calendar that never opens again
        return ""
    return f", back {format_local(opening, zone, now)}"


def _day(day: date) -> str:
    return day_words(day)


class TimerHandler(Protocol):
    """What a kind of timer does when due, in the transaction that marks it done."""

    def __call__(self, uow: UnitOfWork, timer: Timer, *, now: datetime) -> None: ...


HANDLERS: dict[str, TimerHandler] = {
    "release": release,
    "bundle": bundle,
    "reminder": reminder,
    "digest": digest,
    "brief": brief,
    "notice": notice,
    "retention": retention,
    "undecided": undecided.decide_late,
}
