"""What a client's contract means right now: one answer that every view shows.

Pure: no clock, no I/O; `now` is always an argument.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from rules.contract import Contract, Kind, Mode, calendar_for

_WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Standing:
    """A client's contract as it stands at one instant."""

    former: bool
    ended_on: date | None  # the contract's last day, once it has passed (coach's local date)
    mode: Mode
    allowed: frozenset[Kind]
    next_session: datetime | None  # only a session still to come
    open_now: bool
    back_at: datetime | None  # the next opening when closed now (closures and holidays counted)
    reply_promise: str  # `within 24 open hours`
    week: tuple[tuple[datetime, datetime], ...]  # the weekly hours of the week in question (UTC)

    @property
    def former_since(self) -> date | None:
        """The first day as a former client."""
        return self.ended_on + timedelta(days=1) if self.ended_on is not None else None


def standing(contract: Contract, now: datetime) -> Standing:
    """What `contract` means at `now`: former or not, mode, next session, open or back at."""
    calendar = contract.calendar
    former = contract.is_former_client(now)
    session = contract.client.next_session
    open_now = calendar.is_open(now)
    return Standing(
        former=former,
        ended_on=contract.client.contract_end if former else None,
        mode=contract.client.mode,
        allowed=contract.client.allowed_kinds(),
        next_session=session if session is not None and session > now else None,
        open_now=open_now,
        back_at=None if open_now else calendar.next_open(now),
        reply_promise=contract.policy.reply_within.describe(),
        week=week_hours(contract, now),
    )


def week_hours(contract: Contract, now: datetime) -> tuple[tuple[datetime, datetime], ...]:
    """The coach's weekly hours (closures aside) for the week in question, as UTC intervals.

    The week in question is the coach's local week of `now` while it still has open time to
    come, else the next week: its real dates carry each zone's DST offsets of that week.
    """
    policy = contract.policy
    plain = calendar_for(policy.timezone, policy.hours, (), None)
    start = plain.week_start(now)
    if plain.next_open(now) >= start + _WEEK:
        start = plain.week_start(start + _WEEK + timedelta(hours=12))
    end = plain.week_start(start + _WEEK + timedelta(hours=12))
    return tuple(plain.open_intervals(start, end))
