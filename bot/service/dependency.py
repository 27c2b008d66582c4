"""The dependency signal: contact rising fast, or the whole weekly quota used week after week."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.store.models import Client
from bot.store.policy import client_overrides
from bot.store.unit import UnitOfWork
from rules.calendar import BusinessCalendar
from rules.contract import QUOTA_KINDS, Policy
from rules.decide import DELIVERED

RECENT = timedelta(days=7)
BEFORE_WEEKS = 4  # the weekly average is taken over these weeks before the last seven days
MIN_RECENT = 3  # fewer messages than this in a week is never a signal
QUOTA_WEEKS = 3
_QUOTA_KINDS = frozenset(k.value for k in QUOTA_KINDS)

Row = tuple[int, str | None, str, datetime]  # client id, kind, decision, received at


def dependency_signals(
    uow: UnitOfWork, policy: Policy, *, clients: Sequence[Client], as_of: datetime
) -> list[str]:
    """One line per client showing a dependency signal as of `as_of`, by name."""
    since = as_of - RECENT * (1 + BEFORE_WEEKS)
    ids = [c.id for c in clients if c.id is not None]
    rows = uow.messages.tallies(start=since, end=as_of, client_ids=ids)
    mine: dict[int, list[Row]] = {}
    for row in rows:
        mine.setdefault(row[0], []).append(row)
    weeks = quota_weeks(policy.calendar, as_of)
    lines = []
    for client in sorted(clients, key=lambda c: c.name.casefold()):
        history = mine.get(client.id or 0, [])
        line = rising(client, history, as_of=as_of) or quota_run(
            client, policy, rows=history, weeks=weeks
        )
        if line:
            lines.append(line)
    return lines


def rising(client: Client, rows: Sequence[Row], *, as_of: datetime) -> str | None:
    """The signal if the last 7 days exceed twice the weekly average of the 4 weeks before."""
    window = RECENT * (1 + BEFORE_WEEKS)
    if client.created_at > as_of - window:
        return None  # no four weeks of history to average
    recent = sum(1 for *_, when in rows if when >= as_of - RECENT)
    average = (len(rows) - recent) / BEFORE_WEEKS
    if recent < MIN_RECENT or recent <= 2 * average:
        return None
    return (
        f"{client.name}: {recent} messages in the last 7 days, more than twice the weekly "
        f"average of {average:.1f} in the {BEFORE_WEEKS} weeks before"
    )


def quota_weeks(calendar: BusinessCalendar, as_of: datetime) -> list[tuple[datetime, datetime]]:
    """The last QUOTA_WEEKS quota weeks up to `as_of` (Monday 00:00 local), newest first."""
    weeks = []
    end = as_of
    start = calendar.week_start(as_of - timedelta(microseconds=1))
    for _ in range(QUOTA_WEEKS):
        weeks.append((start, end))
        end = start
        start = calendar.week_start(start - timedelta(days=1))
    return weeks


def quota_run(
    client: Client,
    policy: Policy,
    *,
    rows: Sequence[Row],
    weeks: Sequence[tuple[datetime, datetime]],
) -> str | None:
    """The signal if the client used their whole weekly quota (> 0) in each of the last weeks."""
    quota = int(client_overrides(client).get("weekly_quota", policy.weekly_quota))
    if quota <= 0:
        return None
    for start, end in weeks:
        used = sum(
            1
            for _, kind, decision, when in rows
            if start <= when < end and kind in _QUOTA_KINDS and decision in DELIVERED
        )
        if used < quota:
            return None
    return f"{client.name}: used the whole weekly quota ({quota}) {len(weeks)} weeks running"
