"""The console's `:time` moves: `+3h`, `+2d`, `+30m`, `mon 09:00`, `09:00`, `2026-11-23 21:00`."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta, tzinfo

from rules.texts import DAY_NAMES

TIME_FORMS = "+30m, +3h, +2d, mon 09:00, 09:00 or 2026-11-23 21:00"
RELATIVE = re.compile(r"^\+(\d+)\s*([mhd])$")
AT = re.compile(r"^(?:(mon|tue|wed|thu|fri|sat|sun)\w*\s+)?(\d{1,2}):(\d{2})$")
DAYS = tuple(day.lower() for day in DAY_NAMES)
UNITS = {"m": "minutes", "h": "hours", "d": "days"}


def parse_move(text: str, now: datetime, zone: tzinfo) -> datetime | None:
    """The aware time `text` names, read from local `now` in `zone`; None if it names none."""
    text = text.strip().lower()
    if (relative := RELATIVE.match(text)) is not None:
        return now + timedelta(**{UNITS[relative.group(2)]: int(relative.group(1))})
    if (at := AT.match(text)) is not None:
        return _next_at(now, zone, day=at.group(1), hour=int(at.group(2)), minute=int(at.group(3)))
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when if when.tzinfo is not None else _localize(zone, when)


def _next_at(
    now: datetime, zone: tzinfo, *, day: str | None, hour: int, minute: int
) -> datetime | None:
    """The first local `hour:minute` after `now`, on weekday `day` if one is given."""
    if hour > 23 or minute > 59:
        return None
    for ahead in range(8):
        date = (now + timedelta(days=ahead)).date()
        if day is not None and date.weekday() != DAYS.index(day):
            continue
        when = _localize(zone, datetime.combine(date, time(hour, minute)))
        if when > now:
            return when
    return None


def _localize(zone: tzinfo, naive: datetime) -> datetime:
    """`naive` read as a wall-clock time in `zone` (pytz or zoneinfo)."""
    localize = getattr(zone, "localize", None)
    return localize(naive) if localize else naive.replace(tzinfo=zone)
