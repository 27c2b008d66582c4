"""The coach's monthly report: per client what came in and how it was handled, time and money.

`build_report` reads a month (in the coach's zone) with a handful of queries per coach, not per
client, and returns data; `render_report` turns it into chat lines, one per client, and the
contact-times picture comes from `bot.service.heatmap`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytz

from bot.service import heatmap
from bot.service.dependency import dependency_signals
from bot.store.models import Coach
from bot.store.policy import coach_policy
from bot.store.unit import UnitOfWork
from rules.decide import Outcome
from rules.localtime import time_zone
from rules.templates import format_local
from rules.texts import KIND_WORDS, MONTH_NAMES

KINDS: tuple[tuple[str | None, str, str], ...] = (
    *((kind.value, *words.tallied) for kind, words in KIND_WORDS.items()),
    ("session", "kept for a session", "kept for sessions"),  # plain text kept, no kind
    ("urgent", "urgent", "urgent"),  # plain text that may signal a crisis
    (None, "unsorted", "unsorted"),
)
DECISIONS = (Outcome.FORWARD, Outcome.QUEUE, Outcome.DIGEST, Outcome.PARK, Outcome.URGENT)
MONTHS = MONTH_NAMES


@dataclass
class Figures:
    """One client's month (or the total): counts, reply times, time and money."""

    name: str
    messages: int = 0
    kinds: dict[str | None, int] = field(default_factory=dict)
    decisions: dict[str, int] = field(default_factory=dict)
    reply_times: list[timedelta] = field(default_factory=list)
    due: int = 0  # promises that were replied to or whose reply-by has passed
    on_time: int = 0
    logged: int = 0
    billable: int = 0
    amounts: dict[str, Decimal] = field(default_factory=dict)

    def add(self, other: Figures) -> None:
        """Add another client's figures into these (for the totals row)."""
        self.messages += other.messages
        for kind, count in other.kinds.items():
            self.kinds[kind] = self.kinds.get(kind, 0) + count
        for decision, count in other.decisions.items():
            self.decisions[decision] = self.decisions.get(decision, 0) + count
        self.reply_times += other.reply_times
        self.due += other.due
        self.on_time += other.on_time
        self.logged += other.logged
        self.billable += other.billable
        for currency, amount in other.amounts.items():
            self.amounts[currency] = self.amounts.get(currency, Decimal(0)) + amount

    @property
    def active(self) -> bool:
        """Whether anything happened: a message or logged time."""
        return bool(self.messages or self.logged)


@dataclass(frozen=True)
class Report:
    """A coach's month as data; `picture` is the contact-times PNG (empty with no messages)."""

    coach: str
    zone: str
    month: date  # the first day
    as_of: datetime
    clients: tuple[Figures, ...]
    quiet: tuple[str, ...]
    total: Figures
    signals: tuple[str, ...]
    picture: bytes


def month_bounds(month: date, zone: str) -> tuple[datetime, datetime]:
    """The month's first and the next month's first midnight in `zone`, as UTC."""
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    tz = time_zone(zone)
    start, end = (
        tz.localize(datetime.combine(day, time(0)), is_dst=False).astimezone(pytz.utc)
        for day in (month, following)
    )
    return start, end


def current_month(now: datetime, zone: str) -> date:
    """The first day of the month `now` falls in, in `zone`."""
    return now.astimezone(time_zone(zone)).date().replace(day=1)


def build_report(uow: UnitOfWork, coach: Coach, *, month: date, now: datetime) -> Report:
    """The coach's report for `month` as of `now` (the month's end if it is over)."""
    policy = coach_policy(uow, coach)
    start, end = month_bounds(month, policy.timezone)
    as_of = min(now, end)
    stop = min(now + timedelta(microseconds=1), end)  # what happened at `now` counts
    clients = uow.clients.of_coach(coach.id or 0)
    figures = {c.id or 0: Figures(c.name) for c in clients}
    received = _count_messages(uow, coach, figures=figures, start=start, end=stop)
    _count_replies(uow, coach, figures=figures, start=start, end=stop)
    _count_time(uow, coach, figures=figures, start=start, end=stop)
    total = Figures("Total")
    for item in figures.values():
        total.add(item)
    ordered = sorted(figures.values(), key=lambda f: f.name.casefold())
    picture = b""
    if received:
        counts = heatmap.count_grid(received, policy.timezone)
        title = f"{coach.name} · contact times · {MONTHS[month.month - 1]} {month.year}"
        title += f" ({policy.timezone})"
        picture = heatmap.render_png(counts, heatmap.open_grid(policy.calendar.weekly), title=title)
    return Report(
        coach=coach.name,
        zone=policy.timezone,
        month=month,
        as_of=as_of,
        clients=tuple(f for f in ordered if f.active),
        quiet=tuple(f.name for f in ordered if not f.active),
        total=total,
        signals=tuple(dependency_signals(uow, policy, clients=clients, as_of=as_of)),
        picture=picture,
    )


def _count_messages(
    uow: UnitOfWork, coach: Coach, *, figures: Mapping[int, Figures], start: datetime, end: datetime
) -> list[datetime]:
    rows = uow.messages.tallies(start=start, end=end, coach_id=coach.id)
    for client_id, kind, decision, _ in rows:
        item = figures.get(client_id)
        if item is None:
            continue
        item.messages += 1
        known = kind if kind in ("fyi", "question", "scheduling", "goals") else None
        if known is None and decision in (Outcome.PARK, Outcome.URGENT):
            known = "session" if decision == Outcome.PARK else "urgent"
        item.kinds[known] = item.kinds.get(known, 0) + 1
        item.decisions[decision] = item.decisions.get(decision, 0) + 1
    return [received_at for *_, received_at in rows]


def _count_replies(
    uow: UnitOfWork, coach: Coach, *, figures: Mapping[int, Figures], start: datetime, end: datetime
) -> None:
    rows = uow.promises.reply_times(coach.id, start=start, end=end)
    for client_id, received_at, reply_by, replied_at in rows:
        item = figures.get(client_id)
        if item is None:
            continue
        if replied_at is not None and replied_at < end:
            item.reply_times.append(replied_at - received_at)
            item.due += 1
            item.on_time += replied_at <= reply_by
        elif reply_by < end:  # still unanswered and already late
            item.due += 1


def _count_time(
    uow: UnitOfWork, coach: Coach, *, figures: Mapping[int, Figures], start: datetime, end: datetime
) -> None:
    rows = uow.time_entries.of_coach(coach.id, start=start, end=end)
    for entry in rows:
        item = figures.get(entry.client_id)
        if item is None:
            continue
        item.logged += entry.minutes
        item.billable += entry.billable_minutes
        if entry.billable_minutes and entry.currency:
            total = item.amounts.get(entry.currency, Decimal(0)) + Decimal(entry.amount)
            item.amounts[entry.currency] = total


def duration_words(span: timedelta) -> str:
    """`3h 20m`, `1d 2h 5m`, `45m`: wall time, to the minute."""
    minutes = max(0, round(span.total_seconds() / 60))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if mins or not parts:
        parts.append(f"{mins}m")
    return " ".join(parts)


def median(spans: Iterable[timedelta]) -> timedelta | None:
    """The median of `spans` (the mean of the middle two for an even count); None if empty."""
    ordered = sorted(spans)
    if not ordered:
        return None
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def render_report(report: Report) -> str:
    """The report as chat text: a header, one line per client, the totals, the signals."""
    month = f"{MONTHS[report.month.month - 1]} {report.month.year}"
    lines = [
        f"Report for {month} · {report.zone} · up to {format_local(report.as_of, report.zone)}"
    ]
    if not report.clients:
        lines.append("No messages and no logged time this month.")
    lines += [f"• {figures_line(item)}" for item in report.clients]
    if report.clients:
        lines.append(f"Total: {figures_line(report.total, named=False)}")
    if report.quiet:
        lines.append("No contact: " + ", ".join(report.quiet))
    if report.signals:
        lines += ["", "Dependency signals:", *(f"⚑ {signal}" for signal in report.signals)]
    if report.picture:
        lines += ["", "The picture shows when messages came in (open hours outlined in green)."]
    return "\n".join(lines)


def figures_line(item: Figures, *, named: bool = True) -> str:
    """One client's (or the total's) month on one line."""
    kinds = ", ".join(
        f"{item.kinds[k]} {one if item.kinds[k] == 1 else many}"
        for k, one, many in KINDS
        if item.kinds.get(k)
    )
    count = f"{item.messages} message{'s' if item.messages != 1 else ''}"
    parts = [f"{count} ({kinds})" if kinds else count]
    decisions = item.decisions
    parts.append(
        f"forwarded {decisions.get('forward', 0)}, queued {decisions.get('queue', 0)}, "
        f"FYI {decisions.get('digest', 0)}, parked {decisions.get('park', 0)}, "
        f"urgent {decisions.get('urgent', 0)}"
    )
    parts.append(_replies(item))
    parts.append(_time(item))
    text = " · ".join(parts)
    return f"{item.name}: {text}" if named else text


def _replies(item: Figures) -> str:
    middle = median(item.reply_times)
    if not item.due:
        return "no replies due"
    head = f"median reply {duration_words(middle)}" if middle is not None else "no replies yet"
    share = round(100 * item.on_time / item.due)
    return f"{head}, on time {item.on_time} of {item.due} ({share}%)"


def _time(item: Figures) -> str:
    if not item.logged:
        return "no time logged"
    money = " + ".join(f"{amount:.2f} {cur}" for cur, amount in sorted(item.amounts.items()))
    billed = f"billable {item.billable} min" + (f", {money}" if money else "")
    return f"logged {item.logged} min, {billed}"
