"""The `/hours` grammar: weekly open ranges per weekday, parsed from and written back to text.

Pure: no clock, no I/O. Weekly hours are local wall-clock ranges owned by the day they start on:
`fri 22:00-02:00` is Friday's range, open from Fri 22:00 to Sat 02:00 local time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

Range = tuple[int, int]  # minutes from the owning day's local 00:00; an end may pass 24:00

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_WORDS = {
    word: day
    for day, words in enumerate(
        (
            "mon monday",
            "tue tues tuesday",
            "wed weds wednesday",
            "thu thur thurs thursday",
            "fri friday",
            "sat saturday",
            "sun sunday",
        )
    )
    for word in words.split()
}
_DASH = re.compile(r"\s*[-–—]\s*")
_SPACES_OR_COMMAS = re.compile(r"[,\s]+")
_TIME = re.compile(r"(\d{1,2}):(\d{2})")
_DAY_MINUTES = 1440
_EXAMPLE = "like mon-fri 09:00-17:00"


@dataclass(frozen=True)
class WeeklyHours:
    """Open ranges per weekday (Monday first), in minutes from that day's local midnight."""

    days: tuple[tuple[Range, ...], ...]

    def __str__(self) -> str:
        """The hours in canonical `/hours` grammar, e.g. `mon-thu 09:00-17:00; fri 09:00-13:00`."""
        return "; ".join(
            f"{_day_span(first, last, '-', title=False)} {','.join(_range_texts(ranges, '-'))}"
            for first, last, ranges in self._groups()
        )

    def describe(self) -> str:
        """Plain text for people, e.g. `Mon–Thu 09:00–12:00, 13:00–17:00; Fri 09:00–13:00`."""
        return "; ".join(
            f"{_day_span(first, last, '–', title=True)} {', '.join(_range_texts(ranges, '–'))}"
            for first, last, ranges in self._groups()
        )

    def _groups(self) -> list[tuple[int, int, tuple[Range, ...]]]:
        """Runs of consecutive open days with identical ranges, as (first, last, ranges)."""
        groups: list[tuple[int, int, tuple[Range, ...]]] = []
        for day, ranges in enumerate(self.days):
            if groups and groups[-1][1] == day - 1 and groups[-1][2] == ranges:
                groups[-1] = (groups[-1][0], day, ranges)
            elif ranges:
                groups.append((day, day, ranges))
        return groups


def parse_hours(text: str) -> WeeklyHours:
    """Parse `/hours` text like `mon-thu 09:00-12:00,13:00-17:00; fri 09:00-13:00`."""
    days: list[list[Range]] = [[] for _ in DAY_NAMES]
    for group in text.split(";"):
        if group.strip():
            named, ranges = _parse_group(group.strip())
            for day in named:
                days[day].extend(ranges)
    if not any(days):
        raise ValueError(f"hours: no open time at all; name at least one day, {_EXAMPLE}")
    return WeeklyHours(tuple(_merge(ranges) for ranges in days))


def _parse_group(group: str) -> tuple[list[int], list[Range]]:
    """Split one `days ranges` group into weekday numbers and minute ranges."""
    text = _DASH.sub("-", group.lower())
    first_digit = re.search(r"\d", text)
    if first_digit is None:
        raise ValueError(f"hours: '{group}' has no times; give days then ranges, {_EXAMPLE}")
    days_text = text[: first_digit.start()].replace(":", " ")  # tolerate `mon-fri: 09:00-...`
    days = _parse_days(days_text)
    if not days:
        raise ValueError(f"hours: '{group}' names no day; start with the days, {_EXAMPLE}")
    ranges = [_parse_range(r) for r in _SPACES_OR_COMMAS.split(text[first_digit.start() :]) if r]
    return days, ranges


def _parse_days(text: str) -> list[int]:
    """Weekday numbers for `mon`, `mon-thu`, `mon,wed,fri` or a wrapping `fri-mon`."""
    days: list[int] = []
    for token in filter(None, _SPACES_OR_COMMAS.split(text)):
        first, dash, last = token.partition("-")
        start = _parse_day(first, token)
        span = (_parse_day(last, token) - start) % 7 if dash else 0
        days.extend((start + i) % 7 for i in range(span + 1))
    return days


def _parse_day(word: str, token: str) -> int:
    """The weekday number of a day name; `token` is what the coach wrote, for the message."""
    day = _DAY_WORDS.get(word)
    if day is None:
        raise ValueError(f"hours: '{token}' is not a day; use {', '.join(DAY_NAMES)}")
    return day


def _parse_range(token: str) -> Range:
    """Minutes for `HH:MM-HH:MM`; an end before the start runs past midnight."""
    if token[0].isalpha():
        raise ValueError(
            f"hours: '{token}' follows the times; separate day groups with ';', "
            "like mon-fri 09:00-17:00; sat 10:00-12:00"
        )
    parts = token.split("-")
    if len(parts) != 2:
        raise ValueError(f"hours: '{token}' is not a time range; use HH:MM-HH:MM, like 09:00-17:00")
    start, end = _parse_time(parts[0]), _parse_time(parts[1])
    if start == _DAY_MINUTES:
        raise ValueError(f"hours: '{token}' starts at 24:00; start the range at 00:00 instead")
    if start == end:
        raise ValueError(
            f"hours: '{token}' is an empty range; end it after it starts, like 09:00-17:00"
        )
    return (start, end if end > start else end + _DAY_MINUTES)


def _parse_time(text: str) -> int:
    """Minutes since midnight for `HH:MM` (`24:00` allowed, as an end)."""
    match = _TIME.fullmatch(text)
    hour, minute = (int(match.group(1)), int(match.group(2))) if match else (99, 99)
    if (hour, minute) != (24, 0) and (hour > 23 or minute > 59):
        raise ValueError(f"hours: '{text}' is not a time of day; use HH:MM")
    return hour * 60 + minute


def _merge(ranges: list[Range]) -> tuple[Range, ...]:
    """Sorted ranges with overlapping and adjacent ones joined."""
    merged: list[Range] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return tuple(merged)


def _day_span(first: int, last: int, dash: str, *, title: bool) -> str:
    """`mon` or `mon-thu` (`Mon–Thu` with a title-case dash) for a run of days."""
    names = [DAY_NAMES[first], DAY_NAMES[last]]
    if title:
        names = [name.title() for name in names]
    return names[0] if first == last else f"{names[0]}{dash}{names[1]}"


def _range_texts(ranges: tuple[Range, ...], dash: str) -> list[str]:
    """`09:00-17:00` texts; a merged range of 24h or more past midnight becomes two overlapping."""
    texts: list[str] = []
    for start, end in ranges:
        if end - start >= _DAY_MINUTES and end > _DAY_MINUTES:
            texts.append(f"{_clock(start)}{dash}24:00")
            start = _DAY_MINUTES - 1
        texts.append(f"{_clock(start)}{dash}{_clock(end)}")
    return texts


def _clock(minutes: int) -> str:
    """`HH:MM` for minutes since the owning day's midnight (24:00 stays 24:00)."""
    if minutes > _DAY_MINUTES:
        minutes -= _DAY_MINUTES
    return f"{minutes // 60:02d}:{minutes % 60:02d}"
