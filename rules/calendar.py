"""The coach's business calendar: weekly hours, closures, holidays, next opening, business time.

Pure: every instant is an argument; nothing here reads the clock or does I/O.

How the contract's words map to time:
- Weekly hours are local wall-clock ranges owned by the day they start on: `fri 22:00-02:00` is
  Friday's range, open from Fri 22:00 to Sat 02:00 local time.
- A closure or holiday on a local date cancels every range that date owns, including its part
  after midnight; a range begun the evening before a closed date still runs to its end.
- DST: a range boundary that falls in a gap (clocks go forward) moves to the first instant after
  the gap. In a repeated hour (clocks go back) a start takes the earlier instant and an end the
  later one, so the coach's contract never loses open time to a clock change.
- A working day is a local date that owns open time and is not closed; its closing time is the
  end of its last range. `business_days_after` never goes back in time as n grows, even when a
  range past midnight outlasts the next day's hours.
- `closed_reason` gives a closure's note (closures are `(start, end)` or `(start, end, note)`),
  `closed` for a closure without one, or the holiday's name.
- Searches are bounded: with no open time for 3 years (or, for `next_close`, no closing time),
  they raise ValueError instead of looping.

Internally instants are integer microseconds since the Unix epoch (UTC). Open time is laid out,
lazily, in blocks of 28 UTC days: merged open intervals plus running totals of open time, so
`add_business_time` is two bisections and a little arithmetic.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import holidays as holidays_lib
import pytz

Range = tuple[int, int]  # minutes from the owning day's local 00:00; an end may pass 24:00
Interval = tuple[int, int]  # UTC microseconds since the epoch, [start, end)
ClosureSpec = tuple[date, date] | tuple[date, date, str]

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

_US = timedelta(microseconds=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DAY_US = 86_400_000_000
_BLOCK_US = 28 * _DAY_US
_HORIZON_DAYS = 3 * 366  # a search gives up after this long without finding open time
_HORIZON_US = _HORIZON_DAYS * _DAY_US
_DAY_CACHE_SIZE = 4096
_BLOCK_CACHE_SIZE = 128


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


@dataclass(frozen=True, slots=True)
class _Day:
    """One local date: the UTC intervals of the ranges it owns, and why it is closed."""

    intervals: tuple[Interval, ...]
    closed_reason: str | None


@dataclass(frozen=True, slots=True)
class _Block:
    """Merged UTC open intervals within one block, with open time before each of them."""

    starts: list[int]
    ends: list[int]
    before: list[int]  # before[i]: open time in the block before interval i; before[-1]: total


class BusinessCalendar:
    """Weekly hours in a time zone, minus closures and public holidays."""

    def __init__(
        self,
        timezone: str,
        hours: str,
        closures: Iterable[ClosureSpec] = (),
        holidays: str | None = None,
    ) -> None:
        self.tz: pytz.BaseTzInfo = _zone(timezone)
        self.timezone: str = str(self.tz.zone)
        self.hours = hours
        self.weekly = parse_hours(hours)
        self._closures = _closure_list(closures)
        self._holidays = _holiday_calendar(holidays)
        self._holiday_spec = holidays
        self._days: dict[date, _Day] = {}
        self._blocks: dict[int, _Block] = {}

    def __repr__(self) -> str:
        return (
            f"BusinessCalendar({self.timezone!r}, {str(self.weekly)!r}, "
            f"closures={len(self._closures)}, holidays={self._holiday_spec!r})"
        )

    def is_open(self, when: datetime) -> bool:
        """True if `when` falls inside open time."""
        t = _to_us(when)
        block = self._block(t // _BLOCK_US)
        i = bisect_right(block.starts, t) - 1
        return i >= 0 and t < block.ends[i]

    def next_open(self, when: datetime) -> datetime:
        """The first open instant at or after `when` (UTC)."""
        return _from_us(self._next_open_us(_to_us(when)))

    def next_close(self, when: datetime) -> datetime:
        """The end of the open stretch containing `when`, or of the next one if closed (UTC)."""
        start = self._next_open_us(_to_us(when))
        k = start // _BLOCK_US
        block = self._block(k)
        end = block.ends[bisect_right(block.starts, start) - 1]
        while end == (k + 1) * _BLOCK_US:  # the stretch may carry on into the next block
            k += 1
            block = self._block(k)
            if not block.starts or block.starts[0] != end:
                break
            end = block.ends[0]
            if end - start > _HORIZON_US:
                raise ValueError(
                    f"calendar: open around the clock from {_from_us(start).isoformat()}; "
                    "no closing time within 3 years"
                )
        return _from_us(end)

    def add_business_time(self, when: datetime, delta: timedelta) -> datetime:
        """The instant `delta` of open time after `when`, counting from the next opening (UTC)."""
        amount = delta // _US
        if amount < 0:
            raise ValueError(f"business time: {delta} is negative; add zero or more open time")
        t = _to_us(when)
        if amount == 0:
            return _from_us(self._next_open_us(t))
        k = t // _BLOCK_US
        block = self._block(k)
        i = bisect_right(block.starts, t)
        if i and t < block.ends[i - 1]:
            target = block.before[i - 1] + (t - block.starts[i - 1]) + amount
        else:
            target = block.before[i] + amount
        empty_blocks = 0
        while target > block.before[-1]:
            target -= block.before[-1]
            empty_blocks = empty_blocks + 1 if not block.starts else 0
            if empty_blocks * _BLOCK_US > _HORIZON_US:
                raise _no_open_time(t)
            k += 1
            block = self._block(k)
        j = bisect_left(block.before, target, 1) - 1
        return _from_us(block.starts[j] + target - block.before[j])

    def business_days_after(self, when: datetime, n: int) -> datetime:
        """Closing time of the n-th working day after `when`'s local date (n=0: that day) (UTC)."""
        if n < 0:
            raise ValueError(f"working days: {n} is negative; use 0 or more")
        day = first = self._local_date(_to_us(when))
        # Working days from `day` on are W0, W1, ...; the n-th after `day` is Wn if `day` works.
        index = n if self._day(day).intervals else max(n - 1, 0)
        latest, idle_days = -(1 << 62), 0
        while True:
            intervals = self._day(day).intervals
            if intervals:
                # Running maximum: a range past midnight can outlast the next day's closing.
                latest = max(latest, *(end for _, end in intervals))
                if not index:
                    return _from_us(latest)
                index, idle_days = index - 1, 0
            else:
                idle_days += 1
                if idle_days > _HORIZON_DAYS:
                    raise ValueError(
                        f"calendar: no working day within 3 years after {first.isoformat()}; "
                        "check closures and holidays"
                    )
            day += timedelta(days=1)

    def week_start(self, when: datetime) -> datetime:
        """Monday 00:00 local time of `when`'s local week (UTC)."""
        day = self._local_date(_to_us(when))
        monday = datetime.combine(day - timedelta(days=day.weekday()), time())
        return _from_us(_local_to_us(self.tz, monday, earliest=True))

    def closed_reason(self, when: datetime) -> str | None:
        """The closure note (or `closed`) or holiday name of `when`'s local date, else None."""
        return self._day(self._local_date(_to_us(when))).closed_reason

    def describe_hours(self) -> str:
        """The weekly hours in plain text, e.g. `Mon–Thu 09:00–17:00; Fri 09:00–13:00`."""
        return self.weekly.describe()

    def open_intervals(self, start: datetime, end: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open stretches overlapping [start, end), clipped to it (UTC)."""
        lo, hi = _to_us(start), _to_us(end)
        current: Interval | None = None
        k = lo // _BLOCK_US
        while k * _BLOCK_US < hi:
            block = self._block(k)
            for i in range(bisect_right(block.ends, lo), len(block.starts)):
                s, e = max(block.starts[i], lo), min(block.ends[i], hi)
                if s >= e:
                    break
                if current is not None and s == current[1]:
                    current = (current[0], e)  # one stretch split by a block boundary
                    continue
                if current is not None:
                    yield _from_us(current[0]), _from_us(current[1])
                current = (s, e)
            k += 1
        if current is not None:
            yield _from_us(current[0]), _from_us(current[1])

    def _next_open_us(self, t: int) -> int:
        """The first open microsecond at or after `t`."""
        k = t // _BLOCK_US
        block = self._block(k)
        i = bisect_right(block.starts, t)
        if i and t < block.ends[i - 1]:
            return t
        while i >= len(block.starts):
            k += 1
            if k * _BLOCK_US - t > _HORIZON_US:
                raise _no_open_time(t)
            block, i = self._block(k), 0
        return block.starts[i]

    def _block(self, k: int) -> _Block:
        """Block `k` (UTC [k*28d, (k+1)*28d) from the epoch), built on first use."""
        block = self._blocks.get(k)
        if block is None:
            if len(self._blocks) >= _BLOCK_CACHE_SIZE:
                self._blocks.clear()
            block = self._blocks[k] = self._build_block(k)
        return block

    def _build_block(self, k: int) -> _Block:
        """Merge the open intervals of every local date that can reach into block `k`."""
        lo, hi = k * _BLOCK_US, (k + 1) * _BLOCK_US
        # A date's ranges end at most two local days after its midnight; look one day further.
        first = self._local_date(lo) - timedelta(days=2)
        count = (self._local_date(hi) - first).days + 2
        pieces = sorted(
            interval
            for offset in range(count)
            for interval in self._day(first + timedelta(days=offset)).intervals
        )
        starts: list[int] = []
        ends: list[int] = []
        before = [0]
        for piece_start, piece_end in pieces:
            s, e = max(piece_start, lo), min(piece_end, hi)
            if s >= e:
                continue
            if ends and s <= ends[-1]:
                if e > ends[-1]:
                    before[-1] += e - ends[-1]
                    ends[-1] = e
                continue
            starts.append(s)
            ends.append(e)
            before.append(before[-1] + e - s)
        return _Block(starts, ends, before)

    def _day(self, day: date) -> _Day:
        """The cached facts of one local date."""
        facts = self._days.get(day)
        if facts is None:
            if len(self._days) >= _DAY_CACHE_SIZE:
                self._days.clear()
            reason = self._closed_reason(day)
            ranges = () if reason is not None else self.weekly.days[day.weekday()]
            intervals = (self._utc_interval(day, r) for r in ranges)
            facts = _Day(tuple(iv for iv in intervals if iv[0] < iv[1]), reason)
            self._days[day] = facts
        return facts

    def _closed_reason(self, day: date) -> str | None:
        """The closure note (or `closed`), else the holiday name, else None."""
        for start, end, note in self._closures:
            if start <= day <= end:
                return note or "closed"
        if self._holidays is None:
            return None
        name = self._holidays.get(day)
        return None if name is None else str(name)

    def _utc_interval(self, day: date, minutes: Range) -> Interval:
        """The UTC interval of a local range owned by `day` (may be empty inside a DST gap)."""
        midnight = datetime.combine(day, time())
        start = midnight + timedelta(minutes=minutes[0])
        end = midnight + timedelta(minutes=minutes[1])
        return (
            _local_to_us(self.tz, start, earliest=True),
            _local_to_us(self.tz, end, earliest=False),
        )

    def _local_date(self, t: int) -> date:
        """The local date at UTC microsecond `t`."""
        return _from_us(t).astimezone(self.tz).date()


def _to_us(when: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    try:
        return (when - _EPOCH) // _US
    except TypeError:
        raise ValueError(
            f"calendar: {when.isoformat()} has no time zone; pass an aware datetime"
        ) from None


def _from_us(t: int) -> datetime:
    """The aware UTC datetime at `t` microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=t)


def _local_to_us(tz: pytz.BaseTzInfo, naive: datetime, *, earliest: bool) -> int:
    """The UTC instant of a local wall time: gap → first instant after; repeat → earliest/latest."""
    try:
        return _to_us(tz.localize(naive, is_dst=None))
    except pytz.AmbiguousTimeError:
        both = (_to_us(tz.localize(naive, is_dst=True)), _to_us(tz.localize(naive, is_dst=False)))
        return min(both) if earliest else max(both)
    except pytz.NonExistentTimeError:
        return _end_of_gap(tz, naive)


def _end_of_gap(tz: pytz.BaseTzInfo, naive: datetime) -> int:
    """The first instant whose local wall time is past `naive`, which lies in a DST gap."""
    # Read with the offsets before and after the jump, `naive` gives two instants that bracket
    # the transition; bisect the whole seconds between them.
    lo, hi = sorted(
        (_to_us(tz.localize(naive, is_dst=True)), _to_us(tz.localize(naive, is_dst=False)))
    )
    lo_s, hi_s = lo // 1_000_000, -(-hi // 1_000_000)
    while hi_s - lo_s > 1:
        mid = (lo_s + hi_s) // 2
        if _from_us(mid * 1_000_000).astimezone(tz).replace(tzinfo=None) > naive:
            hi_s = mid
        else:
            lo_s = mid
    return hi_s * 1_000_000


def _no_open_time(t: int) -> ValueError:
    """The error for a search that found no open time within the horizon."""
    return ValueError(
        f"calendar: no open time within 3 years after {_from_us(t).isoformat()}; "
        "check closures and holidays"
    )


def _zone(name: str) -> pytz.BaseTzInfo:
    """The pytz zone for an IANA name; ValueError naming the bad one."""
    try:
        return pytz.timezone(name.strip())
    except (pytz.UnknownTimeZoneError, AttributeError):
        raise ValueError(
            f"timezone: '{name}' is not a time zone; use an IANA name like Europe/London"
        ) from None


def _closure_list(closures: Iterable[ClosureSpec]) -> tuple[tuple[date, date, str], ...]:
    """Closures as sorted (start, end, note) triples; ValueError if one ends before it starts."""
    result: list[tuple[date, date, str]] = []
    for start, end, *rest in closures:
        if end < start:
            raise ValueError(
                f"closure: ends {end.isoformat()} before it starts {start.isoformat()}; "
                "use /closed START END [note]"
            )
        result.append((start, end, rest[0] if rest else ""))
    return tuple(sorted(result))


def _holiday_calendar(spec: str | None) -> holidays_lib.HolidayBase | None:
    """Public holidays for `GB` or `GB-ENG`; None for no holidays."""
    if spec is None or not spec.strip():
        return None
    country, _, subdivision = (part.strip() for part in spec.strip().partition("-"))
    country = country.upper()
    for candidate in dict.fromkeys((subdivision, subdivision.upper())):
        try:
            return holidays_lib.country_holidays(country, subdiv=candidate or None)
        except NotImplementedError:
            continue
    try:
        whole_country = holidays_lib.country_holidays(country)
    except NotImplementedError:
        raise ValueError(
            f"holidays: '{spec.strip()}' is not a country we know holidays for; "
            "use a country code like GB, or GB-ENG for a subdivision"
        ) from None
    raise ValueError(
        f"holidays: '{subdivision}' is not a subdivision of {country}; {_use(whole_country)}"
    )


def _use(country: holidays_lib.HolidayBase) -> str:
    """What to write instead of a bad subdivision of `country`."""
    known = list(country.subdivisions)
    if not known:
        return f"{country.country} has none, so use just {country.country}"
    listed = ", ".join(known[:20]) + (", …" if len(known) > 20 else "")
    return f"use one of {listed}"
